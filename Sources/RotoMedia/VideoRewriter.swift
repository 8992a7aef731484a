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

/// A rectangle of a frame's pixels: half-open row and column ranges.
public struct PixelRegion: Sendable, Equatable {
    public var rows: Range<Int>
    public var columns: Range<Int>

    public init(rows: Range<Int>, columns: Range<Int>) {
        self.rows = rows
        self.columns = columns
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
    ///
    /// `regions(index, width, height)`, when not nil, names every pixel the edit of that frame (of that
    /// size) reads or changes. Only those rectangles are then converted to RGB (the rest of the frame
    /// given to `edit` is black) and back, when the source allows (limited-range 4:2:0) and they
    /// cover less than half the frame; a change outside their bounding box fails the rewrite. Nil,
    /// the default: the whole frame.
    public static func rewrite(input: String, outputs: [String], options: RewriteOptions = .init(),
                               regions: @escaping @Sendable (Int, Int, Int) -> [PixelRegion]? = { _, _, _ in nil },
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
                        workers[k].render(batch[k], regions: regions(batch[k].index, batch[k].width, batch[k].height), outputs: outputs.count, edit: edit)
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
    func render(_ source: PlanarImage, regions: [PixelRegion]?, outputs: Int,
                edit: @Sendable (RGBFrame) throws -> [[UInt8]]) -> Result<[PlanarImage], MediaError> {
        converters.withLock { converters in
            Result { () throws(MediaError) in try converters.render(source, regions: regions, outputs: outputs, edit: edit) }
        }
    }
}

/// A worker's swscale contexts: the source's format to RGB and RGB to yuv420p for whole frames, and,
/// made again when the size changes from frame to frame, yuv420p to RGB for an edit's region and RGB
/// to yuv420p for the box the edit changed (with a buffer of that size).
private final class FrameConverters {
    private var toRGB: OpaquePointer? = nil
    private var toYUV: OpaquePointer? = nil
    private var bandToYUV: OpaquePointer? = nil
    private var bandSize = (width: 0, height: 0)
    private var band: [UInt8] = []
    private var regionToRGB: OpaquePointer? = nil
    private var regionSize = (width: 0, height: 0)

    deinit {
        sws_freeContext(toRGB)
        sws_freeContext(toYUV)
        sws_freeContext(bandToYUV)
        sws_freeContext(regionToRGB)
    }

    func render(_ source: PlanarImage, regions: [PixelRegion]?, outputs: Int,
                edit: (RGBFrame) throws -> [[UInt8]]) throws(MediaError) -> [PlanarImage] {
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
        // Limited-range 4:2:0 (what normalisation produces) can be converted by the box.
        let direct = source.format == AV_PIX_FMT_YUV420P.rawValue && !source.fullRange
        // The edit's regions, clipped to the frame, when only they are converted: grown by a margin so
        // that the chroma filters see real neighbours wherever the edit reads.
        let partial: [PixelRegion]? = regions.flatMap { regions in
            guard direct else { return nil }
            let clipped = regions.map { $0.clamped(width: width, height: height) }.filter { !$0.isEmpty }
            let area = clipped.reduce(0) { $0 + $1.grown(by: regionMargin, width: width, height: height).area }
            return area < width * height / 2 ? clipped : nil
        }
        let pixels: [UInt8]
        if let partial {
            var rgb = [UInt8](repeating: 0, count: count + 64)
            for region in partial {
                try convertToRGB(region.grown(by: regionMargin, width: width, height: height), of: source, into: &rgb)
            }
            rgb.removeLast(64)
            pixels = rgb
        } else {
            var scaled: Int32 = 0
            pixels = [UInt8](unsafeUninitializedCapacity: count + 64) { buffer, initialized in
                var dst: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
                var stride: [Int32] = [Int32(width * 3), 0, 0, 0]
                scaled = source.withPlanePointers { srcData, srcStride in
                    sws_scale(toRGB, srcData, srcStride, 0, Int32(height), &dst, &stride)
                }
                initialized = scaled > 0 ? count : 0
            }
            guard scaled > 0 else { throw MediaError(code: .internalError, message: "swscale failed (\(scaled))") }
        }
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
            if let partial {
                // Every change must lie among the regions (checked by their bounding box).
                if let changed, !(PixelRegion.bounds(of: partial).map {
                    $0.rows.lowerBound <= changed.rows.lowerBound && changed.rows.upperBound <= $0.rows.upperBound
                        && $0.columns.lowerBound <= changed.columns.lowerBound && changed.columns.upperBound <= $0.columns.upperBound
                } ?? false) {
                    throw MediaError(code: .internalError, message: "the edit of frame \(index) changed pixels outside its regions")
                }
                var result = source
                for region in partial {
                    if let box = changedBox(original: pixels, edited: image, width: width, height: height, within: region) {
                        try convertBox(box, of: image, into: &result)
                    }
                }
                results.append(result)
                continue
            }
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

    /// Converts `region` (even bounds) of a limited-range yuv420p `source` to RGB24 into the same
    /// rectangle of `rgb` (packed, the source's size), with the frame converter's filters; the
    /// converter is made for the region's size (and kept while the size repeats).
    private func convertToRGB(_ region: PixelRegion, of source: PlanarImage, into rgb: inout [UInt8]) throws(MediaError) {
        let (x0, y0, bw, bh) = (region.columns.lowerBound, region.rows.lowerBound, region.columns.count, region.rows.count)
        if bw != regionSize.width || bh != regionSize.height {
            sws_freeContext(regionToRGB)
            regionToRGB = sws_getContext(Int32(bw), Int32(bh), AV_PIX_FMT_YUV420P, Int32(bw), Int32(bh), AV_PIX_FMT_RGB24,
                                         SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
            guard let regionToRGB else { throw MediaError(code: .internalError, message: "no converter for the edit's region") }
            configureRGBConversion(regionToRGB, yuvSpace: source.colorspace, yuvFullRange: false, yuvIsSource: true)
            regionSize = (bw, bh)
        }
        let converter = regionToRGB, width = source.width
        let rc = source.withPlanePointers { src, srcStride in
            rgb.withUnsafeMutableBufferPointer { D in
                let from: [UnsafePointer<UInt8>?] = (0..<3).map { k in
                    let shift = k == 0 ? 0 : 1
                    return src[k].map { $0 + (y0 >> shift) * Int(srcStride[k]) + (x0 >> shift) }
                } + [nil]
                var dst: [UnsafeMutablePointer<UInt8>?] = [D.baseAddress! + (y0 * width + x0) * 3, nil, nil, nil]
                var dstStride: [Int32] = [Int32(width * 3), 0, 0, 0]
                return sws_scale(converter, from, srcStride, 0, Int32(bh), &dst, &dstStride)
            }
        }
        guard rc > 0 else { throw MediaError(code: .internalError, message: "swscale failed (\(rc))") }
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
/// `original` (packed RGB24, `width` × `height`), looking only inside `region` when given; nil when
/// they are the same there.
func changedBox(original: [UInt8], edited: [UInt8], width: Int, height: Int,
                within region: PixelRegion? = nil) -> (rows: Range<Int>, columns: Range<Int>)? {
    let rows = region?.rows ?? 0..<height, columns = region?.columns ?? 0..<width
    if rows.isEmpty || columns.isEmpty { return nil }
    let rowBytes = width * 3
    return original.withUnsafeBufferPointer { A in
        edited.withUnsafeBufferPointer { B in
            let a = A.baseAddress!, b = B.baseAddress!
            let start = columns.lowerBound * 3, span = columns.count * 3
            func differs(_ y: Int) -> Bool { memcmp(a + y * rowBytes + start, b + y * rowBytes + start, span) != 0 }
            guard let first = rows.first(where: differs) else { return nil }
            let last = (first..<rows.upperBound).last(where: differs) ?? first
            var x0 = columns.upperBound, x1 = columns.lowerBound
            for y in first...last {
                let row = y * rowBytes
                var x = columns.lowerBound
                while x < x0 && a[row + 3 * x] == b[row + 3 * x] && a[row + 3 * x + 1] == b[row + 3 * x + 1]
                    && a[row + 3 * x + 2] == b[row + 3 * x + 2] { x += 1 }
                if x < x0 { x0 = x }
                var e = columns.upperBound - 1
                while e >= x1 && a[row + 3 * e] == b[row + 3 * e] && a[row + 3 * e + 1] == b[row + 3 * e + 1]
                    && a[row + 3 * e + 2] == b[row + 3 * e + 2] { e -= 1 }
                if e + 1 > x1 { x1 = e + 1 }
            }
            return x0 < x1 ? (first..<(last + 1), x0..<x1) : nil
        }
    }
}

/// How far beyond an edit's region its pixels are converted to RGB, so that the chroma filters see the
/// real neighbours of every pixel the edit reads (and of the changed box's own margin on the way back).
private let regionMargin = 16

extension PixelRegion {
    var isEmpty: Bool { rows.isEmpty || columns.isEmpty }
    var area: Int { rows.count * columns.count }

    /// The part inside a `width` × `height` frame.
    func clamped(width: Int, height: Int) -> PixelRegion {
        PixelRegion(rows: rows.clamped(to: 0..<height), columns: columns.clamped(to: 0..<width))
    }

    /// Grown by `margin` on every side, bounds made even outwards, inside the frame.
    func grown(by margin: Int, width: Int, height: Int) -> PixelRegion {
        PixelRegion(rows: (max(0, rows.lowerBound - margin) & ~1)..<min(height, (rows.upperBound + margin + 1) & ~1),
                    columns: (max(0, columns.lowerBound - margin) & ~1)..<min(width, (columns.upperBound + margin + 1) & ~1))
    }

    /// The smallest region holding every one of `regions` (nil when there are none).
    static func bounds(of regions: [PixelRegion]) -> PixelRegion? {
        guard let first = regions.first else { return nil }
        return regions.dropFirst().reduce(first) {
            PixelRegion(rows: min($0.rows.lowerBound, $1.rows.lowerBound)..<max($0.rows.upperBound, $1.rows.upperBound),
                        columns: min($0.columns.lowerBound, $1.columns.lowerBound)..<max($0.columns.upperBound, $1.columns.upperBound))
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
