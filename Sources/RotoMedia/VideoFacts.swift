/// What ``MediaProbe/probe(path:timeoutSeconds:)`` measured about a video file.
public struct VideoFacts: Sendable, Equatable {
    /// The container family, decided by the ISO-BMFF `ftyp` brand (never by the file extension).
    public enum Container: String, Sendable, Equatable {
        /// ISO-BMFF MP4 (`isom`, `iso2`…`iso9`, `mp41`, `mp42`, `avc1`, `M4V `, `dash`, …).
        case mp4
        /// QuickTime (`qt  `, or a classic QuickTime file without an `ftyp` box).
        case mov
    }

    /// MP4 or MOV.
    public var container: Container
    /// The `ftyp` major brand as written (e.g. `"isom"`, `"qt  "`); nil for a QuickTime file without `ftyp`.
    public var majorBrand: String?
    /// File size in bytes.
    public var fileSize: Int64

    /// Index of the chosen video stream in the container.
    public var videoStreamIndex: Int
    /// FFmpeg codec name of the video stream: `"h264"`, `"hevc"`, `"mpeg4"`, `"prores"`, …
    public var videoCodec: String
    /// Codec profile name when known (e.g. `"High"`, `"Main 10"`).
    public var videoProfile: String?
    /// Pixel format of the decoded frames, e.g. `"yuv420p"`, `"yuv420p10le"`, `"yuvj420p"`.
    public var pixelFormat: String
    /// Stored (coded) frame size, before rotation.
    public var codedWidth: Int
    /// Stored (coded) frame size, before rotation.
    public var codedHeight: Int
    /// Clockwise rotation a viewer applies to the stored frames: 0, 90, 180 or 270 (from the display
    /// matrix, rounded to the nearest quarter turn; mirroring is ignored).
    public var rotation: Int
    /// Width as displayed (after rotation).
    public var displayWidth: Int
    /// Height as displayed (after rotation).
    public var displayHeight: Int
    /// Whether the first frame is interlaced (field coded).
    public var isInterlaced: Bool
    /// The pixels' shape (width over height as shown) that the codec's own headers give (an H.264 or
    /// HEVC VUI), as the first frame was decoded with it; nil when they give none. Players fall back on
    /// it when the container gives none (no `pasp` box); see `sampleAspect(of:coded:quarterTurned:)`.
    public var codedSampleAspect: Ratio?

    /// A ratio of two positive integers.
    public struct Ratio: Sendable, Equatable {
        public var num: Int
        public var den: Int
        public init(num: Int, den: Int) {
            self.num = num
            self.den = den
        }
    }

    /// Duration of the video stream in milliseconds (stream duration, else the container's).
    public var durationMs: Int
    /// Number of video packets (= frames) in the stream, not counting packets the container marks
    /// as discarded by an edit list.
    public var frameCount: Int
    /// `frameCount / duration`.
    public var averageFrameRate: Double
    /// The best estimate of the stream's rate: for CFR the exact rate from the timestamp step
    /// (e.g. 29.97002997), for VFR the rate of the median frame interval.
    public var frameRate: Double
    /// The container's own rates (FFmpeg `r_frame_rate`, `avg_frame_rate`), 0 when unknown.
    public var containerFrameRate: Double
    /// 24, 30 or 60 when ``frameRate`` is within 2 % of one of them or of the NTSC 23.976 / 29.97 /
    /// 59.94; nil otherwise (25, 50, 15, …).
    public var nominalFrameRate: Int?
    /// True when the rate is the NTSC variant (24000/1001, 30000/1001, 60000/1001) of ``nominalFrameRate``.
    public var isNTSC: Bool
    /// True when every frame-to-frame timestamp step (the MP4 sample durations) equals the median
    /// step within max(1 tick, 1 %).
    public var isConstantFrameRate: Bool
    /// True when packets arrive out of presentation order (B-frames / reordering).
    public var hasBFrames: Bool
    /// True when the container holds packets that an edit list hides (decoded but not shown).
    public var hasHiddenPackets: Bool
    /// The longest run of frames from one keyframe to the next (or to the end): the worst case of
    /// frames ``FrameReader`` decodes for a random access. A remuxed file keeps the source's GOPs;
    /// pass `forceReencode` to get short ones.
    public var maxKeyframeInterval: Int

    /// Whether the file has an audio stream.
    public var hasAudio: Bool
    /// FFmpeg codec name of the (best) audio stream, e.g. `"aac"`.
    public var audioCodec: String?
    /// Index of that audio stream.
    public var audioStreamIndex: Int?

    /// Memberwise initialiser (for tests and callers that build facts by hand).
    public init(container: Container, majorBrand: String?, fileSize: Int64, videoStreamIndex: Int,
                videoCodec: String, videoProfile: String?, pixelFormat: String, codedWidth: Int,
                codedHeight: Int, rotation: Int, displayWidth: Int, displayHeight: Int, isInterlaced: Bool,
                durationMs: Int, frameCount: Int, averageFrameRate: Double, frameRate: Double,
                containerFrameRate: Double, nominalFrameRate: Int?, isNTSC: Bool, isConstantFrameRate: Bool,
                hasBFrames: Bool, hasHiddenPackets: Bool, maxKeyframeInterval: Int, hasAudio: Bool, audioCodec: String?,
                audioStreamIndex: Int?, codedSampleAspect: Ratio? = nil) {
        self.container = container
        self.majorBrand = majorBrand
        self.fileSize = fileSize
        self.videoStreamIndex = videoStreamIndex
        self.videoCodec = videoCodec
        self.videoProfile = videoProfile
        self.pixelFormat = pixelFormat
        self.codedWidth = codedWidth
        self.codedHeight = codedHeight
        self.rotation = rotation
        self.displayWidth = displayWidth
        self.displayHeight = displayHeight
        self.isInterlaced = isInterlaced
        self.durationMs = durationMs
        self.frameCount = frameCount
        self.averageFrameRate = averageFrameRate
        self.frameRate = frameRate
        self.containerFrameRate = containerFrameRate
        self.nominalFrameRate = nominalFrameRate
        self.isNTSC = isNTSC
        self.isConstantFrameRate = isConstantFrameRate
        self.hasBFrames = hasBFrames
        self.hasHiddenPackets = hasHiddenPackets
        self.maxKeyframeInterval = maxKeyframeInterval
        self.hasAudio = hasAudio
        self.audioCodec = audioCodec
        self.audioStreamIndex = audioStreamIndex
        self.codedSampleAspect = codedSampleAspect
    }

    /// Duration in seconds.
    public var durationSeconds: Double { Double(durationMs) / 1000 }

    /// True when the video can be stream-copied into a normalised file at `frameRate` fps:
    /// H.264, yuv420p (limited range), progressive, constant frame rate exactly `frameRate`
    /// (not the NTSC variant), no rotation, even dimensions, no edit-list-hidden packets.
    public func canRemux(toFrameRate frameRate: Int) -> Bool {
        videoCodec == "h264" && pixelFormat == "yuv420p" && !isInterlaced && isConstantFrameRate
            && nominalFrameRate == frameRate && !isNTSC && rotation == 0
            && codedWidth % 2 == 0 && codedHeight % 2 == 0 && !hasHiddenPackets
    }

    /// The rate a normalised copy will have: ``nominalFrameRate`` (NTSC rates map to 24/30/60).
    public var targetFrameRate: Int? { nominalFrameRate }
}
