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

    @Test("one object without a guide: every pixel takes the label of the larger tent-weighted sum of its 4×4 working taps (the inside cells' loop without tests gives the same labels)",
          arguments: [(9, 7, 27, 21), (37, 23, 111, 69), (40, 30, 97, 61), (64, 36, 192, 108), (5, 5, 16, 16)])
    func oneObjectEqualsTheTapSums(_ size: (Int, Int, Int, Int)) {
        let (w, h, W, H) = size
        var rng = SplitMix64(seed: UInt64(w * 1000 + W))
        // Blobs with ragged edges and single pixels, so that most cells are boundary cells.
        var labels = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let blob = (x / 3 + y / 2) % 2 == 0
                labels[y * w + x] = (blob != (Int.random(in: 0..<4, using: &rng) == 0)) ? 1 : 0
            }
        }
        let got = Upsampler.upsample(SelectionLabels(width: w, height: h, labels: labels, objectIDs: [1]),
                                     to: W, H, guide: nil, working: nil, sigma: 18)
        var plain = [UInt8](repeating: 0, count: W * H)
        for Y in 0..<H {
            let v = (Float(Y) + 0.5) * (Float(h) / Float(H)) - 0.5
            let cy = Int(v.rounded(.down)), fy = v - Float(cy)
            for X in 0..<W {
                let u = (Float(X) + 0.5) * (Float(w) / Float(W)) - 0.5
                let cx = min(w - 1, max(0, Int(u.rounded(.down)))), fx = u - Float(cx)
                var s0: Float = 0, s1: Float = 0
                for dy in -1...2 where cy + dy >= 0 && cy + dy < h {
                    let wy = max(0, 2 - abs(Float(dy) - fy))
                    for dx in -1...2 where cx + dx >= 0 && cx + dx < w {
                        let wgt = max(0, 2 - abs(Float(dx) - fx)) * wy
                        if labels[(cy + dy) * w + cx + dx] == 0 { s0 += wgt } else { s1 += wgt }
                    }
                }
                plain[Y * W + X] = s1 > s0 ? 1 : 0
            }
        }
        #expect(got.labels == plain)
    }
}
