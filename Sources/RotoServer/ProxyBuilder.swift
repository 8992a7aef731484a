import Foundation
import Logging
import RotoCore
import RotoMedia
import RotoStore
import RotoVision
import ServiceLifecycle

/// Builds each session's proxy after init-selection has answered: the normalised video at the engine's
/// working size, all-intra, so that a click on any frame decodes one small picture. Until a proxy
/// exists, frames are decoded from the normalised video. With the proxy, the clip's first frame (where a
/// person most often clicks first) is analysed for the click engine, so that click finds it ready. On
/// start it also queues every live session that lacks a proxy (a restart loses no work).
struct ProxyBuilder: Service {
    let database: AppDatabase
    let media: MediaStore
    let pool: BlockingPool
    let frames: FrameSource
    let queue: ProxyQueue
    let logger: Logger

    func run() async throws {
        for id in try await database.liveSessionIDs(now: UnixTime.nowMillis())
        where !FileManager.default.fileExists(atPath: media.absolute(FrameSource.proxyPath(id))) {
            queue.enqueue(id)
        }
        for await id in queue.stream.cancelOnGracefulShutdown() {
            // A build in progress stops at shutdown (its next frame); it is queued again on start.
            await cancelWhenGracefulShutdown { await build(id) }
        }
    }

    func build(_ id: String) async {
        guard let session = try? await database.session(id: id, now: UnixTime.nowMillis()) else { return }
        let target = FrameSource.proxyPath(id)
        guard !FileManager.default.fileExists(atPath: media.absolute(target)) else { return }
        // x264 wants even sides; FrameSource scales proxy frames to the exact working size.
        let working = frames.engine.workingSize(width: session.width, height: session.height)
        let size = (width: (working.width + 1) & ~1, height: (working.height + 1) & ~1)
        let input = media.absolute(FrameSource.videoPath(id))
        let tmp = media.temporaryPath(extension: "mp4")
        let started = ContinuousClock.now
        do {
            let frames = frames
            _ = try await pool.run(cancellable: { cancellation throws(MediaError) -> ProxyVideo in
                let proxy = try ProxyEncoder.makeProxy(input: input, output: tmp, width: size.width, height: size.height,
                                                       cancellation: cancellation)
                // Before the proxy is ready: a click that finds it finds the first frame analysed. (A frame
                // that does not read is analysed by the click, as without.)
                _ = try? frames.analysed(session: session, index: 0, frames: frames.workingFrames(session, path: tmp))
                return proxy
            })
            try media.commit(temporary: tmp, to: target)
            logger.info("proxy built", metadata: ["session": "\(id)", "size": "\(size.width)x\(size.height)",
                                                 "seconds": "\(ContinuousClock.now - started)"])
        } catch let error as MediaError where error.code == .cancelled {
            try? FileManager.default.removeItem(atPath: tmp)
            logger.info("proxy build stopped by the shutdown; it is built on the next start", metadata: ["session": "\(id)"])
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            logger.warning("proxy failed; clicks decode the normalised video", metadata: ["session": "\(id)", "error": "\(error)"])
        }
    }
}

/// The queue between init-selection and the proxy builder.
struct ProxyQueue: Sendable {
    let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: String.self)
    }

    func enqueue(_ sessionID: String) { continuation.yield(sessionID) }
}
