import Foundation
import Logging
import RotoAPI
import RotoCore
import RotoMedia
import RotoStore
import RotoThreads
import RotoVision
import Synchronization

/// preview-selection (spec §5): track every object from every marked frame through the clip, then
/// render the overlay video, its cover and the `tracking_output` JSON. Served from cache while the
/// selection is unchanged (keyed by the session's selection version).
///
/// **Made ahead.** Once a session's selection has stayed unchanged for `aheadDelay` (a person looking at
/// the mask of their last click) while no other long work runs, its preview is rendered into temporary
/// files on the `ahead` pool, below every other lane's priority. A preview-selection for that selection
/// then takes those files (or waits for their render to end) and only stores them; nothing is stored or
/// shown before that call, so the session's last preview and its URLs stay as they were. A selection
/// call on the session stops a render still running (the click gets the cores) and a later selection
/// makes a finished one useless: it is deleted.
struct Previews: Sendable {
    let database: AppDatabase
    let media: MediaStore
    let frames: FrameSource
    let tracker: MaskTracker
    let pools: ServerPools
    /// Seconds of an unchanged selection before its preview is made ahead; 0: never.
    let aheadDelay: Double
    let readiness: Readiness
    let locks: KeyedLock
    let urls: PublicURLs
    let metrics: ServerMetrics
    let logger: Logger

    /// The previews being made, by session and selection version.
    private let making = InFlight()
    /// The previews made ahead, by session.
    private let ahead = Ahead()

    /// The previews being made: a call for a selection whose preview is already being made waits for
    /// that one instead of making it again.
    private final class InFlight: Sendable {
        let jobs = Mutex<[String: Task<PreviewData, any Error>]>([:])
    }

    /// A preview's files rendered into temporary paths, not yet stored. `labels`, the tracked labels for
    /// the edit tasks (``LabelTrack``), is served to no one and may be missing (see `PreviewPipeline.run`).
    struct Rendered: Sendable {
        let video: String, cover: String, tracking: String, labels: String
        /// How long each phase took, for the log.
        let phases: String

        var exists: Bool { [video, cover, tracking].allSatisfy { FileManager.default.fileExists(atPath: $0) } }

        func remove() { for p in [video, cover, tracking, labels] { try? FileManager.default.removeItem(atPath: p) } }
    }

    /// Per session: the timer that waits for its selection to settle, and the render made ahead for one
    /// selection version.
    private final class Ahead: Sendable {
        struct Render: Sendable {
            let version: Int
            let job: Task<Rendered, any Error>
            let finished: Finished
            let started: ContinuousClock.Instant
        }
        /// `ready`: the render has its files (not set when it failed or was stopped); `ended`: it ended.
        final class Finished: Sendable {
            let ready = Atomic<Bool>(false)
            let ended = Atomic<Bool>(false)
        }
        struct State {
            var timers: [String: (token: UUID, task: Task<Void, Never>)] = [:]
            var renders: [String: Render] = [:]
        }
        let state = Mutex(State())
        /// Renders kept at most, and for at most this long, when no preview-selection takes them.
        static let capacity = 4
        static let lifetime: Duration = .seconds(900)
    }

    /// The session's lock is held only to read the selection and find or start its preview, not while
    /// the preview is made: clicks on the session (on another frame, say, while the person waits) are
    /// answered at once and change the selection for the next preview, not for this one.
    func preview(sessionID: String, account: AccountRecord) async throws -> PreviewData {
        let started = ContinuousClock.now
        enum Found: Sendable { case cached(PreviewData), making(Task<PreviewData, any Error>, joined: Bool) }
        let found = try await locks.withLock(sessionID) { () -> Found in
            let now = UnixTime.nowMillis()
            guard let session = try await database.session(id: sessionID, accountID: account.id, now: now) else {
                throw RotoError.notFound("session \(sessionID) does not exist or has expired")
            }
            guard !session.selection.isEmpty else {
                throw RotoError.invalid("session_id", "the session has no point; add points with add-selection first",
                                        got: sessionID)
            }
            if let cached = try await database.preview(sessionID: session.id, selectionVersion: session.selectionVersion) {
                return .cached(data(session.id, video: cached.videoToken, cover: cached.coverToken, tracking: cached.trackingToken))
            }
            let key = "\(session.id)/\(session.selectionVersion)"
            return making.jobs.withLock { jobs in
                if let job = jobs[key] { return .making(job, joined: true) }
                let early = takeAhead(session.id, version: session.selectionVersion)
                let job = Task {
                    defer { _ = making.jobs.withLock { $0.removeValue(forKey: key) } }
                    if let early, let made = await awaitAhead(early) {
                        return try await store(made, session: session, account: account, now: now)
                    }
                    return try await store(try await render(session, pool: pools.jobs), session: session,
                                           account: account, now: now)
                }
                jobs[key] = job
                return .making(job, joined: false)
            }
        }
        switch found {
        case .cached(let data):
            metrics.preview(cached: true, duration: ContinuousClock.now - started)
            return data
        case .making(let job, let joined):
            let data = try await job.value
            // A call that waited for another one's preview made nothing: it counts as served from cache.
            metrics.preview(cached: joined, duration: ContinuousClock.now - started)
            return data
        }
    }

    /// Renders the preview of `session`'s selection into temporary files on `pool`.
    private func render(_ session: SessionRecord, pool: BlockingPool) async throws -> Rendered {
        let out = Rendered(video: media.temporaryPath(extension: "mp4"), cover: media.temporaryPath(extension: "jpg"),
                           tracking: media.temporaryPath(extension: "json"), labels: media.temporaryPath(extension: "labels"),
                           phases: "")
        let pipeline = PreviewPipeline(media: media, frames: frames, tracker: tracker)
        do {
            let phases = try await readiness.stoppingAtShutdown("the preview") {
                try await pool.run(cancellable: { stop in
                    try pipeline.run(session: session, video: out.video, cover: out.cover, tracking: out.tracking,
                                     labels: out.labels, stop: stop)
                })
            }
            return Rendered(video: out.video, cover: out.cover, tracking: out.tracking, labels: out.labels, phases: phases)
        } catch {
            out.remove()
            throw error
        }
    }

    /// Stores a rendered preview as the session's preview, replacing the one before (whose files are
    /// deleted).
    private func store(_ rendered: Rendered, session: SessionRecord, account: AccountRecord, now: Int64) async throws -> PreviewData {
        defer { rendered.remove() }
        logger.info("preview made", metadata: ["session": "\(session.id)", "phases": "\(rendered.phases)"])
        let base = PreviewRecord.filesBase(sessionID: session.id, selectionVersion: session.selectionVersion)
            + UUID().uuidString.prefix(8)
        var files = [(rendered.video, "\(base).mp4", "video/mp4"), (rendered.cover, "\(base).jpg", "image/jpeg"),
                     (rendered.tracking, "\(base).json", "application/json")]
        if FileManager.default.fileExists(atPath: rendered.labels) {
            files.append((rendered.labels, "\(base).labels", "application/octet-stream"))
        }
        var records: [FileRecord] = []
        for (t, relative, type) in files {
            try media.commit(temporary: t, to: relative)
            records.append(FileRecord(token: CapabilityToken.make(), accountId: account.id, kind: .preview,
                                      ownerId: session.id, path: relative, contentType: type, size: media.size(of: relative),
                                      createdAt: now, expiresAt: session.expiresAt))
        }
        let record = PreviewRecord(sessionId: session.id, selectionVersion: session.selectionVersion,
                                   videoToken: records[0].token, coverToken: records[1].token,
                                   trackingToken: records[2].token, labelsToken: records.count > 3 ? records[3].token : nil,
                                   createdAt: now)
        let replaced: [FileRecord]
        do {
            replaced = try await database.replacePreview(record, files: records)
        } catch {
            for r in records { media.remove(r.path) }
            throw error
        }
        for old in replaced { media.remove(old.path) }
        return data(session.id, video: record.videoToken, cover: record.coverToken, tracking: record.trackingToken)
    }

    private func data(_ session: String, video: String, cover: String, tracking: String) -> PreviewData {
        PreviewData(sessionID: session, res: PreviewResult(video: urls.file(video), videoCover: urls.file(cover),
                                                          trackingOutput: urls.file(tracking)))
    }

    // MARK: Made ahead

    /// Runs a selection call on `sessionID`: a render made ahead that is still running stops first (the
    /// call gets the cores; a finished one stays, good while the selection does not change), and the
    /// wait for the selection to settle starts again after the call.
    func changingSelection<T: Sendable>(_ sessionID: String, account: AccountRecord,
                                        _ body: () async throws -> T) async throws -> T {
        guard aheadDelay > 0 else { return try await body() }
        let stopped: Ahead.Render? = ahead.state.withLock { state in
            state.timers.removeValue(forKey: sessionID)?.task.cancel()
            guard let r = state.renders[sessionID], !r.finished.ready.load(ordering: .acquiring) else { return nil }
            return state.renders.removeValue(forKey: sessionID)
        }
        if let stopped { discard(stopped) }
        do {
            let result = try await body()
            scheduleAhead(sessionID, account: account)
            return result
        } catch {
            // A refused call changed nothing: a render it stopped is made again (a call on a session
            // that is not the account's, or not at all, starts nothing).
            if stopped != nil { scheduleAhead(sessionID, account: account) }
            throw error
        }
    }

    /// After `aheadDelay`, and again every `aheadDelay` while other long work runs (for up to a minute),
    /// starts the preview of the session's selection ahead, unless it needs none (no point, a stored or
    /// running preview, a render of that selection already made) or the session's next call replaced
    /// this timer.
    private func scheduleAhead(_ sessionID: String, account: AccountRecord) {
        let delay = aheadDelay
        let token = UUID()
        let timer = Task {
            defer {  // an ended timer leaves the map, unless a newer one replaced it there
                ahead.state.withLock { state in
                    if state.timers[sessionID]?.token == token { state.timers[sessionID] = nil }
                }
            }
            for _ in 0..<max(1, Int((60 / delay).rounded(.up))) {
                do { try await Task.sleep(for: .seconds(delay)) } catch { return }
                guard !readiness.isShuttingDown else { return }
                guard pools.longWorkIdle else { continue }
                await startAhead(sessionID, account: account)
                return
            }
        }
        let replaced = ahead.state.withLock { $0.timers.updateValue((token, timer), forKey: sessionID) }
        replaced?.task.cancel()
    }

    private func startAhead(_ sessionID: String, account: AccountRecord) async {
        do {
            try await locks.withLock(sessionID) { () async throws -> Void in
                let now = UnixTime.nowMillis()
                guard !Task.isCancelled,
                      let session = try await database.session(id: sessionID, accountID: account.id, now: now),
                      !session.selection.isEmpty,
                      try await database.preview(sessionID: session.id, selectionVersion: session.selectionVersion) == nil
                else { return }
                startAhead(session)
            }
        } catch {
            logger.debug("preview ahead not started", metadata: ["session": "\(sessionID)", "error": "\(error)"])
        }
    }

    /// Starts the render of `session`'s selection ahead, unless it is being made or was made ahead
    /// already. Called under the session's lock.
    private func startAhead(_ session: SessionRecord) {
        let key = "\(session.id)/\(session.selectionVersion)"
        guard making.jobs.withLock({ $0[key] == nil }),
              ahead.state.withLock({ $0.renders[session.id]?.version != session.selectionVersion }) else { return }
        let finished = Ahead.Finished()
        let job = Task {
            defer { finished.ended.store(true, ordering: .releasing) }
            let rendered = try await render(session, pool: pools.ahead)
            finished.ready.store(true, ordering: .releasing)
            metrics.previewAhead("rendered")
            return rendered
        }
        metrics.previewAhead("started")
        let entry = Ahead.Render(version: session.selectionVersion, job: job, finished: finished, started: ContinuousClock.now)
        let stopped = Task.isCancelled  // a selection call on the session began meanwhile
        let dropped: [Ahead.Render] = ahead.state.withLock { state in
            if stopped { return [entry] }
            // Another selection's render is of no use any more.
            var dropped = state.renders.updateValue(entry, forKey: session.id).map { [$0] } ?? []
            // Renders no call has taken: the oldest go past the capacity or the lifetime.
            let byAge = state.renders.sorted { $0.value.started < $1.value.started }
            for (i, (id, r)) in byAge.enumerated()
            where i < byAge.count - Ahead.capacity || ContinuousClock.now - r.started > Ahead.lifetime {
                dropped.append(r)
                state.renders.removeValue(forKey: id)
            }
            return dropped
        }
        for r in dropped { discard(r) }
    }

    /// The render made ahead for `version` of the session's selection, taken out of the store (so no
    /// selection call stops it any more); a render of another version is discarded.
    private func takeAhead(_ sessionID: String, version: Int) -> Ahead.Render? {
        guard let r = ahead.state.withLock({ $0.renders.removeValue(forKey: sessionID) }) else { return nil }
        if r.version == version { return r }
        discard(r)
        return nil
    }

    /// The files of a render made ahead, once it ends, for a preview-selection call to store (counted as
    /// `used`); nil (counted as `failed`, and the call makes its own) when the render failed (stopped by a
    /// click that changed nothing, say), when its files are gone (the janitor sweeps `media/tmp` after an
    /// hour), or when it was still running at its low priority while jobs or edit tasks ran: it is
    /// stopped then, and the call's own render gets the priority of any preview.
    private func awaitAhead(_ render: Ahead.Render) async -> Rendered? {
        while !render.finished.ended.load(ordering: .acquiring) {
            if pools.jobsOrTasksBusy {
                discard(render, outcome: nil)
                metrics.previewAhead("failed")
                return nil
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        var made = try? await render.job.value
        if let r = made, !r.exists { r.remove(); made = nil }
        metrics.previewAhead(made == nil ? "failed" : "used")
        return made
    }

    /// The tracked-labels file of a finished render made ahead for `version` of the session's selection,
    /// for an edit task on that selection that no preview-selection came before; nil when there is none
    /// (or it kept no labels). The render stays where it is, for a preview-selection call; a selection
    /// call may delete it meanwhile, and the task then tracks the selection itself.
    func aheadLabels(sessionID: String, version: Int) async -> String? {
        guard let r = ahead.state.withLock({ $0.renders[sessionID] }), r.version == version,
              r.finished.ready.load(ordering: .acquiring), let made = try? await r.job.value,
              FileManager.default.fileExists(atPath: made.labels) else { return nil }
        return made.labels
    }

    /// Stops a render made ahead and deletes its files, whether it ends or had ended; counts it as
    /// `outcome`.
    private func discard(_ render: Ahead.Render, outcome: String? = "dropped") {
        render.job.cancel()
        if let outcome { metrics.previewAhead(outcome) }
        Task { (try? await render.job.value)?.remove() }
    }
}

/// The blocking part of a preview: decode the working frames, segment the anchors, then track on a
/// thread of its own while the overlay is rendered (each frame is drawn, its masks upsampled and
/// RLE-encoded, as soon as its labels are final), then the cover and the JSON. Runs on the blocking pool.
struct PreviewPipeline {
    let media: MediaStore
    let frames: FrameSource
    let tracker: MaskTracker

    /// How the overlay video and the cover are drawn: the video's size scaled down to fit 1280 pixels
    /// (the masks in `tracking_output` stay at the video's size; see docs/api-decisions.md).
    static let overlay = OverlayOptions(maxLongSide: 1280)

    /// Runs the pipeline; returns how long each phase took, for the log. When `stop` is raised the
    /// tracking and the render stop within a few frames (`MediaError` `.cancelled`). `labels`: where to
    /// write the tracked working-size labels of every frame (a ``LabelTrack``, for the edit tasks on
    /// this selection); nothing is written there when the track would pass ``maxLabelTrackBytes`` or
    /// misses a frame.
    func run(session: SessionRecord, video: String, cover: String, tracking: String, labels labelsPath: String? = nil,
             stop: CancellationFlag? = nil) throws -> String {
        var timer = PhaseTimer()
        let selection = session.selection
        let objectIDs = selection.objectIDs
        let step = MaskTracker.step(framesPerSecond: Double(session.fps))
        // 1–2. The working frames (decoded on access from the all-intra proxy; without one, all decoded
        // now from the video) and the anchors.
        let lazy = try Self.proxyFrames(session: session, frames: frames)
        var tracker = tracker
        tracker.cancellation = stop
        // 3–4. Track on another thread; render as frames become final. Full-size masks: RLE for the
        // JSON, a label plane for the overlay.
        let stream: TrackedFrames
        if let lazy {
            let anchors = Self.anchors(session: session, frames: frames, working: lazy)
            timer.lap("anchors")
            stream = Self.startTracking(lazy, anchors: anchors, objectIDs: objectIDs, tracker: tracker, step: step)
        } else {
            let (working, anchors) = try Self.anchors(session: session, frames: frames, lap: { timer.lap($0) })
            stream = Self.startTracking(working, anchors: anchors, objectIDs: objectIDs, tracker: tracker, step: step)
        }
        defer {  // the tracker never outlives the job, even on an error
            stream.abandon()
            stream.waitUntilFinished()
        }
        var entries: [FrameMasks] = []
        entries.reserveCapacity(stream.count)
        let engine = frames.engine
        func fullSize(_ labels: SelectionLabels) -> SelectionLabels {
            engine.upsample(labels, to: session.width, session.height, guide: nil)
        }
        let first = selection.markedFrames.first ?? 0
        var coverLabels: SelectionLabels?
        var track: LabelTrack?
        var keepTrack = labelsPath != nil
        _ = try OverlayRenderer.render(input: media.absolute(FrameSource.videoPath(session.id)), output: video,
                                       options: Self.overlay) { i in
            // A frame between two tracked ones (interpolated) or between two anchors (blended) is made
            // here, on the renderer's thread (which waits for the tracker), not on the tracker's.
            guard let taken = stream.take(i) else { return nil }
            let labels = tracker.labels(of: taken)
            // After the take: labels the tracker gave after it stopped are never drawn.
            if stop?.isRaised == true { throw MediaError(code: .cancelled, message: "the preview was stopped") }
            if keepTrack {
                if track == nil { track = LabelTrack(width: labels.width, height: labels.height, objectIDs: labels.objectIDs) }
                keepTrack = i == track?.frameCount && track?.append(labels) == true
                    && (track?.bytes.count ?? 0) <= Self.maxLabelTrackBytes
                if !keepTrack { track = nil }
            }
            let full = fullSize(labels)
            if i == first { coverLabels = full }
            let masks = full.masks(including: objectIDs)
            entries.append(FrameMasks(frameIndex: i, rleMaskList: objectIDs.map { id in
                let rle = COCORLE.encode(masks[id] ?? Mask(width: session.width, height: session.height))
                return ObjectMask(objectID: id, rleMask: RLEMask(size: rle.size, counts: rle.counts))
            }))
            return LabelPlane(width: full.width, height: full.height, labels: full.labels)
        }
        timer.lap("track+upsample+rle+render")
        stream.abandon()  // every frame the renderer wanted has been taken
        stream.waitUntilFinished()
        if let failure = lazy?.failure { throw failure }
        // 5. The cover: the first marked frame with its overlay.
        try OverlayRenderer.cover(input: media.absolute(FrameSource.videoPath(session.id)), frameIndex: first,
                                  labels: coverLabels.map { LabelPlane(width: $0.width, height: $0.height, labels: $0.labels) },
                                  output: cover, options: Self.overlay)
        // 6. tracking_output.
        let output = TrackingOutput(sessionID: session.id, width: session.width, height: session.height,
                                    fps: Double(session.fps), totalFrame: session.totalFrames,
                                    objects: objectIDs.map(TrackingOutput.Object.init(objectID:)), frames: entries)
        try JSONCoding.encoder.encode(output).write(to: URL(fileURLWithPath: tracking))
        if let labelsPath, let track, track.frameCount == stream.count {
            try Data(track.bytes).write(to: URL(fileURLWithPath: labelsPath))
        }
        timer.lap("cover+json")
        return timer.summary
    }

    /// The most a preview's ``LabelTrack`` may take; a larger one (labels that change at almost every
    /// pixel) is not kept, and the edit tasks track the selection again. A 10 s 1080p30 clip's takes
    /// ~0.6 MiB, a 10 s 2160×2160 60 fps clip's ~2 MiB.
    static let maxLabelTrackBytes = 64 << 20

    /// The working frames of the whole clip (from the proxy when it exists) and the selection's anchors.
    /// `lap` is called after each phase (decode, anchors).
    static func anchors(session: SessionRecord, frames: FrameSource,
                        lap: (String) -> Void) throws -> (working: [RGBImage], anchors: [Int: SelectionLabels]) {
        let working = try frames.allWorkingFrames(session: session)
        lap("decode")
        let anchors = Self.anchors(session: session, frames: frames, working: working)
        lap("anchors")
        return (working, anchors)
    }

    /// The selection's anchors: every marked frame segmented with its points (exactly what add-selection
    /// returned there).
    static func anchors<Frames: RandomAccessCollection>(session: SessionRecord, frames: FrameSource,
                                                        working: Frames) -> [Int: SelectionLabels]
    where Frames.Element == RGBImage, Frames.Index == Int {
        let selection = session.selection
        var anchors: [Int: SelectionLabels] = [:]
        for f in selection.markedFrames where f < working.count {
            anchors[f] = frames.labels(session: session, frame: f, working: { working[Swift.min($0, working.count - 1)] })
        }
        return anchors
    }

    /// Starts tracking `working` on a thread of its own, every `step`-th frame (see
    /// `MaskTracker.step(framesPerSecond:)`); the returned stream gives the frames as they become final.
    static func startTracking<Frames: RandomAccessCollection & Sendable>(
        _ working: Frames, anchors: [Int: SelectionLabels], objectIDs: [Int], tracker: MaskTracker, step: Int
    ) -> TrackedFrames where Frames.Element == RGBImage, Frames.Index == Int {
        let stream = TrackedFrames(count: working.count)
        let thread = Thread {
            tracker.streamFrames(frames: working, anchors: anchors, objectIDs: objectIDs, step: step) { stream.put($0, $1) }
            stream.finish()
        }
        thread.stackSize = 8 << 20
        thread.start()
        return stream
    }

    /// Object `object`'s mask on frame `frame` in a preview's `tracking_output` file at `path`: nil when
    /// the file cannot be read, was made for another size, or has no pixel of the object on that frame.
    /// The decoded file is kept in `cache` (a preview's files never change: a new preview is new files).
    static func trackedMask(in path: String, frame: Int, object: Int, session: SessionRecord,
                            cache: RecentCache<TrackingOutput>? = nil) -> RLEMask? {
        var decoded = cache?[path]
        if decoded == nil {
            decoded = FileManager.default.contents(atPath: path)
                .flatMap { try? JSONCoding.decoder.decode(TrackingOutput.self, from: $0) }
            if let decoded { cache?[path] = decoded }  // a hit is already the most recent: stored once
        }
        guard let output = decoded, output.width == session.width, output.height == session.height else { return nil }
        let entry = frame < output.frames.count && output.frames[frame].frameIndex == frame
            ? output.frames[frame] : output.frames.first { $0.frameIndex == frame }
        // An empty mask is one run (of zeros).
        guard let rle = entry?.rleMaskList.first(where: { $0.objectID == object })?.rleMask,
              let runs = try? COCORLE.parseCounts(rle.counts), runs.count > 1 else { return nil }
        return rle
    }

    /// The working frames of the session's proxy, decoded on access; nil while there is no proxy.
    static func proxyFrames(session: SessionRecord, frames: FrameSource) throws -> ProxyFrames? {
        let proxy = frames.media.absolute(FrameSource.proxyPath(session.id))
        guard FileManager.default.fileExists(atPath: proxy) else { return nil }
        return try ProxyFrames(path: proxy, size: frames.engine.workingSize(width: session.width, height: session.height))
    }

    /// The selection's objects tracked through the whole clip, at the engine's working size, forwards
    /// and backwards from every anchor (the frames read on access from the proxy when there is one).
    /// `lap` is called after each phase (decode, anchors, track).
    static func track(session: SessionRecord, frames: FrameSource, tracker: MaskTracker,
                      lap: (String) -> Void = { _ in }) throws -> [SelectionLabels] {
        let objectIDs = session.selection.objectIDs
        let step = MaskTracker.step(framesPerSecond: Double(session.fps))
        guard let lazy = try Self.proxyFrames(session: session, frames: frames) else {
            let (working, anchors) = try Self.anchors(session: session, frames: frames, lap: lap)
            let tracked = tracker.track(frames: working, anchors: anchors, objectIDs: objectIDs, step: step)
            lap("track")
            return tracked
        }
        let anchors = Self.anchors(session: session, frames: frames, working: lazy)
        lap("anchors")
        var tracked: [SelectionLabels] = []
        tracked.reserveCapacity(lazy.count)
        tracker.stream(frames: lazy, anchors: anchors, objectIDs: objectIDs, step: step) { _, labels in
            tracked.append(labels)
        }
        lap("track")
        if let failure = lazy.failure { throw failure }
        return tracked
    }
}

/// Tracked frames handed from the tracking thread to one consumer (the renderer), which takes each frame
/// once, in order, blocking until it is final; a frame is held only between the two, and the tracker runs
/// at most `lead` frames ahead of the consumer (so the frames held do not grow with the clip).
final class TrackedFrames: Sendable {
    let count: Int
    let lead: Int
    private let state: Mutex<State>
    private let signal = DispatchSemaphore(value: 0)
    private let space = DispatchSemaphore(value: 0)

    private struct State {
        var frames: [MaskTracker.StreamedFrame?]
        var finished = false
        /// Every frame below it has been taken or passed over.
        var taken = 0
        /// The consumer has stopped taking: the tracker no longer waits, and what it gives is dropped.
        var abandoned = false
    }

    init(count: Int, lead: Int = 48) {
        self.count = count
        self.lead = max(1, lead)
        state = Mutex(State(frames: [MaskTracker.StreamedFrame?](repeating: nil, count: count)))
    }

    /// Frame `index` is final. Waits while it is `lead` frames or more ahead of the consumer.
    func put(_ index: Int, _ labels: MaskTracker.StreamedFrame) {
        while state.withLock({ !$0.abandoned && index >= $0.taken + lead }) { space.wait() }
        state.withLock { if index < count && !$0.abandoned { $0.frames[index] = labels } }
        signal.signal()
    }

    /// Tracking has ended (every frame it will give has been given).
    func finish() {
        state.withLock { $0.finished = true }
        signal.signal()
    }

    /// The consumer takes no more frames: call before waiting for the tracker, so it cannot wait for room.
    func abandon() {
        state.withLock { $0.abandoned = true; $0.frames = [] }
        space.signal()
    }

    /// Waits until frame `index` is final and takes it; nil for a frame tracking does not give (past the
    /// end) or one already taken.
    func take(_ index: Int) -> MaskTracker.StreamedFrame? {
        guard index >= 0 && index < count else { return nil }
        while true {
            let (labels, finished) = state.withLock { s -> (MaskTracker.StreamedFrame?, Bool) in
                guard !s.abandoned else { return (nil, true) }
                let labels = s.frames[index]
                if labels != nil {
                    s.frames[index] = nil
                    s.taken = max(s.taken, index + 1)
                }
                return (labels, s.finished)
            }
            if let labels { space.signal(); return labels }
            if finished { return nil }
            signal.wait()
        }
    }

    /// Waits until tracking has ended.
    func waitUntilFinished() {
        while !state.withLock({ $0.finished }) { signal.wait() }
    }
}
