import GRDB

extension AppDatabase {
    public func insertFile(_ file: FileRecord) async throws {
        try await writer.write { db in try file.insert(db) }
    }

    /// A live file by token (capability URLs need no account).
    public func file(token: String, now: Int64) async throws -> FileRecord? {
        try await writer.read { db in
            try FileRecord.filter(Column("token") == token && Column("expiresAt") > now).fetchOne(db)
        }
    }

    /// Files with no live owner row whose own lifetime ended (uploads, and leftovers).
    public func expiredLooseFiles(now: Int64, limit: Int = 500) async throws -> [FileRecord] {
        try await writer.read { db in
            try FileRecord.filter(Column("expiresAt") <= now).limit(limit).fetchAll(db)
        }
    }

    public func deleteFiles(tokens: [String]) async throws {
        try await writer.write { db in
            _ = try FileRecord.deleteAll(db, keys: tokens)
        }
    }

    /// A live result video of the account (init-selection `video_id`).
    public func video(id: String, accountID: String, now: Int64) async throws -> VideoRecord? {
        try await writer.read { db in
            try VideoRecord
                .filter(Column("id") == id && Column("accountId") == accountID && Column("expiresAt") > now)
                .fetchOne(db)
        }
    }
}
