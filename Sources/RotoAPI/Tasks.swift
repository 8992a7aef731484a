/// Wire types of the edit-task endpoints (spec §6).

/// What an edit task does (`edit_mode`).
public struct EditMode: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    /// The wire spelling.
    public var rawValue: String
    /// Wraps a wire spelling (the server refuses unknown ones; a client may meet newer ones).
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Composite the reference image(s) into the clip.
    public static let addition = EditMode(rawValue: "addition")
    /// Replace the selected object by the reference image's subject.
    public static let swap = EditMode(rawValue: "swap")
    /// Remove the selected objects.
    public static let removal = EditMode(rawValue: "removal")
    /// Every mode the spec defines.
    public static let all: [EditMode] = [.addition, .swap, .removal]

    public var description: String { rawValue }
}

/// A task's state (`task_status`), spelled as Kling spells it.
public struct TaskStatus: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    /// The wire spelling.
    public var rawValue: String
    /// Wraps a wire spelling.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Accepted, waiting for a worker.
    public static let submitted = TaskStatus(rawValue: "submitted")
    /// Being rendered.
    public static let processing = TaskStatus(rawValue: "processing")
    /// Finished; `task_result.videos` holds the result.
    public static let succeed = TaskStatus(rawValue: "succeed")
    /// Finished without a result; `task_status_msg` says why.
    public static let failed = TaskStatus(rawValue: "failed")

    /// True for `succeed` and `failed`.
    public var isFinal: Bool { self == .succeed || self == .failed }

    public var description: String { rawValue }
}

/// One reference image of a task: an http(s) URL or raw base64 (no `data:` prefix).
public struct TaskImage: Codable, Sendable, Equatable {
    /// URL or raw base64.
    public var image: String
    /// Wraps a URL or raw base64 string.
    public init(image: String) { self.image = image }
}

/// `watermark_info` of a task.
public struct WatermarkInfo: Codable, Sendable, Equatable {
    /// Whether a watermarked copy is (to be) produced.
    public var enabled: Bool
    /// Creates the value.
    public init(enabled: Bool) { self.enabled = enabled }
}

/// `task_info` of a task.
public struct TaskInfo: Codable, Sendable, Equatable {
    /// The caller's own id for the task, if it gave one.
    public var externalTaskID: String?
    /// Creates the value.
    public init(externalTaskID: String? = nil) { self.externalTaskID = externalTaskID }
    enum CodingKeys: String, CodingKey { case externalTaskID = "external_task_id" }

    /// The key is always written, `""` when the task has no external id: the contract's shape is
    /// `task_info{external_task_id}`, and a client that decodes it as a plain string needs the key.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(externalTaskID ?? "", forKey: .externalTaskID)
    }

    /// Reads `""`, `null` and an absent key alike as no external id.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let id = try c.decodeIfPresent(String.self, forKey: .externalTaskID)
        externalTaskID = id?.isEmpty == false ? id : nil
    }
}

/// `POST .../videos/multi-elements` request (spec §6.1).
public struct CreateTaskRequest: Codable, Sendable, Equatable {
    /// The live session whose video (and selection) the task edits.
    public var sessionID: String
    /// `addition`, `swap` or `removal`.
    public var editMode: EditMode
    /// Reference images: addition 1–2, swap exactly 1, removal none.
    public var imageList: [TaskImage]?
    /// 1–2500 characters; may reference `<<<video_1>>>` and `<<<image_N>>>`.
    public var prompt: String
    /// Up to 2500 characters.
    public var negativePrompt: String?
    /// If present, `kling-v1-6`.
    public var modelName: String?
    /// `std` (default) or `pro`.
    public var mode: String?
    /// `"5"` (default) or `"10"`: the duration class of the session video.
    public var duration: String?
    /// Also produce a watermarked copy.
    public var watermarkInfo: WatermarkInfo?
    /// Where status changes are POSTed.
    public var callbackURL: String?
    /// The caller's own id, unique per account.
    public var externalTaskID: String?

    /// Creates a request; only the session, mode and prompt are required.
    public init(sessionID: String, editMode: EditMode, prompt: String, imageList: [TaskImage]? = nil,
                negativePrompt: String? = nil, modelName: String? = nil, mode: String? = nil,
                duration: String? = nil, watermarkInfo: WatermarkInfo? = nil, callbackURL: String? = nil,
                externalTaskID: String? = nil) {
        self.sessionID = sessionID
        self.editMode = editMode
        self.prompt = prompt
        self.imageList = imageList
        self.negativePrompt = negativePrompt
        self.modelName = modelName
        self.mode = mode
        self.duration = duration
        self.watermarkInfo = watermarkInfo
        self.callbackURL = callbackURL
        self.externalTaskID = externalTaskID
    }

    enum CodingKeys: String, CodingKey {
        case prompt, mode, duration
        case sessionID = "session_id", editMode = "edit_mode", imageList = "image_list"
        case negativePrompt = "negative_prompt", modelName = "model_name", watermarkInfo = "watermark_info"
        case callbackURL = "callback_url", externalTaskID = "external_task_id"
    }
}

/// `data` of a successful task creation.
public struct TaskCreatedData: Codable, Sendable, Equatable {
    /// The new task's id.
    public var taskID: String
    /// Always `submitted` at creation.
    public var taskStatus: TaskStatus
    /// The session the task edits.
    public var sessionID: String
    /// The caller's own id, if given.
    public var taskInfo: TaskInfo
    /// Unix milliseconds.
    public var createdAt: Int64
    /// Unix milliseconds.
    public var updatedAt: Int64

    /// Memberwise initialiser.
    public init(taskID: String, taskStatus: TaskStatus, sessionID: String, taskInfo: TaskInfo,
                createdAt: Int64, updatedAt: Int64) {
        self.taskID = taskID
        self.taskStatus = taskStatus
        self.sessionID = sessionID
        self.taskInfo = taskInfo
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", taskStatus = "task_status", sessionID = "session_id", taskInfo = "task_info"
        case createdAt = "created_at", updatedAt = "updated_at"
    }
}

/// One result video of a task.
public struct TaskVideo: Codable, Sendable, Equatable {
    /// Usable as init-selection `video_id` while the result lives (30 days).
    public var id: String
    /// The session the task edited.
    public var sessionID: String
    /// Capability URL of the H.264 MP4.
    public var url: String
    /// Capability URL of the watermarked copy (empty when none was asked for).
    public var watermarkURL: String
    /// Seconds, as a string (`"5.0"`).
    public var duration: String

    /// Memberwise initialiser.
    public init(id: String, sessionID: String, url: String, watermarkURL: String, duration: String) {
        self.id = id
        self.sessionID = sessionID
        self.url = url
        self.watermarkURL = watermarkURL
        self.duration = duration
    }

    enum CodingKeys: String, CodingKey {
        case id, url, duration
        case sessionID = "session_id", watermarkURL = "watermark_url"
    }
}

/// `task_result`: `{}` until the task succeeds.
public struct TaskResult: Codable, Sendable, Equatable {
    /// The result videos (one), absent until `succeed`.
    public var videos: [TaskVideo]?
    /// Creates the value (`{}` when `videos` is nil).
    public init(videos: [TaskVideo]? = nil) { self.videos = videos }
}

/// A task as query, list and callbacks show it (spec §6.2).
public struct TaskData: Codable, Sendable, Equatable {
    /// The task's id.
    public var taskID: String
    /// Where the task stands.
    public var taskStatus: TaskStatus
    /// Why it failed (empty otherwise).
    public var taskStatusMsg: String
    /// The caller's own id, if given.
    public var taskInfo: TaskInfo
    /// The result, once `succeed`.
    public var taskResult: TaskResult
    /// Whether a watermarked copy was asked for.
    public var watermarkInfo: WatermarkInfo
    /// Always `"0"`: Roto does not bill.
    public var finalUnitDeduction: String
    /// Unix milliseconds.
    public var createdAt: Int64
    /// Unix milliseconds.
    public var updatedAt: Int64

    /// Memberwise initialiser.
    public init(taskID: String, taskStatus: TaskStatus, taskStatusMsg: String = "", taskInfo: TaskInfo = .init(),
                taskResult: TaskResult = .init(), watermarkInfo: WatermarkInfo, finalUnitDeduction: String = "0",
                createdAt: Int64, updatedAt: Int64) {
        self.taskID = taskID
        self.taskStatus = taskStatus
        self.taskStatusMsg = taskStatusMsg
        self.taskInfo = taskInfo
        self.taskResult = taskResult
        self.watermarkInfo = watermarkInfo
        self.finalUnitDeduction = finalUnitDeduction
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", taskStatus = "task_status", taskStatusMsg = "task_status_msg"
        case taskInfo = "task_info", taskResult = "task_result", watermarkInfo = "watermark_info"
        case finalUnitDeduction = "final_unit_deduction", createdAt = "created_at", updatedAt = "updated_at"
    }
}
