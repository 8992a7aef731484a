#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension RGBImage {
    /// The size that fits `longSide` on the longer side, keeping the aspect ratio (never upscales).
    public static func workingSize(width: Int, height: Int, longSide: Int) -> (width: Int, height: Int) {
        let long = max(width, height)
        if long <= longSide || long == 0 { return (width, height) }
        let s = Double(longSide) / Double(long)
        return (max(1, Int((Double(width) * s).rounded())), max(1, Int((Double(height) * s).rounded())))
    }

    /// Area-averaging downscale to `newWidth` × `newHeight` (each output pixel averages the input pixels
    /// whose centres fall inside its footprint). Returns `self` when the size is unchanged; upscaling
    /// falls back to nearest neighbour.
    public func downscaled(width newW: Int, height newH: Int) -> RGBImage {
        if newW == width && newH == height { return self }
        precondition(newW > 0 && newH > 0)
        var out = [UInt8](repeating: 0, count: newW * newH * 3)
        // Column spans (integer bounds of the footprint in input pixels).
        var x0 = [Int](repeating: 0, count: newW), x1 = [Int](repeating: 0, count: newW)
        for x in 0..<newW {
            let a = x * width / newW
            x0[x] = a
            x1[x] = max(a + 1, (x + 1) * width / newW)
        }
        let srcW = width
        pixels.withUnsafeBufferPointer { sb in
            out.withUnsafeMutableBufferPointer { ob in
                let s = sb.baseAddress!, o = ob.baseAddress!
                // Per output row: sum the input rows into a row accumulator, then reduce columns.
                var acc = [UInt32](repeating: 0, count: srcW * 3)
                acc.withUnsafeMutableBufferPointer { ab in
                    let a = ab.baseAddress!
                    for y in 0..<newH {
                        let ya = y * height / newH
                        let yb = max(ya + 1, (y + 1) * height / newH)
                        a.update(repeating: 0, count: srcW * 3)
                        for yy in ya..<yb {
                            let row = s + yy * srcW * 3
                            for i in 0..<(srcW * 3) { a[i] &+= UInt32(row[i]) }
                        }
                        let rows = UInt32(yb - ya)
                        for x in 0..<newW {
                            let xa = x0[x], xb = x1[x]
                            var r: UInt32 = 0, g: UInt32 = 0, b: UInt32 = 0
                            for xx in xa..<xb {
                                r &+= a[xx * 3]; g &+= a[xx * 3 + 1]; b &+= a[xx * 3 + 2]
                            }
                            let n = rows * UInt32(xb - xa)
                            let half = n / 2
                            let op = o + (y * newW + x) * 3
                            op[0] = UInt8((r + half) / n)
                            op[1] = UInt8((g + half) / n)
                            op[2] = UInt8((b + half) / n)
                        }
                    }
                }
            }
        }
        return RGBImage(width: newW, height: newH, pixels: out)
    }

    /// Bilinear resize (used by benchmarks to make 4K frames; not on the hot path).
    public func resizedBilinear(width newW: Int, height newH: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: newW * newH * 3)
        let sx = Double(width) / Double(newW), sy = Double(height) / Double(newH)
        pixels.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                for y in 0..<newH {
                    let fy = max(0, min(Double(height - 1), (Double(y) + 0.5) * sy - 0.5))
                    let y0 = Int(fy), y1 = min(y0 + 1, height - 1)
                    let wy = fy - Double(y0)
                    for x in 0..<newW {
                        let fx = max(0, min(Double(width - 1), (Double(x) + 0.5) * sx - 0.5))
                        let x0 = Int(fx), x1 = min(x0 + 1, width - 1)
                        let wx = fx - Double(x0)
                        for c in 0..<3 {
                            let a = Double(s[(y0 * width + x0) * 3 + c]), b = Double(s[(y0 * width + x1) * 3 + c])
                            let d = Double(s[(y1 * width + x0) * 3 + c]), e = Double(s[(y1 * width + x1) * 3 + c])
                            let v = (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy
                            o[(y * newW + x) * 3 + c] = UInt8(max(0, min(255, v.rounded())))
                        }
                    }
                }
            }
        }
        return RGBImage(width: newW, height: newH, pixels: out)
    }
}

/// Planar CIE L*a*b* (D65) image in Float.
struct LabImage {
    let width: Int
    let height: Int
    var l: [Float]
    var a: [Float]
    var b: [Float]

    private static let linear: [Float] = (0..<256).map { i in
        let c = Float(i) / 255
        return c <= 0.04045 ? c / 12.92 : powf((c + 0.055) / 1.055, 2.4)
    }

    private static let fTableSize = 4096
    /// f(t) on [0, 1.1] sampled for linear interpolation.
    private static let fTable: [Float] = (0...fTableSize + 1).map { i in
        let t = Float(i) / Float(fTableSize) * 1.1
        return t > 0.008856 ? cbrtf(t) : 7.787 * t + 16.0 / 116.0
    }

    init(_ img: RGBImage) {
        width = img.width
        height = img.height
        let n = width * height
        var l = [Float](repeating: 0, count: n)
        var a = [Float](repeating: 0, count: n)
        var b = [Float](repeating: 0, count: n)
        let scale = Float(LabImage.fTableSize) / 1.1
        LabImage.linear.withUnsafeBufferPointer { lin in
            LabImage.fTable.withUnsafeBufferPointer { ft in
                img.pixels.withUnsafeBufferPointer { px in
                    l.withUnsafeMutableBufferPointer { lp in
                        a.withUnsafeMutableBufferPointer { ap in
                            b.withUnsafeMutableBufferPointer { bp in
                                @inline(__always) func f(_ t: Float) -> Float {
                                    let u = min(max(t, 0), 1.09) * scale
                                    let i = Int(u)
                                    let w = u - Float(i)
                                    return ft[i] + (ft[i + 1] - ft[i]) * w
                                }
                                for i in 0..<n {
                                    let r = lin[Int(px[3 * i])], g = lin[Int(px[3 * i + 1])], bl = lin[Int(px[3 * i + 2])]
                                    let x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * bl) / 0.95047
                                    let y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * bl
                                    let z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * bl) / 1.08883
                                    let fx = f(x), fy = f(y), fz = f(z)
                                    lp[i] = 116 * fy - 16
                                    ap[i] = 500 * (fx - fy)
                                    bp[i] = 200 * (fy - fz)
                                }
                            }
                        }
                    }
                }
            }
        }
        self.l = l
        self.a = a
        self.b = b
    }
}

/// Separable [1 2 1] blur of a histogram over a cube of `side` bins per axis in `dimensions` axes
/// (row-major, the last axis fastest), `passes` times; each edge bin counts as its own missing neighbour.
func blurredHistogram(_ h: [Float], side: Int, dimensions: Int, passes: Int = 1) -> [Float] {
    precondition(h.count == Int(pow(Double(side), Double(dimensions))), "blurredHistogram: size mismatch")
    var a = h, b = h
    for _ in 0..<passes {
        var stride = h.count / side
        for _ in 0..<dimensions {
            for i in 0..<h.count {
                let c = (i / stride) % side
                var v = 2 * a[i]
                v += c > 0 ? a[i - stride] : a[i]
                v += c < side - 1 ? a[i + stride] : a[i]
                b[i] = v * 0.25
            }
            swap(&a, &b)
            stride /= side
        }
    }
    return a
}

/// The element `sorted()[count / 2]` of `values` (the upper median), found by selection in linear
/// expected time instead of a sort; `values` is reordered. Nil when empty.
func upperMedian(_ values: inout [Float]) -> Float? {
    let n = values.count
    guard n > 0 else { return nil }
    let k = n / 2
    return values.withUnsafeMutableBufferPointer { V -> Float in
        var lo = 0, hi = n - 1
        while lo < hi {
            // Median of three as the pivot, then a Hoare partition.
            let mid = lo + (hi - lo) / 2
            let pivot = max(min(V[lo], V[mid]), min(max(V[lo], V[mid]), V[hi]))
            var i = lo, j = hi
            while i <= j {
                while V[i] < pivot { i += 1 }
                while V[j] > pivot { j -= 1 }
                if i <= j { V.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { break }
        }
        return V[k]
    }
}

/// Bilinear sample of an RGB image (`img`, `w` × `h`, three bytes per pixel) at (x, y), 0 ≤ x, y.
@inline(__always)
func bilinearRGB(_ img: UnsafeBufferPointer<UInt8>, _ w: Int, _ h: Int, _ x: Float, _ y: Float) -> (Float, Float, Float) {
    let x0 = min(Int(x), w - 1), y0 = min(Int(y), h - 1)
    let x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
    let ax = x - Float(x0), ay = y - Float(y0)
    let a = (y0 * w + x0) * 3, b = (y0 * w + x1) * 3, c = (y1 * w + x0) * 3, d = (y1 * w + x1) * 3
    let w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay
    let r = Float(img[a]) * w00 + Float(img[b]) * w01 + Float(img[c]) * w10 + Float(img[d]) * w11
    let g = Float(img[a + 1]) * w00 + Float(img[b + 1]) * w01 + Float(img[c + 1]) * w10 + Float(img[d + 1]) * w11
    let bl = Float(img[a + 2]) * w00 + Float(img[b + 2]) * w01 + Float(img[c + 2]) * w10 + Float(img[d + 2]) * w11
    return (r, g, bl)
}

/// The 8-connected components of the non-zero pixels of `fg` (`width` × `height`, row-major): each pixel's
/// component (-1 for zero pixels) and each component's area, in order of first pixel. Works on runs: each
/// row's runs of non-zero pixels are joined (union–find) to the runs of the row above that they touch.
func connectedComponents(_ fg: [UInt8], width w: Int, height h: Int) -> (labels: [Int32], areas: [Int]) {
    var label = [Int32](repeating: -1, count: w * h)
    var start: [Int32] = [], end: [Int32] = [], row: [Int32] = [], parent: [Int32] = []
    // A component's root is its first run (the smallest index), so roots come in order of first pixel.
    func root(_ r: Int32) -> Int32 {
        var r = r
        while parent[Int(r)] != r { parent[Int(r)] = parent[Int(parent[Int(r)])]; r = parent[Int(r)] }
        return r
    }
    fg.withUnsafeBufferPointer { f in
        var above = 0..<0
        for y in 0..<h {
            let line = y * w, first = start.count
            var x = 0, j = above.lowerBound
            while x < w {
                if f[line + x] == 0 { x += 1; continue }
                let s = x
                while x < w && f[line + x] != 0 { x += 1 }
                let id = Int32(start.count)
                start.append(Int32(s)); end.append(Int32(x)); row.append(Int32(y)); parent.append(id)
                // Runs above touching [s − 1, x] (8-connected); the last one may touch the next run too.
                while j < above.upperBound && Int(end[j]) < s { j += 1 }
                var k = j
                while k < above.upperBound && Int(start[k]) <= x {
                    let a = root(Int32(k)), b = root(id)
                    if a != b { parent[Int(max(a, b))] = min(a, b) }
                    k += 1
                }
            }
            above = first..<start.count
        }
    }
    var component = [Int32](repeating: -1, count: start.count)
    var areas: [Int] = []
    label.withUnsafeMutableBufferPointer { lab in
        for r in 0..<start.count {
            let top = Int(root(Int32(r)))
            if top == r { component[r] = Int32(areas.count); areas.append(0) }
            let c = component[top], y = Int(row[r])
            areas[Int(c)] += Int(end[r] - start[r])
            for x in Int(start[r])..<Int(end[r]) { lab[y * w + x] = c }
        }
    }
    return (label, areas)
}

/// Calls `body` with every pixel of the 3×3 neighbourhood of pixel `p` (itself included) that lies inside
/// a `width` × `height` image.
@inline(__always)
func forEachNeighbourhoodPixel(of p: Int, width w: Int, height h: Int, _ body: (Int) -> Void) {
    let px = p % w, py = p / w
    for qy in max(0, py - 1)...min(h - 1, py + 1) {
        for qx in max(0, px - 1)...min(w - 1, px + 1) { body(qy * w + qx) }
    }
}

/// Calls `body(x, y, p, label)` for every non-zero byte of the row-major `width` × `height` label map, in
/// row-major order. Zero bytes, most of a frame's, are skipped eight at a time.
@inline(__always)
func forEachLabelled(_ labels: UnsafeBufferPointer<UInt8>, width w: Int, height h: Int,
                     _ body: (_ x: Int, _ y: Int, _ p: Int, _ label: Int) -> Void) {
    guard let base = labels.baseAddress else { return }
    let raw = UnsafeRawPointer(base)
    for y in 0..<h {
        let row = y * w
        var x = 0
        while x < w {
            if x + 8 <= w && raw.loadUnaligned(fromByteOffset: row + x, as: UInt64.self) == 0 { x += 8; continue }
            let v = Int(base[row + x])
            if v != 0 { body(x, y, row + x, v) }
            x += 1
        }
    }
}

/// The bounding box (x0, y0, x1, y1, inclusive) of each label 1 … `labels` of the row-major `width` ×
/// `height` label map, at its index; (width, height, −1, −1) for a label that is absent (and at index 0).
func labelBoxes(_ map: UnsafeBufferPointer<UInt8>, width w: Int, height h: Int,
                labels: Int) -> [(x0: Int, y0: Int, x1: Int, y1: Int)] {
    var box = [(x0: Int, y0: Int, x1: Int, y1: Int)](repeating: (w, h, -1, -1), count: labels + 1)
    box.withUnsafeMutableBufferPointer { box in
        forEachLabelled(map, width: w, height: h) { x, y, _, v in
            guard v <= labels else { return }
            box[v].x0 = min(box[v].x0, x); box[v].x1 = max(box[v].x1, x)
            box[v].y0 = min(box[v].y0, y); box[v].y1 = max(box[v].y1, y)
        }
    }
    return box
}
