#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A click → mask engine. Implementations must be thread-safe values.
public protocol SegmentationEngine: Sendable {
    /// Segments every object of `objects` on one frame jointly, so that a pixel belongs to at most one
    /// object. Returns one mask per object ID at the size of `image`; an object that cannot be segmented
    /// at its points (for example, it has no include point) gets an empty mask.
    func segment(_ image: RGBImage, objects: [ObjectPrompt]) -> [Int: Mask]
}

/// The joint result of segmenting the objects of one frame: a label map (0 = no object,
/// `i + 1` = `objectIDs[i]`), at working or full resolution.
public struct SelectionLabels: Sendable, Equatable {
    /// Width of the label map.
    public let width: Int
    /// Height of the label map.
    public let height: Int
    /// One byte per pixel, row-major: 0 for no object, `i + 1` for `objectIDs[i]`.
    public var labels: [UInt8]
    /// Object IDs in label order.
    public let objectIDs: [Int]

    /// Creates a label map; `labels.count` must be `width * height`.
    public init(width: Int, height: Int, labels: [UInt8], objectIDs: [Int]) {
        precondition(labels.count == width * height && objectIDs.count <= 255)
        self.width = width
        self.height = height
        self.labels = labels
        self.objectIDs = objectIDs
    }

    /// The same labels in the order of `ids` (`ids[j]` becomes label `j + 1`); objects not in `ids`
    /// lose their pixels.
    public func relabelled(onto ids: [Int]) -> SelectionLabels {
        if objectIDs == ids { return self }
        var table = [UInt8](repeating: 0, count: 256)
        for (i, id) in objectIDs.enumerated() {
            if let j = ids.firstIndex(of: id), j < 255 { table[i + 1] = UInt8(j + 1) }
        }
        return SelectionLabels(width: width, height: height, labels: labels.map { table[Int($0)] }, objectIDs: ids)
    }

    /// The OR of every label (an OR over the bytes, which vectorises): 0 when no pixel carries an object,
    /// at most 1 when only label 1 occurs.
    private var labelUnion: UInt8 { labels.withUnsafeBufferPointer { l in l.reduce(0 as UInt8) { $0 | $1 } } }

    /// Whether no pixel carries an object.
    var isEmpty: Bool { labelUnion == 0 }

    /// Each present label's centroid (working pixels).
    func centroids() -> [UInt8: (x: Float, y: Float)] {
        var sx = [Double](repeating: 0, count: 256), sy = sx, count = sx
        labels.withUnsafeBufferPointer { l in
            for y in 0..<height {
                for x in 0..<width {
                    let t = Int(l[y * width + x])
                    if t != 0 { sx[t] += Double(x); sy[t] += Double(y); count[t] += 1 }
                }
            }
        }
        var out: [UInt8: (x: Float, y: Float)] = [:]
        for t in 1..<256 where count[t] > 0 { out[UInt8(t)] = (Float(sx[t] / count[t]), Float(sy[t] / count[t])) }
        return out
    }

    /// One mask per object ID (an object without pixels gets an empty mask).
    public func masks() -> [Int: Mask] { masks(including: []) }

    /// One mask per object ID, plus empty masks for `extraIDs` not in the label map.
    public func masks(including extraIDs: [Int]) -> [Int: Mask] {
        var out: [Int: Mask] = [:]
        if objectIDs.count == 1 && labelUnion <= 1 {
            // One object: the labels (0 or 1) are its mask already; shared, not copied.
            out[objectIDs[0]] = Mask(trusted: width, height, labels)
        } else {
            out = perObjectMasks()
        }
        for id in extraIDs where out[id] == nil { out[id] = Mask(width: width, height: height) }
        return out
    }

    private func perObjectMasks() -> [Int: Mask] {
        var out: [Int: Mask] = [:]
        for (i, id) in objectIDs.enumerated() {
            let tag = UInt8(i + 1)
            var d = [UInt8](repeating: 0, count: width * height)
            labels.withUnsafeBufferPointer { l in
                d.withUnsafeMutableBufferPointer { o in
                    for p in 0..<l.count { o[p] = l[p] == tag ? 1 : 0 }
                }
            }
            out[id] = Mask(trusted: width, height, d)
        }
        return out
    }
}

/// The classical engine: SLIC superpixels on a reduced-resolution Lab image, per-object colour models
/// (smoothed Lab histograms) learned from the clicks and refined GrabCut-style, geodesic distances from
/// include clicks vs. exclude clicks and the image border, a geodesic star-convexity constraint, a
/// graph cut on the superpixel graph, a pixel-level band graph cut that takes the outline to the pixels'
/// own edges, and an edge-aware (joint-bilateral) upsampling to full size.
public struct ClassicalSegmentationEngine: SegmentationEngine {
    /// Tuning knobs. The defaults were tuned on DAVIS 2016 frames.
    public struct Configuration: Sendable, Equatable {
        /// Long side of the working image.
        public var workingLongSide: Int = 640
        /// Target number of superpixels.
        public var regions: Int = 3000
        /// SLIC compactness.
        public var compactness: Float = 10
        /// SLIC iterations.
        public var slicIterations: Int = 5
        /// Weight of the pairwise (edge) term.
        public var smoothness: Double = 20
        /// Weight of the geodesic prior per pixel.
        public var geodesicWeight: Double = 1.0
        /// Extra cost per pixel for foreground far from every include click, in units of object radius.
        public var distanceWeight: Double = 1.0
        /// Object radius assumed around the include clicks, as a fraction of the image diagonal.
        public var radius: Double = 0.12
        /// Geodesic step cost: weight of the mean-colour difference of adjacent regions.
        public var geoColour: Float = 1
        /// Geodesic step cost: weight of the pixel contrast across their shared boundary.
        public var geoContrast: Float = 0
        /// Geodesic step cost: weight of the texture difference.
        public var geoTexture: Float = 0
        /// Geodesic step cost: constant per step.
        public var geoStep: Float = 1.5
        /// Geodesic head start of the image border as a background seed.
        public var borderOffset: Float = 8
        /// How much the spread of the include clicks widens the radius.
        public var spreadWeight: Double = 0
        /// Exponent of the segment's area fraction in the hypothesis score (favours larger segments).
        public var sizeBias: Float = 0.1
        /// Radii tried (fractions of the image diagonal); the segment with the strongest boundary wins.
        /// Empty: use `radius` only.
        public var radii: [Double] = [0.05, 0.08, 0.13, 0.2]
        /// Geodesic radius of the confident core around include clicks that seeds the first colour model.
        public var coreDistance: Float = 12
        /// Clamp of each pixel's colour log-likelihood ratio.
        public var llrClamp: Float = 4
        /// Clamp of each pixel's colour log-likelihood ratio towards background.
        public var llrClampBackground: Float = 2
        /// Relative floor of the colour histograms (unseen colours).
        public var histFloor: Float = 1e-4
        /// The core never reaches farther than this from its click (fraction of the image diagonal;
        /// default: no limit).
        public var coreRadius: Float = .infinity
        /// Core distances tried (each with every radius) when an object has a single include click
        /// (it may sit on a small part of the object); empty, or several clicks: `coreDistance` only.
        public var coreDistances: [Float] = [12, 40]
        /// Geodesic star convexity: a region can only be selected with its geodesic path to a click.
        public var starConvexity: Bool = true
        /// Weight of image-border regions in the background colour model (1 = like any other region).
        public var borderWeight: Float = 1
        /// GrabCut-style re-estimation rounds.
        public var rounds: Int = 2
        /// Fill background holes smaller than this fraction of the object.
        public var holeFill: Double = 0.05
        /// Range sigma (RGB units) of the edge-aware upsampling.
        public var upsampleSigma: Float = 18
        /// With several include clicks, measure the far-from-clicks cost from the convex hull of the
        /// clicks (the object spans its clicks) rather than from the nearest click.
        public var hullPrior: Bool = true
        /// With several include clicks, weight of each region's nearest click's own colour model against
        /// the pooled model (0: pooled only).
        public var localColour: Float = 0
        /// With several include clicks: radii tried (nil: `radii`).
        public var multiClickRadii: [Double]? = nil
        /// With several include clicks: smoothness (nil: `smoothness`). Their data term is stronger (a
        /// colour model learned from more of the object, the clicks' hull as spatial prior).
        public var multiClickSmoothness: Double? = 17
        /// With several include clicks: geodesic head start of the image border (nil: `borderOffset`).
        public var multiClickBorderOffset: Float? = nil
        /// With several include clicks: weight of the far-from-clicks cost (nil: `distanceWeight`).
        public var multiClickDistanceWeight: Double? = 4
        /// With several include clicks: clamp of the colour log-likelihood ratio towards background (nil:
        /// `llrClampBackground`). Several clicks teach the object's colour model more of the object, so
        /// a colour it has not seen is better evidence of background than after one click. 3 until stop 49;
        /// 5 lets two or more include clicks on the legs keep the wall between them out (parkour), and 6
        /// gives the same davis2016-dev figures.
        public var multiClickClampBackground: Float? = 5
        /// Weight of the motion log-likelihood ratio against the colour one (frames analysed with motion).
        public var motionWeight: Float = 1
        /// Width of a motion histogram bin, working pixels.
        public var motionBin: Float = 1
        /// Clamp of each region's motion log-likelihood ratio per pixel.
        public var motionClamp: Float = 2
        /// Geodesic step cost: weight of the motion difference of adjacent regions (working pixels).
        public var geoMotion: Float = 3
        /// Weight (per pixel) of the independent-motion cue (0: off): when the clicked part moves
        /// against the camera, regions that move against it lean to the object and regions that move
        /// with it lean to the background (see `BinarySegmentation.addIndependentMotion`).
        public var independentMotion: Float = 2
        /// The independent-motion cue is used only while the camera's motion explains the background:
        /// its regions' median distance from the fitted camera motion at most this (working pixels).
        /// Parallax (a camera moving through depth) and water leave larger residuals that would read
        /// as moving objects.
        public var independentMotionMaxNoise: Float = 0.35
        /// Take each object's superpixel boundary to the pixels' own edges (`MaskTracker.refine`).
        public var refineBoundary: Bool = true
        /// Half-width of the band the boundary refinement may relabel (`MaskTracker.Configuration.bandFraction`).
        public var refineBandFraction: Double = 0.015
        /// Spacing of the boundary refinement's local colour models (`MaskTracker.Configuration.localColourSpacing`;
        /// 0: the crop's one model). `select-bench`, frame 0 / later frames with 1 / 3 / 5 clicks: 0.746 /
        /// 0.786 / 0.775 and 0.668 / 0.737 / 0.746 without, 0.747 / 0.787 / 0.778 and 0.670 / 0.739 / 0.748 at 32
        /// (with the tracker's minimum of object pixels; 0.748 at one click without it).
        public var refineLocalColourSpacing: Int = 32
        /// Points taken from an object's prior mask as include clicks (see `ObjectPrompt.prior`).
        public var priorPoints: Int = 3
        /// How close (fraction of the image diagonal) a part of the prior mask must come to an include
        /// click to count.
        public var priorReach: Double = 0.05
        /// Also count the prior's parts that the include clicks' own segmentation reaches when none is
        /// within `priorReach` of them.
        public var priorTouch: Bool = true
        /// An object with only exclude clicks on a frame, and a prior there, is the prior less what the
        /// exclude clicks point at (without: nothing, since exclude clicks alone define no object).
        public var priorLessExcluded: Bool = true
        /// …unless that would keep less than this share of the prior: then only the clicked regions and
        /// their neighbours are taken from it.
        public var excludedShareKept: Double = 0.3
        /// …and unless an exclude click lies at least this fraction of the prior's greatest depth inside
        /// it (its distance from the prior's edge): such a click rejects the prior as a whole.
        public var rejectingDepth: Float = 0.5
        /// Exclude clicks among include clicks on a frame with a prior: what they point at (see
        /// `sparing`) is selected against the include clicks' regions and the prior's interior points,
        /// so it cannot take what the person included or the middle of what was tracked.
        /// `track-bench`'s second clicks (the protocol's next click on 16 frames of each clip, after an
        /// include click there), 107 exclude clicks: J 0.720 before, 0.694 after without it (33 made the
        /// mask worse, 21 by more than 0.1), 0.722 with it (30, 14); the include clicks' regions alone
        /// 0.697; with `excludeDepthReach` 0.725 without it, 0.729 with the include clicks' regions
        /// alone, **0.743** with both (20, 9).
        public var excludeSparesIncluded: Bool = true
        /// An exclude click on a frame with a prior takes out of it only what lies at most this many
        /// times the click's own depth inside it (distance from its edge; at least 2 working pixels): a
        /// click on a thin leak along the object's edge (a shadow, a spill onto the ground) trims the
        /// leak, not the object behind it. Second exclude clicks (above, with `excludeSparesIncluded`):
        /// J after 0.722 without, 0.741 / 0.743 / 0.743 / 0.743 / 0.739 / 0.732 at 0.75 / 1 / 1.25 /
        /// 1.5 / 2 / 3 (9 of 107 losing more than 0.1 at 1.5, 14 without). 0 turns it off.
        public var excludeDepthReach: Float = 1.5
        /// Exclude clicks among include clicks on a frame with a prior: the prior's interior points
        /// (`priorPoints`, which act as include clicks and are spared by `excludeSparesIncluded`) are taken
        /// from the prior less a disc around each exclude click, this many times the click's depth inside
        /// the prior (0: off). An exclude click on a wide leak that holds the prior's deepest points (a
        /// sheet of water beside a swan) then takes the leak instead of keeping it as included.
        /// `track-bench`'s 107 second exclude clicks: J 0.720 before, after 0.743 without, 0.748 / 0.749 /
        /// 0.745 / 0.736 at 1.5 / 2 / 3 / 4; the interactive protocol 0.726 without, 0.730 / 0.729 at 1.5 / 2.
        public var excludeClaimsInterior: Float = 1.5
        /// How many of this frame's pixels each pixel of an `ObjectAppearance` (the object as marked on
        /// another frame) counts as in the object's colour model, for an object no prior mask holds on
        /// this frame and one include click there (less with more: `appearanceClicks`). 0: appearances
        /// are not used. See `segment(_:objects:appearance:)`.
        public var appearanceWeight: Float = 1
        /// The include clicks from which a frame's own colours are known well enough that an appearance
        /// only brings in another frame's errors: its weight falls linearly from one click to none here.
        public var appearanceClicks: Int = 3
        /// How far from the other frame's include clicks its mask is read for an appearance, as a fraction
        /// of the working frame's diagonal (nil: the whole mask). That mask may hold background its clicks
        /// never pointed at (blackswan's reflection); the parts the person pointed at are what is sure.
        /// See `appearance(on:mask:points:)`.
        public var appearanceReach: Float? = 0.04

        /// The share of `appearanceWeight` an object with `includeClicks` include clicks gets (1 for one
        /// click, 0 from `appearanceClicks` on).
        func appearanceShare(includeClicks n: Int) -> Float {
            guard appearanceClicks > 1 else { return n <= 1 ? 1 : 0 }
            return max(0, Float(appearanceClicks - max(1, n)) / Float(appearanceClicks - 1))
        }
        /// Weight (per pixel) of the prior mask's own data term, once some part of the prior counts: a
        /// region the prior covers costs this much as background, one it leaves out as much as object, and
        /// a region it covers has no far-from-clicks cost (0: the prior only adds its interior points as
        /// include clicks, and the cut starts afresh from them). At 3, the colour term's strongest vote
        /// for background (`multiClickClampBackground`, then 3) no longer took a tracked part away on its
        /// own; raising that clamp to 5 left the correction-click figures below unchanged.
        /// `track-bench --corrections 16`, one click from the tracked mask on 16 frames of each clip: J
        /// 0.681 before the click; after it 0.702 without the term (79 of 160 clicks made the mask worse),
        /// 0.754 at weight 2 (45), 0.751 at 3 (41), 0.747 at 4 (42).
        public var priorWeight: Float = 3
        /// Geodesic distance from the person's own clicks over which the prior's term fades in: next to
        /// an include click the prior does not hold a part it missed out, next to an exclude click it
        /// does not hold a part it had.
        public var priorFade: Float = 40
        /// Once a prior counts, the object keeps it except where the cut's mask differs from it in a part
        /// (8-connected) that comes within this fraction of the image diagonal of one of the person's own
        /// clicks: a click edits what was tracked around it and leaves the rest as it was (the cut alone
        /// re-decides the whole frame and can lose far parts, as on camel). `track-bench --corrections 16`
        /// with the still-parts rule: J 0.708 before the click, after it 0.752 without (47 of 160 clicks
        /// made the mask worse), 0.745 at 0.01 (34 worse; parkour loses the far leaks the cut used to
        /// clear), 0.745 at 0.05 (40); the interactive protocol 0.702 → 0.730 at 0.01. 0 turns it off.
        public var priorEditReach: Double = 0.01

        /// The defaults.
        public init() {}
    }

    /// The configuration in use.
    public let configuration: Configuration

    /// An engine with `configuration`.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The working size this engine uses for a frame of `width` × `height`.
    public func workingSize(width: Int, height: Int) -> (width: Int, height: Int) {
        RGBImage.workingSize(width: width, height: height, longSide: configuration.workingLongSide)
    }

    /// The frame whose motion the engine measures frame `index` against: the next one, or the previous
    /// one for a clip's last frame; nil for a clip of one frame.
    public static func motionPartner(of index: Int, frameCount: Int) -> Int? {
        if index + 1 < frameCount { return index + 1 }
        return index > 0 && frameCount > 1 ? index - 1 : nil
    }

    /// Analyses frame `index` of a clip of `count` frames with its motion towards its partner frame
    /// (see `motionPartner`); `frames` gives the clip's working frames by index. Only the frame itself
    /// must be readable: a partner that cannot be read leaves the frame without motion. The two frames
    /// are read in increasing order (a video reader then decodes on without seeking back).
    public func prepare(frame index: Int, count: Int, frames: (Int) throws -> RGBImage) rethrows -> PreparedFrame {
        let partner = Self.motionPartner(of: index, frameCount: count)
        var nearby = partner.flatMap { $0 < index ? try? frames($0) : nil }
        let image = try frames(index)
        if let partner, partner > index { nearby = try? frames(partner) }
        return prepare(image, nearby: nearby)
    }

    /// Analyses a frame already scaled to working resolution (see `workingSize`); with `nearby` (the
    /// next frame of the clip, or the previous one for the last, at the same working size) each region
    /// also gets its motion.
    public func prepare(_ working: RGBImage, nearby: RGBImage? = nil) -> PreparedFrame {
        let frame = PreparedFrame(image: working, regions: configuration.regions, compactness: configuration.compactness,
                                  iterations: configuration.slicIterations)
        return nearby.map { frame.withMotion(towards: $0) } ?? frame
    }

    /// Full pipeline on a frame of any size: downscale, analyse, segment, upsample to the frame size.
    public func segment(_ image: RGBImage, objects: [ObjectPrompt]) -> [Int: Mask] {
        segment(image, objects: objects, nearby: nil)
    }

    /// Full pipeline with motion: `nearby` (a frame a few frames away in the same clip, same size)
    /// lets the engine also separate the object from its surroundings by how they move.
    public func segment(_ image: RGBImage, objects: [ObjectPrompt], nearby: RGBImage?) -> [Int: Mask] {
        let ws = workingSize(width: image.width, height: image.height)
        let frame = prepare(image.downscaled(width: ws.width, height: ws.height),
                            nearby: nearby?.downscaled(width: ws.width, height: ws.height))
        let labels = segment(frame, objects: objects)
        return upsample(labels, to: image.width, image.height, guide: image, frame: frame).masks(including: objects.map(\.objectID))
    }

    /// Segments on a working-resolution frame and returns full-size masks; `guide` (the full-size frame,
    /// optional) makes the upsampled boundaries follow image edges.
    public func segment(working: RGBImage, fullWidth: Int, fullHeight: Int, guide: RGBImage?,
                        objects: [ObjectPrompt]) -> [Int: Mask] {
        let frame = prepare(working)
        let labels = segment(frame, objects: objects)
        return upsample(labels, to: fullWidth, fullHeight, guide: guide, frame: frame).masks(including: objects.map(\.objectID))
    }

    /// What the object `mask` holds on `frame` looks like (`ObjectAppearance`), read within
    /// `Configuration.appearanceReach` of its include `points` there (the whole mask when it has none).
    public func appearance(on frame: PreparedFrame, mask: Mask, points: [PointPrompt]) -> ObjectAppearance {
        let w = frame.width, h = frame.height
        let m = mask.width == w && mask.height == h ? mask : mask.resizedNearest(width: w, height: h)
        let includes = points.filter(\.positive)
        guard let fraction = configuration.appearanceReach, !includes.isEmpty else {
            return ObjectAppearance(frame: frame, mask: m)
        }
        let reach = Double(fraction) * Double(w * w + h * h).squareRoot()
        let discs = includes.map { q in
            let c = q.pixel(width: w, height: h)
            return (x: c.x, y: c.y, r2: Float(reach * reach))
        }
        return ObjectAppearance(frame: frame, mask: m.clipped(toDiscs: discs, inside: true))
    }

    /// Segments all objects on a prepared frame, at working resolution. At most 255 objects are
    /// segmented (the label map is one byte per pixel); further objects get no pixels.
    ///
    /// `appearance` gives, by object id, what the object looked like on another frame where it was
    /// marked (nil: nowhere else). It is asked only for an object that no prior mask holds on this frame
    /// (none given, or tracking lost it: no part of it near the clicks) and that has fewer include
    /// clicks here than `Configuration.appearanceClicks`, whose colours would otherwise come from those
    /// few clicks alone; they then start from its colours there as well (`appearanceWeight`; an
    /// appearance made by `appearance(on:mask:points:)` holds those near that frame's include clicks).
    public func segment(_ frame: PreparedFrame, objects allObjects: [ObjectPrompt],
                        appearance: (Int) -> ObjectAppearance? = { _ in nil }) -> SelectionLabels {
        let objects = Array(allObjects.prefix(255))
        let k = frame.spCount
        let ids = objects.map(\.objectID)
        var labels = [UInt8](repeating: 0, count: frame.width * frame.height)
        if k == 0 || objects.isEmpty {
            return SelectionLabels(width: frame.width, height: frame.height, labels: labels, objectIDs: ids)
        }
        // Click superpixels per object.
        var positives = [[Int]](), negatives = [[Int]](), priors = [ObjectPriorTerm?]()
        for o in objects {
            let (pos, neg, prior) = clickRegions(frame, object: o)
            positives.append(pos)
            negatives.append(neg)
            priors.append(prior)
        }
        var owner = [Int32](repeating: -1, count: k)
        var best = [Float](repeating: -.infinity, count: k)
        for (i, _) in objects.enumerated() where !positives[i].isEmpty {
            // Other objects' include clicks are exclude clicks for this one.
            var neg = negatives[i]
            for (j, other) in positives.enumerated() where j != i { neg += other }
            let result = BinarySegmentation(frame: frame, config: configuration, positives: positives[i],
                                            negatives: neg, prior: priors[i],
                                            appearance: priors[i] == nil && configuration.appearanceWeight > 0
                                                && configuration.appearanceShare(includeClicks: positives[i].count) > 0
                                                ? appearance(objects[i].objectID) : nil).best()
            for s in 0..<k where result.fg[s] {
                let score = result.margin[s]
                if score > best[s] { best[s] = score; owner[s] = Int32(i) }
            }
        }
        frame.labels.withUnsafeBufferPointer { lb in
            labels.withUnsafeMutableBufferPointer { out in
                for p in 0..<lb.count {
                    let o = owner[Int(lb[p])]
                    out[p] = o < 0 ? 0 : UInt8(o + 1)
                }
            }
        }
        let regional = SelectionLabels(width: frame.width, height: frame.height, labels: labels, objectIDs: ids)
        let result = configuration.refineBoundary ? refined(regional, on: frame.image, objects: objects) : regional
        return configuration.priorEditReach > 0 ? editedNearClicks(result, objects: objects, priors: priors) : result
    }

    /// `labels` with every object whose prior counted (`priors`) kept as that prior except in the parts
    /// where the two differ that come within `priorEditReach` of one of the object's own clicks.
    func editedNearClicks(_ labels: SelectionLabels, objects: [ObjectPrompt], priors: [ObjectPriorTerm?]) -> SelectionLabels {
        let w = labels.width, h = labels.height
        let reach = max(1, Int((configuration.priorEditReach * Double(w * w + h * h).squareRoot()).rounded()))
        var out = labels.labels
        for (i, object) in objects.enumerated() {
            guard let held = priors[i]?.held, held.width == w, held.height == h else { continue }
            let tag = UInt8(i + 1)
            let differs = zip(labels.labels, held.data).map { ($0 == tag) != ($1 != 0) ? UInt8(1) : 0 }
            let (part, areas) = connectedComponents(differs, width: w, height: h)
            var edited = [Bool](repeating: false, count: areas.count)
            for point in object.points {
                let c = point.pixel(width: w, height: h)
                for y in max(0, c.y - reach)...min(h - 1, c.y + reach) {
                    for x in max(0, c.x - reach)...min(w - 1, c.x + reach) where part[y * w + x] >= 0 {
                        edited[Int(part[y * w + x])] = true
                    }
                }
            }
            for p in 0..<out.count where part[p] >= 0 && !edited[Int(part[p])] {
                if held.data[p] != 0 { if out[p] == 0 { out[p] = tag } } else if out[p] == tag { out[p] = 0 }
            }
            let excludes = object.points.filter { !$0.positive }
            if configuration.excludeDepthReach > 0, !excludes.isEmpty, let tracked = priors[i]?.tracked {
                // An exclude click takes out of the tracked mask only what lies no deeper inside it than
                // `excludeDepthReach` times the click's own depth: a click on a thin leak along the edge
                // trims the leak, not the object behind it. A click deep inside it still rejects it whole.
                let d = priors[i]?.excludeDepths ?? depths(of: tracked, at: excludes)
                if !d.rejecting {
                    let limit = max(4, configuration.excludeDepthReach * configuration.excludeDepthReach * d.deepestPoint)
                    for p in 0..<out.count where tracked.data[p] != 0 && out[p] == 0 && d.depth[p] > limit { out[p] = tag }
                }
            }
        }
        return SelectionLabels(width: w, height: h, labels: out, objectIDs: labels.objectIDs)
    }

    /// `labels` with each object's boundary taken from the superpixels' to the pixels' own edges by the
    /// tracker's band graph cut (`MaskTracker.refine`). An object keeps its superpixel mask when its
    /// refinement would drop one of its include clicks, and when it has exclude clicks at all: they carve
    /// along superpixel boundaries, often between parts of one colour, and the pixel cut, which knows
    /// colour and the mask's shape but not the clicks, would take part of the carved-out region back.
    func refined(_ labels: SelectionLabels, on image: RGBImage, objects: [ObjectPrompt]) -> SelectionLabels {
        let includeOnly = objects.map { $0.points.allSatisfy(\.positive) }
        guard includeOnly.contains(true) else { return labels }  // nothing would take the cut
        var cutConfiguration = MaskTracker.Configuration()
        cutConfiguration.bandFraction = configuration.refineBandFraction
        cutConfiguration.localColourSpacing = configuration.refineLocalColourSpacing
        let cut = MaskTracker(configuration: cutConfiguration).refine(image, labels: labels)
        var out = cut.labels
        for (i, object) in objects.enumerated() {
            let tag = UInt8(i + 1)
            let keepsItsClicks = includeOnly[i] && object.points.allSatisfy { point in
                let p = point.pixel(width: image.width, height: image.height)
                return cut.labels[p.y * image.width + p.x] == tag || labels.labels[p.y * image.width + p.x] != tag
            }
            if keepsItsClicks { continue }
            for p in 0..<out.count {
                if labels.labels[p] == tag { out[p] = tag } else if out[p] == tag { out[p] = 0 }
            }
        }
        return SelectionLabels(width: labels.width, height: labels.height, labels: out, objectIDs: labels.objectIDs)
    }

    /// The superpixels of an object's include and exclude clicks. A prior mask adds the
    /// `priorPoints` points deepest inside it (and farthest from each other) as include clicks, so the
    /// object is found from where it was believed to be and the person's clicks correct it. Only the
    /// parts of the prior within `priorReach` of an include click count, or, when none is, the parts that
    /// the clicks' own segmentation reaches (`priorTouch`: the click is on a part tracking missed). A
    /// click whose own segmentation stays clear of the prior says the prior lost the object. Once part
    /// of the prior counts, the whole prior also enters the cut as a data term (`priorWeight`), so the
    /// clicks edit what was tracked rather than start afresh from the points. Exclude
    /// clicks alone take what they point at out of the prior (`sparing(_:whatIsPointedAtBy:on:)`). An
    /// exclude click on the same region as an include click wins (the latest intent is to exclude).
    func clickRegions(_ frame: PreparedFrame, object: ObjectPrompt)
        -> (positive: [Int], negative: [Int], prior: ObjectPriorTerm?) {
        var points = object.points
        var term: ObjectPriorTerm?
        if let prior = object.prior, configuration.priorPoints > 0 {
            let m = prior.width == frame.width && prior.height == frame.height
                ? prior : prior.resizedNearest(width: frame.width, height: frame.height)
            let include = points.filter(\.positive)
            let own = regions(frame, of: points)
            let excludes = object.points.filter { !$0.positive }
            // The exclude clicks' depths inside the prior, measured once for `sparing`, the interior
            // points and the depth limit of `editedNearClicks`.
            let claims = configuration.excludeClaimsInterior > 0 && !excludes.isEmpty && !include.isEmpty
            let excludeDepths = claims || (configuration.excludeDepthReach > 0 && !excludes.isEmpty)
                ? depths(of: m, at: excludes) : nil
            var near = m.components(near: include, within: configuration.priorReach)
            if include.isEmpty && configuration.priorLessExcluded {
                near = sparing(m, whatIsPointedAtBy: excludes, on: frame, depths: excludeDepths)
            } else if near.isEmpty && configuration.priorTouch {
                // Far from every part of the prior, the clicks may still be on the same object (a part
                // that tracking missed): the prior's parts that what the clicks alone select reaches count.
                if !own.positive.isEmpty {
                    let alone = BinarySegmentation(frame: frame, config: configuration, positives: own.positive,
                                                   negatives: own.negative).best().fg
                    let reached = frame.withNeighbours(alone)
                    near = m.components { reached[Int(frame.labels[$0])] }
                }
            }
            let interior = (claims ? outsideExcludeReach(near, of: excludes, depth: excludeDepths!.depth) : near)
                .interiorClicks(count: configuration.priorPoints)
            points += interior
            if configuration.priorWeight > 0 && near.area > 0 {
                // Exclude clicks among include clicks: what they point at leaves the prior the term holds.
                // (Alone on the frame they already chose the points; the term then holds the whole prior,
                // faded around them: `sparing` takes whole regions, and holding them out as well lost.)
                let kept = configuration.excludeSparesIncluded ? own.positive + regions(frame, of: interior).positive : []
                let held = excludes.isEmpty || include.isEmpty
                    ? m : sparing(m, whatIsPointedAtBy: excludes, on: frame, keeping: kept, depths: excludeDepths)
                term = ObjectPriorTerm(held: held, tracked: m, excludeDepths: excludeDepths, share: frame.share(of: held),
                                       positives: own.positive, negatives: own.negative)
            }
        }
        let r = regions(frame, of: points)
        return (r.positive, r.negative, term)
    }

    /// Exclude clicks alone on a frame where the preview tracked the object: the person says "not this"
    /// of what they saw, so the object is the tracked mask less what the exclude clicks point at — what
    /// they alone would select as an object — and its include clicks come from the rest.
    /// `depths`: the points' depths inside `prior` when already measured (see `depths(of:at:)`).
    func sparing(_ prior: Mask, whatIsPointedAtBy points: [PointPrompt], on frame: PreparedFrame,
                 keeping kept: [Int] = [], depths measured: ExcludeDepths? = nil) -> Mask {
        let pointedAt = regions(frame, of: points.map { PointPrompt(x: $0.x, y: $0.y) })
        guard !pointedAt.positive.isEmpty else { return prior }
        let selected = BinarySegmentation(frame: frame, config: configuration, positives: pointedAt.positive,
                                          negatives: kept.filter { !pointedAt.positive.contains($0) }).best().fg
        func less(_ regions: [Bool]) -> Mask {
            var rest = prior.data
            frame.labels.withUnsafeBufferPointer { lb in
                for p in 0..<rest.count where regions[Int(lb[p])] { rest[p] = 0 }
            }
            return Mask(trusted: prior.width, prior.height, rest)
        }
        let rest = less(selected)
        if Double(rest.area) >= configuration.excludedShareKept * Double(prior.area) { return rest }
        // What they select takes most of the prior. A click deep inside it rejects what was tracked as a
        // whole (tracking lost the object to something else). A click on an outer part trims a leak that
        // shares the object's colours: only the regions clicked and their neighbours go, and the cut
        // between the rest's clicks and the exclude clicks decides.
        if (measured ?? depths(of: prior, at: points)).rejecting { return rest }
        var clicked = [Bool](repeating: false, count: frame.spCount)
        for r in pointedAt.positive { clicked[r] = true }
        return less(frame.withNeighbours(clicked))
    }

    /// `mask` less the discs around `excludes` whose radius is `excludeClaimsInterior` times each
    /// click's depth inside the prior (`depth`: every pixel's squared depth there, see `depths`): the part
    /// each exclude click is on, where the prior's interior points must not be taken from.
    func outsideExcludeReach(_ mask: Mask, of excludes: [PointPrompt], depth: [Float]) -> Mask {
        let k = configuration.excludeClaimsInterior
        let w = mask.width, h = mask.height
        let discs = excludes.map { e in
            let c = e.pixel(width: w, height: h)
            return (x: c.x, y: c.y, r2: k * k * depth[c.y * w + c.x])
        }
        return mask.clipped(toDiscs: discs, inside: false)
    }

    /// Every pixel's squared depth inside `mask` (distance from its edge), the squared depth of the
    /// deepest of `points`, and whether that point lies at least `rejectingDepth` of the mask's greatest
    /// depth inside it: an exclude click there rejects what was tracked as a whole.
    func depths(of mask: Mask, at points: [PointPrompt]) -> ExcludeDepths {
        let depth = DistanceTransform.squared(width: mask.width, height: mask.height, isSource: mask.data.map { $0 == 0 })
        var deepestPoint: Float = 0
        for point in points {
            let p = point.pixel(width: mask.width, height: mask.height)
            deepestPoint = max(deepestPoint, depth[p.y * mask.width + p.x])
        }
        let rejecting = !points.isEmpty
            && deepestPoint >= configuration.rejectingDepth * configuration.rejectingDepth * (depth.max() ?? 0)
        return (depth, deepestPoint, rejecting)
    }

    /// The superpixels of include and exclude `points`; an exclude click on the same region as an include
    /// click wins.
    func regions(_ frame: PreparedFrame, of points: [PointPrompt]) -> (positive: [Int], negative: [Int]) {
        var pos = [Int](), neg = [Int]()
        for p in points {
            let px = p.pixel(width: frame.width, height: frame.height)
            let r = frame.region(x: px.x, y: px.y)
            if p.positive { pos.append(r) } else { neg.append(r) }
        }
        pos.removeAll { neg.contains($0) }
        return (pos, neg)
    }

    /// Diagnostic: every hypothesis the engine considers for `object` (one per radius), best score first,
    /// as working-resolution masks with their boundary scores.
    public func candidates(_ frame: PreparedFrame, object: ObjectPrompt) -> [(score: Double, mask: Mask)] {
        let (pos, neg, prior) = clickRegions(frame, object: object)
        if pos.isEmpty { return [] }
        return BinarySegmentation(frame: frame, config: configuration, positives: pos, negatives: neg, prior: prior)
            .candidates().map { r in
            var d = [UInt8](repeating: 0, count: frame.width * frame.height)
            for p in 0..<d.count where r.fg[Int(frame.labels[p])] { d[p] = 1 }
            return (Double(r.score), Mask(trusted: frame.width, frame.height, d))
        }
    }

    /// Diagnostic: the best labelling the superpixels allow (each region takes the majority of `truth`,
    /// a working-resolution mask).
    public func regionOracle(_ frame: PreparedFrame, truth: Mask) -> SelectionLabels {
        let share = frame.share(of: truth)
        let l = frame.labels.map { share[Int($0)] > 0.5 ? UInt8(1) : 0 }
        return SelectionLabels(width: frame.width, height: frame.height, labels: l, objectIDs: [0])
    }

    /// Upsamples working-resolution labels to `width` × `height`. With a `guide` (the full-size frame)
    /// pixels near a boundary pick the label whose nearby working pixels look most like them
    /// (joint-bilateral upsampling); without one the boundary is interpolated smoothly.
    public func upsample(_ labels: SelectionLabels, to width: Int, _ height: Int, guide: RGBImage?,
                         frame: PreparedFrame? = nil) -> SelectionLabels {
        Upsampler.upsample(labels, to: width, height, guide: guide, working: frame?.image,
                           sigma: configuration.upsampleSigma)
    }
}

/// Upsamples a working-resolution `mask` to `size` (`width`, `height`), following the edges of
/// `guide` (the full-size frame) when given.
public func upsample(mask: Mask, to size: (width: Int, height: Int), guide: RGBImage?) -> Mask {
    let l = SelectionLabels(width: mask.width, height: mask.height, labels: mask.data, objectIDs: [0])
    let up = Upsampler.upsample(l, to: size.width, size.height, guide: guide, working: nil, sigma: 18)
    return up.masks()[0] ?? Mask(width: size.width, height: size.height)
}

/// What an object's prior mask (`ObjectPrompt.prior`) adds to its graph cut when it counts: the share
/// of each region it covers, and the regions of the person's own include and exclude clicks (the prior's
/// interior points excluded), near which its term fades.
/// Every pixel's squared depth inside a mask, the squared depth of the deepest of some exclude clicks,
/// and whether they reject the mask as a whole (see `ClassicalSegmentationEngine.depths(of:at:)`).
typealias ExcludeDepths = (depth: [Float], deepestPoint: Float, rejecting: Bool)

struct ObjectPriorTerm {
    /// The prior mask the term holds, at working resolution.
    var held: Mask
    /// The prior mask as given (before exclude clicks took parts out of what is held).
    var tracked: Mask
    /// The exclude clicks' depths inside `tracked` (see `ClassicalSegmentationEngine.depths`), when
    /// measured.
    var excludeDepths: ExcludeDepths?
    var share: [Float]
    var positives: [Int]
    var negatives: [Int]
}

/// One object vs. the rest on the superpixel graph.
struct BinarySegmentation {
    let frame: PreparedFrame
    let config: ClassicalSegmentationEngine.Configuration
    let positives: [Int]
    let negatives: [Int]
    /// The mask believed before the clicks (see `ObjectPriorTerm`), when it counts.
    var prior: ObjectPriorTerm? = nil
    /// The object as marked on another frame, whose colours join the object's model.
    var appearance: ObjectAppearance? = nil

    struct Result {
        var fg: [Bool]
        /// Mean pixel contrast across the segment's boundary (higher = follows stronger edges).
        var score: Float = 0
        /// Per-pixel preference for foreground (bg cost − fg cost, per pixel) of each superpixel.
        var margin: [Float]
    }

    /// A `multiClick…` setting when the object has several include clicks (and the setting is given),
    /// else the one-click one.
    func severalClicks<T>(_ setting: T?, else one: T) -> T {
        positives.count > 1 ? setting ?? one : one
    }

    /// Multi-source Dijkstra on the superpixel graph. `blocked` regions are never entered.
    func geodesic(from seeds: [(Int, Float)], blocked: [Bool]?) -> (dist: [Float], parent: [Int32], root: [Int32]) {
        let k = frame.spCount
        var dist = [Float](repeating: .infinity, count: k)
        var parent = [Int32](repeating: -1, count: k)
        var root = [Int32](repeating: -1, count: k)
        var heap = Heap()
        for (i, (s, d0)) in seeds.enumerated() where d0 < dist[s] {
            dist[s] = d0
            root[s] = Int32(i)
            heap.push(d0, Int32(s))
        }
        while let (d, u32) = heap.pop() {
            let u = Int(u32)
            if d > dist[u] { continue }
            for e in Int(frame.adjStart[u])..<Int(frame.adjStart[u + 1]) {
                let v = Int(frame.adjNode[e])
                if let blocked, blocked[v] { continue }
                var len = config.geoColour * frame.colourDistance(u, v) + config.geoContrast * frame.adjContrast[e]
                    + config.geoTexture * abs(frame.spTexture[u] - frame.spTexture[v]) + config.geoStep
                if config.geoMotion > 0 && !frame.spMotion.isEmpty {
                    let du = frame.spMotion[2 * u] - frame.spMotion[2 * v], dv = frame.spMotion[2 * u + 1] - frame.spMotion[2 * v + 1]
                    len += config.geoMotion * (du * du + dv * dv).squareRoot()
                }
                let nd = d + len
                if nd < dist[v] {
                    dist[v] = nd
                    parent[v] = Int32(u)
                    root[v] = root[u]
                    heap.push(nd, Int32(v))
                }
            }
        }
        return (dist, parent, root)
    }

    /// All hypotheses (one per radius in `config.radii`), best score first.
    func candidates() -> [Result] {
        let r0 = severalClicks(config.multiClickRadii, else: config.radii)
        let radii = r0.isEmpty ? [config.radius] : r0
        // Wider colour cores only help a lone click (it may sit on a small part of the object).
        let cores = config.coreDistances.isEmpty || positives.count > 1 ? [config.coreDistance] : config.coreDistances
        var base = shared()
        // With several clicks, hypotheses with pooled and with local (per-click) colour models compete.
        let mixes: [Float] = positives.count > 1 && config.localColour > 0 ? [0, config.localColour] : [0]
        var out: [Result] = []
        for m in mixes {
            base.mix = m
            for c in cores {
                base.setCore(distance: c, segmentation: self)
                for r in radii { out.append(run(radiusFraction: r, shared: base)) }
            }
        }
        return out.sorted { $0.score > $1.score }
    }

    /// The hypothesis with the best boundary score.
    func best() -> Result { candidates()[0] }

    /// Mean contrast across the boundary of `fg` (pixel pairs straddling it).
    func boundaryScore(_ fg: [Bool]) -> Float {
        var c: Float = 0, l: Float = 0
        for s in 0..<frame.spCount where fg[s] {
            for e in Int(frame.adjStart[s])..<Int(frame.adjStart[s + 1]) where !fg[Int(frame.adjNode[e])] {
                c += frame.adjContrast[e] * frame.adjLength[e]
                l += frame.adjLength[e]
            }
        }
        guard l > 0 else { return 0 }
        var area: Float = 0
        for s in 0..<frame.spCount where fg[s] { area += frame.spSize[s] }
        let frac = area / Float(max(1, frame.width * frame.height))
        return c / l * powf(max(frac, 1e-6), config.sizeBias)
    }

    /// What every hypothesis of one object shares.
    struct Shared {
        var isPos: [Bool]
        var isNeg: [Bool]
        var parent: [Int32]
        var pgeo: [Float]
        var clickDistance: [Float]
        var diag: Float
        var spread: Float
        var core: [Bool]
        var coreLL: [Float]
        var fgDistance: [Float]
        var coreRadius: Float
        /// Index of the include click geodesically nearest to each region (-1: unreachable).
        var group: [Int32]
        var groups: Int
        /// Weight of the local (per-click) colour models in this hypothesis.
        var mix: Float = 0
        /// Per-pixel cost of each region as object and as background from the prior's term (empty: none).
        var priorFG: [Float] = []
        var priorBG: [Float] = []

        /// Re-seeds the first colour model with the regions within `distance` of an include click.
        mutating func setCore(distance: Float, segmentation: BinarySegmentation) {
            let maxReach = coreRadius * diag
            for s in 0..<core.count {
                core[s] = isPos[s] || (!isNeg[s] && fgDistance[s] < distance && clickDistance[s] < maxReach)
            }
            coreLL = segmentation.colourLogLikelihoods(fg: core, group: group, groups: groups, mix: mix)
        }
    }

    func shared() -> Shared {
        let k = frame.spCount
        var isPos = [Bool](repeating: false, count: k)
        var isNeg = [Bool](repeating: false, count: k)
        for p in positives { isPos[p] = true }
        for n in negatives { isNeg[n] = true }

        // Geodesic distances: from include clicks (never through exclude regions), and from exclude
        // clicks plus the image border.
        let fgGeo = geodesic(from: positives.map { ($0, 0) }, blocked: isNeg)
        var bgSeeds = negatives.map { ($0, Float(0)) }
        let borderOffset = severalClicks(config.multiClickBorderOffset, else: config.borderOffset)
        for s in 0..<k where frame.spBorder[s] > 0 && !isPos[s] { bgSeeds.append((s, borderOffset)) }
        let bgGeo = geodesic(from: bgSeeds, blocked: isPos)
        var pgeo = [Float](repeating: 0.5, count: k)
        for s in 0..<k {
            let a = fgGeo.dist[s], b = bgGeo.dist[s]
            if !a.isFinite { pgeo[s] = 0.02 } else if !b.isFinite { pgeo[s] = 0.98 } else {
                pgeo[s] = min(0.98, max(0.02, b / (a + b + 1e-3)))
            }
        }
        let diag = Float((Double(frame.width * frame.width + frame.height * frame.height)).squareRoot())
        let clickXY = positives.map { (frame.spX[$0], frame.spY[$0]) }
        var spread: Float = 0
        if !clickXY.isEmpty {
            let mx = clickXY.map(\.0).reduce(0, +) / Float(clickXY.count)
            let my = clickXY.map(\.1).reduce(0, +) / Float(clickXY.count)
            for (x, y) in clickXY { spread = max(spread, ((x - mx) * (x - mx) + (y - my) * (y - my)).squareRoot()) }
        }
        var clickDistance = [Float](repeating: 0, count: k)
        let hull = config.hullPrior && clickXY.count > 1 ? convexHull(clickXY) : []
        for s in 0..<k {
            if hull.count > 1 {
                clickDistance[s] = distanceToPolygon(frame.spX[s], frame.spY[s], hull)
                continue
            }
            var d2 = Float.infinity
            for (x, y) in clickXY { d2 = min(d2, (frame.spX[s] - x) * (frame.spX[s] - x) + (frame.spY[s] - y) * (frame.spY[s] - y)) }
            clickDistance[s] = d2.squareRoot()
        }
        // Exclude clicks carve out their own core: regions geodesically closer to an exclude click than
        // to any include click, within the core distance, are held in the background.
        if !negatives.isEmpty {
            let negGeo = geodesic(from: negatives.map { ($0, 0) }, blocked: isPos)
            for s in 0..<k where negGeo.dist[s] < config.coreDistance && negGeo.dist[s] < fgGeo.dist[s] {
                isNeg[s] = true
            }
        }
        // Local colour models: each region is scored with the model of its geodesically nearest click.
        let groupCount = config.localColour > 0 ? positives.count : 1
        let groupOf = groupCount > 1 ? fgGeo.root : [Int32](repeating: 0, count: k)
        // The confident core (geodesically close to an include click) seeds the first colour model.
        var core = [Bool](repeating: false, count: k)
        let maxReach = config.coreRadius * diag
        for s in 0..<k {
            core[s] = isPos[s] || (!isNeg[s] && fgGeo.dist[s] < config.coreDistance && clickDistance[s] < maxReach)
        }
        var sh = Shared(isPos: isPos, isNeg: isNeg, parent: fgGeo.parent, pgeo: pgeo, clickDistance: clickDistance,
                        diag: diag, spread: spread, core: core,
                        coreLL: colourLogLikelihoods(fg: core, group: groupOf, groups: groupCount, mix: 0),
                        fgDistance: fgGeo.dist, coreRadius: config.coreRadius, group: groupOf, groups: groupCount)
        if let prior, config.priorWeight > 0 { addPriorTerm(prior, to: &sh) }
        return sh
    }

    /// The prior's data term: a region costs the prior's weight times the share of it the prior leaves
    /// out as object, and times the share it covers as background. Each cost fades to nothing towards
    /// the person's clicks that contradict it (geodesically), so a click on a part tracking missed adds
    /// that part and an exclude click takes one out, while the rest of the prior holds.
    func addPriorTerm(_ prior: ObjectPriorTerm, to sh: inout Shared) {
        let k = frame.spCount
        let w = config.priorWeight, reach = max(config.priorFade, 1e-3)
        let nearInclude = prior.positives.isEmpty ? nil : geodesic(from: prior.positives.map { ($0, 0) }, blocked: sh.isNeg).dist
        let nearExclude = prior.negatives.isEmpty ? nil : geodesic(from: prior.negatives.map { ($0, 0) }, blocked: sh.isPos).dist
        sh.priorFG = [Float](repeating: 0, count: k)
        sh.priorBG = [Float](repeating: 0, count: k)
        for s in 0..<k {
            let q = prior.share[s]
            sh.priorFG[s] = w * (1 - q) * (nearInclude.map { min(1, $0[s] / reach) } ?? 1)
            sh.priorBG[s] = w * q * (nearExclude.map { min(1, $0[s] / reach) } ?? 1)
            if q >= 0.5 { sh.clickDistance[s] = 0 }
        }
    }

    func run(radiusFraction: Double) -> Result { run(radiusFraction: radiusFraction, shared: shared()) }

    func run(radiusFraction: Double, shared sh: Shared) -> Result {
        let k = frame.spCount
        // Spatial prior: foreground far from every include click costs extra.
        let radius = max(1, Float(radiusFraction) * sh.diag + Float(config.spreadWeight) * sh.spread)
        var spatial = [Float](repeating: 0, count: k)
        let distW = Float(severalClicks(config.multiClickDistanceWeight, else: config.distanceWeight))
        for s in 0..<k {
            let r = sh.clickDistance[s] / radius
            spatial[s] = r > 1 ? distW * (r - 1) * (r - 1) : 0
        }
        var fg = sh.core
        var margin = [Float](repeating: 0, count: k)
        let big = 1e9
        let eta = Float(config.geodesicWeight)
        let lambda = severalClicks(config.multiClickSmoothness, else: config.smoothness)
        for round in 0..<max(1, config.rounds) {
            let fgLL = round == 0 ? sh.coreLL : colourLogLikelihoods(fg: fg, group: sh.group, groups: sh.groups, mix: sh.mix)
            var graph = MaxFlow(nodes: k)
            for s in 0..<k {
                let n = frame.spSize[s]
                var cf = -fgLL[s] - eta * n * logf(sh.pgeo[s]) + n * spatial[s]
                var cb = -eta * n * logf(1 - sh.pgeo[s])
                if !sh.priorFG.isEmpty { cf += n * sh.priorFG[s]; cb += n * sh.priorBG[s] }
                margin[s] = (cb - cf) / max(n, 1)
                if sh.isPos[s] { cf = 0; cb = Float(big) }
                if sh.isNeg[s] { cf = Float(big); cb = 0 }
                graph.addTerminal(s, costFG: Double(cf), costBG: Double(cb))
            }
            for s in 0..<k {
                for e in Int(frame.adjStart[s])..<Int(frame.adjStart[s + 1]) {
                    let t = Int(frame.adjNode[e])
                    if t > s {
                        let wgt = lambda * Double(frame.adjWeight[e])
                        graph.addEdge(s, t, wgt, wgt)
                    }
                }
                // Star convexity: s in foreground forces its geodesic parent into foreground.
                let par = Int(sh.parent[s])
                if par >= 0 && config.starConvexity { graph.addEdge(s, par, big, 0) }
            }
            graph.run()
            var changed = false
            for s in 0..<k {
                let v = graph.sourceSide(s)
                if v != fg[s] { changed = true; fg[s] = v }
            }
            if !changed { break }
        }
        fillHoles(&fg, isNeg: sh.isNeg)
        return Result(fg: fg, score: boundaryScore(fg), margin: margin)
    }

    /// Sum over each superpixel's pixels of the clamped log-likelihood ratio log P(colour | fg) / P(colour | bg),
    /// with the models learned from the `fg` regions and from the rest.
    func colourLogLikelihoods(fg: [Bool], group: [Int32], groups: Int, mix: Float) -> [Float] {
        let k = frame.spCount
        let g = mix > 0 ? max(1, groups) : 1
        // Group 0 … g-1: the fg regions nearest each click; slot g: all fg regions (the pooled model).
        var hfs = [[Float]](repeating: [Float](repeating: 0, count: colourBinCount), count: g == 1 ? 1 : g + 1)
        var hb = [Float](repeating: 0, count: colourBinCount)
        var nfs = [Float](repeating: 0, count: hfs.count)
        var nbk: Float = 0
        let borderBoost = config.borderWeight
        for s in 0..<k {
            let lo = Int(frame.histStart[s]), hi = Int(frame.histStart[s + 1])
            if fg[s] {
                let gi = g == 1 ? 0 : min(g - 1, max(0, Int(group[s])))
                for i in lo..<hi { hfs[gi][Int(frame.histBin[i])] += frame.histCount[i] }
                nfs[gi] += frame.spSize[s]
                if g > 1 {
                    for i in lo..<hi { hfs[g][Int(frame.histBin[i])] += frame.histCount[i] }
                    nfs[g] += frame.spSize[s]
                }
            } else {
                // Regions on the image border weigh more: background usually reaches the frame edge.
                let wgt: Float = frame.spBorder[s] > 0 ? borderBoost : 1
                for i in lo..<hi { hb[Int(frame.histBin[i])] += wgt * frame.histCount[i] }
                nbk += wgt * frame.spSize[s]
            }
        }
        if let appearance {
            let w = config.appearanceWeight * config.appearanceShare(includeClicks: positives.count)
            appearance.add(to: &hfs[hfs.count - 1], weight: w)
            nfs[nfs.count - 1] += w * appearance.area
        }
        hb = blur3(hb)
        var lbk = [Float](repeating: 0, count: colourBinCount)
        let eb = max(nbk, 1) * config.histFloor
        let zb = logf(max(nbk, 1) + eb * Float(colourBinCount))
        for b in 0..<colourBinCount { lbk[b] = logf(hb[b] + eb) - zb }
        // Log probabilities with a floor that makes unseen colours mildly unlikely. With several clicks
        // a region's colours are judged by a blend of its nearest click's model and the pooled one.
        var lfs: [[Float]] = []
        let pooled = hfs.count - 1
        let hp = blur3(hfs[pooled])
        for gi in 0..<(g == 1 ? 1 : g) {
            let hf = g == 1 ? hp : blur3(hfs[gi])
            let nf = nfs[gi], np = nfs[pooled]
            var lf = [Float](repeating: 0, count: colourBinCount)
            let ef = max(nf, 1) * config.histFloor, ep = max(np, 1) * config.histFloor
            let zf = max(nf, 1) + ef * Float(colourBinCount), zp = max(np, 1) + ep * Float(colourBinCount)
            for b in 0..<colourBinCount {
                let pl = (hf[b] + ef) / zf, pp = (hp[b] + ep) / zp
                lf[b] = logf(g == 1 ? pp : mix * pl + (1 - mix) * pp)
            }
            lfs.append(lf)
        }
        var outF = [Float](repeating: 0, count: k)
        let clamp = config.llrClamp
        let clampNeg = severalClicks(config.multiClickClampBackground, else: config.llrClampBackground)
        for s in 0..<k {
            let gi = lfs.count == 1 ? 0 : min(lfs.count - 1, max(0, Int(group[s])))
            var a: Float = 0
            lfs[gi].withUnsafeBufferPointer { lf in
                for i in Int(frame.histStart[s])..<Int(frame.histStart[s + 1]) {
                    let b = Int(frame.histBin[i])
                    let n = frame.histCount[i]
                    // Clamp each pixel's log-likelihood ratio so single colours cannot dominate.
                    let lr = min(clamp, max(-clampNeg, lf[b] - lbk[b]))
                    a += n * lr
                }
            }
            outF[s] = a
        }
        if !frame.spMotion.isEmpty && config.motionWeight > 0 { addMotion(&outF, fg: fg) }
        return outF
    }

    /// Adds each region's motion log-likelihood ratio (histograms of the regions' mean displacement,
    /// learned from the `fg` regions and from the rest) to `ll`, weighted by `config.motionWeight`.
    func addMotion(_ ll: inout [Float], fg: [Bool]) {
        var model = MotionModel(bin: config.motionBin)
        for s in 0..<frame.spCount {
            model.add(frame.spMotion[2 * s], frame.spMotion[2 * s + 1], weight: frame.spSize[s], object: fg[s])
        }
        guard let ratio = model.logRatios(clamp: config.motionClamp) else { return }
        for s in 0..<frame.spCount {
            ll[s] += config.motionWeight * frame.spSize[s] * ratio[model.index(frame.spMotion[2 * s], frame.spMotion[2 * s + 1])]
        }
        if config.independentMotion > 0 { addIndependentMotion(&ll, fg: fg) }
    }

    /// Adds the independent-motion cue to `ll`. The camera's motion is an affine field fitted to the
    /// mean motion of the regions outside `fg` (weighted least squares, twice re-weighted with Huber
    /// weights at 1 working pixel so other moving things count less); a region's residual is its
    /// distance from that field. The cue is used when the background follows the field (median
    /// residual ≤ `independentMotionMaxNoise`) and the object's regions clearly do not (median above
    /// 0.5 px and twice the background's). With h the smaller of the object's median and twice the
    /// noise floor max(0.5, 3 × the background's median), a region with residual r adds
    /// `independentMotion` × clamp((r − 0.75 h) / 0.25 h, −1, 1) per pixel: still against the camera
    /// (r ≤ h / 2) leans to the background, moving like the object or more (r ≥ h) to it. The motion
    /// histograms cannot say this: a part of the object that moves differently from the clicked part
    /// (a dancer's legs) has a motion neither histogram has seen.
    func addIndependentMotion(_ ll: inout [Float], fg: [Bool]) {
        let k = frame.spCount
        guard k > 0, frame.spMotion.count == 2 * k else { return }
        let u = (0..<k).map { frame.spMotion[2 * $0] }, v = (0..<k).map { frame.spMotion[2 * $0 + 1] }
        guard let (camera, residual) = IndependentMotion.fitCamera(
            x: frame.spX, y: frame.spY, u: u, v: v, weights: (0..<k).map { fg[$0] ? 0 : frame.spSize[$0] },
            width: frame.width, height: frame.height) else { return }
        // Area-weighted median residual of the regions inside (or outside) `fg`.
        func median(inside: Bool) -> Float? {
            var items: [(r: Float, n: Float)] = []
            for s in 0..<k where fg[s] == inside { items.append((residual[s], frame.spSize[s])) }
            guard !items.isEmpty else { return nil }
            items.sort { $0.r < $1.r }
            let half = items.reduce(0) { $0 + $1.n } / 2
            var acc: Float = 0
            for item in items {
                acc += item.n
                if acc >= half { return item.r }
            }
            return items[items.count - 1].r
        }
        guard let object = median(inside: true), let background = median(inside: false),
              let cue = IndependentMotion(camera: camera, object: object, background: background,
                                          maxNoise: config.independentMotionMaxNoise,
                                          width: frame.width, height: frame.height) else { return }
        for s in 0..<k { ll[s] += config.independentMotion * frame.spSize[s] * cue.evidence(residual[s]) }
    }

    /// Separable [1 2 1] blur of a colour histogram.
    func blur3(_ h: [Float]) -> [Float] { blurredHistogram(h, side: colourBinsPerAxis, dimensions: 3) }

    /// Background components enclosed by the object (not touching the border or an exclude click) and
    /// smaller than `holeFill` × object size become foreground.
    func fillHoles(_ fg: inout [Bool], isNeg: [Bool]) {
        let k = frame.spCount
        var objectSize: Float = 0
        for s in 0..<k where fg[s] { objectSize += frame.spSize[s] }
        let limit = Float(config.holeFill) * objectSize
        var seen = [Bool](repeating: false, count: k)
        var stack = [Int](), comp = [Int]()
        for s0 in 0..<k where !fg[s0] && !seen[s0] {
            comp.removeAll(keepingCapacity: true)
            stack = [s0]
            seen[s0] = true
            var open = false
            var size: Float = 0
            while let u = stack.popLast() {
                comp.append(u)
                size += frame.spSize[u]
                if frame.spBorder[u] > 0 || isNeg[u] { open = true }
                for e in Int(frame.adjStart[u])..<Int(frame.adjStart[u + 1]) {
                    let v = Int(frame.adjNode[e])
                    if !fg[v] && !seen[v] { seen[v] = true; stack.append(v) }
                }
            }
            if !open && size <= limit { for u in comp { fg[u] = true } }
        }
    }
}

/// Convex hull (counter-clockwise, monotone chain) of `points`; collinear and duplicate points dropped.
func convexHull(_ points: [(Float, Float)]) -> [(Float, Float)] {
    let p = points.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
    if p.count < 3 { return p }
    func cross(_ o: (Float, Float), _ a: (Float, Float), _ b: (Float, Float)) -> Float {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    }
    var lower: [(Float, Float)] = [], upper: [(Float, Float)] = []
    for q in p {
        while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], q) <= 0 { lower.removeLast() }
        lower.append(q)
    }
    for q in p.reversed() {
        while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], q) <= 0 { upper.removeLast() }
        upper.append(q)
    }
    return Array(lower.dropLast() + upper.dropLast())
}

/// Distance from (`x`, `y`) to a convex polygon given counter-clockwise (0 inside); two points: a segment.
func distanceToPolygon(_ x: Float, _ y: Float, _ poly: [(Float, Float)]) -> Float {
    let n = poly.count
    var inside = n >= 3
    var best = Float.infinity
    for i in 0..<n {
        let a = poly[i], b = poly[(i + 1) % n]
        let ex = b.0 - a.0, ey = b.1 - a.1
        if ex * (y - a.1) - ey * (x - a.0) < 0 { inside = false }
        let l2 = ex * ex + ey * ey
        let t = l2 > 0 ? min(1, max(0, ((x - a.0) * ex + (y - a.1) * ey) / l2)) : 0
        let dx = x - (a.0 + t * ex), dy = y - (a.1 + t * ey)
        best = min(best, dx * dx + dy * dy)
    }
    return inside ? 0 : best.squareRoot()
}

/// A binary min-heap of (key, value).
struct Heap {
    private var keys: [Float] = []
    private var vals: [Int32] = []

    mutating func push(_ k: Float, _ v: Int32) {
        keys.append(k); vals.append(v)
        var i = keys.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if keys[p] <= keys[i] { break }
            keys.swapAt(p, i); vals.swapAt(p, i)
            i = p
        }
    }

    mutating func pop() -> (Float, Int32)? {
        guard let k0 = keys.first else { return nil }
        let v0 = vals[0]
        let lk = keys.removeLast(), lv = vals.removeLast()
        if !keys.isEmpty {
            keys[0] = lk; vals[0] = lv
            var i = 0
            let n = keys.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && keys[l] < keys[m] { m = l }
                if r < n && keys[r] < keys[m] { m = r }
                if m == i { break }
                keys.swapAt(m, i); vals.swapAt(m, i)
                i = m
            }
        }
        return (k0, v0)
    }
}
