import CFFmpeg
import RotoThreads

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How ``Normalizer`` re-encodes.
public struct NormalizeOptions: Sendable, Equatable {
    /// libx264 preset (`ultrafast` … `veryslow`). Default `veryfast`.
    public var preset: String
    /// libx264 constant rate factor. Default 20.
    public var crf: Int
    /// Decoder and encoder threads, clamped to 1…2 (the server has two cores). Default 2.
    public var threads: Int
    /// Keyframe (IDR) interval of re-encoded output, in frames. ``FrameReader`` random access decodes
    /// up to this many frames, so it is counted in frames, not seconds. Default 30 (1 s at 30 fps,
    /// 0.5 s at 60 fps).
    public var keyframeInterval: Int
    /// Re-encode even when a remux would do.
    public var forceReencode: Bool
    /// Deadline for the whole normalisation (`.timedOut` after it). Default 15 minutes.
    public var timeoutSeconds: Double
    /// Extra libx264 settings (`key=value:key=value`). Nil (the default) picks them by frame size so
    /// that peak memory stays near 300 MB (measured, 2 threads, veryfast, in the ffmpeg CLI): up to
    /// ~1.1 MP (720p) the preset's own (~150 MB); up to ~2.2 MP (1080p) a 5-frame lookahead (~260 MB);
    /// up to ~5 MP (2160×2160, the API's largest) no lookahead / MB-tree / B-frames (~255 MB); above
    /// that (3840×2160) also sliced threads and full-pel motion search (~255 MB). Threads work on whole
    /// frames where they can: sliced threads saved 30–50 MB but took a third (1080p) or a quarter
    /// (2160×2160) longer. The lean settings cost file size, not quality (CRF is kept).
    public var x264Params: String?

    /// Creates options; every argument has the documented default.
    public init(preset: String = "veryfast", crf: Int = 20, threads: Int = 2, keyframeInterval: Int = 30,
                forceReencode: Bool = false, timeoutSeconds: Double = 900, x264Params: String? = nil) {
        self.preset = preset
        self.crf = crf
        self.threads = threads
        self.keyframeInterval = keyframeInterval
        self.forceReencode = forceReencode
        self.timeoutSeconds = timeoutSeconds
        self.x264Params = x264Params
    }

    /// The libx264 settings used for a `width`×`height` output (see ``x264Params``).
    public func effectiveX264Params(width: Int, height: Int) -> String {
        if let x264Params { return x264Params }
        let pixels = width * height
        let lean = "rc-lookahead=0:mbtree=0:bframes=0:sync-lookahead=0"
        if pixels <= 1_100_000 { return "" }
        if pixels <= 2_200_000 { return "rc-lookahead=5" }
        if pixels <= 5_000_000 { return lean }
        return "sliced-threads=1:" + lean + ":subme=0"
    }
}

/// The result of ``Normalizer/normalize(input:facts:frameRate:output:options:)``.
public struct NormalizedVideo: Sendable, Equatable {
    /// How the output was produced.
    public enum Mode: String, Sendable, Equatable {
        /// Stream copy of a compliant H.264 input.
        case remux
        /// Decoded and encoded again with libx264.
        case reencode
    }

    /// Remux or re-encode.
    public var mode: Mode
    /// Path of the written file.
    public var path: String
    /// Number of video frames in the output.
    public var frameCount: Int
    /// `frameCount / fps` in milliseconds.
    public var durationMs: Int
    /// Frame width (display orientation; odd sizes are cropped to even by one pixel when re-encoding).
    public var width: Int
    /// Frame height.
    public var height: Int
    /// Constant frame rate of the output.
    public var fps: Int
    /// Whether an AAC audio track was copied.
    public var hasAudio: Bool

    /// Memberwise initialiser.
    public init(mode: Mode, path: String, frameCount: Int, durationMs: Int, width: Int, height: Int, fps: Int,
                hasAudio: Bool) {
        self.mode = mode
        self.path = path
        self.frameCount = frameCount
        self.durationMs = durationMs
        self.width = width
        self.height = height
        self.fps = fps
        self.hasAudio = hasAudio
    }
}

/// Turns a probed video into the normalised form every later call indexes frames of:
/// H.264 yuv420p, constant `frameRate`, display orientation applied, `+faststart` MP4.
public enum Normalizer {
    /// Normalises `input` (already probed into `facts`) into `output`.
    ///
    /// - Remux (stream copy, streaming, no decoding) when ``VideoFacts/canRemux(toFrameRate:)`` holds and
    ///   `options.forceReencode` is false.
    /// - Otherwise re-encode with libx264 (`options.preset`, `options.crf`, ≤ 2 threads): frames are
    ///   decoded, resampled to `frameRate` by timestamp (each output slot k/fps takes the source frame
    ///   nearest in time: frames are dropped or duplicated; the output has round(duration × fps) frames),
    ///   converted to yuv420p with swscale (odd sizes are cropped by one pixel to even) and physically
    ///   rotated to the display orientation; no rotation metadata is written.
    /// - Interlaced video is deinterlaced (``Deinterlacer``, one frame per frame) while it is re-encoded.
    /// - Audio: an AAC track is copied; PCM, MP3, AC-3, Opus and the other codecs ``AudioTrack`` lists are
    ///   re-encoded as AAC-LC; either is trimmed to the video's end. Any other audio is dropped.
    ///
    /// The output is written to a temporary file next to `output` and renamed at the end; on failure the
    /// temporary file is removed and `output` is untouched. Blocking; run it off the cooperative pool.
    /// Honours task cancellation, `cancellation` (`.cancelled` as soon as it is raised) and
    /// `options.timeoutSeconds` (`.timedOut`).
    ///
    /// - Parameter frameRate: output frame rate, 1…240 (the API uses 24, 30 or 60).
    public static func normalize(input: String, facts: VideoFacts, frameRate: Int, output: String,
                                 options: NormalizeOptions = NormalizeOptions(),
                                 cancellation: CancellationFlag? = nil) throws(MediaError) -> NormalizedVideo {
        FFmpegSetup.ensure()
        guard (1...240).contains(frameRate) else {
            throw MediaError(code: .invalidArgument, message: "frame rate \(frameRate) is outside 1…240")
        }
        let temporary = output + ".part-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do throws(MediaError) {
            let deadline = Deadline(seconds: options.timeoutSeconds, cancellation: cancellation)
            let result: NormalizedVideo
            if facts.canRemux(toFrameRate: frameRate) && !options.forceReencode {
                result = try remux(input: input, facts: facts, fps: frameRate, temporary: temporary, deadline: deadline)
            } else {
                result = try reencode(input: input, facts: facts, fps: frameRate, temporary: temporary,
                                      options: options, deadline: deadline)
            }
            guard rename(temporary, output) == 0 else {
                throw MediaError(code: .io, message: "cannot rename the output into place: "
                    + String(cString: strerror(errno)))
            }
            var final = result
            final.path = output
            return final
        } catch {
            unlink(temporary)
            throw error
        }
    }

    // MARK: - Remux

    static func remux(input path: String, facts: VideoFacts, fps: Int, temporary: String,
                      deadline: Deadline) throws(MediaError) -> NormalizedVideo {
        let input = try InputFile(path: path, format: "mov", deadline: deadline, failureCode: .corrupt)
        let (videoIndex, audioIndex) = try streams(of: input, facts: facts)
        input.keepOnly(Set([videoIndex] + (audioIndex.map { [$0] } ?? [])))
        let output = try OutputFile(path: temporary)

        let inVideo = input.stream(videoIndex)
        let outVideo = try output.addStream(copying: inVideo, codedSampleAspect: facts.codedSampleAspect)
        let zero = startTime(of: inVideo)
        let videoEnd = Double(facts.frameCount) / Double(fps)
        let audio = AudioTrack.make(input, index: audioIndex, muxer: output, zero: zero, videoEnd: videoEnd)
        try output.writeHeader()

        let packet = try Packet()
        var frames = 0
        while true {
            if frames & 31 == 31 { try deadline.check("remuxing") }
            guard try input.read(into: packet, activity: "remuxing", what: "input after \(frames) frames") else { break }
            defer { packet.unref() }
            let index = Int(packet.pointer.pointee.stream_index)
            if index == videoIndex {
                frames += 1
                try output.write(packet, from: inVideo, to: outVideo, zeroSeconds: zero)
            } else if index == audio?.index {
                try audio?.write(packet)
            }
        }
        try audio?.finish()
        try output.finish()
        return NormalizedVideo(mode: .remux, path: temporary, frameCount: frames,
                               durationMs: Int((Double(frames) * 1000 / Double(fps)).rounded()),
                               width: facts.codedWidth, height: facts.codedHeight, fps: fps, hasAudio: audio != nil)
    }

    // MARK: - Re-encode

    static func reencode(input path: String, facts: VideoFacts, fps: Int, temporary: String,
                         options: NormalizeOptions, deadline: Deadline) throws(MediaError) -> NormalizedVideo {
        let input = try InputFile(path: path, format: "mov", deadline: deadline, failureCode: .corrupt)
        let (videoIndex, audioIndex) = try streams(of: input, facts: facts)
        input.keepOnly(Set([videoIndex] + (audioIndex.map { [$0] } ?? [])))
        let inVideo = input.stream(videoIndex)
        // One decoder thread: the encoder is the bottleneck and gets the cores; fewer frames in flight.
        let decoder = try Decoder(stream: inVideo, threads: 1)

        let rotation = facts.rotation
        let cropWidth = facts.codedWidth & ~1, cropHeight = facts.codedHeight & ~1
        let swap = rotation == 90 || rotation == 270
        let outWidth = swap ? cropHeight : cropWidth, outHeight = swap ? cropWidth : cropHeight
        guard outWidth >= 2, outHeight >= 2 else {
            throw MediaError(code: .invalidArgument, message: "frame size \(facts.codedWidth)x\(facts.codedHeight) is too small")
        }

        let output = try OutputFile(path: temporary)
        let settings = EncoderSettings(normalize: options, width: outWidth, height: outHeight, fps: fps)
        let encoder = try Encoder(width: outWidth, height: outHeight, settings: settings,
                                  globalHeader: output.needsGlobalHeader, colorFrom: inVideo.pointee.codecpar!,
                                  sampleAspect: sampleAspect(of: inVideo, coded: facts.codedSampleAspect, quarterTurned: swap))
        let outVideo = try output.addStream(encoder: encoder)
        let totalFrames = max(1, Int((facts.durationSeconds * Double(fps)).rounded()))
        let videoEnd = Double(totalFrames) / Double(fps)
        let zero = startTime(of: inVideo)
        let audio = AudioTrack.make(input, index: audioIndex, muxer: output, zero: zero, videoEnd: videoEnd)
        try output.writeHeader()

        let timeBase = inVideo.pointee.time_base.double
        let converter = FrameConverter(cropWidth: cropWidth, cropHeight: cropHeight, rotation: rotation)

        // Resampling state: the held frame covers every output slot before the midpoint to the next frame.
        let held = try Frame()
        var heldTime: Double? = nil
        var heldReady: UnsafeMutablePointer<AVFrame>? = nil  // converted form of `held`, reused for duplicates
        var nextSlot = 0
        var decodeErrors = 0

        func emit(until boundary: Double) throws(MediaError) {
            // A slot exactly at the midpoint (a VFR gap) keeps the earlier frame.
            while nextSlot < totalFrames && Double(nextSlot) / Double(fps) <= boundary + 1e-9 {
                let ready: UnsafeMutablePointer<AVFrame>
                if let heldReady { ready = heldReady } else {
                    ready = try converter.convert(held.pointer)
                    heldReady = ready
                }
                ready.pointee.pts = Int64(nextSlot)
                ready.pointee.pict_type = AV_PICTURE_TYPE_NONE
                try encoder.send(ready, output: output, stream: outVideo)
                nextSlot += 1
            }
        }

        // Interlaced pictures are made progressive before anything else sees them (their `pts` is the
        // decoder's best-effort timestamp, which the filter keeps).
        let deinterlacer = Deinterlacer.isNeeded(firstFrameInterlaced: facts.isInterlaced,
                                                 fieldOrder: inVideo.pointee.codecpar.pointee.field_order)
            ? Deinterlacer(timeBase: inVideo.pointee.time_base) : nil
        var framesIn = 0
        /// Takes a picture (its `pts` already the best timestamp known) into the resampling.
        func accept(_ picture: Frame) throws(MediaError) {
            framesIn += 1
            let ts = picture.pointer.pointee.pts
            let time = ts == roto_nopts_value()
                ? Double(framesIn - 1) / max(facts.frameRate, 1)
                : Double(ts) * timeBase - zero
            if let previous = heldTime {
                if time <= previous { picture.unref(); return }  // non-increasing timestamp: drop
                try emit(until: (previous + time) / 2)
            }
            held.unref()
            av_frame_move_ref(held.pointer, picture.pointer)
            heldTime = time
            heldReady = nil
        }

        let frame = try Frame()
        let progressive = try Frame()
        func drainDeinterlacer() throws(MediaError) {
            guard let deinterlacer else { return }
            while try deinterlacer.pull(into: progressive.pointer) { try accept(progressive) }
        }
        func drainDecoder() throws(MediaError) {
            while true {
                let rc = avcodec_receive_frame(decoder.context, frame.pointer)
                if rc == roto_eagain() || rc == roto_averror_eof() { return }
                guard rc >= 0 else { decodeErrors += 1; return }
                let best = frame.pointer.pointee.best_effort_timestamp
                if best != roto_nopts_value() { frame.pointer.pointee.pts = best }
                if let deinterlacer {
                    try deinterlacer.push(frame.pointer)
                    try drainDeinterlacer()
                } else {
                    try accept(frame)
                }
            }
        }

        let packet = try Packet()
        var packets = 0
        while true {
            if packets & 7 == 7 { try deadline.check("normalising") }
            guard try input.read(into: packet, activity: "normalising", what: "input after \(packets) packets") else { break }
            defer { packet.unref() }
            let index = Int(packet.pointer.pointee.stream_index)
            if index == videoIndex {
                packets += 1
                let sent = avcodec_send_packet(decoder.context, packet.pointer)
                if sent < 0 && sent != roto_eagain() { decodeErrors += 1 }
                try drainDecoder()
            } else if index == audio?.index {
                try audio?.write(packet)
            }
        }
        _ = avcodec_send_packet(decoder.context, nil)
        try drainDecoder()
        try deinterlacer?.flush()
        try drainDeinterlacer()
        guard heldTime != nil else {
            throw MediaError(code: .undecodable, message: "no frame of the \(decoder.codecName) stream decodes "
                + "(\(decodeErrors) errors)")
        }
        try emit(until: .infinity)
        try encoder.flush(output: output, stream: outVideo)
        try audio?.finish()
        try output.finish()
        return NormalizedVideo(mode: .reencode, path: temporary, frameCount: encoder.packetsWritten,
                               durationMs: Int((Double(encoder.packetsWritten) * 1000 / Double(fps)).rounded()),
                               width: outWidth, height: outHeight, fps: fps, hasAudio: audio != nil)
    }

    // MARK: - Helpers

    /// The video stream named by the facts (re-chosen if it does not fit) and the audio stream, if any.
    static func streams(of input: InputFile, facts: VideoFacts) throws(MediaError) -> (Int, Int?) {
        var (video, audio) = try MediaProbe.chooseStreams(input)
        if facts.videoStreamIndex < input.streamCount,
           input.stream(facts.videoStreamIndex).pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO {
            video = facts.videoStreamIndex
        }
        return (video, audio)
    }

    /// Start of a stream in seconds (0 when unknown).
    static func startTime(of stream: UnsafeMutablePointer<AVStream>) -> Double {
        let start = stream.pointee.start_time
        return start == roto_nopts_value() ? 0 : Double(start) * stream.pointee.time_base.double
    }

    static func packetStart(_ packet: Packet, in stream: UnsafeMutablePointer<AVStream>) -> Double {
        let p = packet.pointer.pointee
        let ts = p.pts != roto_nopts_value() ? p.pts : p.dts
        return ts == roto_nopts_value() ? 0 : Double(ts) * stream.pointee.time_base.double
    }
}

/// An MP4 muxer writing to a file.
final class OutputFile {
    let context: UnsafeMutablePointer<AVFormatContext>

    init(path: String) throws(MediaError) {
        var maybe: UnsafeMutablePointer<AVFormatContext>? = nil
        let rc = avformat_alloc_output_context2(&maybe, nil, "mp4", path)
        guard rc >= 0, let ctx = maybe else {
            throw MediaError(code: .internalError, message: "cannot create an MP4 muxer: \(ffErrorString(rc))", ffmpegError: rc)
        }
        context = ctx
        let opened = avio_open(&ctx.pointee.pb, path, AVIO_FLAG_WRITE)
        guard opened >= 0 else {
            throw MediaError(code: .io, message: "cannot create \(path): \(ffErrorString(opened))", ffmpegError: opened)
        }
    }

    deinit {
        // Without a trailer the file is incomplete; callers delete it on failure.
        avio_closep(&context.pointee.pb)
        avformat_free_context(context)
    }

    var needsGlobalHeader: Bool { context.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 }

    /// `codedSampleAspect`: a video's pixel shape from its codec headers (see `sampleAspect(of:coded:quarterTurned:)`).
    func addStream(copying input: UnsafeMutablePointer<AVStream>,
                   codedSampleAspect: VideoFacts.Ratio? = nil) throws(MediaError) -> UnsafeMutablePointer<AVStream> {
        guard let st = avformat_new_stream(context, nil) else {
            throw MediaError(code: .internalError, message: "cannot add an output stream")
        }
        let rc = avcodec_parameters_copy(st.pointee.codecpar, input.pointee.codecpar)
        guard rc >= 0 else {
            throw MediaError(code: .encodeFailed, message: "cannot copy stream parameters: \(ffErrorString(rc))", ffmpegError: rc)
        }
        st.pointee.codecpar.pointee.codec_tag = 0
        st.pointee.time_base = input.pointee.time_base
        st.pointee.avg_frame_rate = input.pointee.avg_frame_rate
        if input.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO {
            // The pixels' shape (the input's `pasp` box is not in its codec parameters): written again.
            let shape = sampleAspect(of: input, coded: codedSampleAspect)
            st.pointee.sample_aspect_ratio = shape
            st.pointee.codecpar.pointee.sample_aspect_ratio = shape
        }
        return st
    }

    func addStream(encoder: Encoder) throws(MediaError) -> UnsafeMutablePointer<AVStream> {
        let st = try addStream(encoding: encoder.context)
        st.pointee.avg_frame_rate = encoder.context.pointee.framerate
        st.pointee.sample_aspect_ratio = encoder.context.pointee.sample_aspect_ratio
        return st
    }

    /// A stream for what the opened encoder `context` makes.
    func addStream(encoding context: UnsafeMutablePointer<AVCodecContext>) throws(MediaError) -> UnsafeMutablePointer<AVStream> {
        guard let st = avformat_new_stream(self.context, nil) else {
            throw MediaError(code: .internalError, message: "cannot add an output stream")
        }
        let rc = avcodec_parameters_from_context(st.pointee.codecpar, context)
        guard rc >= 0 else {
            throw MediaError(code: .encodeFailed, message: "cannot set stream parameters: \(ffErrorString(rc))", ffmpegError: rc)
        }
        st.pointee.time_base = context.pointee.time_base
        return st
    }

    func writeHeader() throws(MediaError) {
        var options: OpaquePointer? = nil
        av_dict_set(&options, "movflags", "+faststart", 0)
        defer { av_dict_free(&options) }
        let rc = avformat_write_header(context, &options)
        guard rc >= 0 else {
            throw MediaError(code: .encodeFailed, message: "cannot write the MP4 header: \(ffErrorString(rc))", ffmpegError: rc)
        }
    }

    /// Writes a demuxed packet: shifts it so the video starts at 0 and rescales its timestamps.
    func write(_ packet: Packet, from input: UnsafeMutablePointer<AVStream>, to output: UnsafeMutablePointer<AVStream>,
               zeroSeconds: Double) throws(MediaError) {
        let p = packet.pointer
        let shift = Int64((zeroSeconds / input.pointee.time_base.double).rounded())
        if p.pointee.pts != roto_nopts_value() { p.pointee.pts -= shift }
        if p.pointee.dts != roto_nopts_value() { p.pointee.dts -= shift }
        av_packet_rescale_ts(p, input.pointee.time_base, output.pointee.time_base)
        p.pointee.stream_index = output.pointee.index
        p.pointee.pos = -1
        try write(p)
    }

    func write(_ packet: UnsafeMutablePointer<AVPacket>) throws(MediaError) {
        let rc = av_interleaved_write_frame(context, packet)
        guard rc >= 0 else {
            throw MediaError(code: .encodeFailed, message: "cannot write a packet: \(ffErrorString(rc))", ffmpegError: rc)
        }
    }

    func finish() throws(MediaError) {
        let rc = av_write_trailer(context)
        guard rc >= 0 else {
            throw MediaError(code: .encodeFailed, message: "cannot finish the MP4 file: \(ffErrorString(rc))", ffmpegError: rc)
        }
        let closed = avio_closep(&context.pointee.pb)
        guard closed >= 0 else {
            throw MediaError(code: .io, message: "cannot close the output: \(ffErrorString(closed))", ffmpegError: closed)
        }
    }
}

/// How an ``Encoder`` encodes: libx264 settings and the timing of the frames it is sent.
struct EncoderSettings {
    var preset: String
    var crf: Int
    /// Clamped to 1…2.
    var threads: Int
    /// Frames per IDR interval (1: all-intra).
    var keyframeInterval: Int
    /// `x264-params` (empty: none).
    var x264Params: String
    /// Time base of the pts of the frames sent, and of the encoder.
    var timeBase: AVRational
    /// Nominal frame rate (rate control, stream metadata).
    var frameRate: AVRational
    /// Duration of one frame in `timeBase` units (written on every packet).
    var frameDuration: Int64

    /// Normalizer's settings: time base 1/fps, frames numbered 0, 1, 2, …
    init(normalize options: NormalizeOptions, width: Int, height: Int, fps: Int) {
        self.init(preset: options.preset, crf: options.crf, threads: options.threads,
                  keyframeInterval: options.keyframeInterval,
                  x264Params: options.effectiveX264Params(width: width, height: height),
                  timeBase: AVRational(num: 1, den: Int32(fps)), frameRate: AVRational(num: Int32(fps), den: 1),
                  frameDuration: 1)
    }

    init(preset: String, crf: Int, threads: Int, keyframeInterval: Int, x264Params: String, timeBase: AVRational,
         frameRate: AVRational, frameDuration: Int64) {
        self.preset = preset
        self.crf = crf
        self.threads = threads
        self.keyframeInterval = keyframeInterval
        self.x264Params = x264Params
        self.timeBase = timeBase
        self.frameRate = frameRate
        self.frameDuration = frameDuration
    }
}

/// A libx264 encoder (yuv420p input).
final class Encoder {
    let context: UnsafeMutablePointer<AVCodecContext>
    private let packet: Packet
    private let frameDuration: Int64
    private(set) var packetsWritten = 0

    /// The colour properties come from `source`. `sampleAspect`: the pixels' shape to write (see
    /// `sampleAspect(of:quarterTurned:)`), so the output shows like the input.
    init(width: Int, height: Int, settings: EncoderSettings, globalHeader: Bool,
         colorFrom source: UnsafeMutablePointer<AVCodecParameters>,
         sampleAspect: AVRational = AVRational(num: 1, den: 1)) throws(MediaError) {
        guard let codec = avcodec_find_encoder_by_name("libx264") else {
            throw MediaError(code: .encodeFailed, message: "the libx264 encoder is not available")
        }
        packet = try Packet()
        guard let ctx = avcodec_alloc_context3(codec) else {
            throw MediaError(code: .internalError, message: "cannot allocate an encoder context")
        }
        context = ctx
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        ctx.pointee.time_base = settings.timeBase
        ctx.pointee.framerate = settings.frameRate
        ctx.pointee.sample_aspect_ratio = sampleAspect
        ctx.pointee.gop_size = Int32(max(1, settings.keyframeInterval))
        ctx.pointee.thread_count = Int32(min(max(settings.threads, 1), 2))
        frameDuration = max(1, settings.frameDuration)
        ctx.pointee.color_range = AVCOL_RANGE_MPEG
        ctx.pointee.color_primaries = source.pointee.color_primaries
        ctx.pointee.color_trc = source.pointee.color_trc
        ctx.pointee.colorspace = source.pointee.color_space
        if globalHeader { ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        var dict: OpaquePointer? = nil
        av_dict_set(&dict, "preset", settings.preset, 0)
        av_dict_set(&dict, "crf", String(settings.crf), 0)
        if !settings.x264Params.isEmpty { av_dict_set(&dict, "x264-params", settings.x264Params, 0) }
        defer { av_dict_free(&dict) }
        let rc = avcodec_open2(ctx, codec, &dict)
        guard rc >= 0 else {
            throw MediaError(code: .encodeFailed, message: "cannot open libx264 (preset \(settings.preset)): "
                + ffErrorString(rc), ffmpegError: rc)
        }
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&ctx)
    }

    func send(_ frame: UnsafeMutablePointer<AVFrame>?, output: OutputFile,
              stream: UnsafeMutablePointer<AVStream>) throws(MediaError) {
        packetsWritten += try encode(frame, with: context, named: "libx264", packet: packet, duration: frameDuration,
                                     into: stream, of: output)
    }

    func flush(output: OutputFile, stream: UnsafeMutablePointer<AVStream>) throws(MediaError) {
        try send(nil, output: output, stream: stream)
    }
}

/// Sends `frame` (nil: the end) to the opened encoder `context` and writes every packet it gives into
/// `stream` of `output` (`duration`, in the encoder's time base, set on each when given); returns how many.
func encode(_ frame: UnsafeMutablePointer<AVFrame>?, with context: UnsafeMutablePointer<AVCodecContext>,
            named name: String, packet: Packet, duration: Int64? = nil, into stream: UnsafeMutablePointer<AVStream>,
            of output: OutputFile) throws(MediaError) -> Int {
    let rc = avcodec_send_frame(context, frame)
    guard rc >= 0 else {
        throw MediaError(code: .encodeFailed, message: "\(name) refused a frame: \(ffErrorString(rc))", ffmpegError: rc)
    }
    var written = 0
    while true {
        let got = avcodec_receive_packet(context, packet.pointer)
        if got == roto_eagain() || got == roto_averror_eof() { return written }
        guard got >= 0 else {
            throw MediaError(code: .encodeFailed, message: "\(name) failed: \(ffErrorString(got))", ffmpegError: got)
        }
        if let duration { packet.pointer.pointee.duration = duration }
        av_packet_rescale_ts(packet.pointer, context.pointee.time_base, stream.pointee.time_base)
        packet.pointer.pointee.stream_index = stream.pointee.index
        written += 1
        try output.write(packet.pointer)
    }
}

/// Turns decoded frames into encoder-ready yuv420p frames in display orientation: crops odd sizes
/// to `cropWidth`×`cropHeight`, scales to `scaledWidth`×`scaledHeight` (by default the crop size:
/// no scaling), then rotates.
final class FrameConverter {
    let cropWidth: Int, cropHeight: Int, rotation: Int
    /// Size before rotation (even).
    let scaledWidth: Int, scaledHeight: Int
    /// swscale algorithm (`SWS_BICUBIC`, `SWS_AREA`, …).
    let scaleFlags: Int32
    private var sws: OpaquePointer? = nil
    private var scaled: Frame? = nil
    private var rotated: Frame? = nil

    /// Pixel format of the converted frames: yuv420p (the default), or yuvj420p (full range, for JPEG).
    let format: AVPixelFormat

    init(cropWidth: Int, cropHeight: Int, rotation: Int, scaledTo size: (width: Int, height: Int)? = nil,
         scaleFlags: Int32 = SWS_BICUBIC, format: AVPixelFormat = AV_PIX_FMT_YUV420P) {
        self.format = format
        self.cropWidth = cropWidth
        self.cropHeight = cropHeight
        self.rotation = rotation
        scaledWidth = size?.width ?? cropWidth
        scaledHeight = size?.height ?? cropHeight
        self.scaleFlags = scaleFlags
    }

    deinit { sws_freeContext(sws) }

    /// The converted frame; it stays valid until the next call (the source may be returned as is).
    func convert(_ source: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> UnsafeMutablePointer<AVFrame> {
        var stage = source
        let s = source.pointee
        if s.format != format.rawValue || Int(s.width) != scaledWidth || Int(s.height) != scaledHeight
            || scaledWidth != cropWidth || scaledHeight != cropHeight {
            // Odd sizes: tell swscale the source is one pixel smaller (a crop, not a scale).
            let srcW = Int(s.width) == cropWidth + 1 ? cropWidth : Int(s.width)
            let srcH = Int(s.height) == cropHeight + 1 ? cropHeight : Int(s.height)
            sws = sws_getCachedContext(sws, Int32(srcW), Int32(srcH), AVPixelFormat(rawValue: s.format),
                                       Int32(scaledWidth), Int32(scaledHeight), format, scaleFlags,
                                       nil, nil, nil)
            guard let sws else {
                throw MediaError(code: .encodeFailed, message: "cannot convert \(pixelFormatName(s.format)) to "
                    + pixelFormatName(format.rawValue))
            }
            let target: Frame
            if let scaled { target = scaled } else {
                target = try Frame()
                try target.allocate(width: scaledWidth, height: scaledHeight, format: format)
                scaled = target
            }
            try target.ensureWritable()
            let rc = withPlanes(source) { srcData, srcStride in
                withMutablePlanes(target.pointer) { dstData, dstStride in
                    sws_scale(sws, srcData, srcStride, 0, Int32(srcH), dstData, dstStride)
                }
            }
            guard rc > 0 else { throw MediaError(code: .encodeFailed, message: "swscale failed (\(rc))") }
            stage = target.pointer
        }
        guard rotation != 0 else { return stage }
        let swap = rotation == 90 || rotation == 270
        let target: Frame
        if let rotated { target = rotated } else {
            target = try Frame()
            try target.allocate(width: swap ? scaledHeight : scaledWidth, height: swap ? scaledWidth : scaledHeight,
                                format: format)
            rotated = target
        }
        try target.ensureWritable()
        let src = stage.pointee, dst = target.pointer.pointee
        let planes = [(0, scaledWidth, scaledHeight), (1, scaledWidth / 2, scaledHeight / 2),
                      (2, scaledWidth / 2, scaledHeight / 2)]
        for (plane, w, h) in planes {
            let srcPtr = planePointer(src, plane), dstPtr = planePointer(dst, plane)
            guard let srcPtr, let dstPtr else { throw MediaError(code: .internalError, message: "missing plane \(plane)") }
            PlaneRotation.rotate(src: srcPtr, srcStride: Int(lineSize(src, plane)), width: w, height: h,
                                 dst: dstPtr, dstStride: Int(lineSize(dst, plane)), degrees: rotation)
        }
        return target.pointer
    }
}

// MARK: - AVFrame plane access (the C arrays import as tuples)

func planePointer(_ frame: AVFrame, _ plane: Int) -> UnsafeMutablePointer<UInt8>? {
    switch plane {
    case 0: frame.data.0
    case 1: frame.data.1
    case 2: frame.data.2
    default: frame.data.3
    }
}

func lineSize(_ frame: AVFrame, _ plane: Int) -> Int32 {
    switch plane {
    case 0: frame.linesize.0
    case 1: frame.linesize.1
    case 2: frame.linesize.2
    default: frame.linesize.3
    }
}

/// Calls `body` with the frame's plane pointers and strides as swscale wants them.
func withPlanes<R>(_ frame: UnsafeMutablePointer<AVFrame>,
                   _ body: (UnsafePointer<UnsafePointer<UInt8>?>, UnsafePointer<Int32>) -> R) -> R {
    let f = frame.pointee
    let data: [UnsafePointer<UInt8>?] = [
        UnsafePointer(f.data.0), UnsafePointer(f.data.1), UnsafePointer(f.data.2), UnsafePointer(f.data.3),
    ]
    let strides: [Int32] = [f.linesize.0, f.linesize.1, f.linesize.2, f.linesize.3]
    return data.withUnsafeBufferPointer { d in strides.withUnsafeBufferPointer { s in body(d.baseAddress!, s.baseAddress!) } }
}

/// Calls `body` with the frame's writable plane pointers and strides.
func withMutablePlanes<R>(_ frame: UnsafeMutablePointer<AVFrame>,
                          _ body: (UnsafePointer<UnsafeMutablePointer<UInt8>?>, UnsafePointer<Int32>) -> R) -> R {
    let f = frame.pointee
    let data: [UnsafeMutablePointer<UInt8>?] = [f.data.0, f.data.1, f.data.2, f.data.3]
    let strides: [Int32] = [f.linesize.0, f.linesize.1, f.linesize.2, f.linesize.3]
    return data.withUnsafeBufferPointer { d in strides.withUnsafeBufferPointer { s in body(d.baseAddress!, s.baseAddress!) } }
}
