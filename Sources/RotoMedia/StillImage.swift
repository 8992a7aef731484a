import CFFmpeg

/// A decoded still image: packed RGB24 and an alpha plane (all 255 when the image has none).
public struct StillImage: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// `width * height * 3` bytes, rows top to bottom.
    public var rgb: [UInt8]
    /// `width * height` bytes of straight alpha.
    public var alpha: [UInt8]
    /// Whether any pixel is not fully opaque.
    public var hasTransparency: Bool { alpha.contains { $0 != 255 } }

    /// The formats ``decode(_:)`` reads.
    public enum Format: Sendable { case jpeg, png }

    /// Decodes a JPEG or PNG with libavcodec. Refuses images larger than `maxPixels` (before
    /// allocating their pixels) and anything that does not decode (`.undecodable`).
    public static func decode(_ bytes: [UInt8], format: Format, maxPixels: Int = 64 << 20) throws(MediaError) -> StillImage {
        FFmpegSetup.ensure()
        let id = format == .png ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG
        guard let codec = avcodec_find_decoder(id) else {
            throw MediaError(code: .undecodable, message: "no \(format) decoder")
        }
        guard let context = avcodec_alloc_context3(codec) else {
            throw MediaError(code: .internalError, message: "cannot allocate a decoder context")
        }
        defer {
            var c: UnsafeMutablePointer<AVCodecContext>? = context
            avcodec_free_context(&c)
        }
        context.pointee.thread_count = 1
        var rc = avcodec_open2(context, codec, nil)
        guard rc >= 0 else {
            throw MediaError(code: .undecodable, message: "cannot open the \(format) decoder: \(ffErrorString(rc))", ffmpegError: rc)
        }
        let packet = try Packet()
        rc = av_new_packet(packet.pointer, Int32(bytes.count))
        guard rc >= 0 else { throw MediaError(code: .internalError, message: "cannot allocate a packet", ffmpegError: rc) }
        bytes.withUnsafeBufferPointer { src in
            packet.pointer.pointee.data.update(from: src.baseAddress!, count: bytes.count)
        }
        let frame = try Frame()
        rc = avcodec_send_packet(context, packet.pointer)
        if rc >= 0 { rc = avcodec_receive_frame(context, frame.pointer) }
        if rc == roto_eagain() {
            _ = avcodec_send_packet(context, nil)
            rc = avcodec_receive_frame(context, frame.pointer)
        }
        guard rc >= 0 else {
            throw MediaError(code: .undecodable, message: "the \(format) image does not decode: \(ffErrorString(rc))", ffmpegError: rc)
        }
        let f = frame.pointer.pointee
        let width = Int(f.width), height = Int(f.height)
        guard width > 0, height > 0, width * height <= maxPixels else {
            throw MediaError(code: .undecodable, message: "bad image size \(width)x\(height)")
        }
        guard let sws = sws_getContext(f.width, f.height, AVPixelFormat(rawValue: f.format), f.width, f.height,
                                       AV_PIX_FMT_RGBA, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil) else {
            throw MediaError(code: .undecodable, message: "cannot convert \(pixelFormatName(f.format)) to RGBA")
        }
        defer { sws_freeContext(sws) }
        if let desc = av_pix_fmt_desc_get(AVPixelFormat(rawValue: f.format)), desc.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB) == 0 {
            configureRGBConversion(sws, yuvSpace: Int32(bitPattern: f.colorspace.rawValue),
                                   yuvFullRange: f.color_range == AVCOL_RANGE_JPEG || format == .jpeg, yuvIsSource: true)
        }
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        let scaled = rgba.withUnsafeMutableBufferPointer { buffer in
            var dst: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
            var stride: [Int32] = [Int32(width * 4), 0, 0, 0]
            return withPlanes(frame.pointer) { srcData, srcStride in
                sws_scale(sws, srcData, srcStride, 0, f.height, &dst, &stride)
            }
        }
        guard scaled > 0 else { throw MediaError(code: .undecodable, message: "swscale failed (\(scaled))") }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        var alpha = [UInt8](repeating: 255, count: width * height)
        rgba.withUnsafeBufferPointer { s in
            rgb.withUnsafeMutableBufferPointer { d in
                alpha.withUnsafeMutableBufferPointer { a in
                    for i in 0..<(width * height) {
                        d[3 * i] = s[4 * i]
                        d[3 * i + 1] = s[4 * i + 1]
                        d[3 * i + 2] = s[4 * i + 2]
                        a[i] = s[4 * i + 3]
                    }
                }
            }
        }
        let image = StillImage(width: width, height: height, rgb: rgb, alpha: alpha)
        // A camera's EXIF orientation (the JPEG decoder exports it): the picture as it is meant to be seen.
        guard let entry = av_dict_get(f.metadata, "Orientation", nil, 0), let value = entry.pointee.value,
              let orientation = String(cString: value).split(separator: " ").first.flatMap({ Int($0) }) else { return image }
        return image.oriented(exif: orientation)
    }

    /// The image as displayed under EXIF orientation `exif` (1 as stored, 2 mirrored, 3 turned 180°, 4
    /// flipped, 5 transposed, 6 turned 90° clockwise, 7 transversed, 8 turned 90° anticlockwise); other
    /// values leave it as stored.
    public func oriented(exif: Int) -> StillImage {
        guard (2...8).contains(exif) else { return self }
        let w = width, h = height, swap = exif >= 5
        let ow = swap ? h : w, oh = swap ? w : h
        var out = StillImage(width: ow, height: oh, rgb: [UInt8](repeating: 0, count: ow * oh * 3),
                             alpha: [UInt8](repeating: 0, count: ow * oh))
        rgb.withUnsafeBufferPointer { s in
        alpha.withUnsafeBufferPointer { sa in
        out.rgb.withUnsafeMutableBufferPointer { d in
        out.alpha.withUnsafeMutableBufferPointer { da in
            for y in 0..<oh {
                for x in 0..<ow {
                    // The stored pixel shown at (x, y).
                    let (sx, sy): (Int, Int)
                    switch exif {
                    case 2: (sx, sy) = (w - 1 - x, y)
                    case 3: (sx, sy) = (w - 1 - x, h - 1 - y)
                    case 4: (sx, sy) = (x, h - 1 - y)
                    case 5: (sx, sy) = (y, x)
                    case 6: (sx, sy) = (y, h - 1 - x)
                    case 7: (sx, sy) = (w - 1 - y, h - 1 - x)
                    default: (sx, sy) = (w - 1 - y, x)
                    }
                    let i = sy * w + sx, o = y * ow + x
                    d[3 * o] = s[3 * i]; d[3 * o + 1] = s[3 * i + 1]; d[3 * o + 2] = s[3 * i + 2]
                    da[o] = sa[i]
                }
            }
        }}}}
        return out
    }
}
