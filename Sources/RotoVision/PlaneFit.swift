/// Weighted least-squares fits of planes v ≈ c0 + c1·x + c2·y, one per channel of `values`, over samples
/// at (`x`, `y`) with `weights` (0 leaves a sample out): the 3×3 normal equations, shared by the
/// channels, solved by Cramer's rule. Nil when the weighted samples do not span a plane.
func fitPlanes(x: [Float], y: [Float], weights: [Float], values: [[Float]]) -> [[Double]]? {
    var s = [Double](repeating: 0, count: 9)
    var r = [[Double]](repeating: [0, 0, 0], count: values.count)
    for j in 0..<x.count where weights[j] > 0 {
        let w = Double(weights[j])
        let f = SIMD3<Double>(1, Double(x[j]), Double(y[j]))
        for a in 0..<3 {
            for b in 0..<3 { s[a * 3 + b] += w * f[a] * f[b] }
            for c in 0..<values.count { r[c][a] += w * f[a] * Double(values[c][j]) }
        }
    }
    func det(_ m: [Double]) -> Double {
        m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
    }
    let d = det(s)
    if !(abs(d) >= 1e-9 * max(1, s[0] * s[0] * s[0])) { return nil }
    return r.map { rc in
        (0..<3).map { col in
            var m = s
            for row in 0..<3 { m[row * 3 + col] = rc[row] }
            return det(m) / d
        }
    }
}
