@testable import RotoVision
import Testing

/// The flow's kernels written for speed give the same values to the bit as the plain per-pixel
/// computation they replaced (so the tracked masks do not move).
@Suite struct FlowKernelTests {
    static func values(_ count: Int, _ rng: inout SplitMix64, in range: ClosedRange<Float>) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &rng) }
    }

    /// The largest displacement along either axis, eight lanes at a time and the tail one by one, is the
    /// largest magnitude of the field's values, a NaN passed over (and 0 for an empty field).
    @Test(arguments: [0, 1, 7, 8, 13, 40])
    func maxMotionIsTheLargestMagnitude(count n: Int) {
        var rng = SplitMix64(seed: UInt64(n) + 100)
        var u = Self.values(n, &rng, in: -12...12), v = Self.values(n, &rng, in: -12...12)
        if n > 3 { u[2] = .nan; v[n - 1] = -0.0 }
        if n > 9 { v[9] = -31; u[n / 2] = .nan; v[n / 2] = 29 }
        // The largest beside a NaN in the tail the lanes leave (and for 7, in the only tail there is).
        if n % 8 != 0 && n > 1 { u[n - 1] = .nan; v[n - 1] = -40 }
        let expected = (u + v).filter { !$0.isNaN }.map(abs).max() ?? 0
        #expect(MaskTracker.maxMotion(FlowField(width: n, height: 1, u: u, v: v)) == expected)
    }

    /// Eight pixels at a time, and the tail one by one, against the bilinear warp pixel by pixel: flows
    /// that point outside the image, onto whole pixels and onto half pixels included.
    @Test(arguments: [1, 7, 8, 13, 33])
    func warpedDifferenceEqualsThePixelLoop(width w: Int) {
        var rng = SplitMix64(seed: UInt64(w))
        let h = 6, n = w * h
        let i0 = Self.values(n, &rng, in: 0...255), i1 = Self.values(n, &rng, in: 0...255)
        let gx = Self.values(n, &rng, in: -40...40), gy = Self.values(n, &rng, in: -40...40)
        func displacement() -> Float {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: Float(Int.random(in: -3...3, using: &rng))
            case 1: Float(Int.random(in: -3...3, using: &rng)) + 0.5
            case 2: Float.random(in: -30...30, using: &rng)
            default: Float.random(in: -2...2, using: &rng)
            }
        }
        var u = (0..<n).map { _ in displacement() }, v = (0..<n).map { _ in displacement() }
        var plainX = [Float](repeating: 0, count: n), plainY = plainX
        for y in 0..<h {
            for x in 0..<w {
                let p = y * w + x
                let sx = min(max(Float(x) + u[p], 0), Float(w - 1)), sy = min(max(Float(y) + v[p], 0), Float(h - 1))
                let x0 = Int(sx), y0 = Int(sy), x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
                let ax = sx - Float(x0), ay = sy - Float(y0)
                let val = (i1[y0 * w + x0] * (1 - ax) + i1[y0 * w + x1] * ax) * (1 - ay)
                    + (i1[y1 * w + x0] * (1 - ax) + i1[y1 * w + x1] * ax) * ay
                plainX[p] = gx[p] * (val - i0[p])
                plainY[p] = gy[p] * (val - i0[p])
            }
        }
        var gxm = gx, gym = gy, bx = [Float](repeating: 0, count: n), by = bx
        i0.withUnsafeBufferPointer { I0 in
        i1.withUnsafeBufferPointer { I1 in
        u.withUnsafeMutableBufferPointer { U in
        v.withUnsafeMutableBufferPointer { V in
        gxm.withUnsafeMutableBufferPointer { GX in
        gym.withUnsafeMutableBufferPointer { GY in
        bx.withUnsafeMutableBufferPointer { BX in
        by.withUnsafeMutableBufferPointer { BY in
            warpedDifference(I0, I1, U, V, GX, GY, BX, BY, width: w, height: h)
        }}}}}}}}
        #expect(bx.map(\.bitPattern) == plainX.map(\.bitPattern))
        #expect(by.map(\.bitPattern) == plainY.map(\.bitPattern))
    }

    /// Rows interpolated once and blended, against each output pixel from its four taps.
    @Test(arguments: [(1, 1, 3, 2), (7, 5, 14, 10), (8, 4, 17, 9), (40, 23, 80, 45)])
    func resampledEqualsTheFourTaps(_ size: (Int, Int, Int, Int)) {
        let (w, h, nw, nh) = size
        var rng = SplitMix64(seed: UInt64(w * 100 + h))
        let values = Self.values(w * h, &rng, in: -9...9)
        let sx = Float(w) / Float(nw), sy = Float(h) / Float(nh), factor = Float(nw) / Float(w)
        var plain = [Float](repeating: 0, count: nw * nh)
        for y in 0..<nh {
            let py = max(0, min(Float(h - 1), (Float(y) + 0.5) * sy - 0.5))
            let y0 = Int(py), y1 = min(h - 1, y0 + 1), wy = py - Float(y0)
            for x in 0..<nw {
                let px = max(0, min(Float(w - 1), (Float(x) + 0.5) * sx - 0.5))
                let x0 = Int(px), x1 = min(w - 1, x0 + 1), wx = px - Float(x0)
                let value = (values[y0 * w + x0] * (1 - wx) + values[y0 * w + x1] * wx) * (1 - wy)
                    + (values[y1 * w + x0] * (1 - wx) + values[y1 * w + x1] * wx) * wy
                plain[y * nw + x] = value * factor
            }
        }
        let fast = FlowField.resampled(values, width: w, height: h, to: nw, nh, times: factor)
        #expect(fast.map(\.bitPattern) == plain.map(\.bitPattern))
    }

    /// The 1-2-1 blur with its rows' ends apart, against clamping every neighbour.
    @Test(arguments: [1, 2, 3, 9])
    func smoothedEqualsTheClampedBlur(width w: Int) {
        var rng = SplitMix64(seed: UInt64(w))
        let h = 4
        let image = GreyImage(width: w, height: h, data: Self.values(w * h, &rng, in: 0...255))
        var row = [Float](repeating: 0, count: w * h), plain = row
        for y in 0..<h {
            for x in 0..<w {
                let s = image.data
                row[y * w + x] = 0.25 * (s[y * w + max(0, x - 1)] + 2 * s[y * w + x] + s[y * w + min(w - 1, x + 1)])
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                plain[y * w + x] = 0.25 * (row[max(0, y - 1) * w + x] + 2 * row[y * w + x] + row[min(h - 1, y + 1) * w + x])
            }
        }
        #expect(image.smoothed().data.map(\.bitPattern) == plain.map(\.bitPattern))
    }

    /// Running sums along rows four at a time, then down the columns, against the plain window sums.
    @Test(arguments: [1, 2, 5, 6, 11, 12])
    func boxSumEqualsThePlainWindows(width w: Int) {
        var rng = SplitMix64(seed: UInt64(w))
        let h = 9
        let source = Self.values(w * h, &rng, in: -100...100)
        for r in 0...6 {
            var plain = [Float](repeating: 0, count: w * h)
            for y in 0..<h {
                var acc: Float = 0
                for x in 0..<min(r, w) { acc += source[y * w + x] }
                for x in 0..<w {
                    if x + r < w { acc += source[y * w + x + r] }
                    if x - r - 1 >= 0 { acc -= source[y * w + x - r - 1] }
                    plain[y * w + x] = acc
                }
            }
            var column = plain
            for y in 0..<h {
                for x in 0..<w {
                    var acc: Float = 0
                    for yy in max(0, y - r)...min(h - 1, y + r) { acc += plain[yy * w + x] }
                    column[y * w + x] = acc
                }
            }
            var out = [Float](repeating: 0, count: w * h), tmp = out
            source.withUnsafeBufferPointer { S in
                out.withUnsafeMutableBufferPointer { O in
                    tmp.withUnsafeMutableBufferPointer { T in boxSum(S, O, T, width: w, height: h, radius: r) }
                }
            }
            // Along rows the sums are the same to the bit; the columns' running sums add in another
            // order than the plain window here, so they are compared within rounding.
            for p in 0..<(w * h) { #expect(abs(out[p] - column[p]) <= 1e-3, "radius \(r), pixel \(p)") }
            let rows = tmp.map(\.bitPattern)
            #expect(rows == plain.map(\.bitPattern), "radius \(r)")
        }
    }
}
