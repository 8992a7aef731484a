/// Errors from the COCO RLE codec.
public enum RLECodecError: Error, Equatable, Sendable {
    /// The size is not `[height, width]` with non-negative entries.
    case badSize
    /// A character outside the COCO alphabet (`'0'` … `'o'`) at this offset.
    case badCharacter(offset: Int)
    /// The counts string ended in the middle of a number.
    case truncated
    /// A run length is negative or too large.
    case badRun(index: Int)
    /// The runs do not add up to `height * width`.
    case lengthMismatch(expected: Int, actual: Int)
}

/// COCO run-length encoding, byte-identical to `pycocotools.mask.encode`, on plain row-major bitmaps.
///
/// This is the one implementation of the codec: the server's mask types (RotoVision's `COCORLE`) and the
/// SDK's `MaskBitmap` both call it.
///
/// Pixels are taken in column-major order (down each column, columns left to right), runs alternate
/// background / selected starting with background, and run lengths are written in the COCO string form:
/// each value (minus the run two before it, for runs after the third) is written 5 bits per character,
/// low bits first, with bit 5 as the continuation flag and 48 added.
public enum RLECodec {
    /// Encodes a row-major bitmap of `width * height` bytes, each 0 or 1; returns the `counts` string
    /// (`size` is `[height, width]`).
    public static func encode(bitmap: [UInt8], width: Int, height: Int) -> String {
        countsString(runLengths(bitmap: bitmap, width: width, height: height))
    }

    /// Decodes a COCO RLE with `size` = `[height, width]` into `height * width` row-major bytes, each 0 or
    /// 1 (1 = selected); throws on malformed input.
    public static func decode(size: [Int], counts: String) throws(RLECodecError) -> [UInt8] {
        guard size.count == 2, size[0] >= 0, size[1] >= 0 else { throw .badSize }
        let runs = try parseCounts(counts)
        return try bitmap(fromRuns: runs, width: size[1], height: size[0])
    }

    /// The column-major run lengths of a row-major 0/1 bitmap (first run is background and may be 0).
    public static func runLengths(bitmap: [UInt8], width w: Int, height h: Int) -> [Int] {
        precondition(w >= 0 && h >= 0 && bitmap.count == w * h, "RLECodec: byte count does not match \(w)x\(h)")
        let n = w * h
        if n == 0 { return [0] }
        // Column-major transitions are vertical changes (pixel differs from the one above it) plus, at
        // row 0, a change from the bottom pixel of the previous column. Find them by walking rows
        // (contiguous memory, 8 bytes at a time) and bucket them by column with a counting sort.
        var tx: [Int32] = []
        var ty: [Int32] = []
        bitmap.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            // Row 0.
            var prev: UInt8 = 0
            for x in 0..<w {
                let v = base[x]
                if v != prev { tx.append(Int32(x)); ty.append(0) }
                prev = base[(h - 1) * w + x]
            }
            if h > 1 {
                let raw = UnsafeRawPointer(base)
                for y in 1..<h {
                    let cur = y * w, up = cur - w
                    var x = 0
                    while x + 8 <= w {
                        let a = raw.loadUnaligned(fromByteOffset: cur + x, as: UInt64.self)
                        let b = raw.loadUnaligned(fromByteOffset: up + x, as: UInt64.self)
                        var d = a ^ b
                        while d != 0 {
                            let bit = d.trailingZeroBitCount
                            tx.append(Int32(x + bit >> 3)); ty.append(Int32(y))
                            d &= ~(UInt64(0xFF) << UInt64(bit & ~7))
                        }
                        x += 8
                    }
                    while x < w {
                        if base[cur + x] != base[up + x] { tx.append(Int32(x)); ty.append(Int32(y)) }
                        x += 1
                    }
                }
            }
        }
        // Counting sort by column (stable: rows stay increasing).
        let m = tx.count
        var start = [Int](repeating: 0, count: w + 1)
        var sorted = [Int](repeating: 0, count: m)
        tx.withUnsafeBufferPointer { tx in
            ty.withUnsafeBufferPointer { ty in
                start.withUnsafeMutableBufferPointer { st in
                    for i in 0..<m { st[Int(tx[i]) + 1] += 1 }
                    for x in 0..<w { st[x + 1] += st[x] }
                    sorted.withUnsafeMutableBufferPointer { out in
                        for i in 0..<m {
                            let x = Int(tx[i])
                            out[st[x]] = x * h + Int(ty[i])
                            st[x] += 1
                        }
                    }
                }
            }
        }
        var runs = [Int]()
        runs.reserveCapacity(m + 1)
        var last = 0
        for p in sorted {
            runs.append(p - last)
            last = p
        }
        runs.append(n - last)
        return runs
    }

    /// Builds a row-major 0/1 bitmap of `width` × `height` from column-major run lengths.
    public static func bitmap(fromRuns runs: [Int], width w: Int, height h: Int) throws(RLECodecError) -> [UInt8] {
        let n = w * h
        var total = 0
        for (i, r) in runs.enumerated() {
            guard r >= 0, r <= n else { throw .badRun(index: i) }
            total += r
            guard total <= n else { throw .lengthMismatch(expected: n, actual: total) }
        }
        guard total == n else { throw .lengthMismatch(expected: n, actual: total) }
        var out = [UInt8](repeating: 0, count: n)
        if n == 0 { return out }
        // Mark vertical toggles (d[y][x] = m[y][x] ^ m[y-1][x]) sparsely and the exact values of row 0,
        // then resolve rows top to bottom with a word-wide xor prefix.
        out.withUnsafeMutableBufferPointer { o in
            let base = o.baseAddress!
            var pos = 0
            var value: UInt8 = 0
            var col = 0  // next column whose row-0 value is unset
            var lastValue: UInt8 = 0  // value of the last non-empty run
            for r in runs {
                let end = pos + r
                if r > 0 {
                    // Row-0 values for columns whose top pixel lies in [pos, end).
                    while col < w && col * h < end {
                        base[col] = value
                        col += 1
                    }
                    // The transition at `pos` (start of this run) if it is not at a row 0.
                    if pos > 0 && value != lastValue {
                        let y = pos % h
                        if y != 0 { base[y * w + pos / h] ^= 1 }
                    }
                    lastValue = value
                }
                pos = end
                value ^= 1
            }
            if h > 1 {
                let raw = UnsafeMutableRawPointer(base)
                for y in 1..<h {
                    let cur = y * w, up = cur - w
                    var x = 0
                    while x + 8 <= w {
                        let a = raw.loadUnaligned(fromByteOffset: cur + x, as: UInt64.self)
                        let b = raw.loadUnaligned(fromByteOffset: up + x, as: UInt64.self)
                        raw.storeBytes(of: a ^ b, toByteOffset: cur + x, as: UInt64.self)
                        x += 8
                    }
                    while x < w { base[cur + x] ^= base[up + x]; x += 1 }
                }
            }
        }
        return out
    }

    /// Writes run lengths in the COCO string form (pycocotools `rleToString`).
    public static func countsString(_ runs: [Int]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(runs.count * 3)
        for i in 0..<runs.count {
            var x = runs[i]
            if i > 2 { x -= runs[i - 2] }
            var more = true
            while more {
                var c = UInt8(truncatingIfNeeded: x & 0x1f)
                x >>= 5
                more = (c & 0x10) != 0 ? x != -1 : x != 0
                if more { c |= 0x20 }
                bytes.append(c + 48)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses the COCO string form into run lengths (pycocotools `rleFrString`), validating it.
    public static func parseCounts(_ s: String) throws(RLECodecError) -> [Int] {
        var runs = [Int]()
        var utf8 = Array(s.utf8)
        // pycocotools stops at a NUL; treat one the same way.
        if let z = utf8.firstIndex(of: 0) { utf8.removeSubrange(z...) }
        runs.reserveCapacity(utf8.count / 2)
        var p = 0
        while p < utf8.count {
            var x = 0, k = 0
            var more = true
            while more {
                guard p < utf8.count else { throw .truncated }
                let ch = utf8[p]
                guard ch >= 48, ch < 48 + 64 else { throw .badCharacter(offset: p) }
                let c = Int(ch - 48)
                guard k < 12 else { throw .badRun(index: runs.count) }
                x |= (c & 0x1f) << (5 * k)
                more = (c & 0x20) != 0
                p += 1
                k += 1
                if !more && (c & 0x10) != 0 { x |= -1 << (5 * k) }
            }
            if runs.count > 2 { x += runs[runs.count - 2] }
            guard x >= 0, x <= Int(UInt32.max) else { throw .badRun(index: runs.count) }
            runs.append(x)
        }
        return runs
    }
}
