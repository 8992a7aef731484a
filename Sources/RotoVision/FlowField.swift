#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A single-channel float image (grey levels 0…255), row-major.
struct GreyImage: Sendable {
    let width: Int
    let height: Int
    var data: [Float]

    init(width: Int, height: Int, data: [Float]) {
        self.width = width
        self.height = height
        self.data = data
    }

    /// Luma (BT.601 weights) of an RGB image.
    init(_ img: RGBImage) {
        width = img.width
        height = img.height
        let n = img.width * img.height
        data = img.pixels.withUnsafeBufferPointer { src in
            filledFloats(n) { dst in
                for p in 0..<n {
                    let r = Float(src[3 * p]), g = Float(src[3 * p + 1]), b = Float(src[3 * p + 2])
                    dst[p] = 0.299 * r + 0.587 * g + 0.114 * b
                }
            }
        }
    }

    /// Half-size image (2×2 averages; odd last row/column folded in by clamping).
    func halved() -> GreyImage {
        let nw = max(1, (width + 1) / 2), nh = max(1, (height + 1) / 2)
        var out = [Float](repeating: 0, count: nw * nh)
        data.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                for y in 0..<nh {
                    let y0 = min(2 * y, height - 1), y1 = min(2 * y + 1, height - 1)
                    for x in 0..<nw {
                        let x0 = min(2 * x, width - 1), x1 = min(2 * x + 1, width - 1)
                        o[y * nw + x] = 0.25 * (s[y0 * width + x0] + s[y0 * width + x1] + s[y1 * width + x0] + s[y1 * width + x1])
                    }
                }
            }
        }
        return GreyImage(width: nw, height: nh, data: out)
    }

    /// 3-tap binomial blur (1 2 1) in both directions, to stabilise gradients.
    func smoothed() -> GreyImage {
        let w = width, h = height, n = w * h
        guard n > 0 else { return self }
        // Rows, then columns; both written whole (`filledFloats`). Along a row the two end pixels repeat
        // themselves as their missing neighbour, the pixels between them need no clamping.
        let tmp = data.withUnsafeBufferPointer { S in
            filledFloats(n) { T in
                for y in 0..<h {
                    let s = S.baseAddress! + y * w, t = T.baseAddress! + y * w
                    t[0] = 0.25 * (s[0] + 2 * s[0] + s[min(w - 1, 1)])
                    if w > 1 {
                        for x in 1..<(w - 1) { t[x] = 0.25 * (s[x - 1] + 2 * s[x] + s[x + 1]) }
                        t[w - 1] = 0.25 * (s[w - 2] + 2 * s[w - 1] + s[w - 1])
                    }
                }
            }
        }
        let out = tmp.withUnsafeBufferPointer { T in
            filledFloats(n) { O in
                for y in 0..<h {
                    let up = T.baseAddress! + max(0, y - 1) * w, row = T.baseAddress! + y * w
                    let dn = T.baseAddress! + min(h - 1, y + 1) * w, o = O.baseAddress! + y * w
                    for x in 0..<w { o[x] = 0.25 * (up[x] + 2 * row[x] + dn[x]) }
                }
            }
        }
        return GreyImage(width: w, height: h, data: out)
    }
}

/// Box sums over a (2r+1)² window (clamped at the image border: the window shrinks), separable running sums.
func boxSum(_ src: UnsafeBufferPointer<Float>, _ dst: UnsafeMutableBufferPointer<Float>,
            _ tmp: UnsafeMutableBufferPointer<Float>, width w: Int, height h: Int, radius r: Int) {
    guard w > 0, h > 0, let S = src.baseAddress, let D = dst.baseAddress, let T = tmp.baseAddress else { return }
    // Horizontal, four rows at a time: a running sum is one dependent chain of additions per row, and four
    // independent chains keep the core busy where one would wait on each addition. Each row still adds
    // and subtracts in the same order as a row on its own (the same sums to the last bit).
    var y = 0
    while y + 4 <= h {
        let s0 = S + y * w, s1 = s0 + w, s2 = s1 + w, s3 = s2 + w
        let t0 = T + y * w, t1 = t0 + w, t2 = t1 + w, t3 = t2 + w
        var a0: Float = 0, a1: Float = 0, a2: Float = 0, a3: Float = 0
        for x in 0..<min(r, w) { a0 += s0[x]; a1 += s1[x]; a2 += s2[x]; a3 += s3[x] }
        for x in 0..<w {
            let add = x + r, sub = x - r - 1
            if add < w { a0 += s0[add]; a1 += s1[add]; a2 += s2[add]; a3 += s3[add] }
            if sub >= 0 { a0 -= s0[sub]; a1 -= s1[sub]; a2 -= s2[sub]; a3 -= s3[sub] }
            t0[x] = a0; t1[x] = a1; t2[x] = a2; t3[x] = a3
        }
        y += 4
    }
    while y < h {
        let s0 = S + y * w, t0 = T + y * w
        var acc: Float = 0
        for x in 0..<min(r, w) { acc += s0[x] }
        for x in 0..<w {
            let add = x + r, sub = x - r - 1
            if add < w { acc += s0[add] }
            if sub >= 0 { acc -= s0[sub] }
            t0[x] = acc
        }
        y += 1
    }
    // Vertical, row-wise accumulation: whole rows at a time through row pointers (no index arithmetic in
    // the inner loops, which vectorise).
    for x in 0..<w { D[x] = 0 }
    for y in 0..<min(r, h) { let t = T + y * w; for x in 0..<w { D[x] += t[x] } }
    if r < h { let t = T + r * w; for x in 0..<w { D[x] += t[x] } }
    for y in 1..<h {
        let d = D + y * w, p = D + (y - 1) * w
        let add = y + r, sub = y - r - 1
        switch (add < h, sub >= 0) {
        case (true, true):
            let a = T + add * w, s = T + sub * w
            for x in 0..<w { d[x] = p[x] + a[x] - s[x] }
        case (true, false):
            let a = T + add * w
            for x in 0..<w { d[x] = p[x] + a[x] }
        case (false, true):
            let s = T + sub * w
            for x in 0..<w { d[x] = p[x] - s[x] }
        case (false, false):
            for x in 0..<w { d[x] = p[x] }
        }
    }
}

/// For each index of an axis of `n` pixels, how many of them the window [i − r, i + r] holds: a box sum
/// of ones over a grid is the product of its two axes' spans (exact, without summing).
func windowSpans(_ n: Int, radius r: Int) -> [Float] {
    (0..<n).map { Float(Swift.min($0 + r, n - 1) - Swift.max($0 - r, 0) + 1) }
}

/// How many pixels the (2r+1)² window around each pixel of a `width` × `height` grid holds (what `boxSum`
/// of ones gives), row-major.
func windowPopulation(width w: Int, height h: Int, radius r: Int) -> [Float] {
    let spanX = windowSpans(w, radius: r), spanY = windowSpans(h, radius: r)
    var out = [Float](repeating: 0, count: w * h)
    out.withUnsafeMutableBufferPointer { O in
        for y in 0..<h {
            let sy = spanY[y], row = y * w
            for x in 0..<w { O[row + x] = spanX[x] * sy }
        }
    }
    return out
}

/// A dense displacement field: for each pixel of the reference image, where it is found in the other image.
struct FlowField: Sendable {
    let width: Int
    let height: Int
    var u: [Float]
    var v: [Float]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        u = [Float](repeating: 0, count: width * height)
        v = u
    }

    /// Doubles the resolution (bilinear-ish: nearest parent, values ×2) to `width` × `height`.
    func upscaled(width nw: Int, height nh: Int) -> FlowField {
        FlowField(width: nw, height: nh,
                  u: Self.resampled(u, width: width, height: height, to: nw, nh, times: Float(nw) / Float(width)),
                  v: Self.resampled(v, width: width, height: height, to: nw, nh, times: Float(nh) / Float(height)))
    }

    init(width: Int, height: Int, u: [Float], v: [Float]) {
        self.width = width
        self.height = height
        self.u = u
        self.v = v
    }

    /// `values` (`width` × `height`) resampled bilinearly to `nw` × `nh` (pixel centres aligned, edges
    /// clamped), times `factor`. Each source row is interpolated along x once, into the output's columns;
    /// each output row then blends two of those rows (a loop that vectorises). The same operations in the
    /// same order as interpolating each output pixel from its four taps: the same values to the bit.
    static func resampled(_ values: [Float], width: Int, height: Int, to nw: Int, _ nh: Int, times factor: Float) -> [Float] {
        guard width > 0, height > 0 else { return [Float](repeating: 0, count: nw * nh) }
        let sx = Float(width) / Float(nw), sy = Float(height) / Float(nh)
        // Each column's source columns and weight, once.
        var col0 = [Int](repeating: 0, count: nw), col1 = col0, colW = [Float](repeating: 0, count: nw)
        for x in 0..<nw {
            let px = max(0, min(Float(width - 1), (Float(x) + 0.5) * sx - 0.5))
            col0[x] = Int(px); col1[x] = min(width - 1, col0[x] + 1); colW[x] = px - Float(col0[x])
        }
        let rows = values.withUnsafeBufferPointer { S in
            col0.withUnsafeBufferPointer { C0 in
            col1.withUnsafeBufferPointer { C1 in
            colW.withUnsafeBufferPointer { CW in
                filledFloats(height * nw) { R in
                    for y in 0..<height {
                        let s = S.baseAddress! + y * width, r = R.baseAddress! + y * nw
                        for x in 0..<nw {
                            let wx = CW[x]
                            r[x] = s[C0[x]] * (1 - wx) + s[C1[x]] * wx
                        }
                    }
                }
            }}}
        }
        return rows.withUnsafeBufferPointer { R in
            filledFloats(nw * nh) { O in
                for y in 0..<nh {
                    let py = max(0, min(Float(height - 1), (Float(y) + 0.5) * sy - 0.5))
                    let y0 = Int(py), y1 = min(height - 1, y0 + 1), wy = py - Float(y0)
                    let a = R.baseAddress! + y0 * nw, b = R.baseAddress! + y1 * nw, o = O.baseAddress! + y * nw
                    for x in 0..<nw { o[x] = (a[x] * (1 - wy) + b[x] * wy) * factor }
                }
            }
        }
    }
}

/// A grey pyramid, finest level first.
struct FlowPyramid: Sendable {
    let levels: [GreyImage]

    init(_ img: RGBImage, minSide: Int = 24, maxLevels: Int = 5) {
        var lv = [GreyImage(img).smoothed()]
        while lv.count < maxLevels, let last = lv.last, min(last.width, last.height) / 2 >= minSide {
            lv.append(last.halved())
        }
        levels = lv
    }
}

/// Dense pyramidal Lucas–Kanade flow (coarse to fine, structure tensor of the reference image summed over
/// a box window, Tikhonov-regularised so flat areas keep the coarser estimate, light smoothing of the
/// field between iterations).
struct DenseFlow: Sendable {
    var radius: Int = 3
    var iterations: Int = 3
    var regularisation: Float = 200
    var smoothRadius: Int = 2
    /// Finest pyramid level refined (0 = full resolution); finer levels get the upscaled field.
    var finestLevel: Int = 1

    /// Flow from `reference` to `target`: `reference(x) ≈ target(x + flow(x))`.
    func compute(from reference: FlowPyramid, to target: FlowPyramid) -> FlowField {
        let nl = min(reference.levels.count, target.levels.count)
        var flow: FlowField? = nil
        let finest = min(max(0, finestLevel), nl - 1)
        for l in stride(from: nl - 1, through: finest, by: -1) {
            let i0 = reference.levels[l], i1 = target.levels[l]
            var f = flow.map { $0.upscaled(width: i0.width, height: i0.height) } ?? FlowField(width: i0.width, height: i0.height)
            refine(&f, i0, i1, iterations: l == nl - 1 ? iterations + 2 : iterations)
            flow = f
        }
        guard let flow else { return FlowField(width: 0, height: 0) }
        let full = reference.levels[0]
        return finest == 0 ? flow : flow.upscaled(width: full.width, height: full.height)
    }

    private func refine(_ f: inout FlowField, _ i0: GreyImage, _ i1: GreyImage, iterations: Int) {
        let w = i0.width, h = i0.height, n = w * h
        if n == 0 { return }
        var ix = [Float](repeating: 0, count: n), iy = ix
        var sxx = ix, sxy = ix, syy = ix, bx = ix, by = ix, tmp = ix, buf = ix, buf2 = ix
        let lam = regularisation * Float((2 * radius + 1) * (2 * radius + 1)) / 49
        let population = windowPopulation(width: w, height: h, radius: smoothRadius)
        i0.data.withUnsafeBufferPointer { I0 in
        i1.data.withUnsafeBufferPointer { I1 in
        ix.withUnsafeMutableBufferPointer { IX in
        iy.withUnsafeMutableBufferPointer { IY in
        sxx.withUnsafeMutableBufferPointer { SXX in
        sxy.withUnsafeMutableBufferPointer { SXY in
        syy.withUnsafeMutableBufferPointer { SYY in
        bx.withUnsafeMutableBufferPointer { BX in
        by.withUnsafeMutableBufferPointer { BY in
        tmp.withUnsafeMutableBufferPointer { T in
        buf.withUnsafeMutableBufferPointer { B in
        buf2.withUnsafeMutableBufferPointer { B2 in
        f.u.withUnsafeMutableBufferPointer { U in
        f.v.withUnsafeMutableBufferPointer { V in
            // Gradients of the reference.
            centralDifferences(I0, IX, IY, width: w, height: h)
            for p in 0..<n { B[p] = IX[p] * IX[p] }
            boxSum(UnsafeBufferPointer(B), SXX, T, width: w, height: h, radius: radius)
            for p in 0..<n { B[p] = IX[p] * IY[p] }
            boxSum(UnsafeBufferPointer(B), SXY, T, width: w, height: h, radius: radius)
            for p in 0..<n { B[p] = IY[p] * IY[p] }
            boxSum(UnsafeBufferPointer(B), SYY, T, width: w, height: h, radius: radius)
            for _ in 0..<iterations {
                warpedDifference(I0, I1, U, V, IX, IY, B, B2, width: w, height: h)
                boxSum(UnsafeBufferPointer(B), BX, T, width: w, height: h, radius: radius)
                boxSum(UnsafeBufferPointer(B2), BY, T, width: w, height: h, radius: radius)
                for p in 0..<n {
                    let a = SXX[p] + lam, c = SYY[p] + lam, b = SXY[p]
                    let det = a * c - b * b
                    let du = -(c * BX[p] - b * BY[p]) / det
                    let dv = -(a * BY[p] - b * BX[p]) / det
                    U[p] += max(-2, min(2, du))
                    V[p] += max(-2, min(2, dv))
                }
                // Light smoothing of the field (box mean; `population` holds each window's pixel count).
                if smoothRadius > 0 {
                    boxSum(UnsafeBufferPointer(U), BX, T, width: w, height: h, radius: smoothRadius)
                    for p in 0..<n { U[p] = BX[p] / population[p] }
                    boxSum(UnsafeBufferPointer(V), BX, T, width: w, height: h, radius: smoothRadius)
                    for p in 0..<n { V[p] = BX[p] / population[p] }
                }
            }
        }}}}}}}}}}}}}}
    }
}

/// The temporal difference against the target `i1` warped by the flow (`u`, `v`; bilinear, positions
/// clamped to the image) minus the reference `i0`, times the reference's gradients: `bx = gx · it`,
/// `by = gy · it`. A function of its own over plain pointers: inlined in the solver's nest of buffer
/// closures, the loop reloaded its pointers from the stack at every pixel. Eight pixels at a time: the
/// vector operations are generic calls when unoptimised, which is why RotoVision is built with `-O` in
/// debug builds too (Package.swift).
@inline(never)
func warpedDifference(_ i0: UnsafeBufferPointer<Float>, _ i1: UnsafeBufferPointer<Float>,
                      _ u: UnsafeMutableBufferPointer<Float>, _ v: UnsafeMutableBufferPointer<Float>,
                      _ gx: UnsafeMutableBufferPointer<Float>, _ gy: UnsafeMutableBufferPointer<Float>,
                      _ bx: UnsafeMutableBufferPointer<Float>, _ by: UnsafeMutableBufferPointer<Float>,
                      width w: Int, height h: Int) {
    guard w > 0, h > 0, let I0 = i0.baseAddress, let I1 = i1.baseAddress, let U = u.baseAddress,
          let V = v.baseAddress, let GX = gx.baseAddress, let GY = gy.baseAddress, let BX = bx.baseAddress,
          let BY = by.baseAddress else { return }
    let maxX = Float(w - 1), maxY = Float(h - 1)
    // Eight pixels at a time: the same operations in the same order on each lane as the pixel loop below
    // (the same values to the bit), the four taps gathered lane by lane.
    typealias F8 = SIMD8<Float>
    typealias I8 = SIMD8<Int32>
    let lanes = F8(0, 1, 2, 3, 4, 5, 6, 7)
    let lastX = I8(repeating: Int32(w - 1)), lastY = I8(repeating: Int32(h - 1)), stride = I8(repeating: Int32(w))
    // What `Int(x)` and `Float(Int(x))` give for 0 ≤ x < 2²³, without the standard library's generic
    // vector conversions (not specialised: they cost more than the loop): x + 2²³ − 2²³ is the nearest
    // integer, less one where that is above x; and an integer n < 2²³ is the low mantissa bits of n + 2²³.
    let magic = F8(repeating: 8_388_608)
    @inline(__always) func floorOfNonNegative(_ x: F8) -> F8 {
        let nearest: F8 = (x + magic) - magic
        return nearest - F8(repeating: 0).replacing(with: 1, where: nearest .> x)
    }
    @inline(__always) func integers(_ n: F8) -> I8 {
        unsafeBitCast(n + magic, to: I8.self) & I8(repeating: 0x7F_FFFF)
    }
    // `Swift.max(a, b)` and `Swift.min(a, b)` lane by lane, to the bit: the standard library's
    // `pointwiseMax` / `pointwiseMin` are generic and stayed calls of their own (about a quarter of the
    // warp's time in a `perf` profile of a preview).
    @inline(__always) func lanewiseMax(_ a: F8, _ b: F8) -> F8 { a.replacing(with: b, where: b .>= a) }
    @inline(__always) func lanewiseMin(_ a: F8, _ b: F8) -> F8 { a.replacing(with: b, where: b .< a) }
    @inline(__always) func lanewiseMin(_ a: I8, _ b: I8) -> I8 { a.replacing(with: b, where: b .< a) }
    @inline(__always) func load(_ q: UnsafeMutablePointer<Float>) -> F8 { UnsafeRawPointer(q).loadUnaligned(as: F8.self) }
    @inline(__always) func store(_ value: F8, _ q: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(q).storeBytes(of: value, as: F8.self)
    }
    for y in 0..<h {
        let r = y * w
        let fy = Float(y)
        var x = 0
        while x + 8 <= w {
            let p = r + x
            let px: F8 = F8(repeating: Float(x)) + lanes + load(U + p)
            let py: F8 = F8(repeating: fy) + load(V + p)
            let sx: F8 = lanewiseMin(lanewiseMax(px, F8()), F8(repeating: maxX))
            let sy: F8 = lanewiseMin(lanewiseMax(py, F8()), F8(repeating: maxY))
            let fx = floorOfNonNegative(sx), fy8 = floorOfNonNegative(sy)
            let x0 = integers(fx), y0 = integers(fy8)
            let x1: I8 = lanewiseMin(x0 &+ 1, lastX), y1: I8 = lanewiseMin(y0 &+ 1, lastY)
            let ax: F8 = sx - fx, ay: F8 = sy - fy8
            let ra: I8 = y0 &* stride, rb: I8 = y1 &* stride
            let a0: I8 = ra &+ x0, a1: I8 = ra &+ x1, b0: I8 = rb &+ x0, b1: I8 = rb &+ x1
            var t00 = F8(), t01 = F8(), t10 = F8(), t11 = F8()
            for k in 0..<8 {
                t00[k] = I1[Int(a0[k])]; t01[k] = I1[Int(a1[k])]; t10[k] = I1[Int(b0[k])]; t11[k] = I1[Int(b1[k])]
            }
            let bx: F8 = 1 - ax, byy: F8 = 1 - ay
            let top: F8 = t00 * bx + t01 * ax, bottom: F8 = t10 * bx + t11 * ax
            let val: F8 = top * byy + bottom * ay
            let it: F8 = val - UnsafeRawPointer(I0 + p).loadUnaligned(as: F8.self)
            store(load(GX + p) * it, BX + p)
            store(load(GY + p) * it, BY + p)
            x += 8
        }
        while x < w {
            defer { x += 1 }
            let p = r + x
            let sx = min(max(Float(x) + U[p], 0), maxX), sy = min(max(fy + V[p], 0), maxY)
            let x0 = Int(sx), y0 = Int(sy)
            let x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
            let ax = sx - Float(x0), ay = sy - Float(y0)
            let a = I1 + y0 * w, b = I1 + y1 * w
            let val = (a[x0] * (1 - ax) + a[x1] * ax) * (1 - ay) + (b[x0] * (1 - ax) + b[x1] * ax) * ay
            let it = val - I0[p]
            BX[p] = GX[p] * it
            BY[p] = GY[p] * it
        }
    }
}

/// The grey-level gradients of `image` (`width` × `height`) by central differences, edges clamped.
func centralDifferences(_ image: UnsafeBufferPointer<Float>, _ gx: UnsafeMutableBufferPointer<Float>,
                        _ gy: UnsafeMutableBufferPointer<Float>, width w: Int, height h: Int) {
    for y in 0..<h {
        let r = y * w, up = max(0, y - 1) * w, dn = min(h - 1, y + 1) * w
        for x in 0..<w {
            gx[r + x] = 0.5 * (image[r + min(w - 1, x + 1)] - image[r + max(0, x - 1)])
            gy[r + x] = 0.5 * (image[dn + x] - image[up + x])
        }
    }
}

/// How far the flow of each pixel of `image` can be trusted, 0…1: t / (t + `floor`), t the smaller
/// eigenvalue of the mean structure tensor of the grey levels over a (2·`radius` + 1)² window — the
/// flow of a flat, textureless area is only what the flow's smoothing carried in from around it.
/// Measured over `region` of the frame (row-major, the region's size; the whole frame when nil): the
/// values are the whole frame's there, to the bit, whatever the region. The grey levels are whole
/// numbers (0…255) and the window sums exact integers, and the gradients and windows stop at the frame's
/// border, not the region's.
func flowTrust(_ image: RGBImage, radius r: Int, floor: Float,
               region: PixelRect? = nil) -> [Float] {
    let fw = image.width, fh = image.height
    let region = region ?? (0, 0, fw, fh)
    precondition(region.x >= 0 && region.y >= 0 && region.width >= 0 && region.height >= 0
                 && region.x + region.width <= fw && region.y + region.height <= fh, "flowTrust: region outside the frame")
    precondition(r >= 0 && r < 90, "flowTrust: radius \(r) out of 0…89 (the window sums are 32-bit)")
    let n = region.width * region.height
    guard n > 0 else { return [] }
    // The gradients the region's windows read (the region grown by the radius, within the frame), and the
    // grey levels those read (one pixel further).
    let gx0 = max(0, region.x - r), gy0 = max(0, region.y - r)
    let gw = min(fw, region.x + region.width + r) - gx0, gh = min(fh, region.y + region.height + r) - gy0
    let ex0 = max(0, gx0 - 1), ey0 = max(0, gy0 - 1)
    let ew = min(fw, gx0 + gw + 1) - ex0, eh = min(fh, gy0 + gh + 1) - ey0
    var grey = [Int32](repeating: 0, count: ew * eh)
    image.pixels.withUnsafeBufferPointer { px in
        grey.withUnsafeMutableBufferPointer { g in
            for y in 0..<eh {
                let src = 3 * ((ey0 + y) * fw + ex0), row = y * ew
                for x in 0..<ew {
                    let q = src + 3 * x
                    g[row + x] = (77 * Int32(px[q]) + 150 * Int32(px[q + 1]) + 29 * Int32(px[q + 2]) + 128) >> 8
                }
            }
        }
    }
    // Per row of gradients, the horizontal window sums of the products of twice the central differences
    // (edges clamped to the frame); |products| ≤ 255², so the sums fit 32 bits for any radius below 90.
    // The windows clamp to the gradients' rectangle, which for the region's pixels is where the frame
    // clamps them.
    let m = gw * gh
    var hxx = [Int32](repeating: 0, count: m), hxy = hxx, hyy = hxx
    var rows = [Int32](repeating: 0, count: 5 * gw)  // one row's differences and products
    grey.withUnsafeBufferPointer { g in
    hxx.withUnsafeMutableBufferPointer { XX in
    hxy.withUnsafeMutableBufferPointer { XY in
    hyy.withUnsafeMutableBufferPointer { YY in
    rows.withUnsafeMutableBufferPointer { R in
        guard let g = g.baseAddress, let R = R.baseAddress else { return }
        let dx = R, dy = R + gw, pxx = R + 2 * gw, pxy = R + 3 * gw, pyy = R + 4 * gw
        for y in 0..<gh {
            let fy = gy0 + y
            let up = g + (max(0, fy - 1) - ey0) * ew - ex0, dn = g + (min(fh - 1, fy + 1) - ey0) * ew - ex0
            let row = g + (fy - ey0) * ew - ex0
            for x in 0..<gw {
                let fx = gx0 + x
                dx[x] = row[min(fw - 1, fx + 1)] &- row[max(0, fx - 1)]
                dy[x] = dn[fx] &- up[fx]
            }
            for x in 0..<gw { pxx[x] = dx[x] &* dx[x]; pxy[x] = dx[x] &* dy[x]; pyy[x] = dy[x] &* dy[x] }
            // Three running sums side by side (independent chains).
            let o = y * gw
            var sxx: Int32 = 0, sxy: Int32 = 0, syy: Int32 = 0
            for x in 0..<min(r, gw) { sxx &+= pxx[x]; sxy &+= pxy[x]; syy &+= pyy[x] }
            for x in 0..<gw {
                let add = x + r, sub = x - r - 1
                if add < gw { sxx &+= pxx[add]; sxy &+= pxy[add]; syy &+= pyy[add] }
                if sub >= 0 { sxx &-= pxx[sub]; sxy &-= pxy[sub]; syy &-= pyy[sub] }
                XX[o + x] = sxx; XY[o + x] = sxy; YY[o + x] = syy
            }
        }
    }}}}}
    // Vertically, a running sum over the rows (whole rows at a time), read at the region's rows and columns.
    let spanX = windowSpans(fw, radius: r), spanY = windowSpans(fh, radius: r)
    let cx = region.x - gx0
    let inverseSpanX = (0..<region.width).map { 1 / (4 * spanX[region.x + $0]) }  // (the differences are twice the gradients)
    var sums = [Int32](repeating: 0, count: 3 * gw)
    return hxx.withUnsafeBufferPointer { XX in
    hxy.withUnsafeBufferPointer { XY in
    hyy.withUnsafeBufferPointer { YY in
    sums.withUnsafeMutableBufferPointer { S in
    inverseSpanX.withUnsafeBufferPointer { ISX in
        filledFloats(n) { O in
            guard let xx = XX.baseAddress, let xy = XY.baseAddress, let yy = YY.baseAddress, let S = S.baseAddress,
                  let isx = ISX.baseAddress, let O = O.baseAddress else { return }
            let vxx = S, vxy = S + gw, vyy = S + 2 * gw
            // Eight columns at a time (whole rows through pointers), the rest one by one.
            typealias I8 = SIMD8<Int32>
            typealias F8 = SIMD8<Float>
            @inline(__always) func step(_ row: Int, _ sign: Int32) {
                @inline(__always) func line(_ v: UnsafeMutablePointer<Int32>, _ h: UnsafePointer<Int32>) {
                    var x = 0
                    while x + 8 <= gw {
                        let sum = UnsafeRawPointer(v + x).loadUnaligned(as: I8.self)
                            &+ I8(repeating: sign) &* UnsafeRawPointer(h + x).loadUnaligned(as: I8.self)
                        UnsafeMutableRawPointer(v + x).storeBytes(of: sum, as: I8.self)
                        x += 8
                    }
                    while x < gw { v[x] &+= sign &* h[x]; x += 1 }
                }
                let o = row * gw
                line(vxx, xx + o); line(vxy, xy + o); line(vyy, yy + o)
            }
            // t / (t + floor) from the window's sums, the same operations in the same order on a lane as on
            // a pixel alone (the same values to the bit). The products are of twice the gradients.
            let half = F8(repeating: 0.5), quarter = F8(repeating: 0.25), floors = F8(repeating: floor)
            let top = region.y - gy0  // the region's first row, among the gradients' rows
            // (Rows top − r − 1 … top + r − 1: the first step adds row top + r and takes the first away.)
            for row in max(0, top - r - 1)..<min(gh, top + r) { step(row, 1) }
            for y in 0..<region.height {
                let row = top + y
                if row + r < gh { step(row + r, 1) }
                if row - r - 1 >= 0 { step(row - r - 1, -1) }
                let isy = 1 / spanY[region.y + y], out = O + y * region.width
                let sxx = vxx + cx, sxy = vxy + cx, syy = vyy + cx
                var x = 0
                while x + 8 <= region.width {
                    var a = F8(), b = F8(), c = F8()
                    for k in 0..<8 { a[k] = Float(sxx[x + k]); b[k] = Float(sxy[x + k]); c[k] = Float(syy[x + k]) }
                    let scale = UnsafeRawPointer(isx + x).loadUnaligned(as: F8.self) * isy
                    a *= scale; b *= scale; c *= scale
                    let d = a - c
                    let t0 = half * (a + c) - (quarter * d * d + b * b).squareRoot()
                    let t = t0.replacing(with: 0, where: .!(t0 .>= 0))
                    UnsafeMutableRawPointer(out + x).storeBytes(of: t / (t + floors), as: F8.self)
                    x += 8
                }
                while x < region.width {
                    let scale = isx[x] * isy
                    let a = Float(sxx[x]) * scale, b = Float(sxy[x]) * scale, c = Float(syy[x]) * scale
                    let d = a - c
                    let t0 = 0.5 * (a + c) - (0.25 * d * d + b * b).squareRoot()
                    let t = t0 >= 0 ? t0 : 0
                    out[x] = t / (t + floor)
                    x += 1
                }
            }
        }
    }}}}}
}

/// `count` floats, each written by `fill` before the array is returned (`fill` must write every one:
/// the memory is not zeroed first).
@inline(__always)
func filledFloats(_ count: Int, _ fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        fill(buffer)
        initialized = count
    }
}
