/// Binary morphology and box filters used by removal (bounded to the mask's bounding box).
enum InpaintMorphology {
    /// Dilation of `mask` by a Euclidean disc of radius `r`, computed inside the grown bounding box only.
    /// The mask's rows are read once as runs of set pixels; each output row is then painted with every run
    /// of the 2r+1 rows around it, widened by the disc's half-width at that vertical offset (a hole is a
    /// few runs per row, so this costs little more than writing the output).
    static func dilated(_ mask: Mask, radius r: Int) -> Mask {
        let w = mask.width, h = mask.height
        guard r > 0, let box = mask.boundingBox else { return mask }
        let x0 = max(0, box.x - r), y0 = max(0, box.y - r)
        let x1 = min(w - 1, box.x + box.width - 1 + r), y1 = min(h - 1, box.y + box.height - 1 + r)
        let cw = x1 - x0 + 1, ch = y1 - y0 + 1
        var out = [UInt8](repeating: 0, count: w * h)
        // Runs [start, end) of set pixels per row of the crop: row y's are runs[first[y]..<first[y + 1]].
        var runs: [(start: Int32, end: Int32)] = []
        var first = [Int](repeating: 0, count: ch + 1)
        mask.data.withUnsafeBufferPointer { src in
            for y in 0..<ch {
                first[y] = runs.count
                let row = (y + y0) * w + x0
                var x = 0
                while x < cw {
                    if src[row + x] == 0 { x += 1; continue }
                    let s = x
                    while x < cw && src[row + x] != 0 { x += 1 }
                    runs.append((Int32(s), Int32(x)))
                }
            }
            first[ch] = runs.count
        }
        let halfWidth = (0...r).map { dy in Int(Double(r * r - dy * dy).squareRoot()) }
        runs.withUnsafeBufferPointer { R in
            out.withUnsafeMutableBufferPointer { O in
                guard let base = O.baseAddress else { return }
                for y in 0..<ch {
                    let orow = (y + y0) * w + x0
                    for dy in max(-r, -y)...min(r, ch - 1 - y) {
                        let hw = halfWidth[abs(dy)]
                        for k in first[y + dy]..<first[y + dy + 1] {
                            let a = max(0, Int(R[k].start) - hw), b = min(cw, Int(R[k].end) + hw)
                            (base + orow + a).update(repeating: 1, count: b - a)
                        }
                    }
                }
            }
        }
        return Mask(trusted: w, h, out)
    }

    /// Max-pooling downscale: a coarse pixel is set when any fine pixel of its footprint is set.
    static func downscaledAny(_ mask: Mask, width nw: Int, height nh: Int) -> [UInt8] {
        let w = mask.width, h = mask.height
        var out = [UInt8](repeating: 0, count: nw * nh)
        guard let box = mask.boundingBox else { return out }
        mask.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { O in
                for y in box.y..<(box.y + box.height) {
                    let cy = min(nh - 1, y * nh / h), row = y * w
                    for x in box.x..<(box.x + box.width) where src[row + x] != 0 {
                        O[cy * nw + min(nw - 1, x * nw / w)] = 1
                    }
                }
            }
        }
        return out
    }

    /// Square dilation of a 0/1 byte plane by `r` (whole plane; used at flow resolution).
    static func dilate(_ m: [UInt8], width w: Int, height h: Int, radius r: Int) -> [UInt8] {
        if r <= 0 { return m }
        var tmp = [UInt8](repeating: 0, count: w * h)
        var out = tmp
        m.withUnsafeBufferPointer { S in
            tmp.withUnsafeMutableBufferPointer { T in
                for y in 0..<h {
                    let row = y * w
                    var acc = 0
                    for x in 0..<min(r, w) { acc += Int(S[row + x]) }
                    for x in 0..<w {
                        if x + r < w { acc += Int(S[row + x + r]) }
                        if x - r - 1 >= 0 { acc -= Int(S[row + x - r - 1]) }
                        T[row + x] = acc > 0 ? 1 : 0
                    }
                }
            }
            tmp.withUnsafeBufferPointer { T in
                out.withUnsafeMutableBufferPointer { O in
                    for x in 0..<w {
                        var acc = 0
                        for y in 0..<min(r, h) { acc += Int(T[y * w + x]) }
                        for y in 0..<h {
                            if y + r < h { acc += Int(T[(y + r) * w + x]) }
                            if y - r - 1 >= 0 { acc -= Int(T[(y - r - 1) * w + x]) }
                            O[y * w + x] = acc > 0 ? 1 : 0
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Push–pull interpolation: fills the unknown samples of an interleaved multi-channel float image from
/// the known ones through a pyramid of weighted 2×2 averages (push), then blends each level's partial
/// values with the bilinearly upsampled coarser level (pull). Smooth, membrane-like, linear time.
enum PushPull {
    /// `values`: `width * height * channels` samples; `known[p]` in 0…1 is the confidence of pixel `p`
    /// (0 = unknown). Unknown pixels are overwritten; pixels with `known == 1` keep their value.
    static func fill(_ values: inout [Float], known: [Float], width w: Int, height h: Int, channels c: Int) {
        precondition(values.count == w * h * c && known.count == w * h)
        if w == 0 || h == 0 { return }
        // Level 0: normalised values and weights; coarser levels built by 2×2 weighted averages.
        var vals: [[Float]] = [values]
        var wts: [[Float]] = [known]
        var sizes: [(Int, Int)] = [(w, h)]
        while true {
            let (lw, lh) = sizes[sizes.count - 1]
            let allKnown = wts[wts.count - 1].withUnsafeBufferPointer { W in !W.contains(where: { $0 <= 0 }) }
            if allKnown || (lw == 1 && lh == 1) { break }
            let nw = (lw + 1) / 2, nh = (lh + 1) / 2
            var nv = [Float](repeating: 0, count: nw * nh * c)
            var nwt = [Float](repeating: 0, count: nw * nh)
            vals[vals.count - 1].withUnsafeBufferPointer { V in
                wts[wts.count - 1].withUnsafeBufferPointer { W in
                    nv.withUnsafeMutableBufferPointer { NV in
                        nwt.withUnsafeMutableBufferPointer { NW in
                            for y in 0..<nh {
                                let ya = 2 * y, yb = min(2 * y + 1, lh - 1)
                                for x in 0..<nw {
                                    let xa = 2 * x, xb = min(2 * x + 1, lw - 1)
                                    var sw: Float = 0
                                    let q = (y * nw + x) * c
                                    @inline(__always) func add(_ p: Int) {
                                        let wt = W[p]
                                        if wt <= 0 { return }
                                        sw += wt
                                        for k in 0..<c { NV[q + k] += wt * V[p * c + k] }
                                    }
                                    add(ya * lw + xa)
                                    if xb != xa { add(ya * lw + xb) }
                                    if yb != ya { add(yb * lw + xa); if xb != xa { add(yb * lw + xb) } }
                                    if sw > 0 { for k in 0..<c { NV[q + k] /= sw } }
                                    // Weight of a coarse pixel: fraction of its footprint known, stretched
                                    // so that a half-known footprint already counts as fully known.
                                    NW[y * nw + x] = min(1, sw / 2)
                                }
                            }
                        }
                    }
                }
            }
            vals.append(nv)
            wts.append(nwt)
            sizes.append((nw, nh))
        }
        // Pull: from the coarsest level down, blend unknown parts with the upsampled coarser level.
        if sizes.count == 1 { return }
        for l in stride(from: sizes.count - 2, through: 0, by: -1) {
            let (lw, lh) = sizes[l], (cw, chh) = sizes[l + 1]
            let coarse = vals[l + 1], coarseW = wts[l + 1]
            let coarseHasHoles = l + 1 == sizes.count - 1 && coarseW.contains(where: { $0 <= 0 })
            coarse.withUnsafeBufferPointer { C in
                wts[l].withUnsafeMutableBufferPointer { W in
                    vals[l].withUnsafeMutableBufferPointer { V in
                        for y in 0..<lh {
                            let fy = min(max((Float(y) + 0.5) * 0.5 - 0.5, 0), Float(chh - 1))
                            let y0 = Int(fy), y1 = min(y0 + 1, chh - 1), ay = fy - Float(y0)
                            for x in 0..<lw {
                                let p = y * lw + x
                                let wt = min(1, W[p])
                                if wt >= 1 { continue }
                                let fx = min(max((Float(x) + 0.5) * 0.5 - 0.5, 0), Float(cw - 1))
                                let x0 = Int(fx), x1 = min(x0 + 1, cw - 1), ax = fx - Float(x0)
                                let a = (y0 * cw + x0) * c, b = (y0 * cw + x1) * c
                                let d = (y1 * cw + x0) * c, e = (y1 * cw + x1) * c
                                for k in 0..<c {
                                    let cv = (C[a + k] * (1 - ax) + C[b + k] * ax) * (1 - ay) + (C[d + k] * (1 - ax) + C[e + k] * ax) * ay
                                    V[p * c + k] = wt * V[p * c + k] + (1 - wt) * (coarseHasHoles ? V[p * c + k] : cv)
                                }
                                W[p] = 1
                            }
                        }
                    }
                }
            }
        }
        values = vals[0]
    }
}
