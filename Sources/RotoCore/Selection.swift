import RotoAPI

/// A click: normalised display coordinates and whether it includes (label 1) or excludes (0).
public struct Point: Sendable, Hashable, Codable {
    public var x: Double
    public var y: Double
    public var include: Bool

    public init(x: Double, y: Double, include: Bool = true) {
        self.x = x
        self.y = y
        self.include = include
    }

    /// Two points are the same click when both coordinates agree within 1e-6 (spec §3).
    public func matches(_ other: Point) -> Bool {
        abs(x - other.x) <= 1e-6 && abs(y - other.y) <= 1e-6
    }
}

/// One object's marks on one frame.
public struct MarkedObject: Sendable, Equatable {
    public var objectID: Int
    /// The points, in the order they were added.
    public var points: [Point]
    /// The object's mask on this frame in the last preview when its first point here was added (full-size
    /// COCO RLE): the engine starts from it and the points correct it. Nil when there was none.
    public var prior: RLEMask?

    public init(objectID: Int, points: [Point], prior: RLEMask? = nil) {
        self.objectID = objectID
        self.points = points
        self.prior = prior
    }
}

/// Every point of a session, per frame and per object, and the prior masks they started from. A value
/// type: the domain rules return a new selection or throw, so a refused call never leaves partial state.
public struct Selection: Sendable, Equatable, Codable {
    /// frame index → object id → points, in the order they were added.
    public private(set) var frames: [Int: [Int: [Point]]]
    /// frame index → object id → prior mask (see `MarkedObject.prior`); only where there are points.
    public private(set) var priors: [Int: [Int: RLEMask]]

    public init(frames: [Int: [Int: [Point]]] = [:], priors: [Int: [Int: RLEMask]] = [:]) {
        let kept = frames.compactMapValues { objects in
            let kept = objects.filter { !$0.value.isEmpty }
            return kept.isEmpty ? nil : kept
        }
        self.frames = kept
        var marked: [Int: [Int: RLEMask]] = [:]
        for (frame, objects) in priors {
            for (object, mask) in objects where kept[frame]?[object] != nil { marked[frame, default: [:]][object] = mask }
        }
        self.priors = marked
    }

    public var isEmpty: Bool { frames.isEmpty }
    /// Marked frames, ascending.
    public var markedFrames: [Int] { frames.keys.sorted() }
    /// Every object id that has a point anywhere, ascending.
    public var objectIDs: [Int] { Set(frames.values.flatMap(\.keys)).sorted() }

    /// Whether `object` has no point on `frame` yet (its next point would be its first there).
    public func isUnmarked(frame: Int, object: Int) -> Bool { frames[frame]?[object] == nil }

    /// The marked frame other than `frame` nearest to it where `object` has points (the earlier of two
    /// as near); nil when the object has points on no other frame.
    public func nearestMarkedFrame(of object: Int, to frame: Int) -> Int? {
        frames.keys.filter { $0 != frame && frames[$0]?[object] != nil }
            .min { (abs($0 - frame), $0) < (abs($1 - frame), $1) }
    }

    /// The objects, their points and priors on one frame, by ascending object id.
    public func objects(onFrame frame: Int) -> [MarkedObject] {
        (frames[frame] ?? [:]).sorted { $0.key < $1.key }.map {
            MarkedObject(objectID: $0.key, points: $0.value, prior: priors[frame]?[$0.key])
        }
    }

    /// Adds points (spec §3): re-adding an existing point is a no-op; limits are checked after the call.
    /// `prior` is kept only when these are the object's first points on the frame (a prior belongs to the
    /// marks it started with and goes when they are all deleted).
    public func adding(_ points: [Point], frame: Int, object: Int, limits: Limits,
                       prior: RLEMask? = nil) throws(RotoError) -> Selection {
        var list = frames[frame]?[object] ?? []
        let first = list.isEmpty
        for p in points where !list.contains(where: { $0.matches(p) }) {
            list.append(p)
        }
        guard list.count <= limits.maxPointsPerFrameObject else {
            throw .invalid("points", "at most \(limits.maxPointsPerFrameObject) points per frame and object",
                           got: "\(list.count) after this call on frame \(frame), object \(object)")
        }
        var next = frames
        next[frame, default: [:]][object] = list
        guard next.count <= limits.maxMarkedFrames else {
            throw .invalid("frame_index", "at most \(limits.maxMarkedFrames) distinct marked frames per session",
                           got: "\(frame) would be marked frame \(next.count)")
        }
        var nextPriors = priors
        if first, let prior { nextPriors[frame, default: [:]][object] = prior }
        return Selection(frames: next, priors: nextPriors)
    }

    /// Deletes points (spec §3): every point must match one on that frame and object, else nothing is
    /// deleted and the error lists the unmatched points.
    public func deleting(_ points: [Point], frame: Int, object: Int) throws(RotoError) -> Selection {
        let list = frames[frame]?[object] ?? []
        let unmatched = points.filter { p in !list.contains(where: { $0.matches(p) }) }
        guard unmatched.isEmpty else {
            let text = unmatched.map { "(\($0.x), \($0.y))" }.joined(separator: ", ")
            throw .invalid("points", "every point must match a point already on frame \(frame) (object \(object))",
                           got: "unmatched \(text)")
        }
        var next = frames
        next[frame, default: [:]][object] = list.filter { q in !points.contains(where: { $0.matches(q) }) }
        return Selection(frames: next, priors: priors)
    }

    /// The selection with no points at all.
    public static let empty = Selection()

    // Stored as a flat list so that the JSON is stable and readable.
    struct Entry: Codable {
        var frame: Int
        var object: Int
        var points: [Point]
        var prior: RLEMask?
    }

    public init(from decoder: any Decoder) throws {
        var frames: [Int: [Int: [Point]]] = [:]
        var priors: [Int: [Int: RLEMask]] = [:]
        for e in try [Entry](from: decoder) {
            frames[e.frame, default: [:]][e.object] = e.points
            if let p = e.prior { priors[e.frame, default: [:]][e.object] = p }
        }
        self.init(frames: frames, priors: priors)
    }

    public func encode(to encoder: any Encoder) throws {
        let entries = markedFrames.flatMap { f in
            objects(onFrame: f).map { Entry(frame: f, object: $0.objectID, points: $0.points, prior: $0.prior) }
        }
        try entries.encode(to: encoder)
    }
}

/// A validated add- or delete-selection command.
public struct PointsCommand: Sendable, Equatable {
    public var sessionID: String
    public var frameIndex: Int
    public var objectID: Int
    public var points: [Point]

    /// Reads and validates the request's fields (types, counts, ranges). The frame range needs the
    /// session and is checked by `checkFrame(totalFrames:)`.
    public init(_ r: FieldReader, limits: Limits) throws(RotoError) {
        sessionID = try r.requiredString("session_id")
        frameIndex = try r.requiredInt("frame_index")
        guard frameIndex >= 0 else { throw .invalid("frame_index", "must be ≥ 0", got: String(frameIndex)) }
        objectID = try r.int("object_id") ?? 0
        guard objectID >= 0 else { throw .invalid("object_id", "must be an integer ≥ 0", got: String(objectID)) }
        guard let items = try r.objects("points") else {
            throw .invalid("points", "is required: an array of 1–\(limits.maxPointsPerFrameObject) {x, y} objects")
        }
        guard (1...limits.maxPointsPerFrameObject).contains(items.count) else {
            throw .invalid("points", "must hold 1–\(limits.maxPointsPerFrameObject) points", got: "\(items.count) points")
        }
        var points: [Point] = []
        for (i, item) in items.enumerated() {
            func coordinate(_ key: String) throws(RotoError) -> Double {
                guard let v = try item.number(key) else {
                    throw .invalid("points[\(i)].\(key)", "is required and must be a number in [0, 1]")
                }
                guard (0...1).contains(v) else {
                    throw .invalid("points[\(i)].\(key)", "must be within [0, 1]", got: item.value(key)?.quoted)
                }
                return v + 0  // -0 is stored (and echoed) as 0
            }
            let x = try coordinate("x")
            let y = try coordinate("y")
            let label = try item.int("label") ?? 1
            guard label == 0 || label == 1 else {
                throw .invalid("points[\(i)].label", "must be 1 (include) or 0 (exclude)", got: String(label))
            }
            points.append(Point(x: x, y: y, include: label == 1))
        }
        self.points = points
    }

    /// The frame index must name a frame of the session's normalised video.
    public func checkFrame(totalFrames: Int) throws(RotoError) {
        guard frameIndex < totalFrames else {
            throw .invalid("frame_index", "must be < total_frame (\(totalFrames))", got: String(frameIndex))
        }
    }
}
