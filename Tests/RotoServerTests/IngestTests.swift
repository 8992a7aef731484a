import Foundation
import HTTPTypes
import Logging
import NIOCore
import RotoAPI
import RotoCore
import RotoMedia
import RotoStore
import RotoTestSupport
import Testing
@testable import RotoServer

/// init-selection end to end (spec §2): clips made with ffmpeg, served by a real loopback HTTP server.
@Suite(.serialized) struct IngestTests {
    struct Accepted: Sendable, CustomTestStringConvertible {
        var name: String
        var make: @Sendable () throws -> String
        var fps: Double
        var width: Int
        var height: Int
        var frames: ClosedRange<Int>
        var testDescription: String { name }
    }

    static let accepted: [Accepted] = [
        .init(name: "mp4 30 fps (remux)", make: { try Clips.pattern("c30.mp4") }, fps: 30, width: 1280, height: 720, frames: 90...90),
        .init(name: "mov 24 fps", make: { try Clips.pattern("c24.mov", rate: "24") }, fps: 24, width: 1280, height: 720, frames: 72...72),
        .init(name: "mp4 60 fps", make: { try Clips.pattern("c60.mp4", size: "720x1280", rate: "60", seconds: 2.5) },
              fps: 60, width: 720, height: 1280, frames: 150...150),
        .init(name: "29.97 fps → 30", make: { try Clips.pattern("c2997.mp4", rate: "30000/1001") }, fps: 30, width: 1280, height: 720, frames: 89...91),
        .init(name: "rotated 90°", make: { try Clips.make("rot.mp4", ["-i", try Clips.pattern("c30.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90"]) },
              fps: 30, width: 720, height: 1280, frames: 90...90),
        .init(name: "HEVC → H.264", make: { try Clips.pattern("hevc.mp4", codec: ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error", "-tag:v", "hvc1"]) },
              fps: 30, width: 1280, height: 720, frames: 90...90),
    ]

    @Test(arguments: accepted)
    func acceptsAndNormalises(_ clip: Accepted) async throws {
        let file = (try clip.make() as NSString).lastPathComponent
        try await withClipServer { base in
            try await withApp { client in
                let r = try await client.initSelection(url: "\(base)/clips/\(file)")
                #expect(r.code == 0, "\(r.message)")
                #expect(r.number("fps") == clip.fps)
                #expect(r.number("width") == Double(clip.width))
                #expect(r.number("height") == Double(clip.height))
                #expect(clip.frames.contains(Int(r.number("total_frame") ?? -1)), "total_frame \(r.number("total_frame") ?? -1)")
                #expect(IDGenerator.isWellFormed(r.string("session_id") ?? ""))
                #expect(r.string("final_unit_deduction") == "0")
                #expect(r.number("status") == 0)
                // The normalised video is served at its capability URL, without a key, with Range.
                let url = try #require(r.string("normalized_video"))
                let path = try #require(URL(string: url)?.path)
                let video = try await client.call(.get, path, key: nil)
                #expect(video.status == 200)
                #expect(video.headers[.contentType] == "video/mp4")
                let part = try await client.call(.get, path, key: nil, headers: [.range: "bytes=0-7"])
                #expect(part.status == 206)
                #expect(part.body.readableBytes == 8)
                #expect(Array(part.body.readableBytesView)[4..<8] == Array("ftyp".utf8)[...])
                // And the normalised file probes as H.264 yuv420p CFR with no rotation.
                let local = TestScratch.file("mp4")
                try Data(video.body.readableBytesView).write(to: URL(fileURLWithPath: local))
                defer { try? FileManager.default.removeItem(atPath: local) }
                let facts = try MediaProbe.probe(path: local)
                #expect(facts.videoCodec == "h264")
                #expect(facts.pixelFormat == "yuv420p")
                #expect(facts.rotation == 0)
                #expect(facts.isConstantFrameRate)
            }
        }
    }

    struct Refused: Sendable, CustomTestStringConvertible {
        var name: String
        var make: @Sendable () throws -> String
        var expect: String
        var testDescription: String { name }
    }

    static let refused: [Refused] = [
        .init(name: "too short", make: { try Clips.pattern("short.mp4", seconds: 1.5) }, expect: "duration"),
        .init(name: "between classes", make: { try Clips.pattern("six.mp4", size: "720x720", seconds: 6) }, expect: "duration"),
        .init(name: "too long", make: { try Clips.pattern("long.mp4", size: "720x720", seconds: 11) }, expect: "duration"),
        .init(name: "too small", make: { try Clips.pattern("small.mp4", size: "640x360") }, expect: "720–2160"),
        .init(name: "25 fps", make: { try Clips.pattern("c25.mp4", rate: "25") }, expect: "frame rate"),
        .init(name: "truncated", make: { try Clips.truncated() }, expect: "video"),
        .init(name: "text", make: { try Clips.bytes("text.mp4", Array("hello, this is not a video\n".utf8)) }, expect: "video"),
        .init(name: "empty", make: { try Clips.bytes("empty.mp4", []) }, expect: "video"),
        .init(name: "random bytes", make: { try Clips.bytes("random.mp4", (0..<100_000).map { _ in UInt8.random(in: 0...255) }) }, expect: "video"),
        .init(name: "PNG image", make: { try Clips.make("image.png", ["-f", "lavfi", "-i", "testsrc2=size=1280x720", "-frames:v", "1"]) }, expect: "video"),
        .init(name: "Matroska", make: { try Clips.pattern("c30.mkv") }, expect: "video"),
    ]

    @Test(arguments: refused)
    func refusesWith1201(_ clip: Refused) async throws {
        let file = (try clip.make() as NSString).lastPathComponent
        try await withClipServer { base in
            try await withApp { client in
                let r = try await client.initSelection(url: "\(base)/clips/\(file)")
                #expect(r.status == 400)
                #expect(r.code == 1201)
                #expect(r.message.contains(clip.expect), "\(r.message)")
            }
        }
    }

    @Test func downloadRules() async throws {
        let file = (try Clips.pattern("c30.mp4") as NSString).lastPathComponent
        try await withClipServer { base in
            // Loopback is refused unless the operator allows private networks.
            try await withApp(testConfiguration(allowPrivate: false)) { client in
                let r = try await client.initSelection(url: "\(base)/clips/\(file)")
                #expect(r.code == 1201)
                #expect(r.message.contains("loopback"), "\(r.message)")
                let mapped = try await client.initSelection(url: "http://[::ffff:127.0.0.1]:1/a.mp4")
                #expect(mapped.message.contains("IPv4-mapped loopback"), "\(mapped.message)")
            }
            try await withApp { client in
                let three = try await client.initSelection(url: "\(base)/redirect/3/\(file)")
                #expect(three.code == 0, "\(three.message)")
                let six = try await client.initSelection(url: "\(base)/redirect/6/\(file)")
                #expect(six.code == 1201)
                #expect(six.message.contains("redirects"), "\(six.message)")
                let missing = try await client.initSelection(url: "\(base)/status/404")
                #expect(missing.code == 1201)
                #expect(missing.message.contains("404"), "\(missing.message)")
            }
            let small = {
                var c = testConfiguration()
                c.limits.maxVideoBytes = 1000
                return c
            }()
            try await withApp(small) { client in
                let r = try await client.initSelection(url: "\(base)/clips/\(file)")
                #expect(r.code == 1201)
                #expect(r.message.contains("at most 1000 bytes"), "\(r.message)")
            }
        }
    }

    @Test func uploadThenInitWithoutNetwork() async throws {
        let clip = try Data(contentsOf: URL(fileURLWithPath: try Clips.pattern("c30.mp4")))
        try await withApp(testConfiguration(allowPrivate: false)) { client in
            let wrongType = try await client.call(.post, "/v1/files", body: Array(clip), headers: [.contentType: "text/plain"])
            #expect(wrongType.code == 1201)
            let lying = try await client.call(.post, "/v1/files", body: Array("not a png".utf8), headers: [.contentType: "image/png"])
            #expect(lying.code == 1201)
            // Over the image cap: a body that is too large, 1200 (spec §1.1), like a JSON body over 1 MiB.
            let huge = try await client.call(.post, "/v1/files", body: [UInt8](repeating: 0, count: 10_000_001),
                                             headers: [.contentType: "image/png"])
            #expect(huge.status == 400 && huge.code == 1200 && huge.message.contains("10000000"), "\(huge.message)")
            let up = try await client.call(.post, "/v1/files", body: Array(clip), headers: [.contentType: "video/mp4"])
            #expect(up.code == 0, "\(up.message)")
            let url = try #require(up.string("url"))
            #expect((up.number("expires_at") ?? 0) > Date().timeIntervalSince1970 * 1000)
            let r = try await client.initSelection(url: url)
            #expect(r.code == 0, "\(r.message)")
            #expect(r.number("total_frame") == 90)
            // The same URL with its scheme in capitals is still this server's file (read from disk, not
            // downloaded from loopback, which the address rule refuses here).
            let shouting = try await client.initSelection(url: "HTTP://" + url.dropFirst("http://".count))
            #expect(shouting.code == 0, "\(shouting.message)")
        }
    }

    /// Spec §1.1: an operation over its time budget is 504 / 5002, and it leaves nothing behind.
    @Test func initOverItsTimeBudgetIs5002AndStoresNothing() async throws {
        let clip = try Data(contentsOf: URL(fileURLWithPath: try Clips.pattern("c30.mp4")))
        var config = testConfiguration(allowPrivate: false)
        config.ingestBudget = 0  // the budget runs out before the probe can finish
        try await withApp(config) { client in
            let up = try await client.call(.post, "/v1/files", body: Array(clip), headers: [.contentType: "video/mp4"])
            let url = try #require(up.string("url"), "\(up.message)")
            let r = try await client.initSelection(url: url)
            #expect(r.status == 504 && r.code == 5002, "\(r.status) \(r.code ?? -1) \(r.message)")
            #expect(r.message.contains("time budget"))
            let metrics = String(buffer: try await client.call(.get, "/metrics", key: nil).body)
            #expect(metrics.contains("roto_sessions 0.0\n"), "\(metrics)")
        }
    }

    @Test func shutdownStopsAnInitInFlightWith5001AndStoresNothing() async throws {
        let stall = StallGate()
        let readiness = Readiness()
        try await withClipServer(stall: stall) { base in
            try await withApp(testConfiguration(), readiness: readiness) { client in
                async let reply = client.initSelection(url: "\(base)/stall")
                await stall.untilReached()  // the download is in flight: headers in, no byte of the body
                readiness.beginShutdown()
                let r = try await reply
                #expect(r.status == 503 && r.code == 5001, "\(r.status) \(r.code ?? -1) \(r.message)")
                #expect(r.message.contains("stored nothing"), "\(r.message)")
                #expect(r.headers[.retryAfter] == String(RotoError.restartSeconds))
                let ready = try await client.call(.get, "/readyz", key: nil)
                #expect(ready.status == 503 && ready.code == 5001 && ready.message == "not ready: shutting down",
                        "\(ready.status) \(ready.message)")
                let metrics = String(buffer: try await client.call(.get, "/metrics", key: nil).body)
                #expect(metrics.contains("roto_sessions 0.0\n"), "\(metrics)")
            }
            stall.release.continuation.finish()
        }
    }

    @Test func restartKeepsSessionsAndAccountsAreIsolated() async throws {
        let file = (try Clips.pattern("c30.mp4") as NSString).lastPathComponent
        let config = testConfiguration()
        let id: String = try await withClipServer { base in
            try await withApp(config) { client in
                let r = try await client.initSelection(url: "\(base)/clips/\(file)")
                return try #require(r.string("session_id"), "\(r.message)")
            }
        }
        // A new application on the same data directory: the session is still there.
        try await withApp(config) { client in
            let mine = try await client.call(.get, "/v1/videos/multi-elements/sessions/\(id)")
            #expect(mine.code == 0, "\(mine.message)")
            #expect(mine.string("session_id") == id)
            #expect(mine.number("total_frame") == 90)
            // The JWT account and the second key see nothing.
            let other = try await client.call(.get, "/v1/videos/multi-elements/sessions/\(id)", key: Keys.b)
            #expect(other.status == 404)
            #expect(other.code == 1203)
        }
    }

    @Test func expiredSessionsAreGoneAndSwept() async throws {
        let file = (try Clips.pattern("c30.mp4") as NSString).lastPathComponent
        let config = {
            var c = testConfiguration()
            c.limits.sessionLifetimeMillis = 1500
            return c
        }()
        let (id, videoPath) = try await withClipServer { base in
            try await withApp(config) { client in
                let r = try await client.initSelection(url: "\(base)/clips/\(file)")
                return (try #require(r.string("session_id"), "\(r.message)"),
                        try #require(URL(string: r.string("normalized_video") ?? "")?.path))
            }
        }
        try await Task.sleep(for: .seconds(2))
        // The janitor reclaims the files of the expired session.
        let db = try AppDatabase.open(path: config.dataDirectory + "/roto.sqlite")
        let media = try MediaStore(dataDirectory: config.dataDirectory)
        #expect(FileManager.default.fileExists(atPath: media.absolute("sessions/\(id)/video.mp4")))
        // Folders a process that died left without their row (a session moved into place, a task's
        // images written, before the insert): swept once untouched for an hour; a fresh one is kept.
        let fm = FileManager.default
        for orphan in ["sessions/1111111111111111111", "tasks/2222222222222222222", "tasks/3333333333333333333"] {
            try media.prepare(orphan + "/image-1.jpg")
            _ = fm.createFile(atPath: media.absolute(orphan + "/image-1.jpg"), contents: Data([1, 2, 3]))
        }
        for old in ["sessions/1111111111111111111", "tasks/2222222222222222222"] {
            try fm.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: media.absolute(old))
        }
        await Janitor(database: db, media: media, interval: .seconds(60), logger: .init(label: "test")).sweep(now: UnixTime.nowMillis())
        #expect(!FileManager.default.fileExists(atPath: media.absolute("sessions/\(id)")))
        #expect(!fm.fileExists(atPath: media.absolute("sessions/1111111111111111111")))
        #expect(!fm.fileExists(atPath: media.absolute("tasks/2222222222222222222")))
        #expect(fm.fileExists(atPath: media.absolute("tasks/3333333333333333333/image-1.jpg")), "a creation in flight is kept")
        // Every call on it is 1203, and so is its file URL.
        try await withApp(config) { client in
            let session = try await client.call(.get, "/v1/videos/multi-elements/sessions/\(id)")
            #expect(session.code == 1203)
            let video = try await client.call(.get, videoPath, key: nil)
            #expect(video.code == 1203)
        }
        #expect(try await db.expiredSessions(now: UnixTime.nowMillis()).isEmpty)
    }
}
