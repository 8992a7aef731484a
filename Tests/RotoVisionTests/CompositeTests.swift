import Foundation
import RotoVision
import Testing

/// An image filled by `colour(x, y)`.
private func image(_ w: Int, _ h: Int, _ colour: (Int, Int) -> (UInt8, UInt8, UInt8)) -> RGBImage {
    var px = [UInt8](repeating: 0, count: w * h * 3)
    for y in 0..<h {
        for x in 0..<w {
            let c = colour(x, y)
            px[(y * w + x) * 3] = c.0; px[(y * w + x) * 3 + 1] = c.1; px[(y * w + x) * 3 + 2] = c.2
        }
    }
    return RGBImage(width: w, height: h, pixels: px)
}

/// Anti-aliased disc coverage (4 × 4 supersampling) at pixel (x, y).
private func discCoverage(_ x: Int, _ y: Int, cx: Double, cy: Double, r: Double) -> Double {
    var inside = 0
    for sy in 0..<4 {
        for sx in 0..<4 {
            let px = Double(x) + (Double(sx) + 0.5) / 4, py = Double(y) + (Double(sy) + 0.5) / 4
            if (px - cx) * (px - cx) + (py - cy) * (py - cy) <= r * r { inside += 1 }
        }
    }
    return Double(inside) / 16
}

private func mix(_ a: (UInt8, UInt8, UInt8), _ b: (UInt8, UInt8, UInt8), _ t: Double) -> (UInt8, UInt8, UInt8) {
    func m(_ u: UInt8, _ v: UInt8) -> UInt8 { UInt8((Double(u) * (1 - t) + Double(v) * t).rounded()) }
    return (m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
}

/// IoU of a cutout's alpha (≥ 128) with a disc of radius `r` centred in the cutout.
private func discIoU(_ c: Cutout, r: Double) -> Double {
    let cx = Double(c.width) / 2, cy = Double(c.height) / 2
    var truth = [UInt8](repeating: 0, count: c.width * c.height)
    for y in 0..<c.height {
        for x in 0..<c.width where discCoverage(x, y, cx: cx, cy: cy, r: r) >= 0.5 { truth[y * c.width + x] = 1 }
    }
    return c.mask().iou(Mask(width: c.width, height: c.height, data: truth))
}

@Suite("Subject extraction")
struct SubjectExtractionTests {
    @Test func redDiscOnWhite() {
        let r = 90.0
        let img = image(400, 300) { x, y in
            mix((255, 255, 255), (220, 30, 30), discCoverage(x, y, cx: 210, cy: 140, r: r))
        }
        let c = SubjectExtractor.extract(img)
        #expect(abs(c.width - 180) <= 4 && abs(c.height - 180) <= 4, "cropped to the disc: \(c.width)x\(c.height)")
        // Where the crop lay in the image: the disc's box (centre 210, 140, radius 90).
        #expect(abs(c.originX - 120) <= 2 && abs(c.originY - 50) <= 2, "origin \(c.originX), \(c.originY)")
        #expect(discIoU(c, r: r) >= 0.95)
        // Interior opaque and red; corners of the crop transparent.
        let mid = (c.height / 2) * c.width + c.width / 2
        #expect(c.alpha[mid] == 255)
        #expect(c.rgb.pixels[mid * 3] == 220 && c.rgb.pixels[mid * 3 + 1] == 30)
        #expect(c.alpha[0] == 0 && c.alpha[c.width * c.height - 1] == 0)
        // Edge colours are decontaminated: no white halo where alpha is partial.
        var halo = 0
        for i in 0..<(c.width * c.height) where c.alpha[i] > 0 && c.rgb.pixels[i * 3 + 1] > 80 { halo += 1 }
        #expect(halo == 0)
    }

    @Test func holesBigAreKeptSmallAreFilled() {
        // A blue ring (see-through hole, 20 % of the subject) with a small white speck in the band.
        let img = image(300, 300) { x, y in
            let dx = Double(x) - 150, dy = Double(y) - 150
            let r2 = dx * dx + dy * dy
            if x >= 150 && x < 154 && y >= 70 && y < 74 { return (255, 255, 255) }
            return r2 <= 100 * 100 && r2 >= 45 * 45 ? (30, 40, 180) : (255, 255, 255)
        }
        let c = SubjectExtractor.extract(img)
        #expect(abs(c.width - 200) <= 4)
        #expect(c.alpha[(c.height / 2) * c.width + c.width / 2] == 0, "the ring's hole stays transparent")
        let speck = (72 - (150 - c.height / 2)) * c.width + (152 - (150 - c.width / 2))
        #expect(c.alpha[speck] == 255, "the speck inside the ring is filled")
    }

    @Test func subjectOnTwoToneGradient() {
        // Vertical gradient from light blue to warm grey with mild noise; a dark green rectangle subject.
        var g = SplitMix64(seed: 7)
        let img = image(320, 400) { x, y in
            let t = Double(y) / 399
            let bg = mix((170, 200, 240), (225, 215, 200), t)
            let n = Int(g.next() % 7) - 3
            let inRect = x >= 100 && x < 220 && y >= 120 && y < 330
            let c = inRect ? (UInt8(30), UInt8(110), UInt8(50)) : bg
            return (UInt8(clamping: Int(c.0) + n), UInt8(clamping: Int(c.1) + n), UInt8(clamping: Int(c.2) + n))
        }
        let c = SubjectExtractor.extract(img)
        #expect(abs(c.width - 120) <= 4 && abs(c.height - 210) <= 4, "cropped to the subject: \(c.width)x\(c.height)")
        let area = c.opaqueCount()
        #expect(abs(area - 120 * 210) < 120 * 210 / 20, "area \(area)")
    }

    @Test func portraitCutByTheBottomEdge() {
        // Head and a torso that spans half the bottom edge, on a grey studio backdrop.
        let img = image(300, 400) { x, y in
            let dx = Double(x) - 150, dy = Double(y) - 120
            let head = dx * dx / (45 * 45) + dy * dy / (60 * 60) <= 1
            let torso = y >= 200 && abs(dx) < 75 + Double(y - 200) * 0.1
            if head { return (200, 160, 130) }
            if torso { return (40, 60, 120) }
            return (128, 128, 132)
        }
        let c = SubjectExtractor.extract(img)
        #expect(c.height >= 338 && c.height <= 344, "head top (y = 60) to the bottom edge: \(c.height)")
        #expect(c.width >= 180 && c.width <= 196, "torso width: \(c.width)")
        // The torso is opaque down to the edge; the backdrop beside the head is transparent.
        #expect(c.alpha[(c.height - 1) * c.width + c.width / 2] == 255)
        #expect(c.alpha[30 * c.width + 2] == 0)
        #expect(abs(c.opaqueCount() - 42_400) < 1_000)
    }

    @Test func busyNoiseKeepsWholeImageOpaque() {
        var g = SplitMix64(seed: 3)
        let img = image(200, 150) { _, _ in
            let v = g.next()
            return (UInt8(v & 255), UInt8((v >> 8) & 255), UInt8((v >> 16) & 255))
        }
        let c = SubjectExtractor.extract(img)
        #expect(c.width == 200 && c.height == 150)
        #expect(c.rgb == img && c.originX == 0 && c.originY == 0)
        // Opaque inside, feathered only at the 2-px border.
        #expect(c.alpha[75 * 200 + 100] == 255)
        #expect(c.alpha[0] < 255)
        #expect(c.opaqueCount(threshold: 255) == 196 * 146)
    }

    @Test func givenAlphaIsUsed() {
        // A checkerboard "photo" (not a simple background) with a PNG alpha that cuts a square.
        let img = image(100, 80) { x, y in (x / 5 + y / 5) % 2 == 0 ? (250, 250, 250) : (10, 10, 10) }
        var a = [UInt8](repeating: 0, count: 100 * 80)
        for y in 20..<50 { for x in 30..<70 { a[y * 100 + x] = 255 } }
        let c = SubjectExtractor.extract(img, alpha: a)
        #expect(c.width == 40 && c.height == 30)
        #expect(c.opaqueCount(threshold: 255) == 40 * 30)
        #expect(c.rgb.pixels[0] == img.pixels[(20 * 100 + 30) * 3])
        // An all-opaque alpha carries no information: colour extraction runs instead.
        let disc = image(120, 120) { x, y in
            mix((255, 255, 255), (20, 20, 200), discCoverage(x, y, cx: 60, cy: 60, r: 30))
        }
        let d = SubjectExtractor.extract(disc, alpha: [UInt8](repeating: 255, count: 120 * 120))
        #expect(abs(d.width - 60) <= 4)
    }

    @Test func timing() {
        var g = SplitMix64(seed: 11)
        let img = image(1024, 1024) { x, y in
            let c = mix((240, 240, 236), (200, 60, 40), discCoverage(x, y, cx: 500, cy: 540, r: 300))
            let n = Int(g.next() % 5) - 2
            return (UInt8(clamping: Int(c.0) + n), UInt8(clamping: Int(c.1) + n), UInt8(clamping: Int(c.2) + n))
        }
        var ms = Double.infinity
        var c = Cutout(opaque: img)
        for _ in 0..<3 {
            let t0 = Date()
            c = SubjectExtractor.extract(img)
            ms = min(ms, Date().timeIntervalSince(t0) * 1000)
        }
        print("timing: extract 1024x1024 → \(c.width)x\(c.height) in \(String(format: "%.1f", ms)) ms")
        #expect(discIoU(c, r: 300) >= 0.95)
    }
}

@Suite("Compositing")
struct CompositingTests {
    private func grey(_ w: Int, _ h: Int) -> RGBImage {
        RGBImage(width: w, height: h, pixels: [UInt8](repeating: 100, count: w * h * 3))
    }

    @Test func pastePutsColourInTheBoxOnly() {
        let cut = Cutout(opaque: image(50, 40) { _, _ in (200, 20, 10) })
        var frame = grey(320, 240)
        Compositor.paste(cut, into: &frame, box: Box(x: 100, y: 80, width: 100, height: 60))
        for y in 0..<240 {
            for x in 0..<320 {
                let p = (y * 320 + x) * 3
                let inside = x >= 100 && x < 200 && y >= 80 && y < 140
                let rgb = (frame.pixels[p], frame.pixels[p + 1], frame.pixels[p + 2])
                if inside {
                    #expect(rgb == (200, 20, 10), "(\(x), \(y))")
                } else {
                    #expect(rgb == (100, 100, 100), "(\(x), \(y))")
                }
                if inside ? rgb != (200, 20, 10) : rgb != (100, 100, 100) { return }
            }
        }
    }

    @Test func pasteBlendsAlphaAndHandlesSubPixelEdges() {
        // Half-transparent white over grey gives the midpoint; a half-pixel offset gives a soft column.
        var half = Cutout(opaque: image(10, 10) { _, _ in (255, 255, 255) })
        half.alpha = [UInt8](repeating: 128, count: 100)
        var frame = grey(40, 40)
        Compositor.paste(half, into: &frame, box: Box(x: 5, y: 5, width: 10, height: 10))
        #expect(abs(Int(frame.pixels[(10 * 40 + 10) * 3]) - 178) <= 1)
        var f2 = grey(40, 40)
        Compositor.paste(Cutout(opaque: image(10, 10) { _, _ in (255, 255, 255) }), into: &f2,
                         box: Box(x: 5.5, y: 5, width: 10, height: 10))
        let edge = Int(f2.pixels[(10 * 40 + 5) * 3])
        #expect(edge > 160 && edge < 195, "left edge column half covered: \(edge)")
        #expect(f2.pixels[(10 * 40 + 10) * 3] == 255)
        #expect(f2.pixels[(10 * 40 + 4) * 3] == 100)
    }

    @Test func pasteShrinksAndClipsAtFrameEdges() {
        let big = Cutout(opaque: image(400, 400) { x, _ in x < 200 ? (255, 0, 0) : (0, 0, 255) })
        var frame = grey(64, 48)
        // Mostly outside, across every edge, and entirely outside: no crash, only in-frame pixels touched.
        Compositor.paste(big, into: &frame, box: Box(x: -30, y: -20, width: 50, height: 50))
        Compositor.paste(big, into: &frame, box: Box(x: 50, y: 40, width: 40, height: 40))
        Compositor.paste(big, into: &frame, box: Box(x: -100, y: 10, width: 400, height: 400))
        Compositor.paste(big, into: &frame, box: Box(x: 500, y: 500, width: 10, height: 10))
        Compositor.paste(big, into: &frame, box: Box(x: .nan, y: 0, width: 10, height: 10))
        Compositor.paste(big, into: &frame, box: Box(x: 0, y: 0, width: 0, height: 10))
        var small = grey(64, 48)
        Compositor.paste(big, into: &small, box: Box(x: 8, y: 8, width: 20, height: 20))
        // Area-averaged shrink keeps the colours pure away from the split.
        #expect(small.pixels[(18 * 64 + 10) * 3] == 255 && small.pixels[(18 * 64 + 10) * 3 + 2] == 0)
        #expect(small.pixels[(18 * 64 + 25) * 3 + 2] == 255 && small.pixels[(18 * 64 + 25) * 3] == 0)
        #expect(small.pixels[(30 * 64 + 10) * 3] == 100)
    }

    @Test func pasteTiming() {
        var g = SplitMix64(seed: 5)
        let cut = SubjectExtractor.extract(image(800, 800) { x, y in
            let c = mix((255, 255, 255), (40, 90, 200), discCoverage(x, y, cx: 400, cy: 400, r: 350))
            let n = Int(g.next() % 3) - 1
            return (UInt8(clamping: Int(c.0) + n), UInt8(clamping: Int(c.1) + n), UInt8(clamping: Int(c.2) + n))
        })
        let prepared = PreparedCutout(cut)
        var frame = RGBImage(width: 1920, height: 1080)
        let reps = 20
        let t0 = Date()
        for i in 0..<reps {
            Compositor.paste(prepared, into: &frame, box: Box(x: 600.25 + Double(i), y: 200.5, width: 600, height: 600))
        }
        let ms = Date().timeIntervalSince(t0) * 1000 / Double(reps)
        let t1 = Date()
        for i in 0..<reps {
            Compositor.paste(cut, into: &frame, box: Box(x: 600.25 + Double(i), y: 200.5, width: 600, height: 600))
        }
        let ms2 = Date().timeIntervalSince(t1) * 1000 / Double(reps)
        print("timing: paste \(cut.width)x\(cut.height) into 1920x1080, box 600x600: prepared \(String(format: "%.2f", ms)) ms, from Cutout \(String(format: "%.2f", ms2)) ms")
        #expect(frame.pixels[(500 * 1920 + 900) * 3 + 2] > 150)
    }

    /// Pixels that differ between `a` and `b` outside the given rows and columns, and inside them.
    private func changes(_ a: RGBImage, _ b: RGBImage, rows: Range<Int>, columns: Range<Int>) -> (outside: Int, inside: Int) {
        var outside = 0, inside = 0
        for y in 0..<a.height {
            for x in 0..<a.width {
                let p = (y * a.width + x) * 3
                guard a.pixels[p..<(p + 3)] != b.pixels[p..<(p + 3)] else { continue }
                if rows.contains(y) && columns.contains(x) { inside += 1 } else { outside += 1 }
            }
        }
        return (outside, inside)
    }

    @Test("the declared regions of the watermark, a paste and the removal composite hold every pixel they change")
    func regionsHoldEveryChange() {
        var g = SplitMix64(seed: 4)
        func noise(_ w: Int, _ h: Int) -> RGBImage {
            image(w, h) { _, _ in (UInt8(g.next() % 256), UInt8(g.next() % 256), UInt8(g.next() % 256)) }
        }
        for (w, h, text) in [(1280, 720, "ROTO"), (333, 201, "roto 2025!"), (640, 360, "straße"), (20, 12, "A LONG WATERMARK")] {
            let orig = noise(w, h)
            var frame = orig
            Compositor.watermark(&frame, text: text)
            let r = Compositor.watermarkRegion(width: w, height: h, text: text)
            let c = changes(orig, frame, rows: r.rows, columns: r.columns)
            #expect(c.outside == 0, "watermark \(w)x\(h)")
            #expect(w < 100 || c.inside > 0)
        }
        let cut = PreparedCutout(Cutout(opaque: noise(37, 29)))
        for box in [Box(x: 10.3, y: 5.7, width: 50.2, height: 33.9), Box(x: -12.5, y: 90.5, width: 40, height: 40),
                    Box(x: 150, y: -3, width: 20.1, height: 10.6)] {
            let orig = noise(160, 120)
            var frame = orig
            Compositor.paste(cut, into: &frame, box: box)
            let r = Compositor.pasteRegion(box: box, width: 160, height: 120)
            let c = changes(orig, frame, rows: r.rows, columns: r.columns)
            #expect(c.outside == 0 && c.inside > 0, "paste \(box)")
        }
        var bits = [UInt8](repeating: 0, count: 40 * 30)
        for y in 3..<11 { for x in 30..<40 { bits[y * 40 + x] = 1 } }
        let hole = Mask(width: 40, height: 30, data: bits)
        for (W, H) in [(97, 71), (160, 120), (40, 30)] {
            let orig = noise(W, H)
            var frame = orig
            VideoInpainter.composite(filled: noise(40, 30), replaced: hole, into: &frame)
            guard let r = VideoInpainter.compositeRegion(replaced: hole, width: W, height: H) else {
                Issue.record("no composite region")
                continue
            }
            let c = changes(orig, frame, rows: r.rows, columns: r.columns)
            #expect(c.outside == 0 && c.inside > 0, "composite \(W)x\(H)")
        }
        #expect(VideoInpainter.compositeRegion(replaced: Mask(width: 40, height: 30), width: 80, height: 60) == nil)
    }

    @Test func watermarkOnlyBottomRight() {
        var g = SplitMix64(seed: 9)
        let orig = image(1280, 720) { _, _ in
            let v = UInt8(g.next() % 256)
            return (v, v, v)
        }
        var frame = orig
        Compositor.watermark(&frame)
        var changed = 0
        var minX = Int.max, minY = Int.max
        for y in 0..<720 {
            for x in 0..<1280 where frame.pixels[(y * 1280 + x) * 3] != orig.pixels[(y * 1280 + x) * 3] {
                changed += 1
                minX = min(minX, x); minY = min(minY, y)
            }
        }
        #expect(changed > 500)
        #expect(minX >= 1280 * 3 / 4 && minY >= 720 * 17 / 20, "changed region starts at (\(minX), \(minY))")
        // Visible on both white and black frames, tiny frames and odd text do not crash.
        var white = RGBImage(width: 640, height: 360, pixels: [UInt8](repeating: 255, count: 640 * 360 * 3))
        Compositor.watermark(&white, text: "roto 2025!")
        #expect(white.pixels.contains { $0 < 200 })
        var black = RGBImage(width: 640, height: 360)
        Compositor.watermark(&black)
        #expect(black.pixels.contains { $0 > 120 })
        var tiny = RGBImage(width: 8, height: 6)
        Compositor.watermark(&tiny, text: "A LONG WATERMARK")
        Compositor.watermark(&tiny, text: "")
    }
}

@Suite("Placement")
struct PlacementTests {
    private func rectMask(_ w: Int, _ h: Int, x: Int, y: Int, bw: Int, bh: Int) -> Mask {
        var m = Mask(width: w, height: h)
        for yy in max(0, y)..<min(h, y + bh) { for xx in max(0, x)..<min(w, x + bw) { m[xx, yy] = 1 } }
        return m
    }

    @Test func trackSmoothsJitter() {
        var g = SplitMix64(seed: 1)
        var masks: [Mask?] = []
        var rawX: [Double] = []
        for i in 0..<40 {
            let jitter = Int(g.next() % 9) - 4
            rawX.append(Double(50 + i * 2 + jitter))
            masks.append(rectMask(320, 240, x: 50 + i * 2 + jitter, y: 60, bw: 40 + jitter, bh: 80))
        }
        let boxes = Placement.track(masks)
        #expect(boxes.count == 40 && boxes.allSatisfy { $0 != nil })
        // Frame-to-frame changes of the smoothed left edge are much smaller than the raw ones.
        func roughness(_ v: [Double]) -> Double {
            var s = 0.0
            for i in 2..<v.count { s += abs(v[i] - 2 * v[i - 1] + v[i - 2]) }
            return s
        }
        let smoothX = boxes.map { $0!.x }
        #expect(roughness(smoothX) < roughness(rawX) / 3)
        // Still follows the motion.
        #expect(abs(boxes[20]!.centerX - (50 + 40 + 20)) < 5)
        #expect(abs(boxes[20]!.height - 80) < 1e-9)
    }

    @Test func trackFillsShortGapsOnly() {
        var masks: [Mask?] = []
        for i in 0..<60 {
            let present = !(10..<13).contains(i) && !(25..<55).contains(i)
            masks.append(present ? rectMask(200, 200, x: 20 + i, y: 30, bw: 30, bh: 30) : (i == 11 ? Mask(width: 200, height: 200) : nil))
        }
        let boxes = Placement.track(masks)
        for i in 10..<13 {
            guard let b = boxes[i] else { Issue.record("gap frame \(i) not filled"); continue }
            #expect(abs(b.x - Double(20 + i)) < 1)
        }
        for i in 25..<55 { #expect(boxes[i] == nil) }
        #expect(boxes[24] != nil && boxes[55] != nil)
        // Leading absence stays nil.
        #expect(Placement.track([nil, nil, rectMask(10, 10, x: 2, y: 2, bw: 3, bh: 3)]) .prefix(2).allSatisfy { $0 == nil })
    }

    @Test func defaultBoxGeometry() {
        let b = Placement.defaultBox(frameWidth: 1920, frameHeight: 1080, cutoutWidth: 300, cutoutHeight: 600)
        #expect(abs(b.height - 360) < 1e-9 && abs(b.width - 180) < 1e-9)
        #expect(abs(b.centerX - 960) < 1e-9 && abs(b.centerY - 360) < 1e-9)
        // A very wide cutout is clamped to the frame width, aspect kept.
        let w = Placement.defaultBox(frameWidth: 720, frameHeight: 1280, cutoutWidth: 2000, cutoutHeight: 500)
        #expect(abs(w.width - 720) < 1e-9 && abs(w.height - 180) < 1e-9 && abs(w.x) < 1e-9)
        #expect(abs(w.centerY - 1280.0 / 3) < 1e-9)
    }

    @Test func fitKeepsAspectBottomCentred() {
        let box = Box(x: 100, y: 50, width: 200, height: 300)
        let f = Placement.fit((400, 200), in: box)
        #expect(abs(f.width - 200) < 1e-9 && abs(f.height - 100) < 1e-9)
        #expect(abs(f.bottom - 350) < 1e-9 && abs(f.centerX - 200) < 1e-9)
        let tall = Placement.fit((100, 600), in: box)
        #expect(abs(tall.height - 300) < 1e-9 && abs(tall.width - 50) < 1e-9)
        #expect(abs(tall.y - 50) < 1e-9 && abs(tall.centerX - 200) < 1e-9)
        #expect(abs(f.width / f.height - 2) < 1e-9)
    }
}
