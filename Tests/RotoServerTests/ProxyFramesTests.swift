import Foundation
import RotoMedia
import RotoTestSupport
import RotoVision
import Synchronization
import Testing
@testable import RotoServer

/// The lazily decoded working frames give exactly the frames of a full decode, in any order.
@Suite struct ProxyFramesTests {
    @Test func sameFramesInAnyOrderWithASmallCache() throws {
        let clip = try Clips.movingBox()
        let size = (width: 320, height: 180)
        var all: [RGBImage] = []
        try FrameReader(path: clip).forEachFrame(scaledTo: size) {
            all.append(RGBImage(width: $0.width, height: $0.height, pixels: $0.pixels))
        }
        let lazy = try ProxyFrames(path: clip, size: size, capacity: 4)
        #expect(lazy.count == all.count)
        // Forwards, backwards, and jumps, as the tracker reads them.
        let order = Array(0..<12) + Array((40..<60).reversed()) + [89, 0, 45, 45, 88]
        for i in order where lazy[i] != all[i] {
            Issue.record("frame \(i) differs")
        }
        #expect(lazy.failure == nil)
    }
}

/// The hand-over from the tracking thread to the renderer.
@Suite struct TrackedFramesTests {
    static func labels(_ i: Int) -> MaskTracker.StreamedFrame {
        .labels(SelectionLabels(width: 4, height: 1, labels: [UInt8(i % 256), 0, 0, 0], objectIDs: [0]))
    }

    @Test("the tracker runs at most `lead` frames ahead of the renderer, and every frame arrives once, in order")
    func leadIsBounded() async throws {
        let frames = TrackedFrames(count: 200, lead: 4)
        let progress = Progress()
        let producer = Thread {
            for i in 0..<200 {
                frames.put(i, Self.labels(i))
                progress.last.store(i, ordering: .relaxed)
            }
            frames.finish()
        }
        producer.start()
        for i in 0..<10 { #expect(frames.take(i) == Self.labels(i)) }
        try await Task.sleep(for: .milliseconds(200))
        let ahead = progress.last.load(ordering: .relaxed)
        #expect(ahead < 10 + 4, "the tracker put frame \(ahead) with frames 0–9 taken")
        for i in 10..<200 { #expect(frames.take(i) == Self.labels(i)) }
        frames.waitUntilFinished()
    }

    @Test("a renderer that stops early lets a tracker waiting for room finish")
    func abandonReleasesTheTracker() {
        let frames = TrackedFrames(count: 100, lead: 2)
        let producer = Thread {
            for i in 0..<100 { frames.put(i, Self.labels(i)) }
            frames.finish()
        }
        producer.start()
        for i in 0..<5 { _ = frames.take(i) }
        frames.abandon()
        frames.waitUntilFinished()
        #expect(frames.take(6) == nil)
    }

    final class Progress: Sendable { let last = Atomic<Int>(-1) }
}
