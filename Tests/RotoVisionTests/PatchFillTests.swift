@testable import RotoVision
import Testing

/// Vertical stripes, 4 px light and 4 px dark, with a faint vertical ramp: a texture a smooth fill loses.
private func stripes(_ w: Int, _ h: Int) -> [Float] {
    var v = [Float](repeating: 0, count: w * h * 3)
    for y in 0..<h {
        for x in 0..<w {
            let light = (x / 4) % 2 == 0
            let p = 3 * (y * w + x)
            v[p] = light ? 200 : 60; v[p + 1] = light ? 180 : 50 + Float(y); v[p + 2] = light ? 90 : 140
        }
    }
    return v
}

private func rectangle(_ w: Int, _ h: Int, x0: Int, y0: Int, width: Int, height: Int) -> [UInt8] {
    var m = [UInt8](repeating: 0, count: w * h)
    for y in y0..<(y0 + height) { for x in x0..<(x0 + width) { m[y * w + x] = 1 } }
    return m
}

/// Mean absolute difference over the pixels where `region` is set.
private func mae(_ a: [Float], _ b: [Float], in region: [UInt8]) -> Float {
    var sum: Float = 0, n: Float = 0
    for p in region.indices where region[p] != 0 {
        for c in 0..<3 { sum += abs(a[3 * p + c] - b[3 * p + c]) }
        n += 3
    }
    return sum / n
}

@Suite("Exemplar fill of never-seen pixels")
struct PatchFillTests {
    let w = 48, h = 40

    /// The smooth start the exemplar fill refines: push–pull from the known pixels.
    func smooth(_ values: [Float], unknown: [UInt8]) -> [Float] {
        var v = values
        PushPull.fill(&v, known: unknown.map { $0 != 0 ? 0 : 1 }, width: w, height: h, channels: 3)
        return v
    }

    @Test("a hole in stripes takes the stripes, where a smooth fill leaves their mean; the rest is untouched")
    func stripesComeBack() {
        let clean = stripes(w, h)
        let hole = rectangle(w, h, x0: 17, y0: 13, width: 13, height: 13)
        var damaged = clean
        for p in hole.indices where hole[p] != 0 { damaged[3 * p] = 255; damaged[3 * p + 1] = 0; damaged[3 * p + 2] = 255 }
        let start = smooth(damaged, unknown: hole)
        var filled = start
        #expect(PatchFill.fill(&filled, unknown: hole, width: w, height: h, seed: 7))
        let before = mae(start, clean, in: hole), after = mae(filled, clean, in: hole)
        #expect(before > 30, "the smooth fill's error \(before)")
        #expect(after < before / 4, "exemplar \(after) against smooth \(before)")
        let outside = hole.map { $0 == 0 ? UInt8(1) : 0 }
        #expect(mae(filled, start, in: outside) == 0, "known pixels must not change")
        // The same seed gives the same fill, on one thread or two.
        for threads in [1, 2] {
            var again = start
            PatchFill.fill(&again, unknown: hole, width: w, height: h, seed: 7, threads: threads)
            #expect(again == filled, "\(threads) thread(s)")
        }
    }

    @Test("a hole wider than the coarsest level is filled coarse to fine and keeps the stripes")
    func stripesThroughThePyramid() {
        let (w, h) = (112, 96)
        let clean = stripes(w, h)
        let hole = rectangle(w, h, x0: 33, y0: 25, width: 46, height: 44)
        var start = clean
        PushPull.fill(&start, known: hole.map { $0 != 0 ? 0 : 1 }, width: w, height: h, channels: 3)
        var filled = start
        #expect(PatchFill.fill(&filled, unknown: hole, width: w, height: h, seed: 3, threads: 2))
        let before = mae(start, clean, in: hole), after = mae(filled, clean, in: hole)
        #expect(after < before / 3, "exemplar \(after) against smooth \(before)")
    }

    @Test("with a guide the texture follows the first estimate's shading; without, the surroundings'")
    func guideSetsTheShading() {
        let (w, h) = (112, 96)
        // Grain of ±30 levels everywhere, on a base of 90, and of 200 in a block at the top left.
        var random = SplitMix64(seed: 11)
        var clean = [Float](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let base: Float = x < 32 && y < 32 ? 200 : 90
                let grain = Float(random.next() % 61) - 30
                for c in 0..<3 { clean[3 * (y * w + x) + c] = base + grain }
            }
        }
        let hole = rectangle(w, h, x0: 40, y0: 36, width: 44, height: 44)
        // The first estimate says the hole is bright.
        var start = clean
        for p in hole.indices where hole[p] != 0 { for c in 0..<3 { start[3 * p + c] = 200 } }
        // The hole's mean and its grain (mean absolute difference from that mean).
        func statistics(_ v: [Float]) -> (mean: Float, grain: Float) {
            let inside = hole.indices.filter { hole[$0] != 0 }
            let mean = inside.reduce(Float(0)) { $0 + v[3 * $1] } / Float(inside.count)
            return (mean, inside.reduce(Float(0)) { $0 + abs(v[3 * $1] - mean) } / Float(inside.count))
        }
        var results: [Float: (mean: Float, grain: Float)] = [:]
        for weight: Float in [0, 2] {
            var filled = start
            var settings = PatchFill.Settings()
            settings.guideWeight = weight
            #expect(PatchFill.fill(&filled, unknown: hole, width: w, height: h, settings: settings, seed: 5, threads: 2))
            results[weight] = statistics(filled)
        }
        // The grain is kept either way (the source's mean absolute deviation is 15; a smooth fill's is 0).
        let unguided = results[0]!, guided = results[2]!
        #expect(abs(unguided.mean - 90) < 15, "unguided: the surroundings' shading, \(unguided)")
        #expect(abs(guided.mean - 200) < 15, "guided: the estimate's shading, \(guided)")
        #expect(unguided.grain > 10 && guided.grain > 10, "grain \(unguided.grain), \(guided.grain)")
    }

    @Test("with too few whole patches known the fill gives up and leaves the smooth start")
    func tooLittleKnown() {
        // Only a 3 px frame is known: no 7×7 patch lies wholly in it.
        let hole = rectangle(w, h, x0: 3, y0: 3, width: w - 6, height: h - 6)
        let start = smooth(stripes(w, h), unknown: hole)
        var values = start
        #expect(!PatchFill.fill(&values, unknown: hole, width: w, height: h))
        #expect(values == start)
    }

    @Test("random holes in random images, at the borders too: the known pixels stay, the filled ones stay within the known colours")
    func randomHoles() {
        for seed in UInt64(1)...24 {
            var random = SplitMix64(seed: seed)
            let w = 16 + Int(random.next() % 80), h = 16 + Int(random.next() % 60)
            var values = [Float](repeating: 0, count: w * h * 3)
            for i in values.indices { values[i] = Float(random.next() % 256) }
            // A few discs anywhere, some cut by the image's edge.
            var hole = [UInt8](repeating: 0, count: w * h)
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let cx = Int(random.next() % UInt64(w)), cy = Int(random.next() % UInt64(h))
                let r = 2 + Int(random.next() % UInt64(max(3, min(w, h) / 3)))
                for y in 0..<h { for x in 0..<w where (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r { hole[y * w + x] = 1 } }
            }
            var low = [Float](repeating: 255, count: 3), high = [Float](repeating: 0, count: 3)
            for p in hole.indices where hole[p] == 0 {
                for c in 0..<3 { low[c] = min(low[c], values[3 * p + c]); high[c] = max(high[c], values[3 * p + c]) }
            }
            PushPull.fill(&values, known: hole.map { $0 != 0 ? 0 : 1 }, width: w, height: h, channels: 3)
            let start = values
            PatchFill.fill(&values, unknown: hole, width: w, height: h, seed: seed, threads: 2)
            for p in hole.indices {
                for c in 0..<3 {
                    let v = values[3 * p + c]
                    if hole[p] == 0 {
                        #expect(v == start[3 * p + c], "seed \(seed): a known pixel changed")
                    } else {
                        #expect(v.isFinite && v >= low[c] - 1e-3 && v <= high[c] + 1e-3,
                                "seed \(seed): \(v) outside the known colours \(low[c])…\(high[c])")
                    }
                }
            }
        }
    }
}
