import Foundation
@testable import RotoVision
import Synchronization
import Testing

/// Deterministic smooth value noise in [0, 1] (lattice `cell` pixels, bilinear).
private func valueNoise(_ x: Double, _ y: Double, cell: Double, seed: UInt64) -> Double {
    @inline(__always) func hash(_ i: Int, _ j: Int) -> Double {
        var z = UInt64(bitPattern: Int64(i &* 73856093 ^ j &* 19349663)) &+ seed &* 0x9E3779B97F4A7C15
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }
    let fx = x / cell, fy = y / cell
    let i = Int(floor(fx)), j = Int(floor(fy))
    let ax = fx - Double(i), ay = fy - Double(j)
    let sx = ax * ax * (3 - 2 * ax), sy = ay * ay * (3 - 2 * ay)
    let a = hash(i, j) * (1 - sx) + hash(i + 1, j) * sx
    let b = hash(i, j + 1) * (1 - sx) + hash(i + 1, j + 1) * sx
    return a * (1 - sy) + b * sy
}

/// A shape drawn on a frame: membership and texture in the object's own coordinates.
private struct TrackShape {
    /// Membership test in frame coordinates.
    var inside: (Double, Double) -> Bool
    /// Maps frame coordinates to texture coordinates (so the texture moves with the object).
    var local: (Double, Double) -> (Double, Double)
    var base: (Double, Double, Double)
    var seed: UInt64
}

/// Synthetic clip frames and truth masks.
private struct TrackClip {
    var width: Int
    var height: Int
    var frames: [RGBImage] = []
    /// truth[t][k] = mask of shape k on frame t.
    var truth: [[Mask]] = []

    /// `pan`: the background's motion in pixels a frame (a panning camera); `cover(t, x, y)`: the colour
    /// of something in front of every shape at that pixel (centre) of frame `t`, if any.
    init(width: Int, height: Int, count: Int, shapes: (Int) -> [TrackShape], pan: Double = 0,
         cover: ((Int, Double, Double) -> (Double, Double, Double)?)? = nil) {
        self.width = width
        self.height = height
        for t in 0..<count {
            var px = [UInt8](repeating: 0, count: width * height * 3)
            let ss = shapes(t)
            var masks = ss.map { _ in [UInt8](repeating: 0, count: width * height) }
            for y in 0..<height {
                for x in 0..<width {
                    let p = y * width + x
                    let fx = Double(x) + 0.5, fy = Double(y) + 0.5
                    let bx = fx - pan * Double(t)
                    let n = valueNoise(bx, fy, cell: 5, seed: 3) - 0.5
                    let n2 = valueNoise(bx, fy, cell: 13, seed: 4) - 0.5
                    var rgb = (90 + 80 * n + 40 * n2, 130 + 70 * n - 30 * n2, 90 + 60 * n + 40 * n2)
                    for (k, s) in ss.enumerated() where s.inside(fx, fy) {
                        let (lx, ly) = s.local(fx, fy)
                        let m = valueNoise(lx, ly, cell: 5, seed: s.seed) - 0.5
                        rgb = (s.base.0 + 80 * m, s.base.1 + 60 * m, s.base.2 + 60 * m)
                        for j in 0..<ss.count { masks[j][p] = 0 }
                        masks[k][p] = 1
                    }
                    if let front = cover?(t, fx, fy) {
                        rgb = front
                        for j in 0..<ss.count { masks[j][p] = 0 }
                    }
                    px[3 * p] = UInt8(clamping: Int(rgb.0.rounded()))
                    px[3 * p + 1] = UInt8(clamping: Int(rgb.1.rounded()))
                    px[3 * p + 2] = UInt8(clamping: Int(rgb.2.rounded()))
                }
            }
            frames.append(RGBImage(width: width, height: height, pixels: px))
            truth.append(masks.map { Mask(width: width, height: height, data: $0) })
        }
    }

    /// The truth of frame `t` as a label map (object k → label k + 1).
    func labels(_ t: Int, ids: [Int]) -> SelectionLabels {
        var l = [UInt8](repeating: 0, count: width * height)
        for (k, m) in truth[t].enumerated() {
            for p in 0..<l.count where m.data[p] != 0 { l[p] = UInt8(k + 1) }
        }
        return SelectionLabels(width: width, height: height, labels: l, objectIDs: ids)
    }
}

/// A `cover` for `TrackClip`: a flat band of the background's mean colour across `rows` on `frames`.
private func bar(rows: ClosedRange<Int>, on frames: ClosedRange<Int>) -> (Int, Double, Double) -> (Double, Double, Double)? {
    { t, _, y in frames.contains(t) && rows.contains(Int(y)) ? (90, 130, 90) : nil }
}

private func disc(cx: Double, cy: Double, r: Double, base: (Double, Double, Double) = (200, 70, 60),
                  seed: UInt64 = 11) -> TrackShape {
    TrackShape(inside: { x, y in (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r },
               local: { x, y in (x - cx, y - cy) }, base: base, seed: seed)
}

private func rect(x0: Double, y0: Double, w: Double, h: Double, base: (Double, Double, Double),
                  seed: UInt64) -> TrackShape {
    TrackShape(inside: { x, y in x >= x0 && x < x0 + w && y >= y0 && y < y0 + h },
               local: { x, y in (x - x0, y - y0) }, base: base, seed: seed)
}

/// Expects object `id` of `out` to follow shape 0 of `clip` with IoU ≥ `least` on each of `frames`, and
/// reports those IoUs as `name`.
private func expectFollows(_ out: [SelectionLabels], _ clip: TrackClip, id: Int = 1, frames: Range<Int>, least: Double,
                           _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    var ious: [Double] = []
    for t in frames {
        let iou = out[t].masks()[id]!.iou(clip.truth[t][0])
        #expect(iou >= least, "frame \(t): IoU \(iou)", sourceLocation: sourceLocation)
        ious.append(iou)
    }
    report(name, ious)
}

private func report(_ name: String, _ ious: [Double]) {
    guard !ious.isEmpty else { return }
    let mean = ious.reduce(0, +) / Double(ious.count)
    print("tracker \(name): min IoU \(String(format: "%.3f", ious.min()!)), mean \(String(format: "%.3f", mean))")
}

@Suite struct TrackerTests {
    let tracker = MaskTracker()

    @Test func translatingDiscForwardFromFirstFrame() {
        let clip = TrackClip(width: 240, height: 136, count: 20) { t in
            [disc(cx: 50 + 4 * Double(t), cy: 68, r: 26)]
        }
        let out = tracker.track(frames: clip.frames, anchors: [0: clip.labels(0, ids: [7])], objectIDs: [7])
        #expect(out.count == 20)
        #expect(out[0] == clip.labels(0, ids: [7]))
        expectFollows(out, clip, id: 7, frames: 0..<20, least: 0.85, "translating disc")
    }

    /// A disc cut from the background's own noise (other seed, same base colour) moving 5 px a frame
    /// over the background (moving `pan` pixels a frame: a panning camera; still by default), tracked
    /// from its true frame-0 mask with `with` and with `without`: the colour models cannot tell disc and
    /// background apart. Returns both runs' IoU at frame 19 and mean IoU over frames 1–19, and the
    /// `with` run.
    private func camouflagedDisc(with: MaskTracker.Configuration, without: MaskTracker.Configuration, pan: Double = 0,
                                 _ name: String)
        -> (last: (with: Double, without: Double), mean: (with: Double, without: Double), out: [SelectionLabels], clip: TrackClip) {
        let clip = TrackClip(width: 240, height: 136, count: 20, shapes: { t in
            [disc(cx: 50 + 5 * Double(t), cy: 68, r: 26, base: (90, 130, 90), seed: 11)]
        }, pan: pan)
        let anchors = [0: clip.labels(0, ids: [1])]
        let a = MaskTracker(configuration: with).track(frames: clip.frames, anchors: anchors, objectIDs: [1])
        let b = MaskTracker(configuration: without).track(frames: clip.frames, anchors: anchors, objectIDs: [1])
        func iou(_ o: [SelectionLabels], _ t: Int) -> Double { o[t].masks()[1]!.iou(clip.truth[t][0]) }
        func mean(_ o: [SelectionLabels]) -> Double { (1..<20).map { iou(o, $0) }.reduce(0, +) / 19 }
        let r = (last: (iou(a, 19), iou(b, 19)), mean: (mean(a), mean(b)))
        print("tracker \(name): frame 19 IoU \(r.last.0) with, \(r.last.1) without; mean \(r.mean.0) and \(r.mean.1)")
        return (r.last, r.mean, a, clip)
    }

    /// The box-mean prior the tracker used before `priorEdgeScale`: under it, the camouflaged disc below
    /// trails the background it uncovers unless the warp check and the motion cues stop it, so the
    /// tests of those cues measure them there.
    private static var boxPrior: MaskTracker.Configuration {
        var c = MaskTracker.Configuration()
        c.priorEdgeScale = 0
        return c
    }

    @Test("the warped prior keeps its shape: a camouflaged disc does not take the background it uncovers")
    func edgePriorHoldsCamouflagedDisc() {
        // The default prior (the logistic of the distance to the warped edge) against the box mean of
        // the warped mask, which lets pixels just outside the mask lean to it: they joined the disc
        // and each frame's uncovered strip with them.
        let r = camouflagedDisc(with: MaskTracker.Configuration(), without: Self.boxPrior, "camouflaged disc, edge prior")
        // Measured when written: frame 19 0.967 edge prior, 0.862 box mean; mean 0.965 and 0.903.
        #expect(r.last.with >= 0.9)
        #expect(r.mean.with >= r.mean.without + 0.03)
        expectFollows(r.out, r.clip, frames: 0..<20, least: 0.9, "camouflaged disc, edge prior")
        // Under a panning camera (the case of `camouflagedObjectUnderPanningCamera`): frame 19 0.878 edge
        // prior, 0.800 box mean (both leaving the still rim out of the motion histogram).
        let p = camouflagedDisc(with: MaskTracker.Configuration(), without: Self.boxPrior, pan: -2,
                                "camouflaged disc, panning camera, edge prior")
        #expect(p.last.with >= 0.83)
        expectFollows(p.out, p.clip, frames: 0..<20, least: 0.8, "camouflaged disc, panning camera, edge prior")
    }

    @Test("background uncovered behind a moving object is not taken for it, even where it has the object's colours")
    func uncoveredBackgroundIsNotInherited() {
        // The warp's photometric check alone (no motion model, no texture cue and the crop's one colour
        // model on either side).
        var checked = Self.boxPrior
        checked.motionWeight = 0
        checked.independentMotion = 0
        checked.textureWeight = 0
        checked.localColourSpacing = 0
        var unchecked = checked
        unchecked.warpCheckSigma = 0
        let r = camouflagedDisc(with: checked, without: unchecked, "uncovered background, warp check")
        // Measured (growth penalty 0.15): frame 19 0.476 with the check, 0.405 without. A trail of background still
        // follows the disc: where the uncovered pixels happen to match the disc, colour and warp cannot
        // tell them apart (the motion model can: next test).
        #expect(r.last.with >= r.last.without + 0.05)
        #expect(r.mean.with > r.mean.without)
        expectFollows(r.out, r.clip, frames: 0..<6, least: 0.8, "uncovered background, frames 0-5")
    }

    @Test("what moves like the background is not taken into an object of the same colours")
    func motionSeparatesCamouflagedObject() {
        var still = Self.boxPrior
        still.motionWeight = 0
        still.independentMotion = 0
        let r = camouflagedDisc(with: Self.boxPrior, without: still, "camouflaged disc, motion model")
        // Measured when written: frame 19 0.848 with the motion model, 0.476 without; mean 0.891 and 0.726.
        #expect(r.last.with >= r.last.without + 0.1)
        #expect(r.mean.with > r.mean.without + 0.05)
        expectFollows(r.out, r.clip, frames: 0..<20, least: 0.6, "camouflaged disc")
    }

    /// The same camouflaged disc under a camera panning 2 px a frame the other way. The strip of
    /// background uncovered behind the disc each frame enters the mask's rim; it moves like the
    /// background, and once it counted in the object's motion histogram, that motion stopped telling
    /// background from object and the mask trailed a growing tail of background (frame 19 IoU 0.35).
    /// The histogram now leaves out rim pixels that are still against the fitted camera.
    @Test("a camouflaged object under a panning camera does not trail the background uncovered behind it")
    func camouflagedObjectUnderPanningCamera() {
        var learnsRim = Self.boxPrior
        learnsRim.motionSkipsStillRim = false
        let r = camouflagedDisc(with: Self.boxPrior, without: learnsRim, pan: -2,
                                "camouflaged disc, panning camera, still rim left out")
        // Measured when written: frame 19 0.80 left out, 0.35 learnt; mean over frames 1-19 0.79 and 0.60.
        #expect(r.last.with >= r.last.without + 0.3)
        #expect(r.mean.with >= r.mean.without + 0.1)
        expectFollows(r.out, r.clip, frames: 0..<20, least: 0.6, "camouflaged disc, panning camera")
    }

    @Test func translatingRectangleBackwardFromLastFrame() {
        let clip = TrackClip(width: 240, height: 136, count: 20) { t in
            [rect(x0: 150 - 4 * Double(t), y0: 40 + 1 * Double(t), w: 44, h: 30, base: (115, 120, 88), seed: 5)]
        }
        let out = tracker.track(frames: clip.frames, anchors: [19: clip.labels(19, ids: [1])], objectIDs: [1])
        expectFollows(out, clip, frames: 0..<20, least: 0.85, "\(#function)")
    }

    @Test func scalingDisc() {
        let clip = TrackClip(width: 240, height: 136, count: 20) { t in
            let r = 20 + 1.2 * Double(t)
            return [TrackShape(inside: { x, y in (x - 120) * (x - 120) + (y - 68) * (y - 68) <= r * r },
                               local: { x, y in ((x - 120) * 20 / r, (y - 68) * 20 / r) },
                               base: (200, 70, 60), seed: 11)]
        }
        let out = tracker.track(frames: clip.frames, anchors: [0: clip.labels(0, ids: [1])], objectIDs: [1])
        expectFollows(out, clip, frames: 0..<20, least: 0.85, "\(#function)")
    }

    @Test func occludedByBarThenRecovers() {
        // A background-coloured horizontal bar hides the disc's middle on frames 8 and 9.
        let clip = TrackClip(width: 240, height: 136, count: 16, shapes: { t in
            [disc(cx: 50 + 4 * Double(t), cy: 68, r: 28)]
        }, cover: bar(rows: 60...75, on: 8...9))
        let out = tracker.track(frames: clip.frames, anchors: [0: clip.labels(0, ids: [1])], objectIDs: [1])
        expectFollows(out, clip, frames: 10..<16, least: 0.7, "occlusion, frames 10-15")
    }

    @Test("an object that leaves the frame is not invented while it is away and is found again when it returns")
    func leavesAndComesBack() {
        // The disc moves right and is wholly outside on frames 14–17, then comes back the way it left.
        func cx(_ t: Int) -> Double { t <= 14 ? 100 + 6 * Double(t) : 184 - 6 * Double(t - 17) }
        let clip = TrackClip(width: 160, height: 100, count: 30, shapes: { t in [disc(cx: cx(t), cy: 50, r: 24)] })
        let out = tracker.track(frames: clip.frames, anchors: [0: clip.labels(0, ids: [1])], objectIDs: [1])
        for t in 14...17 {
            #expect(clip.truth[t][0].area == 0)
            #expect(out[t].masks()[1]!.area == 0, "frame \(t): \(out[t].masks()[1]!.area) pixels while the object is away")
        }
        expectFollows(out, clip, frames: 25..<30, least: 0.7, "left and came back, frames 25-29")
        // Measured ahead on two threads, the chunks assume the objects' presence before they are refined:
        // where it changed (frames 14 and 18), the chunk is measured again, so the result is the same.
        var cfg = MaskTracker.Configuration()
        cfg.threads = 2
        let parallel = MaskTracker(configuration: cfg).track(frames: clip.frames, anchors: [0: clip.labels(0, ids: [1])], objectIDs: [1])
        #expect(parallel == out)
    }

    /// A disc moving `speed` px a frame to the right, wholly hidden by a background-coloured band on
    /// `hidden` frames.
    struct Hiding: Sendable, CustomTestStringConvertible {
        var start: Double, speed: Double, radius: Double, count: Int, hidden: ClosedRange<Int>, check: Range<Int>
        var testDescription: String { "\(Int(speed)) px a frame, hidden on frames \(hidden)" }
    }

    @Test("an object hidden completely for a while is found again: a slow one near where it went in, one that moved on farther than its diameter (48 px) where its own motion took it",
          arguments: [Hiding(start: 70, speed: 2, radius: 26, count: 18, hidden: 8...10, check: 12..<18),
                      Hiding(start: 40, speed: 6, radius: 20, count: 28, hidden: 8...15, check: 19..<28)])
    func hiddenCompletelyThenFound(_ c: Hiding) {
        let clip = TrackClip(width: 240, height: 136, count: c.count, shapes: { t in
            [disc(cx: c.start + c.speed * Double(t), cy: 68, r: c.radius)]
        }, cover: bar(rows: 30...106, on: c.hidden))
        let out = tracker.track(frames: clip.frames, anchors: [0: clip.labels(0, ids: [1])], objectIDs: [1])
        expectFollows(out, clip, frames: c.check, least: 0.7, "hidden completely (\(c.testDescription))")
    }

    @Test("an object the camera follows is found again in its place after something the camera passes hid it")
    func cameraFollowsObjectPastOccluder() {
        // The camera pans (the background moves 6 px a frame to the left) and keeps the disc in the middle
        // of the frame; a dark trunk, part of the background, passes in front of it and hides it wholly
        // on frames 14–16. Where the camera's motion takes the disc's last view is the wrong place.
        let clip = TrackClip(width: 200, height: 120, count: 30, shapes: { _ in [disc(cx: 100, cy: 60, r: 22)] },
                             pan: -6, cover: { t, x, y in
            let trunk = 190 - 6 * Double(t)
            guard abs(x - trunk) <= 30 else { return nil }
            let m = valueNoise(x - trunk, y, cell: 6, seed: 21) - 0.5
            return (70 + 50 * m, 55 + 40 * m, 45 + 30 * m)
        })
        #expect((14...16).allSatisfy { clip.truth[$0][0].area == 0 })
        let out = tracker.track(frames: clip.frames, anchors: [0: clip.labels(0, ids: [1])], objectIDs: [1])
        expectFollows(out, clip, frames: 22..<30, least: 0.7, "camera follows the object, frames 22-29")
    }

    @Test("a mask left holding only background it took in, which moves with the camera while the object moved against it, is in doubt: the object is found again after something hid it")
    func maskLeftOnBackgroundIsDoubted() {
        // The camera follows the disc (the background moves 6 px a frame to the left); the first mask also
        // holds a patch of the ground under the disc, which moves with the camera. A trunk of the
        // background hides the disc on frames 14–16; the patch is then all the mask holds, more than a
        // tenth of its largest area, so the object is not lost by area (bmx-trees from five clicks).
        let patch = { (t: Int) in rect(x0: 60 - 6 * Double(t), y0: 74, w: 80, h: 20, base: (115, 120, 88), seed: 5) }
        let clip = TrackClip(width: 200, height: 120, count: 24, shapes: { t in [disc(cx: 100, cy: 50, r: 22), patch(t)] },
                             pan: -6, cover: { t, x, y in
            let trunk = 190 - 6 * Double(t)
            guard abs(x - trunk) <= 30, y < 74 else { return nil }
            let m = valueNoise(x - trunk, y, cell: 6, seed: 21) - 0.5
            return (70 + 50 * m, 55 + 40 * m, 45 + 30 * m)
        })
        #expect((14...16).allSatisfy { clip.truth[$0][0].area == 0 })
        var anchor = clip.labels(0, ids: [1])
        for p in 0..<anchor.labels.count where clip.truth[0][1].data[p] != 0 { anchor.labels[p] = 1 }
        // The patch lies apart from the disc: the still-parts rule would drop it at once, so it is off here.
        var on = MaskTracker.Configuration()
        on.stillParts = 0
        var off = on
        off.motionDoubt = 0
        let without = MaskTracker(configuration: off).track(frames: clip.frames, anchors: [0: anchor], objectIDs: [1])
        let with = MaskTracker(configuration: on).track(frames: clip.frames, anchors: [0: anchor], objectIDs: [1])
        func iou(_ o: [SelectionLabels], _ t: Int) -> Double { o[t].masks()[1]?.iou(clip.truth[t][0]) ?? 0 }
        report("mask left on background, without the motion doubt, frames 17-23", (17..<24).map { iou(without, $0) })
        #expect((17..<24).map { iou(without, $0) }.max()! < 0.3, "without the rule the mask stays on the ground")
        // In doubt from frame 10 (the trunk covers most of the disc), looked for on every frame while it is
        // hidden, then on every fourth: found on frame 22.
        expectFollows(with, clip, frames: 22..<24, least: 0.7, "mask left on background, frames 22-23")
    }

    @Test("a detached part of the mask that moves with the camera while the object moves against it is dropped; a detached part that moves with the object stays")
    func stillPartsAreDropped() {
        // The camera follows two discs (the background moves 6 px a frame to the left). The first mask of
        // object 1 also holds a patch of ground 8 px below its disc, which moves with the camera (parkour's
        // blobs on the wall); object 2 is two discs apart that move together.
        let patch = { (t: Int) in rect(x0: 20 - 6 * Double(t), y0: 82, w: 60, h: 16, base: (115, 120, 88), seed: 5) }
        let clip = TrackClip(width: 240, height: 120, count: 12,
                             shapes: { t in [disc(cx: 60, cy: 50, r: 22), disc(cx: 150, cy: 40, r: 14, base: (60, 70, 200), seed: 3),
                                             disc(cx: 195, cy: 80, r: 14, base: (60, 70, 200), seed: 4), patch(t)] },
                             pan: -6)
        var anchor = clip.labels(0, ids: [1, 2])
        for p in 0..<anchor.labels.count {
            if clip.truth[0][3].data[p] != 0 { anchor.labels[p] = 1 }
            if clip.truth[0][1].data[p] != 0 || clip.truth[0][2].data[p] != 0 { anchor.labels[p] = 2 }
        }
        var off = MaskTracker.Configuration()
        off.stillParts = 0
        let without = MaskTracker(configuration: off).track(frames: clip.frames, anchors: [0: anchor], objectIDs: [1, 2])
        let with = tracker.track(frames: clip.frames, anchors: [0: anchor], objectIDs: [1, 2])
        func pair(_ o: [SelectionLabels], _ t: Int) -> Double {
            let both = Mask(width: clip.width, height: clip.height,
                            data: zip(clip.truth[t][1].data, clip.truth[t][2].data).map { $0 | $1 })
            return o[t].masks()[2]?.iou(both) ?? 0
        }
        func first(_ o: [SelectionLabels], _ t: Int) -> Double { o[t].masks()[1]?.iou(clip.truth[t][0]) ?? 0 }
        report("detached patch left on the ground, without the rule, frames 1-11", (1..<12).map { first(without, $0) })
        report("detached patch left on the ground, frames 1-11", (1..<12).map { first(with, $0) })
        report("object of two discs apart, frames 1-11", (1..<12).map { pair(with, $0) })
        // (The patch leaves the frame from frame 4 on.)
        #expect((1..<4).map { first(without, $0) }.max()! < 0.7, "without the rule the mask keeps the patch")
        for t in 1..<12 {
            #expect(first(with, t) >= 0.85, "object 1, frame \(t): IoU \(first(with, t))")
            #expect(pair(with, t) >= 0.85, "object 2, frame \(t): IoU \(pair(with, t))")
        }
    }

    @Test("connected components from runs agree with a flood fill, 8-connected, in order of first pixel")
    func connectedComponentsAgreeWithFloodFill() {
        for (k, (w, h, density)) in [(1, 1, 0.5), (17, 1, 0.5), (1, 13, 0.5), (31, 23, 0.3), (40, 30, 0.5), (64, 48, 0.6),
                                     (50, 40, 0.9)].enumerated() {
            let fg = randomMask(width: w, height: h, density: density, seed: UInt64(k + 1)).data
            let (labels, areas) = connectedComponents(fg, width: w, height: h)
            // The reference: a flood fill from each unlabelled pixel in raster order.
            var ref = [Int32](repeating: -1, count: w * h), refAreas: [Int] = []
            for s in 0..<(w * h) where fg[s] != 0 && ref[s] < 0 {
                let id = Int32(refAreas.count)
                var stack = [s], area = 0
                ref[s] = id
                while let p = stack.popLast() {
                    area += 1
                    for dy in -1...1 {
                        for dx in -1...1 {
                            let x = p % w + dx, y = p / w + dy
                            guard x >= 0, x < w, y >= 0, y < h, fg[y * w + x] != 0, ref[y * w + x] < 0 else { continue }
                            ref[y * w + x] = id
                            stack.append(y * w + x)
                        }
                    }
                }
                refAreas.append(area)
            }
            #expect(labels == ref && areas == refAreas, "\(w)×\(h) at \(density): \(areas.count) parts against \(refAreas.count)")
        }
    }

    @Test("an object's own motion is how far its pixels move against the camera's fitted motion")
    func ownMotionAgainstTheCamera() {
        let w = 80, h = 60
        var flow = FlowField(width: w, height: h)
        var labels = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let p = y * w + x
                // The camera: a pan of 5 px with a slight zoom; object 1 stands still in the frame, object 2
                // moves with the camera.
                flow.u[p] = 5 + 0.02 * Float(x - w / 2)
                flow.v[p] = 0.02 * Float(y - h / 2)
                if x >= 10 && x < 30 && y >= 10 && y < 40 { labels[p] = 1; flow.u[p] = 0; flow.v[p] = 0 }
                if x >= 50 && x < 70 && y >= 20 && y < 50 { labels[p] = 2 }
            }
        }
        let own = MaskTracker.ownMotion(SelectionLabels(width: w, height: h, labels: labels, objectIDs: [1, 2]),
                                        flow: flow, objects: 2)
        #expect(abs((own[0] ?? 0) - 5) < 0.6, "object 1: \(String(describing: own[0]))")
        #expect((own[1] ?? 1) < 0.1, "object 2: \(String(describing: own[1]))")
    }

    @Test func twoAnchorsBracketing() {
        // A red disc with a blue cap. Anchor 0 marks the red part only; anchor 19 marks both: frames near
        // each anchor must follow that anchor's interpretation.
        let n = 20
        let clip = TrackClip(width: 240, height: 136, count: n) { t in
            let cx = 50 + 4 * Double(t)
            return [disc(cx: cx, cy: 68, r: 24),
                    rect(x0: cx - 14, y0: 68 - 24 - 16, w: 28, h: 18, base: (60, 70, 210), seed: 21)]
        }
        func redOnly(_ t: Int) -> Mask { clip.truth[t][0] }
        func both(_ t: Int) -> Mask {
            Mask(width: clip.width, height: clip.height,
                 data: zip(clip.truth[t][0].data, clip.truth[t][1].data).map { $0 | $1 })
        }
        func asLabels(_ m: Mask) -> SelectionLabels {
            SelectionLabels(width: m.width, height: m.height, labels: m.data, objectIDs: [1])
        }
        let out = tracker.track(frames: clip.frames, anchors: [0: asLabels(redOnly(0)), n - 1: asLabels(both(n - 1))],
                                objectIDs: [1])
        #expect(out[0] == asLabels(redOnly(0)))
        #expect(out[n - 1] == asLabels(both(n - 1)))
        for t in [1, 2, 3, 4] {
            let m = out[t].masks()[1]!
            #expect(m.iou(redOnly(t)) > m.iou(both(t)), "frame \(t) should follow the first anchor")
            #expect(m.iou(redOnly(t)) >= 0.85)
        }
        for t in [n - 5, n - 4, n - 3, n - 2] {
            let m = out[t].masks()[1]!
            #expect(m.iou(both(t)) > m.iou(redOnly(t)), "frame \(t) should follow the last anchor")
            #expect(m.iou(both(t)) >= 0.85)
        }
    }

    @Test func twoObjectsNeverOverlapping() {
        let clip = TrackClip(width: 240, height: 136, count: 16) { t in
            [disc(cx: 40 + 4 * Double(t), cy: 40, r: 20),
             rect(x0: 180 - 3 * Double(t), y0: 80 + Double(t), w: 36, h: 28, base: (60, 70, 210), seed: 21)]
        }
        let ids = [3, 9]
        let out = tracker.track(frames: clip.frames, anchors: [0: clip.labels(0, ids: ids)], objectIDs: ids)
        var ious: [Double] = []
        for t in 0..<16 {
            let masks = out[t].masks()
            for (k, id) in ids.enumerated() {
                let iou = masks[id]!.iou(clip.truth[t][k])
                #expect(iou >= 0.85, "frame \(t) object \(id): IoU \(iou)")
                ious.append(iou)
            }
        }
        report("two objects", ious)
    }

    @Test("an anchor defines only the objects marked on it: the others follow their own anchors")
    func objectsMarkedOnDifferentFrames() {
        let n = 24
        let clip = TrackClip(width: 240, height: 136, count: n) { t in
            [disc(cx: 40 + 4 * Double(t), cy: 40, r: 20),
             rect(x0: 190 - 3 * Double(t), y0: 80 + Double(t) / 2, w: 36, h: 28, base: (60, 70, 210), seed: 21)]
        }
        let ids = [3, 9]
        /// The truth of frame `t` for the objects `only` (indices into `ids`), as that frame's anchor.
        func anchor(_ t: Int, _ only: [Int]) -> SelectionLabels {
            var l = [UInt8](repeating: 0, count: clip.width * clip.height)
            for (j, k) in only.enumerated() {
                for p in 0..<l.count where clip.truth[t][k].data[p] != 0 { l[p] = UInt8(j + 1) }
            }
            return SelectionLabels(width: clip.width, height: clip.height, labels: l, objectIDs: only.map { ids[$0] })
        }
        // Object 3 is marked on frames 0 and 8, object 9 on frames 8 and 16 (and both on 8).
        let anchors = [0: anchor(0, [0]), 8: anchor(8, [0, 1]), 16: anchor(16, [1])]
        let out = tracker.track(frames: clip.frames, anchors: anchors, objectIDs: ids)
        #expect(out.count == n)
        var ious: [Double] = []
        for t in 0..<n {
            let masks = out[t].masks()
            for (k, id) in ids.enumerated() {
                let iou = masks[id]?.iou(clip.truth[t][k]) ?? 0
                #expect(iou >= 0.8, "frame \(t) object \(id): IoU \(iou)")
                ious.append(iou)
            }
        }
        report("objects marked on different frames", ious)
        var streamed: [Int] = []
        tracker.stream(frames: clip.frames, anchors: anchors, objectIDs: ids) { t, _ in streamed.append(t) }
        #expect(streamed == Array(0..<n), "every frame once, in increasing order")
    }

    @Test func streamingStepMatchesTrack() {
        let clip = TrackClip(width: 120, height: 68, count: 4) { t in [disc(cx: 30 + 3 * Double(t), cy: 34, r: 14)] }
        let a = clip.labels(0, ids: [1])
        // The step API has no anchor colour memory; compare with `track` without it.
        var cfg = MaskTracker.Configuration()
        cfg.anchorColourWeight = 0
        let tracker = MaskTracker(configuration: cfg)
        let out = tracker.track(frames: clip.frames, anchors: [0: a], objectIDs: [1])
        var cur = a
        for t in 1..<4 {
            cur = tracker.propagate(from: clip.frames[t - 1], mask: cur, to: clip.frames[t])
            #expect(cur == out[t])
        }
    }

    @Test("a clip tracked on every second frame (60 fps) reads only those frames and the anchors, keeps the anchors exactly, and follows the object on every frame")
    func everySecondFrame() {
        let clip = TrackClip(width: 240, height: 136, count: 25) { t in
            [disc(cx: 40 + 3 * Double(t), cy: 60 + Double(t), r: 22)]
        }
        let anchors = [0: clip.labels(0, ids: [4]), 13: clip.labels(13, ids: [4])]
        let frames = RecordedReads(clip.frames)
        var emitted: [Int] = []
        var out: [SelectionLabels] = []
        tracker.stream(frames: frames, anchors: anchors, objectIDs: [4], step: 2) { t, labels in
            emitted.append(t)
            out.append(labels)
        }
        #expect(emitted == Array(0..<25), "every frame once, in increasing order")
        #expect(frames.read == Set(stride(from: 0, to: 25, by: 2)).union([13]), "only every second frame and the anchors are read")
        #expect(out[13] == anchors[13])
        expectFollows(out, clip, id: 4, frames: 0..<25, least: 0.85, "every second frame")
        #expect(MaskTracker.step(framesPerSecond: 60) == 2 && MaskTracker.step(framesPerSecond: 30) == 1
                && MaskTracker.step(framesPerSecond: 24) == 1)
    }

    @Test("streamFrames leaves the frames between two tracked ones to the consumer, whose interpolation gives what stream gives")
    func framesBetweenAreLeftToTheConsumer() {
        let clip = TrackClip(width: 240, height: 136, count: 12) { t in
            [disc(cx: 40 + 4 * Double(t), cy: 60 + Double(t), r: 22)]
        }
        let anchors = [0: clip.labels(0, ids: [4])]
        var streamed: [SelectionLabels] = []
        tracker.stream(frames: clip.frames, anchors: anchors, objectIDs: [4], step: 3) { _, labels in streamed.append(labels) }
        var given: [(Int, MaskTracker.StreamedFrame)] = []
        tracker.streamFrames(frames: clip.frames, anchors: anchors, objectIDs: [4], step: 3) { given.append(($0, $1)) }
        #expect(given.map(\.0) == Array(0..<12), "every frame once, in increasing order")
        for (t, frame) in given {
            let tracked = t % 3 == 0 || t == 11
            switch frame {
            case .labels: #expect(tracked, "frame \(t) is tracked")
            case .between(_, _, let fraction):
                #expect(!tracked, "frame \(t) lies between two tracked frames")
                #expect(fraction > 0 && fraction < 1)
            case .blended: Issue.record("frame \(t): no blend with one anchor")
            }
            #expect(tracker.labels(of: frame) == streamed[t], "frame \(t)")
        }
        // The interpolated frames move with the disc (they are not copies of a tracked neighbour).
        #expect(streamed[1] != streamed[0] && streamed[1] != streamed[3])
    }

    @Test("between two anchors the two walks run on two threads with the same result as on one, and the frames between are left to the consumer as blends")
    func segmentWalkedOnTwoThreads() {
        let clip = TrackClip(width: 240, height: 136, count: 16) { t in
            [disc(cx: 50 + 5 * Double(t), cy: 60 + Double(t), r: 22)]
        }
        // The later anchor a little off the truth, so that the two passes differ and the blend matters.
        var later = clip.labels(10, ids: [4])
        for y in 0..<later.height { for x in 0..<later.width where (x - 100) * (x - 100) + (y - 70) * (y - 70) <= 30 { later.labels[y * later.width + x] = 1 } }
        let anchors = [0: clip.labels(0, ids: [4]), 10: later]
        let one = MaskTracker().track(frames: clip.frames, anchors: anchors, objectIDs: [4])
        var cfg = MaskTracker.Configuration()
        cfg.threads = 2
        let two = MaskTracker(configuration: cfg)
        var given: [(Int, MaskTracker.StreamedFrame)] = []
        two.streamFrames(frames: clip.frames, anchors: anchors, objectIDs: [4]) { given.append(($0, $1)) }
        #expect(given.map(\.0) == Array(0..<16), "every frame once, in increasing order")
        for (t, frame) in given {
            if case .blended = frame { #expect(t > 0 && t < 10, "frame \(t)") } else { #expect(t == 0 || t >= 10, "frame \(t)") }
            #expect(two.labels(of: frame) == one[t], "frame \(t)")
        }
        #expect(one[10] == later)
    }

    @Test("frames from the first anchor on, walked while the frames before it are, come after those, as on one thread", arguments: [[6], [4, 10]])
    func walkedBeforeAndOnwardsAtOnce(marked: [Int]) {
        let clip = TrackClip(width: 240, height: 136, count: 14) { t in
            [disc(cx: 50 + 5 * Double(t), cy: 60 + Double(t), r: 22)]
        }
        let anchors = Dictionary(uniqueKeysWithValues: marked.map { ($0, clip.labels($0, ids: [4])) })
        let one = MaskTracker().track(frames: clip.frames, anchors: anchors, objectIDs: [4])
        var cfg = MaskTracker.Configuration()
        cfg.threads = 2
        var order: [Int] = []
        var two: [SelectionLabels] = []
        MaskTracker(configuration: cfg).stream(frames: clip.frames, anchors: anchors, objectIDs: [4]) { t, labels in
            order.append(t)
            two.append(labels)
        }
        #expect(order == Array(0..<14), "every frame once, in increasing order")
        #expect(two == one)
        expectFollows(two, clip, id: 4, frames: 0..<14, least: 0.85, "marked on \(marked)")
    }

    @Test("blending two passes keeps what both hold, thin parts included, and moves smoothly where they differ")
    func blendKeepsWhatBothPassesHold() {
        // At the working size (640 px wide): a disc with a leg 3 px wide, and the same disc 6 px to the
        // right without it.
        let w = 640, h = 200
        func labels(_ cx: Int, leg: Bool) -> SelectionLabels {
            var l = [UInt8](repeating: 0, count: w * h)
            for y in 0..<h {
                for x in 0..<w where (x - cx) * (x - cx) + (y - 80) * (y - 80) <= 1600 || (leg && y >= 80 && y < 170 && x >= cx && x < cx + 3) {
                    l[y * w + x] = 1
                }
            }
            return SelectionLabels(width: w, height: h, labels: l, objectIDs: [2])
        }
        let a = labels(200, leg: true), b = labels(206, leg: false)
        #expect(tracker.blend(a, weight: 0.5, a) == a, "both passes agree: exactly their mask")
        var box = MaskTracker.Configuration()
        box.priorEdgeScale = 0
        let old = MaskTracker(configuration: box).blend(a, weight: 0.5, a)
        #expect(old.masks()[2]!.area < a.masks()[2]!.area - 100, "the box mean lost the leg")
        // Between the two views the disc's edge moves with the weight.
        func rightEdge(_ l: SelectionLabels) -> Int { (0..<w).last { l.labels[80 * w + $0] != 0 } ?? -1 }
        let edges = [1, 0.75, 0.5, 0.25, 0].map { rightEdge(tracker.blend(a, weight: Float($0), b)) }
        #expect(edges.first == 240 && edges.last == 246)
        #expect(zip(edges, edges.dropFirst()).allSatisfy { $0 <= $1 }, "\(edges)")
    }

    @Test("a frame between two tracked ones takes each object where it is at that moment, not where the two views overlap")
    func interpolationFollowsTheObject() {
        func discLabels(_ cx: Int, _ cy: Int) -> SelectionLabels {
            var l = [UInt8](repeating: 0, count: 160 * 90)
            for y in 0..<90 { for x in 0..<160 where (x - cx) * (x - cx) + (y - cy) * (y - cy) <= 196 { l[y * 160 + x] = 1 } }
            return SelectionLabels(width: 160, height: 90, labels: l, objectIDs: [3])
        }
        // 24 px apart (the radius is 14): the two views barely overlap.
        let a = discLabels(50, 40), b = discLabels(74, 46)
        let truth = discLabels(56, 42).masks()[3]!
        let moved = tracker.interpolate(a, b, at: 0.25).masks()[3]!.iou(truth)
        let blended = tracker.blend(a, weight: 0.75, b).masks()[3]!.iou(truth)
        print("interpolation a quarter of the way: IoU \(moved) moved, \(blended) blended in place")
        #expect(moved >= 0.9 && blended < 0.8)
    }

    @Test("the flows measured ahead (the next chunk while one is refined) give exactly the sequential result; frames stream in order")
    func threadsDoNotChangeTheResult() {
        let clip = TrackClip(width: 160, height: 90, count: 23) { t in
            [disc(cx: 30 + 4 * Double(t), cy: 45, r: 16),
             rect(x0: 120 - 2 * Double(t), y0: 20 + Double(t), w: 24, h: 20, base: (60, 70, 210), seed: 3)]
        }
        let ids = [2, 5]
        let anchors = [4: clip.labels(4, ids: ids), 17: clip.labels(17, ids: ids)]
        var cfg = MaskTracker.Configuration()
        cfg.threads = 2
        let parallel = MaskTracker(configuration: cfg).track(frames: clip.frames, anchors: anchors, objectIDs: ids)
        var emitted: [Int] = []
        var streamed: [SelectionLabels] = []
        tracker.stream(frames: clip.frames, anchors: anchors, objectIDs: ids) { t, labels in
            emitted.append(t)
            streamed.append(labels)
        }
        let sequential = tracker.track(frames: clip.frames, anchors: anchors, objectIDs: ids)
        #expect(parallel == sequential)
        #expect(emitted == Array(0..<23), "every frame once, in increasing order")
        #expect(streamed == parallel, "the streamed labels are the final ones")
        #expect(parallel[10].masks()[2]!.iou(clip.truth[10][0]) >= 0.85)
    }

    @Test("each frame's cues are measured ahead, with the flows, over a region that holds the objects' crops, and the result is the same on one thread or two")
    func cuesMeasuredAheadForSeveralObjects() {
        let clip = TrackClip(width: 160, height: 64, count: 15) { t in
            [disc(cx: 28 + Double(t), cy: 32, r: 20),
             rect(x0: 68, y0: 14 + Double(t), w: 24, h: 24, base: (60, 70, 210), seed: 3),
             disc(cx: 134 - Double(t), cy: 32, r: 20, base: (230, 200, 60), seed: 5)]
        }
        let ids = [4, 6, 9]
        let anchor = clip.labels(0, ids: ids)
        // One step given a frame's cues over a region that holds every crop gives the labels of one that
        // measures each crop's own; cues over a region that misses the crops are not read.
        let flow = tracker.flowEngine.compute(from: FlowPyramid(clip.frames[1]), to: FlowPyramid(clip.frames[0]))
        let whole = (tracker.cues(of: clip.frames[0], region: (0, 0, 160, 64)), tracker.cues(of: clip.frames[1], region: (0, 0, 160, 64)))
        let missing = (tracker.cues(of: clip.frames[0], region: (60, 10, 20, 20)), tracker.cues(of: clip.frames[1], region: (60, 10, 20, 20)))
        let onCrops = tracker.propagate(clip.frames[0], mask: anchor, clip.frames[1], flow: flow, anchorModels: [:])
        let withCues = tracker.propagate(clip.frames[0], mask: anchor, clip.frames[1], flow: flow, anchorModels: [:], cues: whole)
        let withMissing = tracker.propagate(clip.frames[0], mask: anchor, clip.frames[1], flow: flow, anchorModels: [:], cues: missing)
        let cutServes = withCues == onCrops, missedMeasured = withMissing == onCrops
        #expect(cutServes, "cues cut from the whole frame's")
        #expect(missedMeasured, "cues that miss the crops: measured on them")
        var cfg = MaskTracker.Configuration()
        cfg.threads = 2
        let parallel = MaskTracker(configuration: cfg).track(frames: clip.frames, anchors: [0: anchor], objectIDs: ids)
        let sequential = tracker.track(frames: clip.frames, anchors: [0: anchor], objectIDs: ids)
        #expect(parallel == sequential)
        for (k, id) in ids.enumerated() {
            let iou = parallel[14].masks()[id]!.iou(clip.truth[14][k])
            #expect(iou >= 0.85, "object \(id) at frame 14: IoU \(iou)")
        }
    }

    @Test func emptyAndNoAnchors() {
        let clip = TrackClip(width: 64, height: 36, count: 3) { _ in [] }
        let out = tracker.track(frames: clip.frames, anchors: [:], objectIDs: [1])
        #expect(out.count == 3)
        #expect(out.allSatisfy { $0.labels.allSatisfy { $0 == 0 } })
        #expect(tracker.track(frames: [RGBImage](), anchors: [:], objectIDs: []).isEmpty)
    }

    @Test func propagateTiming480x270() {
        let clip = TrackClip(width: 480, height: 270, count: 11) { t in
            [disc(cx: 100 + 4 * Double(t), cy: 135, r: 50)]
        }
        var cur = clip.labels(0, ids: [1])
        let clock = ContinuousClock()
        var times: [Double] = []
        for t in 1..<11 {
            let start = clock.now
            cur = tracker.propagate(from: clip.frames[t - 1], mask: cur, to: clip.frames[t])
            let d = clock.now - start
            times.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
        }
        let iou = cur.masks()[1]!.iou(clip.truth[10][0])
        let sorted = times.sorted()
        print("MaskTracker.propagate 480x270: ms per frame min \(String(format: "%.1f", sorted[0])), median \(String(format: "%.1f", sorted[sorted.count / 2])), IoU at frame 10 \(String(format: "%.3f", iou))")
        #expect(iou >= 0.85)
    }
}

/// Frames that remember which of them were read.
private struct RecordedReads: RandomAccessCollection, Sendable {
    private final class Log: Sendable { let reads = Mutex<Set<Int>>([]) }
    let frames: [RGBImage]
    private let log = Log()
    init(_ frames: [RGBImage]) { self.frames = frames }
    var startIndex: Int { 0 }
    var endIndex: Int { frames.count }
    subscript(position: Int) -> RGBImage {
        log.reads.withLock { _ = $0.insert(position) }
        return frames[position]
    }
    var read: Set<Int> { log.reads.withLock { $0 } }
}
