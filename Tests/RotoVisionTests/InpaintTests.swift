import Foundation
@testable import RotoVision
import Testing

/// A smooth but textured background (so that flow can be measured), shifted by (dx, dy) pixels.
private func background(_ w: Int, _ h: Int, dx: Double = 0, dy: Double = 0) -> RGBImage {
    var px = [UInt8](repeating: 0, count: w * h * 3)
    for y in 0..<h {
        for x in 0..<w {
            let u = Double(x) + dx, v = Double(y) + dy
            let i = (y * w + x) * 3
            px[i] = UInt8(128 + 60 * sin(u / 7) * cos(v / 9))
            px[i + 1] = UInt8(110 + 50 * sin((u + v) / 11))
            px[i + 2] = UInt8(100 + 40 * cos(u / 13 - v / 5))
        }
    }
    return RGBImage(width: w, height: h, pixels: px)
}

/// Paints a solid square of side `s` with top-left (x0, y0) into `image`; returns its mask.
private func square(into image: inout RGBImage, x0: Int, y0: Int, s: Int) -> Mask {
    let w = image.width, h = image.height
    var m = [UInt8](repeating: 0, count: w * h)
    for y in max(0, y0)..<min(h, y0 + s) {
        for x in max(0, x0)..<min(w, x0 + s) {
            let i = y * w + x
            m[i] = 1
            image.pixels[3 * i] = 250; image.pixels[3 * i + 1] = 20; image.pixels[3 * i + 2] = 240
        }
    }
    return Mask(width: w, height: h, data: m)
}

/// Mean absolute difference over the pixels of `region`.
private func mae(_ a: RGBImage, _ b: RGBImage, in region: Mask) -> Double {
    var sum = 0, n = 0
    for p in 0..<(a.width * a.height) where region.data[p] != 0 {
        for c in 0..<3 { sum += abs(Int(a.pixels[3 * p + c]) - Int(b.pixels[3 * p + c])) }
        n += 3
    }
    return n == 0 ? 0 : Double(sum) / Double(n)
}

@Suite("Video inpainting (removal)")
struct InpaintTests {
    let w = 128, h = 80, count = 14

    @Test("a moving object over a still background is replaced by the background seen in other frames")
    func stillBackground() {
        let clean = background(w, h)
        var frames: [RGBImage] = [], holes: [Mask] = []
        for t in 0..<count {
            var f = clean
            holes.append(square(into: &f, x0: 10 + 6 * t, y0: 25, s: 20))
            frames.append(f)
        }
        let replaced = VideoInpainter(quality: .standard, threads: 2).remove(frames: &frames, holes: holes)
        #expect(replaced.count == count)
        for t in 0..<count {
            #expect(replaced[t].area >= holes[t].area, "frame \(t): the replaced region covers the hole")
            let error = mae(frames[t], clean, in: holes[t])
            #expect(error < 4, "frame \(t): MAE \(error) inside the hole")
        }
    }

    /// A camera panning right and down over the background while a square crosses it leftwards: the
    /// frames, the square's masks and the clean frames.
    func panningClip() -> (frames: [RGBImage], holes: [Mask], cleans: [RGBImage]) {
        var frames: [RGBImage] = [], holes: [Mask] = [], cleans: [RGBImage] = []
        for t in 0..<count {
            let clean = background(w, h, dx: 2 * Double(t), dy: 0.5 * Double(t))
            var f = clean
            holes.append(square(into: &f, x0: 90 - 5 * t, y0: 30, s: 18))
            frames.append(f)
            cleans.append(clean)
        }
        return (frames, holes, cleans)
    }

    @Test("with a panning camera the background is aligned before it fills the hole")
    func panningBackground() {
        let clip = panningClip()
        var frames = clip.frames
        let holes = clip.holes, cleans = clip.cleans
        let before = (0..<count).map { mae(frames[$0], cleans[$0], in: holes[$0]) }
        _ = VideoInpainter(quality: .standard, threads: 2).remove(frames: &frames, holes: holes)
        for t in 0..<count {
            let error = mae(frames[t], cleans[t], in: holes[t])
            #expect(error < 10, "frame \(t): MAE \(error) inside the hole")
            #expect(error < before[t] / 8, "frame \(t): MAE \(error) against \(before[t]) before removal")
        }
    }

    @Test("motion measured on given frames (the benchmarks' diagnostic) replaces the completed flow")
    func motionFromGivenFrames() {
        let (frames, holes, cleans) = panningClip()
        func errors(motion: [RGBImage]) -> [Double] {
            var configuration = VideoInpainter.Configuration(quality: .standard)
            configuration.alignSources = false
            var out = frames
            _ = VideoInpainter(quality: .standard, configuration: configuration, threads: 2)
                .remove(frames: &out, holes: holes, motionFrames: motion)
            return (0..<count).map { mae(out[$0], cleans[$0], in: holes[$0]) }
        }
        // The true motion, measured on the clean frames: the background lands where it belongs.
        let measured = errors(motion: cleans)
        for t in 0..<count { #expect(measured[t] < 2, "frame \(t): MAE \(measured[t]) with the clean frames' motion") }
        // A still clip as the motion source: no motion, so the background is taken from the wrong places.
        let still = errors(motion: Array(repeating: cleans[0], count: count))
        let a = measured.reduce(0, +) / Double(count), b = still.reduce(0, +) / Double(count)
        #expect(b > 5 * max(a, 0.5), "MAE \(a) with the true motion, \(b) with none")
    }

    @Test("with parallax (motion no homography follows) the flow around the hole is interpolated instead")
    func parallaxBackground() {
        // Each row pans at its own speed (fast in the middle, slow at the top and bottom: depth).
        func clean(_ t: Int) -> RGBImage {
            var px = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h {
                let shift = Double(t) * (0.5 + 3 * sin(Double.pi * Double(y) / Double(h)))
                let row = background(w, 1, dx: shift, dy: Double(y))
                for i in 0..<(w * 3) { px[y * w * 3 + i] = row.pixels[i] }
            }
            return RGBImage(width: w, height: h, pixels: px)
        }
        var frames: [RGBImage] = [], holes: [Mask] = [], cleans: [RGBImage] = []
        for t in 0..<count {
            var f = clean(t)
            cleans.append(f)
            holes.append(square(into: &f, x0: 90 - 5 * t, y0: 28, s: 20))
            frames.append(f)
        }
        func meanError(_ completion: FlowCompletion) -> Double {
            var configuration = VideoInpainter.Configuration(quality: .standard)
            configuration.completion = completion
            var out = frames
            _ = VideoInpainter(quality: .standard, configuration: configuration, threads: 2).remove(frames: &out, holes: holes)
            return (0..<count).map { mae(out[$0], cleans[$0], in: holes[$0]) }.reduce(0, +) / Double(count)
        }
        let adaptive = meanError(.adaptive), homography = meanError(.homography), diffusion = meanError(.diffusion)
        print("removal with parallax: MAE adaptive \(adaptive), homography \(homography), diffusion \(diffusion)")
        #expect(VideoInpainter.Configuration().completion == .adaptive)
        #expect(adaptive == diffusion)
        #expect(adaptive < homography * 0.8)
    }

    @Test("a region never seen is filled spatially, the same way in every frame")
    func neverSeen() {
        // A flat background: the fill of a hole that never moves must be that colour, with no flicker.
        let flat = RGBImage(width: w, height: h, pixels: [UInt8](repeating: 90, count: w * h * 3))
        var frames: [RGBImage] = [], holes: [Mask] = []
        for _ in 0..<count {
            var f = flat
            holes.append(square(into: &f, x0: 50, y0: 30, s: 16))
            frames.append(f)
        }
        _ = VideoInpainter(quality: .standard, threads: 2).remove(frames: &frames, holes: holes)
        for t in 0..<count {
            #expect(mae(frames[t], flat, in: holes[t]) < 2, "frame \(t)")
            if t > 0 { #expect(mae(frames[t], frames[t - 1], in: holes[t]) < 1, "frame \(t): flicker") }
        }
    }

    @Test("a region never seen in stripes takes the stripes (exemplar fill), the same way in every frame")
    func neverSeenTexture() {
        // Vertical stripes, 4 px light and 4 px dark: a smooth fill would leave their mean.
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for p in 0..<(w * h) {
            let light = (p % w / 4) % 2 == 0
            px[3 * p] = light ? 200 : 60; px[3 * p + 1] = light ? 180 : 50; px[3 * p + 2] = light ? 90 : 140
        }
        let clean = RGBImage(width: w, height: h, pixels: px)
        var input: [RGBImage] = [], holes: [Mask] = []
        for _ in 0..<6 {
            var f = clean
            holes.append(square(into: &f, x0: 50, y0: 30, s: 16))
            input.append(f)
        }
        var smooth = VideoInpainter.Configuration(quality: .standard)
        smooth.exemplarFill = false
        var results: [[RGBImage]] = []
        for configuration in [smooth, VideoInpainter.Configuration(quality: .standard)] {
            var frames = input
            _ = VideoInpainter(quality: .standard, configuration: configuration, threads: 2).remove(frames: &frames, holes: holes)
            results.append(frames)
        }
        for t in 0..<6 {
            let before = mae(results[0][t], clean, in: holes[t]), after = mae(results[1][t], clean, in: holes[t])
            #expect(after < before / 3, "frame \(t): exemplar \(after) against smooth \(before)")
            if t > 0 { #expect(mae(results[1][t], results[1][t - 1], in: holes[t]) < 1, "frame \(t): flicker") }
        }
    }

    @Test("when propagation gives up, every frame is filled spatially on its own, the same on any number of threads")
    func givingUpFillsEveryFrame() {
        // A hole that never moves over a still background: nothing is ever seen behind it, and with no
        // key-frame rounds allowed every frame takes the spatial fill (in parallel batches).
        var configuration = VideoInpainter.Configuration(quality: .standard)
        configuration.maxRounds = 0
        let clean = background(w, h)
        var input: [RGBImage] = [], holes: [Mask] = []
        for _ in 0..<count {
            var f = clean
            holes.append(square(into: &f, x0: 40, y0: 24, s: 20))
            input.append(f)
        }
        var results: [[RGBImage]] = []
        for threads in [1, 2] {
            var frames = input
            _ = VideoInpainter(quality: .standard, configuration: configuration, threads: threads).remove(frames: &frames, holes: holes)
            results.append(frames)
        }
        #expect(results[0] == results[1], "the batches' order and size must not change the fill")
        for t in 0..<count {
            let before = mae(input[t], clean, in: holes[t]), after = mae(results[1][t], clean, in: holes[t])
            #expect(after < before / 4, "frame \(t): the object's colours remain (\(after) against \(before))")
        }
    }

    @Test("frames without a hole are returned unchanged")
    func noHole() {
        let clean = background(w, h)
        var frames = Array(repeating: clean, count: 4)
        let replaced = VideoInpainter(quality: .pro).remove(frames: &frames,
                                                            holes: Array(repeating: Mask(width: w, height: h), count: 4))
        #expect(frames.allSatisfy { $0 == clean })
        #expect(replaced.allSatisfy { $0.isEmpty })
    }

    @Test("the working size keeps the whole clip within the memory budget, even sides, never upscaled")
    func workingSize() {
        let small = VideoInpainter.workingSize(width: 1280, height: 720, frameCount: 150, quality: .standard)
        #expect(small.width == 1280 && small.height == 720)
        let big = VideoInpainter.workingSize(width: 3840, height: 2160, frameCount: 600, quality: .standard)
        #expect(big.width % 2 == 0 && big.height % 2 == 0)
        #expect(Double(big.width * big.height * 600) <= 150e6 * 1.01)
        let pro = VideoInpainter.workingSize(width: 3840, height: 2160, frameCount: 600, quality: .pro)
        #expect(pro.width > big.width)
    }

    @Test("composite fills the hole and leaves everything beyond its feathered edge untouched")
    func compositeOnlyReplaced() {
        let clean = background(w, h)
        var frame = clean
        let hole = square(into: &frame, x0: 20, y0: 20, s: 10)
        let filled = RGBImage(width: w, height: h, pixels: [UInt8](repeating: 7, count: w * h * 3))
        var out = frame
        VideoInpainter.composite(filled: filled, replaced: hole, into: &out)
        var wrong = 0
        for y in 0..<h {
            for x in 0..<w {
                let p = y * w + x
                let inside = hole.data[p] != 0
                let far = x < 20 - 4 || x >= 30 + 4 || y < 20 - 4 || y >= 30 + 4
                if inside && out.pixels[3 * p] != 7 { wrong += 1 }
                if far && out.pixels[3 * p] != frame.pixels[3 * p] { wrong += 1 }
            }
        }
        #expect(wrong == 0)
    }
}

@Suite("Removal helpers")
struct InpaintHelperTests {
    @Test("composite blends the bilinear upsample with the feathered alpha, pixel by pixel as defined")
    func compositeMatchesDefinition() {
        var generator = SystemRandomNumberGenerator()
        let w = 40, h = 30
        for (W, H) in [(97, 71), (40, 30), (160, 120)] {
            let filled = RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            // A blob touching the left edge, and a speck.
            var bits = [UInt8](repeating: 0, count: w * h)
            for y in 8..<20 { for x in 0..<(6 + y % 5) { bits[y * w + x] = 1 } }
            bits[25 * w + 30] = 1
            let hole = Mask(width: w, height: h, data: bits)
            let frame = RGBImage(width: W, height: H, pixels: (0..<(W * H * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            var out = frame
            VideoInpainter.composite(filled: filled, replaced: hole, into: &out)
            // The definition: alpha 1 on the hole, else twice the hole's share of the 5 x 5 window
            // (clamped to 1); sampled bilinearly at each full-size pixel's centre, like the colour.
            func alpha(_ x: Int, _ y: Int) -> Float {
                if hole.data[y * w + x] != 0 { return 1 }
                var n = 0
                for v in max(0, y - 2)...min(h - 1, y + 2) { for u in max(0, x - 2)...min(w - 1, x + 2) { n += Int(hole.data[v * w + u]) } }
                return min(1, Float(n) * (2 / Float(25)))
            }
            let sx = Float(w) / Float(W), sy = Float(h) / Float(H)
            var wrong = 0
            for Y in 0..<H {
                for X in 0..<W {
                    let fx = min(max((Float(X) + 0.5) * sx - 0.5, 0), Float(w - 1))
                    let fy = min(max((Float(Y) + 0.5) * sy - 0.5, 0), Float(h - 1))
                    let x0 = Int(fx), y0 = Int(fy), x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
                    let bx = fx - Float(x0), by = fy - Float(y0)
                    let a = (alpha(x0, y0) * (1 - bx) + alpha(x1, y0) * bx) * (1 - by)
                        + (alpha(x0, y1) * (1 - bx) + alpha(x1, y1) * bx) * by
                    for c in 0..<3 {
                        let q = (Y * W + X) * 3
                        func f(_ x: Int, _ y: Int) -> Float { Float(filled.pixels[(y * w + x) * 3 + c]) }
                        let v = f(x0, y0) * ((1 - bx) * (1 - by)) + f(x1, y0) * (bx * (1 - by))
                            + f(x0, y1) * ((1 - bx) * by) + f(x1, y1) * (bx * by)
                        let expected = a <= 0 ? frame.pixels[q + c]
                            : UInt8(min(max(a * v + (1 - a) * Float(frame.pixels[q + c]) + 0.5, 0), 255))
                        if out.pixels[q + c] != expected { wrong += 1 }
                    }
                }
            }
            #expect(wrong == 0, "\(W)x\(H): \(wrong) samples differ")
        }
    }

    @Test("the upper median by selection equals sorted()[count / 2], duplicates and all")
    func upperMedianMatchesSort() {
        var generator = SystemRandomNumberGenerator()
        var empty: [Float] = []
        #expect(upperMedian(&empty) == nil)
        for n in 1...120 {
            for levels in [3, 1000] {
                let values = (0..<n).map { _ in Float(Int.random(in: 0..<levels, using: &generator)) / 7 }
                var scratch = values
                #expect(upperMedian(&scratch) == values.sorted()[n / 2], "n \(n), \(levels) levels")
                #expect(scratch.sorted() == values.sorted(), "the values are only reordered")
            }
        }
    }

    @Test("the homography fit recovers a known homography, also with a quarter of the matches wrong")
    func homographyFitRecoversTruth() {
        let truth: [Double] = [1.02, 0.01, 0.03, -0.015, 0.98, -0.02, 0.05, -0.03]
        var xs: [Double] = [], ys: [Double] = [], tx: [Double] = [], ty: [Double] = []
        for j in 0..<20 {
            for i in 0..<20 {
                let x = Double(i) / 9.5 - 1, y = Double(j) / 9.5 - 1
                let d = truth[6] * x + truth[7] * y + 1
                var u = (truth[0] * x + truth[1] * y + truth[2]) / d, v = (truth[3] * x + truth[4] * y + truth[5]) / d
                if (i + 2 * j) % 4 == 0 { u += 0.3; v -= 0.2 }  // outliers
                xs.append(x); ys.append(y); tx.append(u); ty.append(v)
            }
        }
        let clean = (0..<xs.count).filter { i in (i % 20 + 2 * (i / 20)) % 4 != 0 }
        let exact = Homography.fit(xs: clean.map { xs[$0] }, ys: clean.map { ys[$0] }, tx: clean.map { tx[$0] },
                                   ty: clean.map { ty[$0] }, cx: 0, cy: 0, s: 100, iterations: 1)
        let robust = Homography.fit(xs: xs, ys: ys, tx: tx, ty: ty, cx: 0, cy: 0, s: 100, iterations: 5)
        for k in 0..<8 {
            #expect(abs((exact?.h[k] ?? .nan) - truth[k]) < 1e-4, "exact matches, h[\(k)]")
            #expect(abs((robust?.h[k] ?? .nan) - truth[k]) < 1e-3, "with outliers, h[\(k)]")
        }
    }

    @Test("a hole grows over what its mask missed of the object next to it, within its reach, and nowhere else")
    func holeGrowth() {
        let w = 120, h = 90, reach = 12
        var image = background(w, h)
        var object = [UInt8](repeating: 0, count: w * h)
        func paint(_ xs: Range<Int>, _ ys: Range<Int>) {
            for y in ys { for x in xs { object[y * w + x] = 1; image.pixels.replaceSubrange(3 * (y * w + x)..<3 * (y * w + x) + 3, with: [250, 20, 240]) } }
        }
        paint(40..<64, 30..<54)  // the body, which the mask holds
        paint(50..<56, 20..<30)  // an ear on top of it, which the mask missed
        paint(64..<100, 44..<48) // a tail to the right, longer than the reach
        paint(20..<26, 60..<66)  // a speck of the same colour apart from the body (10 px of background between)
        let hole = Mask(width: w, height: h, data: (0..<(w * h)).map { p in (40..<64).contains(p % w) && (30..<54).contains(p / w) ? 1 : 0 })
        let grown = HoleGrowth.grown(hole, image: image, reach: reach, threshold: 0.5)
        var kept = true, ear = true, tailNear = true, tailFar = false, speck = false, background = 0
        for p in 0..<(w * h) {
            let x = p % w, y = p / w, g = grown.data[p] != 0
            if hole.data[p] != 0 && !g { kept = false }
            if (50..<56).contains(x) && (20..<30).contains(y) && !g { ear = false }
            if (44..<48).contains(y) && (64...(63 + reach)).contains(x) && !g { tailNear = false }
            if (44..<48).contains(y) && x > 63 + reach && g { tailFar = true }
            if (20..<26).contains(x) && (60..<66).contains(y) && g { speck = true }
            if object[p] == 0 && g { background += 1 }
        }
        #expect(kept, "the hole itself is kept")
        #expect(ear, "the ear the mask missed is taken")
        #expect(tailNear, "the tail is taken as far as the reach")
        #expect(!tailFar, "and no farther")
        #expect(!speck, "a part of the object's colour apart from the hole is left")
        #expect(background == 0, "\(background) pixels of the background taken")
        // Nothing to grow from, or no reach: the hole as it is.
        let empty = Mask(width: w, height: h)
        #expect(HoleGrowth.grown(empty, image: image, reach: reach, threshold: 0.5) == empty)
        #expect(HoleGrowth.grown(hole, image: image, reach: 0, threshold: 0.5) == hole)
        // The region a removal replaces: grown, then dilated; without growth, dilated only.
        var off = VideoInpainter.Configuration()
        off.growthReachFraction = 0
        let plain = VideoInpainter(quality: .standard, configuration: off, threads: 1)
        var on = VideoInpainter.Configuration()
        on.growthReachFraction = Double(reach) / Double(h)  // this small frame's 1/30 would be 3 px
        let removal = VideoInpainter(quality: .standard, configuration: on, threads: 1)
        let radius = removal.dilationRadius(width: w, height: h)
        #expect(plain.replacedRegion(hole, frame: image) == hole.dilated(radius: radius))
        let replaced = removal.replacedRegion(hole, frame: image)
        let coversEar = (50..<56).allSatisfy { x in (20..<30).allSatisfy { y in replaced.data[y * w + x] != 0 } }
        #expect(coversEar && replaced.area > hole.dilated(radius: radius).area, "the removal replaces the ear too")
    }

    @Test("the disc dilation equals a brute-force one (random specks, a bar through the frame, the frame's corners)")
    func discDilationMatchesBruteForce() {
        let w = 61, h = 47
        var generator = SystemRandomNumberGenerator()
        var masks: [[UInt8]] = []
        var specks = [UInt8](repeating: 0, count: w * h)
        for _ in 0..<40 { specks[Int.random(in: 0..<(w * h), using: &generator)] = 1 }
        masks.append(specks)
        masks.append((0..<(w * h)).map { p in (20..<29).contains(p % w) ? 1 : 0 })
        masks.append((0..<(w * h)).map { p in (p == 0 || p == w * h - 1 || (p % w > 30 && p / w == 20)) ? 1 : 0 })
        for data in masks {
            let mask = Mask(width: w, height: h, data: data)
            for r in [1, 3, 8] {
                let got = InpaintMorphology.dilated(mask, radius: r)
                var want = [UInt8](repeating: 0, count: w * h)
                for y in 0..<h {
                    for x in 0..<w {
                        search: for dy in -r...r {
                            for dx in -r...r where dx * dx + dy * dy <= r * r {
                                let X = x + dx, Y = y + dy
                                if X >= 0, Y >= 0, X < w, Y < h, data[Y * w + X] != 0 { want[y * w + x] = 1; break search }
                            }
                        }
                    }
                }
                #expect(got.data == want, "radius \(r)")
            }
        }
    }
}
