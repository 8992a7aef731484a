import RotoVision
import Testing

/// Synthetic scenes: a gradient background with deterministic noise and flat-ish coloured shapes.
struct Scene {
    var width: Int
    var height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int, seed: UInt64 = 1) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        var g = SplitMix64(seed: seed)
        for y in 0..<height {
            for x in 0..<width {
                let n = Int(g.next() % 21) - 10
                let p = (y * width + x) * 3
                pixels[p] = UInt8(clamping: 40 + x * 60 / max(1, width) + n)
                pixels[p + 1] = UInt8(clamping: 110 + y * 70 / max(1, height) + n)
                pixels[p + 2] = UInt8(clamping: 150 - x * 40 / max(1, width) + n)
            }
        }
    }

    /// Paints pixels where `inside(x, y)` with `rgb` (plus mild noise) and returns the truth mask.
    @discardableResult
    mutating func paint(_ rgb: (Int, Int, Int), seed: UInt64 = 9, _ inside: (Int, Int) -> Bool) -> Mask {
        var m = Mask(width: width, height: height)
        var g = SplitMix64(seed: seed)
        for y in 0..<height {
            for x in 0..<width where inside(x, y) {
                let n = Int(g.next() % 11) - 5
                let p = (y * width + x) * 3
                pixels[p] = UInt8(clamping: rgb.0 + n)
                pixels[p + 1] = UInt8(clamping: rgb.1 + n)
                pixels[p + 2] = UInt8(clamping: rgb.2 + n)
                m[x, y] = 1
            }
        }
        return m
    }

    var image: RGBImage { RGBImage(width: width, height: height, pixels: pixels) }
}

func disc(_ cx: Double, _ cy: Double, _ r: Double) -> (Int, Int) -> Bool {
    { x, y in
        let dx = Double(x) + 0.5 - cx, dy = Double(y) + 0.5 - cy
        return dx * dx + dy * dy <= r * r
    }
}

func pt(_ x: Double, _ y: Double, _ w: Int, _ h: Int, positive: Bool = true) -> PointPrompt {
    PointPrompt(x: x / Double(w), y: y / Double(h), positive: positive)
}

@Suite struct EngineTests {
    let engine = ClassicalSegmentationEngine()

    @Test func discOnTexturedGradient() {
        var s = Scene(width: 320, height: 240)
        let truth = s.paint((200, 40, 40), disc(150, 110, 45))
        let masks = engine.segment(s.image, objects: [ObjectPrompt(objectID: 7, points: [pt(150, 110, 320, 240)])])
        let m = try! #require(masks[7])
        #expect(m.width == 320 && m.height == 240)
        #expect(m.iou(truth) >= 0.9, "IoU \(m.iou(truth))")
    }

    @Test func rectangleAtFullHDIsUpsampledWithCleanEdges() {
        var s = Scene(width: 960, height: 540, seed: 3)
        let truth = s.paint((240, 220, 60)) { x, y in x >= 300 && x < 620 && y >= 150 && y < 400 }
        let masks = engine.segment(s.image, objects: [ObjectPrompt(objectID: 0, points: [pt(460, 275, 960, 540)])])
        let m = masks[0]!
        #expect(m.iou(truth) >= 0.95, "IoU \(m.iou(truth))")
    }

    @Test func twoObjectsDoNotOverlap() {
        var s = Scene(width: 320, height: 240, seed: 5)
        let a = s.paint((210, 40, 40), disc(90, 120, 40))
        let b = s.paint((40, 40, 200)) { x, y in x >= 190 && x < 280 && y >= 60 && y < 180 }
        let masks = engine.segment(s.image, objects: [
            ObjectPrompt(objectID: 1, points: [pt(90, 120, 320, 240)]),
            ObjectPrompt(objectID: 2, points: [pt(235, 120, 320, 240)]),
        ])
        let ma = masks[1]!, mb = masks[2]!
        #expect(ma.iou(a) >= 0.85, "IoU a \(ma.iou(a))")
        #expect(mb.iou(b) >= 0.85, "IoU b \(mb.iou(b))")
        #expect(zip(ma.data, mb.data).allSatisfy { $0 & $1 == 0 })
    }

    @Test func sameColourObjectsCompetingClicksSplitThem() {
        // Two touching discs of one colour; each object's click must keep the other's region out.
        var s = Scene(width: 320, height: 240, seed: 6)
        s.paint((220, 200, 30), disc(110, 120, 50))
        s.paint((220, 200, 30), disc(200, 120, 50))
        let masks = engine.segment(s.image, objects: [
            ObjectPrompt(objectID: 0, points: [pt(90, 120, 320, 240)]),
            ObjectPrompt(objectID: 1, points: [pt(225, 120, 320, 240)]),
        ])
        let m0 = masks[0]!, m1 = masks[1]!
        #expect(m0[90, 120] == 1 && m1[225, 120] == 1)
        #expect(m0[225, 120] == 0 && m1[90, 120] == 0)
        #expect(zip(m0.data, m1.data).allSatisfy { $0 & $1 == 0 })
    }

    @Test func negativeClickCarvesARegionOut() {
        // A red disc with a red square attached: one include click selects both; an exclude click on
        // the square removes it and keeps the disc.
        var s = Scene(width: 320, height: 240, seed: 8)
        let d = s.paint((200, 30, 30), disc(110, 120, 45))
        s.paint((200, 30, 30)) { x, y in x >= 150 && x < 240 && y >= 95 && y < 145 }
        let include = pt(110, 120, 320, 240)
        let both = engine.segment(s.image, objects: [ObjectPrompt(objectID: 0, points: [include])])[0]!
        #expect(both[200, 120] == 1, "the attached square should be selected with the disc")
        let carved = engine.segment(s.image, objects: [ObjectPrompt(objectID: 0, points: [
            include, pt(210, 120, 320, 240, positive: false),
        ])])[0]!
        #expect(carved[210, 120] == 0)
        #expect(carved[110, 120] == 1)
        #expect(carved.area < both.area)
        #expect(carved.iou(d) >= 0.8, "IoU \(carved.iou(d))")
    }

    @Test func clickOnFlatBackgroundFarFromAnythingIsSensible() {
        var s = Scene(width: 320, height: 240, seed: 11)
        let obj = s.paint((220, 30, 30), disc(250, 60, 30))
        let m = engine.segment(s.image, objects: [ObjectPrompt(objectID: 0, points: [pt(60, 190, 320, 240)])])[0]!
        #expect(m[60, 190] == 1)
        #expect(!m.isEmpty && m.area < m.width * m.height)
        // The unrelated object is not swallowed.
        var inter = 0
        for i in 0..<m.data.count where m.data[i] == 1 && obj.data[i] == 1 { inter += 1 }
        #expect(Double(inter) < 0.1 * Double(obj.area))
    }

    @Test func emptyAndOnlyNegativePromptsGiveEmptyMasks() {
        let s = Scene(width: 64, height: 48)
        #expect(engine.segment(s.image, objects: []).isEmpty)
        let masks = engine.segment(s.image, objects: [
            ObjectPrompt(objectID: 3, points: [PointPrompt(x: 0.5, y: 0.5, positive: false)]),
            ObjectPrompt(objectID: 4, points: []),
        ])
        #expect(masks[3]!.isEmpty && masks[3]!.width == 64 && masks[3]!.height == 48)
        #expect(masks[4]!.isEmpty)
    }

    @Test func pointsOnTheBorderAndCorners() {
        var s = Scene(width: 200, height: 150, seed: 12)
        let corner = s.paint((30, 200, 40)) { x, y in x >= 150 && y >= 110 }
        for p in [PointPrompt(x: 1.0, y: 1.0), PointPrompt(x: 0.999, y: 1.0), PointPrompt(x: 1.0, y: 0.9)] {
            let m = engine.segment(s.image, objects: [ObjectPrompt(objectID: 0, points: [p])])[0]!
            #expect(m[199, 149] == 1)
            #expect(m.iou(corner) >= 0.8, "IoU \(m.iou(corner))")
        }
        let m0 = engine.segment(s.image, objects: [ObjectPrompt(objectID: 0, points: [PointPrompt(x: 0, y: 0)])])[0]!
        #expect(m0[0, 0] == 1)
        #expect(m0[199, 149] == 0)
    }

    @Test func tinyImages() {
        for (w, h) in [(1, 1), (2, 1), (1, 3), (3, 2), (5, 5), (16, 9)] {
            let img = Scene(width: w, height: h).image
            let masks = engine.segment(img, objects: [
                ObjectPrompt(objectID: 0, points: [PointPrompt(x: 0.5, y: 0.5), PointPrompt(x: 1, y: 1, positive: false)]),
            ])
            let m = masks[0]!
            #expect(m.width == w && m.height == h)
            if w * h > 1 { #expect(m[min(w - 1, w / 2), min(h - 1, h / 2)] == 1 || m.isEmpty) }
        }
    }

    @Test func manyObjectsDoNotTrap() {
        let img = Scene(width: 16, height: 12).image
        // Only a few objects carry include clicks (keeps the debug-build test fast); the rest only exclude.
        let objects = (0..<260).map { i in
            ObjectPrompt(objectID: i, points: [PointPrompt(x: Double(i % 16) / 16, y: 0.5, positive: i < 3 || i == 259)])
        }
        let masks = engine.segment(img, objects: objects)
        #expect(masks.count == 260)
        #expect(masks[259]!.isEmpty)
        var union = [UInt8](repeating: 0, count: 16 * 12)
        var overlaps = 0
        for (_, m) in masks {
            for i in 0..<union.count {
                if union[i] & m.data[i] != 0 { overlaps += 1 }
                union[i] |= m.data[i]
            }
        }
        #expect(overlaps == 0)
    }

    @Test func nonFinitePointsAreClamped() {
        let p = PointPrompt(x: .nan, y: .infinity)
        let c = p.pixel(width: 10, height: 10)
        #expect((0..<10).contains(c.x) && (0..<10).contains(c.y))
        #expect(PointPrompt(x: 1, y: 1).pixel(width: 10, height: 8) == (9, 7))
        #expect(PointPrompt(x: 0, y: 0).pixel(width: 10, height: 8) == (0, 0))
    }

    /// A disc patterned exactly like its background (camouflage) that moves between two frames: colour
    /// cannot tell it apart, its motion can.
    @Test func aCamouflagedObjectIsFoundByItsMotion() {
        let w = 640, h = 360, cx = 300.0, cy = 180.0, r = 70.0, shift = (dx: 5, dy: 3)
        let palette: [(UInt8, UInt8, UInt8)] = [(200, 170, 90), (90, 70, 40), (150, 120, 60)]
        func pattern(_ seed: UInt64) -> (Int, Int) -> (UInt8, UInt8, UInt8) {
            var g = SplitMix64(seed: seed)
            let cells = (0..<(64 * 64)).map { _ in Int(g.next() % 3) }
            return { x, y in palette[cells[((y / 8) & 63) * 64 + ((x / 8) & 63)]] }
        }
        let background = pattern(3), skin = pattern(4)
        func frame(dx: Int, dy: Int) -> RGBImage {
            var px = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h {
                for x in 0..<w {
                    let inside = disc(cx + Double(dx), cy + Double(dy), r)(x, y)
                    let c = inside ? skin(x - dx + 512, y - dy + 512) : background(x, y)
                    px[(y * w + x) * 3] = c.0; px[(y * w + x) * 3 + 1] = c.1; px[(y * w + x) * 3 + 2] = c.2
                }
            }
            return RGBImage(width: w, height: h, pixels: px)
        }
        var truth = Mask(width: w, height: h)
        for y in 0..<h { for x in 0..<w where disc(cx, cy, r)(x, y) { truth[x, y] = 1 } }
        let first = frame(dx: 0, dy: 0), next = frame(dx: shift.dx, dy: shift.dy)
        let click = [ObjectPrompt(objectID: 1, points: [pt(cx, cy, w, h)])]
        let alone = engine.segment(first, objects: click)[1]!
        let moving = engine.segment(first, objects: click, nearby: next)[1]!
        #expect(moving.iou(truth) >= 0.8)
        #expect(moving.iou(truth) > alone.iou(truth) + 0.2)
        print("camouflaged disc: IoU \(alone.iou(truth)) alone, \(moving.iou(truth)) with motion")
    }

    /// A red body with a yellow limb that swings (moves unlike the body) in front of a still background,
    /// clicked on the body only: neither the limb's colour nor its motion is the body's, so the colour
    /// and motion models cannot say it belongs, but it moves while the scene stands still (the
    /// independent-motion cue).
    @Test func aPartThatMovesUnlikeTheClickedPartIsKeptByItsMotion() {
        let w = 640, h = 360, cx = 300.0, cy = 150.0, r = 55.0
        let palette: [(UInt8, UInt8, UInt8)] = [(60, 80, 200), (170, 170, 150), (90, 120, 70)]
        var g = SplitMix64(seed: 5)
        let cells = (0..<(64 * 64)).map { _ in Int(g.next() % 3) }
        // The limb: a bar hanging from the body, its lower end `swing` px to the side.
        func limb(_ bx: Double, _ by: Double, swing: Double) -> (Int, Int) -> Bool {
            { x, y in
                let t = (Double(y) + 0.5 - by) / 80
                guard t >= 0 && t <= 1 else { return false }
                return abs(Double(x) + 0.5 - (bx + swing * t)) <= 14
            }
        }
        func frame(dx: Double, swing: Double) -> (RGBImage, Mask) {
            var px = [UInt8](repeating: 0, count: w * h * 3)
            var truth = Mask(width: w, height: h)
            let body = disc(cx + dx, cy, r), arm = limb(cx + dx, cy + r - 10, swing: swing)
            var n = SplitMix64(seed: 7)
            for y in 0..<h {
                for x in 0..<w {
                    var c = palette[cells[((y / 10) & 63) * 64 + ((x / 10) & 63)]]
                    if arm(x, y) { c = (225, 150, 40); truth[x, y] = 1 }
                    if body(x, y) { c = (210, 40, 40); truth[x, y] = 1 }
                    let d = Int(n.next() % 9) - 4
                    let q = (y * w + x) * 3
                    px[q] = UInt8(clamping: Int(c.0) + d); px[q + 1] = UInt8(clamping: Int(c.1) + d)
                    px[q + 2] = UInt8(clamping: Int(c.2) + d)
                }
            }
            return (RGBImage(width: w, height: h, pixels: px), truth)
        }
        let (first, truth) = frame(dx: 0, swing: 0), (next, _) = frame(dx: 3, swing: 16)
        let clicks = [ObjectPrompt(objectID: 1, points: [pt(cx - 20, cy, w, h), pt(cx + 20, cy - 10, w, h), pt(cx, cy + 25, w, h)])]
        var limbTruth = Mask(width: w, height: h)
        for y in 0..<h { for x in 0..<w where truth[x, y] != 0 && !disc(cx, cy, r)(x, y) { limbTruth[x, y] = 1 } }
        func limbShare(_ m: Mask) -> Double {
            var hit = 0
            for y in 0..<h { for x in 0..<w where limbTruth[x, y] != 0 && m[x, y] != 0 { hit += 1 } }
            return Double(hit) / Double(limbTruth.area)
        }
        var off = ClassicalSegmentationEngine.Configuration()
        off.independentMotion = 0
        let with = engine.segment(first, objects: clicks, nearby: next)[1]!
        let without = ClassicalSegmentationEngine(configuration: off).segment(first, objects: clicks, nearby: next)[1]!
        print("swinging limb: share \(limbShare(without)) → \(limbShare(with)), IoU \(without.iou(truth)) → \(with.iou(truth))")
        #expect(limbShare(with) >= 0.7)
        #expect(limbShare(with) > limbShare(without) + 0.3)
        #expect(with.iou(truth) >= 0.85)
    }

    @Test func anUnreadablePartnerLeavesTheFrameWithoutMotion() throws {
        struct Unreadable: Error {}
        var s = Scene(width: 320, height: 240, seed: 5)
        let truth = s.paint((230, 120, 20), disc(160, 120, 50))
        let image = s.image
        let frame = try engine.prepare(frame: 0, count: 2) { i in
            if i == 1 { throw Unreadable() }
            return image
        }
        let m = engine.upsample(engine.segment(frame, objects: [ObjectPrompt(objectID: 1, points: [pt(160, 120, 320, 240)])]),
                                to: 320, 240, guide: nil, frame: frame).masks()[1]!
        #expect(m.iou(truth) >= 0.9)
        #expect(throws: Unreadable.self) { try engine.prepare(frame: 1, count: 2) { _ in throw Unreadable() } }
    }

    @Test func theMotionPartnerIsTheNextFrameOrThePreviousForTheLast() {
        #expect(ClassicalSegmentationEngine.motionPartner(of: 0, frameCount: 90) == 1)
        #expect(ClassicalSegmentationEngine.motionPartner(of: 41, frameCount: 90) == 42)
        #expect(ClassicalSegmentationEngine.motionPartner(of: 89, frameCount: 90) == 88)
        #expect(ClassicalSegmentationEngine.motionPartner(of: 0, frameCount: 1) == nil)
    }

    /// An object of two colours (a white top over a dark blue base) is marked on one frame; on another,
    /// where it has moved, it gets one click on its white top and no prior. With its appearance on the
    /// first frame the click finds the base too; from the click alone, only the top.
    @Test("one click on a new frame finds the parts the object showed where it was marked")
    func appearanceFromAnotherFrame() {
        func scene(_ cx: Double, _ cy: Double) -> (Scene, whole: Mask, top: Mask) {
            var s = Scene(width: 320, height: 240, seed: 31)
            let top = s.paint((235, 235, 230), disc(cx, cy - 30, 28))
            let base = s.paint((30, 35, 90), seed: 4) { x, y in
                abs(Double(x) - cx) <= 34 && Double(y) >= cy - 4 && Double(y) < cy + 50
            }
            return (s, union(top, base), top)
        }
        let (a, wholeA, _) = scene(110, 110)
        let (b, wholeB, topB) = scene(200, 140)
        let frameA = engine.prepare(a.image), frameB = engine.prepare(b.image)
        let seen = ObjectAppearance(frame: frameA, mask: wholeA)
        let click = [ObjectPrompt(objectID: 1, points: [pt(200, 110, 320, 240)])]
        let with = engine.segment(frameB, objects: click) { $0 == 1 ? seen : nil }.masks()[1] ?? Mask(width: 1, height: 1)
        let alone = engine.segment(frameB, objects: click).masks()[1] ?? Mask(width: 1, height: 1)
        #expect(with.iou(wholeB) >= 0.85, "IoU with the appearance \(with.iou(wholeB))")
        #expect(alone.iou(wholeB) < 0.7, "IoU from the click alone \(alone.iou(wholeB))")
        #expect(alone.iou(topB) >= 0.8, "the click alone finds the top: IoU \(alone.iou(topB))")
        // A prior that holds the object there (the preview's mask) leaves the appearance unasked.
        var asked = false
        _ = engine.segment(frameB, objects: [ObjectPrompt(objectID: 1, points: click[0].points, prior: wholeB)]) { _ in
            asked = true
            return seen
        }
        #expect(!asked)
    }

    /// The other frame's mask can hold background its clicks never pointed at (a leak); the appearance is
    /// read near its include clicks, so that background does not join the object on this frame.
    @Test func appearanceIsReadNearTheOtherFramesClicks() {
        func scene(_ cx: Double, _ cy: Double, patchWidth: Double) -> (Scene, whole: Mask, patch: Mask) {
            var s = Scene(width: 320, height: 240, seed: 37)
            let top = s.paint((235, 235, 230), disc(cx, cy - 30, 28))
            let base = s.paint((30, 35, 90), seed: 4) { x, y in
                abs(Double(x) - cx) <= 34 && Double(y) >= cy - 4 && Double(y) < cy + 50
            }
            let patch = s.paint((40, 42, 48), seed: 5) { x, y in
                Double(x) > cx + 34 && Double(x) <= cx + 34 + patchWidth && Double(y) >= cy - 4 && Double(y) < cy + 50
            }
            return (s, union(top, base), patch)
        }
        let (a, wholeA, patchA) = scene(100, 110, patchWidth: 90)
        let (b, wholeB, patchB) = scene(190, 140, patchWidth: 24)
        let frameA = engine.prepare(a.image), frameB = engine.prepare(b.image)
        let leaky = union(wholeA, patchA)
        let pointsA = [pt(100, 80, 320, 240), pt(100, 133, 320, 240)]
        let near = engine.appearance(on: frameA, mask: leaky, points: pointsA)
        let whole = ObjectAppearance(frame: frameA, mask: leaky)
        let click = [ObjectPrompt(objectID: 1, points: [pt(190, 110, 320, 240)])]
        func patchShare(_ m: Mask) -> Double {
            Double(zip(m.data, patchB.data).filter { $0 != 0 && $1 != 0 }.count) / Double(max(1, patchB.area))
        }
        let fromNear = engine.segment(frameB, objects: click) { _ in near }.masks()[1] ?? Mask(width: 1, height: 1)
        let fromWhole = engine.segment(frameB, objects: click) { _ in whole }.masks()[1] ?? Mask(width: 1, height: 1)
        #expect(fromNear.iou(wholeB) >= 0.85, "IoU with the appearance near the clicks \(fromNear.iou(wholeB))")
        #expect(patchShare(fromNear) < 0.1, "the leaked patch's share \(patchShare(fromNear))")
        #expect(patchShare(fromWhole) > 0.5, "with the whole leaky mask the patch joins: \(patchShare(fromWhole))")
    }

    @Test func preparedFrameCanBeReusedAcrossClicks() {
        var s = Scene(width: 320, height: 240, seed: 13)
        let truth = s.paint((230, 120, 20), disc(160, 120, 50))
        let frame = engine.prepare(s.image)
        #expect(frame.regionCount > 100)
        let labels = engine.segment(frame, objects: [ObjectPrompt(objectID: 5, points: [pt(160, 120, 320, 240)])])
        #expect(labels.objectIDs == [5])
        let up = engine.upsample(labels, to: 640, 480, guide: s.image.resizedBilinear(width: 640, height: 480), frame: frame)
        let m = up.masks()[5]!
        #expect(m.iou(truth.resizedNearest(width: 640, height: 480)) >= 0.9)
    }
}

@Suite struct UpsampleAndClickTests {
    @Test func guidedUpsampleFollowsEdges() {
        var s = Scene(width: 640, height: 480, seed: 21)
        let truth = s.paint((250, 250, 250), disc(300, 250, 120))
        // A coarse mask at 80×60 (blocky edges) upsampled with the full-size guide.
        let coarse = truth.resizedNearest(width: 80, height: 60)
        let plain = coarse.resizedNearest(width: 640, height: 480)
        let guided = upsample(mask: coarse, to: (640, 480), guide: s.image)
        #expect(guided.iou(truth) >= 0.97, "guided IoU \(guided.iou(truth))")
        #expect(guided.iou(truth) >= plain.iou(truth))
        let unguided = upsample(mask: coarse, to: (640, 480), guide: nil)
        #expect(unguided.iou(truth) >= 0.95)
    }

    @Test func interiorClicksOfARectangle() {
        var m = Mask(width: 100, height: 60)
        for y in 10..<50 { for x in 20..<80 { m[x, y] = 1 } }
        let c = m.interiorClicks(count: 3)
        #expect(c.count == 3)
        let p0 = c[0].pixel(width: 100, height: 60)
        #expect(abs(p0.x - 50) <= 12 && abs(p0.y - 30) <= 1)
        for p in c { #expect(m[p.pixel(width: 100, height: 60).x, p.pixel(width: 100, height: 60).y] == 1) }
        #expect(Mask(width: 5, height: 5).interiorClicks(count: 2).isEmpty)
    }

    @Test func downscaleAverages() {
        let img = RGBImage(width: 4, height: 2, pixels: [
            0, 0, 0, 100, 100, 100, 10, 20, 30, 10, 20, 30,
            100, 100, 100, 200, 200, 200, 10, 20, 30, 10, 20, 30,
        ])
        let d = img.downscaled(width: 2, height: 1)
        #expect(d.pixels == [100, 100, 100, 10, 20, 30])
        #expect(RGBImage.workingSize(width: 3840, height: 2160, longSide: 480) == (480, 270))
        #expect(RGBImage.workingSize(width: 100, height: 50, longSide: 480) == (100, 50))
    }
}

/// The share of `part`'s pixels that `mask` also has.
func covered(_ part: Mask, by mask: Mask) -> Double {
    Double(zip(part.data, mask.data).filter { $0 != 0 && $1 != 0 }.count) / Double(max(1, part.area))
}

/// The pixels in `a` or in `b` (masks of one size).
func union(_ a: Mask, _ b: Mask) -> Mask {
    Mask(width: a.width, height: a.height, data: zip(a.data, b.data).map { $0 != 0 || $1 != 0 ? 1 : 0 })
}

extension EngineTests {
    /// An object of two colours (a red disc with a blue block attached on its right) and another object
    /// (a yellow square) up and to the right, on the test background.
    static func twoColourScene() -> (scene: Scene, disc: Mask, block: Mask, other: Mask) {
        var s = Scene(width: 320, height: 240, seed: 12)
        let disc = s.paint((200, 30, 30), disc(110, 120, 45))
        let block = s.paint((30, 40, 210)) { x, y in x >= 150 && x < 215 && y >= 95 && y < 150 }
        let other = s.paint((230, 210, 40)) { x, y in x >= 255 && x < 305 && y >= 20 && y < 70 }
        return (s, disc, block, other)
    }

    /// The mask of one object whose only point on the frame is an exclude click at (`x`, `y`) and whose
    /// prior there (what the preview tracked) is `prior`.
    static func excludeOnly(at x: Double, _ y: Double, on s: Scene, prior: Mask,
                            configuration: ClassicalSegmentationEngine.Configuration = .init()) -> Mask {
        let click = pt(x, y, s.width, s.height, positive: false)
        return ClassicalSegmentationEngine(configuration: configuration)
            .segment(s.image, objects: [ObjectPrompt(objectID: 0, points: [click], prior: prior)])[0]!
    }

    /// A click on the block alone selects the block; the mask believed before (a prior, here the object
    /// shifted by 6 px as a tracker would leave it) makes the same click select the whole object. A click
    /// far from every part of the prior (on another object) ignores it.
    @Test("a prior mask near the click is the starting point; one far from it is ignored")
    func priorMaskNearTheClick() {
        let (s, discPart, block, other) = Self.twoColourScene()
        let w = s.image.width, h = s.image.height
        let whole = union(discPart, block)
        var shifted = Mask(width: w, height: h)
        for y in 0..<h { for x in 6..<w where whole[x - 6, y] == 1 { shifted[x, y] = 1 } }
        let onBlock = [pt(190, 122, w, h)]
        let alone = engine.segment(s.image, objects: [ObjectPrompt(objectID: 0, points: onBlock)])[0]!
        let started = engine.segment(s.image, objects: [ObjectPrompt(objectID: 0, points: onBlock, prior: shifted)])[0]!
        #expect(alone.iou(whole) < 0.6, "the block alone: IoU with the whole object \(alone.iou(whole))")
        #expect(started.iou(whole) >= 0.85, "from the prior: IoU \(started.iou(whole))")
        // Far from the prior: the other object, as without one.
        let onOther = [pt(280, 45, w, h)]
        let far = engine.segment(s.image, objects: [ObjectPrompt(objectID: 0, points: onOther, prior: shifted)])[0]!
        let farAlone = engine.segment(s.image, objects: [ObjectPrompt(objectID: 0, points: onOther)])[0]!
        #expect(far == farAlone)
        #expect(far.iou(other) >= 0.85, "IoU \(far.iou(other))")
        // An exclude click alone, on the background, leaves the object as the prior has it.
        let kept = Self.excludeOnly(at: 20, 20, on: s, prior: shifted)
        #expect(kept.iou(whole) >= 0.85, "IoU \(kept.iou(whole))")
    }

    /// The preview tracked the red disc with the blue block attached, and the person says the block is not
    /// part of it: one exclude click on the block, the frame's only point. The object is what was tracked
    /// less what the click points at. Before, exclude clicks alone selected nothing, so that click erased
    /// the object on the frame, and the frame, now an anchor, erased it through the clip.
    @Test("exclude clicks alone on a frame take what they point at out of the prior")
    func excludeClicksAloneTakeTheirPartOutOfThePrior() {
        let (s, disc, block, other) = Self.twoColourScene()
        let edited = Self.excludeOnly(at: 190, 122, on: s, prior: union(disc, block))
        #expect(edited.iou(disc) >= 0.9, "IoU with the disc \(edited.iou(disc))")
        var off = ClassicalSegmentationEngine.Configuration()
        off.priorLessExcluded = false
        #expect(Self.excludeOnly(at: 190, 122, on: s, prior: union(disc, block), configuration: off).isEmpty)
        // Tracking had lost the object to the yellow square; an exclude click in the middle of it rejects
        // what was tracked as a whole.
        let rejected = Self.excludeOnly(at: 280, 45, on: s, prior: other)
        #expect(rejected.area * 10 < other.area, "\(rejected.area) of the square's \(other.area) pixels kept")
    }

    /// The same where what the preview added has the object's own colour (a red bar grown out of the red
    /// disc), so what the exclude click alone would select is the whole prior: only the clicked part goes,
    /// and the cut between the rest's clicks and the exclude click keeps the disc.
    @Test("an exclude click on a part of the object's own colour keeps the rest")
    func excludeClickOnAPartOfTheSameColour() {
        var s = Scene(width: 320, height: 240, seed: 12)
        let disc = s.paint((200, 30, 30), disc(110, 120, 45))
        let bar = s.paint((200, 30, 30)) { x, y in x >= 150 && x < 290 && y >= 110 && y < 130 }
        let edited = Self.excludeOnly(at: 260, 120, on: s, prior: union(disc, bar))
        #expect(edited.iou(disc) >= 0.8, "IoU with the disc \(edited.iou(disc))")
    }

    /// Tracking kept the red disc but missed the blue block; the person clicks the block's far end, more
    /// than `priorReach` from every part of the prior. What that click selects on its own (the block)
    /// touches the prior, so the prior still counts and the whole object comes back.
    @Test("a prior far from the click counts when what the click selects touches it")
    func priorTouchedByTheClickedPart() {
        let (s, discPart, block, _) = Self.twoColourScene()
        let w = s.image.width, h = s.image.height
        let whole = union(discPart, block)
        let onBlockEnd = [pt(208, 122, w, h)]  // 53 px from the disc; the reach is 20 px
        let withTouch = engine.segment(s.image, objects: [ObjectPrompt(objectID: 0, points: onBlockEnd, prior: discPart)])[0]!
        var reachOnly = ClassicalSegmentationEngine.Configuration()
        reachOnly.priorTouch = false
        let withoutTouch = ClassicalSegmentationEngine(configuration: reachOnly)
            .segment(s.image, objects: [ObjectPrompt(objectID: 0, points: onBlockEnd, prior: discPart)])[0]!
        #expect(withTouch.iou(whole) >= 0.85, "IoU \(withTouch.iou(whole))")
        #expect(withoutTouch.iou(whole) < 0.6, "the block alone: IoU with the whole object \(withoutTouch.iou(whole))")
    }

    /// A red disc with `part` (painted `colour`) tracked as the prior, and a blue block on the disc's side
    /// that tracking missed, clicked once: the masks the default engine and one with `other` give.
    static func clickOnAMissedBlock(part colour: (Int, Int, Int), _ inside: (Int, Int) -> Bool,
                                    other: ClassicalSegmentationEngine.Configuration)
        -> (edited: Mask, other: Mask, body: Mask, part: Mask, block: Mask) {
        var s = Scene(width: 320, height: 240, seed: 12)
        let body = s.paint((200, 30, 30), disc(110, 110, 45))
        let part = s.paint(colour, inside)
        let block = s.paint((30, 40, 210)) { x, y in x >= 150 && x < 215 && y >= 85 && y < 140 }
        let object = [ObjectPrompt(objectID: 0, points: [pt(195, 112, s.width, s.height)], prior: union(body, part))]
        return (ClassicalSegmentationEngine().segment(s.image, objects: object)[0]!,
                ClassicalSegmentationEngine(configuration: other).segment(s.image, objects: object)[0]!, body, part, block)
    }

    /// The preview tracked a red disc with a leg of a darker red below it but missed the blue block on
    /// its side; the person clicks the block. The click edits what was tracked: the block joins, and the
    /// leg, far from the click and of a colour the points' regions do not have, stays. Without the
    /// prior's own term the cut starts afresh from the click and the prior's interior points, and the
    /// leg goes.
    @Test("a click on a part tracking missed adds it and keeps the rest of the prior")
    func clickOnAMissedPartKeepsThePrior() {
        var afresh = ClassicalSegmentationEngine.Configuration()
        afresh.priorWeight = 0
        let (edited, restarted, body, leg, block) = Self.clickOnAMissedBlock(part: (150, 45, 40), { x, y in
            x >= 100 && x < 122 && y >= 150 && y < 232
        }, other: afresh)
        let whole = union(union(body, leg), block)
        #expect(edited.iou(whole) >= 0.9, "IoU with the whole object \(edited.iou(whole))")
        let kept = covered(leg, by: edited), keptAfresh = covered(leg, by: restarted)
        #expect(kept >= 0.9, "share of the leg kept \(kept)")
        #expect(keptAfresh < 0.5, "without the term: share of the leg kept \(keptAfresh)")
    }

    /// The same with, apart from the disc, a dark green part of the object (a tail) tracked. The click
    /// edits the mask near it: the block joins, and the tail, whose colour none of the clicked regions
    /// has, stays as it was tracked (`priorEditReach`), where the cut alone drops it.
    @Test("a click changes the prior only in the parts near the click")
    func clickEditsOnlyNearIt() {
        var global = ClassicalSegmentationEngine.Configuration()
        global.priorEditReach = 0
        let (edited, cut, _, tail, block) = Self.clickOnAMissedBlock(part: (40, 90, 50), { x, y in
            x >= 30 && x < 80 && y >= 180 && y < 228
        }, other: global)
        #expect(covered(block, by: edited) >= 0.9, "share of the block taken \(covered(block, by: edited))")
        #expect(covered(tail, by: edited) >= 0.99, "share of the tail kept \(covered(tail, by: edited))")
        #expect(covered(tail, by: cut) < 0.9, "by the cut alone: share of the tail kept \(covered(tail, by: cut))")
    }

    /// The preview tracked a disc (red above, dark grey below) with a strip of the dark grey ground it
    /// stands on (a shadow, say) along its lower right edge. The person has an include click on the red
    /// part and puts an exclude click on the strip. What that click points at alone is everything dark
    /// grey, the disc's lower half with it; the strip goes and the disc stays, because what it points at
    /// is selected against the prior's interior points (`excludeSparesIncluded`) and the click, one
    /// strip's depth inside the tracked mask, takes out nothing much deeper (`excludeDepthReach`).
    /// Without the two rules the click takes the disc's lower half too.
    @Test("an exclude click on a thin leak along the edge trims the leak, not the object")
    func excludeClickOnAThinLeak() {
        var s = Scene(width: 320, height: 240, seed: 12)
        let body = s.paint((200, 30, 30), disc(130, 110, 50))
        let lower = s.paint((60, 60, 70)) { x, y in (x - 130) * (x - 130) + (y - 110) * (y - 110) <= 2500 && y >= 120 }
        let strip = s.paint((60, 60, 70)) { x, y in
            x >= 120 && x < 240 && y >= 150 && y < 166 && (x - 130) * (x - 130) + (y - 110) * (y - 110) > 2500
        }
        let object = union(body, lower)
        let clicks = [pt(130, 85, s.width, s.height), pt(205, 158, s.width, s.height, positive: false)]
        let prompt = [ObjectPrompt(objectID: 0, points: clicks, prior: union(object, strip))]
        let edited = ClassicalSegmentationEngine().segment(s.image, objects: prompt)[0]!
        var off = ClassicalSegmentationEngine.Configuration()
        off.excludeSparesIncluded = false
        off.excludeDepthReach = 0
        let before = ClassicalSegmentationEngine(configuration: off).segment(s.image, objects: prompt)[0]!
        #expect(covered(object, by: edited) >= 0.95, "share of the object kept \(covered(object, by: edited))")
        #expect(covered(strip, by: edited) <= 0.3, "share of the strip kept \(covered(strip, by: edited))")
        #expect(covered(lower, by: before) < 0.7, "without the rules: share of the lower half kept \(covered(lower, by: before))")
    }

    /// A red disc tracked with a wide sheet of the dark ground below it, deeper than the disc itself, so
    /// the tracked mask's interior points lie in the sheet. An include click on the disc and an exclude
    /// click on the sheet: the sheet goes and the disc stays, because the interior points within the
    /// exclude click's reach are not taken (`excludeClaimsInterior`). Without the rule they act as include
    /// clicks in the sheet and are spared from what the exclude click points at.
    @Test("an exclude click on a wide leak that holds the tracked mask's deepest points takes the leak")
    func excludeClickOnAWideLeak() {
        var s = Scene(width: 320, height: 240, seed: 5)
        _ = s.paint((50, 50, 60)) { _, y in y >= 150 }
        let object = s.paint((200, 30, 30), disc(90, 125, 30))
        let sheet = Mask(width: 320, height: 240, data: (0..<(320 * 240)).map { p in
            let x = p % 320, y = p / 320
            return x >= 60 && x < 290 && y >= 150 && object.data[p] == 0 ? 1 : 0
        })
        let clicks = [pt(90, 125, s.width, s.height), pt(200, 200, s.width, s.height, positive: false)]
        let prompt = [ObjectPrompt(objectID: 0, points: clicks, prior: union(object, sheet))]
        let edited = ClassicalSegmentationEngine().segment(s.image, objects: prompt)[0]!
        var off = ClassicalSegmentationEngine.Configuration()
        off.excludeClaimsInterior = 0
        let before = ClassicalSegmentationEngine(configuration: off).segment(s.image, objects: prompt)[0]!
        #expect(covered(object, by: edited) >= 0.95, "share of the object kept \(covered(object, by: edited))")
        #expect(covered(sheet, by: edited) <= 0.35, "share of the sheet kept \(covered(sheet, by: edited))")
        #expect(covered(sheet, by: before) > 0.6, "without the rule: share of the sheet kept \(covered(sheet, by: before))")
    }

    @Test("the parts of a mask near points")
    func componentsNearPoints() {
        var m = Mask(width: 40, height: 20)
        for y in 2..<8 { for x in 2..<8 { m[x, y] = 1 } }        // near (5, 5)
        for y in 10..<18 { for x in 30..<38 { m[x, y] = 1 } }    // far
        let near = m.components(near: [PointPrompt(x: 10.5 / 40, y: 5.5 / 20)], within: 0.1)  // reach 4.5 px
        #expect(near.area == 36 && near[5, 5] == 1 && near[33, 14] == 0)
        #expect(m.components(near: [], within: 0.1).isEmpty)
        #expect(m.components(near: [PointPrompt(x: 0.5, y: 0.05)], within: 0.01).isEmpty)
    }
}
