import Foundation
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
        } catch {
            logger.error("janitor pass failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Flips the readiness flag when graceful shutdown begins, so new API calls get 5001.
struct ShutdownWatcher: Service {
    let readiness: Readiness
    func run() async throws {
        try? await gracefulShutdown()
        readiness.beginShutdown()
    }
}
