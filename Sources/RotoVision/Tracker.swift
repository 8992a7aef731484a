#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RotoThreads

/// Propagates label maps (see `SelectionLabels`) through a clip at working resolution: dense pyramidal
/// Lucas–Kanade flow between consecutive frames warps the previous labels, then a pixel graph cut in a
/// band around each object's warped boundary (colour models re-estimated from the previous frame, the
/// warped mask as a soft prior, contrast-sensitive smoothness) snaps the mask to the new frame so it does
/// not drift. `track` runs forwards and backwards from every anchor frame and blends the passes that
/// bracket a frame by temporal distance.
public struct MaskTracker: Sendable {
    /// Tuning knobs.
    public struct Configuration: Sendable, Equatable {
        /// Half-width of the band around the warped boundary that the graph cut may relabel, as a
        /// fraction of the long side (at least 4 px).
        public var bandFraction: Double = 0.025
        /// Weight of the colour log-likelihood ratio (clamped to ±`colourClamp`).
        public var colourWeight: Float = 1
        /// Clamp of the colour log-likelihood ratio.
        public var colourClamp: Float = 4
        /// Weight of the warped-mask prior.
        public var priorWeight: Float = 1
        /// Weight of the contrast-sensitive smoothness term.
        public var smoothness: Float = 10
        /// Weight of the anchor frame's colour model against the previous frame's (0…1) in `track`.
        public var anchorColourWeight: Float = 0.75
        /// Lucas–Kanade window radius (pixels, at every pyramid level).
        public var flowRadius: Int = 3
        /// Lucas–Kanade iterations per pyramid level.
        public var flowIterations: Int = 3
        /// Finest pyramid level the flow is estimated at (0 = working resolution, 1 = half of it); the
        /// band graph cut restores full-resolution boundaries.
        public var flowFinestLevel: Int = 1
        /// Threads for `track`: the flow between consecutive frames does not depend on the masks, so the
        /// flows of the next few steps are computed in parallel while the refinement stays sequential
        /// (several objects of one step are refined at once). The result is the same for any value.
        public var threads: Int = 1
        /// Extra cost per pixel for making a pixel outside the warped mask part of the object: masks
        /// otherwise creep, a few pixels a frame, into background of a similar colour and never come back.
        /// (0.3 before the motion model, which now vetoes much of that creep: 0.15 is better on every
        /// davis2016-dev measure by 0.002–0.010, and 0 to 0.15 are within 0.002 of each other.)
        public var growthPenalty: Float = 0.15
        /// Photometric check of the warp: where a pixel's colour differs from the previous frame's at the
        /// place its flow points to (mean absolute RGB difference e), the warped prior is pulled towards
        /// 0.5 by exp(−e²/2σ²) — disoccluded background behind a moving object points into the object and
        /// would otherwise inherit its label. σ in RGB levels; 0 turns the check off.
        public var warpCheckSigma: Float = 15
        /// Occlusion check of the warp: every pixel of the new frame is splatted (bilinearly) where its flow
        /// points in the previous one. Where a band pixel points to a place claimed more than this many
        /// times, the frames disagree about what is there (background uncovered behind a moving object
        /// points into the object alongside the object itself), and an object-leaning prior there is set
        /// to 0.5: the colour and motion models decide. 0 turns the check off.
        public var claimThreshold: Float = 1.8
        /// An object whose mean colour log-likelihood ratio (under its anchor's model) falls below this
        /// fraction of its first view's is in doubt: its mask may have slid onto background while
        /// something passed in front of it. It is looked for near its last good view, as a lost object
        /// is, and replaced by what is found there when that looks `doubtMargin` more like it. (bmx-trees,
        /// the rider behind a tree while the camera follows him: J&F from the true mask 0.124 → 0.312 at
        /// 0.5; 0.6 and 0.7 find nothing better there; no other davis2016-dev sequence changes.) 0 turns it off.
        public var doubtFraction: Float = 0.5
        /// How much higher the mean colour ratio of what is found must be than that of an object in doubt.
        public var doubtMargin: Float = 0.5
        /// What is found for a lost object is taken when its mean colour ratio is at least this fraction
        /// of the object's first view's (and in any case when it is at least 1): an object whose colours
        /// set it only a little apart from its background is found again too. (bmx-trees with 1 / 5
        /// clicks, whose first masks take in some of the wall: J&F 0.084 / 0.086 → 0.134 / 0.137 at 0.75
        /// against the old fixed bar of 1; no other davis2016-dev figure changes; 0.6 loses 0.056 on
        /// bmx-trees from the true mask.)
        public var reacquireFraction: Float = 0.75
        /// An object whose first view moved against the camera by at least this much (pixels a step, the
        /// 75th percentile of its pixels' residual to the camera's fitted motion), whose mask now moves with
        /// the camera (under a quarter of that) and whose colours are less like it than in its first view
        /// (mean colour ratio below `motionDoubtColour` of that view's) is in doubt too: what the mask holds
        /// may be background it took in, left when the object went out of view. 0 turns it off.
        public var motionDoubt: Float = 1.5
        /// See `motionDoubt`. (An object that stops while its colours stay as they were, as on the testsrc2
        /// clips of `make bench-preview`, is not in doubt: looking for it there on every fourth frame
        /// made that 1080p30 preview 25 % slower.)
        public var motionDoubtColour: Float = 0.9
        /// A detached part of an object's mask is dropped when it moves with the camera while the object's
        /// largest part moves against it: the 75th percentile of the part's residual to the camera's fitted
        /// motion under this fraction of the largest part's, which must be at least 1.5 px a step. Leaks
        /// left behind on the background as the object moves on (parkour's blobs on the wall and the
        /// hedge). Looked for after every step: on every fourth, parkour's blobs join up or grow before
        /// they are found. davis2016-dev true mask / 1 / 5 clicks 0.727 / 0.639 / 0.666 → 0.744 / 0.650 /
        /// 0.680 (parkour 0.614 → 0.749 from 5 clicks; dog −0.02); 0.4: 0.734 / 0.650 / 0.681. 0 turns it off.
        public var stillParts: Float = 0.6
        /// Weight of the motion log-likelihood ratio: histograms of the flow of the pixels the warp puts
        /// in the object and of the rest of the region around it (each pixel weighted by how far its flow
        /// can be trusted); a pixel that moves like the background is less likely to stay in or join the
        /// object even where its colour matches. 0 turns it off.
        public var motionWeight: Float = 2
        /// Clamp of the motion log-likelihood ratio.
        public var motionClamp: Float = 2
        /// Largest motion log-likelihood ratio towards the object outside the warped mask: the flow is
        /// smoothed across the object's boundary and carries background along, so by default motion
        /// only keeps or removes pixels there, never adds them (it may still veto).
        public var motionSupport: Float = 0
        /// Width of a motion histogram bin, working pixels.
        public var motionBin: Float = 1
        /// How far the motion of a pixel is trusted: the flow of flat, textureless areas (water, sky, a
        /// wall) is only what the flow's smoothing carried in from around them. A pixel's weight in the
        /// motion model and term is t / (t + floor), t the smaller eigenvalue of the mean structure tensor
        /// of the new frame's grey levels over twice the flow's window radius (grey levels² per pixel).
        public var motionTextureFloor: Float = 16

        /// Weight of the independent-motion evidence, as in the click engine: while the camera's motion
        /// explains the background around an object and the object moves against it, a band pixel
        /// still against the camera leans to the background and one moving against it to the object
        /// (see `independentMotion(flow:…)`); 0 turns it off.
        public var independentMotion: Float = 0.5
        /// The independent-motion evidence is used only while the camera's fitted motion explains the
        /// background around the object (median residual at most this, working pixels).
        public var independentMotionMaxNoise: Float = 0.35
        /// Whether the object's motion histogram leaves out the warped mask's rim pixels (within a band
        /// of its edge) that are still against the camera (fitted as for `independentMotion`, and only
        /// while its gate holds): background the mask took behind a moving object otherwise teaches the
        /// histogram the background's motion, and the mask trails a growing tail of it.
        public var motionSkipsStillRim: Bool = true

        /// Shape of the warped-mask prior: above 0, the logistic of the signed distance to the mask's
        /// edge over this many working pixels (see `edgePrior`); 0 for the box mean of the mask over
        /// half a band, which rounds corners and lets thin parts (legs, arms) go within a few frames
        /// where their colours are also the background's (davis2016-dev, true mask / 5 clicks: box
        /// 0.621 / 0.583; scale 2 / 3 / 4 / 6: 0.627 / 0.599, 0.625 / 0.596, 0.627 / 0.607, 0.621 / 0.597).
        public var priorEdgeScale: Float = 4
        /// Weight of the texture cue (`TextureModel`, 0: off): whether a band pixel is as smooth or as busy
        /// as the previous frame's object pixels of its colour or as its background's, for colours both
        /// share. davis2016-dev (`track-bench`, true mask / 5 clicks) from 0.626 / 0.605 without it:
        /// 1 → 0.643 / 0.615, 1.5 → 0.654 / 0.625, 2 → 0.657 / 0.625, 2.5 → 0.640 / 0.597, 3 → 0.618 /
        /// 0.595 (dance-twirl's dress against the dark seats, goat's coat, cows and breakdance gain;
        /// car-roundabout loses 0.02–0.04).
        public var textureWeight: Float = 1.5
        /// The texture cue also tells the direction a textured pixel's grey level changes along (mostly
        /// along x, mostly along y, or both; `TextureModel.states`). davis2016-dev (`track-bench`), 1 / 3 /
        /// 5 clicks / interactive / true mask: 0.598 / 0.612 / 0.627 / 0.707 / 0.654 without it, 0.603 /
        /// 0.625 / 0.635 / 0.707 / 0.670 with it (from the true mask every sequence gains).
        public var textureOrientation = true
        /// Spacing of the grid of local colour models (`LocalColourModel`; working pixels, 0: only the
        /// crop's one model): each band pixel's colour term is read from the object's and background's
        /// colours within about a spacing of it, the crop's model standing in where a window holds few
        /// pixels of a side. davis2016-dev (`track-bench`), true mask / 5 clicks: 0.670 / 0.635 with the
        /// crop's model alone; spacing 24 / 32 / 48 → 0.712 / 0.641, 0.726 / 0.651, 0.701 / 0.651
        /// (blackswan from the true mask 0.644 → 0.882, camel 0.762 → 0.830; car-roundabout 0.742 → 0.717).
        /// Cost (with `localColourMinimumObject`, below): `make bench-preview`, two interleaved pairs, 10 s
        /// 1080p30 5.02 / 5.03 → 5.59 / 5.52 s, 2160×2160 60 fps 11.2 / 10.9 → 13.4 / 13.8 s, cows 5.79 / 5.74
        /// → 6.27 / 6.07 s.
        public var localColourSpacing: Int = 32
        /// How many pixels' worth of the crop's model each local window holds besides its own pixels
        /// (15 / 50 / 150 / 400: 0.721 / 0.726 / 0.725 / 0.715 from the true mask).
        public var localColourStrength: Float = 50
        /// Whether a pixel reads the local models where its flow points in the previous frame (where the
        /// models were learnt) rather than at its own place (0.651 / 0.649 with 5 clicks).
        public var localColourFollowsFlow = true
        /// Below this much object in the windows read (tent-weighted pixels; a window full of object holds
        /// about spacing², 1024), the crop's model alone gives the colour term. Without it, a small stray
        /// fragment of the mask teaches its windows its own colours and keeps itself: on the testsrc2
        /// clips of `make bench-preview` the masks kept pieces across the frame (their extent grew to the
        /// frame's width at about the same area) and the crops grew with them (10 s 1080p30 preview 4.8–5.1
        /// → 6.8–7.4 s). 100 keeps `track-bench`'s figures (true mask /
        /// 5 clicks 0.727 / 0.651) and that preview at 5.5–5.7 s; 300: 0.717 / 0.641 and 5.4 s; 1000: hardly
        /// any window qualifies (0.670 / 0.635, as with the crop's model alone).
        public var localColourMinimumObject: Float = 100

        /// The defaults.
        public init() {}
    }

    /// The independent-motion cue around an object in a crop; nil when the camera's motion does not
    /// explain the background or the object does not move against it. The camera is fitted to the
    /// flow of every fourth pixel (each way) clear of the band (`count` 0: the flow next to the object
    /// carries its motion along), weighted by `trust`; the object's motion is read on the pixels deep
    /// inside the warped mask (a full band window).
    static func independentMotion(flow: FlowField, count: [Float], bandX: [Float], bandY: [Float], unknown: [Bool],
                                  trust: [Float], maxNoise: Float) -> IndependentMotion? {
        let w = flow.width, h = flow.height
        var xs: [Float] = [], ys: [Float] = [], us: [Float] = [], vs: [Float] = [], ws: [Float] = [], inside: [Bool] = []
        for y in stride(from: 0, to: h, by: 4) {
            for x in stride(from: 0, to: w, by: 4) {
                let p = y * w + x
                if unknown[p] { continue }
                let background = count[p] < 0.5, core = count[p] > bandX[x] * bandY[y] - 0.5
                guard background || core else { continue }
                xs.append(Float(x)); ys.append(Float(y)); us.append(flow.u[p]); vs.append(flow.v[p])
                ws.append(background ? trust[p] : 0); inside.append(core)
            }
        }
        guard xs.count > 16,
              let (camera, residual) = IndependentMotion.fitCamera(x: xs, y: ys, u: us, v: vs, weights: ws,
                                                                   width: w, height: h) else { return nil }
        func median(_ core: Bool) -> Float? {
            var r: [Float] = []
            for i in 0..<xs.count where inside[i] == core { r.append(residual[i]) }
            return upperMedian(&r)
        }
        guard let object = median(true), let background = median(false) else { return nil }
        return IndependentMotion(camera: camera, object: object, background: background, maxNoise: maxNoise,
                                 width: w, height: h)
    }

    /// The configuration in use.
    public let configuration: Configuration

    /// When raised, tracking stops at its next chunk of frames: every frame not reached yet keeps the
    /// last labels, so the call returns at once with a result its caller must throw away.
    public var cancellation: CancellationFlag?

    /// A tracker with `configuration`.
    public init(configuration: Configuration = Configuration(), cancellation: CancellationFlag? = nil) {
        self.configuration = configuration
        self.cancellation = cancellation
    }

    /// How far `refineObject`'s region of interest reaches past the object's box: the flow's largest
    /// motion and three bands (the colour models' margin).
    static func cropMargin(_ flow: FlowField, band: Int) -> Int { Int(maxMotion(flow).rounded(.up)) + 3 * band + 2 }

    /// Bands by which the region a chunk's cues are measured over is grown past the objects' crops as
    /// they were when it was scheduled, for what they move until its steps are refined (`walk`).
    static let cueSlack = 2

    /// The bounding box of every object of `labels`, at its label (`labelBoxes`; index 0 unused).
    static func objectBoxes(_ labels: SelectionLabels) -> [(x0: Int, y0: Int, x1: Int, y1: Int)] {
        labels.labels.withUnsafeBufferPointer {
            labelBoxes($0, width: labels.width, height: labels.height, labels: min(labels.objectIDs.count, 255))
        }
    }

    /// The cues of `image` the refinement reads, over `region` of the frame (see `FrameCues`).
    @Sendable func cues(of image: RGBImage, region: PixelRect) -> FrameCues {
        let c = configuration
        return FrameCues(
            region: region,
            trust: c.motionWeight > 0 || c.independentMotion > 0
                ? flowTrust(image, radius: 2 * c.flowRadius, floor: c.motionTextureFloor, region: region) : nil,
            states: c.textureWeight > 0 ? TextureModel.states(image, oriented: c.textureOrientation, region: region) : nil)
    }

    /// The region of interest `refineObject` crops for an object whose bounding box is `box`, in a
    /// `width` × `height` frame: the box grown by `margin` (`cropMargin`), within the frame.
    static func cropRegion(_ box: (x0: Int, y0: Int, x1: Int, y1: Int), margin m: Int, width w: Int, height h: Int) -> PixelRect {
        let x0 = max(0, box.x0 - m), y0 = max(0, box.y0 - m)
        return (x0, y0, min(w, box.x1 + 1 + m) - x0, min(h, box.y1 + 1 + m) - y0)
    }

    var flowEngine: DenseFlow {
        DenseFlow(radius: configuration.flowRadius, iterations: configuration.flowIterations,
                  finestLevel: configuration.flowFinestLevel)
    }

    /// Propagates `mask` (the labels of `previous`) to `next`. Both frames must have the mask's size.
    public func propagate(from previous: RGBImage, mask: SelectionLabels, to next: RGBImage) -> SelectionLabels {
        propagate(previous, FlowPyramid(previous), mask: mask, next, FlowPyramid(next))
    }

    /// Refines the boundary of every object of `labels` on `image` itself (no motion): the band graph cut
    /// of `propagate` with the labels as the prior and colour models learned from them. The click engine
    /// uses it to take its superpixel boundaries to the pixels' own edges.
    public func refine(_ image: RGBImage, labels: SelectionLabels) -> SelectionLabels {
        precondition(image.width == labels.width && image.height == labels.height, "MaskTracker: size mismatch")
        // Without motion the motion cues and the warp's checks have nothing to measure.
        var still = configuration
        still.motionWeight = 0
        still.independentMotion = 0
        still.claimThreshold = 0
        still.warpCheckSigma = 0
        return MaskTracker(configuration: still).propagate(image, mask: labels, image,
                                                           flow: FlowField(width: image.width, height: image.height),
                                                           anchorModels: [:])
    }

    func propagate(_ previous: RGBImage, _ prevPyr: FlowPyramid, mask: SelectionLabels,
                   _ next: RGBImage, _ nextPyr: FlowPyramid, anchorModels: [Int: ColourModel] = [:]) -> SelectionLabels {
        precondition(previous.width == mask.width && previous.height == mask.height
                     && next.width == mask.width && next.height == mask.height, "MaskTracker: size mismatch")
        if mask.isEmpty { return mask }  // no object: nothing to measure
        // Flow from the next frame back to the previous: next(x) ≈ previous(x + f(x)).
        return propagate(previous, mask: mask, next, flow: flowEngine.compute(from: nextPyr, to: prevPyr),
                         anchorModels: anchorModels)
    }

    /// Propagates `mask` with `flow` (from `next` back to `previous`) already measured.
    func propagate(_ previous: RGBImage, mask: SelectionLabels, _ next: RGBImage, flow: FlowField,
                   anchorModels: [Int: ColourModel], cues: (previous: FrameCues?, next: FrameCues?) = (nil, nil),
                   margin: Int? = nil, boxes: [(x0: Int, y0: Int, x1: Int, y1: Int)]? = nil) -> SelectionLabels {
        let w = mask.width, h = mask.height, n = w * h
        var out = [UInt8](repeating: 0, count: n)
        var present = [Bool](repeating: false, count: 256)
        mask.labels.withUnsafeBufferPointer { l in for v in l { present[Int(v)] = true } }
        if n == 0 || !present[1...].contains(true) {
            return SelectionLabels(width: w, height: h, labels: out, objectIDs: mask.objectIDs)
        }
        var best = [Float](repeating: 0, count: n)
        // Each object is refined on its own (from the same labels), so with several objects and threads
        // they are refined at once; the results are merged in the objects' order, as one at a time.
        let objects = (0..<mask.objectIDs.count).filter { present[$0 + 1] }
        let refined = parallelMap(objects.count, threads: configuration.threads) { i in
            refineObject(tag: UInt8(objects[i] + 1), previous: previous, labels: mask.labels, next: next, flow: flow,
                         anchorModel: anchorModels[objects[i]], cues: cues, margin: margin, box: boxes?[objects[i] + 1])
        }
        for (k, r) in zip(objects, refined) {
            let tag = UInt8(k + 1)
            r.fg.withUnsafeBufferPointer { F in
            r.prior.withUnsafeBufferPointer { P in
            best.withUnsafeMutableBufferPointer { B in
            out.withUnsafeMutableBufferPointer { O in
                for ly in 0..<r.roi.height {
                    for lx in 0..<r.roi.width {
                        let lp = ly * r.roi.width + lx
                        let p = (r.roi.y + ly) * w + r.roi.x + lx
                        if F[lp] && P[lp] > B[p] {
                            B[p] = P[lp]
                            O[p] = tag
                        }
                    }
                }
            }}}}
        }
        return SelectionLabels(width: w, height: h, labels: out, objectIDs: mask.objectIDs)
    }

    /// The band half-width for frames of `width` × `height`.
    func bandWidth(_ width: Int, _ height: Int) -> Int {
        max(4, Int((Double(max(width, height)) * configuration.bandFraction).rounded()))
    }

    /// Warps object `tag` to the next frame and refines it, within a region of interest around the object
    /// (its previous bounding box grown by the largest displacement and the colour-model margin). Returns
    /// the region and, inside it, the mask and the smoothed warped prior. The frames' cues are cut from
    /// `cues` where those hold the region, else measured on it (the same values either way).
    func refineObject(tag: UInt8, previous: RGBImage, labels: [UInt8], next: RGBImage, flow: FlowField,
                      anchorModel: ColourModel? = nil, anchorWeight: Float? = nil, localColour: Bool = true,
                      cues: (previous: FrameCues?, next: FrameCues?) = (nil, nil), margin: Int? = nil,
                      box: (x0: Int, y0: Int, x1: Int, y1: Int)? = nil)
        -> (roi: PixelRect, fg: [Bool], prior: [Float]) {
        let w = next.width, h = next.height
        // (`box` and `margin`, when given, are the object's box and `cropMargin` found by the caller.)
        let box = box ?? labels.withUnsafeBufferPointer { labelBoxes($0, width: w, height: h, labels: Int(tag))[Int(tag)] }
        if box.x1 < 0 { return ((0, 0, 0, 0), [], []) }
        let roi = Self.cropRegion(box, margin: margin ?? Self.cropMargin(flow, band: bandWidth(w, h)), width: w, height: h)
        let c = configuration
        // `refine` and the lost-object search pass one image as both frames: its cues are measured once.
        let same = previous.pixels.withUnsafeBufferPointer { a in next.pixels.withUnsafeBufferPointer { a.baseAddress == $0.baseAddress } }
        let nextCues = cues.next.flatMap { $0.holds(roi) ? $0 : nil }
        let previousStates = c.textureWeight > 0
            ? (cues.previous.flatMap { $0.holds(roi) ? $0.cut(\.states, roi) : nil }
               ?? TextureModel.states(previous, oriented: c.textureOrientation, region: roi)) : nil
        let crops = CropCues(
            previousStates: previousStates,
            // Without the next frame's states measured, the refinement reads them at its band's pixels
            // only (never at the crop's border, unless that is the frame's: the same states).
            states: same ? previousStates : nextCues?.cut(\.states, roi),
            trust: c.motionWeight > 0 || c.independentMotion > 0
                ? (nextCues?.cut(\.trust, roi)
                   ?? flowTrust(next, radius: 2 * c.flowRadius, floor: c.motionTextureFloor, region: roi)) : nil)
        if roi.width == w && roi.height == h {
            let r = refineCrop(tag: tag, previous: previous, labels: labels, next: next, flow: flow, band: bandWidth(w, h),
                               anchorModel: anchorModel, anchorWeight: anchorWeight, localColour: localColour,
                               cues: crops, frame: (0, 0, w, h))
            return (roi, r.fg, r.prior)
        }
        func crop<T>(_ a: [T], _ channels: Int, _ zero: T) -> [T] {
            Self.crop(a, width: w, channels: channels, x: roi.x, y: roi.y, width: roi.width, height: roi.height, zero: zero)
        }
        var f = FlowField(width: roi.width, height: roi.height)
        f.u = crop(flow.u, 1, 0)
        f.v = crop(flow.v, 1, 0)
        let previousCrop = RGBImage(width: roi.width, height: roi.height, pixels: crop(previous.pixels, 3, 0))
        let r = refineCrop(tag: tag, previous: previousCrop, labels: crop(labels, 1, 0),
                           next: same ? previousCrop : RGBImage(width: roi.width, height: roi.height, pixels: crop(next.pixels, 3, 0)),
                           flow: f, band: bandWidth(w, h), anchorModel: anchorModel, anchorWeight: anchorWeight,
                           localColour: localColour, cues: crops, frame: (roi.x, roi.y, w, h))
        return (roi, r.fg, r.prior)
    }

    /// Where the flow (`u`, `v`) of pixel (`x`, `y`) points, clamped into the `width` × `height` frame.
    @inline(__always)
    static func flowTarget(_ x: Int, _ y: Int, _ u: Float, _ v: Float, width w: Int, height h: Int) -> (Float, Float) {
        (min(max(Float(x) + u, 0), Float(w - 1)), min(max(Float(y) + v, 0), Float(h - 1)))
    }

    /// The index of the pixel nearest (`x`, `y`) in a `width`-wide frame (the place's claims are read there).
    @inline(__always)
    static func nearest(_ x: Float, _ y: Float, width w: Int) -> Int { Int(y.rounded()) * w + Int(x.rounded()) }

    /// The largest displacement of `flow` along either axis (0 for an empty field; a NaN is passed over).
    static func maxMotion(_ flow: FlowField) -> Float {
        flow.u.withUnsafeBufferPointer { U in
        flow.v.withUnsafeBufferPointer { V in
            let n = min(U.count, V.count)
            // Eight lanes at a time (a maximum is exact in any order), with masked selections only: the
            // standard library's generic `pointwiseMax` stayed a call of its own (~2 % of a preview's CPU).
            // A lane takes a magnitude only where it is larger, so a NaN never enters.
            var lanes = SIMD8<Float>(repeating: 0)
            var p = 0
            if let u = U.baseAddress, let v = V.baseAddress {
                while p + 8 <= n {
                    let a = UnsafeRawPointer(u + p).loadUnaligned(as: SIMD8<Float>.self)
                    let b = UnsafeRawPointer(v + p).loadUnaligned(as: SIMD8<Float>.self)
                    let absA = a.replacing(with: -a, where: a .< 0), absB = b.replacing(with: -b, where: b .< 0)
                    lanes = lanes.replacing(with: absA, where: absA .> lanes)
                    lanes = lanes.replacing(with: absB, where: absB .> lanes)
                    p += 8
                }
            }
            var largest = lanes.max()
            while p < n {
                // Each magnitude on its own, as in the lanes (`max(abs(u), abs(v))` is NaN when `u` is).
                let a = abs(U[p]), b = abs(V[p])
                if a > largest { largest = a }
                if b > largest { largest = b }
                p += 1
            }
            return largest
        }}
    }

    /// `refineObject` on frames already cropped to the region of interest, with the crop's cues (measured
    /// on the whole frames: `FrameCues`); `frame` is the crop's origin in the whole frame and the whole
    /// frame's size.
    func refineCrop(tag: UInt8, previous: RGBImage, labels: [UInt8], next: RGBImage,
                    flow: FlowField, band: Int, anchorModel: ColourModel?, anchorWeight: Float?, localColour: Bool = true,
                    cues: CropCues, frame box: PixelRect) -> (fg: [Bool], prior: [Float]) {
        let w = next.width, h = next.height, n = w * h
        // The previous mask warped to this frame (bilinear sampling of the one-hot mask) and taken where
        // it reaches one half; pixels that come from outside the previous frame (entering it) are unknown:
        // nothing is known about them (and they are not in the mask).
        let prevMask = labels.withUnsafeBufferPointer { L in filledFloats(n) { M in for p in 0..<n { M[p] = L[p] == tag ? 1 : 0 } } }
        let maxX = Float(w - 1), maxY = Float(h - 1)
        var unknown = [Bool](repeating: false, count: n)
        let hard = unknown.withUnsafeMutableBufferPointer { unknown in
        prevMask.withUnsafeBufferPointer { M in
        flow.u.withUnsafeBufferPointer { U in
        flow.v.withUnsafeBufferPointer { V in
            filledFloats(n) { H in
                for y in 0..<h {
                    for x in 0..<w {
                        let p = y * w + x
                        let sx = Float(x) + U[p], sy = Float(y) + V[p]
                        if sx < -0.5 || sy < -0.5 || sx > maxX + 0.5 || sy > maxY + 0.5 { unknown[p] = true; H[p] = 0; continue }
                        let cx = min(max(sx, 0), maxX), cy = min(max(sy, 0), maxY)
                        let x0 = Int(cx), y0 = Int(cy)
                        let x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
                        let ax = cx - Float(x0), ay = cy - Float(y0)
                        let a = y0 * w, b = y1 * w
                        let warped = (M[a + x0] * (1 - ax) + M[a + x1] * ax) * (1 - ay) + (M[b + x0] * (1 - ax) + M[b + x1] * ax) * ay
                        H[p] = warped >= 0.5 ? 1 : 0
                    }
                }
            }
        }}}}
        // Band: pixels whose (2·band+1)² window holds both labels.
        var tmp = [Float](repeating: 0, count: n)
        let count = hard.withUnsafeBufferPointer { H in
            tmp.withUnsafeMutableBufferPointer { T in filledFloats(n) { C in boxSum(H, C, T, width: w, height: h, radius: band) } }
        }
        let bandX = windowSpans(w, radius: band), bandY = windowSpans(h, radius: band)
        // Soft prior: the logistic of the distance to the warped edge, or the box mean of the warped mask
        // over half a band; neutral where the flow comes from outside the previous frame.
        var prior: [Float]
        if configuration.priorEdgeScale > 0 {
            prior = Self.edgePrior(hard: hard, width: w, height: h, scale: configuration.priorEdgeScale)
        } else {
            let pr = max(2, band / 2)
            prior = [Float](repeating: 0, count: n)
            hard.withUnsafeBufferPointer { H in
                tmp.withUnsafeMutableBufferPointer { T in
                    prior.withUnsafeMutableBufferPointer { P in boxSum(H, P, T, width: w, height: h, radius: pr) }
                }
            }
            // Box sums shrink at the border; normalise by the window population.
            let popX = windowSpans(w, radius: pr), popY = windowSpans(h, radius: pr)
            for y in 0..<h {
                for x in 0..<w { prior[y * w + x] /= popX[x] * popY[y] }
            }
        }
        for p in 0..<n where unknown[p] { prior[p] = 0.5 }
        // Colour models from the previous frame, mixed with the anchor's (when tracking from one) so the
        // appearance cannot drift far from what the person marked.
        let recent = ColourModel(image: previous, labels: labels, tag: tag, band: band)
        let model = anchorModel.map { recent.mixed(with: $0, weight: anchorWeight ?? configuration.anchorColourWeight) } ?? recent
        let llr = model.logRatio()
        // Texture given colour: learned on the previous frame's object and the rest of the crop. (`let`, as
        // `local` below: the graph's loop reads a variable's arrays with a retain and a release per pixel.)
        // (The new frame's states are read only at the band's pixels: they are measured there, below,
        // unless they were measured already: `cues`.)
        let learnt: (model: TextureModel, states: [UInt8])? = configuration.textureWeight > 0 ? cues.previousStates.map {
            (TextureModel(image: previous, states: $0, oriented: configuration.textureOrientation, mask: prevMask), $0)
        } : nil
        // Motion model: the flow of the pixels the warp puts in the object against that of the rest.
        var motion = MotionModel(bin: configuration.motionBin)
        var trust: [Float] = [], motionLLR: [Float] = []
        if configuration.motionWeight > 0 || configuration.independentMotion > 0 {
            trust = cues.trust ?? { preconditionFailure("MaskTracker: refineObject measures the flow trust") }()
        }
        let moving = configuration.independentMotion > 0 || (configuration.motionSkipsStillRim && configuration.motionWeight > 0)
            ? Self.independentMotion(flow: flow, count: count, bandX: bandX, bandY: bandY, unknown: unknown,
                                     trust: trust, maxNoise: configuration.independentMotionMaxNoise)
            : nil
        if configuration.motionWeight > 0 {
            var skipping = unknown
            if configuration.motionSkipsStillRim, let moving {
                // Rim pixels of the warped mask (within a band of its edge) that are still against the
                // camera are left out: a strip of background the mask took (uncovered behind the object,
                // a shadow) moves like the background, and would teach the object's histogram that motion.
                hard.withUnsafeBufferPointer { H in
                count.withUnsafeBufferPointer { C in
                flow.u.withUnsafeBufferPointer { U in
                flow.v.withUnsafeBufferPointer { V in
                skipping.withUnsafeMutableBufferPointer { S in
                    for y in 0..<h {
                        for x in 0..<w {
                            let p = y * w + x
                            if H[p] > 0 && C[p] < bandX[x] * bandY[y] - 0.5
                                && moving.evidence(x: Float(x), y: Float(y), u: U[p], v: V[p]) <= -1 { S[p] = true }
                        }
                    }
                }}}}}
            }
            motion.add(u: flow.u, v: flow.v, weights: trust, object: hard, skipping: skipping)
            motionLLR = motion.logRatios(clamp: configuration.motionClamp) ?? []
        }
        @inline(__always) func bin(_ px: UnsafeBufferPointer<UInt8>, _ p: Int) -> Int { ColourModel.bin(px, p) }
        // Graph over band pixels.
        var node = [Int32](repeating: -1, count: n)
        var nodes = 0
        node.withUnsafeMutableBufferPointer { N in
            count.withUnsafeBufferPointer { C in
                for y in 0..<h {
                    for x in 0..<w {
                        let p = y * w + x, c = C[p]
                        if c > 0.5 && c < bandX[x] * bandY[y] - 0.5 { N[p] = Int32(nodes); nodes += 1 }
                    }
                }
            }
        }
        var fg = hard.withUnsafeBufferPointer { H in
            [Bool](unsafeUninitializedCapacity: n) { F, initialized in
                for p in 0..<n { F[p] = H[p] > 0 }
                initialized = n
            }
        }
        if nodes == 0 { return (fg, prior) }
        let texture = learnt.map { learnt in
            (model: learnt.model, states: cues.states ?? TextureModel.states(next, oriented: configuration.textureOrientation, at: node))
        }
        // How many pixels of the new frame claim each pixel of the previous one (the occlusion check),
        // where a band pixel's flow may read it.
        var claims: [Float] = []
        if configuration.claimThreshold > 0 {
            var read = [Bool](repeating: false, count: n)
            node.withUnsafeBufferPointer { N in
            unknown.withUnsafeBufferPointer { K in
            flow.u.withUnsafeBufferPointer { U in
            flow.v.withUnsafeBufferPointer { V in
            read.withUnsafeMutableBufferPointer { R in
                for y in 0..<h {
                    for x in 0..<w where N[y * w + x] >= 0 && !K[y * w + x] {
                        let p = y * w + x
                        let (sx, sy) = Self.flowTarget(x, y, U[p], V[p], width: w, height: h)
                        R[Self.nearest(sx, sy, width: w)] = true
                    }
                }
            }}}}}
            claims = Self.claims(flow, skipping: unknown, reading: read)
        }
        // Local colour models, built only in the grid cells the band's pixels read (and those next to them).
        let local: LocalColourModel?
        if localColour && configuration.localColourSpacing > 0 {
            let follows = configuration.localColourFollowsFlow
            local = LocalColourModel(image: previous, mask: prevMask, spacing: configuration.localColourSpacing,
                                     global: model, globalRatio: llr, strength: configuration.localColourStrength,
                                     minimumObject: configuration.localColourMinimumObject) { mark in
                node.withUnsafeBufferPointer { N in
                flow.u.withUnsafeBufferPointer { U in
                flow.v.withUnsafeBufferPointer { V in
                    for y in 0..<h {
                        for x in 0..<w where N[y * w + x] >= 0 {
                            let p = y * w + x
                            mark(Float(x) + (follows ? U[p] : 0), Float(y) + (follows ? V[p] : 0))
                        }
                    }
                }}}
            }
        } else {
            local = nil
        }
        let cfg = configuration
        // Objects entering the frame grow at its border: no growth penalty there.
        @inline(__always) func nearBorder(_ x: Int, _ y: Int) -> Bool {
            let fx = x + box.x, fy = y + box.y
            return fx < band || fy < band || fx >= box.width - band || fy >= box.height - band
        }
        // The graph is built at once from these (`MaxFlow(terminals:edges:)`): per-edge `addEdge` calls
        // cost about a third of this loop.
        var terminals = [Double](repeating: 0, count: nodes)
        var edges = [MaxFlow.Edge]()
        edges.reserveCapacity(2 * nodes)
        next.pixels.withUnsafeBufferPointer { px in
        previous.pixels.withUnsafeBufferPointer { pv in
        flow.u.withUnsafeBufferPointer { fu in
        flow.v.withUnsafeBufferPointer { fv in
        node.withUnsafeBufferPointer { node in
        hard.withUnsafeBufferPointer { hard in
        prior.withUnsafeBufferPointer { prior in
        llr.withUnsafeBufferPointer { llr in
        motionLLR.withUnsafeBufferPointer { mllr in
        unknown.withUnsafeBufferPointer { unknown in
        trust.withUnsafeBufferPointer { trust in
        claims.withUnsafeBufferPointer { claims in
        terminals.withUnsafeMutableBufferPointer { terminals in
            @inline(__always) func d2(_ a: Int, _ b: Int) -> Float {
                let dr = Float(px[3 * a]) - Float(px[3 * b]), dg = Float(px[3 * a + 1]) - Float(px[3 * b + 1])
                let db = Float(px[3 * a + 2]) - Float(px[3 * b + 2])
                return dr * dr + dg * dg + db * db
            }
            // Contrast parameter from the band.
            var sum: Float = 0, pairs: Float = 0
            for y in 0..<h {
                for x in 0..<w where node[y * w + x] >= 0 {
                    let p = y * w + x
                    if x + 1 < w { sum += d2(p, p + 1); pairs += 1 }
                    if y + 1 < h { sum += d2(p, p + w); pairs += 1 }
                }
            }
            let beta = 1 / (2 * max(sum / max(pairs, 1), 1))
            let invTwoSigma2 = 1 / (2 * cfg.warpCheckSigma * cfg.warpCheckSigma)
            // Mean absolute RGB difference between the next frame at p and the previous one at (sx, sy),
            // where p's flow points (bilinear).
            @inline(__always) func warpError(_ p: Int, _ sx: Float, _ sy: Float) -> Float {
                let (r, g, b) = bilinearRGB(pv, w, h, sx, sy)
                return (abs(r - Float(px[3 * p])) + abs(g - Float(px[3 * p + 1])) + abs(b - Float(px[3 * p + 2]))) / 3
            }
            for y in 0..<h {
                for x in 0..<w {
                    let p = y * w + x
                    let i = Int(node[p])
                    if i < 0 { continue }
                    let ratio = local?.logRatio(px, p, x: Float(x) + (cfg.localColourFollowsFlow ? fu[p] : 0),
                                                y: Float(y) + (cfg.localColourFollowsFlow ? fv[p] : 0)) ?? llr[bin(px, p)]
                    var c = cfg.colourWeight * max(-cfg.colourClamp, min(cfg.colourClamp, ratio))
                    if let texture {
                        c += cfg.textureWeight * texture.model.ratio[texture.model.bin(px, p, state: texture.states[p])]
                    }
                    if !mllr.isEmpty {
                        let m = mllr[motion.index(fu[p], fv[p])]
                        c += cfg.motionWeight * trust[p] * (hard[p] > 0 ? m : min(m, cfg.motionSupport))
                    }
                    if cfg.independentMotion > 0, let moving { c += cfg.independentMotion * trust[p] * moving.evidence(x: Float(x), y: Float(y), u: fu[p], v: fv[p]) }
                    var q = min(0.95, max(0.05, prior[p]))
                    if !unknown[p] {
                        // Where p's flow points in the previous frame.
                        let (sx, sy) = Self.flowTarget(x, y, fu[p], fv[p], width: w, height: h)
                        if cfg.warpCheckSigma > 0 {
                            let e = warpError(p, sx, sy)
                            q = 0.5 + expf(-e * e * invTwoSigma2) * (q - 0.5)
                        }
                        if !claims.isEmpty && q > 0.5 && claims[Self.nearest(sx, sy, width: w)] > cfg.claimThreshold {
                            q = 0.5
                        }
                    }
                    var costFG = -c * 0.5 - cfg.priorWeight * logf(q)
                        + (hard[p] > 0 || nearBorder(x, y) ? 0 : cfg.growthPenalty)
                    var costBG = c * 0.5 - cfg.priorWeight * logf(1 - q)
                    // Neighbours: inside the band become edges, outside add their fixed label's cost.
                    @inline(__always) func visit(_ qn: Int, _ forward: Bool) {
                        let j = Int(node[qn])
                        // An edge between two band pixels is added once, from its first pixel.
                        if j >= 0 && !forward { return }
                        let wgt = cfg.smoothness * expf(-beta * d2(p, qn))
                        if j >= 0 {
                            edges.append(MaxFlow.Edge(u: Int32(i), v: Int32(j), capacity: Double(wgt), reverseCapacity: Double(wgt)))
                        } else if hard[qn] > 0 {
                            costBG += wgt
                        } else {
                            costFG += wgt
                        }
                    }
                    if x + 1 < w { visit(p + 1, true) }
                    if x > 0 { visit(p - 1, false) }
                    if y + 1 < h { visit(p + w, true) }
                    if y > 0 { visit(p - w, false) }
                    terminals[i] = Double(costBG) - Double(costFG)
                }
            }
        }}}}}}}}}}}}}
        var graph = MaxFlow(terminals: terminals, edges: edges)
        graph.run()
        for p in 0..<n where node[p] >= 0 { fg[p] = graph.sourceSide(Int(node[p])) }
        return (fg, prior)
    }

}

extension MaskTracker {
    /// The `cw` × `ch` rectangle at (`x0`, `y0`) of a `w`-wide image with `channels` values a pixel.
    static func crop<T>(_ a: [T], width w: Int, channels: Int, x x0: Int, y y0: Int, width cw: Int, height ch: Int,
                        zero: T) -> [T] {
        var out = [T](repeating: zero, count: cw * ch * channels)
        for y in 0..<ch {
            let s = ((y0 + y) * w + x0) * channels
            out.replaceSubrange(y * cw * channels..<(y + 1) * cw * channels, with: a[s..<s + cw * channels])
        }
        return out
    }

    /// How far from the edge `edgePrior` measures the distance (pixels); beyond it the prior is constant.
    static func edgePriorCap(scale: Float) -> Float { 3 * scale + 1 }

    /// The warped mask as a soft prior that keeps its shape: the logistic of the signed distance to its
    /// edge (positive inside, half a pixel on either side of the edge) over `scale` pixels. A box mean
    /// of the mask rounds its corners and sinks a part thinner than the box below one half. The distance
    /// is a two-pass chamfer (steps 1 and √2) capped at `edgePriorCap` (3 `scale` + 1), where the prior is
    /// clamped anyway.
    static func edgePrior(hard: [Float], width w: Int, height h: Int, scale: Float) -> [Float] {
        let n = w * h
        let cap = edgePriorCap(scale: scale)
        var d = [Float](repeating: cap, count: n)
        guard n > 0 else { return [] }
        hard.withUnsafeBufferPointer { H in
        d.withUnsafeMutableBufferPointer { D in
            // Seeds: pixels with a 4-neighbour of the other label, half a pixel from the edge. Only
            // within the cap of their bounding box can a distance fall under the cap.
            var minX = w, minY = h, maxX = -1, maxY = -1
            for y in 0..<h {
                let row = y * w
                for x in 0..<w {
                    let p = row + x, v = H[p] > 0
                    let right = x + 1 < w && (H[p + 1] > 0) != v, below = y + 1 < h && (H[p + w] > 0) != v
                    guard right || below else { continue }
                    D[p] = 0.5
                    if right { D[p + 1] = 0.5 }
                    if below { D[p + w] = 0.5 }
                    minX = min(minX, x); maxX = max(maxX, x + 1)
                    minY = min(minY, y); maxY = max(maxY, y + 1)
                }
            }
            guard maxX >= 0 else { return }
            let reach = Int(cap.rounded(.up))
            chamfer(D.baseAddress!, width: w, height: h,
                    box: (max(0, minX - reach), max(0, minY - reach), min(w - 1, maxX + reach), min(h - 1, maxY + reach)))
        }
        }
        return d.withUnsafeBufferPointer { D in
        hard.withUnsafeBufferPointer { H in
            filledFloats(n) { P in
                let k = 1 / scale, far = 1 / (1 + expf(-cap * k))
                for p in 0..<n {
                    let v = D[p]
                    let q = v >= cap ? far : 1 / (1 + expf(-v * k))
                    P[p] = H[p] > 0 ? q : 1 - q
                }
            }
        }}
    }

    /// Two-pass chamfer distance (steps 1 and √2) in place over the rows and columns of `box`
    /// (x0, y0, x1, y1, inclusive); outside it the distances are read but not changed. Each pass takes a
    /// row's three neighbours in the row before it first (independent of each other), then sweeps
    /// along the row, so only one addition and one minimum wait on the pixel before.
    static func chamfer(_ d: UnsafeMutablePointer<Float>, width w: Int, height h: Int,
                        box: (x0: Int, y0: Int, x1: Int, y1: Int)) {
        let diagonal = Float(2).squareRoot()
        func fromRow(_ row: UnsafeMutablePointer<Float>, _ other: UnsafeMutablePointer<Float>) {
            for x in box.x0...box.x1 {
                var m = other[x] + 1
                if x > 0 { m = min(m, other[x - 1] + diagonal) }
                if x + 1 < w { m = min(m, other[x + 1] + diagonal) }
                row[x] = min(row[x], m)
            }
        }
        for y in box.y0...box.y1 {
            let row = d + y * w
            if y > 0 { fromRow(row, row - w) }
            runningMinimum(row, from: box.x0, count: box.x1 - box.x0 + 1, by: 1,
                           entering: box.x0 > 0 ? row[box.x0 - 1] : .infinity)
        }
        for y in stride(from: box.y1, through: box.y0, by: -1) {
            let row = d + y * w
            if y + 1 < h { fromRow(row, row + w) }
            runningMinimum(row, from: box.x1, count: box.x1 - box.x0 + 1, by: -1,
                           entering: box.x1 + 1 < w ? row[box.x1 + 1] : .infinity)
        }
    }

    /// `row[p] = min(row[p], row[p − step] + 1)` for the `count` positions p = `first`, `first` + `step`,
    /// … in turn, `entering` standing for the value before the first. Each result waits on the one before
    /// it, so the positions are cut into four runs walked at once, each starting as if nothing came before
    /// it; then each run after the first is corrected from the end of the one before, only as far as that
    /// lowers it (beyond, the two agree). The same values as the plain walk, to the bit: where the run's
    /// value r ≤ row[p] is corrected, min(r, t + 1) = min(row[p], t + 1) since t + 1 ≤ the run's own
    /// previous value + 1.
    @inline(__always)
    static func runningMinimum(_ row: UnsafeMutablePointer<Float>, from first: Int, count: Int, by step: Int,
                               entering: Float) {
        let q = count / 4
        guard q >= 16 else {
            var t = entering
            for i in 0..<count {
                let p = first + i * step
                t = min(row[p], t + 1)
                row[p] = t
            }
            return
        }
        let s1 = first + q * step, s2 = s1 + q * step, s3 = s2 + q * step
        var a = entering, b = Float.infinity, c = Float.infinity, d = Float.infinity
        for i in 0..<q {
            let o = i * step
            a = min(row[first + o], a + 1); row[first + o] = a
            b = min(row[s1 + o], b + 1); row[s1 + o] = b
            c = min(row[s2 + o], c + 1); row[s2 + o] = c
            d = min(row[s3 + o], d + 1); row[s3 + o] = d
        }
        for i in q..<(count - 3 * q) {
            let p = s3 + i * step
            d = min(row[p], d + 1)
            row[p] = d
        }
        // The true value at the end of a run, given the true value `t` before it.
        @inline(__always) func correct(_ start: Int, _ length: Int, after t: Float, end: Float) -> Float {
            var t = t
            for i in 0..<length {
                let p = start + i * step, v = t + 1
                if v >= row[p] { return end }
                row[p] = v
                t = v
            }
            return t
        }
        let e1 = correct(s1, q, after: a, end: b)
        let e2 = correct(s2, q, after: e1, end: c)
        _ = correct(s3, count - 3 * q, after: e2, end: d)
    }

    /// For each pixel of the previous frame, the (bilinear) weight of the new frame's pixels whose flow
    /// points to it, those `skipping` marks left out: about 1 where the frames map one to one, more where
    /// several pixels of the new frame claim the same place (one of them has no true match there).
    ///
    /// With `reading` (one flag per pixel), only the pixels flagged there are wanted: a pixel of the new
    /// frame whose claim reaches none of them is passed over (each flagged one gets the same sum, the
    /// same additions in the same order).
    static func claims(_ flow: FlowField, skipping: [Bool], reading: [Bool]? = nil) -> [Float] {
        let w = flow.width, h = flow.height
        var out = [Float](repeating: 0, count: w * h)
        guard w > 0 && h > 0 else { return out }
        let maxX = Float(w - 1), maxY = Float(h - 1)
        // The cells whose claim reaches a wanted pixel: a claim at (x0, y0) reaches x0 … x0 + 1 and
        // y0 … y0 + 1, clamped to the frame.
        var reaches: [Bool] = []
        if let reading {
            reaches = reading
            reading.withUnsafeBufferPointer { R in
            reaches.withUnsafeMutableBufferPointer { E in
                for y in 0..<h {
                    for x in 0..<w where R[y * w + x] {
                        if x > 0 { E[y * w + x - 1] = true }
                        if y > 0 { E[(y - 1) * w + x] = true; if x > 0 { E[(y - 1) * w + x - 1] = true } }
                    }
                }
            }}
        }
        flow.u.withUnsafeBufferPointer { U in
        flow.v.withUnsafeBufferPointer { V in
        skipping.withUnsafeBufferPointer { S in
        reaches.withUnsafeBufferPointer { E in
        out.withUnsafeMutableBufferPointer { C in
            let all = E.isEmpty
            for y in 0..<h {
                for x in 0..<w {
                    let p = y * w + x
                    if S[p] { continue }
                    let sx = min(max(Float(x) + U[p], 0), maxX), sy = min(max(Float(y) + V[p], 0), maxY)
                    let x0 = Int(sx), y0 = Int(sy), x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
                    if !all && !E[y0 * w + x0] { continue }
                    let ax = sx - Float(x0), ay = sy - Float(y0)
                    C[y0 * w + x0] += (1 - ax) * (1 - ay)
                    C[y0 * w + x1] += ax * (1 - ay)
                    C[y1 * w + x0] += (1 - ax) * ay
                    C[y1 * w + x1] += ax * ay
                }
            }
        }}}}}
        return out
    }
}

/// The pyramids of a chunk of consecutive steps of a walk and the flow of each step back to the one before
/// (coarse when every object was away).
struct FlowChunk: Sendable {
    let steps: [Int]
    let absent: Bool
    let pyramids: [FlowPyramid]
    let flows: [FlowField]
    /// Each flow's `cropMargin`.
    let margins: [Int]
    /// The cues of the steps' frames measured with their flows, over a guessed region (nil where none
    /// were: see `walk`).
    let cues: [FrameCues?]
}

/// What the tracker's refinement reads of a frame that depends on no mask, over a region of the frame: its
/// flow trust (when a motion cue is on) and its texture states (when the texture cue is on), row-major
/// over the region. Each is the whole frame's value there (`flowTrust`, `TextureModel.states`), so any
/// region that holds an object's crop serves it with the values the crop would measure itself.
struct FrameCues: Sendable {
    let region: PixelRect
    let trust: [Float]?
    let states: [UInt8]?

    /// Whether the region holds all of `r`.
    func holds(_ r: PixelRect) -> Bool {
        r.x >= region.x && r.y >= region.y
            && r.x + r.width <= region.x + region.width && r.y + r.height <= region.y + region.height
    }

    /// The values of `cue` over `r` (which the region holds), row-major.
    func cut<T: Numeric>(_ cue: KeyPath<FrameCues, [T]?>, _ r: PixelRect) -> [T]? {
        self[keyPath: cue].map { values in
            r == region ? values : MaskTracker.crop(values, width: region.width, channels: 1, x: r.x - region.x,
                                                    y: r.y - region.y, width: r.width, height: r.height, zero: 0)
        }
    }
}

/// The cues of an object's crop: the previous frame's texture states, the next frame's states (nil: read
/// at the band's pixels as needed) and flow trust.
struct CropCues {
    let previousStates: [UInt8]?
    let states: [UInt8]?
    let trust: [Float]?
}

/// The last good view of an object (the label map it was in: shared, not copied), its largest area
/// seen, and the camera's motion and the steps since that view.
struct LostObject: Sendable {
    var labels: [UInt8]
    var peak: Int
    /// The mean colour log-likelihood ratio of the object's first view, under its anchor's model.
    var reference: Float
    /// The view's centroid (nil for a view found by a search), and the object's own motion per step (in
    /// the frame, smoothed) up to it.
    var centroid: (x: Float, y: Float)?
    var velocity: (x: Float, y: Float) = (0, 0)
    var dx: Float = 0
    var dy: Float = 0
    var steps = 0
    /// How far the first view's pixels moved against the camera (see `MaskTracker.ownMotion`).
    var motionReference: Float?
}

/// Object vs. nearby background colour histograms (RGB, 16 levels per channel), as probabilities.
struct ColourModel: Sendable {
    var fg: [Float]
    var bg: [Float]

    @inline(__always) static func bin(_ px: UnsafeBufferPointer<UInt8>, _ p: Int) -> Int {
        (Int(px[3 * p]) >> 4) << 8 | (Int(px[3 * p + 1]) >> 4) << 4 | Int(px[3 * p + 2]) >> 4
    }

    /// Object `tag` of `labels` on `image`; the background model uses pixels within `3 × band` of it.
    init(image: RGBImage, labels: [UInt8], tag: UInt8, band: Int) {
        let w = image.width, h = image.height, n = w * h
        var mask = [Float](repeating: 0, count: n), near = mask, tmp = mask
        labels.withUnsafeBufferPointer { L in
            mask.withUnsafeMutableBufferPointer { M in for p in 0..<n where L[p] == tag { M[p] = 1 } }
        }
        mask.withUnsafeBufferPointer { M in
            tmp.withUnsafeMutableBufferPointer { T in
                near.withUnsafeMutableBufferPointer { P in boxSum(M, P, T, width: w, height: h, radius: 3 * band) }
            }
        }
        var hf = [Float](repeating: 0, count: 4096), hb = hf
        var nf: Float = 0, nb: Float = 0
        image.pixels.withUnsafeBufferPointer { px in
        mask.withUnsafeBufferPointer { M in
        near.withUnsafeBufferPointer { P in
        hf.withUnsafeMutableBufferPointer { HF in
        hb.withUnsafeMutableBufferPointer { HB in
            // The counts in registers (locals), added to in the same order.
            var inObject: Float = 0, nearby: Float = 0
            for p in 0..<n {
                if M[p] > 0 { HF[Self.bin(px, p)] += 1; inObject += 1 } else if P[p] > 0.5 { HB[Self.bin(px, p)] += 1; nearby += 1 }
            }
            nf = inObject
            nb = nearby
        }}}}}
        self.init(objectCounts: hf, objectPixels: nf, backgroundCounts: hb, backgroundPixels: nb)
    }

    /// From the object's and the background's colour counts (4096 bins of `bin`) and pixel totals: each
    /// histogram blurred, floored and normalised.
    init(objectCounts hf: [Float], objectPixels nf: Float, backgroundCounts hb: [Float], backgroundPixels nb: Float) {
        let ff = max(nf, 1) * 1e-4 + 1e-3, fb = max(nb, 1) * 1e-4 + 1e-3
        fg = Self.blur(hf).map { ($0 + ff) / max(nf, 1) }
        bg = Self.blur(hb).map { ($0 + fb) / max(nb, 1) }
    }

    init(fg: [Float], bg: [Float]) {
        self.fg = fg
        self.bg = bg
    }

    /// `(1 − weight) · self + weight · other`.
    func mixed(with other: ColourModel, weight: Float) -> ColourModel {
        ColourModel(fg: zip(fg, other.fg).map { (1 - weight) * $0 + weight * $1 },
                    bg: zip(bg, other.bg).map { (1 - weight) * $0 + weight * $1 })
    }

    /// log P(colour | object) − log P(colour | background) per bin.
    func logRatio() -> [Float] { zip(fg, bg).map { logf($0) - logf($1) } }

    /// Separable (1 2 1) blur over the 16³ colour cube.
    static func blur(_ hist: [Float]) -> [Float] { blurredHistogram(hist, side: 16, dimensions: 3) }

}

extension MaskTracker {
    /// Tracks through `frames` (all at the same working size) from every anchor (frame index → labels of
    /// the objects marked there, in the anchor's own `objectIDs` order). Returns one label map per frame
    /// (label `i + 1` = `objectIDs[i]`, 0 = none). An anchor defines only the objects it names: on its
    /// frame and around it the others follow their own anchors. A frame between two anchors of an object
    /// blends the forward pass from the earlier one and the backward pass from the later one by temporal
    /// distance. Without anchors every frame is empty.
    public func track(frames: some RandomAccessCollection<RGBImage>, anchors: [Int: SelectionLabels],
                      objectIDs: [Int], step: Int = 1) -> [SelectionLabels] {
        var result: [SelectionLabels] = []
        stream(frames: Array(frames), anchors: anchors, objectIDs: objectIDs, step: step) { _, labels in
            result.append(labels)
        }
        return result
    }

    /// The tracking step for a clip of `fps` frames per second: the tracker is tuned and measured on clips
    /// of 24–30 fps, and a faster clip is tracked on every `step`-th frame (at 24 fps or more), the frames
    /// between interpolated from their two tracked neighbours.
    public static func step(framesPerSecond fps: Double) -> Int {
        fps.isFinite ? max(1, min(8, Int(fps / 24))) : 1
    }

    /// ``track(frames:anchors:objectIDs:)`` without holding the result: `onFinal` gets every frame once,
    /// in increasing frame order, as soon as its labels are final (after the last anchor: frame by
    /// frame), so a consumer can start at once and drop each frame when it is done with it.
    /// The frames are read in walking order, a few at a time (a lazy collection that decodes on access
    /// keeps memory bounded); each is read from several threads at once when `threads` > 1.
    ///
    /// With `step` > 1 only every `step`-th frame, every anchor and the last frame are tracked (the flow
    /// then spans the frames between); each frame between two tracked ones is interpolated from them
    /// (see ``interpolate(_:_:at:)``).
    public func stream<Frames: RandomAccessCollection & Sendable>(
        frames images: Frames, anchors: [Int: SelectionLabels], objectIDs: [Int], step: Int = 1,
        onFinal: (_ frame: Int, _ labels: SelectionLabels) -> Void
    ) where Frames.Element == RGBImage, Frames.Index == Int {
        streamFrames(frames: images, anchors: anchors, objectIDs: objectIDs, step: step) { onFinal($0, labels(of: $1)) }
    }

    /// A frame as ``streamFrames(frames:anchors:objectIDs:step:onFinal:)`` gives it: its labels, or what
    /// they are made from, to be made by whoever takes it (``labels(of:)``).
    public enum StreamedFrame: Sendable, Equatable {
        case labels(SelectionLabels)
        /// A frame between two tracked ones, a `fraction` (0…1) of the way from the first to the second
        /// (``interpolate(_:_:at:)``).
        case between(SelectionLabels, SelectionLabels, fraction: Float)
        /// A frame between two anchors: the forward pass from the earlier one and the backward pass from
        /// the later one, blended with `weight` on the first (``blend(_:weight:_:)``).
        case blended(SelectionLabels, SelectionLabels, weight: Float)
    }

    /// The labels of `frame`: an interpolated or blended frame is made now.
    public func labels(of frame: StreamedFrame) -> SelectionLabels {
        switch frame {
        case .labels(let labels): labels
        case .between(let a, let b, let fraction): interpolate(a, b, at: fraction)
        case .blended(let a, let b, let weight): blend(a, weight: weight, b)
        }
    }

    /// ``stream(frames:anchors:objectIDs:step:onFinal:)`` that leaves the frames between two tracked ones
    /// (with `step` > 1) to be interpolated, and those between two anchors to be blended, by the consumer:
    /// a preview's renderer, which waits for the tracker, makes them on its own thread instead of the
    /// tracker's.
    public func streamFrames<Frames: RandomAccessCollection & Sendable>(
        frames images: Frames, anchors: [Int: SelectionLabels], objectIDs: [Int], step: Int = 1,
        onFinal: (_ frame: Int, _ labels: StreamedFrame) -> Void
    ) where Frames.Element == RGBImage, Frames.Index == Int {
        precondition(images.startIndex == 0, "MaskTracker.stream: frames are indexed from 0")
        let count = images.count
        if step > 1 && count > 2 {
            var kept = Set(stride(from: 0, to: count, by: step))
            kept.insert(count - 1)
            for a in anchors.keys where a >= 0 && a < count { kept.insert(a) }
            let indices = kept.sorted()
            let position = Dictionary(uniqueKeysWithValues: indices.enumerated().map { ($1, $0) })
            var subsetAnchors: [Int: SelectionLabels] = [:]
            for (a, labels) in anchors { if let j = position[a] { subsetAnchors[j] = labels } }
            var last: (frame: Int, labels: SelectionLabels)?
            streamEveryFrame(frames: FrameSubset(base: images, frames: indices), anchors: subsetAnchors,
                             objectIDs: objectIDs) { j, frame in
                let t = indices[j], labels = self.labels(of: frame)
                if let (s, previous) = last {
                    for u in (s + 1)..<t { onFinal(u, .between(previous, labels, fraction: Float(u - s) / Float(t - s))) }
                }
                onFinal(t, .labels(labels))
                last = (t, labels)
            }
            return
        }
        streamEveryFrame(frames: images, anchors: anchors, objectIDs: objectIDs, onFinal: onFinal)
    }

    /// `streamFrames` with every frame tracked.
    private func streamEveryFrame<Frames: RandomAccessCollection & Sendable>(
        frames images: Frames, anchors: [Int: SelectionLabels], objectIDs: [Int],
        onFinal: (_ frame: Int, _ labels: StreamedFrame) -> Void
    ) where Frames.Element == RGBImage, Frames.Index == Int {
        let count = images.count
        guard let first = images.first else { return }
        let w = first.width, h = first.height
        let empty = SelectionLabels(width: w, height: h, labels: [UInt8](repeating: 0, count: w * h), objectIDs: objectIDs)
        let keys = anchors.keys.filter { $0 >= 0 && $0 < count }.sorted()
        if keys.isEmpty {
            for t in 0..<count { onFinal(t, .labels(empty)) }
            return
        }
        // Objects marked on different frames are tracked apart, each group from its own anchors.
        let groups = Dictionary(grouping: objectIDs.indices.prefix(255)) { k in
            keys.filter { anchors[$0]!.objectIDs.contains(objectIDs[k]) }
        }
        if groups.count > 1 || groups.keys.first?.count != keys.count {
            streamGroups(frames: images, anchors: anchors, objectIDs: objectIDs,
                         groups: groups.filter { !$0.key.isEmpty }.values.sorted { $0[0] < $1[0] }, empty: empty) {
                onFinal($0, .labels($1))
            }
            return
        }
        // Each anchor's labels (in `objectIDs` order) and colour models.
        let prepared: [(labels: SelectionLabels, models: [Int: ColourModel])] = keys.map { a in
            let anchor = anchors[a]!.relabelled(onto: objectIDs)
            var models: [Int: ColourModel] = [:]
            if configuration.anchorColourWeight > 0 {
                var present = [Bool](repeating: false, count: 256)
                for v in anchor.labels { present[Int(v)] = true }
                for k in 0..<objectIDs.count where k < 255 && present[k + 1] {
                    models[k] = ColourModel(image: images[a], labels: anchor.labels, tag: UInt8(k + 1), band: bandWidth(w, h))
                }
            }
            return (anchor, models)
        }
        // Segment by segment, so that frames become final in increasing order: before the first anchor
        // (its backward pass), between two anchors (the forward pass of the first blended with the
        // backward pass of the second, the two walked at once on two threads when `threads` > 1), after
        // the last anchor (its forward pass, each frame final as soon as it is reached). With `threads`
        // > 1 the walks from the first anchor on start at once with the one before it.
        let a0 = keys[0]
        // From the first anchor on: its segments, then the walk after the last anchor.
        let onwards = { @Sendable [self] (emit: (_ frame: Int, _ labels: StreamedFrame) -> Void) in
            for (ai, a) in keys.enumerated() {
                emit(a, .labels(prepared[ai].labels))
                if ai + 1 < keys.count {
                    let b = keys[ai + 1]
                    let later = prepared[ai + 1]
                    let walkBack = { @Sendable [self] in
                        walk(images, Array(stride(from: b, to: a, by: -1)), from: later.labels, models: later.models)
                    }
                    let backwards = configuration.threads > 1 ? Pending(walkBack) : nil
                    let ahead = walk(images, Array(a..<b), from: prepared[ai].labels, models: prepared[ai].models)
                    let behind = backwards?.value ?? walkBack()
                    for t in (a + 1)..<b {
                        emit(t, .blended(ahead[t - a - 1], behind[b - 1 - t], weight: Float(b - t) / Float(b - a)))
                    }
                } else {
                    _ = walk(images, Array(a..<count), from: prepared[ai].labels, models: prepared[ai].models,
                             collect: false) { emit($0, .labels($1)) }
                }
            }
        }
        // The frames before the first anchor are final only once their backward walk ends: meanwhile the
        // frames from the anchor on are walked on another thread, and held until then.
        let held = a0 > 0 && configuration.threads > 1 ? Handoff<(Int, StreamedFrame)>() : nil
        let later = held.map { held in
            JoinableThread {
                onwards { held.put(($0, $1)) }
                held.finish()
            }
        }
        let before = walk(images, Array(stride(from: a0, through: 0, by: -1)), from: prepared[0].labels,
                          models: prepared[0].models)
        for t in 0..<a0 { onFinal(t, .labels(before[a0 - 1 - t])) }
        if let held, let later {
            while let (t, frame) = held.take() { onFinal(t, frame) }
            later.join()
        } else {
            onwards(onFinal)
        }
    }

    /// `stream` for objects whose anchors differ: each group of objects marked on the same frames (indices
    /// into `objectIDs`) is tracked from those frames alone; the groups' labels are merged frame by frame
    /// (where two overlap, the group of the earlier object wins). Every group but the last is held whole.
    private func streamGroups<Frames: RandomAccessCollection & Sendable>(
        frames images: Frames, anchors: [Int: SelectionLabels], objectIDs: [Int], groups: [[Int]],
        empty: SelectionLabels, onFinal: (_ frame: Int, _ labels: SelectionLabels) -> Void
    ) where Frames.Element == RGBImage, Frames.Index == Int {
        if groups.isEmpty {
            for t in 0..<images.count { onFinal(t, empty) }
            return
        }
        var held: [[SelectionLabels]] = []
        for (gi, group) in groups.enumerated() {
            let ids = group.map { objectIDs[$0] }
            // The anchors of this group's objects, with only their labels.
            let own = anchors.filter { $0.value.objectIDs.contains(where: ids.contains) }
                .mapValues { $0.relabelled(onto: ids) }
            let last = gi == groups.count - 1
            var frames: [SelectionLabels] = []
            stream(frames: images, anchors: own, objectIDs: ids) { t, labels in
                guard last else { frames.append(labels); return }
                var out = empty
                out.labels.withUnsafeMutableBufferPointer { o in
                    for (hi, h) in held.enumerated() {
                        let g = groups[hi]
                        h[t].labels.withUnsafeBufferPointer { l in
                            for p in 0..<o.count where o[p] == 0 && l[p] != 0 { o[p] = UInt8(g[Int(l[p]) - 1] + 1) }
                        }
                    }
                    labels.labels.withUnsafeBufferPointer { l in
                        for p in 0..<o.count where o[p] == 0 && l[p] != 0 { o[p] = UInt8(group[Int(l[p]) - 1] + 1) }
                    }
                }
                onFinal(t, out)
            }
            if !last { held.append(frames) }
        }
    }

    /// Propagates `start` (the labels of `images[path[0]]`) along `path` (consecutive frame indices);
    /// returns the labels of `path[1...]` (nothing when `collect` is false; each is also given to `onStep`
    /// as it is made). The flows of the next steps (they do not depend on the masks) are measured in
    /// parallel, a chunk at a time, the next chunk on the other threads while this one is refined; only
    /// the pyramids of two chunks are held.
    func walk<Frames: RandomAccessCollection & Sendable>(
        _ images: Frames, _ path: [Int], from start: SelectionLabels, models: [Int: ColourModel], collect: Bool = true,
        onStep: (_ frame: Int, _ labels: SelectionLabels) -> Void = { _, _ in }
    ) -> [SelectionLabels] where Frames.Element == RGBImage, Frames.Index == Int {
        guard path.count > 1 else { return [] }
        let threads = max(1, configuration.threads)
        let chunk = threads == 1 ? 1 : 4 * threads
        let engine = flowEngine
        let coarse = { var c = engine; c.finestLevel = max(engine.finestLevel, 3); return c }()
        var out: [SelectionLabels] = []
        if collect { out.reserveCapacity(path.count - 1) }
        var cur = start
        // Objects that left the frame or were hidden: their last good view, followed with the camera.
        var lost: [Int: LostObject] = [:]
        // Each object's colour log-likelihood ratios from its anchor's model, at label << 12 | colour bin
        // (0 for labels without a model).
        var ratioTable = [Float](repeating: 0, count: (min(start.objectIDs.count, 255) + 1) << 12)
        for (k, m) in models where (k + 1) << 12 < ratioTable.count {
            ratioTable.replaceSubrange((k + 1) << 12 ..< (k + 2) << 12, with: m.logRatio())
        }
        // The flows of a chunk of steps do not depend on the masks, so the next chunk is measured on
        // another thread while this one is refined. `absent`: every object is away, so only the camera's
        // motion is needed and a coarse flow does.
        // The cues of a frame that depend on no mask (flow trust, texture states) are measured with the
        // flows, off this thread, over a region guessed to hold the objects' crops: their boxes when the
        // chunk is scheduled, grown by the chunk's largest crop margin and `cueSlack` bands for what the
        // objects move meanwhile. A crop the region misses measures its own (the same values: see
        // `FrameCues`), so the result is the same with any number of threads. On one thread nothing is
        // measured ahead: each crop measures its own, and the next frame's states only where read.
        let band = bandWidth(start.width, start.height)
        let ahead = threads > 1 && (configuration.motionWeight > 0 || configuration.independentMotion > 0
                                    || configuration.textureWeight > 0)
        @Sendable func measure(_ start: Int, after previous: FlowPyramid, absent: Bool, threads: Int,
                               guess: SelectionLabels) -> FlowChunk {
            let steps = Array(path[start..<min(path.count, start + chunk)])
            let pyramids = parallelMap(steps.count, threads: threads) { FlowPyramid(images[steps[$0]]) }
            let stepEngine = absent ? coarse : engine
            let flows = parallelMap(steps.count, threads: threads) { k in
                stepEngine.compute(from: pyramids[k], to: k == 0 ? previous : pyramids[k - 1])
            }
            let margins = flows.map { Self.cropMargin($0, band: band) }
            // The smallest rectangle that holds every object's guessed crop (nil: no object).
            let region: PixelRect? = ahead && !absent ? {
                let margin = (margins.max() ?? 0) + Self.cueSlack * band
                return Self.objectBoxes(guess).dropFirst().filter { $0.x1 >= 0 }
                    .map { Self.cropRegion($0, margin: margin, width: guess.width, height: guess.height) }
                    .reduce(nil) { (held: PixelRect?, crop: PixelRect) -> PixelRect? in
                        guard let held else { return crop }
                        let x0 = min(held.x, crop.x), y0 = min(held.y, crop.y)
                        return (x0, y0, max(held.x + held.width, crop.x + crop.width) - x0,
                                max(held.y + held.height, crop.y + crop.height) - y0)
                    }
            }() : nil
            let measured = parallelMap(steps.count, threads: threads) { k -> FrameCues? in
                region.map { cues(of: images[steps[k]], region: $0) }
            }
            return FlowChunk(steps: steps, absent: absent, pyramids: pyramids, flows: flows, margins: margins, cues: measured)
        }
        var next: Pending<FlowChunk>?
        var previousPyramid = FlowPyramid(images[path[0]])
        var previousCues: FrameCues?
        var i = 1
        while i < path.count {
            if cancellation?.isRaised == true || (cur.isEmpty && lost.isEmpty) {
                // Stopped (see `cancellation`), or every object is gone for good: the rest of the path
                // keeps what it has (empty, in the second case).
                for t in path[i...] {
                    if collect { out.append(cur) }
                    onStep(t, cur)
                }
                break
            }
            // The chunk measured ahead while the last one was refined, or now.
            let absentNow = cur.isEmpty
            let current = next?.value ?? measure(i, after: previousPyramid, absent: absentNow, threads: threads, guess: cur)
            let end = i + current.steps.count
            next = nil
            if threads > 1 && end < path.count {
                let last = current.pyramids[current.steps.count - 1]
                let guess = cur
                next = Pending { measure(end, after: last, absent: absentNow, threads: threads - 1, guess: guess) }
            }
            for k in 0..<current.steps.count {
                let step = current.steps[k]
                // A chunk assumes the objects' presence (fine or coarse flow) before its steps are
                // refined: a step where it changed is measured again, so the result is the same as with
                // one step at a time.
                let absent = k == 0 ? absentNow : cur.isEmpty
                let measured = absent == current.absent
                let flow = measured ? current.flows[k]
                    : (absent ? coarse : engine).compute(from: current.pyramids[k],
                                                         to: k == 0 ? previousPyramid : current.pyramids[k - 1])
                // The objects' boxes and the regions' margin, found once for the step's objects (the margin
                // with the flow, when the chunk measured it).
                let boxes = Self.objectBoxes(cur)
                let margin = measured ? current.margins[k] : Self.cropMargin(flow, band: band)
                cur = propagate(images[path[i + k - 1]], mask: cur, images[step], flow: flow, anchorModels: models,
                                cues: (k == 0 ? previousCues : current.cues[k - 1], current.cues[k]),
                                margin: margin, boxes: boxes)
                reacquire(&cur, lost: &lost, image: images[step], flow: flow, models: models, ratios: ratioTable)
                dropStillParts(&cur, flow: flow)
                if collect { out.append(cur) }
                onStep(step, cur)
            }
            previousPyramid = current.pyramids[current.steps.count - 1]
            previousCues = current.cues[current.steps.count - 1]
            i = end
        }
        _ = next?.value  // a chunk measured ahead for nothing is waited for, not left running
        return out
    }

    /// Remembers every object's last good view in `cur` (at least half its largest area, with colours at
    /// least `doubtFraction` as object-like as in its first view) and looks for the objects it no longer
    /// holds well: below a tenth of that area (gone, hidden, or lost by the tracker), with doubtful
    /// colours (the mask slid onto background), or moving with the camera although it moved against it
    /// at first, its colours faded (`motionDoubt`: the mask holds only background it took in). The last
    /// good view is tried where the camera's motion (the median flow) has taken it since, where it was in
    /// the frame (a camera that follows the object) and where its own motion would have taken it (an
    /// object walking on behind something),
    /// each place more than a band from the others, each refined on this frame against the anchor's
    /// colour model alone. The best is taken back when it is at least 16 pixels, at most twice the largest area
    /// seen, and looks like the object (mean colour log-likelihood ratio ≥ 1 or ≥ `reacquireFraction` of
    /// its first view's, and for a doubtful object `doubtMargin` above what it holds). Forgotten after
    /// `maxLostSteps` steps.
    func reacquire(_ cur: inout SelectionLabels, lost: inout [Int: LostObject], image: RGBImage, flow: FlowField,
                   models: [Int: ColourModel], ratios table: [Float]) {
        let w = cur.width, h = cur.height, n = w * h
        var area = [Int](repeating: 0, count: 256)
        var colour = [Float](repeating: 0, count: 256)
        var sumX = [Float](repeating: 0, count: 256), sumY = sumX
        // Each object's mean colour log-likelihood ratio under its anchor's model: an object whose pixels
        // look clearly like its background (mean below −1; say it went behind something) is dropped, to
        // be looked for below.
        let objects = min(cur.objectIDs.count, 255)
        image.pixels.withUnsafeBufferPointer { px in
        cur.labels.withUnsafeBufferPointer { L in
        table.withUnsafeBufferPointer { T in
        area.withUnsafeMutableBufferPointer { A in
        colour.withUnsafeMutableBufferPointer { C in
            forEachLabelled(L, width: w, height: h) { x, y, p, v in
                A[v] += 1
                if v <= objects {
                    C[v] += max(-4, min(4, T[v << 12 | ColourModel.bin(px, p)]))
                    sumX[v] += Float(x)
                    sumY[v] += Float(y)
                }
            }
        }}}}}
        // The objects' own motion (`ownMotion`), measured only when a rule reads it: for a first view, and
        // for an object whose colours have faded.
        var measured: [Float?]?
        func own(_ k: Int) -> Float? {
            guard configuration.motionDoubt > 0 else { return nil }
            if measured == nil { measured = Self.ownMotion(cur, flow: flow, objects: objects) }
            return measured![k]
        }
        for k in 0..<objects where area[k + 1] > 0 && models[k] != nil && colour[k + 1] < -Float(area[k + 1]) {
            let tag = UInt8(k + 1)
            for p in 0..<n where cur.labels[p] == tag { cur.labels[p] = 0 }
            area[k + 1] = 0
        }
        // A good view is remembered; an object below a tenth of its largest area, or with doubtful
        // colours, is looked for.
        var missing: [Int] = []
        var good = Set<Int>()
        var held = [Float](repeating: 0, count: objects)
        for k in 0..<objects {
            let a = area[k + 1]
            held[k] = a > 0 ? colour[k + 1] / Float(a) : 0
            let peak = max(lost[k]?.peak ?? 0, a)
            let reference = lost[k]?.reference ?? held[k]
            let motionReference = lost[k] == nil ? own(k) : lost[k]!.motionReference
            let judged = models[k] != nil && a > 0 && reference > 0
            var doubtful = judged && held[k] < configuration.doubtFraction * reference
            if judged, !doubtful, held[k] < configuration.motionDoubtColour * reference,
               let m0 = motionReference, m0 >= configuration.motionDoubt, let m = own(k), m < 0.25 * m0 {
                doubtful = true
            }
            if a > 0 && 2 * a >= peak && !doubtful {
                let c = (x: sumX[k + 1] / Float(a), y: sumY[k + 1] / Float(a))
                var velocity: (x: Float, y: Float) = lost[k]?.velocity ?? (0, 0)
                if let last = lost[k], last.steps == 0, let before = last.centroid {
                    // Seen well on the step before too: the centroid's move is the object's own motion.
                    velocity = ((velocity.x + c.x - before.x) / 2, (velocity.y + c.y - before.y) / 2)
                }
                lost[k] = LostObject(labels: cur.labels, peak: peak, reference: reference, centroid: c, velocity: velocity,
                                     motionReference: motionReference)
                good.insert(k)
            } else if lost[k] != nil {
                lost[k]!.peak = peak
                if 10 * a < peak || doubtful { missing.append(k) } else { lost[k]!.steps += 1 }
            }
        }
        // Objects out of good view follow the camera's motion: the median flow (next → previous), sampled.
        let following = lost.keys.filter { !good.contains($0) }
        if following.isEmpty { return }
        var us: [Float] = [], vs: [Float] = []
        for p in stride(from: 0, to: n, by: 29) { us.append(flow.u[p]); vs.append(flow.v[p]) }
        us.sort(); vs.sort()
        let mu = us.isEmpty ? 0 : us[us.count / 2], mv = vs.isEmpty ? 0 : vs[vs.count / 2]
        for k in following { lost[k]!.dx -= mu; lost[k]!.dy -= mv }
        let band = bandWidth(w, h)
        for k in missing {
            guard var object = lost[k] else { continue }
            object.steps += 1
            if object.steps > Self.maxLostSteps { lost[k] = nil; continue }
            lost[k] = object
            // Looked for on every frame at first, then on every fourth.
            guard let model = models[k], object.steps <= 8 || object.steps % 4 == 0 else { continue }
            let tag = UInt8(k + 1)
            let camera = (x: Int(object.dx.rounded()), y: Int(object.dy.rounded()))
            let own = (x: Int((object.velocity.x * Float(object.steps)).rounded()),
                       y: Int((object.velocity.y * Float(object.steps)).rounded()))
            var places = [camera]
            for place in [(x: 0, y: 0), own] where places.allSatisfy({ abs($0.x - place.x) + abs($0.y - place.y) > band }) {
                places.append(place)
            }
            var best: (labels: [UInt8], count: Int, mean: Float)?
            for place in places {
                guard let r = search(tag: tag, view: object.labels, shift: place, in: cur.labels, image: image,
                                     model: model, ratios: table), r.count >= 16, r.count <= 2 * object.peak
                else { continue }
                let mean = r.score / Float(r.count)
                if mean > best?.mean ?? -.infinity { best = (r.labels, r.count, mean) }
            }
            // Looks like the object: a mean ratio of 1, or `reacquireFraction` of its first view's.
            let looksLikeIt = min(1, configuration.reacquireFraction * object.reference)
            guard let best, best.mean >= looksLikeIt,
                  area[k + 1] == 0 || best.mean >= held[k] + configuration.doubtMargin else { continue }
            for p in 0..<n where best.labels[p] != 0 { cur.labels[p] = tag }
            for p in 0..<n where cur.labels[p] == tag && best.labels[p] == 0 { cur.labels[p] = 0 }
            lost[k] = LostObject(labels: cur.labels, peak: max(object.peak, best.count), reference: object.reference,
                                 centroid: nil, velocity: object.velocity, motionReference: object.motionReference)
        }
    }

    /// Per object, how far its pixels move against the camera: the 75th percentile of their residual to
    /// the affine motion fitted to the flow of the pixels no object holds (every fourth pixel each way);
    /// nil for an object with too few pixels, or when the camera cannot be fitted.
    static func ownMotion(_ labels: SelectionLabels, flow: FlowField, objects: Int) -> [Float?] {
        guard let (_, residual, tags) = camera(labels, flow: flow) else { return [Float?](repeating: nil, count: objects) }
        var per = [[Float]](repeating: [], count: objects + 1)
        for i in 0..<residual.count where tags[i] != 0 && Int(tags[i]) <= objects { per[Int(tags[i])].append(residual[i]) }
        return (0..<objects).map { k in
            var r = per[k + 1]
            guard r.count >= 16 else { return nil }
            r.sort()
            return r[r.count * 3 / 4]
        }
    }

    /// The camera's motion: the affine motion fitted to the flow of the pixels no object of `labels` holds,
    /// sampled at every `spacing`-th pixel each way; with every sample's residual and label. Nil when the
    /// flow is not the labels' size or the camera cannot be fitted.
    static func camera(_ labels: SelectionLabels, flow: FlowField,
                       spacing: Int = 4) -> (camera: [[Double]], residual: [Float], tags: [UInt8])? {
        let w = labels.width, h = labels.height
        guard flow.width == w, flow.height == h else { return nil }
        var xs: [Float] = [], ys: [Float] = [], us: [Float] = [], vs: [Float] = [], ws: [Float] = [], tags: [UInt8] = []
        for y in stride(from: 0, to: h, by: spacing) {
            for x in stride(from: 0, to: w, by: spacing) {
                let p = y * w + x, v = labels.labels[p]
                xs.append(Float(x)); ys.append(Float(y)); us.append(flow.u[p]); vs.append(flow.v[p])
                ws.append(v == 0 ? 1 : 0); tags.append(v)
            }
        }
        guard let (camera, residual) = IndependentMotion.fitCamera(x: xs, y: ys, u: us, v: vs, weights: ws, width: w, height: h)
        else { return nil }
        return (camera, residual, tags)
    }

    /// Drops the detached parts (8-connected) of every object that move with the camera while its largest
    /// part moves against it (`stillParts`): what the mask took in and left behind on the background.
    func dropStillParts(_ cur: inout SelectionLabels, flow: FlowField) {
        let w = cur.width, h = cur.height, objects = min(cur.objectIDs.count, 255)
        guard configuration.stillParts > 0, flow.width == w, flow.height == h else { return }
        let box = cur.labels.withUnsafeBufferPointer { labelBoxes($0, width: w, height: h, labels: objects) }
        var fitted: [[Double]]??
        let sx = 2 / Float(w), sy = 2 / Float(h)
        // A part's residuals in bins of 1/20 px: its 75th percentile without a sort.
        let bins = 256, binScale: Float = 20
        for k in 1...max(1, objects) where box[k].x1 >= 0 {
            let b = box[k], bw = b.x1 - b.x0 + 1, bh = b.y1 - b.y0 + 1, tag = UInt8(k)
            var fg = [UInt8](repeating: 0, count: bw * bh)
            cur.labels.withUnsafeBufferPointer { L in
                fg.withUnsafeMutableBufferPointer { F in
                    for y in 0..<bh { for x in 0..<bw where L[(b.y0 + y) * w + b.x0 + x] == tag { F[y * bw + x] = 1 } }
                }
            }
            let (part, areas) = connectedComponents(fg, width: bw, height: bh)
            guard areas.count > 1 else { continue }
            // The camera from every eighth pixel each way: a quarter of the samples `ownMotion` fits to.
            if fitted == nil { fitted = Self.camera(cur, flow: flow, spacing: 8)?.camera }
            guard let camera = fitted ?? nil else { return }
            // The camera's motion at (x, y): c0 + cx·x + cy·y for u and for v, in pixels.
            let cu = (Float(camera[0][0] - camera[0][1] - camera[0][2]), Float(camera[0][1]) * sx, Float(camera[0][2]) * sy)
            let cv = (Float(camera[1][0] - camera[1][1] - camera[1][2]), Float(camera[1][1]) * sx, Float(camera[1][2]) * sy)
            var histogram = [Int](repeating: 0, count: areas.count * bins)
            flow.u.withUnsafeBufferPointer { U in
            flow.v.withUnsafeBufferPointer { V in
            part.withUnsafeBufferPointer { P in
            histogram.withUnsafeMutableBufferPointer { H in
                for y in 0..<bh {
                    let fy = Float(b.y0 + y)
                    for x in 0..<bw where P[y * bw + x] >= 0 {
                        let p = (b.y0 + y) * w + b.x0 + x, fx = Float(b.x0 + x)
                        let du = U[p] - (cu.0 + cu.1 * fx + cu.2 * fy), dv = V[p] - (cv.0 + cv.1 * fx + cv.2 * fy)
                        // (A residual past the last bin, or not a number, counts in the last bin.)
                        let r = (du * du + dv * dv).squareRoot() * binScale
                        H[Int(P[y * bw + x]) * bins + (r < Float(bins - 1) ? Int(r) : bins - 1)] += 1
                    }
                }
            }}}}
            func upperQuartile(_ c: Int) -> Float {
                var seen = 0
                for i in 0..<bins {
                    seen += histogram[c * bins + i]
                    if 4 * seen > 3 * areas[c] { return Float(i) / binScale }
                }
                return Float(bins) / binScale
            }
            let largest = areas.indices.max { areas[$0] < areas[$1] }!
            let own = upperQuartile(largest)
            guard own >= 1.5 else { continue }
            let still = (0..<areas.count).map { $0 != largest && upperQuartile($0) < configuration.stillParts * own }
            guard still.contains(true) else { continue }
            for y in 0..<bh {
                for x in 0..<bw where part[y * bw + x] >= 0 && still[Int(part[y * bw + x])] { cur.labels[(b.y0 + y) * w + b.x0 + x] = 0 }
            }
        }
    }

    /// Object `tag` of the label map `view`, moved by `shift` pixels onto this frame (where no other object
    /// of `labels` is) and refined three times against the object's colours `model` alone, since each pass
    /// can move the boundary by a band only (the object has moved on since it was seen): the labels found,
    /// their pixel count and their summed colour log-likelihood ratio; nil when the view falls outside.
    func search(tag: UInt8, view: [UInt8], shift: (x: Int, y: Int), in labels: [UInt8], image: RGBImage,
                model: ColourModel, ratios table: [Float]) -> (labels: [UInt8], count: Int, score: Float)? {
        let w = image.width, h = image.height, n = w * h
        var candidate = [UInt8](repeating: 0, count: n)
        var inside = 0
        for y in 0..<h {
            let oy = y - shift.y
            if oy < 0 || oy >= h { continue }
            for x in 0..<w {
                let ox = x - shift.x
                if ox < 0 || ox >= w || view[oy * w + ox] != tag || (labels[y * w + x] != 0 && labels[y * w + x] != tag) { continue }
                candidate[y * w + x] = tag
                inside += 1
            }
        }
        if inside == 0 { return nil }
        var found = 0
        var score: Float = 0
        for pass in 0..<3 {
            let r = refineObject(tag: tag, previous: image, labels: candidate, next: image,
                                 flow: FlowField(width: w, height: h), anchorModel: model, anchorWeight: 1,
                                 localColour: false)
            var next = [UInt8](repeating: 0, count: n)
            var count = 0
            var sum: Float = 0
            image.pixels.withUnsafeBufferPointer { px in
                for ly in 0..<r.roi.height {
                    for lx in 0..<r.roi.width where r.fg[ly * r.roi.width + lx] {
                        let p = (r.roi.y + ly) * w + r.roi.x + lx
                        if labels[p] != 0 && labels[p] != tag { continue }
                        next[p] = tag
                        count += 1
                        sum += max(-4, min(4, table[Int(tag) << 12 | ColourModel.bin(px, p)]))
                    }
                }
            }
            if pass > 0 && count == 0 { break }
            candidate = next
            found = count
            score = sum
            if found == 0 { break }
        }
        return (candidate, found, score)
    }

    /// Steps a lost object is looked for before it is forgotten.
    static let maxLostSteps = 150

    /// Blends two label maps of the same frame: per object, `weight ×` the soft indicator of `a` plus
    /// `(1 − weight) ×` that of `b`; a pixel takes the object with the highest blended score when it is at
    /// least 0.5, else no object. Where the passes disagree the boundary moves between them smoothly. The
    /// soft indicator is `edgePrior` with `priorEdgeScale` (the box mean over a quarter band when that is
    /// 0, which loses parts thinner than about half the box even where both passes hold them).
    public func blend(_ a: SelectionLabels, weight: Float, _ b: SelectionLabels) -> SelectionLabels {
        blend(a, weight: weight, b, shifts: [:])
    }

    /// The labels of a frame a `fraction` (0…1) of the way from frame `a` to frame `b`, both tracked: each
    /// object present in both is moved along its centroid's displacement (`a`'s view forwards, `b`'s
    /// backwards, to where the object is at that moment), and the two views are blended by temporal
    /// distance (``blend(_:weight:_:)``).
    public func interpolate(_ a: SelectionLabels, _ b: SelectionLabels, at fraction: Float) -> SelectionLabels {
        let ca = a.centroids(), cb = b.centroids()
        var shifts: [UInt8: (a: (x: Int, y: Int), b: (x: Int, y: Int))] = [:]
        for (tag, pa) in ca {
            guard let pb = cb[tag] else { continue }
            let dx = pb.x - pa.x, dy = pb.y - pa.y
            shifts[tag] = ((Int((fraction * dx).rounded()), Int((fraction * dy).rounded())),
                           (Int((-(1 - fraction) * dx).rounded()), Int((-(1 - fraction) * dy).rounded())))
        }
        return blend(a, weight: 1 - fraction, b, shifts: shifts)
    }

    /// ``blend(_:weight:_:)`` with object `tag` of `a` read moved by `shifts[tag].a` pixels and of `b` by
    /// `shifts[tag].b`.
    func blend(_ a: SelectionLabels, weight: Float, _ b: SelectionLabels,
               shifts: [UInt8: (a: (x: Int, y: Int), b: (x: Int, y: Int))]) -> SelectionLabels {
        let w = a.width, h = a.height, n = w * h
        var out = [UInt8](repeating: 0, count: n)
        var best = [Float](repeating: 0.5, count: n)
        var present = [Bool](repeating: false, count: 256)
        for v in a.labels { present[Int(v)] = true }
        for v in b.labels { present[Int(v)] = true }
        let edgeScale = configuration.priorEdgeScale
        let r = max(1, bandWidth(w, h) / 4)
        let popX = windowSpans(w, radius: r), popY = windowSpans(h, radius: r)
        var ind = [Float](repeating: 0, count: n)
        // The box means' buffers, only for the box blend.
        var sa: [Float] = edgeScale > 0 ? [] : ind, sb = sa, tmp = sa
        for tag in 1..<256 where present[tag] {
            let t = UInt8(tag)
            let shift = shifts[t]
            Self.indicator(of: t, in: a.labels, moved: shift?.a ?? (0, 0), width: w, height: h, into: &ind)
            if edgeScale > 0 {
                // Each view as the logistic of the signed distance to its edge (as the warped prior): where
                // the two agree the blend is exactly their mask, thin parts included; where they differ
                // it passes smoothly from one to the other. Computed on the views' bounding box grown by
                // the distance's cap; outside it both views score under 0.05.
                let ia = ind
                Self.indicator(of: t, in: b.labels, moved: shift?.b ?? (0, 0), width: w, height: h, into: &ind)
                var x0 = w, y0 = h, x1 = -1, y1 = -1
                for y in 0..<h {
                    for x in 0..<w where ia[y * w + x] > 0 || ind[y * w + x] > 0 {
                        x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = y
                    }
                }
                if x1 < 0 { continue }
                let margin = Int(Self.edgePriorCap(scale: edgeScale).rounded(.up)) + 1
                x0 = max(0, x0 - margin); y0 = max(0, y0 - margin)
                x1 = min(w - 1, x1 + margin); y1 = min(h - 1, y1 + margin)
                let cw = x1 - x0 + 1, ch = y1 - y0 + 1
                let qa = Self.edgePrior(hard: Self.crop(ia, width: w, channels: 1, x: x0, y: y0, width: cw, height: ch, zero: 0),
                                        width: cw, height: ch, scale: edgeScale)
                let qb = Self.edgePrior(hard: Self.crop(ind, width: w, channels: 1, x: x0, y: y0, width: cw, height: ch, zero: 0),
                                        width: cw, height: ch, scale: edgeScale)
                for y in 0..<ch {
                    for x in 0..<cw {
                        let score = weight * qa[y * cw + x] + (1 - weight) * qb[y * cw + x], p = (y0 + y) * w + x0 + x
                        if score >= best[p] { best[p] = score; out[p] = t }
                    }
                }
                continue
            }
            ind.withUnsafeBufferPointer { I in
                tmp.withUnsafeMutableBufferPointer { T in
                    sa.withUnsafeMutableBufferPointer { S in boxSum(I, S, T, width: w, height: h, radius: r) }
                }
            }
            Self.indicator(of: t, in: b.labels, moved: shift?.b ?? (0, 0), width: w, height: h, into: &ind)
            ind.withUnsafeBufferPointer { I in
                tmp.withUnsafeMutableBufferPointer { T in
                    sb.withUnsafeMutableBufferPointer { S in boxSum(I, S, T, width: w, height: h, radius: r) }
                }
            }
            for y in 0..<h {
                for x in 0..<w {
                    let p = y * w + x
                    let score = (weight * sa[p] + (1 - weight) * sb[p]) / (popX[x] * popY[y])
                    if score >= best[p] { best[p] = score; out[p] = t }
                }
            }
        }
        return SelectionLabels(width: w, height: h, labels: out, objectIDs: a.objectIDs)
    }

    /// 1 where `labels` (moved by `shift` pixels) holds `tag`, else 0.
    static func indicator(of tag: UInt8, in labels: [UInt8], moved shift: (x: Int, y: Int), width w: Int, height h: Int,
                          into ind: inout [Float]) {
        labels.withUnsafeBufferPointer { l in
            ind.withUnsafeMutableBufferPointer { o in
                if shift == (0, 0) {
                    for p in 0..<o.count { o[p] = l[p] == tag ? 1 : 0 }
                    return
                }
                for y in 0..<h {
                    let sy = y - shift.y
                    for x in 0..<w {
                        let sx = x - shift.x
                        o[y * w + x] = sx >= 0 && sx < w && sy >= 0 && sy < h && l[sy * w + sx] == tag ? 1 : 0
                    }
                }
            }
        }
    }
}

/// The frames of `base` at `frames` (increasing indices), indexed from 0.
struct FrameSubset<Base: RandomAccessCollection & Sendable>: RandomAccessCollection, Sendable
where Base.Element == RGBImage, Base.Index == Int {
    let base: Base
    let frames: [Int]
    var startIndex: Int { 0 }
    var endIndex: Int { frames.count }
    subscript(position: Int) -> RGBImage { base[frames[position]] }
}
