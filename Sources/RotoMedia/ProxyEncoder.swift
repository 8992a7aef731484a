import CFFmpeg

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How ``ProxyEncoder`` builds a proxy.
public struct ProxyOptions: Sendable, Equatable {
    /// The swscale algorithm that shrinks each frame.
    public enum Scaler: Sendable, Equatable {
        /// Area averaging: every source pixel contributes, no aliasing on large downscales (the default).
        case area
        /// swscale's fast bilinear: cheaper, but it samples only 2 taps per output pixel, so fine
        /// detail aliases at 4× and beyond.
        case fastBilinear
        /// Bicubic (what ``Normalizer`` uses).
        case bicubic

        var flags: Int32 {
            switch self {
            case .area: SWS_AREA
            case .fastBilinear: SWS_FAST_BILINEAR
            case .bicubic: SWS_BICUBIC
            }
        }
    }

    /// libx264 preset. Default `ultrafast` (CAVLC, no deblocking: the cheapest to decode, too).
    public var preset: String
    /// libx264 constant rate factor. Default 12 (near-lossless at the working size).
    public var crf: Int
    /// Decoder and encoder threads, clamped to 1…2. Default 1: proxies are built in the background
    /// beside interactive work.
    public var threads: Int
    /// Downscaling algorithm. Default ``Scaler/area``.
    public var scaler: Scaler
    /// Deadline for the whole build (`.timedOut` after it). Default 15 minutes.
    public var timeoutSeconds: Double
    /// Extra libx264 settings (`key=value:key=value`), empty by default.
    public var x264Params: String

    /// Creates options; every argument has the documented default.
    public init(preset: String = "ultrafast", crf: Int = 12, threads: Int = 1, scaler: Scaler = .area,
                timeoutSeconds: Double = 900, x264Params: String = "") {
        self.preset = preset
        self.crf = crf
        self.threads = threads
        self.scaler = scaler
        self.timeoutSeconds = timeoutSeconds
        self.x264Params = x264Params
    }
}

/// The result of ``ProxyEncoder/makeProxy(input:output:width:height:options:)``.
public struct ProxyVideo: Sendable, Equatable {
    /// Path of the written file.
    public var path: String
    /// Number of frames: the input's (proxy frame i is input frame i).
    public var frameCount: Int
    /// Frame width.
    public var width: Int
    /// Frame height.
    public var height: Int
    /// Size of the file in bytes.
    public var byteSize: Int

    /// Memberwise initialiser.
    public init(path: String, frameCount: Int, width: Int, height: Int, byteSize: Int) {
        self.path = path
        self.frameCount = frameCount
        self.width = width
        self.height = height
        self.byteSize = byteSize
    }
}

/// Builds the per-session proxy: the normalised video shrunk to the working size and encoded
/// all-intra, so that ``FrameReader`` fetches any frame of it with a single small decode.
public enum ProxyEncoder {
    /// Decodes `input` (a normalised H.264 MP4) in order, scales every frame to `width`×`height`
    /// and encodes it with libx264 as an IDR frame (yuv420p, `+faststart` MP4, no audio).
    ///
    /// The proxy has the input's frames with the input's timestamps: proxy frame i is input frame i.
    /// It is written to a temporary file next to `output` and renamed into place; nothing is left
    /// behind on failure. Runs synchronously; checks task cancellation (`.cancelled`) and
    /// `options.timeoutSeconds` (`.timedOut`) as it goes.
    ///
    /// - Parameters:
    ///   - width: Proxy width, even, 2…16384 (4:2:0 chroma needs even sizes).
    ///   - height: Proxy height, even, 2…16384.
    public static func makeProxy(input: String, output: String, width: Int, height: Int,
                                 options: ProxyOptions = .init()) throws(MediaError) -> ProxyVideo {
        guard (2...16384).contains(width), (2...16384).contains(height), width % 2 == 0, height % 2 == 0 else {
            throw MediaError(code: .invalidArgument, message: "proxy size \(width)x\(height) must be even, 2…16384")
        }
        let temporary = output + ".part-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do throws(MediaError) {
            let deadline = Deadline(seconds: options.timeoutSeconds)
            let frames = try encode(input: input, temporary: temporary, width: width, height: height,
                                    options: options, deadline: deadline)
            var info = stat()
            guard stat(temporary, &info) == 0, rename(temporary, output) == 0 else {
                throw MediaError(code: .io, message: "cannot move the proxy into place: " + String(cString: strerror(errno)))
            }
            return ProxyVideo(path: output, frameCount: frames, width: width, height: height, byteSize: Int(info.st_size))
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Writes the proxy to `temporary`; returns its frame count. Every FFmpeg object is released on return.
    static func encode(input path: String, temporary: String, width: Int, height: Int, options: ProxyOptions,
                       deadline: Deadline) throws(MediaError) -> Int {
        let input = try InputFile(path: path, format: "mov", deadline: deadline, failureCode: .corrupt)
        let (videoIndex, _) = try MediaProbe.chooseStreams(input)
        input.keepOnly([videoIndex])
        let inVideo = input.stream(videoIndex)
        let par = inVideo.pointee.codecpar!
        let decoder = try Decoder(stream: inVideo, threads: options.threads)
        let sourceWidth = Int(par.pointee.width) & ~1, sourceHeight = Int(par.pointee.height) & ~1
        guard sourceWidth >= 2, sourceHeight >= 2 else {
            throw MediaError(code: .undecodable, message: "bad frame size \(par.pointee.width)x\(par.pointee.height)")
        }

        // Keep the input's time base and timestamps; every packet lasts one frame.
        let timeBase = inVideo.pointee.time_base
        var rate = inVideo.pointee.avg_frame_rate
        if rate.num <= 0 || rate.den <= 0 { rate = inVideo.pointee.r_frame_rate }
        guard timeBase.num > 0, timeBase.den > 0, rate.num > 0, rate.den > 0 else {
            throw MediaError(code: .corrupt, message: "the video has no usable frame rate or time base")
        }
        let frameDuration = max(1, Int64((1 / rate.double / timeBase.double).rounded()))

        let output = try OutputFile(path: temporary)
        let settings = EncoderSettings(preset: options.preset, crf: options.crf, threads: options.threads,
                                       keyframeInterval: 1, x264Params: options.x264Params, timeBase: timeBase,
                                       frameRate: rate, frameDuration: frameDuration)
        let encoder = try Encoder(width: width, height: height, settings: settings,
                                  globalHeader: output.needsGlobalHeader, colorFrom: par)
        let outVideo = try output.addStream(encoder: encoder)
        try output.writeHeader()
        let converter = FrameConverter(cropWidth: sourceWidth, cropHeight: sourceHeight, rotation: 0,
                                       scaledTo: (width, height), scaleFlags: options.scaler.flags)

        let frame = try Frame()
        var lastPts: Int64? = nil
        var decodeErrors = 0
        func drainDecoder() throws(MediaError) {
            while true {
                let rc = avcodec_receive_frame(decoder.context, frame.pointer)
                if rc == roto_eagain() || rc == roto_averror_eof() { return }
                guard rc >= 0 else { decodeErrors += 1; return }
                defer { frame.unref() }
                var pts = frame.pointer.pointee.best_effort_timestamp
                if pts == roto_nopts_value() { pts = frame.pointer.pointee.pts }
                if pts == roto_nopts_value() { pts = lastPts.map { $0 + frameDuration } ?? 0 }
                // libx264 needs increasing timestamps; a normalised input has them.
                if let lastPts, pts <= lastPts {
                    throw MediaError(code: .corrupt, message: "non-increasing frame timestamp \(pts) after \(lastPts)")
                }
                lastPts = pts
                let ready = try converter.convert(frame.pointer)
                ready.pointee.pts = pts
                ready.pointee.pict_type = AV_PICTURE_TYPE_NONE
                try encoder.send(ready, output: output, stream: outVideo)
            }
        }

        let packet = try Packet()
        var packets = 0
        while true {
            if packets & 7 == 7 { try deadline.check("building the proxy") }
            let rc = av_read_frame(input.context, packet.pointer)
            if rc == roto_averror_eof() { break }
            guard rc >= 0 else {
                throw MediaError(code: .corrupt, message: "unreadable input after \(packets) packets: \(ffErrorString(rc))",
                                 ffmpegError: rc)
            }
            defer { packet.unref() }
            let p = packet.pointer.pointee
            guard Int(p.stream_index) == videoIndex, p.flags & AV_PKT_FLAG_DISCARD == 0 else { continue }
            packets += 1
            let sent = avcodec_send_packet(decoder.context, packet.pointer)
            if sent < 0 && sent != roto_eagain() { decodeErrors += 1 }
            try drainDecoder()
        }
        _ = avcodec_send_packet(decoder.context, nil)
        try drainDecoder()
        try encoder.flush(output: output, stream: outVideo)
        guard encoder.packetsWritten > 0 else {
            throw MediaError(code: .undecodable, message: "no frame of the \(decoder.codecName) stream decodes "
                + "(\(decodeErrors) errors)")
        }
        guard decodeErrors == 0, encoder.packetsWritten == packets else {
            // A dropped frame would shift every later index against the input's.
            throw MediaError(code: .corrupt, message: "\(encoder.packetsWritten) of \(packets) frames decode "
                + "(\(decodeErrors) errors)")
        }
        let indexed = Int(inVideo.pointee.nb_frames)
        guard indexed <= 0 || packets == indexed else {
            throw MediaError(code: .corrupt, message: "the input ends after \(packets) of \(indexed) frames")
        }
        try output.finish()
        return encoder.packetsWritten
    }
}
