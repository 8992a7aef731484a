import CFFmpeg

/// Draws label planes onto yuv420p frames: a translucent fill of each object plus an opaque outline,
/// both in the object's palette colour.
///
/// Works directly on the Y, U and V planes. Blending in YUV gives the same result as blending in RGB
/// (YUV is an affine function of RGB), without two colour conversions per frame. Only the bounding
/// box of the labelled pixels (plus the outline margin) is touched.
///
/// Not thread-safe: one painter per render, reused for every frame (its masks stay allocated).
final class OverlayPainter {
    let width: Int, height: Int
    private let radius: Int
    private let alpha: Int32
    private let palette: [RGBColor]
    /// Label of every pixel of the frame (valid inside `region`).
    private let labels: UnsafeMutablePointer<UInt8>
    /// Outline label of every pixel (0: not outline), valid inside `region`.
    private let outline: UnsafeMutablePointer<UInt8>
    /// Plane column of each frame column, for the plane width it was built for.
    private var columnMap: [Int32] = []
    private var columnMapWidth = -1
    /// Colour of each label (index 1…255) in the current colour matrix: Y, U, V.
    private var colorY = [Int32](repeating: 0, count: 256)
    private var colorU = [Int32](repeating: 0, count: 256)
    private var colorV = [Int32](repeating: 0, count: 256)
    private var colorMatrix: Int32 = -1
    /// Luma rectangle prepared by the last ``prepare(_:)`` (even bounds): x0, y0, x1, y1 (exclusive).
    private(set) var region = (x0: 0, y0: 0, x1: 0, y1: 0)

    init(width: Int, height: Int, options: OverlayOptions) {
        self.width = width
        self.height = height
        radius = max(0, min(options.outlineWidth, 9) / 2)
        alpha = Int32((min(max(options.fillAlpha, 0), 1) * 256).rounded())
        palette = options.palette.isEmpty ? OverlayOptions.defaultPalette : options.palette
        let count = width * height
        labels = .allocate(capacity: count)
        outline = .allocate(capacity: count)
    }

    deinit {
        labels.deallocate()
        outline.deallocate()
    }

    /// Scales `plane` to the frame (nearest neighbour) and finds the outlines. Returns false when the
    /// plane marks nothing (nothing to draw).
    func prepare(_ plane: LabelPlane) throws(MediaError) -> Bool {
        let pw = plane.width, ph = plane.height
        guard pw > 0, ph > 0, pw <= 16384, ph <= 16384, plane.labels.count == pw * ph else {
            throw MediaError(code: .invalidArgument, message: "label plane \(pw)x\(ph) has \(plane.labels.count) labels")
        }
        let w = width, h = height
        if columnMapWidth != pw {
            columnMap = (0..<w).map { Int32($0 * pw / w) }
            columnMapWidth = pw
        }
        return plane.labels.withUnsafeBufferPointer { source -> Bool in
            let src = source.baseAddress!
            // Bounding box of the labelled pixels in the plane.
            var bx0 = pw, by0 = ph, bx1 = -1, by1 = -1
            let raw = UnsafeRawPointer(src)
            for y in 0..<ph {
                let row = src + y * pw, offset = y * pw
                // First and last labelled pixels of the row, 8 empty pixels at a time.
                var first = 0
                while first + 8 <= pw && raw.loadUnaligned(fromByteOffset: offset + first, as: UInt64.self) == 0 { first += 8 }
                while first < pw && row[first] == 0 { first += 1 }
                if first == pw { continue }
                var end = pw
                while end - 8 > first && raw.loadUnaligned(fromByteOffset: offset + end - 8, as: UInt64.self) == 0 { end -= 8 }
                while row[end - 1] == 0 { end -= 1 }
                bx0 = min(bx0, first); bx1 = max(bx1, end - 1)
                if by0 > y { by0 = y }
                by1 = y
            }
            guard bx1 >= 0 else { return false }
            // Frame pixels whose plane pixel lies in the box, plus the outline margin; even bounds for chroma.
            let margin = radius + 2
            let x0 = max(0, bx0 * w / pw - margin) & ~1, y0 = max(0, by0 * h / ph - margin) & ~1
            let x1 = min(w, ((bx1 + 1) * w + pw - 1) / pw + margin + 1) & ~1
            let y1 = min(h, ((by1 + 1) * h + ph - 1) / ph + margin + 1) & ~1
            region = (x0, y0, x1, y1)
            // Locals: stores through the pointers would otherwise force reloads of the properties.
            let labels = self.labels, outline = self.outline

            // 1. Nearest-neighbour scale into `labels` (rows that map to the same plane row are copied).
            columnMap.withUnsafeBufferPointer { map in
                var previous = -1
                for y in y0..<y1 {
                    let py = y * ph / h
                    let dst = labels + y * w
                    if py == previous {
                        (dst + x0).update(from: dst - w + x0, count: x1 - x0)
                    } else {
                        let row = src + py * pw
                        for x in x0..<x1 { dst[x] = row[Int(map[x])] }
                        previous = py
                    }
                }
            }
            // 2. Outline: every labelled pixel with a differently labelled 4-neighbour (inside the frame)
            // stamps a (2r+1)² square of its label. Runs of 8 equal pixels (equal to their neighbours
            // too) are skipped with word compares: the outline is sparse.
            let r = radius
            for y in y0..<y1 { (outline + y * w + x0).update(repeating: 0, count: x1 - x0) }
            @inline(__always) func visit(_ x: Int, _ y: Int, _ row: UnsafeMutablePointer<UInt8>,
                                         _ up: UnsafeMutablePointer<UInt8>, _ down: UnsafeMutablePointer<UInt8>) {
                let l = row[x]
                guard l != 0 else { return }
                let left = x > 0 ? row[x - 1] : l, right = x + 1 < w ? row[x + 1] : l
                guard left != l || right != l || up[x] != l || down[x] != l else { return }
                var yy = max(y0, y - r)
                let yEnd = min(y1 - 1, y + r), xStart = max(x0, x - r), xEnd = min(x1 - 1, x + r)
                while yy <= yEnd {
                    let out = outline + yy * w
                    var xx = xStart
                    while xx <= xEnd { out[xx] = max(out[xx], l); xx += 1 }
                    yy += 1
                }
            }
            for y in y0..<y1 {
                let row = labels + y * w
                let up = y > 0 ? row - w : row, down = y + 1 < h ? row + w : row
                visit(x0, y, row, up, down)
                var x = x0 + 1
                while x + 9 <= x1 {
                    let word = UnsafeRawPointer(row + x).loadUnaligned(as: UInt64.self)
                    if word == UnsafeRawPointer(row + x - 1).loadUnaligned(as: UInt64.self)
                        && word == UnsafeRawPointer(row + x + 1).loadUnaligned(as: UInt64.self)
                        && word == UnsafeRawPointer(up + x).loadUnaligned(as: UInt64.self)
                        && word == UnsafeRawPointer(down + x).loadUnaligned(as: UInt64.self) {
                        x += 8
                        continue
                    }
                    for i in x..<(x + 8) { visit(i, y, row, up, down) }
                    x += 8
                }
                while x < x1 { visit(x, y, row, up, down); x += 1 }
            }
            return true
        }
    }

    /// Draws what ``prepare(_:)`` found onto `frame` (writable yuv420p of the painter's size, limited range).
    func draw(on frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) {
        let f = frame.pointee
        guard f.format == AV_PIX_FMT_YUV420P.rawValue, Int(f.width) == width, Int(f.height) == height,
              let yPlane = planePointer(f, 0), let uPlane = planePointer(f, 1), let vPlane = planePointer(f, 2) else {
            throw MediaError(code: .internalError, message: "the overlay needs a \(width)x\(height) yuv420p frame")
        }
        updateColors(matrix: f.colorspace == AVCOL_SPC_BT709 ? 709 : 601)
        let yStride = Int(lineSize(f, 0)), uStride = Int(lineSize(f, 1)), vStride = Int(lineSize(f, 2))
        let (x0, y0, x1, y1) = region
        let w = width
        let a = alpha, keep = 256 - alpha
        let labels = self.labels, outline = self.outline
        colorY.withUnsafeBufferPointer { cy in
            colorU.withUnsafeBufferPointer { cu in
                colorV.withUnsafeBufferPointer { cv in
                    // Luma: outline opaque, fill blended.
                    for y in y0..<y1 {
                        let dst = yPlane + y * yStride, lab = labels + y * w, edge = outline + y * w
                        var x = x0
                        while x < x1 {
                            defer { x += 1 }
                            if x + 8 <= x1, UnsafeRawPointer(lab + x).loadUnaligned(as: UInt64.self) == 0,
                               UnsafeRawPointer(edge + x).loadUnaligned(as: UInt64.self) == 0 {
                                x += 7
                                continue
                            }
                            let e = Int(edge[x])
                            if e != 0 {
                                dst[x] = UInt8(truncatingIfNeeded: cy[e])
                            } else {
                                let l = Int(lab[x])
                                if l != 0 { dst[x] = UInt8(truncatingIfNeeded: (Int32(dst[x]) * keep + cy[l] * a + 128) >> 8) }
                            }
                        }
                    }
                    // Chroma: one sample per 2×2 luma block; outline wins, else the fill weighted by coverage.
                    for cyRow in (y0 / 2)..<(y1 / 2) {
                        let u = uPlane + cyRow * uStride, v = vPlane + cyRow * vStride
                        let top = 2 * cyRow * w
                        var cx = x0 / 2
                        let cEnd = x1 / 2
                        while cx < cEnd {
                            defer { cx += 1 }
                            let i = top + 2 * cx
                            if cx + 4 <= cEnd,
                               UnsafeRawPointer(labels + i).loadUnaligned(as: UInt64.self)
                                | UnsafeRawPointer(labels + i + w).loadUnaligned(as: UInt64.self)
                                | UnsafeRawPointer(outline + i).loadUnaligned(as: UInt64.self)
                                | UnsafeRawPointer(outline + i + w).loadUnaligned(as: UInt64.self) == 0 {
                                cx += 3
                                continue
                            }
                            let e = max(max(outline[i], outline[i + 1]), max(outline[i + w], outline[i + w + 1]))
                            if e != 0 {
                                u[cx] = UInt8(truncatingIfNeeded: cu[Int(e)])
                                v[cx] = UInt8(truncatingIfNeeded: cv[Int(e)])
                                continue
                            }
                            let l00 = labels[i], l01 = labels[i + 1], l10 = labels[i + w], l11 = labels[i + w + 1]
                            let n = Int32((l00 != 0 ? 1 : 0) + (l01 != 0 ? 1 : 0) + (l10 != 0 ? 1 : 0) + (l11 != 0 ? 1 : 0))
                            guard n != 0 else { continue }
                            let l = Int(max(max(l00, l01), max(l10, l11)))
                            let weight = a * n / 4
                            u[cx] = UInt8(truncatingIfNeeded: (Int32(u[cx]) * (256 - weight) + cu[l] * weight + 128) >> 8)
                            v[cx] = UInt8(truncatingIfNeeded: (Int32(v[cx]) * (256 - weight) + cv[l] * weight + 128) >> 8)
                        }
                    }
                }
            }
        }
    }

    /// Fills the per-label colour tables for BT.601 or BT.709, limited range.
    private func updateColors(matrix: Int32) {
        guard matrix != colorMatrix else { return }
        colorMatrix = matrix
        let (kr, kb) = matrix == 709 ? (0.2126, 0.0722) : (0.299, 0.114)
        for label in 1..<256 {
            let c = palette[(label - 1) % palette.count]
            let r = Double(c.red) / 255, g = Double(c.green) / 255, b = Double(c.blue) / 255
            let luma = kr * r + (1 - kr - kb) * g + kb * b
            colorY[label] = Int32((16 + 219 * luma).rounded())
            colorU[label] = Int32((128 + 224 * (b - luma) / (2 * (1 - kb))).rounded())
            colorV[label] = Int32((128 + 224 * (r - luma) / (2 * (1 - kr))).rounded())
        }
    }
}
