import CFFmpeg

/// How ``VideoRewriter`` encodes.
public struct RewriteOptions: Sendable, Equatable {
    /// libx264 preset. Default `veryfast`.
    public var preset: String
    /// libx264 constant rate factor. Default 20.
    public var crf: Int
    /// Decoder and encoder threads, clamped to 1…2. Default 2.
    public var threads: Int
    /// Seconds between keyframes. Default 2.
    public var keyframeSeconds: Double
    /// Deadline for the whole rewrite (`.timedOut` after it). Default 30 minutes.
    public var timeoutSeconds: Double

    /// Creates options; every argument has the documented default.
    public init(preset: String = "veryfast", crf: Int = 20, threads: Int = 2, keyframeSeconds: Double = 2,
                timeoutSeconds: Double = 1800) {
        self.preset = preset
        self.crf = crf
        self.threads = threads
        self.keyframeSeconds = keyframeSeconds
        self.timeoutSeconds = timeoutSeconds
    }
}

/// Re-encodes a normalised video frame by frame through an RGB edit: the edit tasks' renderer.
public enum VideoRewriter {
    /// Decodes `input` in order; `edit` gets each frame as packed RGB24 (the video's even-cropped size,
    /// full-range RGB from the stream's colour matrix) and returns one packed RGB24 image of the same
    /// size per output, which is encoded (H.264 yuv420p, `+faststart` MP4, the input's timestamps,
    /// rate and size; AAC audio copied) into that output. Outputs appear only when every one succeeded.
    /// Errors thrown by `edit` stop the rewrite: a ``MediaError`` propagates as is, anything else
    /// becomes `.invalidArgument`.
    public static func rewrite(input: String, outputs: [String], options: RewriteOptions = .init(),
                               edit: (RGBFrame) throws -> [[UInt8]]) throws(MediaError) -> [RenderedVideo] {
        let settings = TranscodeSettings(preset: options.preset, crf: options.crf, threads: options.threads,
                                         keyframeSeconds: options.keyframeSeconds, timeoutSeconds: options.timeoutSeconds,
                                         activity: "rendering the edit")
        var toRGB: OpaquePointer? = nil
        var toYUV: OpaquePointer? = nil
        // A converter for the box the edit changed (its size changes from frame to frame) and that size.
        var bandToYUV: OpaquePointer? = nil
        var bandSize = (width: 0, height: 0)
        var band: [UInt8] = []
        defer {
            sws_freeContext(toRGB)
            sws_freeContext(toYUV)
            sws_freeContext(bandToYUV)
        }
        var targets: [Frame] = []
        let (tally, sizes) = try transcode(input: input, outputs: outputs, settings: settings) {
            index, frame, size throws(MediaError) in
            let (width, height) = size.source
            let f = frame.pointee
            let space = Int32(bitPattern: f.colorspace.rawValue)
            let fullRange = f.color_range == AVCOL_RANGE_JPEG
            if toRGB == nil {
                // Odd sizes: the source is read one pixel smaller (a crop, not a scale).
                toRGB = sws_getContext(Int32(width), Int32(height), AVPixelFormat(rawValue: f.format),
                                       Int32(width), Int32(height), AV_PIX_FMT_RGB24,
                                       SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
                toYUV = sws_getContext(Int32(width), Int32(height), AV_PIX_FMT_RGB24,
                                       Int32(width), Int32(height), AV_PIX_FMT_YUV420P,
                                       SWS_BICUBIC | SWS_ACCURATE_RND, nil, nil, nil)
                guard let toRGB, let toYUV else {
                    throw MediaError(code: .internalError, message: "cannot convert \(pixelFormatName(f.format)) to RGB and back")
                }
                configureRGBConversion(toRGB, yuvSpace: space, yuvFullRange: fullRange, yuvIsSource: true)
                configureRGBConversion(toYUV, yuvSpace: space, yuvFullRange: false, yuvIsSource: false)
            }
            guard let toRGB, let toYUV else { throw MediaError(code: .internalError, message: "no converter") }
            let count = width * height * 3
            var scaled: Int32 = 0
            let pixels = [UInt8](unsafeUninitializedCapacity: count + 64) { buffer, initialized in
                var dst: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
                var stride: [Int32] = [Int32(width * 3), 0, 0, 0]
                scaled = withPlanes(frame) { srcData, srcStride in
                    sws_scale(toRGB, srcData, srcStride, 0, Int32(height), &dst, &stride)
                }
                initialized = scaled > 0 ? count : 0
            }
            guard scaled > 0 else { throw MediaError(code: .internalError, message: "swscale failed (\(scaled))") }
            let edited: [[UInt8]]
            do {
                edited = try edit(RGBFrame(index: index, width: width, height: height, pixels: pixels))
            } catch let error as MediaError {
                throw error
            } catch {
                throw MediaError(code: .invalidArgument, message: "the edit of frame \(index) failed: \(error)")
            }
            var ready: [UnsafeMutablePointer<AVFrame>] = []
            for (k, image) in edited.enumerated() {
                guard image.count == count else {
                    throw MediaError(code: .invalidArgument,
                                     message: "the edit of frame \(index) returned \(image.count) bytes, not \(count)")
                }
                if targets.count <= k {
                    let target = try Frame()
                    try target.allocate(width: width, height: height, format: AV_PIX_FMT_YUV420P)
                    targets.append(target)
                }
                let target = targets[k]
                try target.ensureWritable()
                // Pixels the edit left alone keep the decoded frame's own samples (limited-range 4:2:0
                // only): only the box of changed pixels, with a margin for the chroma filter, goes back
                // through the converter; the rest is not round-tripped through RGB at all.
                let changed = changedBox(original: pixels, edited: image, width: width, height: height)
                let direct = f.format == AV_PIX_FMT_YUV420P.rawValue && !fullRange
                let small = changed.map { $0.rows.count * $0.columns.count < width * height / 2 } ?? true
                if direct && small {
                    // The decoded frame's samples, then the changed box's over them.
                    withPlanes(frame) { src, srcStride in
                        withMutablePlanes(target.pointer) { dst, dstStride in
                            for k in 0..<3 {
                                guard let from = src[k], let to = dst[k] else { continue }
                                let shift = k == 0 ? 0 : 1
                                for y in 0..<(height >> shift) {
                                    (to + y * Int(dstStride[k])).update(from: from + y * Int(srcStride[k]), count: width >> shift)
                                }
                            }
                        }
                    }
                    if let changed {
                        // The changed box grown by a margin for the chroma filter, on even coordinates.
                        let margin = 8
                        let y0 = max(0, changed.rows.lowerBound - margin) & ~1
                        let y1 = min(height, (changed.rows.upperBound + margin + 1) & ~1)
                        let x0 = max(0, changed.columns.lowerBound - margin) & ~1
                        let x1 = min(width, (changed.columns.upperBound + margin + 1) & ~1)
                        let bw = x1 - x0, bh = y1 - y0
                        if bw != bandSize.width || bh != bandSize.height {
                            sws_freeContext(bandToYUV)
                            bandToYUV = sws_getContext(Int32(bw), Int32(bh), AV_PIX_FMT_RGB24,
                                                       Int32(bw), Int32(bh), AV_PIX_FMT_YUV420P,
                                                       SWS_BICUBIC | SWS_ACCURATE_RND, nil, nil, nil)
                            guard let bandToYUV else { throw MediaError(code: .internalError, message: "no converter for the edited box") }
                            configureRGBConversion(bandToYUV, yuvSpace: space, yuvFullRange: false, yuvIsSource: false)
                            bandSize = (bw, bh)
                            band = [UInt8](repeating: 0, count: bw * bh + 2 * (bw / 2) * (bh / 2) + 64)
                        }
                        // Where the box's Y, U and V planes start in `band`.
                        let boxOffsets = [0, bw * bh, bw * bh + (bw / 2) * (bh / 2)]
                        let rc = image.withUnsafeBufferPointer { src in
                            band.withUnsafeMutableBufferPointer { B in
                                var srcData: [UnsafePointer<UInt8>?] = [src.baseAddress! + (y0 * width + x0) * 3, nil, nil, nil]
                                var srcStride: [Int32] = [Int32(width * 3), 0, 0, 0]
                                let base = B.baseAddress!
                                var dstData: [UnsafeMutablePointer<UInt8>?] = boxOffsets.map { base + $0 } + [nil]
                                var dstStride: [Int32] = [Int32(bw), Int32(bw / 2), Int32(bw / 2), 0]
                                return sws_scale(bandToYUV, &srcData, &srcStride, 0, Int32(bh), &dstData, &dstStride)
                            }
                        }
                        guard rc > 0 else { throw MediaError(code: .internalError, message: "swscale failed (\(rc))") }
                        // Samples taken from the box: all of it at the frame's edges, else inside the margin.
                        let r0 = y0 == 0 ? 0 : y0 + margin, r1 = y1 == height ? height : y1 - margin
                        let k0 = x0 == 0 ? 0 : x0 + margin, k1 = x1 == width ? width : x1 - margin
                        band.withUnsafeBufferPointer { B in
                            let base = B.baseAddress!
                            withMutablePlanes(target.pointer) { dst, dstStride in
                                for k in 0..<3 {
                                    guard let to = dst[k] else { continue }
                                    let shift = k == 0 ? 0 : 1
                                    let boxWidth = bw >> shift, bx = x0 >> shift
                                    let c0 = k0 >> shift, c1 = k1 >> shift
                                    for y in (r0 >> shift)..<(r1 >> shift) {
                                        let boxRow = base + boxOffsets[k] + (y - (y0 >> shift)) * boxWidth
                                        (to + y * Int(dstStride[k]) + c0).update(from: boxRow + (c0 - bx), count: c1 - c0)
                                    }
                                }
                            }
                        }
                    }
                } else {
                    let rc = image.withUnsafeBufferPointer { src in
                        var srcData: [UnsafePointer<UInt8>?] = [src.baseAddress, nil, nil, nil]
                        var srcStride: [Int32] = [Int32(width * 3), 0, 0, 0]
                        return withMutablePlanes(target.pointer) { dstData, dstStride in
                            sws_scale(toYUV, &srcData, &srcStride, 0, Int32(height), dstData, dstStride)
                        }
                    }
                    guard rc > 0 else { throw MediaError(code: .internalError, message: "swscale failed (\(rc))") }
                }
                target.pointer.pointee.colorspace = f.colorspace
                target.pointer.pointee.color_range = AVCOL_RANGE_MPEG
                ready.append(target.pointer)
            }
            return ready
        }
        return zip(outputs, sizes).map { path, size in
            RenderedVideo(path: path, frameCount: tally.frameCount, width: tally.width, height: tally.height,
                          overlaidFrames: tally.frameCount, byteSize: size)
        }
    }
}

/// The bounding box (half-open row and column ranges) of the pixels where `edited` differs from
/// `original` (packed RGB24, `width` × `height`); nil when they are the same.
func changedBox(original: [UInt8], edited: [UInt8], width: Int, height: Int) -> (rows: Range<Int>, columns: Range<Int>)? {
    let rowBytes = width * 3
    return original.withUnsafeBufferPointer { A in
        edited.withUnsafeBufferPointer { B in
            let a = A.baseAddress!, b = B.baseAddress!
            func differs(_ y: Int) -> Bool { memcmp(a + y * rowBytes, b + y * rowBytes, rowBytes) != 0 }
            guard let first = (0..<height).first(where: differs) else { return nil }
            let last = (first..<height).last(where: differs) ?? first
            var x0 = width, x1 = 0
            for y in first...last {
                let row = y * rowBytes
                var x = 0
                while x < x0 && a[row + 3 * x] == b[row + 3 * x] && a[row + 3 * x + 1] == b[row + 3 * x + 1]
                    && a[row + 3 * x + 2] == b[row + 3 * x + 2] { x += 1 }
                if x < x0 { x0 = x }
                var e = width - 1
                while e >= x1 && a[row + 3 * e] == b[row + 3 * e] && a[row + 3 * e + 1] == b[row + 3 * e + 1]
                    && a[row + 3 * e + 2] == b[row + 3 * e + 2] { e -= 1 }
                if e + 1 > x1 { x1 = e + 1 }
            }
            return x0 < x1 ? (first..<(last + 1), x0..<x1) : nil
        }
    }
}

/// Sets the colour matrix of a conversion between a YUV format and full-range RGB: the YUV side uses
/// `yuvSpace` (an `AVColorSpace` value; BT.601 when unspecified) and its range.
func configureRGBConversion(_ sws: OpaquePointer, yuvSpace: Int32, yuvFullRange: Bool, yuvIsSource: Bool) {
    let matrix = (1...10).contains(yuvSpace) ? yuvSpace : SWS_CS_DEFAULT
    let yuv = sws_getCoefficients(matrix), rgb = sws_getCoefficients(SWS_CS_DEFAULT)
    let yuvRange: Int32 = yuvFullRange ? 1 : 0
    if yuvIsSource {
        _ = sws_setColorspaceDetails(sws, yuv, yuvRange, rgb, 1, 0, 1 << 16, 1 << 16)
    } else {
        _ = sws_setColorspaceDetails(sws, rgb, 1, yuv, yuvRange, 0, 1 << 16, 1 << 16)
    }
}
