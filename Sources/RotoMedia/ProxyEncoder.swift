import CFFmpeg
import RotoThreads

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
    /// behind on failure. Runs synchronously; checks task cancellation and `cancellation` (`.cancelled`)
    /// and `options.timeoutSeconds` (`.timedOut`) as it goes.
    ///
    /// - Parameters:
    ///   - width: Proxy width, even, 2…16384 (4:2:0 chroma needs even sizes).
    ///   - height: Proxy height, even, 2…16384.
    public static func makeProxy(input: String, output: String, width: Int, height: Int,
                                 options: ProxyOptions = .init(),
                                 cancellation: CancellationFlag? = nil) throws(MediaError) -> ProxyVideo {
        guard (2...16384).contains(width), (2...16384).contains(height), width % 2 == 0, height % 2 == 0 else {
            throw MediaError(code: .invalidArgument, message: "proxy size \(width)x\(height) must be even, 2…16384")
        }
        var frames = 0
        let byteSize = try writeAtomically(to: output) { temporary throws(MediaError) in
            frames = try encode(input: input, temporary: temporary, width: width, height: height, options: options,
                                deadline: Deadline(seconds: options.timeoutSeconds, cancellation: cancellation))
        }
        return ProxyVideo(path: output, frameCount: frames, width: width, height: height, byteSize: byteSize)
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
        let (timeBase, rate, frameDuration) = try streamTiming(inVideo)

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

        let tally = try decodeVideo(input: input, videoIndex: videoIndex, decoder: decoder,
                                    frameDuration: frameDuration, deadline: deadline,
                                    activity: "building the proxy") { frame, pts throws(MediaError) in
            let ready = try converter.convert(frame)
            ready.pointee.pts = pts
            ready.pointee.pict_type = AV_PICTURE_TYPE_NONE
            try encoder.send(ready, output: output, stream: outVideo)
        }
        try encoder.flush(output: output, stream: outVideo)
        try tally.verify(encoded: encoder.packetsWritten, decoder: decoder, stream: inVideo)
        try output.finish()
        return encoder.packetsWritten
    }
}
