import Foundation
import RotoAPI
import RotoCore
import RotoMedia
import RotoStore
import RotoVision
import Synchronization

/// add-, delete- and clear-selection (spec §3–4). Each call on a session runs under that session's lock:
/// validate, compute the new selection, segment the frame, then store — a refused or failed call
/// changes nothing.
struct Selections: Sendable {
    let database: AppDatabase
    let frames: FrameSource
    let pool: BlockingPool
    let locks: KeyedLock
    let limits: Limits

    enum Edit: Sendable { case add, delete }

    func edit(_ kind: Edit, _ command: PointsCommand, account: AccountRecord) async throws -> SelectionData {
        try await locks.withLock(command.sessionID) {
            let session = try await live(command.sessionID, account: account)
            try command.checkFrame(totalFrames: session.totalFrames)
            // The first points on a frame of an object already selected elsewhere start from what the last
            // preview tracked there.
            var prior: RLEMask?
            if kind == .add && session.selection.isUnmarked(frame: command.frameIndex, object: command.objectID)
                && session.selection.objectIDs.contains(command.objectID),
               let preview = try await database.latestPreviewTracking(sessionID: session.id) {
                let path = frames.media.absolute(preview.path)
                prior = try await pool.run {
                    PreviewPipeline.trackedMask(in: path, frame: command.frameIndex, object: command.objectID, session: session,
                                                cache: frames.trackingOutputs)
                }
            }
            let next: Selection = switch kind {
            case .add: try session.selection.adding(command.points, frame: command.frameIndex,
                                                    object: command.objectID, limits: limits, prior: prior)
            case .delete: try session.selection.deleting(command.points, frame: command.frameIndex,
                                                         object: command.objectID)
            }
            let objects = next.objects(onFrame: command.frameIndex)
            var masks: [ObjectMask] = []
            var status = 0
            if !objects.isEmpty {
                let frames = frames
                let segmented = try await pool.run {
                    try frames.segment(session: session, selection: next, frame: command.frameIndex)
                }
                masks = segmented.masks
                // status 1: the object the call is about could not be segmented at its points.
                if kind == .add, segmented.empty.contains(command.objectID) { status = 1 }
            }
            guard try await database.storeSelection(next, sessionID: session.id, accountID: account.id,
                                                    now: UnixTime.nowMillis()) != nil else {
                throw RotoError.notFound("session \(session.id) has expired")
            }
            return SelectionData(status: status, sessionID: session.id,
                                 res: FrameMasks(frameIndex: command.frameIndex, rleMaskList: masks))
        }
    }

    func clear(sessionID: String, account: AccountRecord) async throws -> SessionStatusData {
        try await locks.withLock(sessionID) {
            let session = try await live(sessionID, account: account)
            guard try await database.storeSelection(.empty, sessionID: session.id, accountID: account.id,
                                                    now: UnixTime.nowMillis()) != nil else {
                throw RotoError.notFound("session \(session.id) has expired")
            }
            return SessionStatusData(sessionID: session.id)
        }
    }

    private func live(_ id: String, account: AccountRecord) async throws -> SessionRecord {
        guard let s = try await database.session(id: id, accountID: account.id, now: UnixTime.nowMillis()) else {
            throw RotoError.notFound("session \(id) does not exist or has expired")
        }
        return s
    }
}

/// Frames of a session at the engine's working resolution, and the engine run on them. Blocking:
/// call from the blocking pool.
struct FrameSource: Sendable {
    let media: MediaStore
    let engine: ClassicalSegmentationEngine
    let metrics: ServerMetrics
    /// Analysed frames (superpixels and statistics) of recent clicks: further clicks on a frame skip
    /// decoding and analysis.
    let prepared = RecentCache<PreparedFrame>(capacity: 16)
    /// The `tracking_output` of recent previews, decoded (keyed by file path: a new preview is a new
    /// file): after a preview, first clicks on several frames read it once.
    let trackingOutputs = RecentCache<TrackingOutput>(capacity: 2)
    /// Objects' appearances on marked frames (see `appearance(of:near:…)`), with the objects' points and
    /// priors there they were segmented from: further clicks on a frame reuse the appearance its nearest
    /// marked frame gave while that frame's points stay the same.
    let appearances = RecentCache<SeenAppearance>(capacity: 16)

    struct SeenAppearance: Sendable {
        var marked: [MarkedObject]
        var appearance: ObjectAppearance?
    }

    struct Segmented: Sendable {
        var masks: [ObjectMask]
        /// Objects whose mask came out empty.
        var empty: Set<Int>
    }

    /// The video working frames are read from: the session's proxy when it exists, else the normalised
    /// video (scaled on reading).
    private func workingSource(_ session: SessionRecord) -> String {
        let proxy = media.absolute(Self.proxyPath(session.id))
        return FileManager.default.fileExists(atPath: proxy) ? proxy : media.absolute(Self.videoPath(session.id))
    }

    /// The clip's working frames by index, read from `path` (the session's working source when nil),
    /// opened on the first call. For one thread.
    func workingFrames(_ session: SessionRecord, path: String? = nil) -> (Int) throws -> RGBImage {
        let size = engine.workingSize(width: session.width, height: session.height)
        var reader: FrameReader?
        return { i in
            let r = try reader ?? FrameReader(path: path ?? workingSource(session))
            reader = r
            let f = try r.frame(at: i, scaledTo: size)
            return RGBImage(width: f.width, height: f.height, pixels: f.pixels)
        }
    }

    /// Every frame of the clip at working size, in order (for tracking).
    func allWorkingFrames(session: SessionRecord) throws -> [RGBImage] {
        let size = engine.workingSize(width: session.width, height: session.height)
        var out: [RGBImage] = []
        out.reserveCapacity(session.totalFrames)
        try FrameReader(path: workingSource(session)).forEachFrame(scaledTo: size) { frame in
            out.append(RGBImage(width: frame.width, height: frame.height, pixels: frame.pixels))
        }
        return out
    }

    /// The working-size labels of one marked frame of the session's selection (the anchor add-selection
    /// answered with). `working` gives the clip's working frames by index.
    func labels(session: SessionRecord, frame index: Int, working: (Int) -> RGBImage) -> SelectionLabels {
        let objects = session.selection.objects(onFrame: index)
        return engine.segment(analysed(session: session, index: index, frames: working), objects: Self.prompts(objects)) { id in
            appearance(of: id, near: index, session: session, selection: session.selection, working: working)
        }
    }

    /// What object `object` looks like on the marked frame nearest `index` where it has points (see
    /// `ObjectAppearance`): that frame segmented with its own points and priors, without appearances of
    /// its own (so no frame's mask depends on itself). Nil when the object is marked nowhere else.
    func appearance(of object: Int, near index: Int, session: SessionRecord, selection: Selection,
                    working: (Int) throws -> RGBImage) rethrows -> ObjectAppearance? {
        guard let other = selection.nearestMarkedFrame(of: object, to: index) else { return nil }
        let marked = selection.objects(onFrame: other)
        let key = "\(session.id)#\(other)#\(object)"
        if let cached = appearances[key], cached.marked == marked { return cached.appearance }
        let frame = try analysed(session: session, index: other, frames: working)
        let prompts = Self.prompts(marked)
        let mask = engine.segment(frame, objects: prompts).masks()[object]
        let points = prompts.first { $0.objectID == object }?.points ?? []
        let appearance = mask.map { engine.appearance(on: frame, mask: $0, points: points) }
        appearances[key] = SeenAppearance(marked: marked, appearance: appearance)
        return appearance
    }

    /// The analysed frame (with its motion towards its partner frame) from the cache, or analysed now
    /// from `frames` (working frames by index, called only on a miss).
    func analysed(session: SessionRecord, index: Int, frames: (Int) throws -> RGBImage) rethrows -> PreparedFrame {
        let key = "\(session.id)#\(index)"
        if let cached = prepared[key] { return cached }
        let frame = try engine.prepare(frame: index, count: session.totalFrames, frames: frames)
        prepared[key] = frame
        metrics.frameAnalysed()
        return frame
    }

    /// The engine's prompts for marked objects; a prior that does not decode (it was checked when stored)
    /// is left out rather than failing the frame.
    static func prompts(_ objects: [MarkedObject]) -> [ObjectPrompt] {
        objects.map { o in
            ObjectPrompt(objectID: o.objectID, points: o.points.map { PointPrompt(x: $0.x, y: $0.y, positive: $0.include) },
                         prior: o.prior.flatMap { try? COCORLE.decode(size: $0.size, counts: $0.counts) })
        }
    }

    /// Segments every object `selection` marks on one frame jointly and encodes the masks (RLE and PNG)
    /// at full size. `selection` is the session's selection as it will be stored (its other marked frames
    /// give the objects' appearances).
    func segment(session: SessionRecord, selection: Selection, frame index: Int) throws -> Segmented {
        let objects = selection.objects(onFrame: index)
        let working = workingFrames(session)
        let frame = try analysed(session: session, index: index, frames: working)
        let prompts = Self.prompts(objects)
        // Another frame that cannot be read teaches no appearance rather than failing this one.
        let labels = engine.segment(frame, objects: prompts) { id in
            try? appearance(of: id, near: index, session: session, selection: selection, working: working)
        }
        let masks = engine.upsample(labels, to: session.width, session.height, guide: nil, frame: frame)
            .masks(including: prompts.map(\.objectID))
        var out = Segmented(masks: [], empty: [])
        for o in objects {
            let mask = masks[o.objectID] ?? Mask(width: session.width, height: session.height)
            if mask.isEmpty { out.empty.insert(o.objectID) }
            out.masks.append(Self.encode(mask, objectID: o.objectID))
        }
        return out
    }

    static func encode(_ mask: Mask, objectID: Int) -> ObjectMask {
        let rle = COCORLE.encode(mask)
        let png = MaskPNG.encode(mask)
        return ObjectMask(objectID: objectID, rleMask: RLEMask(size: rle.size, counts: rle.counts),
                          pngMask: PNGMask(size: rle.size, base64: Data(png).base64EncodedString()))
    }

    static func videoPath(_ session: String) -> String { "sessions/\(session)/video.mp4" }
    static func proxyPath(_ session: String) -> String { "sessions/\(session)/proxy.mp4" }
}

/// A small least-recently-used cache (analysed frames, decoded tracking outputs), shared by the blocking
/// pool's threads.
final class RecentCache<Value: Sendable>: Sendable {
    private struct State {
        var entries: [String: Value] = [:]
        var order: [String] = []
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    subscript(key: String) -> Value? {
        get {
            state.withLock { s in
                guard let hit = s.entries[key] else { return nil }
                s.order.removeAll { $0 == key }
                s.order.append(key)
                return hit
            }
        }
        set {
            state.withLock { s in
                s.order.removeAll { $0 == key }
                s.entries[key] = newValue
                guard newValue != nil else { return }
                s.order.append(key)
                while s.order.count > capacity { s.entries[s.order.removeFirst()] = nil }
            }
        }
    }
}
