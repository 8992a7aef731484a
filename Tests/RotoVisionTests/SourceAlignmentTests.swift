import Foundation
@testable import RotoVision
import Testing

/// The direct re-alignment of propagated sources (`VideoInpainter.alignSources`).
@Suite("Source alignment (removal)")
struct SourceAlignmentTests {
    let w = 160, h = 100

    /// A smooth textured image; `shift` moves the content so that pixel (x, y) shows what the
    /// unshifted image shows at (x + dx, y + dy).
    func texture(dx: Double = 0, dy: Double = 0) -> RGBImage {
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let u = Double(x) + dx, v = Double(y) + dy
                let i = (y * w + x) * 3
                px[i] = UInt8(128 + 70 * sin(u / 6) * cos(v / 8))
                px[i + 1] = UInt8(110 + 60 * sin((u + v) / 10))
                px[i + 2] = UInt8(100 + 50 * cos(u / 12 - v / 5))
            }
        }
        return RGBImage(width: w, height: h, pixels: px)
    }

    /// Frame 1 shows frame 0 moved by (5, 2); its hole's sources point into frame 0 with `drift` added
    /// to the true positions. Returns the mean distance of the sources from the truth after alignment.
    func alignedError(drift: (Float, Float)) -> (before: Double, after: Double) {
        let frames = [texture(), texture(dx: 5, dy: 2)]
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
        return (before, error(states[1]))
    }

    @Test("sources that drifted by a few pixels are pulled back onto the content they show")
    func driftIsCorrected() {
        let (before, after) = alignedError(drift: (3, -2))
        #expect(before > 3.5)
        #expect(after < 0.5, "mean source error \(after) px after alignment (\(before) before)")
    }

    @Test("sources that are already right stay where they are")
    func rightSourcesStay() {
        let (_, after) = alignedError(drift: (0, 0))
        #expect(after < 0.3, "mean source error \(after) px")
    }
}
