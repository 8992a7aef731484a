import Foundation
import GRDB
import RotoCore

/// An account: owns keys, sessions, tasks and files.
public struct AccountRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "account"
    public var id: String
    public var name: String
    public var webhookSecret: String?
    public var disabled: Bool
    public var createdAt: Int64

    public init(id: String, name: String, webhookSecret: String? = nil, disabled: Bool = false, createdAt: Int64) {
        self.id = id
        self.name = name
        self.webhookSecret = webhookSecret
        self.disabled = disabled
        self.createdAt = createdAt
    }
}

/// An API key, stored only as its SHA-256 hash.
public struct APIKeyRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "apiKey"
    public var keyHash: String
    public var accountId: String
    public var disabled: Bool
    public var createdAt: Int64

    public init(keyHash: String, accountId: String, disabled: Bool = false, createdAt: Int64) {
        self.keyHash = keyHash
        self.accountId = accountId
        self.disabled = disabled
        self.createdAt = createdAt
    }
}

/// A Kling access key and its secret (needed in clear to verify HS256 signatures).
public struct AccessKeyRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "accessKey"
    public var accessKey: String
    public var secretKey: String
    public var accountId: String
    public var disabled: Bool
    public var createdAt: Int64

    public init(accessKey: String, secretKey: String, accountId: String, disabled: Bool = false, createdAt: Int64) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.accountId = accountId
        self.disabled = disabled
        self.createdAt = createdAt
    }
}

/// A selection session: the normalised video's facts and the points on it.
public struct SessionRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "session"
    public var id: String
    public var accountId: String
    public var createdAt: Int64
    public var expiresAt: Int64
    public var fps: Int
    public var originalDurationMs: Int
    public var width: Int
    public var height: Int
    public var totalFrames: Int
    /// Capability token of the normalised video.
    public var videoToken: String
    /// The result video this session was made from, if any.
    public var sourceVideoId: String?
    public var selection: Selection
    /// Incremented on every selection change (cache key for previews).
    public var selectionVersion: Int

    public init(id: String, accountId: String, createdAt: Int64, expiresAt: Int64, fps: Int,
                originalDurationMs: Int, width: Int, height: Int, totalFrames: Int, videoToken: String,
                sourceVideoId: String? = nil, selection: Selection = .empty, selectionVersion: Int = 0) {
        self.id = id
        self.accountId = accountId
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.fps = fps
        self.originalDurationMs = originalDurationMs
        self.width = width
        self.height = height
        self.totalFrames = totalFrames
        self.videoToken = videoToken
        self.sourceVideoId = sourceVideoId
        self.selection = selection
        self.selectionVersion = selectionVersion
    }
}

/// A file served at a capability URL `<base>/v1/files/<token>`.
public struct FileRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "file"

    /// What a file belongs to; decides its lifetime.
    public struct Kind: RawRepresentable, Codable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let session = Kind(rawValue: "session")
        public static let upload = Kind(rawValue: "upload")
        public static let preview = Kind(rawValue: "preview")
        public static let result = Kind(rawValue: "result")
    }

    public var token: String
    public var accountId: String
    public var kind: Kind
    /// The session, task or nothing (uploads) that owns the file.
    public var ownerId: String?
    /// Path relative to the media root.
    public var path: String
    public var contentType: String
    public var size: Int64
    public var createdAt: Int64
    public var expiresAt: Int64

    public init(token: String, accountId: String, kind: Kind, ownerId: String?, path: String,
                contentType: String, size: Int64, createdAt: Int64, expiresAt: Int64) {
        self.token = token
        self.accountId = accountId
        self.kind = kind
        self.ownerId = ownerId
        self.path = path
        self.contentType = contentType
        self.size = size
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A result video of an edit task.
public struct VideoRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "video"
    public var id: String
    public var accountId: String
    public var taskId: String
    public var sessionId: String
    public var fileToken: String
    public var watermarkFileToken: String?
    public var durationSeconds: Double
    public var createdAt: Int64
    public var expiresAt: Int64

    public init(id: String, accountId: String, taskId: String, sessionId: String, fileToken: String,
                watermarkFileToken: String?, durationSeconds: Double, createdAt: Int64, expiresAt: Int64) {
        self.id = id
        self.accountId = accountId
        self.taskId = taskId
        self.sessionId = sessionId
        self.fileToken = fileToken
        self.watermarkFileToken = watermarkFileToken
        self.durationSeconds = durationSeconds
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
