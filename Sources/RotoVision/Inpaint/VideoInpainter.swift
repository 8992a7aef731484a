#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import RotoThreads
import Synchronization

/// Quality tier of an edit task (the API's `mode`).
public enum EditQuality: String, Sendable {
    /// Faster: lower flow resolution, a smaller memory budget.
    case standard = "std"
    /// Slower: denser flow, a larger memory budget.
    case pro
}

/// Video object removal (video inpainting), classical: the hole of each frame is dilated; dense flow
/// between neighbouring frames is measured at reduced resolution and completed inside the hole from its
/// surroundings; known background is carried into the hole forwards and backwards through the clip by
/// chaining the flow (each hole pixel remembers the frame and position of the real background pixel it
/// came from, so it is resampled once, however far away in time); the two directions are blended by
/// temporal distance; what is never seen is filled spatially on one key frame (push–pull, then patches
/// of the frame around it: ``PatchFill``) and that fill is carried through the clip the same way, so it
/// does not flicker.
public struct VideoInpainter: Sendable {
    /// Tuning knobs.
    public struct Configuration: Sendable, Equatable {
        /// Hole dilation as a fraction of the frame's short side (objects have soft edges and halos).
        public var dilationFraction: Double = 1.0 / 90
        /// Minimum hole dilation in pixels.
        public var minDilation: Int = 2
        /// Before it is dilated, each hole takes what its mask missed of the object right next to it: the
        /// pixels within this fraction of the frame's short side, joined to it, whose colour looks like the
        /// object's (``HoleGrowth``; 0: off). A part of the object left out of the mask would otherwise
        /// stay in the frame, and ghost into the other frames' holes.
        public var growthReachFraction: Double = 1.0 / 30
        /// How much more likely under the object's colours than under its surroundings' a pixel's colour
        /// must be for the hole to take it (natural log of the ratio).
        public var growthThreshold: Float = 0.5
        /// Long side of the flow resolution (never above the working size). 480 for std (was 320 when the
        /// flow was slower: davis2016-dev hole PSNR 19.7 → 20.2 dB, SSIM 0.559 → 0.573, +0.5 s on a 5 s 720p
        /// task), 640 for pro.
        public var flowLongSide: Int = 480
        /// Lucas–Kanade window radius at flow resolution.
        public var flowRadius: Int = 3
        /// Lucas–Kanade iterations per pyramid level.
        public var flowIterations: Int = 3
        /// Flow pixels around the (low-resolution) hole whose measured flow is replaced as well.
        public var flowMargin: Int = 3
        /// How the flow inside the hole is completed. A fitted camera motion (homography) does not drift
        /// when chained over many frames the way interpolated flow does (measured: on a static textured
        /// background the error inside the hole 70 frames from the nearest source stays at the level of
        /// the compression noise, against twice that with diffusion), but it misplaces a scene with depth
        /// (davis2016-dev goat: 17.0 dB against 23.0 dB with diffusion). `.adaptive` decides per clip.
        public var completion: FlowCompletion = .adaptive
        /// `.adaptive`: the homography's median residual around the holes, as a fraction of the flow
        /// field's long side, above which the scene is taken to have parallax and the flow is
        /// interpolated instead (0.0011: 0.35 px at 320 px).
        public var parallaxResidual: Float = 0.0011
        /// Blend the forward and backward sources by temporal distance (false: nearest source only).
        public var blendDirections: Bool = true
        /// Key-frame rounds for never-seen pixels before the rest is filled frame by frame.
        public var maxRounds: Int = 6
        /// Re-align each frame's sources directly against their source frames (see `alignSources`).
        public var alignSources: Bool = true
        /// Fill a key frame's never-seen pixels from patches of the frame around them (``PatchFill``),
        /// not only smoothly (push–pull, which stays the start and the fallback).
        public var exemplarFill: Bool = true

        /// The defaults for `quality`.
        public init(quality: EditQuality = .standard) {
            if quality == .pro {
                flowLongSide = 640
                flowIterations = 4
            }
        }
    }

    /// The quality tier.
    public let quality: EditQuality
    /// Worker threads (frames are processed in parallel up to this many at once).
    public let threads: Int
    /// The configuration in use.
    public let configuration: Configuration
    /// When raised, ``remove(frames:holes:motionFrames:)`` returns at its next phase (the motion, each
    /// propagation round, the source alignment, the final colours), leaving the frames partly filled:
    /// its caller must throw them away.
    public var cancellation: CancellationFlag?

    /// A remover for `quality` using up to `threads` threads.
    public init(quality: EditQuality = .standard, threads: Int = 1, cancellation: CancellationFlag? = nil) {
        self.init(quality: quality, configuration: Configuration(quality: quality), threads: threads,
                  cancellation: cancellation)
    }

    /// A remover with an explicit configuration.
    public init(quality: EditQuality, configuration: Configuration, threads: Int = 1,
                cancellation: CancellationFlag? = nil) {
        self.quality = quality
        self.configuration = configuration
        self.threads = max(1, threads)
        self.cancellation = cancellation
    }

    private var stopped: Bool { cancellation?.isRaised == true }

    /// The size at which to run removal for a clip of `frameCount` frames of width×height, so that all
    /// frames fit a memory budget (std: about 150 M pixels over the whole clip, pro: about 300 M; never
    /// larger than the video; even sides).
    public static func workingSize(width: Int, height: Int, frameCount: Int, quality: EditQuality) -> (width: Int, height: Int) {
        let budget: Double = quality == .pro ? 300e6 : 150e6
        let total = Double(width) * Double(height) * Double(max(1, frameCount))
        let s = total > 0 ? min(1, (budget / total).squareRoot()) : 1
        @inline(__always) func even(_ v: Int, _ limit: Int) -> Int {
            let e = max(2, v - v % 2)
            return limit >= 2 ? min(e, limit - limit % 2) : e
        }
        return (even(Int(Double(width) * s), width), even(Int(Double(height) * s), height))
    }

    /// What a removal replaces of `frame` for the object `mask` covers: the mask grown over what it
    /// missed of the object next to it (`growthReachFraction`), then dilated (``dilationRadius(width:height:)``).
    public func replacedRegion(_ mask: Mask, frame: RGBImage) -> Mask {
        let w = mask.width, h = mask.height
        let reach = Int((Double(min(w, h)) * configuration.growthReachFraction).rounded())
        let grown = reach > 0 ? HoleGrowth.grown(mask, image: frame, reach: reach, threshold: configuration.growthThreshold) : mask
        return InpaintMorphology.dilated(grown, radius: dilationRadius(width: w, height: h))
    }

    /// The hole dilation in pixels for frames of `width` × `height`.
    public func dilationRadius(width: Int, height: Int) -> Int {
        max(configuration.minDilation, Int((Double(min(width, height)) * configuration.dilationFraction).rounded()))
    }

    /// Fills `holes[i]` (1 = pixels of the removed objects) in `frames[i]`, in place, for every frame. All
    /// frames and masks have the same size. Returns, per frame, the mask of the pixels that were replaced
    /// (the hole after the engine's own dilation), for compositing at full resolution.
    ///
    /// `motionFrames` is a diagnostic for benchmarks: when given (the same size and count as `frames`,
    /// typically the clean frames of a composited clip), the motion is measured on them everywhere, holes
    /// included, instead of being completed inside the holes — what a perfect flow completion would give.
    public func remove(frames: inout [RGBImage], holes: consuming [Mask], motionFrames: [RGBImage]? = nil) -> [Mask] {
        precondition(frames.count == holes.count, "VideoInpainter: one hole per frame")
        let count = frames.count
        guard let first = frames.first else { return [] }
        let w = first.width, h = first.height
        precondition(w <= 4096 && h <= 4096 && count <= Int(Int16.max), "VideoInpainter: at most 4096 px a side and 32767 frames")
        for i in 0..<count {
            precondition(frames[i].width == w && frames[i].height == h && holes[i].width == w && holes[i].height == h,
                         "VideoInpainter: frame \(i) size mismatch")
        }
        // The given holes are released once grown and dilated (a clip's worth of full-size masks).
        let replaced: [Mask]
        do {
            let given = consume holes, current = frames
            replaced = parallelMap(count) { replacedRegion(given[$0], frame: current[$0]) }
        }
        let pixels: [[Int32]] = parallelMap(count) { i in
            replaced[i].data.withUnsafeBufferPointer { m in
                var out: [Int32] = []
                for p in 0..<m.count where m[p] != 0 { out.append(Int32(p)) }
                return out
            }
        }
        if pixels.allSatisfy(\.isEmpty) { return replaced }
        if let m = motionFrames {
            precondition(m.count == count && m.allSatisfy { $0.width == w && $0.height == h }, "VideoInpainter: motion frames mismatch")
        }
        if stopped { return replaced }
        let flows = motion(frames: motionFrames ?? frames, replaced: replaced, measuredEverywhere: motionFrames != nil)
        var states = pixels.map { FrameState(pixels: $0) }
        var round = 0
        while true {
            if stopped { return replaced }
            let unresolved = states.map(\.unresolvedCount)
            if unresolved.allSatisfy({ $0 == 0 }) { break }
            // Carry what is known (real background, earlier key frames) forwards and backwards. The
            // passes read a snapshot that is released before `combine` mutates `states` (no copy).
            let passes: [[PassRecords]]
            do {
                let frozen = states
                passes = parallelMap(2) { d in
                    Self.pass(forward: d == 0, states: frozen, flows: flows, holes: replaced, width: w, height: h)
                }
            }
            for t in 0..<count where states[t].unresolvedCount > 0 {
                states[t].combine(forward: passes[0][t], backward: passes[1][t], time: t,
                                  blend: configuration.blendDirections)
            }
            let left = states.map(\.unresolvedCount)
            if left.allSatisfy({ $0 == 0 }) { break }
            round += 1
            if round > configuration.maxRounds {
                // Give up on propagation: fill every remaining frame spatially on its own, a few frames
                // at a time in parallel (each reads the frames as they were before its batch). Smoothly
                // only: a texture synthesised on each frame apart would flicker.
                let remaining = (0..<count).filter { left[$0] > 0 }
                for start in stride(from: 0, to: remaining.count, by: 2 * threads) {
                    let batch = Array(remaining[start..<min(remaining.count, start + 2 * threads)])
                    let filled: [(RGBImage, FrameState)]
                    do {
                        let current = frames, frozen = states
                        filled = parallelMap(batch.count) { j in
                            var frame = current[batch[j]], state = frozen[batch[j]]
                            keyFill(batch[j], frame: &frame, state: &state, snapshot: current)
                            return (frame, state)
                        }
                    }
                    for (j, t) in batch.enumerated() { (frames[t], states[t]) = filled[j] }
                }
                break
            }
            // Key frame: the most never-seen pixels (ties: nearest the middle of the clip).
            var k = 0
            for t in 0..<count {
                let better = left[t] > left[k] || (left[t] == left[k] && abs(2 * t - count) < abs(2 * k - count))
                if better { k = t }
            }
            let current = frames
            keyFill(k, frame: &frames[k], state: &states[k], snapshot: current, exemplar: configuration.exemplarFill)
        }
        if stopped { return replaced }
        if configuration.alignSources { alignSources(&states, frames: frames, replaced: replaced) }
        if stopped { return replaced }
        // Final colours from the (unchanged outside the holes) frames and the filled key frames.
        // (The snapshot is released before the frames are written, so that no frame is copied.)
        let colours: [[UInt8]]
        do {
            let current = frames, final = states
            colours = parallelMap(count) { t in
                final[t].isKey ? [] : Self.colours(final[t], frames: current, width: w)
            }
        }
        for t in 0..<count where !states[t].isKey && !states[t].pixels.isEmpty {
            let st = states[t]
            st.pixels.withUnsafeBufferPointer { P in
                colours[t].withUnsafeBufferPointer { C in
                    frames[t].pixels.withUnsafeMutableBufferPointer { F in
                        for i in 0..<P.count {
                            let q = Int(P[i]) * 3
                            F[q] = C[3 * i]; F[q + 1] = C[3 * i + 1]; F[q + 2] = C[3 * i + 2]
                        }
                    }
                }
            }
        }
        return replaced
    }

    // MARK: - Motion

    /// Completed flows per frame: `.back[t]` towards frame t−1, `.forward[t]` towards t+1 (nil where the
    /// frame has no hole or no such neighbour).
    struct Motion: Sendable {
        var back: [FlowCrop?]
        var forward: [FlowCrop?]
    }

    func motion(frames: [RGBImage], replaced: [Mask], measuredEverywhere: Bool) -> Motion {
        let count = frames.count
        let w = frames[0].width, h = frames[0].height
        let fs = RGBImage.workingSize(width: w, height: h, longSide: min(configuration.flowLongSide, max(w, h)))
        let lw = fs.width, lh = fs.height
        let hasHole = replaced.map { !$0.isEmpty }
        let lowHoles: [[UInt8]] = parallelMap(count) { i in
            hasHole[i] ? InpaintMorphology.downscaledAny(replaced[i], width: lw, height: lh) : []
        }
        let margin = configuration.flowMargin
        let unknown: [[UInt8]] = parallelMap(count) { i in
            guard hasHole[i] else { return [] }
            return measuredEverywhere ? [UInt8](repeating: 0, count: lw * lh)
                : InpaintMorphology.dilate(lowHoles[i], width: lw, height: lh, radius: margin)
        }
        // Pyramids of every frame next to a hole.
        let needed = (0..<count).map { i in hasHole[i] || (i > 0 && hasHole[i - 1]) || (i + 1 < count && hasHole[i + 1]) }
        let pyramids: [FlowPyramid?] = parallelMap(count) { i in
            needed[i] ? FlowPyramid(frames[i].downscaled(width: lw, height: lh), minSide: 16, maxLevels: 5) : nil
        }
        let engine = DenseFlow(radius: configuration.flowRadius, iterations: configuration.flowIterations, finestLevel: 0)
        var completion = configuration.completion
        if completion == .adaptive && measuredEverywhere {
            completion = .diffusion  // nothing is completed; any decided mode will do
        } else if completion == .adaptive {
            // One decision per clip (switching between frames would flicker): the median over up to 9
            // frame pairs spread over the clip of the homography's median residual around the hole.
            let pairs = (0..<(count - 1)).filter { hasHole[$0] && pyramids[$0] != nil && pyramids[$0 + 1] != nil }
            let picked = pairs.isEmpty ? [] : (0..<min(9, pairs.count)).map { pairs[$0 * pairs.count / min(9, pairs.count)] }
            let residuals = parallelMap(picked.count) { k in
                InpaintFlow.homographyResidual(engine: engine, from: pyramids[picked[k]]!, to: pyramids[picked[k] + 1]!,
                                               unknown: unknown[picked[k]])
            }.compactMap { $0 }.sorted()
            let parallax = residuals.isEmpty
                || residuals[residuals.count / 2] > configuration.parallaxResidual * Float(max(lw, lh))
            completion = parallax ? .diffusion : .homography
        }
        let flow = InpaintFlow(engine: engine, completion: completion, margin: margin)
        let sx = Float(w) / Float(lw), sy = Float(h) / Float(lh)
        // Box of the low-resolution hole, grown by 2 for bilinear sampling.
        @Sendable func box(_ m: [UInt8]) -> PixelRect {
            var x0 = lw, y0 = lh, x1 = -1, y1 = -1
            m.withUnsafeBufferPointer { M in
                for y in 0..<lh {
                    for x in 0..<lw where M[y * lw + x] != 0 {
                        x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
                    }
                }
            }
            if x1 < 0 { return (0, 0, 1, 1) }
            x0 = max(0, x0 - 2); y0 = max(0, y0 - 2); x1 = min(lw - 1, x1 + 2); y1 = min(lh - 1, y1 + 2)
            return (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
        }
        // Jobs: 2 per frame with a hole (towards each neighbour).
        let results: [FlowCrop?] = parallelMap(2 * count) { job in
            let t = job / 2, other = job % 2 == 0 ? t - 1 : t + 1
            guard hasHole[t], other >= 0, other < count, let a = pyramids[t], let b = pyramids[other] else { return nil }
            var un = unknown[t]
            if hasHole[other] {
                unknown[other].withUnsafeBufferPointer { O in
                    un.withUnsafeMutableBufferPointer { U in for p in 0..<U.count { U[p] |= O[p] } }
                }
            }
            return flow.completed(from: a, to: b, unknown: un, box: box(lowHoles[t]), scaleX: sx, scaleY: sy)
        }
        return Motion(back: (0..<count).map { results[2 * $0] }, forward: (0..<count).map { results[2 * $0 + 1] })
    }

    // MARK: - Propagation

    /// Per frame: the hole pixels and, for each, up to two sources (frame, position) and the weight of
    /// the first. `srcA < 0`: not resolved yet. Kept compact (17 bytes per hole pixel: this state is the
    /// bulk of removal's memory): frames as Int16, positions as ``SourcePosition``, weights in 1/255.
    struct FrameState: Sendable {
        var pixels: [Int32]
        var srcA: [Int16]
        var posA: [UInt32]
        var srcB: [Int16]
        var posB: [UInt32]
        var wA: [UInt8]
        /// True once the frame was filled as a key frame (its hole pixels are final in the frame itself).
        var isKey = false
        /// Colour offsets (RGB) added to what is sampled from a source frame: the source frame's exposure
        /// or lighting measured against this frame around the hole (set by `alignSources`).
        var offsets: [Int16: SIMD3<Float>] = [:]
        var unresolvedCount: Int

        init(pixels: [Int32]) {
            self.pixels = pixels
            let n = pixels.count
            srcA = [Int16](repeating: -1, count: n)
            posA = [UInt32](repeating: 0, count: n)
            srcB = srcA
            posB = posA
            wA = [UInt8](repeating: 255, count: n)
            unresolvedCount = n
        }

        /// Takes the sources of one propagation round for the unresolved pixels.
        mutating func combine(forward f: PassRecords, backward b: PassRecords, time t: Int, blend: Bool) {
            let n = pixels.count
            var left = 0
            f.src.withUnsafeBufferPointer { FS in
            f.pos.withUnsafeBufferPointer { FP in
            b.src.withUnsafeBufferPointer { BS in
            b.pos.withUnsafeBufferPointer { BP in
            srcA.withUnsafeMutableBufferPointer { SA in
            posA.withUnsafeMutableBufferPointer { PA in
            srcB.withUnsafeMutableBufferPointer { SB in
            posB.withUnsafeMutableBufferPointer { PB in
            wA.withUnsafeMutableBufferPointer { WA in
                for i in 0..<n where SA[i] < 0 {
                    let fs = FS[i], bs = BS[i]
                    if fs < 0 && bs < 0 { left += 1; continue }
                    if fs >= 0 && bs >= 0 {
                        let af = Float(abs(t - Int(fs))), ab = Float(abs(t - Int(bs)))
                        // A = the temporally nearer source.
                        let fFirst = af <= ab
                        SA[i] = fFirst ? fs : bs; PA[i] = fFirst ? FP[i] : BP[i]
                        if blend {
                            SB[i] = fFirst ? bs : fs; PB[i] = fFirst ? BP[i] : FP[i]
                            let near = min(af, ab), far = max(af, ab)
                            WA[i] = UInt8(255 * far / max(near + far, 1e-6) + 0.5)
                        }
                    } else if fs >= 0 {
                        SA[i] = fs; PA[i] = FP[i]
                    } else {
                        SA[i] = bs; PA[i] = BP[i]
                    }
                }
            }}}}}}}}}
            unresolvedCount = left
        }
    }

    /// One source per hole pixel from one propagation pass (`src < 0`: none).
    struct PassRecords: Sendable {
        var src: [Int16]
        var pos: [UInt32]
    }

    /// A source position in 1/16 pixel, x in the low and y in the high 16 bits (sides up to 4096).
    enum SourcePosition {
        @inline(__always) static func pack(_ x: Float, _ y: Float) -> UInt32 {
            UInt32(x * 16 + 0.5) | UInt32(y * 16 + 0.5) << 16
        }
        @inline(__always) static func unpack(_ p: UInt32) -> (x: Float, y: Float) {
            (Float(p & 0xFFFF) / 16, Float(p >> 16) / 16)
        }
    }

    /// Carries sources through the clip in one direction: a hole pixel of frame t follows the completed
    /// flow to the previous frame of the pass; outside that frame's hole it takes that pixel, inside it
    /// inherits that pixel's source (resolved earlier, or found by this pass), offset by the sub-pixel
    /// position.
    static func pass(forward: Bool, states: [FrameState], flows: Motion, holes: [Mask], width w: Int, height h: Int) -> [PassRecords] {
        let count = states.count
        var out = [PassRecords](repeating: PassRecords(src: [], pos: []), count: count)
        var index = [Int32](repeating: -1, count: w * h)
        let order = forward ? Array(0..<count) : Array((0..<count).reversed())
        let maxX = Float(w - 1), maxY = Float(h - 1)
        for t in order {
            let st = states[t]
            let n = st.pixels.count
            var rec = PassRecords(src: st.srcA, pos: st.posA)
            let prev = forward ? t - 1 : t + 1
            defer { out[t] = rec }
            if n == 0 || st.unresolvedCount == 0 || prev < 0 || prev >= count { continue }
            guard let crop = forward ? flows.back[t] : flows.forward[t] else { continue }
            let prevRec = out[prev]
            let prevPixels = states[prev].pixels
            // Index of the previous frame's hole pixels.
            index.withUnsafeMutableBufferPointer { I in
                prevPixels.withUnsafeBufferPointer { PP in for j in 0..<PP.count { I[Int(PP[j])] = Int32(j) } }
            }
            let cw = crop.width, ch = crop.height
            let isx = 1 / crop.scaleX, isy = 1 / crop.scaleY
            index.withUnsafeBufferPointer { I in
            holes[prev].data.withUnsafeBufferPointer { HP in
            st.pixels.withUnsafeBufferPointer { P in
            crop.u.withUnsafeBufferPointer { CU in
            crop.v.withUnsafeBufferPointer { CV in
            prevRec.src.withUnsafeBufferPointer { PS in
            prevRec.pos.withUnsafeBufferPointer { PP in
            rec.src.withUnsafeMutableBufferPointer { RS in
            rec.pos.withUnsafeMutableBufferPointer { RP in
                for i in 0..<n where RS[i] < 0 {
                    let p = Int(P[i])
                    let x = p % w, y = p / w
                    // Flow (bilinear in the crop).
                    let lx = min(max((Float(x) + 0.5) * isx - 0.5 - Float(crop.x0), 0), Float(cw - 1))
                    let ly = min(max((Float(y) + 0.5) * isy - 0.5 - Float(crop.y0), 0), Float(ch - 1))
                    let x0 = Int(lx), y0 = Int(ly), x1 = min(x0 + 1, cw - 1), y1 = min(y0 + 1, ch - 1)
                    let ax = lx - Float(x0), ay = ly - Float(y0)
                    let a = y0 * cw, b = y1 * cw
                    let u = (CU[a + x0] * (1 - ax) + CU[a + x1] * ax) * (1 - ay) + (CU[b + x0] * (1 - ax) + CU[b + x1] * ax) * ay
                    let v = (CV[a + x0] * (1 - ax) + CV[a + x1] * ax) * (1 - ay) + (CV[b + x0] * (1 - ax) + CV[b + x1] * ax) * ay
                    let qx = Float(x) + u, qy = Float(y) + v
                    if !(qx >= 0 && qy >= 0 && qx <= maxX && qy <= maxY) { continue }
                    let nx = Int(qx + 0.5), ny = Int(qy + 0.5)
                    let q = ny * w + nx
                    if HP[q] == 0 {
                        RS[i] = Int16(prev); RP[i] = SourcePosition.pack(qx, qy)
                    } else {
                        let j = Int(I[q])
                        if j >= 0 && PS[j] >= 0 {
                            RS[i] = PS[j]
                            let (px, py) = SourcePosition.unpack(PP[j])
                            RP[i] = SourcePosition.pack(min(max(px + qx - Float(nx), 0), maxX),
                                                        min(max(py + qy - Float(ny), 0), maxY))
                        }
                    }
                }
            }}}}}}}}}
            index.withUnsafeMutableBufferPointer { I in
                prevPixels.withUnsafeBufferPointer { PP in for j in 0..<PP.count { I[Int(PP[j])] = -1 } }
            }
        }
        return out
    }

    // MARK: - Colours and spatial fill

    /// RGB of every resolved hole pixel of a frame (unresolved pixels: 0), three bytes per hole pixel.
    static func colours(_ st: FrameState, frames: [RGBImage], width w: Int) -> [UInt8] {
        let n = st.pixels.count
        var out = [UInt8](repeating: 0, count: 3 * n)
        guard n > 0 else { return out }
        let h = frames[0].height
        var offset = [SIMD3<Float>](repeating: .zero, count: frames.count)
        for (f, o) in st.offsets where Int(f) < frames.count { offset[Int(f)] = o }
        out.withUnsafeMutableBufferPointer { O in
        st.srcA.withUnsafeBufferPointer { SA in
        st.posA.withUnsafeBufferPointer { PA in
        st.srcB.withUnsafeBufferPointer { SB in
        st.posB.withUnsafeBufferPointer { PB in
        st.wA.withUnsafeBufferPointer { WA in
            for i in 0..<n {
                let sa = Int(SA[i])
                if sa < 0 { continue }
                let a = SourcePosition.unpack(PA[i])
                var (r, g, b) = frames[sa].pixels.withUnsafeBufferPointer { bilinearRGB($0, w, h, a.x, a.y) }
                let oa = offset[sa]
                r += oa.x; g += oa.y; b += oa.z
                let sb = Int(SB[i])
                if sb >= 0 {
                    let wa = Float(WA[i]) / 255
                    let p = SourcePosition.unpack(PB[i])
                    var (r2, g2, b2) = frames[sb].pixels.withUnsafeBufferPointer { bilinearRGB($0, w, h, p.x, p.y) }
                    let ob = offset[sb]
                    r2 += ob.x; g2 += ob.y; b2 += ob.z
                    r = wa * r + (1 - wa) * r2; g = wa * g + (1 - wa) * g2; b = wa * b + (1 - wa) * b2
                }
                O[3 * i] = UInt8(min(max(r + 0.5, 0), 255))
                O[3 * i + 1] = UInt8(min(max(g + 0.5, 0), 255))
                O[3 * i + 2] = UInt8(min(max(b + 0.5, 0), 255))
            }
        }}}}}}
        return out
    }

    /// Makes frame `k` final: its resolved hole pixels take their propagated colours, the rest is filled
    /// spatially (push–pull from everything known around it, then, when `exemplar`, patches of the frame
    /// around it), and every hole pixel becomes a source pointing at itself, so later rounds carry this
    /// fill through the clip.
    func keyFill(_ k: Int, frame: inout RGBImage, state: inout FrameState, snapshot: [RGBImage], exemplar: Bool = false) {
        let w = frame.width, h = frame.height
        var st = state
        let n = st.pixels.count
        if n == 0 { return }
        let cols = Self.colours(st, frames: snapshot, width: w)
        // Box of the unresolved pixels, grown so the fill sees enough surroundings.
        var x0 = w, y0 = h, x1 = -1, y1 = -1
        for i in 0..<n where st.srcA[i] < 0 {
            let p = Int(st.pixels[i]), x = p % w, y = p / w
            x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
        }
        frame.pixels.withUnsafeMutableBufferPointer { F in
            st.pixels.withUnsafeBufferPointer { P in
                cols.withUnsafeBufferPointer { C in
                    for i in 0..<n where st.srcA[i] >= 0 {
                        let q = Int(P[i]) * 3
                        F[q] = C[3 * i]; F[q + 1] = C[3 * i + 1]; F[q + 2] = C[3 * i + 2]
                    }
                }
            }
        }
        if x1 >= 0 {
            let m = max(8, (x1 - x0 + y1 - y0) / 4)
            let bx0 = max(0, x0 - m), by0 = max(0, y0 - m), bx1 = min(w - 1, x1 + m), by1 = min(h - 1, y1 + m)
            let bw = bx1 - bx0 + 1, bh = by1 - by0 + 1
            var vals = [Float](repeating: 0, count: bw * bh * 3)
            var known = [Float](repeating: 1, count: bw * bh)
            // Unknown: hole pixels not resolved.
            var unresolvedMap = [UInt8](repeating: 0, count: bw * bh)
            for i in 0..<n where st.srcA[i] < 0 {
                let p = Int(st.pixels[i]), x = p % w - bx0, y = p / w - by0
                unresolvedMap[y * bw + x] = 1
            }
            frame.pixels.withUnsafeBufferPointer { F in
                vals.withUnsafeMutableBufferPointer { V in
                    known.withUnsafeMutableBufferPointer { K in
                        unresolvedMap.withUnsafeBufferPointer { U in
                            for y in 0..<bh {
                                for x in 0..<bw {
                                    let b = y * bw + x, q = ((y + by0) * w + x + bx0) * 3
                                    if U[b] != 0 { K[b] = 0; continue }
                                    V[3 * b] = Float(F[q]); V[3 * b + 1] = Float(F[q + 1]); V[3 * b + 2] = Float(F[q + 2])
                                }
                            }
                        }
                    }
                }
            }
            PushPull.fill(&vals, known: known, width: bw, height: bh, channels: 3)
            if exemplar {
                PatchFill.fill(&vals, unknown: unresolvedMap, width: bw, height: bh, seed: UInt64(k) + 1, threads: threads)
            }
            frame.pixels.withUnsafeMutableBufferPointer { F in
                vals.withUnsafeBufferPointer { V in
                    unresolvedMap.withUnsafeBufferPointer { U in
                        for y in 0..<bh {
                            for x in 0..<bw where U[y * bw + x] != 0 {
                                let b = y * bw + x, q = ((y + by0) * w + x + bx0) * 3
                                for c in 0..<3 { F[q + c] = UInt8(min(max(V[3 * b + c] + 0.5, 0), 255)) }
                            }
                        }
                    }
                }
            }
        }
        for i in 0..<n {
            let p = Int(st.pixels[i])
            st.srcA[i] = Int16(k); st.posA[i] = SourcePosition.pack(Float(p % w), Float(p / w))
            st.srcB[i] = -1; st.wA[i] = 255
        }
        st.unresolvedCount = 0
        st.isKey = true
        state = st
    }

    // MARK: - Compositing

    /// Composites `filled` (working size) into `frame` (the full-resolution original) inside `replaced`
    /// (working size): upsample bilinear, blend with a feathered edge of a few pixels, leave every pixel
    /// outside the (upsampled, feathered) hole untouched.
    public static func composite(filled: RGBImage, replaced: Mask, into frame: inout RGBImage) {
        precondition(filled.width == replaced.width && filled.height == replaced.height, "composite: size mismatch")
        let w = filled.width, h = filled.height, W = frame.width, H = frame.height
        guard let (ax0, ay0, ax1, ay1) = compositeGrid(replaced), W > 0, H > 0 else { return }
        let r = compositeFeather
        let aw = ax1 - ax0 + 1, ah = ay1 - ay0 + 1
        var alpha = [Float](repeating: 0, count: aw * ah)
        var src = [Float](repeating: 0, count: aw * ah)
        var tmp = src
        replaced.data.withUnsafeBufferPointer { M in
            src.withUnsafeMutableBufferPointer { S in
                for y in 0..<ah { for x in 0..<aw { S[y * aw + x] = Float(M[(y + ay0) * w + x + ax0]) } }
            }
        }
        src.withUnsafeBufferPointer { S in
            alpha.withUnsafeMutableBufferPointer { A in
                tmp.withUnsafeMutableBufferPointer { T in
                    boxSum(S, A, T, width: aw, height: ah, radius: r)
                    let norm = 2 / Float((2 * r + 1) * (2 * r + 1))
                    for p in 0..<A.count { A[p] = S[p] != 0 ? 1 : min(1, A[p] * norm) }
                }
            }
        }
        let sx = Float(w) / Float(W), sy = Float(h) / Float(H)
        let (X0, Y0, X1, Y1) = compositeBox(grid: (ax0, ay0, ax1, ay1), scale: (sx, sy), width: W, height: H)
        // Where each full-size column and row falls in the alpha grid and in `filled` (the same for
        // every row and column, so computed once): nil outside the alpha grid.
        let columns = (X0...X1).map { X in compositeTap((Float(X) + 0.5) * sx - 0.5, size: w, origin: ax0, gridSize: aw) }
        let rows = (Y0...Y1).map { Y in compositeTap((Float(Y) + 0.5) * sy - 0.5, size: h, origin: ay0, gridSize: ah) }
        // Alpha rows with any weight: a full-size row between two empty ones is left alone.
        let weighted = (0..<ah).map { j in alpha[(j * aw)..<((j + 1) * aw)].contains { $0 > 0 } }
        alpha.withUnsafeBufferPointer { A in
            filled.pixels.withUnsafeBufferPointer { Fi in
                frame.pixels.withUnsafeMutableBufferPointer { O in
                    for (dy, row) in rows.enumerated() {
                        guard let row, weighted[row.grid0] || weighted[row.grid1] else { continue }
                        let Y = Y0 + dy
                        let by = row.gridWeight, ay = row.weight
                        let a0 = row.grid0 * aw, a1 = row.grid1 * aw
                        let f0 = row.pixel0 * w, f1 = row.pixel1 * w
                        for (dx, column) in columns.enumerated() {
                            guard let column else { continue }
                            let i0 = column.grid0, i1 = column.grid1, bx = column.gridWeight
                            let a = (A[a0 + i0] * (1 - bx) + A[a0 + i1] * bx) * (1 - by)
                                + (A[a1 + i0] * (1 - bx) + A[a1 + i1] * bx) * by
                            if a <= 0 { continue }
                            // Bilinear colour of `filled` (as `bilinearRGB`).
                            let ax = column.weight
                            let p00 = (f0 + column.pixel0) * 3, p01 = (f0 + column.pixel1) * 3
                            let p10 = (f1 + column.pixel0) * 3, p11 = (f1 + column.pixel1) * 3
                            let w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay
                            let q = (Y * W + X0 + dx) * 3
                            for c in 0..<3 {
                                let v = Float(Fi[p00 + c]) * w00 + Float(Fi[p01 + c]) * w01
                                    + Float(Fi[p10 + c]) * w10 + Float(Fi[p11 + c]) * w11
                                O[q + c] = UInt8(min(max(a * v + (1 - a) * Float(O[q + c]) + 0.5, 0), 255))
                            }
                        }
                    }
                }
            }
        }
    }

    /// The full-size pixels ``composite(filled:replaced:into:)`` may read or change in a `width` ×
    /// `height` frame (half-open ranges); nil when `replaced` is empty.
    public static func compositeRegion(replaced: Mask, width: Int, height: Int) -> (rows: Range<Int>, columns: Range<Int>)? {
        guard let grid = compositeGrid(replaced), width > 0, height > 0 else { return nil }
        let scale = (Float(replaced.width) / Float(width), Float(replaced.height) / Float(height))
        let (x0, y0, x1, y1) = compositeBox(grid: grid, scale: scale, width: width, height: height)
        return (y0..<(y1 + 1), x0..<(x1 + 1))
    }

    /// Radius of the composite's feathered edge, in working pixels.
    private static let compositeFeather = 2

    /// The composite's alpha grid at working size: the hole's box grown by the feather and one pixel,
    /// inclusive bounds; nil for an empty hole.
    private static func compositeGrid(_ replaced: Mask) -> (Int, Int, Int, Int)? {
        guard let box = replaced.boundingBox else { return nil }
        // Feathered alpha at working size: 1 on the hole (corners included); outside it the box mean of
        // the mask over a (2r+1)² window, doubled and clamped, falling to 0 within r + 1 pixels.
        let r = compositeFeather
        return (max(0, box.x - r - 1), max(0, box.y - r - 1),
                min(replaced.width - 1, box.x + box.width + r), min(replaced.height - 1, box.y + box.height + r))
    }

    /// The full-resolution box (inclusive) covering the alpha grid; `scale` is working over full size.
    private static func compositeBox(grid: (Int, Int, Int, Int), scale: (Float, Float), width W: Int, height H: Int)
        -> (Int, Int, Int, Int) {
        let (ax0, ay0, ax1, ay1) = grid, (sx, sy) = scale
        return (max(0, Int(Float(ax0) / sx) - 1), max(0, Int(Float(ay0) / sy) - 1),
                min(W - 1, Int(Float(ax1 + 1) / sx) + 1), min(H - 1, Int(Float(ay1 + 1) / sy) + 1))
    }

    // MARK: - Threads

    /// `body(i)` for every i in 0..<n on up to `threads` threads, results in order.
    func parallelMap<T: Sendable>(_ n: Int, _ body: @Sendable (Int) -> T) -> [T] {
        RotoThreads.parallelMap(n, threads: threads, body)
    }
}

/// Where one full-size column (or row) of ``VideoInpainter/composite(filled:replaced:into:)`` samples:
/// its neighbours and weight in the working-size image and in the alpha grid that starts at `origin`
/// and spans `gridSize` samples. Nil when it falls outside the grid.
private struct CompositeTap {
    var pixel0: Int, pixel1: Int, weight: Float
    var grid0: Int, grid1: Int, gridWeight: Float
}

/// The ``CompositeTap`` of the working-size coordinate `position` (clamped into 0…size−1).
private func compositeTap(_ position: Float, size: Int, origin: Int, gridSize: Int) -> CompositeTap? {
    let f = min(max(position, 0), Float(size - 1))
    let g = f - Float(origin)
    if g < 0 || g > Float(gridSize - 1) { return nil }
    let p0 = min(Int(f), size - 1), i0 = Int(g)
    return CompositeTap(pixel0: p0, pixel1: min(p0 + 1, size - 1), weight: f - Float(p0),
                        grid0: i0, grid1: min(i0 + 1, gridSize - 1), gridWeight: g - Float(i0))
}
