import CFFmpeg
import RotoThreads
import Synchronization

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
    ///
    /// With `options.threads` 2, two consecutive frames are converted and edited at once, each on a
    /// thread of its own, while the caller's thread decodes and encodes, so `edit` must be safe to
    /// call concurrently.
    public static func rewrite(input: String, outputs: [String], options: RewriteOptions = .init(),
                               edit: @escaping @Sendable (RGBFrame) throws -> [[UInt8]]) throws(MediaError) -> [RenderedVideo] {
        let settings = TranscodeSettings(preset: options.preset, crf: options.crf, threads: options.threads,
                                         keyframeSeconds: options.keyframeSeconds, timeoutSeconds: options.timeoutSeconds,
                                         activity: "rendering the edit")
        // One worker per thread, each with its own converters: FFmpeg's scalers are never shared. A
        // batch (one frame per worker) renders on threads of its own while this thread decodes the
        // next batch and encodes the one before.
        let workers = (0..<min(max(options.threads, 1), 2)).map { _ in RewriteWorker() }
        var held: [PlanarImage] = []
        var rendering: Pending<[Result<[PlanarImage], MediaError>]>? = nil
        // The frames handed to the encoders, per batch slot and output.
        var targets: [[Frame]] = []
        func encodable(_ rendered: [Result<[PlanarImage], MediaError>]) throws(MediaError) -> [[UnsafeMutablePointer<AVFrame>]] {
            var finished: [[UnsafeMutablePointer<AVFrame>]] = []
            for (slot, result) in rendered.enumerated() {
                let images = try result.get()
                if targets.count <= slot { targets.append([]) }
                var ready: [UnsafeMutablePointer<AVFrame>] = []
                for (k, image) in images.enumerated() {
                    if targets[slot].count <= k {
                        let target = try Frame()
                        try target.allocate(width: image.width, height: image.height, format: AV_PIX_FMT_YUV420P)
                        targets[slot].append(target)
                    }
                    let target = targets[slot][k]
                    try target.ensureWritable()
                    image.copy(to: target.pointer)
                    target.pointer.pointee.colorspace = AVColorSpace(rawValue: UInt32(bitPattern: image.colorspace))
                    target.pointer.pointee.color_range = AVCOL_RANGE_MPEG
                    ready.append(target.pointer)
                }
                finished.append(ready)
            }
            return finished
        }
        let (tally, sizes) = try transcode(input: input, outputs: outputs, settings: settings) {
            index, decoded, size throws(MediaError) in
            if let decoded {
                held.append(try PlanarImage(copying: decoded, index: index, width: size.source.width, height: size.source.height))
                if held.count < workers.count { return [] }
            }
            // The batch before (waited for), then this one started; after the last frame, both.
            let previous = rendering?.value ?? []
            rendering = nil
            if !held.isEmpty {
                let batch = held
                held.removeAll(keepingCapacity: true)
                rendering = Pending {
                    parallelMap(batch.count, threads: batch.count) { k in
                        workers[k].render(batch[k], outputs: outputs.count, edit: edit)
                    }
                }
            }
            if decoded == nil, let last = rendering?.value {
                rendering = nil
                return try encodable(previous + last)
            }
            return try encodable(previous)
        }
        return zip(outputs, sizes).map { path, size in
            RenderedVideo(path: path, frameCount: tally.frameCount, width: tally.width, height: tally.height,
                          overlaidFrames: tally.frameCount, byteSize: size)
        }
    }
}

/// A decoded picture copied out of FFmpeg's buffers, its planes packed one after another without
/// padding (`av_image_copy_to_buffer`, alignment 1): plain bytes, so it can cross threads.
struct PlanarImage: Sendable {
    var index: Int
    var width: Int
    var height: Int
    /// `AVPixelFormat` raw value.
    var format: Int32
    /// `AVColorSpace` raw value.
    var colorspace: Int32
    var fullRange: Bool
    var bytes: [UInt8]

    /// The top-left `width` × `height` of `frame`.
    init(copying frame: UnsafeMutablePointer<AVFrame>, index: Int, width: Int, height: Int) throws(MediaError) {
        let f = frame.pointee
        let format = AVPixelFormat(rawValue: f.format)
        let count = Int(av_image_get_buffer_size(format, Int32(width), Int32(height), 1))
        guard count > 0 else {
            throw MediaError(code: .internalError, message: "cannot copy a \(pixelFormatName(f.format)) frame of \(width)x\(height)")
        }
        var rc: Int32 = 0
        bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            rc = withPlanes(frame) { data, strides in
                av_image_copy_to_buffer(buffer.baseAddress, Int32(count), data, strides, format, Int32(width), Int32(height), 1)
            }
            initialized = rc > 0 ? count : 0
        }
        guard rc > 0 else { throw MediaError(code: .internalError, message: "cannot copy a decoded frame: \(ffErrorString(rc))", ffmpegError: rc) }
        self.index = index
        self.width = width
        self.height = height
        self.format = f.format
        self.colorspace = Int32(bitPattern: f.colorspace.rawValue)
        self.fullRange = f.color_range == AVCOL_RANGE_JPEG
    }

    /// An unset limited-range yuv420p picture (`width` and `height` even).
    init(yuv420pWidth width: Int, height: Int, index: Int, colorspace: Int32) {
        self.index = index
        self.width = width
        self.height = height
        format = AV_PIX_FMT_YUV420P.rawValue
        self.colorspace = colorspace
        fullRange = false
        bytes = [UInt8](repeating: 0, count: width * height * 3 / 2)
    }

    /// Calls `body` with the planes' pointers and strides.
    func withPlanePointers<R>(_ body: (UnsafePointer<UnsafePointer<UInt8>?>, UnsafePointer<Int32>) -> R) -> R {
        bytes.withUnsafeBufferPointer { B in
            var data: [UnsafeMutablePointer<UInt8>?] = [nil, nil, nil, nil]
            var strides: [Int32] = [0, 0, 0, 0]
            _ = av_image_fill_arrays(&data, &strides, B.baseAddress, AVPixelFormat(rawValue: format), Int32(width), Int32(height), 1)
            let constant = data.map { UnsafePointer($0) }
            return constant.withUnsafeBufferPointer { d in strides.withUnsafeBufferPointer { s in body(d.baseAddress!, s.baseAddress!) } }
        }
    }

    /// Calls `body` with the planes' writable pointers and strides.
    mutating func withMutablePlanePointers<R>(_ body: (UnsafePointer<UnsafeMutablePointer<UInt8>?>, UnsafePointer<Int32>) -> R) -> R {
        let (format, width, height) = (format, width, height)
        return bytes.withUnsafeMutableBufferPointer { B in
            var data: [UnsafeMutablePointer<UInt8>?] = [nil, nil, nil, nil]
            var strides: [Int32] = [0, 0, 0, 0]
            _ = av_image_fill_arrays(&data, &strides, B.baseAddress, AVPixelFormat(rawValue: format), Int32(width), Int32(height), 1)
            return data.withUnsafeBufferPointer { d in strides.withUnsafeBufferPointer { s in body(d.baseAddress!, s.baseAddress!) } }
        }
    }

    /// Copies this yuv420p picture into `frame`'s planes (a yuv420p frame of the same size).
    func copy(to frame: UnsafeMutablePointer<AVFrame>) {
        withPlanePointers { src, srcStride in
            withMutablePlanes(frame) { dst, dstStride in
                copyPlanes420(from: src, srcStride, to: dst, dstStride, rows: 0..<height, columns: 0..<width)
            }
        }
    }
}

/// Copies the rows and columns (even bounds, in the frame's luma pixels) of three yuv420p planes; the
/// source planes hold the part of the frame from `origin` (even) on.
func copyPlanes420(from src: UnsafePointer<UnsafePointer<UInt8>?>, _ srcStride: UnsafePointer<Int32>,
                   origin: (x: Int, y: Int) = (0, 0),
                   to dst: UnsafePointer<UnsafeMutablePointer<UInt8>?>, _ dstStride: UnsafePointer<Int32>,
                   rows: Range<Int>, columns: Range<Int>) {
    for k in 0..<3 {
        guard let from = src[k], let to = dst[k] else { continue }
        let shift = k == 0 ? 0 : 1
        let c0 = columns.lowerBound >> shift, n = (columns.upperBound >> shift) - c0
        let ox = origin.x >> shift, oy = origin.y >> shift
        for y in (rows.lowerBound >> shift)..<(rows.upperBound >> shift) {
            (to + y * Int(dstStride[k]) + c0).update(from: from + (y - oy) * Int(srcStride[k]) + (c0 - ox), count: n)
        }
    }
}

/// One thread's share of a rewrite: its converters, used by one thread at a time.
private final class RewriteWorker: Sendable {
    private let converters = Mutex(FrameConverters())

    /// `source` converted to RGB, edited, and converted back to one yuv420p picture per output.
    func render(_ source: PlanarImage, outputs: Int, edit: @Sendable (RGBFrame) throws -> [[UInt8]]) -> Result<[PlanarImage], MediaError> {
        converters.withLock { converters in
            Result { () throws(MediaError) in try converters.render(source, outputs: outputs, edit: edit) }
        }
    }
}

/// A worker's swscale contexts: the source's format to RGB, RGB to yuv420p, and RGB to yuv420p for the
/// box the edit changed (its size changes from frame to frame) with a buffer of that size.
private final class FrameConverters {
    private var toRGB: OpaquePointer? = nil
    private var toYUV: OpaquePointer? = nil
    private var bandToYUV: OpaquePointer? = nil
    private var bandSize = (width: 0, height: 0)
    private var band: [UInt8] = []

    deinit {
        sws_freeContext(toRGB)
        sws_freeContext(toYUV)
        sws_freeContext(bandToYUV)
    }

    func render(_ source: PlanarImage, outputs: Int, edit: (RGBFrame) throws -> [[UInt8]]) throws(MediaError) -> [PlanarImage] {
        let (width, height, index) = (source.width, source.height, source.index)
        if toRGB == nil {
            // Odd sizes: the source is read one pixel smaller (a crop, not a scale).
            toRGB = sws_getContext(Int32(width), Int32(height), AVPixelFormat(rawValue: source.format),
                                   Int32(width), Int32(height), AV_PIX_FMT_RGB24,
                                   SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
            toYUV = sws_getContext(Int32(width), Int32(height), AV_PIX_FMT_RGB24,
                                   Int32(width), Int32(height), AV_PIX_FMT_YUV420P,
                                   SWS_BICUBIC | SWS_ACCURATE_RND, nil, nil, nil)
            guard let toRGB, let toYUV else {
                throw MediaError(code: .internalError, message: "cannot convert \(pixelFormatName(source.format)) to RGB and back")
            }
            configureRGBConversion(toRGB, yuvSpace: source.colorspace, yuvFullRange: source.fullRange, yuvIsSource: true)
            configureRGBConversion(toYUV, yuvSpace: source.colorspace, yuvFullRange: false, yuvIsSource: false)
        }
        guard let toRGB, let toYUV else { throw MediaError(code: .internalError, message: "no converter") }
        let count = width * height * 3
        var scaled: Int32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: count + 64) { buffer, initialized in
            var dst: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
            var stride: [Int32] = [Int32(width * 3), 0, 0, 0]
            scaled = source.withPlanePointers { srcData, srcStride in
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
        guard edited.count == outputs else {
            throw MediaError(code: .internalError, message: "the edit of frame \(index) returned \(edited.count) images for \(outputs) outputs")
        }
        var results: [PlanarImage] = []
        for image in edited {
            guard image.count == count else {
                throw MediaError(code: .invalidArgument,
                                 message: "the edit of frame \(index) returned \(image.count) bytes, not \(count)")
            }
            // Pixels the edit left alone keep the decoded frame's own samples (limited-range 4:2:0
            // only): only the box of changed pixels, with a margin for the chroma filter, goes back
            // through the converter; the rest is not round-tripped through RGB at all.
            let changed = changedBox(original: pixels, edited: image, width: width, height: height)
            let direct = source.format == AV_PIX_FMT_YUV420P.rawValue && !source.fullRange
            let small = changed.map { $0.rows.count * $0.columns.count < width * height / 2 } ?? true
            if direct && small {
                // The decoded frame's samples (the same layout), then the changed box's over them.
                var result = source
                if let changed {
                    try convertBox(changed, of: image, into: &result)
                }
                results.append(result)
            } else {
                var result = PlanarImage(yuv420pWidth: width, height: height, index: index, colorspace: source.colorspace)
                let rc = image.withUnsafeBufferPointer { src in
                    var srcData: [UnsafePointer<UInt8>?] = [src.baseAddress, nil, nil, nil]
                    var srcStride: [Int32] = [Int32(width * 3), 0, 0, 0]
                    return result.withMutablePlanePointers { dstData, dstStride in
                        sws_scale(toYUV, &srcData, &srcStride, 0, Int32(height), dstData, dstStride)
                    }
                }
                guard rc > 0 else { throw MediaError(code: .internalError, message: "swscale failed (\(rc))") }
                results.append(result)
            }
        }
        return results
    }

    /// Converts the `changed` box of `image` (packed RGB24 of `target`'s size) to yuv420p over `target`.
    private func convertBox(_ changed: (rows: Range<Int>, columns: Range<Int>), of image: [UInt8],
                            into target: inout PlanarImage) throws(MediaError) {
        let (width, height) = (target.width, target.height)
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
            configureRGBConversion(bandToYUV, yuvSpace: target.colorspace, yuvFullRange: false, yuvIsSource: false)
            bandSize = (bw, bh)
            band = [UInt8](repeating: 0, count: bw * bh + 2 * (bw / 2) * (bh / 2) + 64)
        }
        // Where the box's Y, U and V planes start in `band`.
        let boxOffsets = [0, bw * bh, bw * bh + (bw / 2) * (bh / 2)]
        let converter = bandToYUV
        let rc = image.withUnsafeBufferPointer { src in
            band.withUnsafeMutableBufferPointer { B in
                var srcData: [UnsafePointer<UInt8>?] = [src.baseAddress! + (y0 * width + x0) * 3, nil, nil, nil]
                var srcStride: [Int32] = [Int32(width * 3), 0, 0, 0]
                let base = B.baseAddress!
                var dstData: [UnsafeMutablePointer<UInt8>?] = boxOffsets.map { base + $0 } + [nil]
                var dstStride: [Int32] = [Int32(bw), Int32(bw / 2), Int32(bw / 2), 0]
                return sws_scale(converter, &srcData, &srcStride, 0, Int32(bh), &dstData, &dstStride)
            }
        }
        guard rc > 0 else { throw MediaError(code: .internalError, message: "swscale failed (\(rc))") }
        // Samples taken from the box: all of it at the frame's edges, else inside the margin.
        let r0 = y0 == 0 ? 0 : y0 + margin, r1 = y1 == height ? height : y1 - margin
        let k0 = x0 == 0 ? 0 : x0 + margin, k1 = x1 == width ? width : x1 - margin
        band.withUnsafeBufferPointer { B in
            let planes: [UnsafePointer<UInt8>?] = boxOffsets.map { B.baseAddress! + $0 } + [nil]
            let strides: [Int32] = [Int32(bw), Int32(bw / 2), Int32(bw / 2), 0]
            target.withMutablePlanePointers { dst, dstStride in
                copyPlanes420(from: planes, strides, origin: (x0, y0), to: dst, dstStride, rows: r0..<r1, columns: k0..<k1)
            }
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
