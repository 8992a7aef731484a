import Foundation
import Logging
import RotoAPI
import RotoCore
import RotoMedia
import RotoStore
import RotoVision

/// preview-selection (spec §5): track every object from every marked frame through the clip, then
/// render the overlay video, its cover and the `tracking_output` JSON. Served from cache while the
/// selection is unchanged (keyed by the session's selection version).
struct Previews: Sendable {
    let database: AppDatabase
    let media: MediaStore
    let frames: FrameSource
    let tracker: MaskTracker
    let pool: BlockingPool
    let locks: KeyedLock
    let urls: PublicURLs
    let logger: Logger

    func preview(sessionID: String, account: AccountRecord) async throws -> PreviewData {
        try await locks.withLock(sessionID) {
            let now = UnixTime.nowMillis()
            guard let session = try await database.session(id: sessionID, accountID: account.id, now: now) else {
                throw RotoError.notFound("session \(sessionID) does not exist or has expired")
            }
            guard !session.selection.isEmpty else {
                throw RotoError.invalid("session_id", "the session has no point; add points with add-selection first",
                                        got: sessionID)
            }
            if let cached = try await database.preview(sessionID: session.id, selectionVersion: session.selectionVersion) {
                return data(session.id, video: cached.videoToken, cover: cached.coverToken, tracking: cached.trackingToken)
            }
            let stamp = "\(session.selectionVersion)-\(UUID().uuidString.prefix(8))"
            let paths = (video: "sessions/\(session.id)/preview-\(stamp).mp4",
                         cover: "sessions/\(session.id)/preview-\(stamp).jpg",
                         tracking: "sessions/\(session.id)/preview-\(stamp).json")
            let tmp = (video: media.temporaryPath(extension: "mp4"), cover: media.temporaryPath(extension: "jpg"),
                       tracking: media.temporaryPath(extension: "json"))
            defer { for p in [tmp.video, tmp.cover, tmp.tracking] { try? FileManager.default.removeItem(atPath: p) } }
            let pipeline = PreviewPipeline(media: media, frames: frames, tracker: tracker)
            let phases = try await pool.run { try pipeline.run(session: session, video: tmp.video, cover: tmp.cover, tracking: tmp.tracking) }
            logger.info("preview made", metadata: ["session": "\(session.id)", "phases": "\(phases)"])

            var records: [FileRecord] = []
            for (t, relative, type) in [(tmp.video, paths.video, "video/mp4"), (tmp.cover, paths.cover, "image/jpeg"),
                                        (tmp.tracking, paths.tracking, "application/json")] {
                try media.commit(temporary: t, to: relative)
                records.append(FileRecord(token: CapabilityToken.make(), accountId: account.id, kind: .preview,
                                          ownerId: session.id, path: relative, contentType: type, size: media.size(of: relative),
                                          createdAt: now, expiresAt: session.expiresAt))
            }
            let record = PreviewRecord(sessionId: session.id, selectionVersion: session.selectionVersion,
                                       videoToken: records[0].token, coverToken: records[1].token,
                                       trackingToken: records[2].token, createdAt: now)
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
    }

    private func data(_ session: String, video: String, cover: String, tracking: String) -> PreviewData {
        PreviewData(sessionID: session, res: PreviewResult(video: urls.file(video), videoCover: urls.file(cover),
                                                          trackingOutput: urls.file(tracking)))
    }
}

/// The blocking part of a preview: decode the working frames, segment the anchors, track, upsample,
/// encode masks, render. Runs on the blocking pool.
struct PreviewPipeline {
    let media: MediaStore
    let frames: FrameSource
    let tracker: MaskTracker

    /// Runs the pipeline; returns how long each phase took, for the log.
    func run(session: SessionRecord, video: String, cover: String, tracking: String) throws -> String {
        var timer = PhaseTimer()
        let selection = session.selection
        let objectIDs = selection.objectIDs
        // 1–3. Decode the working frames, segment the anchors, track.
        let tracked = try Self.track(session: session, frames: frames, tracker: tracker, lap: { timer.lap($0) })
        // 4. Full-size masks: RLE for the JSON, a label plane for the overlay.
        var entries: [FrameMasks] = []
        entries.reserveCapacity(tracked.count)
        let engine = frames.engine
        func fullSize(_ i: Int) -> SelectionLabels {
            engine.upsample(tracked[i], to: session.width, session.height, guide: nil)
        }
        _ = try OverlayRenderer.render(input: media.absolute(FrameSource.videoPath(session.id)), output: video) { i in
            guard i < tracked.count else { return nil }
            let full = fullSize(i)
            let masks = full.masks(including: objectIDs)
            entries.append(FrameMasks(frameIndex: i, rleMaskList: objectIDs.map { id in
                let rle = COCORLE.encode(masks[id] ?? Mask(width: session.width, height: session.height))
                return ObjectMask(objectID: id, rleMask: RLEMask(size: rle.size, counts: rle.counts))
            }))
            return LabelPlane(width: full.width, height: full.height, labels: full.labels)
        }
        timer.lap("upsample+rle+render")
        // 5. The cover: the first marked frame with its overlay.
        let first = selection.markedFrames.first ?? 0
        let coverLabels = first < tracked.count ? fullSize(first) : nil
        try OverlayRenderer.cover(input: media.absolute(FrameSource.videoPath(session.id)), frameIndex: first,
                                  labels: coverLabels.map { LabelPlane(width: $0.width, height: $0.height, labels: $0.labels) },
                                  output: cover)
        // 6. tracking_output.
        let output = TrackingOutput(sessionID: session.id, width: session.width, height: session.height,
                                    fps: Double(session.fps), totalFrame: session.totalFrames,
                                    objects: objectIDs.map(TrackingOutput.Object.init(objectID:)), frames: entries)
        try JSONCoding.encoder.encode(output).write(to: URL(fileURLWithPath: tracking))
        timer.lap("cover+json")
        return timer.summary
    }

    /// The selection's objects tracked through the whole clip, at the engine's working size: decodes
    /// the working frames (from the proxy when it exists), segments every marked frame (an anchor gets
    /// exactly what add-selection returned there) and tracks forwards and backwards from every anchor.
    /// `lap` is called after each phase (decode, anchors, track).
    static func track(session: SessionRecord, frames: FrameSource, tracker: MaskTracker,
                      lap: (String) -> Void = { _ in }) throws -> [SelectionLabels] {
        let selection = session.selection
        let working = try frames.allWorkingFrames(session: session)
        lap("decode")
        var anchors: [Int: SelectionLabels] = [:]
        for f in selection.markedFrames where f < working.count {
            anchors[f] = frames.labels(session: session, frame: f, working: working[f],
                                       objects: selection.objects(onFrame: f))
        }
        lap("anchors")
        let tracked = tracker.track(frames: working, anchors: anchors, objectIDs: selection.objectIDs)
        lap("track")
        return tracked
    }
}
