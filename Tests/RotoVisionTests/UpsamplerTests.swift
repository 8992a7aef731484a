@testable import RotoVision
import Testing

@Suite struct UpsamplerTests {
    @Test("the upsampler's uniform blocks follow the 4×4 rule, clamped at the borders, at every size")
    func uniformBlocksRule() {
        var rng = SystemRandomNumberGenerator()
        for (w, h) in [(1, 1), (1, 5), (5, 1), (2, 3), (3, 2), (4, 4), (7, 5), (9, 11), (10, 4), (33, 17), (64, 6), (71, 9)] {
            for labelsCount in [2, 3] {
                // Blocks of labels (so that uniform cells exist) with some single-pixel noise.
                var labels = [UInt8](repeating: 0, count: w * h)
                let bw = Int.random(in: 1...5, using: &rng), bh = Int.random(in: 1...5, using: &rng)
                for y in 0..<h {
                    for x in 0..<w {
                        labels[y * w + x] = UInt8(((x / bw) + 2 * (y / bh)) % labelsCount)
                        if Int.random(in: 0..<20, using: &rng) == 0 { labels[y * w + x] = UInt8(Int.random(in: 0..<labelsCount, using: &rng)) }
                    }
                }
                let got = labels.withUnsafeBufferPointer { Upsampler.uniformBlocks($0, width: w, height: h) }
                for y in 0..<h {
                    for x in 0..<w {
                        var one = true
                        for dy in -1...2 {
                            for dx in -1...2 {
                                let xx = min(w - 1, max(0, x + dx)), yy = min(h - 1, max(0, y + dy))
                                if labels[yy * w + xx] != labels[y * w + x] { one = false }
                            }
                        }
                        #expect(got[y * w + x] == (one ? 1 : 0), "\(w)x\(h) cell \(x),\(y)")
                    }
                }
            }
        }
    }
}
