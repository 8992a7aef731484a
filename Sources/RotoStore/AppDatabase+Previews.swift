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
}

extension AppDatabase {
    /// The session's cached preview, if it was made for `selectionVersion`.
    public func preview(sessionID: String, selectionVersion: Int) async throws -> PreviewRecord? {
        try await writer.read { db in try Self.preview(db, sessionID: sessionID, selectionVersion: selectionVersion) }
    }

    /// The tracked-labels file of the session's preview made for `selectionVersion`; nil when there is
    /// none (another selection's preview replaced it, or it kept no labels).
    public func previewLabels(sessionID: String, selectionVersion: Int) async throws -> FileRecord? {
        try await writer.read { db in
            guard let token = try Self.preview(db, sessionID: sessionID, selectionVersion: selectionVersion)?.labelsToken
            else { return nil }
            return try FileRecord.fetchOne(db, key: token)
        }
    }

    private static func preview(_ db: Database, sessionID: String, selectionVersion: Int) throws -> PreviewRecord? {
        try PreviewRecord.filter(Column("sessionId") == sessionID && Column("selectionVersion") == selectionVersion).fetchOne(db)
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
