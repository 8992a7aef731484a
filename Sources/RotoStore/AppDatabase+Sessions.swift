import GRDB
import RotoAPI
import RotoCore

extension AppDatabase {
    /// Inserts a new session and its normalised-video file together.
    public func insertSession(_ session: SessionRecord, video: FileRecord) async throws {
        try await writer.write { db in
            try session.insert(db)
            try video.insert(db)
        }
    }

    /// A live session of the account; nil when unknown, another account's, or expired.
    public func session(id: String, accountID: String, now: Int64) async throws -> SessionRecord? {
        try await writer.read { db in
            try SessionRecord
                .filter(Column("id") == id && Column("accountId") == accountID && Column("expiresAt") > now)
                .fetchOne(db)
        }
    }

    /// Replaces a live session's selection, bumping its version when it changed. Returns the stored record,
    /// or nil when the session is gone.
    public func storeSelection(_ selection: Selection, sessionID: String, accountID: String,
                               now: Int64) async throws -> SessionRecord? {
        try await writer.write { db in
            guard var s = try SessionRecord
                .filter(Column("id") == sessionID && Column("accountId") == accountID && Column("expiresAt") > now)
                .fetchOne(db) else { return nil }
            if s.selection != selection {
                s.selection = selection
                s.selectionVersion += 1
                try s.update(db)
            }
            return s
        }
    }

    /// Sessions whose lifetime has ended, with every file they own. Deleting them is the janitor's job.
    public func expiredSessions(now: Int64, limit: Int = 100) async throws -> [(session: String, files: [FileRecord])] {
        try await writer.read { db in
            // A session with an unfinished task keeps its files until the task is done.
            let ids = try String.fetchAll(db, sql: """
                SELECT id FROM session WHERE expiresAt <= ?
                  AND NOT EXISTS (SELECT 1 FROM task WHERE task.sessionId = session.id
                                  AND task.status IN ('submitted', 'processing'))
                LIMIT ?
                """, arguments: [now, limit])
            return try ids.map { id in
                (id, try FileRecord.filter(Column("ownerId") == id).fetchAll(db))
            }
        }
    }

    /// The rows that folders of media files belong to, by the folder's name.
    public enum FolderOwner: String, Sendable { case session, task }

    /// Which of `ids` have no row in the table of `owner` (their folders belong to nothing).
    public func missing(_ ids: [String], in owner: FolderOwner) async throws -> [String] {
        try await absent(ids, column: "id", table: owner.rawValue)
    }

    /// Which of the relative media paths `paths` no file row names (files a process that died wrote
    /// before it stored their rows).
    public func unrecorded(_ paths: [String]) async throws -> [String] {
        try await absent(paths, column: "path", table: FileRecord.databaseTableName)
    }

    /// The values no row of `table` has in `column`.
    private func absent(_ values: [String], column: String, table: String) async throws -> [String] {
        guard !values.isEmpty else { return [] }
        return try await writer.read { db in
            var present = Set<String>()
            // In chunks: SQLite bounds the number of a statement's parameters.
            for start in stride(from: 0, to: values.count, by: 500) {
                let chunk = Array(values[start..<min(values.count, start + 500)])
                let marks = chunk.map { _ in "?" }.joined(separator: ",")
                present.formUnion(try String.fetchAll(db, sql: "SELECT \(column) FROM \(table) WHERE \(column) IN (\(marks))",
                                                      arguments: StatementArguments(chunk)))
            }
            return values.filter { !present.contains($0) }
        }
    }

    /// Deletes a session row and its file rows (after the janitor removed the files).
    public func deleteSession(id: String) async throws {
        try await writer.write { db in
            try FileRecord.filter(Column("ownerId") == id).deleteAll(db)
            try PreviewRecord.filter(Column("sessionId") == id).deleteAll(db)
            _ = try SessionRecord.deleteOne(db, key: id)
        }
    }
}

extension AppDatabase {
    /// Ids of every live session (any account), for background work resumed at start-up.
    public func liveSessionIDs(now: Int64) async throws -> [String] {
        try await writer.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM session WHERE expiresAt > ? ORDER BY id", arguments: [now])
        }
    }

    /// A live session of any account (background work only; API calls use the account-scoped lookup).
    public func session(id: String, now: Int64) async throws -> SessionRecord? {
        try await writer.read { db in
            try SessionRecord.filter(Column("id") == id && Column("expiresAt") > now).fetchOne(db)
        }
    }

    /// A session row whether or not it has expired (tasks that outlive their session's lifetime).
    public func sessionRow(id: String) async throws -> SessionRecord? {
        try await writer.read { db in try SessionRecord.fetchOne(db, key: id) }
    }
}
