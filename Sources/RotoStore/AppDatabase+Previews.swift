import GRDB

/// The cached preview of a session's selection at one selection version.
public struct PreviewRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "preview"
    public var sessionId: String
    public var selectionVersion: Int
    public var videoToken: String
    public var coverToken: String
    public var trackingToken: String
    /// The tracked labels at the engine's working size (a `LabelTrack`), for the edit tasks on this
    /// selection; nil when the preview kept none.
    public var labelsToken: String?
    public var createdAt: Int64

    public init(sessionId: String, selectionVersion: Int, videoToken: String, coverToken: String,
                trackingToken: String, labelsToken: String? = nil, createdAt: Int64) {
        self.sessionId = sessionId
        self.selectionVersion = selectionVersion
        self.videoToken = videoToken
        self.coverToken = coverToken
        self.trackingToken = trackingToken
        self.labelsToken = labelsToken
        self.createdAt = createdAt
    }

    /// How the names of a preview's files begin, under the media folder: the selection version they were
    /// made for, then a stamp of their own (`<base><stamp>.mp4`, `.jpg`, `.json`, `.labels`). A preview
    /// replaced as the session's keeps its files a while (`AppDatabase.keptPreviews`), and its name is
    /// then how its selection version is found.
    public static func filesBase(sessionID: String, selectionVersion: Int) -> String {
        "sessions/\(sessionID)/preview-\(selectionVersion)-"
    }
}

extension AppDatabase {
    /// The session's cached preview, if it was made for `selectionVersion`.
    public func preview(sessionID: String, selectionVersion: Int) async throws -> PreviewRecord? {
        try await writer.read { db in
            try PreviewRecord.filter(Column("sessionId") == sessionID && Column("selectionVersion") == selectionVersion)
                .fetchOne(db)
        }
    }

    /// The tracked-labels file of a preview made for `selectionVersion` of the session's selection: the
    /// session's preview, or one that a later selection's preview replaced and whose files are still kept
    /// (the newest, if two calls made one each), found by the version in its name; nil when there is none
    /// (its files are gone, or it kept no labels).
    public func previewLabels(sessionID: String, selectionVersion: Int) async throws -> FileRecord? {
        try await writer.read { db in
            let base = PreviewRecord.filesBase(sessionID: sessionID, selectionVersion: selectionVersion)
            return try FileRecord
                .filter(Column("ownerId") == sessionID && Column("kind") == FileRecord.Kind.preview.rawValue)
                .order(Column("createdAt").desc, Column("token")).fetchAll(db)
                .first { $0.path.hasPrefix(base) && $0.path.hasSuffix(".labels") }
        }
    }

    /// The `tracking_output` file of the session's latest preview, whatever selection it was made for;
    /// nil when the session has none.
    public func latestPreviewTracking(sessionID: String) async throws -> FileRecord? {
        try await writer.read { db in
            guard let preview = try PreviewRecord.fetchOne(db, key: sessionID) else { return nil }
            return try FileRecord.fetchOne(db, key: preview.trackingToken)
        }
    }

    /// How many of a session's previews keep their files: a preview replaced by a newer one stays
    /// served (a client may still be downloading or playing it) until `keptPreviews` newer ones exist.
    public static let keptPreviews = 4

    /// Stores a new preview and its files, replacing the previous one as the session's preview; returns
    /// the files of the session's previews beyond the newest `keptPreviews`, deleted here, so the caller
    /// can delete them from disk. A preview of an older selection than the stored one's (two previews ran
    /// at once, the older finished last) stores only its files, for the caller that asked for it: the
    /// newer one stays the session's preview (its cache and the prior of first clicks).
    public func replacePreview(_ preview: PreviewRecord, files: [FileRecord]) async throws -> [FileRecord] {
        try await writer.write { db in
            for f in files { try f.insert(db) }
            var current = try PreviewRecord.fetchOne(db, key: preview.sessionId)
            if current.map({ $0.selectionVersion <= preview.selectionVersion }) ?? true {
                try current?.delete(db)
                try preview.insert(db)
                current = preview
            }
            // Each preview stores its files at one instant (video, cover, tracking output, and labels).
            let all = try FileRecord.filter(Column("ownerId") == preview.sessionId && Column("kind") == FileRecord.Kind.preview.rawValue)
                .order(Column("createdAt").desc, Column("token")).fetchAll(db)
            var instants: [Int64] = []
            for f in all where !instants.contains(f.createdAt) { instants.append(f.createdAt) }
            guard instants.count > Self.keptPreviews else { return [] }
            let keptFrom = instants[Self.keptPreviews - 1]
            let live = Set([current?.videoToken, current?.coverToken, current?.trackingToken, current?.labelsToken].compactMap { $0 })
            let old = all.filter { $0.createdAt < keptFrom && !live.contains($0.token) }
            _ = try FileRecord.deleteAll(db, keys: old.map(\.token))
            return old
        }
    }
}
