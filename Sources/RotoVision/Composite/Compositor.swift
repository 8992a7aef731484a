#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cutout ready for repeated pasting: premultiplied RGBA levels, each half the size of the previous
/// (2 × 2 area average), each padded by a transparent 1-px frame.
///
/// Build it once per task and paste it into every frame with `Compositor.paste(_:into:box:)`, which
/// then only samples the level nearest above the box size.
public struct PreparedCutout: Sendable {
    /// One pyramid level.
    struct Level: Sendable {
        let width: Int
        let height: Int
        /// `(width + 2) * (height + 2) * 4` premultiplied RGBA bytes with a transparent 1-px frame.
        let data: [UInt8]
    }

    /// The full-resolution width.
    public var width: Int { levels[0].width }
    /// The full-resolution height.
    public var height: Int { levels[0].height }
    let levels: [Level]

    /// Prepares every level down to a few pixels.
    public init(_ cutout: Cutout) {
        self.init(cutout, downTo: (1, 1))
    }

    /// Prepares the levels needed to paste into boxes no smaller than `target` (width, height).
    init(_ cutout: Cutout, downTo target: (Int, Int)) {
        var levels = [PreparedCutout.premultiplied(cutout)]
        while true {
            let last = levels[levels.count - 1]
            let nw = last.width / 2, nh = last.height / 2
            if nw < max(1, target.0) || nh < max(1, target.1) { break }
            levels.append(PreparedCutout.halved(last))
        }
        self.levels = levels
    }

    /// The level to sample for a `bw` × `bh` destination: the smallest one still at least that large.
    func level(for bw: Double, _ bh: Double) -> Level {
        var i = 0
        while i + 1 < levels.count && Double(levels[i + 1].width) >= bw && Double(levels[i + 1].height) >= bh {
            i += 1
        }
        return levels[i]
    }

    static func premultiplied(_ c: Cutout) -> Level {
        let w = c.width, h = c.height, pw = w + 2
        var d = [UInt8](repeating: 0, count: (w + 2) * (h + 2) * 4)
        c.rgb.pixels.withUnsafeBufferPointer { px in
            c.alpha.withUnsafeBufferPointer { al in
                d.withUnsafeMutableBufferPointer { o in
                    for y in 0..<h {
                        for x in 0..<w {
                            let i = y * w + x
                            let a = UInt32(al[i])
                            let q = ((y + 1) * pw + x + 1) * 4
                            o[q] = UInt8((UInt32(px[i * 3]) * a + 127) / 255)
                            o[q + 1] = UInt8((UInt32(px[i * 3 + 1]) * a + 127) / 255)
                            o[q + 2] = UInt8((UInt32(px[i * 3 + 2]) * a + 127) / 255)
                            o[q + 3] = UInt8(a)
                        }
                    }
                }
            }
        }
        return Level(width: w, height: h, data: d)
    }

    static func halved(_ l: Level) -> Level {
        let w = l.width / 2, h = l.height / 2, spw = l.width + 2, pw = w + 2
        var d = [UInt8](repeating: 0, count: (w + 2) * (h + 2) * 4)
        l.data.withUnsafeBufferPointer { s in
            d.withUnsafeMutableBufferPointer { o in
                for y in 0..<h {
                    let r0 = (2 * y + 1) * spw, r1 = (2 * y + 2) * spw
                    for x in 0..<w {
                        let a = (r0 + 2 * x + 1) * 4, b = (r1 + 2 * x + 1) * 4
                        let q = ((y + 1) * pw + x + 1) * 4
                        for c in 0..<4 {
                            let sum = UInt32(s[a + c]) + UInt32(s[a + 4 + c]) + UInt32(s[b + c]) + UInt32(s[b + 4 + c])
                            o[q + c] = UInt8((sum + 2) / 4)
                        }
                    }
                }
            }
        }
        return Level(width: w, height: h, data: d)
    }
}

/// Pastes cutouts into frames and draws the visible watermark.
public enum Compositor {
    /// Resamples `cutout` into `box` (frame pixels, sub-pixel position, see ``Box``) and alpha-blends it
    /// over `frame` ("over" operator). Sampling is bilinear on premultiplied colour, from a 2 × 2
    /// area-averaged level when the cutout is shrunk by half or more; a destination pixel only partly
    /// inside the box is weighted by its covered fraction, so box edges at fractional positions are
    /// anti-aliased. Parts outside the frame are
    /// clipped; pixels outside the box are never touched. For many frames, prepare the cutout once with
    /// ``PreparedCutout`` instead.
    public static func paste(_ cutout: Cutout, into frame: inout RGBImage, box: Box) {
        guard cutout.width > 0, cutout.height > 0, box.width > 0, box.height > 0,
              box.x.isFinite, box.y.isFinite, box.width.isFinite, box.height.isFinite else { return }
        let prepared = PreparedCutout(cutout, downTo: (Int(box.width.rounded(.up)), Int(box.height.rounded(.up))))
        paste(prepared, into: &frame, box: box)
    }

    /// Pastes a prepared cutout exactly as the `Cutout` overload does, without the per-call
    /// premultiplication and downscaling.
    public static func paste(_ cutout: PreparedCutout, into frame: inout RGBImage, box: Box) {
        guard box.width > 0, box.height > 0, box.x.isFinite, box.y.isFinite,
              box.width.isFinite, box.height.isFinite, frame.width > 0, frame.height > 0 else { return }
        let level = cutout.level(for: box.width, box.height)
        let lw = level.width, lh = level.height, lpw = lw + 2
        let fw = frame.width, fh = frame.height
        let sx = Double(lw) / box.width, sy = Double(lh) / box.height
        // Columns: destination x, padded texel index, weight of the right texel (0…256), and the fraction
        // of the destination pixel inside the box (sub-pixel edges; nothing outside the box is touched).
        let x0 = box.x, x1 = box.x + box.width, y0 = box.y, y1 = box.y + box.height
        let (rows, columns) = pasteRegion(box: box, width: fw, height: fh)
        let xStart = columns.lowerBound, xEnd = columns.upperBound, yStart = rows.lowerBound, yEnd = rows.upperBound
        if xStart >= xEnd || yStart >= yEnd { return }
        var cols: [(dst: Int32, idx: Int32, w: Int32, cover: Float)] = []
        cols.reserveCapacity(xEnd - xStart)
        for x in xStart..<xEnd {
            let cover = min(Double(x + 1), x1) - max(Double(x), x0)
            if cover <= 0 { continue }
            let u = min(max((Double(x) + 0.5 - x0) * sx - 0.5, 0), Double(lw - 1))
            let f = u.rounded(.down)
            let wgt = Int32(((u - f) * 256).rounded())
            cols.append((Int32(x), Int32(f) + 1, wgt, Float(min(1, cover))))
        }
        if cols.isEmpty { return }
        level.data.withUnsafeBufferPointer { src in
            frame.pixels.withUnsafeMutableBufferPointer { dst in
                cols.withUnsafeBufferPointer { cols in
                    let s = src.baseAddress!, d = dst.baseAddress!
                    for y in yStart..<yEnd {
                        let coverY = min(Double(y + 1), y1) - max(Double(y), y0)
                        if coverY <= 0 { continue }
                        let v = min(max((Double(y) + 0.5 - y0) * sy - 0.5, 0), Double(lh - 1))
                        let fv = v.rounded(.down)
                        let wy = Int32(((v - fv) * 256).rounded()), wy0 = 256 - wy
                        let row0 = s + (Int(fv) + 1) * lpw * 4, row1 = row0 + lpw * 4
                        let drow = d + y * fw * 3
                        let rowNorm = Float(min(1, coverY)) / 65536
                        for col in cols {
                            let wx = col.w, wx0 = 256 - wx
                            let t00 = row0 + Int(col.idx) * 4, t10 = row1 + Int(col.idx) * 4
                            let w00 = wx0 * wy0, w01 = wx * wy0, w10 = wx0 * wy, w11 = wx * wy
                            let a = w00 * Int32(t00[3]) + w01 * Int32(t00[7]) + w10 * Int32(t10[3]) + w11 * Int32(t10[7])
                            if a == 0 { continue }
                            let norm = rowNorm * col.cover
                            let keep = 1 - Float(a) * norm * (1 / 255)
                            let p = drow + Int(col.dst) * 3
                            for c in 0..<3 {
                                let cv = w00 * Int32(t00[c]) + w01 * Int32(t00[4 + c]) + w10 * Int32(t10[c])
                                    + w11 * Int32(t10[4 + c])
                                let o = Float(cv) * norm + Float(p[c]) * keep + 0.5
                                p[c] = o >= 255 ? 255 : UInt8(o)
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: - Watermark

    /// Glyph height as a fraction of the frame height.
    public static let watermarkGlyphHeight = 0.04
    /// Opacity of the watermark text.
    public static let watermarkOpacity: Float = 0.6

    /// The pixels ``paste(_:into:box:)-(PreparedCutout,_,_)`` may change in a `width` × `height` frame:
    /// those the box covers at least partly (half-open ranges, empty when it misses the frame).
    public static func pasteRegion(box: Box, width: Int, height: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        guard box.x.isFinite, box.y.isFinite, box.width.isFinite, box.height.isFinite else { return (0..<0, 0..<0) }
        let xStart = max(0, Int(box.x.rounded(.down))), xEnd = min(width, Int((box.x + box.width).rounded(.up)))
        let yStart = max(0, Int(box.y.rounded(.down))), yEnd = min(height, Int((box.y + box.height).rounded(.up)))
        return (yStart..<max(yStart, yEnd), xStart..<max(xStart, xEnd))
    }

    /// The pixels ``watermark(_:text:)`` may change in a `width` × `height` frame (half-open ranges).
    public static func watermarkRegion(width: Int, height: Int, text: String = "ROTO") -> (rows: Range<Int>, columns: Range<Int>) {
        guard let l = watermarkLayout(glyphs: text.uppercased().count, width: width, height: height) else { return (0..<0, 0..<0) }
        return (max(0, l.y0)..<min(height, l.y0 + l.height), max(0, l.x0)..<min(width, l.x0 + l.width))
    }

    /// Where the watermark of `glyphs` characters goes: the top-left corner and size of the text with
    /// its shadow, the font's pixel size and the shadow's offset; nil when there is nothing to draw.
    private static func watermarkLayout(glyphs: Int, width fw: Int, height fh: Int)
        -> (x0: Int, y0: Int, width: Int, height: Int, scale: Int, shadow: Int)? {
        if glyphs == 0 || fw == 0 || fh == 0 { return nil }
        let s = max(1, Int((watermarkGlyphHeight * Double(fh) / 7).rounded()))
        let textW = glyphs * 6 * s - s, textH = 7 * s
        let shadow = max(1, s / 4)
        let margin = max(2, Int((0.025 * Double(min(fw, fh))).rounded()))
        return (fw - margin - textW - shadow, fh - margin - textH - shadow, textW + shadow, textH + shadow, s, shadow)
    }

    /// Draws `text` as a visible, semi-transparent watermark in the bottom-right corner of `frame`.
    ///
    /// Glyphs come from a built-in 5 × 7 bitmap font (A–Z, 0–9 and space; lowercase letters are drawn as
    /// capitals, any other character as a space), scaled by whole pixels so a glyph is about 4 % of the
    /// frame height. The text is white at 60 % opacity over a dark shadow offset by about 1 px (a quarter
    /// of a font pixel, at least 1 px), inset from the corner by 2.5 % of the frame's shorter side, and
    /// clipped at the frame's left and top edges when the frame is too small for it.
    public static func watermark(_ frame: inout RGBImage, text: String = "ROTO") {
        let fw = frame.width, fh = frame.height
        let glyphs = text.uppercased().map { WatermarkFont.glyphs[$0] ?? WatermarkFont.glyphs[" "]! }
        // Coverage of the text and of its shadow, over the text's rectangle plus the shadow offset.
        guard let (x0, y0, cw, ch, s, shadow) = watermarkLayout(glyphs: glyphs.count, width: fw, height: fh) else { return }
        var ink = [UInt8](repeating: 0, count: cw * ch)  // 1 = text, 2 = shadow only
        for (gi, g) in glyphs.enumerated() {
            for row in 0..<7 {
                let bits = g[row]
                for col in 0..<5 where bits & (0x10 >> UInt8(col)) != 0 {
                    let px = gi * 6 * s + col * s, py = row * s
                    for yy in py..<(py + s) {
                        for xx in px..<(px + s) {
                            ink[yy * cw + xx] = 1
                            let sh = (yy + shadow) * cw + xx + shadow
                            if ink[sh] == 0 { ink[sh] = 2 }
                        }
                    }
                }
            }
        }
        let op = watermarkOpacity
        frame.pixels.withUnsafeMutableBufferPointer { d in
            for yy in 0..<ch {
                let y = y0 + yy
                if y < 0 || y >= fh { continue }
                for xx in 0..<cw {
                    let x = x0 + xx
                    if x < 0 || x >= fw { continue }
                    let k = ink[yy * cw + xx]
                    if k == 0 { continue }
                    let p = (y * fw + x) * 3
                    for c in 0..<3 {
                        let v = Float(d[p + c])
                        let o = k == 1 ? 255 * op + v * (1 - op) : v * (1 - op)
                        d[p + c] = UInt8(min(255, o + 0.5))
                    }
                }
            }
        }
    }
}

/// The built-in 5 × 7 bitmap font: seven rows per glyph, the five low bits of each row, MSB leftmost.
enum WatermarkFont {
    static let glyphs: [Character: [UInt8]] = {
        let rows: [Character: [String]] = [
            "A": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
            "B": ["11110", "10001", "10001", "11110", "10001", "10001", "11110"],
            "C": ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
            "D": ["11100", "10010", "10001", "10001", "10001", "10010", "11100"],
            "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
            "F": ["11111", "10000", "10000", "11110", "10000", "10000", "10000"],
            "G": ["01110", "10001", "10000", "10111", "10001", "10001", "01111"],
            "H": ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
            "I": ["01110", "00100", "00100", "00100", "00100", "00100", "01110"],
            "J": ["00111", "00010", "00010", "00010", "00010", "10010", "01100"],
            "K": ["10001", "10010", "10100", "11000", "10100", "10010", "10001"],
            "L": ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
            "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
            "N": ["10001", "10001", "11001", "10101", "10011", "10001", "10001"],
            "O": ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
            "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
            "Q": ["01110", "10001", "10001", "10001", "10101", "10010", "01101"],
            "R": ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
            "S": ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
            "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
            "U": ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
            "V": ["10001", "10001", "10001", "10001", "10001", "01010", "00100"],
            "W": ["10001", "10001", "10001", "10101", "10101", "10101", "01010"],
            "X": ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
            "Y": ["10001", "10001", "10001", "01010", "00100", "00100", "00100"],
            "Z": ["11111", "00001", "00010", "00100", "01000", "10000", "11111"],
            "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
            "1": ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
            "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
            "3": ["11111", "00010", "00100", "00010", "00001", "10001", "01110"],
            "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
            "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
            "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
            "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
            "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
            "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
            " ": ["00000", "00000", "00000", "00000", "00000", "00000", "00000"],
        ]
        return rows.mapValues { r in r.map { UInt8($0, radix: 2)! } }
    }()
}
