import CFFmpeg

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The objects of one frame: a label per pixel, row-major. 0 is background, k > 0 the k-th object.
///
/// The plane may be smaller than the video (e.g. the working size); it is then scaled to the video
/// size nearest-neighbour.
public struct LabelPlane: Sendable, Equatable {
    /// Width in labels.
    public var width: Int
    /// Height in labels.
    public var height: Int
    /// `width * height` labels, rows top to bottom.
    public var labels: [UInt8]

    /// Creates a plane; `labels.count` should be `width * height` (checked when it is drawn).
    public init(width: Int, height: Int, labels: [UInt8]) {
        self.width = width
        self.height = height
        self.labels = labels
    }
}

/// An sRGB colour.
public struct RGBColor: Sendable, Equatable, Hashable {
    /// Red, 0…255.
    public var red: UInt8
    /// Green, 0…255.
    public var green: UInt8
    /// Blue, 0…255.
    public var blue: UInt8

    /// Creates a colour.
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }
}

/// How ``OverlayRenderer`` draws and encodes.
public struct OverlayOptions: Sendable, Equatable {
    /// 12 well-separated colours (Sasha Trubetskoy's list): red, green, yellow, blue, orange, purple,
    /// cyan, magenta, lime, pink, teal, brown.
    public static let defaultPalette: [RGBColor] = [
        RGBColor(red: 230, green: 25, blue: 75), RGBColor(red: 60, green: 180, blue: 75),
        RGBColor(red: 255, green: 225, blue: 25), RGBColor(red: 0, green: 130, blue: 200),
        RGBColor(red: 245, green: 130, blue: 48), RGBColor(red: 145, green: 30, blue: 180),
        RGBColor(red: 70, green: 240, blue: 240), RGBColor(red: 240, green: 50, blue: 230),
        RGBColor(red: 210, green: 245, blue: 60), RGBColor(red: 250, green: 190, blue: 212),
        RGBColor(red: 0, green: 128, blue: 128), RGBColor(red: 170, green: 110, blue: 40),
    ]

    /// Colour of object k: `palette[(k - 1) % palette.count]` (empty: the default palette).
    public var palette: [RGBColor]
    /// Opacity of the fill, 0…1. Default 0.45.
    public var fillAlpha: Double
    /// Outline thickness in video pixels, drawn opaque: `2 * (outlineWidth / 2) + 1` pixels centred on
    /// the object's edge (default 3; 0 or 1: a 1-pixel line just inside the object).
    public var outlineWidth: Int
    /// libx264 preset. Default `ultrafast`.
    public var preset: String
    /// libx264 constant rate factor. Default 23.
    public var crf: Int
    /// Decoder and encoder threads, clamped to 1…2. Default 2.
    public var threads: Int
    /// Seconds between keyframes of the preview (for seeking in a player). Default 2.
    public var keyframeSeconds: Double
    /// Deadline for the whole render (`.timedOut` after it). Default 15 minutes.
    public var timeoutSeconds: Double
    /// Largest side of the rendered video and cover: the video is scaled down (aspect kept, even sides)
    /// to fit and the objects are drawn at that size. Default nil: the video's own size.
    public var maxLongSide: Int?

    /// Creates options; every argument has the documented default.
    public init(palette: [RGBColor] = OverlayOptions.defaultPalette, fillAlpha: Double = 0.45, outlineWidth: Int = 3,
                preset: String = "ultrafast", crf: Int = 23, threads: Int = 2, keyframeSeconds: Double = 2,
                timeoutSeconds: Double = 900, maxLongSide: Int? = nil) {
        self.palette = palette
        self.fillAlpha = fillAlpha
        self.outlineWidth = outlineWidth
        self.preset = preset
        self.crf = crf
        self.threads = threads
        self.keyframeSeconds = keyframeSeconds
        self.timeoutSeconds = timeoutSeconds
        self.maxLongSide = maxLongSide
    }
}

/// The result of ``OverlayRenderer/render(input:output:options:labels:)``.
public struct RenderedVideo: Sendable, Equatable {
    /// Path of the written file.
    public var path: String
    /// Number of frames (the input's).
    public var frameCount: Int
    /// Frame width (the input's, or scaled down to fit the options' `maxLongSide`).
    public var width: Int
    /// Frame height (likewise).
    public var height: Int
    /// Frames that got an overlay (a non-empty label plane).
    public var overlaidFrames: Int
    /// Size of the file in bytes.
    public var byteSize: Int

    /// Memberwise initialiser.
    public init(path: String, frameCount: Int, width: Int, height: Int, overlaidFrames: Int, byteSize: Int) {
        self.path = path
        self.frameCount = frameCount
        self.width = width
        self.height = height
        self.overlaidFrames = overlaidFrames
        self.byteSize = byteSize
    }
}

/// Draws the selected objects over a normalised video: the preview of `preview-selection`.
public enum OverlayRenderer {
    /// Decodes `input` (a normalised H.264 MP4) in order and re-encodes it with each frame's objects
    /// drawn on it: frame i gets `labels(i)` (nil or an empty plane: the frame is unchanged), every
    /// object a translucent fill and an opaque outline in its palette colour.
    ///
    /// The output is H.264 yuv420p (libx264), `+faststart` MP4, with the input's frames, timestamps and
    /// frame rate and its size (scaled down, bilinear, to fit `options.maxLongSide` when set: the label
    /// planes are drawn at that size); an AAC audio track is copied. It is written to a temporary file
    /// next to `output` and renamed into place; nothing is left behind on failure. Runs synchronously; checks
    /// task cancellation (`.cancelled`) and `options.timeoutSeconds` (`.timedOut`) as it goes.
    /// Errors thrown by `labels` stop the render: a ``MediaError`` propagates as is, anything else
    /// becomes `.invalidArgument`.
    public static func render(input: String, output: String, options: OverlayOptions = .init(),
                              labels: (Int) throws -> LabelPlane?) throws(MediaError) -> RenderedVideo {
        let settings = TranscodeSettings(preset: options.preset, crf: options.crf, threads: options.threads,
                                         keyframeSeconds: options.keyframeSeconds, timeoutSeconds: options.timeoutSeconds,
                                         activity: "rendering the preview", maxLongSide: options.maxLongSide)
        var converter: FrameConverter?
        var painter: OverlayPainter?
        let canvas = try Frame()
        var overlaid = 0
        let (tally, sizes) = try transcode(input: input, outputs: [output], settings: settings) {
            index, decoded, size throws(MediaError) in
            guard let frame = decoded else { return [] }
            let plane: LabelPlane?
            do {
                plane = try labels(index)
            } catch let error as MediaError {
                throw error
            } catch {
                throw MediaError(code: .invalidArgument, message: "no labels for frame \(index): \(error)")
            }
            let convert = converter ?? scaler(size)
            let paint = painter ?? OverlayPainter(width: size.output.width, height: size.output.height, options: options)
            converter = convert
            painter = paint
            let (ready, drawn) = try overlay(frame, labels: plane, painter: paint, canvas: canvas, converter: convert)
            if drawn { overlaid += 1 }
            return [[ready]]
        }
        return RenderedVideo(path: output, frameCount: tally.frameCount, width: tally.width, height: tally.height,
                             overlaidFrames: overlaid, byteSize: sizes[0])
    }

    /// Writes frame `frameIndex` of `input` with `labels` drawn on it (as ``render(input:output:options:labels:)``
    /// draws it) as a baseline JPEG (yuvj420p, libavcodec's mjpeg encoder) of the rendered video's size.
    ///
    /// - Parameter quality: 1…100 (maps to the JPEG quantiser scale 31…2). Default 85.
    public static func cover(input: String, frameIndex: Int, labels: LabelPlane?, output: String, quality: Int = 85,
                             options: OverlayOptions = .init()) throws(MediaError) {
        guard (1...100).contains(quality) else {
            throw MediaError(code: .invalidArgument, message: "JPEG quality \(quality) is outside 1…100")
        }
        let reader = try FrameReader(path: input)
        let width = reader.width & ~1, height = reader.height & ~1
        guard width >= 2, height >= 2 else {
            throw MediaError(code: .undecodable, message: "bad frame size \(reader.width)x\(reader.height)")
        }
        let decoded = try reader.decodedFrame(at: frameIndex)
        let canvas = try Frame()
        let size = TranscodeSize(source: (width, height),
                                 output: fittedSize(width: width, height: height, maxLongSide: options.maxLongSide))
        let painter = OverlayPainter(width: size.output.width, height: size.output.height, options: options)
        // The converters own the frames they return: keep them alive until the JPEG is encoded.
        let toYUV = scaler(size)
        let toJPEG = FrameConverter(cropWidth: size.output.width, cropHeight: size.output.height, rotation: 0,
                                    format: AV_PIX_FMT_YUVJ420P)
        let bytes = try withExtendedLifetime((toYUV, toJPEG, canvas, reader)) { () throws(MediaError) -> [UInt8] in
            let drawn = try overlay(decoded, labels: labels, painter: painter, canvas: canvas, converter: toYUV)
            return try encodeJPEG(try toJPEG.convert(drawn.frame), quality: quality)
        }
        _ = try writeAtomically(to: output) { temporary throws(MediaError) in
            guard let file = fopen(temporary, "wb") else {
                throw MediaError(code: .io, message: "cannot create \(output): " + String(cString: strerror(errno)))
            }
            let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            guard fclose(file) == 0, written == bytes.count else {
                throw MediaError(code: .io, message: "cannot write \(output): " + String(cString: strerror(errno)))
            }
        }
    }

    // MARK: - Internals

    /// The decoded frames to yuv420p at the output size (bilinear when scaled down).
    static func scaler(_ size: TranscodeSize) -> FrameConverter {
        let scaled = size.output != size.source
        return FrameConverter(cropWidth: size.source.width, cropHeight: size.source.height, rotation: 0,
                              scaledTo: size.output, scaleFlags: scaled ? SWS_BILINEAR : SWS_BICUBIC)
    }

    /// `source` converted to yuv420p with `labels` drawn on it (in `canvas`), or just converted when
    /// there is nothing to draw. The frame stays valid until the next call.
    static func overlay(_ source: UnsafeMutablePointer<AVFrame>, labels: LabelPlane?, painter: OverlayPainter,
                        canvas: Frame, converter: FrameConverter) throws(MediaError)
        -> (frame: UnsafeMutablePointer<AVFrame>, drawn: Bool) {
        let ready = try converter.convert(source)
        guard let labels, try painter.prepare(labels) else { return (ready, false) }
        // The decoder keeps references to its pictures: draw on a copy.
        if canvas.pointer.pointee.width != Int32(painter.width) || canvas.pointer.pointee.height != Int32(painter.height) {
            try canvas.allocate(width: painter.width, height: painter.height, format: AV_PIX_FMT_YUV420P)
        }
        try canvas.ensureWritable()
        let copied = av_frame_copy(canvas.pointer, ready)
        guard copied >= 0 else {
            throw MediaError(code: .internalError, message: "cannot copy a frame: \(ffErrorString(copied))", ffmpegError: copied)
        }
        _ = av_frame_copy_props(canvas.pointer, ready)
        try painter.draw(on: canvas.pointer)
        return (canvas.pointer, true)
    }

    /// One JPEG of a yuvj420p frame.
    static func encodeJPEG(_ frame: UnsafeMutablePointer<AVFrame>, quality: Int) throws(MediaError) -> [UInt8] {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else {
            throw MediaError(code: .encodeFailed, message: "the mjpeg encoder is not available")
        }
        guard let ctx = avcodec_alloc_context3(codec) else {
            throw MediaError(code: .internalError, message: "cannot allocate an encoder context")
        }
        defer {
            var c: UnsafeMutablePointer<AVCodecContext>? = ctx
            avcodec_free_context(&c)
        }
        ctx.pointee.width = frame.pointee.width
        ctx.pointee.height = frame.pointee.height
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        ctx.pointee.color_range = AVCOL_RANGE_JPEG
        ctx.pointee.time_base = AVRational(num: 1, den: 25)
        ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
        let qscale = 2 + (100 - quality) * 29 / 99
        ctx.pointee.global_quality = Int32(qscale) * FF_QP2LAMBDA
        var rc = avcodec_open2(ctx, codec, nil)
        guard rc >= 0 else {
            throw MediaError(code: .encodeFailed, message: "cannot open the mjpeg encoder: \(ffErrorString(rc))", ffmpegError: rc)
        }
        frame.pointee.quality = ctx.pointee.global_quality
        frame.pointee.pts = 0
        rc = avcodec_send_frame(ctx, frame)
        if rc >= 0 { rc = avcodec_send_frame(ctx, nil) }
        let packet = try Packet()
        if rc >= 0 { rc = avcodec_receive_packet(ctx, packet.pointer) }
        guard rc >= 0, let data = packet.pointer.pointee.data else {
            throw MediaError(code: .encodeFailed, message: "the mjpeg encoder failed: \(ffErrorString(rc))", ffmpegError: rc)
        }
        return [UInt8](UnsafeBufferPointer(start: data, count: Int(packet.pointer.pointee.size)))
    }
}
