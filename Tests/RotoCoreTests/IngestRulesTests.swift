import RotoAPI
import RotoCore
import Testing

@Suite struct IngestRulesTests {
    func facts(ms: Int = 5000, w: Int = 1280, h: Int = 720, fps: Double = 30, container: String = "mp4") -> IngestRules.Facts {
        .init(container: container, durationMillis: ms, displayWidth: w, displayHeight: h, frameRate: fps)
    }

    @Test(arguments: [2000, 3500, 5500, 7000, 9000, 10500])
    func acceptedDurations(ms: Int) throws {
        #expect(try IngestRules.check(facts(ms: ms)) == 30)
    }

    @Test(arguments: [0, 1999, 5501, 6000, 6999, 10501, 60000])
    func refusedDurations(ms: Int) {
        #expect(throws: RotoError.self) { try IngestRules.check(facts(ms: ms)) }
        do { _ = try IngestRules.check(facts(ms: ms)) } catch {
            #expect(error.code == .invalidParameter)
            #expect(error.message.contains("duration"))
            #expect(error.message.contains("\(Double(ms) / 1000) s"))
        }
    }

    @Test(arguments: [(720, 720), (2160, 2160), (1280, 720), (720, 1280), (1920, 1080), (2160, 1215)])
    func acceptedSizes(w: Int, h: Int) throws {
        _ = try IngestRules.check(facts(w: w, h: h))
    }

    @Test(arguments: [(719, 1280), (1280, 719), (3840, 2160), (640, 360), (2161, 1000)])
    func refusedSizes(w: Int, h: Int) {
        do {
            _ = try IngestRules.check(facts(w: w, h: h))
            Issue.record("\(w)x\(h) accepted")
        } catch {
            #expect(error.message.contains("\(w)x\(h)"))
        }
    }

    @Test(arguments: [(24.0, 24), (23.976, 24), (30.0, 30), (29.97, 30), (29.97002997, 30), (60.0, 60), (59.94, 60), (24.03, 24)])
    func frameRates(rate: Double, expected: Int) throws {
        #expect(try IngestRules.check(facts(fps: rate)) == expected)
    }

    @Test(arguments: [25.0, 50.0, 15.0, 120.0, 0.0, Double.nan, 48.0, 23.0])
    func refusedFrameRates(rate: Double) {
        #expect(IngestRules.normalizedFrameRate(rate) == nil)
        #expect(throws: RotoError.self) { try IngestRules.check(facts(fps: rate)) }
    }

    @Test func containers() throws {
        _ = try IngestRules.check(facts(container: "mov"))
        #expect(throws: RotoError.self) { try IngestRules.check(facts(container: "matroska")) }
    }

    @Test func durationClass() {
        #expect(IngestRules.durationClass(millis: 5000) == "5")
        #expect(IngestRules.durationClass(millis: 10000) == "10")
        #expect(IngestRules.durationClass(millis: 6000) == nil)
    }
}

@Suite struct AddressRuleTests {
    @Test(arguments: [
        ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"),
        ("192.168.1.1", "private"), ("169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"), ("100.64.0.1", "shared (carrier-grade NAT)"), ("255.255.255.255", "reserved"),
        ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"), ("fc00::1", "unique local (private)"),
        ("fd12:3456::1", "unique local (private)"), ("ff02::1", "multicast"), ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
        ("::ffff:10.0.0.1", "IPv4-mapped private"), ("::ffff:7f00:1", "IPv4-mapped loopback"), ("[::1]", "loopback"),
        ("64:ff9b::10.0.0.1", "NAT64 private"),
    ])
    func nonPublic(address: String, reason: String) throws {
        let ip = try #require(AddressRule.IP(address))
        #expect(AddressRule.nonPublicReason(ip) == reason)
    }

    @Test(arguments: ["8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "100.128.0.1"])
    func isPublic(address: String) throws {
        let ip = try #require(AddressRule.IP(address))
        #expect(AddressRule.nonPublicReason(ip) == nil)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.256", "::1::2", "abcd", "1:2:3:4:5:6:7:8:9", "example.com", "01234::",
                            "012.0.0.1", "1.2.3.04", "00.1.2.3"])
    func notAnIP(text: String) {
        #expect(AddressRule.IP(text) == nil)
    }

    @Test func checkEveryAddress() throws {
        let mixed = [AddressRule.IP("8.8.8.8")!, AddressRule.IP("10.0.0.1")!]
        #expect(throws: RotoError.self) {
            try AddressRule.check(host: "h", addresses: mixed, field: "video_url", allowPrivate: false)
        }
        try AddressRule.check(host: "h", addresses: mixed, field: "video_url", allowPrivate: true)
        #expect(throws: RotoError.self) {
            try AddressRule.check(host: "h", addresses: [], field: "video_url", allowPrivate: true)
        }
    }
}

@Suite struct IdentifierTests {
    @Test func timeOrderedUniqueAndWellFormed() {
        let ids = IDGenerator(node: 7)
        let many = (0..<10_000).map { _ in ids.next() }
        #expect(Set(many).count == many.count)
        #expect(many.allSatisfy(IDGenerator.isWellFormed))
        #expect(zip(many, many.dropFirst()).allSatisfy { UInt64($0)! < UInt64($1)! })
    }

    @Test func digitsAcrossTheCentury() {
        for (year, millis) in [(2026, Int64(1_795_000_000_000)), (2080, Int64(3_500_000_000_000))] {
            let id = IDGenerator(node: 1023, clock: { millis }).next()
            #expect(IDGenerator.isWellFormed(id), "\(year): \(id)")
        }
    }

    @Test func tokens() {
        let t = CapabilityToken.make()
        #expect(t.count == 32)
        #expect(Base64URL.decode(t)?.count == 24)
        #expect(CapabilityToken.make() != t)
    }
}
