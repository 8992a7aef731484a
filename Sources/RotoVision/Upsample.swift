#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Edge-aware upsampling of label maps.
enum Upsampler {
    /// Upsamples `src` to `W` × `H`. Pixels whose 4×4 working neighbourhood holds one label copy it;
    /// the rest (a band around boundaries) take the label with the highest joint-bilateral score:
    /// Σ tent(spatial distance) · exp(−|guide colour − working colour|² / 2σ²) over the neighbourhood.
    static func upsample(_ src: SelectionLabels, to W: Int, _ H: Int, guide: RGBImage?, working: RGBImage?,
                         sigma: Float) -> SelectionLabels {
        let w = src.width, h = src.height
        if w == W && h == H { return src }
        var out = [UInt8](repeating: 0, count: W * H)
        if w == 0 || h == 0 || W == 0 || H == 0 {
            return SelectionLabels(width: W, height: H, labels: out, objectIDs: src.objectIDs)
        }
        if let guide { precondition(guide.width == W && guide.height == H, "upsample: guide size mismatch") }
        // Working-resolution colours (read only with a guide): the given working image, or the guide
        // sampled at working centres.
        var wc: [UInt8] = []
        if guide != nil, let working, working.width == w, working.height == h {
            wc = working.pixels
        } else if let guide {
            wc = [UInt8](repeating: 0, count: w * h * 3)
            guide.pixels.withUnsafeBufferPointer { g in
                for y in 0..<h {
                    let gy = min(H - 1, (2 * y + 1) * H / (2 * h))
                    for x in 0..<w {
                        let gx = min(W - 1, (2 * x + 1) * W / (2 * w))
                        for c in 0..<3 { wc[(y * w + x) * 3 + c] = g[(gy * W + gx) * 3 + c] }
                    }
                }
            }
        }
        let uniform = src.labels.withUnsafeBufferPointer { uniformBlocks($0, width: w, height: h) }
        let runEnds = src.labels.withUnsafeBufferPointer { L in
            uniform.withUnsafeBufferPointer { U in uniformRunEnds(L, U, width: w, height: h) }
        }
        // Column mapping: working coordinate u = (X + 0.5) * w / W − 0.5, cell = floor(u).
        let sxf = Float(w) / Float(W), syf = Float(h) / Float(H)
        var cellX = [Int32](repeating: 0, count: W)
        var fracX = [Float](repeating: 0, count: W)
        for X in 0..<W {
            let u = (Float(X) + 0.5) * sxf - 0.5
            let c = min(w - 1, max(0, Int(floorf(u))))
            cellX[X] = Int32(c)
            fracX[X] = u - Float(c)
        }
        // Spans of X that share a cell, so uniform cells are filled with memset.
        var spanStart = [Int](repeating: W, count: w + 1)
        for X in stride(from: W - 1, through: 0, by: -1) { spanStart[Int(cellX[X])] = X }
        var spanEnd = [Int](repeating: 0, count: w)
        for c in 0..<w {
            if spanStart[c] == W { spanStart[c] = c > 0 ? spanEnd[c - 1] : 0; spanEnd[c] = spanStart[c]; continue }
            var e = spanStart[c]
            while e < W && Int(cellX[e]) == c { e += 1 }
            spanEnd[c] = e
        }
        let nLabels = src.objectIDs.count + 1
        let single = nLabels == 2
        // The tap weights along x of every column, for dx = −1 … 2 (what the loop below computes per pixel).
        let fast = single && guide == nil
        var tapX = [Float](repeating: 0, count: fast ? 4 * W : 0)
        var rowTaps = [Float](repeating: 0, count: 4)  // the output row's, for dy = −1 … 2
        for X in 0..<(fast ? W : 0) {
            for k in 0..<4 { tapX[4 * X + k] = tapWeight(k - 1, fracX[X]) }
        }
        // Range kernel lookup on squared RGB distance / 16.
        let lutCount: Int = 3 * 255 * 255 / 16 + 2
        let inv2s2: Float = 1 / (2 * sigma * sigma)
        var rangeLUT = [Float](repeating: 0, count: guide == nil ? 0 : lutCount)
        for i in 0..<rangeLUT.count {
            let d2 = Float(i * 16)
            rangeLUT[i] = expf(-d2 * inv2s2)
        }
        let G = guide?.pixels
        src.labels.withUnsafeBufferPointer { L in
        out.withUnsafeMutableBufferPointer { O in
        uniform.withUnsafeBufferPointer { U in
        runEnds.withUnsafeBufferPointer { RE in
        wc.withUnsafeBufferPointer { C in
        rangeLUT.withUnsafeBufferPointer { R in
        G.withUnsafeOptionalBuffer { gp in
        tapX.withUnsafeBufferPointer { TX in
        rowTaps.withUnsafeMutableBufferPointer { TY in
            let taps = fast ? TX.baseAddress : nil
            var score = [Float](repeating: 0, count: nLabels)
            for Y in 0..<H {
                let v = (Float(Y) + 0.5) * syf - 0.5
                let cyRaw = Int(floorf(v))
                let cy = min(h - 1, max(0, cyRaw))
                let fy = v - Float(cyRaw)
                let orow = O.baseAddress! + Y * W
                let interiorRow = cyRaw >= 1 && cyRaw + 2 < h
                if taps != nil { for k in 0..<4 { TY[k] = tapWeight(k - 1, fy) } }
                var cx = 0
                while cx < w {
                    defer { cx += 1 }
                    let x0 = spanStart[cx], x1 = spanEnd[cx]
                    if x0 >= x1 { continue }
                    if U[cy * w + cx] != 0 {
                        // A run of uniform cells with the same label: one fill.
                        let label = L[cy * w + cx]
                        let last = Int(RE[cy * w + cx])
                        (orow + x0).update(repeating: label, count: spanEnd[last] - x0)
                        cx = last
                        continue
                    }
                    if let taps, cx >= 1 && cx + 2 < w && interiorRow {
                        // One object, no guide, the 4×4 taps all inside the map: the same weights summed
                        // in the same order, without the tests.
                        let top = L.baseAddress! + (cyRaw - 1) * w + cx - 1
                        for X in x0..<x1 {
                            let wx = taps + 4 * X
                            var s0: Float = 0, s1: Float = 0
                            for dy in 0..<4 {
                                let row = top + dy * w, wy = TY[dy]
                                for dx in 0..<4 {
                                    let wgt = wx[dx] * wy, inside = row[dx] != 0
                                    s0 += inside ? 0 : wgt
                                    s1 += inside ? wgt : 0
                                }
                            }
                            orow[X] = s1 > s0 ? 1 : 0
                        }
                        continue
                    }
                    for X in x0..<x1 {
                        let fx = fracX[X]
                        // One object (the common case): two scores kept in registers.
                        var s0: Float = 0, s1: Float = 0
                        if !single { for i in 0..<nLabels { score[i] = 0 } }
                        var gr: Int = 0, gg: Int = 0, gb: Int = 0
                        if let gp {
                            let q = (Y * W + X) * 3
                            gr = Int(gp[q]); gg = Int(gp[q + 1]); gb = Int(gp[q + 2])
                        }
                        for dy in -1...2 {
                            let yy = cyRaw + dy
                            if yy < 0 || yy >= h { continue }
                            let wy = tapWeight(dy, fy)
                            for dx in -1...2 {
                                let xx = Int(cellX[X]) + dx
                                if xx < 0 || xx >= w { continue }
                                let wx = tapWeight(dx, fx)
                                let q = yy * w + xx
                                var wgt = wx * wy
                                if gp != nil {
                                    let dr = gr - Int(C[q * 3]), dg = gg - Int(C[q * 3 + 1]), db = gb - Int(C[q * 3 + 2])
                                    wgt *= R[(dr * dr + dg * dg + db * db) >> 4]
                                }
                                if single {
                                    if L[q] == 0 { s0 += wgt } else { s1 += wgt }
                                } else {
                                    score[Int(L[q])] += wgt
                                }
                            }
                        }
                        if single {
                            orow[X] = s1 > s0 ? 1 : 0
                            continue
                        }
                        var bestL = 0
                        var bestS: Float = -1
                        for i in 0..<nLabels where score[i] > bestS { bestS = score[i]; bestL = i }
                        orow[X] = UInt8(bestL)
                    }
                }
            }
        }}}}}}}}}
        return SelectionLabels(width: W, height: H, labels: out, objectIDs: src.objectIDs)
    }
}

extension Upsampler {
    /// Per working pixel (cell), 1 when the 4×4 block of `L` (w × h) from x−1, y−1 to x+2, y+2, indices
    /// clamped to the map, holds one label: such a cell's output pixels copy it.
    static func uniformBlocks(_ L: UnsafeBufferPointer<UInt8>, width w: Int, height h: Int) -> [UInt8] {
        // uniform[cell] = 1 when the 4×4 block of working pixels (cx-1 … cx+2, cy-1 … cy+2, clamped to the
        // map) has one label: rows first (`rowDiff`, zero where the labels over [x-1, x+2] are all equal),
        // then columns over [y-1, y+2]. The interior runs on eight cells at a time (XORs and ORs of 64-bit
        // loads: a byte is zero where its labels agree); the clamped border rows and columns go through
        // `clampedEqual`.
        var uniform = [UInt8](repeating: 0, count: w * h)
        guard w > 0 && h > 0, let l = L.baseAddress else { return uniform }
        let raw = UnsafeRawPointer(l)
        @inline(__always) func word(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
            p.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        }
        var rowDiff = [UInt8](repeating: 0, count: w * h)
        rowDiff.withUnsafeMutableBufferPointer { R in
            let r = R.baseAddress!
            for y in 0..<h {
                let row = y * w
                // The clamped columns: the first and the last two.
                r[row] = Self.clampedEqual(count: w, at: 0) { L[row + $0] } ? 0 : 1
                for x in max(1, w - 2)..<w {
                    r[row + x] = Self.clampedEqual(count: w, at: x) { L[row + $0] } ? 0 : 1
                }
                guard w >= 4 else { continue }
                var x = 1
                while x + 10 <= w {
                    let v = word(raw, row + x)
                    let d = (word(raw, row + x - 1) ^ v) | (word(raw, row + x + 1) ^ v) | (word(raw, row + x + 2) ^ v)
                    UnsafeMutableRawPointer(r + row + x).storeBytes(of: d, as: UInt64.self)
                    x += 8
                }
                while x < w - 2 {
                    let v = l[row + x]
                    r[row + x] = (l[row + x - 1] ^ v) | (l[row + x + 1] ^ v) | (l[row + x + 2] ^ v)
                    x += 1
                }
            }
            let rr = UnsafeRawPointer(r)
            uniform.withUnsafeMutableBufferPointer { U in
                let u = U.baseAddress!
                let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F, ones: UInt64 = 0x0101_0101_0101_0101
                for y in 0..<h {
                    let row = y * w
                    if y >= 1 && y + 2 < h {
                        let a = row - w, b = row + w, c = row + 2 * w
                        var x = 0
                        while x + 8 <= w {
                            let v = word(raw, row + x)
                            let d = (word(raw, a + x) ^ v) | (word(raw, b + x) ^ v) | (word(raw, c + x) ^ v)
                                | word(rr, a + x) | word(rr, row + x) | word(rr, b + x) | word(rr, c + x)
                            // 1 in each byte that is zero, 0 in the others.
                            let nonzero = (((d & low) &+ low) | d) >> 7 & ones
                            UnsafeMutableRawPointer(u + row + x).storeBytes(of: nonzero ^ ones, as: UInt64.self)
                            x += 8
                        }
                        while x < w {
                            let v = l[row + x]
                            let e = (l[a + x] ^ v) | (l[b + x] ^ v) | (l[c + x] ^ v) | r[a + x] | r[row + x] | r[b + x] | r[c + x]
                            u[row + x] = e == 0 ? 1 : 0
                            x += 1
                        }
                    } else {
                        for x in 0..<w {
                            // Uniform rows (a uniform row's label is its pixel's) of one label.
                            let uniformRows = Self.clampedEqual(count: h, at: y) { r[$0 * w + x] != 0 ? -1 : Int(l[$0 * w + x]) }
                            u[row + x] = uniformRows && r[row + x] == 0 ? 1 : 0
                        }
                    }
                }
            }
        }
        return uniform
    }

    /// The tent weight of the tap `d` cells from a pixel's cell (−1 … 2) at fraction `frac` into it.
    @inline(__always)
    static func tapWeight(_ d: Int, _ frac: Float) -> Float { max(0, 2 - abs(Float(d) - frac)) }

    /// Per uniform cell, the last cell of the run of uniform cells with its label that it starts along
    /// its row (the cells after it that one fill covers), found once per working row instead of once
    /// per output row. Other cells' entries are not read.
    static func uniformRunEnds(_ L: UnsafeBufferPointer<UInt8>, _ U: UnsafeBufferPointer<UInt8>,
                               width w: Int, height h: Int) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: w * h) { E, initialized in
            for y in 0..<h {
                let row = y * w
                var end = w - 1
                for c in stride(from: w - 1, through: 0, by: -1) {
                    if c == w - 1 || U[row + c + 1] == 0 || L[row + c + 1] != L[row + c] { end = c }
                    E[row + c] = Int32(end)
                }
            }
            initialized = w * h
        }
    }

    /// Whether `value(i)` is the same for i = k−1 … k+2, each index clamped to 0 ..< count.
    @inline(__always)
    static func clampedEqual<T: Equatable>(count: Int, at k: Int, _ value: (Int) -> T) -> Bool {
        let v = value(k)
        for d in -1...2 where value(min(count - 1, max(0, k + d))) != v { return false }
        return true
    }
}

extension Optional where Wrapped == [UInt8] {
    /// Calls `body` with the array's buffer, or nil.
    func withUnsafeOptionalBuffer<R>(_ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        switch self {
        case .some(let a): return try a.withUnsafeBufferPointer { try body($0) }
        case .none: return try body(nil)
        }
    }
}
