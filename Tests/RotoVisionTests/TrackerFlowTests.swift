import Foundation
@testable import RotoVision
import Testing

@Suite struct TrackerFlowTests {
    /// A smooth texture shifted by (dx, dy): the dense flow recovers the shift away from the border.
    @Test(arguments: [(4.0, 0.0), (-6.0, 3.0), (12.0, -7.0)])
    func recoversGlobalShift(_ shift: (Double, Double)) {
        let w = 160, h = 96
        func texture(_ x: Double, _ y: Double) -> Double {
            let a: Double = 50 * sin(x * 0.21 + 0.3 * cos(y * 0.13))
            let b: Double = 40 * cos(y * 0.17 + 0.5 * sin(x * 0.07))
            return 128 + a + b
        }
        func image(_ ox: Double, _ oy: Double) -> RGBImage {
            var px = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h {
                for x in 0..<w {
                    let v = UInt8(clamping: Int(texture(Double(x) - ox, Double(y) - oy).rounded()))
                    px[3 * (y * w + x)] = v; px[3 * (y * w + x) + 1] = v; px[3 * (y * w + x) + 2] = v
                }
            }
            return RGBImage(width: w, height: h, pixels: px)
        }
        // reference(x) = target(x + d) with target shifted by +d.
        let ref = FlowPyramid(image(0, 0)), tgt = FlowPyramid(image(shift.0, shift.1))
        let f = DenseFlow().compute(from: ref, to: tgt)
        var eu = 0.0, ev = 0.0, cnt = 0.0
        for y in 20..<(h - 20) {
            for x in 20..<(w - 20) {
                eu += abs(Double(f.u[y * w + x]) - shift.0); ev += abs(Double(f.v[y * w + x]) - shift.1); cnt += 1
            }
        }
        #expect(eu / cnt < 0.3 && ev / cnt < 0.3, "mean error u \(eu / cnt) v \(ev / cnt)")
    }
}

extension TrackerFlowTests {
    @Test("the motion model favours the object's motion, is neutral where both move alike, and bins any value")
    func motionModel() throws {
        var m = MotionModel(bin: 1)
        #expect(m.logRatios(clamp: 2) == nil, "no samples: nothing to compare")
        for _ in 0..<100 { m.add(5, 0, weight: 1, object: true) }
        for _ in 0..<100 { m.add(0, 0, weight: 1, object: false) }
        #expect(m.logRatios(clamp: 2) != nil)
        for _ in 0..<100 { m.add(-20, 3, weight: 1, object: true); m.add(-20, 3, weight: 1, object: false) }
        let r = try #require(m.logRatios(clamp: 2))
        #expect(r[m.index(5, 0)] == 2, "the object's own motion: clamped towards the object")
        #expect(r[m.index(0, 0)] == -2, "the background's own motion: clamped towards the background")
        #expect(abs(r[m.index(-20, 3)]) < 0.1, "shared motion: neutral, \(r[m.index(-20, 3)])")
        // Far outside the bins, infinite or NaN: an edge bin, never a trap.
        for v: Float in [1e30, -1e30, .infinity, -.infinity, .nan] {
            #expect((0..<r.count).contains(m.index(v, v)))
        }
        #expect(m.index(1e30, 0) == m.index(24, 0))
    }

    @Test("a crop's region is the object's box grown by the margin, within the frame")
    func cropRegions() {
        let inside = MaskTracker.cropRegion((50, 30, 149, 69), margin: 14, width: 200, height: 100) == (36, 16, 128, 68)
        let clamped = MaskTracker.cropRegion((5, 30, 190, 95), margin: 14, width: 200, height: 100) == (0, 16, 200, 84)
        #expect(inside)
        #expect(clamped, "clamped to the frame")
    }

    @Test("a frame's cues over any region are the whole frame's there, to the bit")
    func regionCuesAreTheFramesCues() {
        let w = 120, h = 80
        var g = SplitMix64(seed: 5)
        // Noise with a smooth ramp under it, and a saturated corner: every texture level, and trust from 0
        // to near 1.
        let image = RGBImage(width: w, height: h, pixels: (0..<(3 * w * h)).map { i in
            let p = i / 3, x = p % w, y = p / w
            if x > 100 && y > 60 { return 255 }
            return UInt8(truncatingIfNeeded: Int(g.next() >> 59) + 2 * x / 3 + y)
        })
        let tracker = MaskTracker()
        let whole = tracker.cues(of: image, region: (0, 0, w, h))
        let trustOfFrame = whole.trust == flowTrust(image, radius: 2 * tracker.configuration.flowRadius,
                                                    floor: tracker.configuration.motionTextureFloor)
        let statesOfFrame = whole.states == TextureModel.states(image, oriented: tracker.configuration.textureOrientation)
        #expect(trustOfFrame && statesOfFrame)
        // Inside, touching each border, one pixel, one row, the whole frame.
        let regions: [PixelRect] = [(17, 11, 60, 40), (0, 0, 33, 21), (90, 50, 30, 30), (0, 30, 120, 9),
                                    (64, 0, 1, 80), (5, 79, 1, 1), (0, 0, w, h)]
        for region in regions {
            let own = tracker.cues(of: image, region: region)
            let trustSame = own.trust == whole.cut(\.trust, region), statesSame = own.states == whole.cut(\.states, region)
            #expect(trustSame, "trust over \(region)")
            #expect(statesSame, "states over \(region)")
            // A larger region holding it serves it with the same values.
            let around = (max(0, region.x - 7), max(0, region.y - 3), 0, 0)
            let larger = tracker.cues(of: image, region: (around.0, around.1, min(w, region.x + region.width + 5) - around.0,
                                                          min(h, region.y + region.height + 9) - around.1))
            #expect(larger.holds(region))
            let cutSame = larger.cut(\.trust, region) == own.trust && larger.cut(\.states, region) == own.states
            #expect(cutSame, "cut from a larger region \(region)")
        }
        #expect(!whole.holds((110, 0, 11, 5)) && !tracker.cues(of: image, region: (10, 10, 20, 20)).holds((9, 10, 5, 5)))
        // Frames smaller than a window, and a radius of 0: the same rule.
        for (fw, fh) in [(1, 1), (2, 3), (5, 2)] {
            let tiny = RGBImage(width: fw, height: fh, pixels: (0..<(3 * fw * fh)).map { UInt8(truncatingIfNeeded: 37 * $0) })
            for radius in [0, 8] {
                let all = flowTrust(tiny, radius: radius, floor: 16)
                let last = flowTrust(tiny, radius: radius, floor: 16, region: (fw - 1, fh - 1, 1, 1))
                #expect(all.count == fw * fh && last == [all[fw * fh - 1]], "\(fw)×\(fh), radius \(radius)")
            }
            let states = TextureModel.states(tiny, oriented: true, region: (0, fh - 1, fw, 1))
            #expect(states == Array(TextureModel.states(tiny, oriented: true)[(fw * (fh - 1))...]))
        }
        // A crop measured on its own image (its border taken as the frame's) differs near that border:
        // the rule above is what lets a region measured ahead serve a crop.
        let crop = RGBImage(width: 60, height: 40, pixels: MaskTracker.crop(image.pixels, width: w, channels: 3, x: 17, y: 11,
                                                                              width: 60, height: 40, zero: 0))
        let cropOwn = flowTrust(crop, radius: 2 * tracker.configuration.flowRadius, floor: tracker.configuration.motionTextureFloor)
        let differs = cropOwn != whole.cut(\.trust, (17, 11, 60, 40))
        #expect(differs)
    }

    @Test("flow trust is low on a flat area, high on texture, and low along a straight edge")
    func flowTrustFollowsTexture() {
        let w = 96, h = 32
        var px = [UInt8](repeating: 128, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let v: Double
                switch x {
                case ..<32: v = 128  // flat
                case ..<64: v = 128 + 60 * sin(Double(x) * 0.9) * cos(Double(y) * 0.8)  // textured
                default: v = x < 80 ? 60 : 200  // one vertical edge: the aperture problem
                }
                for c in 0..<3 { px[3 * (y * w + x) + c] = UInt8(clamping: Int(v.rounded())) }
            }
        }
        let t = flowTrust(RGBImage(width: w, height: h, pixels: px), radius: 4, floor: 16)
        let flat = t[16 * w + 12], textured = t[16 * w + 48], edge = t[16 * w + 80]
        #expect(flat < 0.01, "flat \(flat)")
        #expect(textured > 0.8, "textured \(textured)")
        #expect(edge < 0.01, "edge \(edge)")
    }
}

extension TrackerFlowTests {
    /// Prints where `propagate` spends its time at 480×270 (run in release for meaningful figures).
    @Test func timingBreakdown480x270() {
        let w = 480, h = 270
        func image(_ ox: Int) -> RGBImage {
            var px = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h {
                for x in 0..<w {
                    let inside = (x - 150 - ox) * (x - 150 - ox) + (y - 135) * (y - 135) < 2500
                    let v = UInt8(truncatingIfNeeded: (x &* 7919 ^ y &* 104729) % 97 + (inside ? 120 : 20))
                    px[3 * (y * w + x)] = v; px[3 * (y * w + x) + 1] = inside ? 40 : v; px[3 * (y * w + x) + 2] = v
                }
            }
            return RGBImage(width: w, height: h, pixels: px)
        }
        let a = image(0), b = image(4)
        var lab = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<w where (x - 150) * (x - 150) + (y - 135) * (y - 135) < 2500 { lab[y * w + x] = 1 } }
        let clock = ContinuousClock()
        let tracker = MaskTracker()
        var pa = FlowPyramid(a), pb = FlowPyramid(b)
        let tPyr = clock.measure { for _ in 0..<5 { pa = FlowPyramid(a); pb = FlowPyramid(b) } }
        var flow = FlowField(width: 0, height: 0)
        let tFlow = clock.measure { for _ in 0..<5 { flow = tracker.flowEngine.compute(from: pb, to: pa) } }
        let tRefine = clock.measure {
            for _ in 0..<5 { _ = tracker.refineObject(tag: 1, previous: a, labels: lab, next: b, flow: flow) }
        }
        print("breakdown ms: 2 pyramids \(tPyr / 5), flow \(tFlow / 5), refine \(tRefine / 5)")
    }
}

extension TrackerFlowTests {
    /// The running box sums match the window sums added up directly, at the border (the window shrinks),
    /// for heights that are not a multiple of the four rows summed together, and for windows wider than
    /// the image. Integer-valued inputs keep every partial sum exact, so the match is exact.
    @Test("box sums equal the window sums", arguments: [(7, 5, 1), (16, 9, 2), (5, 3, 4), (33, 17, 0), (12, 8, 3)])
    func boxSums(_ size: (Int, Int, Int)) {
        let (w, h, r) = size
        let src = (0..<(w * h)).map { Float(($0 * 7919) % 23) }
        var dst = [Float](repeating: -1, count: w * h), tmp = [Float](repeating: -1, count: w * h)
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                tmp.withUnsafeMutableBufferPointer { t in boxSum(s, d, t, width: w, height: h, radius: r) }
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                var sum: Float = 0
                for yy in max(0, y - r)...min(h - 1, y + r) { for xx in max(0, x - r)...min(w - 1, x + r) { sum += src[yy * w + xx] } }
                #expect(dst[y * w + x] == sum, "(\(x), \(y)) of \(w)×\(h), radius \(r)")
            }
        }
    }

    @Test("the occlusion check's claims: one where the frames map one to one, two where two parts of the new frame point to the same place, none where nothing points")
    func claimsFindWhereTwoPixelsPointToOnePlace() {
        // Backward flow (new → previous): the left half stays, the right half came from 3 px further left,
        // so previous columns 7–9 are claimed by both halves and columns 17–19 by none.
        var flow = FlowField(width: 20, height: 6)
        for y in 0..<6 { for x in 10..<20 { flow.u[y * 20 + x] = -3 } }
        let claims = MaskTracker.claims(flow, skipping: [Bool](repeating: false, count: 120))
        for y in 0..<6 {
            for x in 0..<7 { #expect(abs(claims[y * 20 + x] - 1) < 1e-5, "(\(x), \(y))") }
            for x in 7..<10 { #expect(abs(claims[y * 20 + x] - 2) < 1e-5, "(\(x), \(y))") }
            for x in 17..<20 { #expect(claims[y * 20 + x] == 0, "(\(x), \(y))") }
        }
        // Skipped pixels (entering the frame) claim nothing.
        let none = MaskTracker.claims(flow, skipping: [Bool](repeating: true, count: 120))
        #expect(none.allSatisfy { $0 == 0 })
    }

    @Test("claims wanted at some pixels only are those pixels' claims to the bit, and a random flow leaves the others unread")
    func claimsReadAtSomePixelsEqualTheWholeField() {
        var rng = SplitMix64(seed: 60)
        for (w, h) in [(31, 17), (64, 40), (9, 50)] {
            var flow = FlowField(width: w, height: h)
            for p in 0..<(w * h) {
                flow.u[p] = Float.random(in: -6...6, using: &rng)
                flow.v[p] = Float.random(in: -4...4, using: &rng)
            }
            let skipping = (0..<(w * h)).map { _ in Int.random(in: 0..<10, using: &rng) == 0 }
            let reading = (0..<(w * h)).map { _ in Int.random(in: 0..<5, using: &rng) == 0 }
            let all = MaskTracker.claims(flow, skipping: skipping)
            let some = MaskTracker.claims(flow, skipping: skipping, reading: reading)
            for p in 0..<(w * h) where reading[p] {
                #expect(some[p].bitPattern == all[p].bitPattern, "pixel \(p) of \(w)×\(h)")
            }
            #expect(zip(some, all).contains { $0 != $1 }, "the pixels nobody reads were left alone")
        }
    }

    @Test("the chamfer's running minimum walked as four runs and corrected equals the plain walk, to the bit",
          arguments: [1, 7, 63, 64, 65, 200, 401])
    func runningMinimumEqualsThePlainWalk(count: Int) {
        var rng = SplitMix64(seed: UInt64(count))
        for trial in 0..<40 {
            // Distances as the chamfer makes them: a cap, and a few seeds and sums of 1 and √2.
            let row: [Float] = (0..<count).map { _ in
                Int.random(in: 0..<6, using: &rng) == 0 ? 0.5 + Float(Int.random(in: 0..<5, using: &rng))
                    + Float(Int.random(in: 0..<3, using: &rng)) * Float(2).squareRoot() : 7
            }
            let entering: Float = trial % 3 == 0 ? .infinity : Float(Int.random(in: 0..<9, using: &rng)) + 0.5
            for step in [1, -1] {
                let first = step == 1 ? 0 : count - 1
                var plain = row, t = entering
                for i in 0..<count { let p = first + i * step; t = min(plain[p], t + 1); plain[p] = t }
                var split = row
                split.withUnsafeMutableBufferPointer {
                    MaskTracker.runningMinimum($0.baseAddress!, from: first, count: count, by: step, entering: entering)
                }
                #expect(split.map(\.bitPattern) == plain.map(\.bitPattern), "\(count) values, step \(step)")
            }
        }
    }

    @Test("an object whose mask slid onto colours much less like it than at first is looked for at its last good view and taken back there; with the rule off it stays")
    func doubtfulObjectIsTakenBack() {
        let w = 120, h = 80
        // A textured green background and a red disc at (40, 40); on the later frame the mask sits on an
        // orange-brown patch at (90, 40), a colour the anchor saw neither in the object nor around it.
        func frame(patch: Bool) -> (RGBImage, disc: [UInt8], patch: [UInt8]) {
            var px = [UInt8](repeating: 0, count: w * h * 3)
            var d = [UInt8](repeating: 0, count: w * h), q = d
            for y in 0..<h {
                for x in 0..<w {
                    let p = y * w + x, n = 20 * sin(Double(x) * 0.7 + Double(y) * 0.3)
                    var rgb = (90 + n, 130 - n, 90.0)
                    if (x - 40) * (x - 40) + (y - 40) * (y - 40) <= 144 { rgb = (200 + n, 70 + n / 2, 60); d[p] = 1 }
                    if patch && (x - 90) * (x - 90) + (y - 40) * (y - 40) <= 144 { rgb = (150 + n, 100 + n / 2, 40); q[p] = 1 }
                    px[3 * p] = UInt8(rgb.0); px[3 * p + 1] = UInt8(rgb.1); px[3 * p + 2] = UInt8(rgb.2)
                }
            }
            return (RGBImage(width: w, height: h, pixels: px), d, q)
        }
        let anchor = frame(patch: false), later = frame(patch: true)
        func run(_ configuration: MaskTracker.Configuration) -> Mask {
            let tracker = MaskTracker(configuration: configuration)
            let model = ColourModel(image: anchor.0, labels: anchor.disc, tag: 1, band: tracker.bandWidth(w, h))
            var table = [Float](repeating: 0, count: 2 << 12)
            table.replaceSubrange(1 << 12 ..< 2 << 12, with: model.logRatio())
            var lost: [Int: LostObject] = [:]
            var cur = SelectionLabels(width: w, height: h, labels: anchor.disc, objectIDs: [1])
            tracker.reacquire(&cur, lost: &lost, image: anchor.0, flow: FlowField(width: w, height: h),
                              models: [0: model], ratios: table)
            #expect(cur.labels == anchor.disc, "a good view is kept as it is")
            cur = SelectionLabels(width: w, height: h, labels: later.patch, objectIDs: [1])
            tracker.reacquire(&cur, lost: &lost, image: later.0, flow: FlowField(width: w, height: h),
                              models: [0: model], ratios: table)
            return cur.masks()[1]!
        }
        let disc = Mask(width: w, height: h, data: later.disc), patch = Mask(width: w, height: h, data: later.patch)
        let taken = run(MaskTracker.Configuration())
        #expect(taken.iou(disc) >= 0.8, "IoU with the disc \(taken.iou(disc))")
        var off = MaskTracker.Configuration()
        off.doubtFraction = 0
        let kept = run(off)
        #expect(kept.iou(patch) == 1, "without the rule the mask stays where it slid (IoU with the patch \(kept.iou(patch)))")
    }

    /// The warped prior's distance (a two-pass chamfer over the seeds' bounding box only) equals the
    /// brute-force distance to the nearest edge pixel under the same metric (steps 1 and √2: the octile
    /// distance), capped, on masks with edges anywhere, at the frame's border, and none at all.
    @Test(arguments: [(41, 37, 0), (64, 20, 1), (23, 50, 2), (30, 30, 3), (30, 30, 4)])
    func edgePriorMatchesNearestEdgeDistance(_ shape: (Int, Int, Int)) {
        let (w, h, kind) = shape
        var hard = [Float](repeating: 0, count: w * h)
        var rng = UInt64(kind + 1) &* 0x9E37_79B9_7F4A_7C15
        for y in 0..<h {
            for x in 0..<w {
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                let inside: Bool
                switch kind {
                case 0: inside = (x - 20) * (x - 20) + (y - 18) * (y - 18) < 120 || (rng >> 60) == 0  // disc and specks
                case 1: inside = x < 3 || y >= h - 2                                                   // at the border
                case 2: inside = (x / 5 + y / 7) % 2 == 0                                              // checkerboard
                case 3: inside = true                                                                  // no edge
                default: inside = x > 10 && x < 14 && y > 12 && y < 15                                 // a small block
                }
                if inside { hard[y * w + x] = 1 }
            }
        }
        let scale: Float = 4, cap = MaskTracker.edgePriorCap(scale: scale)
        let prior = MaskTracker.edgePrior(hard: hard, width: w, height: h, scale: scale)
        var seeds: [(Int, Int)] = []
        for y in 0..<h {
            for x in 0..<w {
                let v = hard[y * w + x] > 0
                func differs(_ nx: Int, _ ny: Int) -> Bool {
                    guard nx >= 0, ny >= 0, nx < w, ny < h else { return false }
                    return (hard[ny * w + nx] > 0) != v
                }
                if differs(x - 1, y) || differs(x + 1, y) || differs(x, y - 1) || differs(x, y + 1) { seeds.append((x, y)) }
            }
        }
        var worst: Float = 0
        for y in 0..<h {
            for x in 0..<w {
                var d = cap
                for (sx, sy) in seeds {
                    let dx = Float(abs(x - sx)), dy = Float(abs(y - sy))
                    d = min(d, 0.5 + max(dx, dy) + (Float(2).squareRoot() - 1) * min(dx, dy))
                }
                let q = 1 / (1 + expf(-d / scale))
                let expected = hard[y * w + x] > 0 ? q : 1 - q
                worst = max(worst, abs(prior[y * w + x] - expected))
            }
        }
        #expect(worst < 1e-4, "largest difference from the brute-force prior \(worst)")
    }

}
