import Foundation
@testable import RotoVision
import Testing

/// The direct re-alignment of propagated sources (`VideoInpainter.alignSources`).
@Suite("Source alignment (removal)")
struct SourceAlignmentTests {
    let w = 160, h = 100

    /// A smooth textured image; `shift` moves the content so that pixel (x, y) shows what the
    /// unshifted image shows at (x + dx, y + dy).
    func texture(dx: Double = 0, dy: Double = 0, brighter: Double = 0) -> RGBImage {
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let u = Double(x) + dx, v = Double(y) + dy
                let i = (y * w + x) * 3
                px[i] = UInt8(128 + brighter + 70 * sin(u / 6) * cos(v / 8))
                px[i + 1] = UInt8(110 + brighter + 60 * sin((u + v) / 10))
                px[i + 2] = UInt8(100 + brighter + 50 * cos(u / 12 - v / 5))
            }
        }
        return RGBImage(width: w, height: h, pixels: px)
    }

    /// Frame 1 shows frame 0 moved by (5, 2); its hole's sources point into frame 0 with `drift` added
    /// to the true positions. Returns the mean distance of the sources from the truth after alignment.
    func alignedError(drift: (Float, Float), brighter: Double = 0) -> (before: Double, after: Double, offset: SIMD3<Float>?) {
        let frames = [texture(), texture(dx: 5, dy: 2, brighter: brighter)]
        var hole = [UInt8](repeating: 0, count: w * h)
        for y in 35..<65 { for x in 60..<95 { hole[y * w + x] = 1 } }
        let holes = [Mask(width: w, height: h), Mask(width: w, height: h, data: hole)]
        let pixels = (0..<(w * h)).filter { hole[$0] != 0 }.map(Int32.init)
        var state = VideoInpainter.FrameState(pixels: pixels)
        for (i, p) in pixels.enumerated() {
            let x = Float(Int(p) % w) + 5, y = Float(Int(p) / w) + 2
            state.srcA[i] = 0
            state.posA[i] = VideoInpainter.SourcePosition.pack(x + drift.0, y + drift.1)
        }
        state.unresolvedCount = 0
        func error(_ s: VideoInpainter.FrameState) -> Double {
            var sum = 0.0
            for (i, p) in pixels.enumerated() {
                let q = VideoInpainter.SourcePosition.unpack(s.posA[i])
                let ex = Double(q.x) - Double(Int(p) % w + 5), ey = Double(q.y) - Double(Int(p) / w + 2)
                sum += (ex * ex + ey * ey).squareRoot()
            }
            return sum / Double(pixels.count)
        }
        var states = [VideoInpainter.FrameState(pixels: []), state]
        let before = error(states[1])
        VideoInpainter(quality: .standard, threads: 2).alignSources(&states, frames: frames, replaced: holes)
        return (before, error(states[1]), states[1].offsets[0])
    }

    @Test("sources that drifted by a few pixels are pulled back onto the content they show")
    func driftIsCorrected() {
        let (before, after, _) = alignedError(drift: (3, -2))
        #expect(before > 3.5)
        #expect(after < 0.5, "mean source error \(after) px after alignment (\(before) before)")
    }

    @Test("sources that are already right stay where they are")
    func rightSourcesStay() {
        let (_, after, offset) = alignedError(drift: (0, 0))
        #expect(after < 0.3, "mean source error \(after) px")
        #expect(offset.map { abs($0.x) + abs($0.y) + abs($0.z) < 1.5 } ?? true, "offset \(String(describing: offset))")
    }

    @Test("a source frame that is darker than the frame it fills gets the difference added back")
    func exposureIsMatched() throws {
        let (_, after, offset) = alignedError(drift: (2, 1), brighter: 12)
        let o = try #require(offset)
        #expect(after < 0.5, "mean source error \(after) px")
        for c in [o.x, o.y, o.z] { #expect(abs(c - 12) < 1.5, "offset \(o)") }
    }
}
