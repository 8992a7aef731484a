import Foundation
import Hummingbird
import RotoAPI
@testable import RotoClient
import Testing

/// `waitForTask` against a stand-in server (the logic does not depend on Roto's task runner), and the
/// token cache's renewal.
@Suite struct WaitTests {
    static func envelope(_ task: TaskData) -> Response {
        let body = try! JSONCoding.encoder.encode(Envelope.success(task, requestID: UUID().uuidString))
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func task(_ id: String, _ status: TaskStatus) -> TaskData {
        var t = TaskData(taskID: id, taskStatus: status, watermarkInfo: .init(enabled: false), createdAt: 1, updatedAt: 2)
        if status == .succeed {
            t.taskResult = TaskResult(videos: [TaskVideo(id: "9", sessionID: "8", url: "http://x/v1/files/t", watermarkURL: "",
                                                         duration: "3.0")])
        }
        return t
    }

    /// Polls through submitted → processing → succeed and returns the final snapshot.
    @Test func pollsUntilFinal() async throws {
        let polls = Box(0)
        try await withStubServer({ router in
            router.get("v1/videos/multi-elements/:id") { _, context -> Response in
                let n = polls.value
                polls.value = n + 1
                let id = context.parameters.get("id") ?? ""
                return Self.envelope(Self.task(id, n == 0 ? .submitted : n < 3 ? .processing : .succeed))
            }
        }) { url in
            let seen = Box<[TaskStatus]>([])
            let done = try await RotoClient.test(url).waitForTask("42", pollInterval: .milliseconds(20),
                                                                  onUpdate: { t in seen.update { $0.append(t.taskStatus) } })
            #expect(done.taskStatus == .succeed && done.taskID == "42")
            #expect(done.taskResult.videos?.first?.duration == "3.0")
            #expect(seen.value == [.submitted, .processing, .processing, .succeed])
        }
    }

    /// A 5001 with `Retry-After` (a server restarting) is retried after that long, not after the poll
    /// interval; the error itself carries the header.
    @Test func retryAfterIsHonoured() async throws {
        let polls = Box(0)
        try await withStubServer({ router in
            router.get("v1/videos/multi-elements/:id") { _, _ -> Response in
                let n = polls.value
                polls.value = n + 1
                guard n > 0 else {
                    let body = #"{"code":5001,"message":"the server is shutting down","request_id":"r","data":null}"#
                    return Response(status: .serviceUnavailable, headers: [.contentType: "application/json", .retryAfter: "1"],
                                    body: .init(byteBuffer: ByteBuffer(string: body)))
                }
                return Self.envelope(Self.task("5", .succeed))
            }
        }) { url in
            let client = RotoClient.test(url)
            do {
                _ = try await client.task("5")
                Issue.record("no error")
            } catch let error as RotoClientError {
                #expect(error.code == .unavailable && error.retryAfterSeconds == 1)
            }
            polls.value = 0
            let started = ContinuousClock.now
            let done = try await client.waitForTask("5", pollInterval: .milliseconds(10))
            #expect(done.taskStatus == .succeed)
            #expect(ContinuousClock.now - started >= .seconds(1), "retried before the Retry-After")
        }
    }

    /// A failed task is returned, not thrown.
    @Test func failedIsReturned() async throws {
        try await withStubServer({ router in
            router.get("v1/videos/multi-elements/:id") { _, _ -> Response in
                var t = Self.task("7", .failed)
                t.taskStatusMsg = "nothing selected"
                return Self.envelope(t)
            }
        }) { url in
            let t = try await RotoClient.test(url).waitForTask("7", pollInterval: .milliseconds(10))
            #expect(t.taskStatus == .failed && t.taskStatusMsg == "nothing selected")
        }
    }

    /// Cancelling the waiting task stops the polling with CancellationError; a timeout gives .waitTimedOut.
    @Test func cancellationAndTimeout() async throws {
        let polls = Box(0)
        try await withStubServer({ router in
            router.get("v1/videos/multi-elements/:id") { _, _ -> Response in
                polls.update { $0 += 1 }
                return Self.envelope(Self.task("5", .processing))
            }
        }) { url in
            let roto = RotoClient.test(url)
            let waiter = Task { try await roto.waitForTask("5", pollInterval: .milliseconds(50)) }
            try await Task.sleep(for: .milliseconds(300))
            waiter.cancel()
            let result = await waiter.result
            #expect(throws: CancellationError.self) { try result.get() }
            let after = polls.value
            try await Task.sleep(for: .milliseconds(200))
            #expect(polls.value == after, "no polling after cancellation")

            let clock = ContinuousClock()
            let start = clock.now
            let error = await #expect(throws: RotoClientError.self) {
                try await roto.waitForTask("5", pollInterval: .milliseconds(50), timeout: .milliseconds(300))
            }
            #expect(error?.code == .waitTimedOut)
            #expect(error?.message.contains("processing") == true)
            #expect(clock.now - start < .seconds(5))
        }
    }

    /// Errors other than rate limits, unavailability and transport failures end the wait at once.
    @Test func unknownTaskThrows() async throws {
        try await withLiveServer { url in
            let error = await #expect(throws: RotoClientError.self) {
                try await RotoClient.test(url).waitForTask("1234567890123456789", pollInterval: .milliseconds(10))
            }
            #expect(error?.code == .notFound && error?.httpStatus == 404)
        }
    }

    /// The cached token is reused until five minutes before it expires, then a new one is signed.
    @Test func tokenRenewal() {
        let cache = TokenCache(signer: KlingTokenSigner(accessKey: "AK", secretKey: "SK"))
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        let first = cache.token(now: t0)
        #expect(cache.token(now: t0.addingTimeInterval(60)) == first)
        #expect(cache.token(now: t0.addingTimeInterval(1400)) == first)
        let renewed = cache.token(now: t0.addingTimeInterval(1550))
        #expect(renewed != first)
        #expect(renewed == KlingTokenSigner(accessKey: "AK", secretKey: "SK").token(now: t0.addingTimeInterval(1550)))
        #expect(cache.token(now: t0.addingTimeInterval(1600)) == renewed)
    }
}

/// The mask helpers on hand-made RLE strings.
@Suite struct MaskBitmapTests {
    @Test func decodesColumnMajorRuns() throws {
        // 2 rows × 3 columns; column-major runs: 1 background, 2 selected, 3 background.
        let m = try MaskBitmap(rle: RLEMask(size: [2, 3], counts: RLECodec.countsString([1, 2, 3])))
        #expect(m.width == 3 && m.height == 2)
        #expect(m.pixels == [0, 1, 0,
                             1, 0, 0])
        #expect(m[1, 0] == 1 && m[0, 1] == 1)
        #expect(m.area == 2)
        #expect(m.boundingBox! == (0, 0, 2, 2))
        #expect(m.rle.counts == RLECodec.countsString([1, 2, 3]))
    }

    @Test func roundTripsRandomMasks() throws {
        var g = SystemRandomNumberGenerator()
        for (w, h) in [(1, 1), (7, 5), (64, 3), (33, 17)] {
            let pixels = (0..<(w * h)).map { _ in UInt8.random(in: 0...1, using: &g) }
            let m = MaskBitmap(width: w, height: h, pixels: pixels)
            #expect(try MaskBitmap(rle: m.rle) == m)
        }
    }

    @Test func refusesMalformed() {
        #expect(throws: RLECodecError.badSize) { try MaskBitmap(rle: RLEMask(size: [2], counts: "4")) }
        #expect(throws: RLECodecError.self) { try MaskBitmap(rle: RLEMask(size: [2, 2], counts: "5")) }
        #expect(throws: RLECodecError.self) { try MaskBitmap(rle: RLEMask(size: [2, 2], counts: "0~")) }
    }
}
