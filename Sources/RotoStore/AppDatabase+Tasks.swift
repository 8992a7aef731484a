import GRDB
import RotoAPI
import RotoCore

/// An edit task (spec §6): the validated request, the snapshot of the session it edits, and its state.
/// The row is the queue: a worker claims the oldest `submitted` task by moving it to `processing`.
public struct TaskRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "task"
    public var id: String
    public var accountId: String
    public var externalTaskId: String?
    public var sessionId: String
    public var editMode: String
    public var mode: String
    public var duration: String
    public var prompt: String
    public var negativePrompt: String?
    public var modelName: String?
    public var watermark: Bool
    public var callbackUrl: String?
    /// Reference images, as paths relative to the media root, in `image_list` order.
    public var images: [String]
    /// The session's selection when the task was created (later edits do not affect the task).
    public var selection: Selection
    public var selectionVersion: Int
    /// Facts of the session video, copied so the task does not depend on the session row.
    public var width: Int
    public var height: Int
    public var fps: Int
    public var totalFrames: Int
    public var durationMillis: Int
    public var status: String
    public var statusMessage: String
    /// How many times a worker has claimed the task.
    public var attempts: Int
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(id: String, accountId: String, externalTaskId: String?, sessionId: String, editMode: String,
                mode: String, duration: String, prompt: String, negativePrompt: String?, modelName: String?,
                watermark: Bool, callbackUrl: String?, images: [String], selection: Selection,
                selectionVersion: Int, width: Int, height: Int, fps: Int, totalFrames: Int, durationMillis: Int,
                status: String = TaskStatus.submitted.rawValue, statusMessage: String = "", attempts: Int = 0,
                createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.accountId = accountId
        self.externalTaskId = externalTaskId
        self.sessionId = sessionId
        self.editMode = editMode
        self.mode = mode
        self.duration = duration
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.modelName = modelName
        self.watermark = watermark
        self.callbackUrl = callbackUrl
        self.images = images
        self.selection = selection
        self.selectionVersion = selectionVersion
        self.width = width
        self.height = height
        self.fps = fps
        self.totalFrames = totalFrames
        self.durationMillis = durationMillis
        self.status = status
        self.statusMessage = statusMessage
        self.attempts = attempts
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// `status` as the wire type.
    public var taskStatus: TaskStatus { TaskStatus(rawValue: status) }
}

/// One callback delivery (spec §6.3): the body is fixed when the status changes, in the same transaction,
/// so a delivery is never lost and never describes a state that was not stored.
public struct DeliveryRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "delivery"
    /// Also the `webhook-id` header (`msg_…`).
    public var id: String
    public var taskId: String
    public var accountId: String
    public var url: String
    public var body: String
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var createdAt: Int64
    /// Set when the receiver answered 2xx.
    public var deliveredAt: Int64?
    /// Set when the delivery was given up after its last try.
    public var abandonedAt: Int64?
    public var lastError: String?

    public init(id: String, taskId: String, accountId: String, url: String, body: String, createdAt: Int64) {
        self.id = id
        self.taskId = taskId
        self.accountId = accountId
        self.url = url
        self.body = body
        self.attempts = 0
        self.nextAttemptAt = createdAt
        self.createdAt = createdAt
    }
}

/// Why a task could not be created (mapped to API errors by the server).
public enum TaskInsertError: Error, Sendable, Equatable {
    case duplicateExternalID
    case tooManyUnfinished(limit: Int)
}

extension AppDatabase {
    static let unfinished = [TaskStatus.submitted.rawValue, TaskStatus.processing.rawValue]

    /// Inserts a task, its image files and its first delivery in one transaction, after checking (inside
    /// the transaction, so that concurrent calls cannot both pass) the external id's uniqueness and the
    /// account's unfinished-task limit.
    public func insertTask(_ task: TaskRecord, files: [FileRecord], delivery: DeliveryRecord?,
                           maxUnfinished: Int) async throws {
        try await writer.write { db in
            if let external = task.externalTaskId {
                let taken = try TaskRecord.filter(Column("accountId") == task.accountId && Column("externalTaskId") == external)
                    .fetchCount(db)
                if taken > 0 { throw TaskInsertError.duplicateExternalID }
            }
            let open = try TaskRecord.filter(Column("accountId") == task.accountId && Self.unfinished.contains(Column("status")))
                .fetchCount(db)
            if open >= maxUnfinished { throw TaskInsertError.tooManyUnfinished(limit: maxUnfinished) }
            for f in files { try f.insert(db) }
            try task.insert(db)
            try delivery?.insert(db)
        }
    }

    /// The account's task whose id or external id is `id`.
    public func task(idOrExternalID id: String, accountID: String) async throws -> TaskRecord? {
        try await writer.read { db in
            if let t = try TaskRecord.filter(Column("id") == id && Column("accountId") == accountID).fetchOne(db) {
                return t
            }
            return try TaskRecord.filter(Column("externalTaskId") == id && Column("accountId") == accountID).fetchOne(db)
        }
    }

    /// A task of any account (the worker).
    public func task(id: String) async throws -> TaskRecord? {
        try await writer.read { db in try TaskRecord.fetchOne(db, key: id) }
    }

    /// A page of the account's tasks, newest first (`page` from 1).
    public func tasks(accountID: String, page: Int, pageSize: Int) async throws -> [TaskRecord] {
        try await writer.read { db in
            try TaskRecord.filter(Column("accountId") == accountID)
                .order(Column("createdAt").desc, Column("id").desc)
                .limit(pageSize, offset: (page - 1) * pageSize)
                .fetchAll(db)
        }
    }

    /// The result video of a task, if it succeeded.
    public func resultVideo(taskID: String) async throws -> VideoRecord? {
        try await writer.read { db in try VideoRecord.filter(Column("taskId") == taskID).fetchOne(db) }
    }

    /// At start-up: the tasks a stopped or dead process left `processing`, oldest first. They stay
    /// `processing` (a task's status only moves forward, spec §6.2) and run again (``resumeTask(id:now:)``).
    public func interruptedTasks() async throws -> [String] {
        try await writer.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM task WHERE status = ? ORDER BY createdAt, id",
                                arguments: [TaskStatus.processing.rawValue])
        }
    }

    /// Claims an interrupted task again: one more attempt, its status unchanged (`processing`, so there
    /// is nothing to announce). Nil when it is no longer `processing`.
    public func resumeTask(id: String, now: Int64) async throws -> TaskRecord? {
        try await writer.write { db in
            guard var task = try TaskRecord.fetchOne(db, key: id),
                  task.status == TaskStatus.processing.rawValue else { return nil }
            task.attempts += 1
            task.updatedAt = now
            try task.update(db)
            return task
        }
    }

    /// A task stopped by a graceful shutdown gets its attempt given back and stays `processing`, to run
    /// again at the next start: only a task that was running when the process died counts against
    /// `maxAttempts` (it may be what killed it). False when the task is no longer `processing`.
    @discardableResult
    public func releaseStoppedTask(id: String, now: Int64) async throws -> Bool {
        try await writer.write { db in
            try db.execute(sql: "UPDATE task SET attempts = max(0, attempts - 1), updatedAt = ? WHERE id = ? AND status = ?",
                           arguments: [now, id, TaskStatus.processing.rawValue])
            return db.changesCount == 1
        }
    }

    /// Moves the oldest `submitted` task to `processing` (one more attempt) and stores its announcement,
    /// in one transaction. Nil when the queue is empty.
    public func claimNextTask(now: Int64, announce: @Sendable (TaskRecord) -> DeliveryRecord?) async throws -> TaskRecord? {
        try await writer.write { db in
            guard var task = try TaskRecord.filter(Column("status") == TaskStatus.submitted.rawValue)
                .order(Column("createdAt"), Column("id")).fetchOne(db) else { return nil }
            task.status = TaskStatus.processing.rawValue
            task.statusMessage = ""
            task.attempts += 1
            task.updatedAt = now
            try task.update(db)
            try announce(task)?.insert(db)
            return task
        }
    }

    /// Finishes a `processing` task: stores its final state, its result video and files, and its
    /// announcement in one transaction. Returns false (and writes nothing) when the task is no longer
    /// `processing` (it was finished already).
    @discardableResult
    public func finishTask(_ task: TaskRecord, video: VideoRecord?, files: [FileRecord],
                           announce: @Sendable (TaskRecord) -> DeliveryRecord?) async throws -> Bool {
        try await writer.write { db in
            guard let current = try TaskRecord.fetchOne(db, key: task.id),
                  current.status == TaskStatus.processing.rawValue else { return false }
            for f in files { try f.insert(db) }
            try video?.insert(db)
            try task.update(db)
            try announce(task)?.insert(db)
            return true
        }
    }

    /// Whether the session has a task that still needs its video (the janitor keeps such sessions).
    public func sessionHasUnfinishedTasks(_ sessionID: String) async throws -> Bool {
        try await writer.read { db in
            try TaskRecord.filter(Column("sessionId") == sessionID && Self.unfinished.contains(Column("status")))
                .fetchCount(db) > 0
        }
    }

    // MARK: - Deliveries

    /// Deliveries due at `now`, oldest first, at most one per task (a task's deliveries go in order).
    public func dueDeliveries(now: Int64, limit: Int = 20) async throws -> [DeliveryRecord] {
        try await writer.read { db in
            try DeliveryRecord.fetchAll(db, sql: """
                SELECT d.* FROM delivery d WHERE \(Self.headOfTaskQueue) AND d.nextAttemptAt <= ?
                ORDER BY d.nextAttemptAt, d.createdAt LIMIT ?
                """, arguments: [now, limit])
        }
    }

    /// SQL condition on `delivery d`: pending, and no earlier pending delivery of the same task (a task's
    /// callbacks go out in order).
    static let headOfTaskQueue = """
        d.deliveredAt IS NULL AND d.abandonedAt IS NULL
        AND NOT EXISTS (SELECT 1 FROM delivery e WHERE e.taskId = d.taskId
                        AND e.deliveredAt IS NULL AND e.abandonedAt IS NULL
                        AND (e.createdAt < d.createdAt OR (e.createdAt = d.createdAt AND e.id < d.id)))
        """

    /// When the next pending delivery that `dueDeliveries` could return is due: the earliest among the
    /// first pending delivery of each task (nil: none pending).
    public func nextDeliveryDue() async throws -> Int64? {
        try await writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(d.nextAttemptAt) FROM delivery d WHERE \(Self.headOfTaskQueue)")
        }
    }

    /// Records the outcome of one delivery attempt.
    public func recordDelivery(_ delivery: DeliveryRecord) async throws {
        try await writer.write { db in try delivery.update(db) }
    }

    /// Every delivery of a task (tests and diagnostics).
    public func deliveries(taskID: String) async throws -> [DeliveryRecord] {
        try await writer.read { db in
            try DeliveryRecord.filter(Column("taskId") == taskID).order(Column("createdAt"), Column("id")).fetchAll(db)
        }
    }

    /// The account's webhook secret, if any.
    public func webhookSecret(accountID: String) async throws -> String? {
        try await writer.read { db in
            try String.fetchOne(db, sql: "SELECT webhookSecret FROM account WHERE id = ?", arguments: [accountID])
        }
    }
}

// MARK: - Operations

/// What the server holds at one moment, for `GET /metrics`.
public struct OperationalCounts: Sendable, Equatable {
    /// Sessions that have not expired.
    public var liveSessions: Int
    /// Tasks by `status` (`submitted`, `processing`, `succeed`, `failed`).
    public var tasksByStatus: [String: Int]
    /// Callback deliveries neither delivered nor given up.
    public var pendingDeliveries: Int
}

extension AppDatabase {
    /// Counts for the operator's metrics, in one read transaction.
    public func operationalCounts(now: Int64) async throws -> OperationalCounts {
        try await writer.read { db in
            let sessions = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM session WHERE expiresAt > ?", arguments: [now]) ?? 0
            var tasks: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM task GROUP BY status") {
                tasks[row["status"]] = row["n"]
            }
            let pending = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM delivery WHERE deliveredAt IS NULL AND abandonedAt IS NULL
                """) ?? 0
            return OperationalCounts(liveSessions: sessions, tasksByStatus: tasks, pendingDeliveries: pending)
        }
    }
}
