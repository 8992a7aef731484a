import GRDB

/// The cached preview of a session's selection at one selection version.
public struct PreviewRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "preview"
    public var sessionId: String
    public var selectionVersion: Int
    public var videoToken: String
    public var coverToken: String
    public var trackingToken: String
    public var createdAt: Int64

    public init(sessionId: String, selectionVersion: Int, videoToken: String, coverToken: String,
                trackingToken: String, createdAt: Int64) {
        self.sessionId = sessionId
        self.selectionVersion = selectionVersion
        self.videoToken = videoToken
        self.coverToken = coverToken
        self.trackingToken = trackingToken
        self.createdAt = createdAt
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

    /// The `tracking_output` file of the session's latest preview, whatever selection it was made for;
    /// nil when the session has none.
    public func latestPreviewTracking(sessionID: String) async throws -> FileRecord? {
        try await writer.read { db in
            guard let preview = try PreviewRecord.fetchOne(db, key: sessionID) else { return nil }
            return try FileRecord.fetchOne(db, key: preview.trackingToken)
        }
    }

    /// Stores a new preview and its files, replacing the previous one; returns the replaced files so the
    /// caller can delete them from disk. A preview of an older selection than the stored one's (two
    /// previews ran at once, the older finished last) stores only its files, for the caller that asked
    /// for it: the newer one stays the session's preview (its cache and the prior of first clicks), and
    /// the files go with the session.
    public func replacePreview(_ preview: PreviewRecord, files: [FileRecord]) async throws -> [FileRecord] {
        try await writer.write { db in
            var old: [FileRecord] = []
            for f in files { try f.insert(db) }
            if let previous = try PreviewRecord.fetchOne(db, key: preview.sessionId) {
                guard previous.selectionVersion <= preview.selectionVersion else { return [] }
                let tokens = [previous.videoToken, previous.coverToken, previous.trackingToken]
                old = try FileRecord.fetchAll(db, keys: tokens)
                _ = try FileRecord.deleteAll(db, keys: tokens)
                try previous.delete(db)
            }
            try preview.insert(db)
            return old
        }
    }
}
