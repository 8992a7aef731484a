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
        var sums = [Float](repeating: 0, count: k * 6)
        lab.l.withUnsafeBufferPointer { L in
            lab.a.withUnsafeBufferPointer { A in
                lab.b.withUnsafeBufferPointer { B in
                    labels.withUnsafeMutableBufferPointer { lb in
                        dist.withUnsafeMutableBufferPointer { db in
                            sums.withUnsafeMutableBufferPointer { sm in
                                for _ in 0..<iterations {
                                    db.update(repeating: .infinity)
                                    for c in 0..<k {
                                        let x0 = max(0, Int(cx[c]) - s), x1 = min(w, Int(cx[c]) + s + 1)
                                        let y0 = max(0, Int(cy[c]) - s), y1 = min(h, Int(cy[c]) + s + 1)
                                        let l0 = cl[c], a0 = ca[c], b0 = cb[c], fx = cx[c], fy = cy[c]
                                        let c32 = Int32(c)
                                        for y in y0..<y1 {
                                            let dy = Float(y) - fy
                                            let dy2 = dy * dy
                                            let row = y * w
                                            for x in x0..<x1 {
                                                let p = row + x
                                                let dl = L[p] - l0, da = A[p] - a0, dbb = B[p] - b0
                                                let dx = Float(x) - fx
                                                let d = dl * dl + da * da + dbb * dbb + (dx * dx + dy2) * spatial
                                                if d < db[p] { db[p] = d; lb[p] = c32 }
                                            }
                                        }
                                    }
                                    sm.update(repeating: 0)
                                    for y in 0..<h {
                                        for x in 0..<w {
                                            let p = y * w + x
                                            let c = Int(lb[p]) * 6
                                            sm[c] += L[p]; sm[c + 1] += A[p]; sm[c + 2] += B[p]
                                            sm[c + 3] += Float(x); sm[c + 4] += Float(y); sm[c + 5] += 1
                                        }
                                    }
                                    for c in 0..<k where sm[c * 6 + 5] > 0 {
                                        let inv = 1 / sm[c * 6 + 5]
                                        cl[c] = sm[c * 6] * inv; ca[c] = sm[c * 6 + 1] * inv; cb[c] = sm[c * 6 + 2] * inv
                                        cx[c] = sm[c * 6 + 3] * inv; cy[c] = sm[c * 6 + 4] * inv
                                    }
                                }
                            }
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
