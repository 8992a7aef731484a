#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RotoThreads

/// Exemplar-based filling of an image region: the unknown pixels are synthesised from patches of the
/// known part of the same image, so a wall, grass or water keep their texture where a smooth fill
/// (``PushPull``) leaves a blur. Coarse to fine over a pyramid; at each level, rounds of (a) finding
/// for every patch that touches the region the most similar patch lying wholly in the known part
/// (PatchMatch's randomised search: propagation from the neighbours, then random tries at halving
/// radii) and (b) setting each unknown pixel to the similarity-weighted mean of what the patches over
/// it propose (Wexler, Shechtman and Irani's completion, on one image), the finest level's last vote
/// from the best patch alone. The coarsest level starts from an onion peel, not from the smooth fill,
/// which instead guides the search: a source patch's mean colour should be the estimate's there.
/// Deterministic for a seed.
enum PatchFill {
    struct Settings: Sendable, Equatable {
        /// Patches are (2r+1)² pixels.
        var patchRadius = 3
        /// The pyramid stops once the region's bounding box is at most this many pixels on its long side.
        var coarsestExtent = 40
        /// Search-and-vote rounds at the finest level and at each coarser level.
        var fineRounds = 2
        var coarseRounds = 4
        /// The last round at the finest level takes each pixel from the best patch over it, not the mean.
        var sharpFinish = true
        /// Weight of the guide: a match also pays this times the patch's pixel count times the squared
        /// difference between the source patch's mean colour and the first estimate's mean over the
        /// target patch, so the texture follows the smooth fill's shading instead of whatever region's
        /// patches the search meets first (a goat's hole took the hillside's grass). 0: unguided.
        var guideWeight: Float = 2
    }

    /// Fills the pixels where `unknown` is non-zero in `values` (interleaved RGB floats, `width` × `height`),
    /// which must hold a first estimate everywhere (a smooth fill): it guides the search (`guideWeight`).
    /// Returns false, leaving `values` as they were, when the known part holds too few whole patches.
    ///
    /// The work is split into two fixed halves run on up to `threads` threads, so the result does not
    /// depend on the number of threads.
    @discardableResult
    static func fill(_ values: inout [Float], unknown: [UInt8], width w: Int, height h: Int,
                     settings: Settings = Settings(), seed: UInt64 = 1, threads: Int = 1) -> Bool {
        precondition(values.count == w * h * 3 && unknown.count == w * h)
        let r = settings.patchRadius
        guard w >= 4 * r + 2, h >= 4 * r + 2 else { return false }
        var levels = [Level(width: w, height: h, image: values, unknown: unknown, radius: r,
                            guideWeight: settings.guideWeight)]
        while true {
            let top = levels[levels.count - 1]
            guard let extent = top.unknownExtent, extent > settings.coarsestExtent,
                  (min(top.width, top.height) + 1) / 2 >= 4 * r + 2 else { break }
            let next = top.halved(radius: r, guideWeight: settings.guideWeight)
            guard next.sources.count >= 16 else { break }
            levels.append(next)
        }
        guard levels[0].sources.count >= 16, levels[0].unknownExtent != nil else { return false }
        var random = SplitMix64(seed: seed)
        var nnf: [Int32] = []
        for l in stride(from: levels.count - 1, through: 0, by: -1) {
            if l == levels.count - 1 {
                levels[l].peel(threads: threads)
                nnf = levels[l].randomField(&random)
            } else {
                levels[l].takeUnknown(fromCoarser: levels[l + 1])
                nnf = levels[l].upsampled(levels[l + 1], field: nnf, random: &random)
            }
            let rounds = l == 0 ? settings.fineRounds : settings.coarseRounds
            for round in 0..<rounds {
                levels[l].search(&nnf, forward: round % 2 == 0, seed: random.next(), threads: threads)
                levels[l].vote(nnf, sharp: settings.sharpFinish && l == 0 && round == rounds - 1)
            }
        }
        values = levels[0].image
        return true
    }

    /// One pyramid level: the image, its unknown pixels, the centres of the patches that touch them
    /// (targets) and of the patches wholly known (sources).
    struct Level {
        let width: Int, height: Int, radius: Int
        var image: [Float]
        let unknown: [UInt8]
        /// Target centres in raster order, and each pixel's index among them (-1: not a target).
        let targets: [Int32]
        let targetIndex: [Int32]
        /// Source centres, and whether each pixel is one.
        let sources: [Int32]
        let isSource: [Bool]
        /// The mean colour of the patch at every centre in the image the level starts from: at a target,
        /// the first estimate's (the guide); at a source, its known pixels' (they never change). Empty
        /// when unguided.
        let means: [Float]
        /// The guide's weight times the patch's pixel count (0: unguided).
        let guideScale: Float

        init(width: Int, height: Int, image: [Float], unknown: [UInt8], radius r: Int, guideWeight: Float) {
            self.width = width; self.height = height; self.radius = r
            self.image = image; self.unknown = unknown
            let side = Float(2 * r + 1)
            guideScale = guideWeight * side * side
            if guideWeight > 0 {
                var means = [Float](repeating: 0, count: width * height * 3)
                var plane = [Float](repeating: 0, count: width * height), sum = plane, tmp = plane
                for c in 0..<3 {
                    for p in 0..<(width * height) { plane[p] = image[3 * p + c] }
                    plane.withUnsafeBufferPointer { S in
                        sum.withUnsafeMutableBufferPointer { D in
                            tmp.withUnsafeMutableBufferPointer { boxSum(S, D, $0, width: width, height: height, radius: r) }
                        }
                    }
                    for p in 0..<(width * height) { means[3 * p + c] = sum[p] / (side * side) }
                }
                self.means = means
            } else {
                means = []
            }
            // Counts of unknown pixels in each centre's patch (exact: sums of 0s and 1s).
            var counts = [Float](repeating: 0, count: width * height), tmp = counts
            let flags = unknown.map { Float($0 != 0 ? 1 : 0) }
            flags.withUnsafeBufferPointer { S in
                counts.withUnsafeMutableBufferPointer { D in
                    tmp.withUnsafeMutableBufferPointer { boxSum(S, D, $0, width: width, height: height, radius: r) }
                }
            }
            var targets: [Int32] = [], sources: [Int32] = []
            var targetIndex = [Int32](repeating: -1, count: width * height)
            var isSource = [Bool](repeating: false, count: width * height)
            for y in r..<(height - r) {
                for x in r..<(width - r) {
                    let p = y * width + x
                    if counts[p] > 0 {
                        targetIndex[p] = Int32(targets.count)
                        targets.append(Int32(p))
                    } else {
                        isSource[p] = true
                        sources.append(Int32(p))
                    }
                }
            }
            self.targets = targets; self.targetIndex = targetIndex
            self.sources = sources; self.isSource = isSource
        }

        /// The long side of the unknown pixels' bounding box; nil when there are none.
        var unknownExtent: Int? {
            var x0 = width, y0 = height, x1 = -1, y1 = -1
            for y in 0..<height {
                for x in 0..<width where unknown[y * width + x] != 0 {
                    x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
                }
            }
            return x1 < 0 ? nil : max(x1 - x0, y1 - y0) + 1
        }

        /// The level below: 2×2 means of the image; a pixel is unknown if any of its four is.
        func halved(radius r: Int, guideWeight: Float) -> Level {
            let nw = (width + 1) / 2, nh = (height + 1) / 2
            var img = [Float](repeating: 0, count: nw * nh * 3)
            var unk = [UInt8](repeating: 0, count: nw * nh)
            for y in 0..<nh {
                for x in 0..<nw {
                    var n: Float = 0
                    var sum: (Float, Float, Float) = (0, 0, 0)
                    var u: UInt8 = 0
                    for sy in (2 * y)..<min(height, 2 * y + 2) {
                        for sx in (2 * x)..<min(width, 2 * x + 2) {
                            let p = sy * width + sx
                            sum.0 += image[3 * p]; sum.1 += image[3 * p + 1]; sum.2 += image[3 * p + 2]
                            n += 1
                            u |= unknown[p]
                        }
                    }
                    let q = y * nw + x
                    img[3 * q] = sum.0 / n; img[3 * q + 1] = sum.1 / n; img[3 * q + 2] = sum.2 / n
                    unk[q] = u != 0 ? 1 : 0
                }
            }
            return Level(width: nw, height: nh, image: img, unknown: unk, radius: r, guideWeight: guideWeight)
        }

        /// Unknown pixels take the colour of the coarser level's pixel over them.
        mutating func takeUnknown(fromCoarser c: Level) {
            for y in 0..<height {
                for x in 0..<width where unknown[y * width + x] != 0 {
                    let p = y * width + x, q = min(y / 2, c.height - 1) * c.width + min(x / 2, c.width - 1)
                    image[3 * p] = c.image[3 * q]; image[3 * p + 1] = c.image[3 * q + 1]; image[3 * p + 2] = c.image[3 * q + 2]
                }
            }
        }

        /// The start at the coarsest level, from the region's edge inwards ring by ring: each pixel takes
        /// the centre of the source patch that best matches the known (or already filled) pixels of its
        /// own patch. A smooth start would instead draw the search to the smoothest patches of the image.
        mutating func peel(threads: Int) {
            let w = width
            var known = unknown.map { $0 == 0 }
            var left = unknown.indices.filter { unknown[$0] != 0 }
            while !left.isEmpty {
                // The ring: unknown pixels with a known 8-neighbour.
                let ring = left.filter { p in
                    let x = p % w, y = p / w
                    for ny in max(0, y - 1)...min(height - 1, y + 1) {
                        for nx in max(0, x - 1)...min(w - 1, x + 1) where known[ny * w + nx] { return true }
                    }
                    return false
                }
                guard !ring.isEmpty else { break }
                let frozen = self, mask = known
                let halves = parallelMap(2, threads: threads) { half in
                    ring[(half * ring.count / 2)..<((half + 1) * ring.count / 2)].map { frozen.bestSource(for: $0, known: mask) }
                }
                for (p, q) in zip(ring, halves.joined()) where q >= 0 {
                    image[3 * p] = image[3 * q]; image[3 * p + 1] = image[3 * q + 1]; image[3 * p + 2] = image[3 * q + 2]
                    known[p] = true
                }
                let ringSet = Set(ring)
                left.removeAll { ringSet.contains($0) }
            }
        }

        /// The source centre whose patch best matches the `known` pixels of `p`'s patch (every source, in
        /// order; the first of equals); -1 when the patch holds no known pixel.
        func bestSource(for p: Int, known: [Bool]) -> Int {
            let w = width, h = height, r = radius
            let x = p % w, y = p / w
            // The known pixels of the target patch, as offsets from its centre.
            var offsets: [Int] = []
            for dy in -r...r where y + dy >= 0 && y + dy < h {
                for dx in -r...r where x + dx >= 0 && x + dx < w && known[p + dy * w + dx] { offsets.append(dy * w + dx) }
            }
            guard !offsets.isEmpty else { return -1 }
            var best = Float.infinity, match = -1
            image.withUnsafeBufferPointer { I in
                offsets.withUnsafeBufferPointer { O in
                    for q in sources {
                        let q = Int(q)
                        var total = guidance(p, q)
                        for o in O {
                            let a = 3 * (p + o), b = 3 * (q + o)
                            let d0 = I[a] - I[b], d1 = I[a + 1] - I[b + 1], d2 = I[a + 2] - I[b + 2]
                            total += d0 * d0 + d1 * d1 + d2 * d2
                            if total >= best { break }
                        }
                        if total < best { best = total; match = q }
                    }
                }
            }
            return match
        }

        func randomField(_ random: inout SplitMix64) -> [Int32] {
            targets.map { _ in sources[Int(random.next() % UInt64(sources.count))] }
        }

        /// The coarser level's field at twice its offsets; a match that is not a source here is drawn anew.
        func upsampled(_ c: Level, field: [Int32], random: inout SplitMix64) -> [Int32] {
            targets.map { t in
                let x = Int(t) % width, y = Int(t) / width
                let cx = min(x / 2, c.width - 1), cy = min(y / 2, c.height - 1)
                let ci = c.targetIndex[cy * c.width + cx]
                if ci >= 0 {
                    let m = Int(field[Int(ci)]), sx = 2 * (m % c.width) + x % 2, sy = 2 * (m / c.width) + y % 2
                    if sx < width, sy < height, isSource[sy * width + sx] { return Int32(sy * width + sx) }
                }
                return sources[Int(random.next() % UInt64(sources.count))]
            }
        }

        /// The guide's cost of the source centred at `q` for the target centred at `p` (0 unguided).
        @inline(__always)
        func guidance(_ p: Int, _ q: Int) -> Float {
            guard guideScale > 0 else { return 0 }
            let d0 = means[3 * q] - means[3 * p], d1 = means[3 * q + 1] - means[3 * p + 1]
            let d2 = means[3 * q + 2] - means[3 * p + 2]
            return guideScale * (d0 * d0 + d1 * d1 + d2 * d2)
        }

        /// Sum of squared differences between the patches centred at `a` and `b` plus the guide's cost,
        /// stopping early once it passes `limit`.
        @inline(__always)
        func distance(_ I: UnsafeBufferPointer<Float>, _ a: Int, _ b: Int, limit: Float) -> Float {
            let r = radius, stride = 3 * width, span = 3 * (2 * r + 1)
            var total: Float = guidance(a, b)
            var pa = 3 * (a - r * width - r), pb = 3 * (b - r * width - r)
            for _ in 0..<(2 * r + 1) {
                for i in 0..<span {
                    let d = I[pa + i] - I[pb + i]
                    total += d * d
                }
                if total > limit { return total }
                pa += stride; pb += stride
            }
            return total
        }

        /// One PatchMatch sweep over the targets, in two halves (the upper and lower targets) that run
        /// at once, each seeing the other's matches as they were before the sweep: each target tries its
        /// neighbours' matches shifted by one (the left and upper ones forwards, the right and lower ones
        /// backwards) and random sources around its match at radii halving from the level's size.
        func search(_ nnf: inout [Int32], forward: Bool, seed: UInt64, threads: Int) {
            let frozen = nnf, count = targets.count
            let halves = parallelMap(2, threads: threads) { half in
                var field = frozen
                var random = SplitMix64(seed: seed &+ UInt64(half) &* 0x9E37_79B9_7F4A_7C15)
                let range = (half * count / 2)..<((half + 1) * count / 2)
                sweep(&field, range: range, forward: forward, random: &random)
                return Array(field[range])
            }
            nnf = Array(halves.joined())
        }

        func sweep(_ nnf: inout [Int32], range: Range<Int>, forward: Bool, random: inout SplitMix64) {
            let w = width, h = height, r = radius
            let step = forward ? 1 : -1
            image.withUnsafeBufferPointer { I in
                nnf.withUnsafeMutableBufferPointer { F in
                    for t in (forward ? Array(range) : range.reversed()) {
                        let p = Int(targets[t])
                        var match = Int(F[t])
                        var d = distance(I, p, match, limit: .infinity)
                        @inline(__always) func tryCandidate(_ q: Int) {
                            guard q != match, isSource[q] else { return }
                            let e = distance(I, p, q, limit: d)
                            if e < d { d = e; match = q }
                        }
                        // Propagation: the neighbour's match, moved as the neighbour is moved.
                        @inline(__always) func propagate(from nb: Int) {
                            guard nb >= 0, nb < w * h else { return }
                            let ni = targetIndex[nb]
                            guard ni >= 0 else { return }
                            let q = Int(F[Int(ni)]) + (p - nb)
                            if q >= 0 && q < w * h { tryCandidate(q) }
                        }
                        propagate(from: p - step)
                        propagate(from: p - step * w)
                        // Random search around the best so far.
                        var radiusNow = max(w, h)
                        while radiusNow >= 1 {
                            let mx = match % w, my = match / w
                            let span = UInt64(2 * radiusNow + 1)
                            let x = min(max(mx + Int(random.next() % span) - radiusNow, r), w - 1 - r)
                            let y = min(max(my + Int(random.next() % span) - radiusNow, r), h - 1 - r)
                            tryCandidate(y * w + x)
                            radiusNow /= 2
                        }
                        F[t] = Int32(match)
                    }
                }
            }
        }

        /// Each unknown pixel becomes the mean of what the patches over it propose, each weighted by how
        /// well its match fits (exp(−d / 2σ²), σ² the 75th percentile of the distances).
        mutating func vote(_ nnf: [Int32], sharp: Bool = false) {
            let w = width, r = radius
            var dist = [Float](repeating: 0, count: targets.count)
            image.withUnsafeBufferPointer { I in
                for t in 0..<targets.count { dist[t] = distance(I, Int(targets[t]), Int(nnf[t]), limit: .infinity) }
            }
            if sharp {
                // Each unknown pixel from the best-matching patch over it alone: no averaging, no blur.
                var bestD = [Float](repeating: .infinity, count: w * height)
                var out = image
                for t in 0..<targets.count {
                    let p = Int(targets[t]), q = Int(nnf[t])
                    for dy in -r...r {
                        for dx in -r...r {
                            let u = p + dy * w + dx
                            guard unknown[u] != 0, dist[t] < bestD[u] else { continue }
                            bestD[u] = dist[t]
                            let s = q + dy * w + dx
                            out[3 * u] = image[3 * s]; out[3 * u + 1] = image[3 * s + 1]; out[3 * u + 2] = image[3 * s + 2]
                        }
                    }
                }
                image = out
                return
            }
            var sorted = dist
            sorted.sort()
            let sigma2 = max(sorted[min(sorted.count - 1, sorted.count * 3 / 4)], 1)
            var acc = [Float](repeating: 0, count: w * height * 3)
            var weight = [Float](repeating: 0, count: w * height)
            image.withUnsafeBufferPointer { I in
                unknown.withUnsafeBufferPointer { U in
                    acc.withUnsafeMutableBufferPointer { A in
                        weight.withUnsafeMutableBufferPointer { W in
                            for t in 0..<targets.count {
                                let p = Int(targets[t]), q = Int(nnf[t])
                                let wt = expf(-dist[t] / (2 * sigma2)) + 1e-6
                                for dy in -r...r {
                                    for dx in -r...r {
                                        let u = p + dy * w + dx
                                        guard U[u] != 0 else { continue }
                                        let s = q + dy * w + dx
                                        A[3 * u] += wt * I[3 * s]; A[3 * u + 1] += wt * I[3 * s + 1]; A[3 * u + 2] += wt * I[3 * s + 2]
                                        W[u] += wt
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for u in 0..<(w * height) where unknown[u] != 0 && weight[u] > 0 {
                image[3 * u] = acc[3 * u] / weight[u]
                image[3 * u + 1] = acc[3 * u + 1] / weight[u]
                image[3 * u + 2] = acc[3 * u + 2] / weight[u]
            }
        }
    }
}

/// A small, fast, seedable pseudo-random generator (Steele, Lea and Flood's SplitMix64): the same
/// numbers for the same seed everywhere (the exemplar fill, the tests' synthetic images).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
