import RotoThreads

/// Direct alignment of the propagated sources. Propagation chains one homography per frame step, so a
/// source many frames away has drifted by the sum of every step's error (a few pixels on textured
/// backgrounds). For every frame and every source frame it draws from, the chained map is summarised by
/// a homography and refined photometrically against the source frame on a ring of known pixels around
/// the hole (Gauss–Newton, Huber weights, a grey-level bias for exposure); the sources then move by
/// the correction, and what is sampled from each source frame is offset by its median colour
/// difference from the frame around the hole.
extension VideoInpainter {
    /// Moves the sources of every non-key frame by the direct alignment's correction (see above).
    func alignSources(_ states: inout [FrameState], frames: [RGBImage], replaced: [Mask]) {
        let count = states.count
        guard let first = frames.first else { return }
        let ring = max(6, min(first.width, first.height) / 40)
        // A few frames at a time, so that only their updated sources are held besides the states.
        let chunk = 2 * threads
        for start in stride(from: 0, to: count, by: chunk) {
            let batch = Array(start..<min(count, start + chunk))
            let updated: [FrameState?]
            do {
                let frozen = states
                updated = parallelMap(batch.count) { k in
                    let t = batch[k]
                    let st = frozen[t]
                    if st.isKey || st.pixels.isEmpty { return nil }
                    let aligner = SourceAligner(frames: frames, holes: replaced, target: t, ringWidth: ring)
                    guard aligner.ringCount >= 64 else { return nil }
                    var out = st
                    return aligner.align(&out) ? out : nil
                }
            }
            for (k, t) in batch.enumerated() { if let s = updated[k] { states[t] = s } }
        }
    }
}

/// Photometric alignment of one frame (the target) against its source frames, on a ring of known
/// pixels around the target's hole.
struct SourceAligner {
    let frames: [RGBImage]
    let holes: [Mask]
    let target: Int
    let w: Int, h: Int
    /// Ring sample positions (pixel indices of the target frame) and their grey levels.
    var ring: [Int32] = []
    var levels: [Float] = []
    var ringCount: Int { ring.count }
    /// Most ring samples used.
    static let maxSamples = 1000
    /// Fewest sources drawing from one frame for that frame to be aligned.
    static let minGroup = 400
    /// Huber threshold (grey levels).
    static let huber: Float = 12
    /// Largest colour offset applied (grey levels).
    static let maxOffset: Float = 24
    /// Largest correction accepted, as a fraction of the short side.
    static let maxShiftFraction: Float = 0.04

    init(frames: [RGBImage], holes: [Mask], target: Int, ringWidth: Int) {
        self.frames = frames
        self.holes = holes
        self.target = target
        w = frames[target].width
        h = frames[target].height
        let hole = holes[target]
        let grown = InpaintMorphology.dilated(hole, radius: ringWidth)
        var candidates: [Int32] = []
        grown.data.withUnsafeBufferPointer { G in
            hole.data.withUnsafeBufferPointer { H in
                for p in 0..<G.count where G[p] != 0 && H[p] == 0 { candidates.append(Int32(p)) }
            }
        }
        let stride = max(1, candidates.count / Self.maxSamples)
        ring.reserveCapacity(candidates.count / stride + 1)
        frames[target].pixels.withUnsafeBufferPointer { F in
            for k in Swift.stride(from: 0, to: candidates.count, by: stride) {
                let p = Int(candidates[k])
                ring.append(candidates[k])
                levels.append((Float(F[3 * p]) + Float(F[3 * p + 1]) + Float(F[3 * p + 2])) / 3)
            }
        }
    }

    /// Aligns the target against every source frame its sources draw from with at least 64 pixels (one
    /// alignment per source frame, for the nearer and the farther source alike) and moves those
    /// sources by the correction. Returns whether anything moved.
    func align(_ st: inout VideoInpainter.FrameState) -> Bool {
        // Source frame → (which list, index) of the sources drawing from it; 0 = A, 1 = B.
        var groups: [Int16: [(Int, Int)]] = [:]
        for i in 0..<st.pixels.count {
            if st.srcA[i] >= 0 && Int(st.srcA[i]) != target { groups[st.srcA[i], default: []].append((0, i)) }
            if st.srcB[i] >= 0 && Int(st.srcB[i]) != target { groups[st.srcB[i], default: []].append((1, i)) }
        }
        var moved = false
        let maxX = Float(w - 1), maxY = Float(h - 1)
        let cx = Double(w - 1) / 2, cy = Double(h - 1) / 2, sc = Double(max(w, h)) / 2
        let limit = Self.maxShiftFraction * Float(min(w, h))
        for (s, members) in groups where members.count >= Self.minGroup {
            let src = Int(s)
            @inline(__always) func position(_ m: (Int, Int)) -> UInt32 { m.0 == 0 ? st.posA[m.1] : st.posB[m.1] }
            // The chained map of these pixels as one homography.
            var xs: [Double] = [], ys: [Double] = [], tx: [Double] = [], ty: [Double] = []
            let step = max(1, members.count / 500)
            for k in Swift.stride(from: 0, to: members.count, by: step) {
                let p = Int(st.pixels[members[k].1])
                let q = VideoInpainter.SourcePosition.unpack(position(members[k]))
                xs.append((Double(p % w) - cx) / sc); ys.append((Double(p / w) - cy) / sc)
                tx.append((Double(q.x) - cx) / sc); ty.append((Double(q.y) - cy) / sc)
            }
            guard let chained = Homography.fit(xs: xs, ys: ys, tx: tx, ty: ty, cx: cx, cy: cy, s: sc, iterations: 3) else { continue }
            let refinedOrNil = refine(chained, source: src)
            let refined = refinedOrNil ?? chained
            if let o = colourOffset(refined, source: src) { st.offsets[s] = o; moved = true }
            if refinedOrNil == nil { continue }
            // Move by the correction, where it is small and lands on known background.
            let hole = holes[src].data
            for m in members {
                let p = Int(st.pixels[m.1])
                let x = Float(p % w), y = Float(p / w)
                let a = chained.displacement(x, y), b = refined.displacement(x, y)
                let dx = b.0 - a.0, dy = b.1 - a.1
                if abs(dx) > limit || abs(dy) > limit { continue }
                let q = VideoInpainter.SourcePosition.unpack(position(m))
                let nx = min(max(q.x + dx, 0), maxX), ny = min(max(q.y + dy, 0), maxY)
                if hole[Int(ny + 0.5) * w + Int(nx + 0.5)] != 0 { continue }
                let packed = VideoInpainter.SourcePosition.pack(nx, ny)
                if m.0 == 0 { st.posA[m.1] = packed } else { st.posB[m.1] = packed }
                moved = true
            }
        }
        return moved
    }

    /// The median per channel of target − source over the ring with `model` (the source frame's exposure
    /// or lighting relative to the target's around the hole), each within ±`maxOffset`; nil with too few
    /// samples.
    func colourOffset(_ model: Homography, source: Int) -> SIMD3<Float>? {
        let hole = holes[source].data
        var d: [[Float]] = [[], [], []]
        frames[source].pixels.withUnsafeBufferPointer { S in
            frames[target].pixels.withUnsafeBufferPointer { T in
                for k in 0..<ring.count {
                    let p = Int(ring[k])
                    let m = model.displacement(Float(p % w), Float(p / w))
                    let X = Float(p % w) + m.0, Y = Float(p / w) + m.1
                    guard X >= 0, Y >= 0, X <= Float(w - 1), Y <= Float(h - 1), hole[Int(Y + 0.5) * w + Int(X + 0.5)] == 0 else { continue }
                    let (r, g, b) = bilinearRGB(S, w, h, X, Y)
                    d[0].append(Float(T[3 * p]) - r); d[1].append(Float(T[3 * p + 1]) - g); d[2].append(Float(T[3 * p + 2]) - b)
                }
            }
        }
        guard d[0].count >= 64 else { return nil }
        let med = d.map { c -> Float in
            var c = c
            return min(Self.maxOffset, max(-Self.maxOffset, upperMedian(&c) ?? 0))
        }
        return SIMD3(med[0], med[1], med[2])
    }

    /// Gauss–Newton on the eight homography parameters, minimising the Huber loss of the grey-level
    /// difference between the target's ring and the source frame; nil unless it lowers the loss.
    func refine(_ start: Homography, source: Int) -> Homography? {
        var model = start
        let img = frames[source]
        let hole = holes[source].data
        let cx = model.cx, cy = model.cy, sc = model.s
        var startLoss: Double = -1, bestLoss = Double.infinity
        var best = start
        img.pixels.withUnsafeBufferPointer { S in
            @inline(__always) func grey(_ x: Float, _ y: Float) -> Float {
                let (r, g, b) = bilinearRGB(S, w, h, x, y)
                return (r + g + b) / 3
            }
            // The grey level at (x, y) and its central differences (the grey levels one pixel either side),
            // all bilinear, from the 12 texels they share: each texel's grey level is read once.
            // (1 ≤ x ≤ w − 2 and 1 ≤ y ≤ h − 2, as `mapped` guarantees.)
            @inline(__always) func greyAndGradient(_ x: Float, _ y: Float) -> (g: Float, gx: Float, gy: Float) {
                let ix = Int(x), iy = Int(y)
                let ax = x - Float(ix), ay = y - Float(iy)
                let c0 = ix - 1, c3 = min(ix + 2, w - 1), r0 = iy - 1, r3 = min(iy + 2, h - 1)
                @inline(__always) func t(_ row: Int, _ col: Int) -> Float {
                    let q = (row * w + col) * 3
                    return (Float(S[q]) + Float(S[q + 1]) + Float(S[q + 2])) / 3
                }
                let a01 = t(r0, ix), a02 = t(r0, ix + 1)
                let b00 = t(iy, c0), b01 = t(iy, ix), b02 = t(iy, ix + 1), b03 = t(iy, c3)
                let c00 = t(iy + 1, c0), c01 = t(iy + 1, ix), c02 = t(iy + 1, ix + 1), c03 = t(iy + 1, c3)
                let d01 = t(r3, ix), d02 = t(r3, ix + 1)
                @inline(__always) func bil(_ p: Float, _ q: Float, _ r: Float, _ s: Float) -> Float {
                    (p * (1 - ax) + q * ax) * (1 - ay) + (r * (1 - ax) + s * ax) * ay
                }
                let g = bil(b01, b02, c01, c02)
                let gx = (bil(b02, b03, c02, c03) - bil(b00, b01, c00, c01)) / 2
                let gy = (bil(c01, c02, d01, d02) - bil(a01, a02, b01, b02)) / 2
                return (g, gx, gy)
            }
            // The two frames' grey levels may differ by a constant (exposure): a bias, re-estimated every
            // iteration as the weighted mean residual, first as the median at the start.
            @inline(__always) func mapped(_ p: Int, _ hh: [Double]) -> (X: Float, Y: Float, u: Double, v: Double, d: Double, xn: Double, yn: Double)? {
                let xn = (Double(p % w) - cx) / sc, yn = (Double(p / w) - cy) / sc
                let d = hh[6] * xn + hh[7] * yn + 1
                let u = (hh[0] * xn + hh[1] * yn + hh[2]) / d, v = (hh[3] * xn + hh[4] * yn + hh[5]) / d
                let X = Float(u * sc + cx), Y = Float(v * sc + cy)
                guard X >= 1, Y >= 1, X <= Float(w - 2), Y <= Float(h - 2),
                      hole[Int(Y + 0.5) * w + Int(X + 0.5)] == 0 else { return nil }
                return (X, Y, u, v, d, xn, yn)
            }
            var start: [Float] = []
            for k in 0..<ring.count {
                if let m = mapped(Int(ring[k]), model.h) { start.append(grey(m.X, m.Y) - levels[k]) }
            }
            if start.count < 64 { return }
            var bias = upperMedian(&start) ?? 0
            var lambda = 1e-3
            var ata = [Double](repeating: 0, count: 64), atb = [Double](repeating: 0, count: 8)
            // Normal equations: row a of AᵀA (every column; the lower triangle is mirrored from the upper
            // one below) and Aᵀb, accumulated as 8-lane vectors.
            var rows = [SIMD8<Double>](repeating: .zero, count: 8)
            for iteration in 0..<8 {
                var total: Double = 0, used = 0, biasSum: Double = 0, weightSum: Double = 0
                let hh = model.h
                var rhs = SIMD8<Double>.zero
                rows.withUnsafeMutableBufferPointer { A in
                    for a in 0..<8 { A[a] = .zero }
                    for k in 0..<ring.count {
                        guard let (X, Y, u, v, d, xn, yn) = mapped(Int(ring[k]), hh) else { continue }
                        // Grey level and central differences from bilinear samples.
                        let (g, gx, gy) = greyAndGradient(X, Y)
                        let raw = g - levels[k]
                        let r = raw - bias
                        let ar = abs(r)
                        let wt: Float = ar <= Self.huber ? 1 : Self.huber / ar
                        total += Double(ar <= Self.huber ? 0.5 * r * r : Self.huber * (ar - 0.5 * Self.huber))
                        used += 1
                        // d(grey)/d(h0…h7) through (X, Y).
                        let gxs = Double(gx) * sc / d, gys = Double(gy) * sc / d
                        let gp = gxs * u + gys * v
                        let J = SIMD8<Double>(gxs * xn, gxs * yn, gxs, gys * xn, gys * yn, gys, -gp * xn, -gp * yn)
                        let wd = Double(wt), rd = Double(r)
                        biasSum += wd * Double(raw); weightSum += wd
                        let wJ = wd * J
                        rhs -= wJ * rd
                        for a in 0..<8 { A[a] += wJ[a] * J }
                    }
                }
                for a in 0..<8 {
                    atb[a] = rhs[a]
                    for b in 0..<8 { ata[a * 8 + b] = rows[a][b] }
                }
                if used < 64 { return }
                let mean = total / Double(used)
                if iteration == 0 { startLoss = mean }
                if mean < bestLoss { bestLoss = mean; best = model }
                if weightSum > 0 { bias = Float(biasSum / weightSum) }
                for a in 0..<8 { for b in 0..<a { ata[a * 8 + b] = ata[b * 8 + a] } }
                var trace = 0.0
                for a in 0..<8 { trace += ata[a * 8 + a] }
                for a in 0..<8 { ata[a * 8 + a] += lambda * trace / 8 }
                guard let delta = Homography.solve8(ata, atb) else { return }
                model = Homography(h: (0..<8).map { hh[$0] + delta[$0] } + [1], cx: cx, cy: cy, s: sc)
                lambda *= 0.5
                // Stop when the map moves less than a twentieth of a pixel at the ring's extent.
                if (delta.prefix(6).map(abs).max() ?? 0) * sc < 0.05 { break }
            }
        }
        guard startLoss > 0, bestLoss < 0.95 * startLoss else { return nil }
        return best
    }
}
