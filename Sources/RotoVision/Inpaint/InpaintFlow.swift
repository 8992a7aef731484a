#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How removal completes the background motion inside the hole (where the object's own motion, not
/// the background's, was measured).
public enum FlowCompletion: String, Sendable, Equatable, CaseIterable {
    /// Smooth interpolation of the measured flow from the hole's surroundings (push–pull).
    case diffusion
    /// A homography fitted robustly to the flow outside the hole (camera motion of a planar scene).
    case homography
    /// The homography plus the smoothly interpolated residual of the measured flow around the hole.
    case hybrid
    /// Decided once per clip: the homography where one explains the measured flow around the holes
    /// (a far or planar scene), diffusion where it does not (parallax: the scene has depth).
    case adaptive
}

/// The completed flow of one frame towards a neighbour, kept only over the box (at flow resolution)
/// that the frame's hole pixels sample from.
struct FlowCrop: Sendable {
    /// Box origin and size at flow resolution.
    let x0: Int, y0: Int, width: Int, height: Int
    /// Working-resolution pixels per flow pixel (horizontal, vertical).
    let scaleX: Float, scaleY: Float
    /// Displacements in working-resolution pixels, row-major over the box.
    var u: [Float]
    var v: [Float]
}

/// Motion estimation for removal: dense LK flow at reduced resolution, completed inside the hole.
struct InpaintFlow: Sendable {
    var engine: DenseFlow
    var completion: FlowCompletion
    /// Flow pixels added around the hole (both frames') before completion: the LK window and the
    /// field smoothing spread the object's motion this far.
    var margin: Int

    /// Flow from `reference` to `target` (`reference(x) ≈ target(x + f(x))`), with the flow inside
    /// `unknown` (1 = the hole of either frame, dilated) replaced by the completed background motion,
    /// cropped to `box` (flow resolution) and scaled to working-resolution pixels.
    func completed(from reference: FlowPyramid, to target: FlowPyramid, unknown: [UInt8],
                   box: PixelRect, scaleX: Float, scaleY: Float) -> FlowCrop {
        var f = engine.compute(from: reference, to: target)
        let w = f.width, h = f.height
        complete(&f, unknown: unknown)
        var u = [Float](repeating: 0, count: box.width * box.height), v = u
        f.u.withUnsafeBufferPointer { U in
            f.v.withUnsafeBufferPointer { V in
                u.withUnsafeMutableBufferPointer { CU in
                    v.withUnsafeMutableBufferPointer { CV in
                        for y in 0..<box.height {
                            let sy = min(h - 1, box.y + y)
                            for x in 0..<box.width {
                                let sx = min(w - 1, box.x + x)
                                CU[y * box.width + x] = U[sy * w + sx] * scaleX
                                CV[y * box.width + x] = V[sy * w + sx] * scaleY
                            }
                        }
                    }
                }
            }
        }
        return FlowCrop(x0: box.x, y0: box.y, width: box.width, height: box.height, scaleX: scaleX, scaleY: scaleY, u: u, v: v)
    }

    /// The median distance (flow pixels) between the flow `engine` measures from `reference` to `target`
    /// outside `unknown` and the homography fitted to it; nil when too little is known to fit one.
    static func homographyResidual(engine: DenseFlow, from reference: FlowPyramid, to target: FlowPyramid,
                                   unknown: [UInt8]) -> Float? {
        let f = engine.compute(from: reference, to: target)
        let known = unknown.map { $0 == 0 ? Float(1) : 0 }
        return Homography.fit(f, known: known)?.medianResidual(f, known: known)
    }

    /// Replaces the flow inside `unknown` by the completed background motion (`.adaptive` must have been
    /// decided into one of the others first).
    func complete(_ f: inout FlowField, unknown: [UInt8]) {
        let w = f.width, h = f.height, n = w * h
        var known = [Float](repeating: 0, count: n)
        var anyKnown = false, anyUnknown = false
        unknown.withUnsafeBufferPointer { U in
            known.withUnsafeMutableBufferPointer { K in
                for p in 0..<n { K[p] = U[p] == 0 ? 1 : 0 }
                anyUnknown = U.contains(1)
                anyKnown = U.contains(0)
            }
        }
        if !anyUnknown { return }
        if !anyKnown {
            f.u = [Float](repeating: 0, count: n)
            f.v = f.u
            return
        }
        precondition(completion != .adaptive, "InpaintFlow: decide .adaptive before completing")
        var model: Homography? = nil
        if completion != .diffusion { model = Homography.fit(f, known: known) }
        // Residual of the measured flow against the model (the model itself for pure homography).
        var field = [Float](repeating: 0, count: 2 * n)
        f.u.withUnsafeBufferPointer { U in
            f.v.withUnsafeBufferPointer { V in
                field.withUnsafeMutableBufferPointer { F in
                    for y in 0..<h {
                        for x in 0..<w {
                            let p = y * w + x
                            var mu: Float = 0, mv: Float = 0
                            if let model { (mu, mv) = model.displacement(Float(x), Float(y)) }
                            F[2 * p] = U[p] - mu
                            F[2 * p + 1] = V[p] - mv
                        }
                    }
                }
            }
        }
        if completion != .homography {
            PushPull.fill(&field, known: known, width: w, height: h, channels: 2)
        }
        field.withUnsafeBufferPointer { F in
            unknown.withUnsafeBufferPointer { Un in
                f.u.withUnsafeMutableBufferPointer { U in
                    f.v.withUnsafeMutableBufferPointer { V in
                        for y in 0..<h {
                            for x in 0..<w {
                                let p = y * w + x
                                if Un[p] == 0 { continue }
                                var mu: Float = 0, mv: Float = 0
                                if let model { (mu, mv) = model.displacement(Float(x), Float(y)) }
                                if completion == .homography {
                                    U[p] = mu
                                    V[p] = mv
                                } else {
                                    U[p] = mu + F[2 * p]
                                    V[p] = mv + F[2 * p + 1]
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A plane projective map in pixel coordinates, fitted to a flow field by iteratively reweighted
/// least squares (algebraic DLT error, Cauchy weights on the geometric residual).
struct Homography: Sendable {
    /// Row-major 3×3 with h[8] = 1, in normalised coordinates (centre 0, half-extent 1).
    var h: [Double]
    let cx: Double, cy: Double, s: Double

    /// Displacement of pixel (x, y): H(x) − x, in pixels.
    @inline(__always) func displacement(_ x: Float, _ y: Float) -> (Float, Float) {
        let xn = (Double(x) - cx) / s, yn = (Double(y) - cy) / s
        let d = h[6] * xn + h[7] * yn + 1
        let px = (h[0] * xn + h[1] * yn + h[2]) / d, py = (h[3] * xn + h[4] * yn + h[5]) / d
        return (Float(px * s + cx) - x, Float(py * s + cy) - y)
    }

    /// Median end-point distance between the flow and the map at known pixels (every other pixel).
    func medianResidual(_ f: FlowField, known: [Float]) -> Float {
        let w = f.width, h = f.height
        var r: [Float] = []
        for y in stride(from: 0, to: h, by: 2) {
            for x in stride(from: 0, to: w, by: 2) where known[y * w + x] > 0 {
                let (mu, mv) = displacement(Float(x), Float(y))
                let du = f.u[y * w + x] - mu, dv = f.v[y * w + x] - mv
                r.append((du * du + dv * dv).squareRoot())
            }
        }
        return upperMedian(&r) ?? 0
    }

    /// Fits to the flow at known pixels (sampled every other pixel); nil when too few samples.
    static func fit(_ f: FlowField, known: [Float], iterations: Int = 5, sigma: Double = 1) -> Homography? {
        let w = f.width, h = f.height
        let cx = Double(w - 1) / 2, cy = Double(h - 1) / 2, s = Double(max(w, h)) / 2
        var xs: [Double] = [], ys: [Double] = [], tx: [Double] = [], ty: [Double] = []
        f.u.withUnsafeBufferPointer { U in
            f.v.withUnsafeBufferPointer { V in
                known.withUnsafeBufferPointer { K in
                    for y in stride(from: 0, to: h, by: 2) {
                        for x in stride(from: 0, to: w, by: 2) where K[y * w + x] > 0 {
                            let p = y * w + x
                            xs.append((Double(x) - cx) / s); ys.append((Double(y) - cy) / s)
                            tx.append((Double(x) + Double(U[p]) - cx) / s); ty.append((Double(y) + Double(V[p]) - cy) / s)
                        }
                    }
                }
            }
        }
        return fit(xs: xs, ys: ys, tx: tx, ty: ty, cx: cx, cy: cy, s: s, iterations: iterations, sigma: sigma)
    }

    /// Fits to correspondences (x, y) → (tx, ty) given in normalised coordinates (centre (`cx`, `cy`),
    /// half-extent `s`); nil when too few.
    static func fit(xs: [Double], ys: [Double], tx: [Double], ty: [Double], cx: Double, cy: Double, s: Double,
                    iterations: Int = 5, sigma: Double = 1) -> Homography? {
        let m = xs.count
        if m < 16 { return nil }
        var wt = [Double](repeating: 1, count: m)
        var model = Homography(h: [1, 0, 0, 0, 1, 0, 0, 0, 1], cx: cx, cy: cy, s: s)
        let sig = sigma / s
        for _ in 0..<iterations {
            // The normal equations of the two rows per correspondence, (x, y, 1, 0, 0, 0, −xu, −yu) = u
            // and (0, 0, 0, x, y, 1, −xv, −yv) = v, weighted, assembled from weighted moments: with
            // p = (x, y, 1), q = (x, y) and r² = u² + v², AᵀA = [Σpp'  0  −Σu pq' ; 0  Σpp'  −Σv pq' ;
            // ·  ·  Σr² qq'] and Aᵀb = (Σu p, Σv p, −Σr² q).
            var pp = SIMD8<Double>.zero    // xx, xy, x, yy, y, 1
            var up = SIMD8<Double>.zero    // u·(xx, xy, x, yy, y, 1)
            var vp = SIMD8<Double>.zero    // v·(xx, xy, x, yy, y, 1)
            var rq = SIMD8<Double>.zero    // r²·(xx, xy, yy, x, y)
            for i in 0..<m {
                let x = xs[i], y = ys[i], u = tx[i], v = ty[i], c = wt[i]
                let moments = c * SIMD8<Double>(x * x, x * y, x, y * y, y, 1, 0, 0)
                pp += moments
                up += u * moments
                vp += v * moments
                rq += c * (u * u + v * v) * SIMD8<Double>(x * x, x * y, y * y, x, y, 0, 0, 0)
            }
            var ata = [Double](repeating: 0, count: 64), atb = [Double](repeating: 0, count: 8)
            // Σpp' as a 3×3 from (xx, xy, x, yy, y, 1), and Σu pq' (3×2) from u·(xx, xy, x, yy, y).
            let p3: [[Double]] = [[pp[0], pp[1], pp[2]], [pp[1], pp[3], pp[4]], [pp[2], pp[4], pp[5]]]
            let uq: [[Double]] = [[up[0], up[1]], [up[1], up[3]], [up[2], up[4]]]
            let vq: [[Double]] = [[vp[0], vp[1]], [vp[1], vp[3]], [vp[2], vp[4]]]
            for a in 0..<3 {
                for b in 0..<3 { ata[a * 8 + b] = p3[a][b]; ata[(a + 3) * 8 + b + 3] = p3[a][b] }
                for b in 0..<2 { ata[a * 8 + 6 + b] = -uq[a][b]; ata[(a + 3) * 8 + 6 + b] = -vq[a][b] }
            }
            ata[6 * 8 + 6] = rq[0]; ata[6 * 8 + 7] = rq[1]; ata[7 * 8 + 7] = rq[2]
            atb[0] = up[2]; atb[1] = up[4]; atb[2] = up[5]
            atb[3] = vp[2]; atb[4] = vp[4]; atb[5] = vp[5]
            atb[6] = -rq[3]; atb[7] = -rq[4]
            for a in 0..<8 { for b in 0..<a { ata[a * 8 + b] = ata[b * 8 + a] } }
            // Slight ridge towards the identity keeps a degenerate (e.g. one-sided) sample set sane.
            let ridge = 1e-6 * Double(m)
            let ident: [Double] = [1, 0, 0, 0, 1, 0, 0, 0]
            for a in 0..<8 { ata[a * 8 + a] += ridge; atb[a] += ridge * ident[a] }
            guard let sol = solve8(ata, atb) else { return model.h == [1, 0, 0, 0, 1, 0, 0, 0, 1] ? nil : model }
            model.h = sol + [1]
            // Cauchy weights on the geometric residual.
            let hh = model.h
            for i in 0..<m {
                let x = xs[i], y = ys[i]
                let d = hh[6] * x + hh[7] * y + 1
                let px = (hh[0] * x + hh[1] * y + hh[2]) / d, py = (hh[3] * x + hh[4] * y + hh[5]) / d
                let ex = px - tx[i], ey = py - ty[i]
                let r2 = (ex * ex + ey * ey) / (sig * sig)
                wt[i] = 1 / (1 + r2)
            }
        }
        return model
    }

    /// Gaussian elimination with partial pivoting on an 8×8 system.
    static func solve8(_ a: [Double], _ b: [Double]) -> [Double]? {
        var m = a, r = b
        for col in 0..<8 {
            var piv = col
            for i in (col + 1)..<8 where abs(m[i * 8 + col]) > abs(m[piv * 8 + col]) { piv = i }
            if abs(m[piv * 8 + col]) < 1e-12 { return nil }
            if piv != col {
                for k in 0..<8 { m.swapAt(col * 8 + k, piv * 8 + k) }
                r.swapAt(col, piv)
            }
            let d = m[col * 8 + col]
            for i in (col + 1)..<8 {
                let fct = m[i * 8 + col] / d
                if fct == 0 { continue }
                for k in col..<8 { m[i * 8 + k] -= fct * m[col * 8 + k] }
                r[i] -= fct * r[col]
            }
        }
        var x = [Double](repeating: 0, count: 8)
        for i in stride(from: 7, through: 0, by: -1) {
            var s = r[i]
            for k in (i + 1)..<8 { s -= m[i * 8 + k] * x[k] }
            x[i] = s / m[i * 8 + i]
        }
        return x.allSatisfy { $0.isFinite } ? x : nil
    }
}
