import Foundation
#if canImport(Glibc)
import Glibc
#endif
import RotoAPI
import Logging
import RotoCore
import RotoStore
import ServiceLifecycle

/// Deletes what has expired (spec §1.2, §2): sessions with their files, uploads, and temporary files
/// left behind by a crash. Calls already refuse expired rows; the janitor reclaims the disk.
struct Janitor: Service {
    let database: AppDatabase
    let media: MediaStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweep(now: UnixTime.nowMillis())
                try await Task.sleep(for: interval)
            }
        }
    }

    /// One pass; errors are logged and retried on the next pass.
    func sweep(now: Int64) async {
        do {
            for (session, files) in try await database.expiredSessions(now: now) {
                for file in files { media.remove(file.path) }
                media.remove("sessions/\(session)")
                try await database.deleteSession(id: session)
                logger.info("expired session removed", metadata: ["session": "\(session)"])
            }
            let loose = try await database.expiredLooseFiles(now: now)
            for file in loose { media.remove(file.path) }
            if !loose.isEmpty { try await database.deleteFiles(tokens: loose.map(\.token)) }
            media.sweepTemporary(olderThan: 3600)
            // Folders a process that died left between writing files and storing their row (a session
            // being created, a task's reference images): no row, and untouched for an hour, so that a
            // creation in flight is never taken for one.
            for (directory, owner) in [("sessions", AppDatabase.FolderOwner.session), ("tasks", .task)] {
                let names = media.entries(in: directory, unchangedFor: 3600, folders: true)
                for name in try await database.missing(names, in: owner) {
                    media.remove("\(directory)/\(name)")
                    logger.notice("orphaned folder removed", metadata: ["folder": "\(directory)/\(name)"])
                }
            }
            // A preview's files moved into its session's folder by a process that died before it stored
            // their rows: no row names them, and they are an hour old, so no preview in flight owns them.
            for session in media.entries(in: "sessions", unchangedFor: 0, folders: true) {
                let previews = media.entries(in: "sessions/\(session)", unchangedFor: 3600, folders: false)
                    .filter { $0.hasPrefix("preview-") }.map { "sessions/\(session)/\($0)" }
                for path in try await database.unrecorded(previews) {
                    media.remove(path)
                    logger.notice("orphaned preview file removed", metadata: ["file": "\(path)"])
                }
            }
        } catch {
            logger.error("janitor pass failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Flips the readiness flag when graceful shutdown begins, so new API calls and init-selections in
/// flight get 5001. `runServer` runs one outside the application, so that it hears of the shutdown
/// before the HTTP server drains; the one inside serves applications run by other means.
struct ShutdownWatcher: Service {
    let readiness: Readiness
    func run() async throws {
        try? await gracefulShutdown()
        readiness.beginShutdown()
    }
}

/// An exclusive `flock` on `<data-dir>/roto.lock`: one server process per data directory, so that
/// the task queue's claims (and the restart rule "processing means interrupted") hold. Released when
/// the application that holds it is released, or when the process dies.
final class DataDirectoryLock: Sendable {
    private let descriptor: Int32

    init(directory: String) throws {
        let path = (directory as NSString).appendingPathComponent("roto.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RotoError(.internalError, "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw RotoError(.internalError, "another roto server is using the data directory \(directory)")
        }
        descriptor = fd
    }

    deinit { close(descriptor) }
}

/// Keeps the data-directory lock alive as long as the service group runs.
struct DataDirectoryLockService: Service {
    let lock: DataDirectoryLock?
    func run() async throws {
        try? await gracefulShutdown()
        withExtendedLifetime(lock) {}
    }
}
