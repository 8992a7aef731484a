import Foundation
import Logging
import RotoAPI
import RotoCore
import RotoMedia
import RotoStore
import Synchronization

/// Edit tasks (spec §6.1–6.2): creation with every rule checked before anything is stored, query and
/// list. Running them is ``TaskWorker``'s job; announcing them is ``CallbackDispatcher``'s.
struct Tasks: Sendable {
    let database: AppDatabase
    let media: MediaStore
    let downloader: Downloader
    let ids: IDGenerator
    let urls: PublicURLs
    let limits: Limits
    let worker: Doorbell
    let callbacks: Doorbell
    let readiness: Readiness

    func create(_ command: TaskCommand, account: AccountRecord) async throws -> TaskCreatedData {
        let now = UnixTime.nowMillis()
        guard let session = try await database.session(id: command.sessionID, accountID: account.id, now: now) else {
            throw RotoError.notFound("session_id \(command.sessionID) does not exist or has expired")
        }
        let durationMillis = session.totalFrames * 1000 / max(session.fps, 1)
        try command.checkAgainstSession(durationMillis: durationMillis, selectionIsEmpty: session.selection.isEmpty)
        if let callback = command.callbackURL {
            try await downloader.checkAddress(callback, field: "callback_url")
        }
        // Checked here for a clear early refusal; the insert checks again (a concurrent create).
        if let external = command.externalTaskID,
           try await database.task(idOrExternalID: external, accountID: account.id)?.externalTaskId == external {
            throw Self.duplicateExternalID(external)
        }

        // Reference images: fetched and checked by content before the task exists. A shutdown stops a
        // download in flight (5001, nothing stored), as it stops an init-selection.
        return try await readiness.stoppingAtShutdown("the task's creation") {
            try await store(command, account: account, session: session, durationMillis: durationMillis, now: now)
        }
    }

    /// Fetches and checks the reference images, then stores the task with its first announcement; a
    /// refusal (or a stop) leaves no file behind.
    private func store(_ command: TaskCommand, account: AccountRecord, session: SessionRecord, durationMillis: Int,
                       now: Int64) async throws -> TaskCreatedData {
        let id = ids.next()
        var stored: [String] = []
        do {
            for (i, source) in command.images.enumerated() {
                let field = "image_list[\(i)].image"
                let bytes: [UInt8]
                switch source {
                case .bytes(let b):
                    bytes = b
                case .url(let url):
                    if let upload = try await Ingestor.ownUpload(url, account: account, now: now, database: database, urls: urls) {
                        bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: media.absolute(upload.path))))
                        break
                    }
                    let tmp = media.temporaryPath(extension: "img")
                    defer { try? FileManager.default.removeItem(atPath: tmp) }
                    try await downloader.download(url, to: tmp, maxBytes: limits.maxImageBytes, field: field)
                    bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: tmp)))
                }
                let facts = try ImageFacts.check(bytes, field: field, limits: limits)
                do {
                    _ = try StillImage.decode(bytes, format: facts.format == .png ? .png : .jpeg)
                } catch {
                    throw RotoError.invalid(field, "must be a decodable JPEG or PNG image", got: error.message)
                }
                let relative = "tasks/\(id)/image-\(i + 1).\(facts.format == .png ? "png" : "jpg")"
                try media.prepare(relative)
                try Data(bytes).write(to: URL(fileURLWithPath: media.absolute(relative)))
                stored.append(relative)
            }
            let task = TaskRecord(
                id: id, accountId: account.id, externalTaskId: command.externalTaskID, sessionId: session.id,
                editMode: command.editMode.rawValue, mode: command.mode.rawValue, duration: command.duration,
                prompt: command.prompt, negativePrompt: command.negativePrompt, modelName: command.modelName,
                watermark: command.watermark, callbackUrl: command.callbackURL, images: stored,
                selection: session.selection, selectionVersion: session.selectionVersion, width: session.width,
                height: session.height, fps: session.fps, totalFrames: session.totalFrames,
                durationMillis: durationMillis, createdAt: now, updatedAt: now)
            do {
                try await database.insertTask(task, files: [], delivery: announcement(task, video: nil),
                                              maxUnfinished: limits.maxUnfinishedTasks)
            } catch TaskInsertError.duplicateExternalID {
                throw Self.duplicateExternalID(command.externalTaskID ?? "")
            } catch TaskInsertError.tooManyUnfinished(let limit) {
                throw RotoError(.tooManyTasks, "the account already has \(limit) unfinished tasks; wait for one to finish")
            }
            worker.ring()
            callbacks.ring()
            return TaskCreatedData(taskID: task.id, taskStatus: .submitted, sessionID: session.id,
                                   taskInfo: TaskInfo(externalTaskID: task.externalTaskId),
                                   createdAt: task.createdAt, updatedAt: task.updatedAt)
        } catch {
            // A refused call leaves nothing behind.
            for path in stored { media.remove(path) }
            media.remove("tasks/\(id)")
            throw error
        }
    }

    static func duplicateExternalID(_ external: String) -> RotoError {
        RotoError.invalid("external_task_id", "must be unique for the account; a task already uses it",
                          got: "\"\(external)\"")
    }

    func get(_ id: String, account: AccountRecord) async throws -> TaskData {
        guard let task = try await database.task(idOrExternalID: id, accountID: account.id) else {
            throw RotoError.notFound("task \(id) does not exist (neither a task_id nor an external_task_id of this account)")
        }
        return Self.data(task, video: try await database.resultVideo(taskID: task.id), urls: urls)
    }

    func list(page: Int, pageSize: Int, account: AccountRecord) async throws -> [TaskData] {
        var out: [TaskData] = []
        for task in try await database.tasks(accountID: account.id, page: page, pageSize: pageSize) {
            out.append(Self.data(task, video: try await database.resultVideo(taskID: task.id), urls: urls))
        }
        return out
    }

    /// The delivery that announces the task's current state, if it has a callback URL.
    func announcement(_ task: TaskRecord, video: VideoRecord?) -> DeliveryRecord? {
        Self.announcement(task, video: video, ids: ids, urls: urls)
    }

    static func announcement(_ task: TaskRecord, video: VideoRecord?, ids: IDGenerator, urls: PublicURLs) -> DeliveryRecord? {
        guard let url = task.callbackUrl else { return nil }
        let body = (try? JSONCoding.encoder.encode(data(task, video: video, urls: urls))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return DeliveryRecord(id: "msg_" + ids.next(), taskId: task.id, accountId: task.accountId, url: url,
                              body: body, createdAt: task.updatedAt)
    }

    /// The wire form of a task (query, list and callbacks share it).
    static func data(_ task: TaskRecord, video: VideoRecord?, urls: PublicURLs) -> TaskData {
        var result = TaskResult()
        if task.taskStatus == .succeed, let video {
            result.videos = [TaskVideo(id: video.id, sessionID: video.sessionId, url: urls.file(video.fileToken),
                                       watermarkURL: video.watermarkFileToken.map(urls.file) ?? "",
                                       duration: String(format: "%.1f", video.durationSeconds))]
        }
        return TaskData(taskID: task.id, taskStatus: task.taskStatus, taskStatusMsg: task.statusMessage,
                        taskInfo: TaskInfo(externalTaskID: task.externalTaskId), taskResult: result,
                        watermarkInfo: WatermarkInfo(enabled: task.watermark), createdAt: task.createdAt,
                        updatedAt: task.updatedAt)
    }
}

/// Wakes one background loop: rings coalesce while the loop is busy (one is remembered).
final class Doorbell: Sendable {
    private let state = Mutex<(rung: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    init() {}

    func ring() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Waits for a ring, `timeout`, or cancellation, whichever comes first. One waiter at a time.
    func wait(timeout: Duration) async {
        let timer = Task { [self] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            ring()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.rung {
                        s.rung = false
                        return true
                    }
                    s.waiter = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            ring()
        }
        timer.cancel()
        state.withLock { $0.rung = false }
    }
}
