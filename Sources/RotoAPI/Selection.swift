/// Wire types of the video-selection endpoints (spec §2–5, §9).

/// The selection actions' path segments under `/v1/videos/multi-elements/` (each a POST route). A task
/// query `GET …/multi-elements/<id>` cannot reach an id spelled like one of them.
public enum SelectionActions {
    public static let names: Set<String> = ["init-selection", "add-selection", "delete-selection", "clear-selection",
                                            "preview-selection"]
}

/// `POST .../init-selection` request.
public struct InitSelectionRequest: Codable, Sendable, Equatable {
    public var videoID: String?
    public var videoURL: String?
    public var taskID: String?

    public init(videoID: String? = nil, videoURL: String? = nil, taskID: String? = nil) {
        self.videoID = videoID
        self.videoURL = videoURL
        self.taskID = taskID
    }

    enum CodingKeys: String, CodingKey {
        case videoID = "video_id", videoURL = "video_url", taskID = "task_id"
    }
}

/// `data` of a successful init-selection.
public struct InitSelectionData: Codable, Sendable, Equatable {
    public var status: Int
    public var sessionID: String
    public var finalUnitDeduction: String
    public var fps: Double
    /// Milliseconds.
    public var originalDuration: Int
    public var width: Int
    public var height: Int
    public var totalFrame: Int
    public var normalizedVideo: String

    public init(status: Int = 0, sessionID: String, finalUnitDeduction: String = "0", fps: Double,
                originalDuration: Int, width: Int, height: Int, totalFrame: Int, normalizedVideo: String) {
        self.status = status
        self.sessionID = sessionID
        self.finalUnitDeduction = finalUnitDeduction
        self.fps = fps
        self.originalDuration = originalDuration
        self.width = width
        self.height = height
        self.totalFrame = totalFrame
        self.normalizedVideo = normalizedVideo
    }

    enum CodingKeys: String, CodingKey {
        case status, fps, width, height
        case sessionID = "session_id", finalUnitDeduction = "final_unit_deduction"
        case originalDuration = "original_duration", totalFrame = "total_frame"
        case normalizedVideo = "normalized_video"
    }
}

/// A click on a frame, in normalised display coordinates. `label` is the Roto extension (1 include,
/// 0 exclude); absent means include.
public struct WirePoint: Codable, Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var label: Int?

    public init(x: Double, y: Double, label: Int? = nil) {
        self.x = x
        self.y = y
        self.label = label
    }
}

/// `POST .../add-selection` and `.../delete-selection` request.
public struct SelectionPointsRequest: Codable, Sendable, Equatable {
    public var sessionID: String
    public var frameIndex: Int
    public var points: [WirePoint]
    /// Roto extension: which object the points belong to (default 0).
    public var objectID: Int?

    public init(sessionID: String, frameIndex: Int, points: [WirePoint], objectID: Int? = nil) {
        self.sessionID = sessionID
        self.frameIndex = frameIndex
        self.points = points
        self.objectID = objectID
    }

    enum CodingKeys: String, CodingKey {
        case points
        case sessionID = "session_id", frameIndex = "frame_index", objectID = "object_id"
    }
}

/// A request that names only a session (clear-selection, preview-selection).
public struct SessionRequest: Codable, Sendable, Equatable {
    public var sessionID: String
    public init(sessionID: String) { self.sessionID = sessionID }
    enum CodingKeys: String, CodingKey { case sessionID = "session_id" }
}

/// COCO compressed RLE (`size` is `[height, width]`).
public struct RLEMask: Codable, Sendable, Equatable {
    public var size: [Int]
    public var counts: String
    public init(size: [Int], counts: String) {
        self.size = size
        self.counts = counts
    }
}

/// A single-channel PNG, raw base64.
public struct PNGMask: Codable, Sendable, Equatable {
    public var size: [Int]
    public var base64: String
    public init(size: [Int], base64: String) {
        self.size = size
        self.base64 = base64
    }
}

/// One object's mask on a frame.
public struct ObjectMask: Codable, Sendable, Equatable {
    public var objectID: Int
    public var rleMask: RLEMask
    public var pngMask: PNGMask?

    public init(objectID: Int, rleMask: RLEMask, pngMask: PNGMask? = nil) {
        self.objectID = objectID
        self.rleMask = rleMask
        self.pngMask = pngMask
    }

    enum CodingKeys: String, CodingKey {
        case objectID = "object_id", rleMask = "rle_mask", pngMask = "png_mask"
    }
}

/// `res` of add/delete-selection.
public struct FrameMasks: Codable, Sendable, Equatable {
    public var frameIndex: Int
    public var rleMaskList: [ObjectMask]

    public init(frameIndex: Int, rleMaskList: [ObjectMask]) {
        self.frameIndex = frameIndex
        self.rleMaskList = rleMaskList
    }

    enum CodingKeys: String, CodingKey {
        case frameIndex = "frame_index", rleMaskList = "rle_mask_list"
    }
}

/// `data` of add/delete-selection.
public struct SelectionData: Codable, Sendable, Equatable {
    public var status: Int
    public var sessionID: String
    public var finalUnitDeduction: String
    public var res: FrameMasks

    public init(status: Int, sessionID: String, finalUnitDeduction: String = "0", res: FrameMasks) {
        self.status = status
        self.sessionID = sessionID
        self.finalUnitDeduction = finalUnitDeduction
        self.res = res
    }

    enum CodingKeys: String, CodingKey {
        case status, res
        case sessionID = "session_id", finalUnitDeduction = "final_unit_deduction"
    }
}

/// `data` of clear-selection.
public struct SessionStatusData: Codable, Sendable, Equatable {
    public var status: Int
    public var sessionID: String
    public var finalUnitDeduction: String

    public init(status: Int = 0, sessionID: String, finalUnitDeduction: String = "0") {
        self.status = status
        self.sessionID = sessionID
        self.finalUnitDeduction = finalUnitDeduction
    }

    enum CodingKeys: String, CodingKey {
        case status
        case sessionID = "session_id", finalUnitDeduction = "final_unit_deduction"
    }
}

/// `data` of the upload extension (§9.1).
public struct UploadData: Codable, Sendable, Equatable {
    public var url: String
    /// Unix milliseconds.
    public var expiresAt: Int64

    public init(url: String, expiresAt: Int64) {
        self.url = url
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case url
        case expiresAt = "expires_at"
    }
}

/// The points of one object on one frame, as the session-state extension returns them.
public struct ObjectPoints: Codable, Sendable, Equatable {
    public var objectID: Int
    public var points: [WirePoint]

    public init(objectID: Int, points: [WirePoint]) {
        self.objectID = objectID
        self.points = points
    }

    enum CodingKeys: String, CodingKey {
        case points
        case objectID = "object_id"
    }
}

/// The points of one frame.
public struct FramePoints: Codable, Sendable, Equatable {
    public var frameIndex: Int
    public var objects: [ObjectPoints]

    public init(frameIndex: Int, objects: [ObjectPoints]) {
        self.frameIndex = frameIndex
        self.objects = objects
    }

    enum CodingKeys: String, CodingKey {
        case objects
        case frameIndex = "frame_index"
    }
}

/// `data` of `GET .../sessions/{id}` (§9.2).
public struct SessionStateData: Codable, Sendable, Equatable {
    public var sessionID: String
    public var fps: Double
    public var originalDuration: Int
    public var width: Int
    public var height: Int
    public var totalFrame: Int
    public var normalizedVideo: String
    /// Unix milliseconds.
    public var createdAt: Int64
    /// Unix milliseconds.
    public var expiresAt: Int64
    public var frames: [FramePoints]

    public init(sessionID: String, fps: Double, originalDuration: Int, width: Int, height: Int,
                totalFrame: Int, normalizedVideo: String, createdAt: Int64, expiresAt: Int64,
                frames: [FramePoints]) {
        self.sessionID = sessionID
        self.fps = fps
        self.originalDuration = originalDuration
        self.width = width
        self.height = height
        self.totalFrame = totalFrame
        self.normalizedVideo = normalizedVideo
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.frames = frames
    }

    enum CodingKeys: String, CodingKey {
        case fps, width, height, frames
        case sessionID = "session_id", originalDuration = "original_duration"
        case totalFrame = "total_frame", normalizedVideo = "normalized_video"
        case createdAt = "created_at", expiresAt = "expires_at"
    }
}

/// `data` of `/readyz` and `/healthz`.
public struct HealthData: Codable, Sendable, Equatable {
    public var status: String
    public var checks: [String: String]
    public init(status: String, checks: [String: String] = [:]) {
        self.status = status
        self.checks = checks
    }
}

/// `res` of preview-selection: URLs of the overlay video, its cover and the tracking masks.
public struct PreviewResult: Codable, Sendable, Equatable {
    public var video: String
    public var videoCover: String
    public var trackingOutput: String

    public init(video: String, videoCover: String, trackingOutput: String) {
        self.video = video
        self.videoCover = videoCover
        self.trackingOutput = trackingOutput
    }

    enum CodingKeys: String, CodingKey {
        case video
        case videoCover = "video_cover", trackingOutput = "tracking_output"
    }
}

/// `data` of preview-selection.
public struct PreviewData: Codable, Sendable, Equatable {
    public var status: Int
    public var sessionID: String
    public var finalUnitDeduction: String
    public var res: PreviewResult

    public init(status: Int = 0, sessionID: String, finalUnitDeduction: String = "0", res: PreviewResult) {
        self.status = status
        self.sessionID = sessionID
        self.finalUnitDeduction = finalUnitDeduction
        self.res = res
    }

    enum CodingKeys: String, CodingKey {
        case status, res
        case sessionID = "session_id", finalUnitDeduction = "final_unit_deduction"
    }
}

/// The `tracking_output` JSON file of a preview: one entry per frame, in order.
public struct TrackingOutput: Codable, Sendable, Equatable {
    public struct Object: Codable, Sendable, Equatable {
        public var objectID: Int
        public init(objectID: Int) { self.objectID = objectID }
        enum CodingKeys: String, CodingKey { case objectID = "object_id" }
    }

    public var sessionID: String
    public var width: Int
    public var height: Int
    public var fps: Double
    public var totalFrame: Int
    public var objects: [Object]
    /// One entry per frame, in order (the same shape as add-selection's `res`, without PNGs).
    public var frames: [FrameMasks]

    public init(sessionID: String, width: Int, height: Int, fps: Double, totalFrame: Int, objects: [Object],
                frames: [FrameMasks]) {
        self.sessionID = sessionID
        self.width = width
        self.height = height
        self.fps = fps
        self.totalFrame = totalFrame
        self.objects = objects
        self.frames = frames
    }

    enum CodingKeys: String, CodingKey {
        case width, height, fps, objects, frames
        case sessionID = "session_id", totalFrame = "total_frame"
    }
}
