import Foundation
import Logging
import RotoAPI
import RotoCore
import RotoMedia
import RotoStore
import RotoThreads
import RotoVision
import ServiceLifecycle
import Synchronization

/// Runs edit tasks from the durable queue in the database (spec §6.2), at most `concurrency` at once.
///
/// A task is claimed by moving it to `processing` in a transaction (so it never runs twice at once in
/// this process, and the data directory is locked to one process); every status change is stored,
/// together with its callback delivery, before anyone can see it. A status only moves forward: tasks
/// that a stopped or dead process left `processing` stay `processing` and run again first at start-up
/// (nothing is announced: their status does not change). On graceful shutdown a running edit stops at
/// its next frame and stays `processing`, its attempt given back, to run again after the restart.
struct TaskWorker: Service {
    let database: AppDatabase
    let media: MediaStore
    let frames: FrameSource
    let tracker: MaskTracker
    let pool: BlockingPool
    let ids: IDGenerator
    let urls: PublicURLs
    let limits: Limits
    let doorbell: Doorbell
    let callbacks: Doorbell
    let metrics: ServerMetrics
    let logger: Logger
    /// The tracked-labels file of a finished preview made ahead (not stored) for a session's selection
    /// version, when there is one (`Previews.aheadLabels`).
    var aheadLabels: @Sendable (_ sessionID: String, _ version: Int) async -> String? = { _, _ in nil }
    /// Tasks run at once (each uses both cores).
    var concurrency = 1
    /// Claims of one task before it is failed (a task that crashes the process must not loop forever).
    var maxAttempts = 3
    /// Longest sleep between queue checks when nothing rings.
    var idle: Duration = .seconds(2)

    func run() async throws {
        let interrupted = InterruptedTasks(try await database.interruptedTasks())
        if interrupted.count > 0 { logger.notice("tasks interrupted by a stop run again", metadata: ["count": "\(interrupted.count)"]) }
        let cancel = CancellationFlag()
        let running = RunningCount()
        await withTaskCancellationHandler {
            await cancelWhenGracefulShutdown {
                await withDiscardingTaskGroup { group in
                    while !Task.isCancelled {
                        while running.value.load(ordering: .acquiring) < max(1, concurrency), !Task.isCancelled,
                              let task = await claim(resuming: interrupted) {
                            running.value.add(1, ordering: .acquiringAndReleasing)
                            group.addTask {
                                await execute(task, cancel: cancel)
                                running.value.subtract(1, ordering: .acquiringAndReleasing)
                                doorbell.ring()
                            }
                        }
                        await doorbell.wait(timeout: idle)
                    }
                    cancel.raise()
                }
            }
        } onCancel: {
            cancel.raise()
        }
    }

    /// The next task to run: an interrupted one (oldest first), else the oldest `submitted` one.
    private func claim(resuming interrupted: InterruptedTasks) async -> TaskRecord? {
        do {
            while let id = interrupted.next() {
                if let task = try await database.resumeTask(id: id, now: UnixTime.nowMillis()) { return task }
            }
            let claimed = try await database.claimNextTask(now: UnixTime.nowMillis()) { task in
                Tasks.announcement(task, video: nil, ids: ids, urls: urls)
            }
            if claimed != nil { callbacks.ring() }
            return claimed
        } catch is CancellationError {
            return nil
        } catch {
            logger.error("task queue unreadable", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Runs one claimed task to `succeed` or `failed` (or leaves it `processing` when cancelled).
    func execute(_ task: TaskRecord, cancel: CancellationFlag) async {
        let started = ContinuousClock.now
        var outcome = TaskStatus.failed.rawValue
        defer { metrics.task(editMode: task.editMode, mode: task.mode, outcome: outcome, duration: ContinuousClock.now - started) }
        logger.info("task started", metadata: ["task": "\(task.id)", "mode": "\(task.editMode)/\(task.mode)",
                                              "attempt": "\(task.attempts)"])
        guard task.attempts <= maxAttempts else {
            await finish(task, failure: "the task stopped the server \(maxAttempts) times and was given up")
            return
        }
        let output = media.temporaryPath(extension: "mp4")
        let watermarked = task.watermark ? media.temporaryPath(extension: "mp4") : nil
        defer {
            for p in [output, watermarked].compactMap({ $0 }) { try? FileManager.default.removeItem(atPath: p) }
        }
        do {
            guard var session = try await database.sessionRow(id: task.sessionId) else {
                throw EditFailure("the session \(task.sessionId) no longer exists")
            }
            session.selection = task.selection
            session.selectionVersion = task.selectionVersion
            let images = try task.images.map { relative -> StillImage in
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: media.absolute(relative))))
                return try StillImage.decode(bytes, format: relative.hasSuffix(".png") ? .png : .jpeg)
            }
            // The tracking of the preview made for the task's selection, when there is one: stored (a
            // preview-selection asked for it), else made ahead.
            var labels: (path: String, source: String)?
            if let stored = try? await database.previewLabels(sessionID: task.sessionId, selectionVersion: task.selectionVersion) {
                labels = (media.absolute(stored.path), "preview")
            } else if let ahead = await aheadLabels(task.sessionId, task.selectionVersion) {
                labels = (ahead, "ahead")
            }
            let pipeline = EditPipeline(media: media, frames: frames, tracker: tracker, cancel: cancel)
            let (frozen, metrics, found) = (session, metrics, labels)
            let phases = try await pool.run {
                defer { Memory.returnFreedPages() }
                return try pipeline.run(task: task, session: frozen, images: images, output: output, watermarked: watermarked,
                                        previewLabels: found?.path, labelsUsed: { metrics.taskTracking($0 ? found?.source ?? "preview" : "tracked") })
            }
            try await succeed(task, output: output, watermarked: watermarked)
            outcome = TaskStatus.succeed.rawValue
            logger.info("task succeeded", metadata: ["task": "\(task.id)", "seconds": "\(ContinuousClock.now - started)",
                                                    "phases": "\(phases)"])
        } catch is CancellationError {
            outcome = "interrupted"
            // The shutdown cancelled this task's context, and GRDB refuses work in a cancelled task: the
            // release runs in a task of its own.
            let database = database
            let released = await Task { try? await database.releaseStoppedTask(id: task.id, now: UnixTime.nowMillis()) }.value
            logger.notice("task interrupted by shutdown; it runs again at the next start",
                          metadata: ["task": "\(task.id)", "attempt given back": "\(released == true)"])
        } catch let failure as EditFailure {
            await finish(task, failure: failure.message)
        } catch let error as MediaError {
            logger.error("task failed", metadata: ["task": "\(task.id)", "error": "\(error)"])
            await finish(task, failure: "the video could not be rendered: \(error.message)")
        } catch {
            logger.error("task failed", metadata: ["task": "\(task.id)", "error": "\(error)"])
            await finish(task, failure: "internal error while editing the video")
        }
    }

    private func succeed(_ task: TaskRecord, output: String, watermarked: String?) async throws {
        let now = UnixTime.nowMillis()
        let expires = now + limits.resultLifetimeMillis
        var files: [FileRecord] = []
        for (temporary, name) in [(output, "result.mp4"), (watermarked, "result-watermarked.mp4")] {
            guard let temporary else { continue }
            let relative = "tasks/\(task.id)/\(name)"
            try media.commit(temporary: temporary, to: relative)
            files.append(FileRecord(token: CapabilityToken.make(), accountId: task.accountId, kind: .result,
                                    ownerId: task.id, path: relative, contentType: "video/mp4",
                                    size: media.size(of: relative), createdAt: now, expiresAt: expires))
        }
        let video = VideoRecord(id: ids.next(), accountId: task.accountId, taskId: task.id, sessionId: task.sessionId,
                                fileToken: files[0].token, watermarkFileToken: files.count > 1 ? files[1].token : nil,
                                durationSeconds: Double(task.totalFrames) / Double(max(task.fps, 1)),
                                createdAt: now, expiresAt: expires)
        var done = task
        done.status = TaskStatus.succeed.rawValue
        done.statusMessage = ""
        done.updatedAt = now
        let stored = try await database.finishTask(done, video: video, files: files) { t in
            Tasks.announcement(t, video: video, ids: ids, urls: urls)
        }
        if !stored { for f in files { media.remove(f.path) } }
        removeImages(task)
        callbacks.ring()
    }

    private func finish(_ task: TaskRecord, failure message: String) async {
        var done = task
        done.status = TaskStatus.failed.rawValue
        done.statusMessage = message
        done.updatedAt = UnixTime.nowMillis()
        do {
            try await database.finishTask(done, video: nil, files: []) { t in
                Tasks.announcement(t, video: nil, ids: ids, urls: urls)
            }
            logger.notice("task failed", metadata: ["task": "\(task.id)", "reason": "\(message)"])
        } catch {
            logger.error("cannot store a task's failure", metadata: ["task": "\(task.id)", "error": "\(error)"])
        }
        removeImages(task)
        callbacks.ring()
    }

    private func removeImages(_ task: TaskRecord) {
        for relative in task.images { media.remove(relative) }
    }
}

/// How many tasks are running (shared by the claim loop and the runs).
private final class RunningCount: Sendable {
    let value = Atomic<Int>(0)
}

/// The ids of the tasks left `processing` at start-up, each handed out once.
private final class InterruptedTasks: Sendable {
    private let ids: Mutex<[String]>
    let count: Int

    init(_ ids: [String]) {
        self.ids = Mutex(ids.reversed())
        count = ids.count
    }

    func next() -> String? { ids.withLock { $0.popLast() } }
}

/// An edit that cannot succeed for a reason the caller should read in `task_status_msg`.
struct EditFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
