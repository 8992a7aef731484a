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
        defer {
            sws_freeContext(toRGB)
            sws_freeContext(toYUV)
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
                let rc = image.withUnsafeBufferPointer { src in
                    var srcData: [UnsafePointer<UInt8>?] = [src.baseAddress, nil, nil, nil]
                    var srcStride: [Int32] = [Int32(width * 3), 0, 0, 0]
                    return withMutablePlanes(target.pointer) { dstData, dstStride in
                        sws_scale(toYUV, &srcData, &srcStride, 0, Int32(height), dstData, dstStride)
                    }
                }
                guard rc > 0 else { throw MediaError(code: .internalError, message: "swscale failed (\(rc))") }
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
