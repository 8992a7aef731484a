import CZlib

/// Minimal PNG support for masks: a fast 1-bit grayscale encoder and a decoder for non-interlaced
/// grayscale PNGs (bit depth 1, 2, 4, 8 or 16; with or without alpha) and 8-bit RGB/RGBA/palette images.
public enum MaskPNG {
    /// Encodes `mask` as a 1-bit grayscale PNG: selected = white (1), background = black (0).
    /// `level` is the zlib compression level (1 is fastest and compresses masks well).
    public static func encode(_ mask: Mask, level: Int32 = 1) -> [UInt8] {
        let w = mask.width, h = mask.height
        let rowBytes = (w + 7) / 8
        let rawCount = h * (rowBytes + 1)
        var raw = [UInt8](repeating: 0, count: rawCount)
        mask.data.withUnsafeBufferPointer { src in
            raw.withUnsafeMutableBufferPointer { dst in
                let s = UnsafeRawPointer(src.baseAddress!)
                let d = dst.baseAddress!
                for y in 0..<h {
                    let srow = y * w
                    let drow = y * (rowBytes + 1) + 1  // filter byte 0 (None) precedes each row
                    var x = 0, k = 0
                    while x + 8 <= w {
                        let v = s.loadUnaligned(fromByteOffset: srow + x, as: UInt64.self)
                        // Bytes are 0/1; gather byte i into bit (7 - i).
                        d[drow + k] = UInt8(truncatingIfNeeded: (v &* 0x8040_2010_0804_0201) >> 56)
                        x += 8
                        k += 1
                    }
                    if x < w {
                        var b: UInt8 = 0
                        var bit: UInt8 = 0x80
                        while x < w {
                            if src[srow + x] != 0 { b |= bit }
                            bit >>= 1
                            x += 1
                        }
                        d[drow + k] = b
                    }
                }
            }
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var ihdr = [UInt8]()
        BigEndian.append32(&ihdr, UInt32(w))
        BigEndian.append32(&ihdr, UInt32(h))
        ihdr += [1, 0, 0, 0, 0]  // bit depth 1, grayscale, deflate, adaptive filter, no interlace
        appendChunk(&out, "IHDR", ihdr)
        appendChunk(&out, "IDAT", deflate(raw, level: level))
        appendChunk(&out, "IEND", [])
        return out
    }

    /// Decodes a PNG into a mask: a pixel is selected when its gray (or red, or palette index) value is
    /// non-zero. Throws on malformed or unsupported files (interlaced, bad CRC, truncated data).
    public static func decode(_ png: [UInt8]) throws -> Mask {
        let sig: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard png.count >= 8, Array(png[0..<8]) == sig else { throw MaskCodecError.badPNG("signature") }
        var p = 8
        var w = 0, h = 0, depth = 0, colorType = -1
        var idat = [UInt8]()
        var sawEnd = false
        while p + 12 <= png.count {
            let len = Int(BigEndian.read32(png, p))
            let typeStart = p + 4
            guard len >= 0, typeStart + 4 + len + 4 <= png.count else { throw MaskCodecError.badPNG("truncated chunk") }
            let type = String(decoding: png[typeStart..<typeStart + 4], as: UTF8.self)
            let dataStart = typeStart + 4
            let crcStored = BigEndian.read32(png, dataStart + len)
            let crcActual = png.withUnsafeBufferPointer { b -> UInt32 in
                UInt32(crc32(0, b.baseAddress! + typeStart, UInt32(len + 4)))
            }
            guard crcStored == crcActual else { throw MaskCodecError.badPNG("CRC mismatch in \(type)") }
            switch type {
            case "IHDR":
                guard len == 13 else { throw MaskCodecError.badPNG("IHDR length") }
                w = Int(BigEndian.read32(png, dataStart))
                h = Int(BigEndian.read32(png, dataStart + 4))
                depth = Int(png[dataStart + 8])
                colorType = Int(png[dataStart + 9])
                guard png[dataStart + 12] == 0 else { throw MaskCodecError.badPNG("interlaced") }
            case "IDAT":
                idat.append(contentsOf: png[dataStart..<dataStart + len])
            case "IEND":
                sawEnd = true
            default:
                break
            }
            p = dataStart + len + 4
            if sawEnd { break }
        }
        guard colorType >= 0, w > 0, h > 0 else { throw MaskCodecError.badPNG("missing IHDR") }
        let channels: Int
        switch colorType {
        case 0: channels = 1
        case 2: channels = 3
        case 3: channels = 1
        case 4: channels = 2
        case 6: channels = 4
        default: throw MaskCodecError.badPNG("color type \(colorType)")
        }
        guard [1, 2, 4, 8, 16].contains(depth), colorType == 0 || colorType == 3 || depth >= 8
        else { throw MaskCodecError.badPNG("bit depth \(depth)") }
        let bitsPerPixel = channels * depth
        let rowBytes = (w * bitsPerPixel + 7) / 8
        let bpp = max(1, bitsPerPixel / 8)
        var raw = try inflate(idat, expected: h * (rowBytes + 1))
        var out = [UInt8](repeating: 0, count: w * h)
        try raw.withUnsafeMutableBufferPointer { rb in
            let r = rb.baseAddress!
            for y in 0..<h {
                let row = r + y * (rowBytes + 1) + 1
                let prev: UnsafeMutablePointer<UInt8>? = y > 0 ? r + (y - 1) * (rowBytes + 1) + 1 : nil
                let filter = row[-1]
                switch filter {
                case 0: break
                case 1:
                    if rowBytes > bpp { for i in bpp..<rowBytes { row[i] &+= row[i - bpp] } }
                case 2:
                    if let prev { for i in 0..<rowBytes { row[i] &+= prev[i] } }
                case 3:
                    for i in 0..<rowBytes {
                        let a = i >= bpp ? Int(row[i - bpp]) : 0
                        let b = prev.map { Int($0[i]) } ?? 0
                        row[i] &+= UInt8((a + b) / 2)
                    }
                case 4:
                    for i in 0..<rowBytes {
                        let a = i >= bpp ? Int(row[i - bpp]) : 0
                        let b = prev.map { Int($0[i]) } ?? 0
                        let c = (i >= bpp ? prev.map { Int($0[i - bpp]) } : nil) ?? 0
                        let pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c)
                        let pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                        row[i] &+= UInt8(pred)
                    }
                default:
                    throw MaskCodecError.badPNG("filter \(filter)")
                }
            }
            out.withUnsafeMutableBufferPointer { ob in
                for y in 0..<h {
                    let row = r + y * (rowBytes + 1) + 1
                    let o = y * w
                    if depth < 8 {
                        let perByte = 8 / depth
                        let maskBits = UInt8((1 << depth) - 1)
                        for x in 0..<w {
                            let byte = row[x / perByte]
                            let shift = 8 - depth * (x % perByte + 1)
                            ob[o + x] = (byte >> UInt8(shift)) & maskBits != 0 ? 1 : 0
                        }
                    } else {
                        let stride = bitsPerPixel / 8
                        let sampleBytes = depth / 8
                        for x in 0..<w {
                            var nz = false
                            for k in 0..<sampleBytes where row[x * stride + k] != 0 { nz = true }
                            ob[o + x] = nz ? 1 : 0
                        }
                    }
                }
            }
        }
        return Mask(trusted: w, h, out)
    }

    // MARK: - zlib helpers

    static func deflate(_ data: [UInt8], level: Int32) -> [UInt8] {
        var bound = Int(compressBound(uLong(data.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let rc = out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { i in
                var destLen = uLongf(bound)
                let rc = compress2(o.baseAddress!, &destLen, i.baseAddress!, uLong(data.count), level)
                bound = Int(destLen)
                return rc
            }
        }
        precondition(rc == Z_OK, "zlib compress2 failed: \(rc)")
        out.removeSubrange(bound...)
        return out
    }

    static func inflate(_ data: [UInt8], expected: Int) throws -> [UInt8] {
        guard !data.isEmpty else { throw MaskCodecError.badPNG("no IDAT") }
        var out = [UInt8](repeating: 0, count: expected)
        var destLen = uLongf(expected)
        let rc = out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { i in
                uncompress(o.baseAddress!, &destLen, i.baseAddress!, uLong(data.count))
            }
        }
        guard rc == Z_OK, Int(destLen) == expected else { throw MaskCodecError.badPNG("zlib stream (rc \(rc))") }
        return out
    }


    static func appendChunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
        BigEndian.append32(&out, UInt32(data.count))
        let start = out.count
        out += Array(type.utf8)
        out += data
        let crc = out.withUnsafeBufferPointer { b in
            UInt32(crc32(0, b.baseAddress! + start, UInt32(b.count - start)))
        }
        BigEndian.append32(&out, crc)
    }
}

/// Encodes `mask` as a 1-bit grayscale PNG (selected = white).
public func encodePNG(_ mask: Mask) -> [UInt8] { MaskPNG.encode(mask) }

/// Decodes a grayscale PNG into a mask (non-zero = selected).
public func decodePNG(_ png: [UInt8]) throws -> Mask { try MaskPNG.decode(png) }
