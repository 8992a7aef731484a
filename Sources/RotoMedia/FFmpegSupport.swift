import CFFmpeg
import RotoThreads
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Internal RAII wrappers around the FFmpeg objects this module owns. None of them is Sendable:
// each belongs to one probe / normalisation / FrameReader and is used from one thread at a time.

/// How much FFmpeg itself writes to stderr.
///
/// The media layer turns every failure into a ``MediaError``, so by default FFmpeg is silenced
/// (`.quiet`). Raise the level to diagnose a file.
public enum FFmpegLogLevel: Sendable {
    /// Nothing (the default).
    case quiet
    /// Errors only.
    case error
    /// Errors and warnings.
    case warning
    /// FFmpeg's usual console output.
    case info
    /// Everything FFmpeg logs at debug level.
    case debug

    var raw: Int32 {
        switch self {
        case .quiet: AV_LOG_QUIET
        case .error: AV_LOG_ERROR
        case .warning: AV_LOG_WARNING
        case .info: AV_LOG_INFO
        case .debug: AV_LOG_DEBUG
        }
    }

    /// Sets FFmpeg's global log level (process-wide).
    public static func set(_ level: FFmpegLogLevel) {
        FFmpegSetup.ensure()
        av_log_set_level(level.raw)
    }
}

enum FFmpegSetup {
    private static let once: Void = {
        av_log_set_level(AV_LOG_QUIET)
    }()

    static func ensure() { once }
}

/// The text of an FFmpeg error number.
func ffErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    if av_strerror(code, &buffer, buffer.count) < 0 { return "FFmpeg error \(code)" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func cString(_ pointer: UnsafePointer<CChar>?) -> String? {
    guard let pointer else { return nil }
    return String(cString: pointer)
}

/// Nanoseconds of a monotonic clock.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// A point in time after which FFmpeg I/O is interrupted and loops give up, and an optional
/// ``CancellationFlag`` that does the same at once. A long-lived reader ``restart()``s it before each
/// unit of work, so that the limit bounds one step, not the reader's life.
final class Deadline: Sendable {
    private let limitNanos: Atomic<UInt64>
    private let seconds: Double
    private let cancellation: CancellationFlag?

    init(seconds: Double, cancellation: CancellationFlag? = nil) {
        self.seconds = seconds
        self.cancellation = cancellation
        limitNanos = Atomic(monotonicNanos() &+ UInt64(max(0, seconds) * 1e9))
    }

    /// Moves the limit to `seconds` from now.
    func restart() {
        limitNanos.store(monotonicNanos() &+ UInt64(max(0, seconds) * 1e9), ordering: .relaxed)
    }

    var expired: Bool { monotonicNanos() > limitNanos.load(ordering: .relaxed) }

    /// True once the work should stop: expired, or its flag raised.
    var stopped: Bool { expired || cancellation?.isRaised == true }

    /// Throws `.timedOut` when the deadline has passed, `.cancelled` when the flag is raised or the
    /// current task is cancelled.
    func check(_ what: String) throws(MediaError) {
        if expired {
            throw MediaError(code: .timedOut, message: "\(what) took longer than \(seconds) s")
        }
        if cancellation?.isRaised == true || Task.isCancelled {
            throw MediaError(code: .cancelled, message: "\(what) was cancelled")
        }
    }
}

/// The interrupt callback FFmpeg polls during blocking I/O: true once the deadline has passed or its
/// flag is raised.
private let interruptCallback: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { opaque in
    guard let opaque else { return 0 }
    return Unmanaged<Deadline>.fromOpaque(opaque).takeUnretainedValue().stopped ? 1 : 0
}

/// An opened demuxer (`AVFormatContext`).
final class InputFile {
    let context: UnsafeMutablePointer<AVFormatContext>
    /// Kept alive as long as the context, which holds an unretained pointer to it.
    private let deadline: Deadline

    /// Opens `path` with the given demuxer (nil: let FFmpeg probe), with probe limits and an
    /// interrupt deadline. Failures map to `failureCode`, except missing/unreadable files (`.io`).
    init(path: String, format: String?, deadline: Deadline, failureCode: MediaError.Code) throws(MediaError) {
        FFmpegSetup.ensure()
        self.deadline = deadline
        guard var ctx = avformat_alloc_context() else {
            throw MediaError(code: .internalError, message: "cannot allocate a demuxer context")
        }
        ctx.pointee.interrupt_callback = AVIOInterruptCB(
            callback: interruptCallback, opaque: Unmanaged.passUnretained(deadline).toOpaque())
        var options: OpaquePointer? = nil
        av_dict_set(&options, "probesize", "5000000", 0)
        av_dict_set(&options, "analyzeduration", "5000000", 0)
        defer { av_dict_free(&options) }
        let inputFormat = format.flatMap { av_find_input_format($0) }
        var maybe: UnsafeMutablePointer<AVFormatContext>? = ctx
        let rc = avformat_open_input(&maybe, path, inputFormat, &options)
        guard rc >= 0, let opened = maybe else {
            // avformat_open_input frees the context on failure.
            if deadline.stopped { try deadline.check("opening the file") }
            let code: MediaError.Code = (rc == roto_averror(ENOENT) || rc == roto_averror(EACCES)
                || rc == roto_averror(EISDIR)) ? .io : failureCode
            throw MediaError(code: code, message: "cannot open: \(ffErrorString(rc))", ffmpegError: rc)
        }
        ctx = opened
        context = ctx
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&ctx)
    }

    var streamCount: Int { Int(context.pointee.nb_streams) }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> {
        context.pointee.streams[index]!
    }

    func metadata(_ key: String) -> String? {
        guard let entry = av_dict_get(context.pointee.metadata, key, nil, 0) else { return nil }
        return cString(entry.pointee.value)
    }

    /// Seeks back to the first sample of `streamIndex`.
    func rewind(_ streamIndex: Int) throws(MediaError) {
        let st = stream(streamIndex)
        let first = avformat_index_get_entry(st, 0)?.pointee.timestamp ?? 0
        let rc = av_seek_frame(context, Int32(streamIndex), first, AVSEEK_FLAG_BACKWARD)
        guard rc >= 0 else {
            throw MediaError(code: .corrupt, message: "cannot seek to the start: \(ffErrorString(rc))", ffmpegError: rc)
        }
    }

    /// Reads the next packet into `packet`; false at the end of the input. A read that the deadline or
    /// its flag cut short throws their error (`.timedOut`, `.cancelled`, naming `activity`); any other
    /// failure throws `.corrupt` ("unreadable `what`").
    func read(into packet: Packet, activity: String, what: @autoclosure () -> String) throws(MediaError) -> Bool {
        let rc = av_read_frame(context, packet.pointer)
        if rc == roto_averror_eof() { return false }
        guard rc >= 0 else {
            if deadline.stopped { try deadline.check(activity) }
            throw MediaError(code: .corrupt, message: "unreadable \(what()): \(ffErrorString(rc))", ffmpegError: rc)
        }
        return true
    }

    /// Discards every stream except those listed (the demuxer then skips their samples).
    func keepOnly(_ indices: Set<Int>) {
        for i in 0..<streamCount {
            stream(i).pointee.discard = indices.contains(i) ? AVDISCARD_DEFAULT : AVDISCARD_ALL
        }
    }
}

/// An owned `AVPacket`.
final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>

    init() throws(MediaError) {
        guard let p = av_packet_alloc() else {
            throw MediaError(code: .internalError, message: "cannot allocate a packet")
        }
        pointer = p
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&p)
    }

    func unref() { av_packet_unref(pointer) }
}

/// An owned `AVFrame`.
final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>

    init() throws(MediaError) {
        guard let f = av_frame_alloc() else {
            throw MediaError(code: .internalError, message: "cannot allocate a frame")
        }
        pointer = f
    }

    deinit {
        var f: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&f)
    }

    func unref() { av_frame_unref(pointer) }

    /// Allocates fresh buffers of the given geometry (after dropping any previous ones).
    func allocate(width: Int, height: Int, format: AVPixelFormat) throws(MediaError) {
        av_frame_unref(pointer)
        pointer.pointee.width = Int32(width)
        pointer.pointee.height = Int32(height)
        pointer.pointee.format = format.rawValue
        let rc = av_frame_get_buffer(pointer, 0)
        guard rc >= 0 else {
            throw MediaError(code: .internalError, message: "cannot allocate a \(width)x\(height) frame: "
                + ffErrorString(rc), ffmpegError: rc)
        }
    }

    /// Makes sure the buffers can be written (nobody else, e.g. an encoder, holds a reference),
    /// allocating new ones of the same geometry instead of copying the old content.
    func ensureWritable() throws(MediaError) {
        if av_frame_is_writable(pointer) != 0 { return }
        let w = Int(pointer.pointee.width), h = Int(pointer.pointee.height)
        try allocate(width: w, height: h, format: AVPixelFormat(rawValue: pointer.pointee.format))
    }
}

/// An opened decoder (`AVCodecContext`) for one stream.
final class Decoder {
    let context: UnsafeMutablePointer<AVCodecContext>
    let codecName: String

    init(stream: UnsafeMutablePointer<AVStream>, threads: Int) throws(MediaError) {
        let par = stream.pointee.codecpar!
        let name = cString(avcodec_get_name(par.pointee.codec_id)) ?? "unknown"
        codecName = name
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            let kind = cString(av_get_media_type_string(par.pointee.codec_type)) ?? "media"
            throw MediaError(code: .undecodable, message: "no decoder for \(kind) codec \(name)")
        }
        guard let ctx = avcodec_alloc_context3(codec) else {
            throw MediaError(code: .internalError, message: "cannot allocate a decoder context")
        }
        context = ctx
        var rc = avcodec_parameters_to_context(ctx, par)
        guard rc >= 0 else {
            throw MediaError(code: .undecodable, message: "bad \(name) parameters: \(ffErrorString(rc))",
                             ffmpegError: rc)
        }
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        ctx.pointee.thread_count = Int32(min(max(threads, 1), 2))
        ctx.pointee.thread_type = threads > 1 ? FF_THREAD_FRAME : 0
        rc = avcodec_open2(ctx, codec, nil)
        guard rc >= 0 else {
            throw MediaError(code: .undecodable, message: "cannot open the \(name) decoder: \(ffErrorString(rc))",
                             ffmpegError: rc)
        }
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&ctx)
    }
}

extension AVRational {
    var double: Double { den == 0 ? 0 : Double(num) / Double(den) }
}

/// The name of a pixel format, e.g. `yuv420p`.
func pixelFormatName(_ raw: Int32) -> String {
    cString(av_get_pix_fmt_name(AVPixelFormat(rawValue: raw))) ?? "none"
}

// MARK: - Shared pipeline steps

/// What ``decodeVideo(input:videoIndex:decoder:frameDuration:deadline:activity:otherPacket:frame:)`` saw.
struct DecodeTally {
    /// Video packets sent to the decoder.
    var packets = 0
    /// Packets or frames the decoder rejected.
    var decodeErrors = 0
    /// Frames handed to the frame callback.
    var frames = 0

    /// Throws unless every video packet of the input became exactly one frame and `encoded` frames
    /// came out: a dropped frame would shift every later index against the input's.
    func verify(encoded: Int, decoder: Decoder, stream: UnsafeMutablePointer<AVStream>) throws(MediaError) {
        guard encoded > 0 else {
            throw MediaError(code: .undecodable, message: "no frame of the \(decoder.codecName) stream decodes "
                + "(\(decodeErrors) errors)")
        }
        guard decodeErrors == 0, encoded == packets else {
            throw MediaError(code: .corrupt, message: "\(encoded) of \(packets) frames decode (\(decodeErrors) errors)")
        }
        let indexed = Int(stream.pointee.nb_frames)
        guard indexed <= 0 || packets == indexed else {
            throw MediaError(code: .corrupt, message: "the input ends after \(packets) of \(indexed) frames")
        }
    }
}

/// Reads `input` to its end and decodes its video stream `videoIndex` in order: `frame` gets each
/// decoded frame (valid only during the call) with its presentation timestamp (strictly increasing;
/// missing ones are extrapolated by `frameDuration`), `otherPacket` every packet of another stream the
/// input keeps. Checks `deadline` (and task cancellation) as it goes. Decoding errors are counted, not
/// thrown; callers decide with ``DecodeTally/verify(encoded:decoder:stream:)``.
func decodeVideo(input: InputFile, videoIndex: Int, decoder: Decoder, frameDuration: Int64, deadline: Deadline,
                 activity: String, otherPacket: (Packet) throws(MediaError) -> Void = { _ in },
                 frame body: (UnsafeMutablePointer<AVFrame>, Int64) throws(MediaError) -> Void)
    throws(MediaError) -> DecodeTally {
    var tally = DecodeTally()
    let frame = try Frame()
    var lastPts: Int64? = nil
    func drainDecoder() throws(MediaError) {
        while true {
            let rc = avcodec_receive_frame(decoder.context, frame.pointer)
            if rc == roto_eagain() || rc == roto_averror_eof() { return }
            guard rc >= 0 else { tally.decodeErrors += 1; return }
            defer { frame.unref() }
            var pts = frame.pointer.pointee.best_effort_timestamp
            if pts == roto_nopts_value() { pts = frame.pointer.pointee.pts }
            if pts == roto_nopts_value() { pts = lastPts.map { $0 + frameDuration } ?? 0 }
            // libx264 needs increasing timestamps; a normalised input has them.
            if let lastPts, pts <= lastPts {
                throw MediaError(code: .corrupt, message: "non-increasing frame timestamp \(pts) after \(lastPts)")
            }
            lastPts = pts
            tally.frames += 1
            try body(frame.pointer, pts)
        }
    }

    let packet = try Packet()
    var read = 0
    while true {
        if read & 7 == 7 { try deadline.check(activity) }
        read += 1
        guard try input.read(into: packet, activity: activity, what: "input after \(tally.packets) packets") else { break }
        defer { packet.unref() }
        let p = packet.pointer.pointee
        guard p.flags & AV_PKT_FLAG_DISCARD == 0 else { continue }
        guard Int(p.stream_index) == videoIndex else {
            try otherPacket(packet)
            continue
        }
        tally.packets += 1
        let sent = avcodec_send_packet(decoder.context, packet.pointer)
        if sent < 0 && sent != roto_eagain() { tally.decodeErrors += 1 }
        try drainDecoder()
    }
    _ = avcodec_send_packet(decoder.context, nil)
    try drainDecoder()
    return tally
}

/// Runs `write` on a temporary path next to `output`, then renames the result into place; returns
/// its size in bytes. Nothing is left behind when `write` or the rename fails.
func writeAtomically(to output: String, _ write: (String) throws(MediaError) -> Void) throws(MediaError) -> Int {
    let temporary = output + ".part-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    do throws(MediaError) {
        try write(temporary)
        var info = stat()
        guard stat(temporary, &info) == 0, rename(temporary, output) == 0 else {
            throw MediaError(code: .io, message: "cannot move \(output) into place: " + String(cString: strerror(errno)))
        }
        return Int(info.st_size)
    } catch {
        unlink(temporary)
        throw error
    }
}

/// Time base, frame rate and one frame's duration (in time-base units) of a video stream.
func streamTiming(_ stream: UnsafeMutablePointer<AVStream>) throws(MediaError)
    -> (timeBase: AVRational, rate: AVRational, frameDuration: Int64) {
    let timeBase = stream.pointee.time_base
    var rate = stream.pointee.avg_frame_rate
    if rate.num <= 0 || rate.den <= 0 { rate = stream.pointee.r_frame_rate }
    guard timeBase.num > 0, timeBase.den > 0, rate.num > 0, rate.den > 0 else {
        throw MediaError(code: .corrupt, message: "the video has no usable frame rate or time base")
    }
    return (timeBase, rate, max(1, Int64((1 / rate.double / timeBase.double).rounded())))
}

/// The pixels' shape of a video stream as players take it: the container's sample aspect ratio (`pasp`),
/// else the codec parameters', else `coded` (the codec's own headers, read from a decoded frame by the
/// probe: `VideoFacts.codedSampleAspect`), else square; turned when the frames are rotated a quarter turn.
func sampleAspect(of stream: UnsafeMutablePointer<AVStream>, coded headers: VideoFacts.Ratio? = nil,
                  quarterTurned: Bool = false) -> AVRational {
    let container = stream.pointee.sample_aspect_ratio, coded = stream.pointee.codecpar.pointee.sample_aspect_ratio
    let shape = container.num > 0 && container.den > 0 ? container
        : coded.num > 0 && coded.den > 0 ? coded
        : headers.map { AVRational(num: Int32(clamping: $0.num), den: Int32(clamping: $0.den)) } ?? AVRational(num: 1, den: 1)
    return quarterTurned ? AVRational(num: shape.den, den: shape.num) : shape
}
