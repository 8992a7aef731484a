/// SLIC superpixels (Achanta et al. 2012) over a Lab image, with connectivity enforcement.
struct Superpixels {
    let width: Int
    let height: Int
    /// Per-pixel superpixel index in 0..<count.
    var labels: [Int32]
    var count: Int

    static func slic(_ lab: LabImage, target: Int, compactness m: Float, iterations: Int) -> Superpixels {
        let w = lab.width, h = lab.height, n = w * h
        let s = max(2, Int((Double(n) / Double(max(1, target))).squareRoot().rounded()))
        var cl = [Float](), ca = [Float](), cb = [Float](), cx = [Float](), cy = [Float]()
        var gy = s / 2
        while gy < h || (gy == s / 2 && h > 0) {
            var gx = s / 2
            while gx < w || (gx == s / 2 && w > 0) {
                let x = min(gx, w - 1), y = min(gy, h - 1)
                let p = y * w + x
                cl.append(lab.l[p]); ca.append(lab.a[p]); cb.append(lab.b[p])
                cx.append(Float(x)); cy.append(Float(y))
                gx += s
            }
            gy += s
        }
        let k = cl.count
        var labels = [Int32](repeating: 0, count: n)
        var dist = [Float](repeating: .infinity, count: n)
        let spatial = (m * m) / Float(s * s)
        // Interleaved (L, a, b, 0) for SIMD distance evaluation.
        var lab4 = [SIMD4<Float>](repeating: .zero, count: n)
        for p in 0..<n { lab4[p] = SIMD4(lab.l[p], lab.a[p], lab.b[p], 0) }
        var centre = (0..<k).map { SIMD4<Float>(cl[$0], ca[$0], cb[$0], 0) }
        var sums = [SIMD4<Float>](repeating: .zero, count: k)
        var sumXY = [SIMD2<Float>](repeating: .zero, count: k)
        var counts = [Float](repeating: 0, count: k)
        lab4.withUnsafeBufferPointer { P in
            labels.withUnsafeMutableBufferPointer { lb in
                dist.withUnsafeMutableBufferPointer { db in
                    for _ in 0..<iterations {
                        db.update(repeating: .infinity)
                        for c in 0..<k {
                            let x0 = max(0, Int(cx[c]) - s), x1 = min(w, Int(cx[c]) + s + 1)
                            let y0 = max(0, Int(cy[c]) - s), y1 = min(h, Int(cy[c]) + s + 1)
                            let c4 = centre[c], fx = cx[c], fy = cy[c]
                            let c32 = Int32(c)
                            for y in y0..<y1 {
                                let dy = Float(y) - fy
                                let dy2 = dy * dy * spatial
                                let row = y * w
                                var dx = Float(x0) - fx
                                for x in x0..<x1 {
                                    let p = row + x
                                    let d4 = P[p] - c4
                                    let d = (d4 * d4).sum() + dx * dx * spatial + dy2
                                    if d < db[p] { db[p] = d; lb[p] = c32 }
                                    dx += 1
                                }
                            }
                        }
                        for c in 0..<k { sums[c] = .zero; sumXY[c] = .zero; counts[c] = 0 }
                        for y in 0..<h {
                            for x in 0..<w {
                                let p = y * w + x
                                let c = Int(lb[p])
                                sums[c] += P[p]
                                sumXY[c] += SIMD2(Float(x), Float(y))
                                counts[c] += 1
                            }
                        }
                        for c in 0..<k where counts[c] > 0 {
                            let inv = 1 / counts[c]
                            centre[c] = sums[c] * inv
                            cx[c] = sumXY[c].x * inv
                            cy[c] = sumXY[c].y * inv
                        }
                    }
                }
            }
        }
        return enforceConnectivity(labels, width: w, height: h, minSize: max(1, s * s / 4))
    }

    /// Relabels 4-connected components; components smaller than `minSize` join an adjacent one.
    static func enforceConnectivity(_ labels: [Int32], width w: Int, height h: Int, minSize: Int) -> Superpixels {
        let n = w * h
        var out = [Int32](repeating: -1, count: n)
        var queue = [Int32](repeating: 0, count: n)
        var next: Int32 = 0
        labels.withUnsafeBufferPointer { lab in
            out.withUnsafeMutableBufferPointer { o in
                queue.withUnsafeMutableBufferPointer { q in
                    for start in 0..<n where o[start] < 0 {
                        // An already-labelled neighbour to merge into if this component is small.
                        var adj: Int32 = -1
                        let sx = start % w
                        if sx > 0, o[start - 1] >= 0 { adj = o[start - 1] }
                        else if start >= w, o[start - w] >= 0 { adj = o[start - w] }
                        let orig = lab[start]
                        o[start] = next
                        q[0] = Int32(start)
                        var head = 0, tail = 1
                        while head < tail {
                            let p = Int(q[head]); head += 1
                            let x = p % w
                            if x > 0, o[p - 1] < 0, lab[p - 1] == orig { o[p - 1] = next; q[tail] = Int32(p - 1); tail += 1 }
                            if x < w - 1, o[p + 1] < 0, lab[p + 1] == orig { o[p + 1] = next; q[tail] = Int32(p + 1); tail += 1 }
                            if p >= w, o[p - w] < 0, lab[p - w] == orig { o[p - w] = next; q[tail] = Int32(p - w); tail += 1 }
                            if p + w < n, o[p + w] < 0, lab[p + w] == orig { o[p + w] = next; q[tail] = Int32(p + w); tail += 1 }
                        }
                        if tail < minSize && adj >= 0 {
                            for i in 0..<tail { o[Int(q[i])] = adj }
                        } else {
                            next += 1
                        }
                    }
                }
            }
        }
        return Superpixels(width: w, height: h, labels: out, count: Int(next))
    }
}
