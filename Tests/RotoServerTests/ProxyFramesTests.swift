import Foundation
import RotoMedia
import RotoTestSupport
import RotoVision
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
