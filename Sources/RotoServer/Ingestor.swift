import Foundation
import Logging
import RotoAPI
import RotoCore
import RotoMedia
import RotoStore
import Synchronization

/// init-selection (spec §2): fetch the source, probe it by content, check the rules, normalise it and
/// persist the session. No HTTP here: routes call `createSession`.
struct Ingestor: Sendable {
    let database: AppDatabase
    let media: MediaStore
    let downloader: Downloader
    let pools: ServerPools
    let ids: IDGenerator
    let urls: PublicURLs
    let proxies: ProxyQueue
    let configuration: ServerConfiguration
    let readiness: Readiness
    let logger: Logger

    /// A validated init-selection request.
    struct Command: Sendable {
        enum Source: Sendable {
            case url(String)
            case video(id: String, taskID: String?)
        }
        var source: Source

        init(_ r: FieldReader) throws(RotoError) {
            let taskID = try r.nonEmptyString("task_id")
            switch (try r.nonEmptyString("video_id"), try r.nonEmptyString("video_url")) {
            case (nil, nil):
                throw .invalid("video_id/video_url", "exactly one must be non-empty; both are absent or empty")
            case (.some, .some):
                throw .invalid("video_id/video_url", "exactly one must be non-empty; both were given")
            case (let videoID?, nil):
                source = .video(id: videoID, taskID: taskID)
            case (nil, let videoURL?):
                source = .url(videoURL)
            }
        }
    }

    /// Runs the ingest against its time budget (5002) and the server's shutdown (5001). Either stops
    /// it at once: the download is cancelled and the normalisation stops at its next packet. A call
    /// stopped either way stores nothing; one that had already stored its session when it was stopped
    /// answers with it.
    func createSession(_ command: Command, account: AccountRecord) async throws -> InitSelectionData {
        try await readiness.stoppingAtShutdown("init-selection") {
            try await withinBudget(configuration.ingestBudget, "init-selection") {
                try await ingest(command, account: account)
            }
        }
    }

    private func ingest(_ command: Command, account: AccountRecord) async throws -> InitSelectionData {
        let now = UnixTime.nowMillis()
        var downloaded: String?
        defer { if let downloaded { try? FileManager.default.removeItem(atPath: downloaded) } }

        // 1. The source file on local disk.
        let sourcePath: String
        var sourceVideoID: String?
        switch command.source {
        case .url(let url):
            if let upload = try await ownUpload(url, account: account, now: now) {
                sourcePath = media.absolute(upload.path)
            } else {
                let tmp = media.temporaryPath(extension: "download")
                downloaded = tmp
                try await downloader.download(url, to: tmp, maxBytes: configuration.limits.maxVideoBytes, field: "video_url")
                sourcePath = tmp
            }
        case .video(let id, let taskID):
            guard let video = try await database.video(id: id, accountID: account.id, now: now) else {
                throw RotoError.notFound("video_id \(id) is not a result video of this account (or it expired)")
            }
            if let taskID, taskID != video.taskId {
                throw RotoError.invalid("task_id", "must be the task that produced video_id \(id)", got: taskID)
            }
            guard let file = try await database.file(token: video.fileToken, now: now) else {
                throw RotoError.notFound("video_id \(id) has expired")
            }
            sourcePath = media.absolute(file.path)
            sourceVideoID = id
        }

        // 2. Probe by content and check the rules.
        let facts: VideoFacts
        do {
            facts = try await pools.interactive.run { () throws(MediaError) -> VideoFacts in try MediaProbe.probe(path: sourcePath) }
        } catch let e as MediaError {
            throw Self.map(e, field: "video")
        }
        let fps = try IngestRules.check(.init(container: facts.container.rawValue, durationMillis: facts.durationMs,
                                              displayWidth: facts.displayWidth, displayHeight: facts.displayHeight,
                                              frameRate: facts.frameRate))

        // 3. Normalise into the session's folder.
        let sessionID = ids.next()
        let relative = FrameSource.videoPath(sessionID)
        let tmp = media.temporaryPath(extension: "mp4")
        let preset = configuration.normalizePreset
        let normalized: NormalizedVideo
        do {
            normalized = try await pools.jobs.run(cancellable: { cancellation throws(MediaError) -> NormalizedVideo in
                try Normalizer.normalize(input: sourcePath, facts: facts, frameRate: fps, output: tmp,
                                         options: NormalizeOptions(preset: preset), cancellation: cancellation)
            })
            try media.commit(temporary: tmp, to: relative)
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            if let e = error as? MediaError { throw Self.map(e, field: "video") }
            throw error
        }
        logger.info("normalised video", metadata: ["session": "\(sessionID)", "mode": "\(normalized.mode)",
                                                  "frames": "\(normalized.frameCount)"])

        // 4. Persist session and file together.
        let expires = now + configuration.limits.sessionLifetimeMillis
        let token = CapabilityToken.make()
        let session = SessionRecord(id: sessionID, accountId: account.id, createdAt: now, expiresAt: expires,
                                    fps: fps, originalDurationMs: facts.durationMs, width: normalized.width,
                                    height: normalized.height, totalFrames: normalized.frameCount,
                                    videoToken: token, sourceVideoId: sourceVideoID)
        let file = FileRecord(token: token, accountId: account.id, kind: .session, ownerId: sessionID, path: relative,
                              contentType: "video/mp4", size: media.size(of: relative), createdAt: now, expiresAt: expires)
        do {
            try await database.insertSession(session, video: file)
        } catch {
            media.remove("sessions/\(sessionID)")
            throw error
        }
        proxies.enqueue(sessionID)
        return InitSelectionData(sessionID: sessionID, fps: Double(fps), originalDuration: facts.durationMs,
                                 width: normalized.width, height: normalized.height,
                                 totalFrame: normalized.frameCount, normalizedVideo: urls.file(token))
    }

    /// A URL returned by the upload extension for this account, resolved without a network round trip.
    private func ownUpload(_ url: String, account: AccountRecord, now: Int64) async throws -> FileRecord? {
        try await Self.ownUpload(url, account: account, now: now, database: database, urls: urls)
    }

    /// The live upload of `account` that `url` (a file URL of this server) names, if any: read from disk
    /// instead of downloaded (uploads are the account's own bytes, so no address rule applies).
    static func ownUpload(_ url: String, account: AccountRecord, now: Int64, database: AppDatabase,
                          urls: PublicURLs) async throws -> FileRecord? {
        guard let token = urls.token(inFileURL: url),
              let file = try await database.file(token: token, now: now),
              file.accountId == account.id, file.kind == .upload else { return nil }
        return file
    }

    /// Media failures on untrusted input are the caller's 1201; the rest are ours.
    static func map(_ e: MediaError, field: String) -> RotoError {
        switch e.code {
        case .timedOut: RotoError(.timeout, "\(field): media processing exceeded its time budget")
        case .io, .internalError, .encodeFailed, .cancelled, .invalidArgument:
            RotoError(.internalError, "internal media error")
        default:
            .invalid(field, "must be a decodable MP4 or QuickTime MOV video with a video stream", got: e.message)
        }
    }
}

/// Builds the absolute URLs the API returns, from the configured public base (spec §1.2).
final class PublicURLs: Sendable {
    private let base: Mutex<String>

    init(base: String) { self.base = Mutex(base) }

    var baseURL: String { base.withLock { $0 } }
    func setBase(_ value: String) { base.withLock { $0 = value } }

    func file(_ token: String) -> String { "\(baseURL)/v1/files/\(token)" }

    /// The token of a URL of this server's file route (`/v1/files/<t>` or `/kling/v1/files/<t>`). The
    /// scheme and host are compared without case (`HTTP://Host/…` is the same server); the token keeps it.
    func token(inFileURL url: String) -> String? {
        let base = baseURL, lower = url.lowercased()
        for prefix in ["\(base)/v1/files/", "\(base)/kling/v1/files/"] where lower.hasPrefix(prefix.lowercased()) {
            let token = String(url.dropFirst(prefix.count))
            return token.isEmpty || token.contains("/") ? nil : token
        }
        return nil
    }
}
