/// An error from the media layer: probing, normalising or reading frames.
///
/// Modelled on SwiftNIO's `FileSystemError`: a struct with an evolvable ``Code`` (new codes can be
/// added without breaking exhaustive `switch`es, because `Code` is a struct, not an enum) and a
/// human-readable ``message`` that names what was measured or what failed.
public struct MediaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public var code: Code
    /// A human-readable explanation, suitable for an API error message.
    public var message: String
    /// The FFmpeg error number (a negative `AVERROR` value) behind this error, if any.
    public var ffmpegError: Int32?

    /// Creates an error.
    public init(code: Code, message: String, ffmpegError: Int32? = nil) {
        self.code = code
        self.message = message
        self.ffmpegError = ffmpegError
    }

    /// `"<code>: <message>"`.
    public var description: String { "\(code): \(message)" }

    /// The kind of a ``MediaError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case io, notAVideo, unsupportedContainer, noVideoStream, undecodable, corrupt
            case encodeFailed, invalidArgument, timedOut, cancelled, internalError
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The file could not be opened, read, written or renamed.
        public static let io = Code(.io)
        /// The content is not a video at all: empty, text, random bytes, an image, audio only.
        public static let notAVideo = Code(.notAVideo)
        /// A recognised media container other than ISO-BMFF MP4 or QuickTime MOV (for example Matroska),
        /// or an ISO-BMFF file whose brand is not a video brand (HEIF, AVIF, …).
        public static let unsupportedContainer = Code(.unsupportedContainer)
        /// An MP4/MOV file without a video track.
        public static let noVideoStream = Code(.noVideoStream)
        /// A video track exists, but no decoder is available or its first frame cannot be decoded.
        public static let undecodable = Code(.undecodable)
        /// The container is damaged or truncated (missing `moov`, fewer samples than indexed, …).
        public static let corrupt = Code(.corrupt)
        /// Encoding or muxing the normalised output failed.
        public static let encodeFailed = Code(.encodeFailed)
        /// A caller-supplied argument is out of range (frame index, frame rate, size, …).
        public static let invalidArgument = Code(.invalidArgument)
        /// The operation ran past its deadline.
        public static let timedOut = Code(.timedOut)
        /// The current task was cancelled while the operation ran.
        public static let cancelled = Code(.cancelled)
        /// An unexpected FFmpeg failure (allocation failure, missing component).
        public static let internalError = Code(.internalError)

        /// The code's name, e.g. `notAVideo`.
        public var description: String {
            switch wrapped {
            case .io: "io"
            case .notAVideo: "notAVideo"
            case .unsupportedContainer: "unsupportedContainer"
            case .noVideoStream: "noVideoStream"
            case .undecodable: "undecodable"
            case .corrupt: "corrupt"
            case .encodeFailed: "encodeFailed"
            case .invalidArgument: "invalidArgument"
            case .timedOut: "timedOut"
            case .cancelled: "cancelled"
            case .internalError: "internalError"
            }
        }
    }
}
