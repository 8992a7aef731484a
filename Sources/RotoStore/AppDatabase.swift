import Foundation
import GRDB

/// Roto's database: one `DatabaseWriter` (a WAL pool on disk, an in-memory queue in tests) and the
/// schema's append-only migrations. Every read and write of the server goes through its methods.
public struct AppDatabase: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` and migrates it.
    public static func open(path: String) throws -> AppDatabase {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        let pool = try DatabasePool(path: path, configuration: config)
        return try AppDatabase(pool)
    }

    /// A fresh in-memory database (tests).
    public static func inMemory() throws -> AppDatabase {
        try AppDatabase(DatabaseQueue())
    }

    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    /// Named, append-only migrations. Never edit one that has shipped: add a new one.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-accounts-sessions-files") { db in
            try db.create(table: "account") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("webhookSecret", .text)
                t.column("disabled", .boolean).notNull().defaults(to: false)
                t.column("createdAt", .integer).notNull()
            }
            try db.create(table: "apiKey") { t in
                t.primaryKey("keyHash", .text)
                t.belongsTo("account", onDelete: .cascade).notNull()
                t.column("disabled", .boolean).notNull().defaults(to: false)
                t.column("createdAt", .integer).notNull()
            }
            try db.create(table: "accessKey") { t in
                t.primaryKey("accessKey", .text)
                t.column("secretKey", .text).notNull()
                t.belongsTo("account", onDelete: .cascade).notNull()
                t.column("disabled", .boolean).notNull().defaults(to: false)
                t.column("createdAt", .integer).notNull()
            }
            try db.create(table: "session") { t in
                t.primaryKey("id", .text)
                t.belongsTo("account", onDelete: .cascade).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("expiresAt", .integer).notNull().indexed()
                t.column("fps", .integer).notNull().check { [24, 30, 60].contains($0) }
                t.column("originalDurationMs", .integer).notNull()
                t.column("width", .integer).notNull()
                t.column("height", .integer).notNull()
                t.column("totalFrames", .integer).notNull().check { $0 > 0 }
                t.column("videoToken", .text).notNull()
                t.column("sourceVideoId", .text)
                t.column("selection", .jsonText).notNull()
                t.column("selectionVersion", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "file") { t in
                t.primaryKey("token", .text)
                t.belongsTo("account", onDelete: .cascade).notNull()
                t.column("kind", .text).notNull()
                    .check { ["session", "upload", "preview", "result"].contains($0) }
                t.column("ownerId", .text).indexed()
                t.column("path", .text).notNull()
                t.column("contentType", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("expiresAt", .integer).notNull().indexed()
            }
            // Result videos of edit tasks, usable as init-selection `video_id` for 30 days.
            try db.create(table: "video") { t in
                t.primaryKey("id", .text)
                t.belongsTo("account", onDelete: .cascade).notNull()
                t.column("taskId", .text).notNull().indexed()
                t.column("sessionId", .text).notNull()
                t.column("fileToken", .text).notNull()
                t.column("watermarkFileToken", .text)
                t.column("durationSeconds", .double).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("expiresAt", .integer).notNull()
            }
        }
        m.registerMigration("v2-previews") { db in
            // The cached preview of a session's selection (one per session; replaced when it changes).
            try db.create(table: "preview") { t in
                t.primaryKey("sessionId", .text).references("session", onDelete: .cascade)
                t.column("selectionVersion", .integer).notNull()
                t.column("videoToken", .text).notNull()
                t.column("coverToken", .text).notNull()
                t.column("trackingToken", .text).notNull()
                t.column("createdAt", .integer).notNull()
            }
        }
        m.registerMigration("v3-tasks") { db in
            // Edit tasks: the durable queue (status moves submitted → processing → succeed | failed).
            // No foreign key to the session: a task outlives its session (the janitor keeps a session's
            // files while it has unfinished tasks).
            try db.create(table: "task") { t in
                t.primaryKey("id", .text)
                t.belongsTo("account", onDelete: .cascade).notNull()
                t.column("externalTaskId", .text)
                t.column("sessionId", .text).notNull().indexed()
                t.column("editMode", .text).notNull().check { ["addition", "swap", "removal"].contains($0) }
                t.column("mode", .text).notNull().check { ["std", "pro"].contains($0) }
                t.column("duration", .text).notNull()
                t.column("prompt", .text).notNull()
                t.column("negativePrompt", .text)
                t.column("modelName", .text)
                t.column("watermark", .boolean).notNull()
                t.column("callbackUrl", .text)
                t.column("images", .jsonText).notNull()
                t.column("selection", .jsonText).notNull()
                t.column("selectionVersion", .integer).notNull()
                t.column("width", .integer).notNull()
                t.column("height", .integer).notNull()
                t.column("fps", .integer).notNull()
                t.column("totalFrames", .integer).notNull()
                t.column("durationMillis", .integer).notNull()
                t.column("status", .text).notNull().indexed()
                    .check { ["submitted", "processing", "succeed", "failed"].contains($0) }
                t.column("statusMessage", .text).notNull()
                t.column("attempts", .integer).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("updatedAt", .integer).notNull()
            }
            try db.create(index: "task_account_created", on: "task", columns: ["accountId", "createdAt"])
            try db.create(index: "task_account_external", on: "task", columns: ["accountId", "externalTaskId"],
                          unique: true, condition: Column("externalTaskId") != nil)
            // Callback deliveries (an outbox written with each status change).
            try db.create(table: "delivery") { t in
                t.primaryKey("id", .text)
                t.column("taskId", .text).notNull().indexed()
                t.belongsTo("account", onDelete: .cascade).notNull()
                t.column("url", .text).notNull()
                t.column("body", .text).notNull()
                t.column("attempts", .integer).notNull()
                t.column("nextAttemptAt", .integer).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("deliveredAt", .integer)
                t.column("abandonedAt", .integer)
                t.column("lastError", .text)
            }
        }
        m.registerMigration("v4-preview-labels") { db in
            // The preview's tracked working-size labels (served to no one), which the edit tasks on the
            // same selection use instead of tracking again; nil for a preview made before it existed.
            try db.alter(table: "preview") { t in t.add(column: "labelsToken", .text) }
        }
        return m
    }

    /// A trivial query, for readiness checks.
    public func ping() async throws {
        _ = try await writer.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }
}
