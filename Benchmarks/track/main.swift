// Tracking-quality benchmark on DAVIS 2016 (J, F, J&F as defined in shared/notes/engine.md).
// Driven by run.sh. Measures the preview-selection chain (Sources/RotoServer/Previews.swift,
// `PreviewPipeline`): working-size frames of the whole clip → engine segmentation of every marked frame
// (the anchors) → `MaskTracker.track` → `engine.upsample(_, to: full size, guide: nil)`.
//
// usage: track-bench [--davis DIR] [--seqs a,b] [--rounds N] [--clicks 1,3,5] [--verbose]
//   --rounds  extra rounds of the interactive protocol after the 5-click start (default 9; 0 = off)
//   --truth-anchor  also track from the true frame-0 mask (the tracker alone, without the click engine)
//   --step N  track every N-th frame, interpolating the frames between (as for 60 fps clips; default 1)
//   --interpolate-odd  track every frame, then interpolate each odd frame from its neighbours
//             (`--blend-in-place`: blend them without moving the objects)
//   --coverage  what a removal of the 5-click tracked object would leave of it: the true object's share
//             outside the tracked mask grown by 0, 1/90, 1/60, 1/45, 1/30 of the short side, and by a std
//             removal (`--growth D,T`: its growth over what looks like the object, reach 1/D, threshold T)
//   --corrections N  one correction click (as the interactive protocol's first on a new frame) on each of N
//             frames spread over the clip, from the 5-click run's tracked mask there: J before and after
//             (default 16; 0 = off); then a second click on each of those frames (the protocol's next, at
//             the larger error: include or exclude), J before and after it by kind
//   --dump DIR  overlays: the true-mask run's frames (DUMP_FRAMES=1,5,9 picks them), and each interactive
//             round's new anchor and the tracked mask it replaced, and each correction click's frame before
//             and after the click (NAME-correctionF-tracked / -after / -second)
//   --anchor-as tracked|truth  diagnostic: each interactive round's new anchor is the mask tracked there
//             (what re-anchoring costs when a click adds nothing) or the true mask (what perfect corrections
//             would give), instead of the engine's segmentation of the clicks
//   --scored-worst  diagnostic: each interactive round's worst frame is picked among the scored frames only
//             (not the first or the last), instead of among all frames as a person would
//   --config k=v,…  tracker settings (band, colour, clamp, prior, smooth, anchor, flowr, flowit, finest, grow,
//             warpsigma, claims, motion, mclamp, mbin, msupport, mfloor, imot, imotnoise, stillrim,
//             prioredge, tex, texorient, motiondoubt, stillparts)
//   --jobs    sequences processed at once (default 2, one per core; 1 = one sequence, scoring on 2 threads)
//   --negative-first  let a new anchor frame start with an exclude click (default: its first click is an
//             include click at the largest missed region; later clicks there follow the largest error)
//   --no-prior-less-excluded  exclude clicks alone on a frame select nothing, as before the engine took them
//             out of the mask tracked there (`priorLessExcluded`)
//   --no-prior  a new anchor frame is segmented from its clicks alone (default: it starts from the mask
//             tracked there, as add-selection does after a preview)
//   --prior-points N  points the engine takes from that mask (default: the engine's, 3)
//   --prior-reach R  how near an include click a part of that mask must come (default: the engine's, 0.05)
//   --engine k=v,…  click-engine settings for the anchors: regions, mclampbg (multiClickClampBackground),
//             msmooth (multiClickSmoothness), refine (refineBoundary 0/1), rband (refineBandFraction), long
//             (workingLongSide: the working frames' long side, for the anchors and the tracker alike), prior
//             (priorWeight: 0 = a prior adds only its interior points), priorfade (priorFade), editreach
//             (priorEditReach), exspares (excludeSparesIncluded 0/1), exdepthreach (excludeDepthReach),
//             exclaims (excludeClaimsInterior), appear (appearanceWeight: 0 = no appearance from other marked
//             frames)

import Foundation
import RotoMedia
import RotoVision
import Synchronization

struct Args {
    var davis = "/work/shared/bench/davis2016-dev"
    var seqs: [String] = []
    var rounds = 9
    var clickCounts = [1, 3, 5]
    var verbose = false
    var negativeFirst = false
    var noPrior = false
    /// Diagnostic: each interactive round's new anchor is the mask tracked there (`tracked`) or the
    /// true mask (`truth`) instead of the engine's segmentation of the clicks.
    var anchorAs = ""
    /// Diagnostic: the interactive protocol's worst frame is picked among the scored frames only.
    var scoredWorst = false
    var priorPoints: Int?
    var priorReach: Double?
    var engine = ClassicalSegmentationEngine.Configuration()
    /// `--no-prior-touch`: only the reach rule decides which parts of a prior count.
    var priorTouch = true
    var jobs = 2
    var truthAnchor = false
    var dump: String?
    var tracker = MaskTracker.Configuration()
    var step = 1
    var interpolateOdd = false
    var blendInPlace = false
    var corrections = 16
    var coverage = false
    /// `--growth D,T`: the removal's hole growth for `--coverage`'s last column: reach 1/D of the short
    /// side (0: off), threshold T.
    var growth: (reach: Double, threshold: Float)?
}

func parseArgs() -> Args {
    var a = Args()
    var it = CommandLine.arguments.dropFirst().makeIterator()
    while let s = it.next() {
        switch s {
        case "--davis": a.davis = it.next() ?? a.davis
        case "--seqs": a.seqs = (it.next() ?? "").split(separator: ",").map(String.init)
        case "--rounds": a.rounds = max(0, Int(it.next() ?? "") ?? 9)
        case "--clicks": a.clickCounts = (it.next() ?? "").split(separator: ",").compactMap { Int($0) }
        case "--verbose": a.verbose = true
        case "--negative-first": a.negativeFirst = true
        case "--no-prior": a.noPrior = true
        case "--anchor-as": a.anchorAs = it.next() ?? ""
        case "--scored-worst": a.scoredWorst = true
        case "--prior-points": a.priorPoints = Int(it.next() ?? "")
        case "--prior-reach": a.priorReach = Double(it.next() ?? "")
        case "--engine":
            for (key, v) in settings(it.next()) {
                switch key {
                case "regions": a.engine.regions = Int(v)
                case "mclampbg": a.engine.multiClickClampBackground = Float(v)
                case "msmooth": a.engine.multiClickSmoothness = v
                case "imot": a.engine.independentMotion = Float(v)
                case "refine": a.engine.refineBoundary = v != 0
                case "rband": a.engine.refineBandFraction = Double(v)
                case "rlocal": a.engine.refineLocalColourSpacing = Int(v)
                case "long": a.engine.workingLongSide = Int(v)
                case "exkeep": a.engine.excludedShareKept = v
                case "exdepth": a.engine.rejectingDepth = Float(v)
                case "exspares": a.engine.excludeSparesIncluded = v != 0
                case "exdepthreach": a.engine.excludeDepthReach = Float(v)
                case "exclaims": a.engine.excludeClaimsInterior = Float(v)
                case "appear": a.engine.appearanceWeight = Float(v)
                case "appearclicks": a.engine.appearanceClicks = Int(v)
                case "appearreach": a.engine.appearanceReach = v > 0 ? Float(v) : nil
                case "prior": a.engine.priorWeight = Float(v)
                case "priorfade": a.engine.priorFade = Float(v)
                case "editreach": a.engine.priorEditReach = v
                default: print("unknown engine key \(key)")
                }
            }
        case "--no-prior-touch": a.priorTouch = false
        case "--no-prior-less-excluded": a.engine.priorLessExcluded = false
        case "--jobs": a.jobs = max(1, Int(it.next() ?? "") ?? 2)
        case "--truth-anchor": a.truthAnchor = true
        case "--step": a.step = max(1, Int(it.next() ?? "") ?? 1)
        case "--interpolate-odd": a.interpolateOdd = true
        case "--blend-in-place": a.blendInPlace = true
        case "--dump": a.dump = it.next()
        case "--corrections": a.corrections = max(0, Int(it.next() ?? "") ?? 16)
        case "--coverage": a.coverage = true
        case "--growth":
            let v = (it.next() ?? "").split(separator: ",").compactMap { Double($0) }
            if v.count == 2 { a.growth = (v[0], Float(v[1])) } else { print("--growth wants D,T") }
        case "--config":
            for (key, v) in settings(it.next()) {
                switch key {
                case "band": a.tracker.bandFraction = v
                case "colour": a.tracker.colourWeight = Float(v)
                case "clamp": a.tracker.colourClamp = Float(v)
                case "prior": a.tracker.priorWeight = Float(v)
                case "prioredge": a.tracker.priorEdgeScale = Float(v)
                case "smooth": a.tracker.smoothness = Float(v)
                case "anchor": a.tracker.anchorColourWeight = Float(v)
                case "flowr": a.tracker.flowRadius = Int(v)
                case "flowit": a.tracker.flowIterations = Int(v)
                case "finest": a.tracker.flowFinestLevel = Int(v)
                case "grow": a.tracker.growthPenalty = Float(v)
                case "warpsigma": a.tracker.warpCheckSigma = Float(v)
                case "claims": a.tracker.claimThreshold = Float(v)
                case "doubt": a.tracker.doubtFraction = Float(v)
                case "doubtmargin": a.tracker.doubtMargin = Float(v)
                case "motiondoubt": a.tracker.motionDoubt = Float(v)
                case "stillparts": a.tracker.stillParts = Float(v)
                case "motion": a.tracker.motionWeight = Float(v)
                case "mclamp": a.tracker.motionClamp = Float(v)
                case "mbin": a.tracker.motionBin = Float(v)
                case "msupport": a.tracker.motionSupport = Float(v)
                case "mfloor": a.tracker.motionTextureFloor = Float(v)
                case "imot": a.tracker.independentMotion = Float(v)
                case "imotnoise": a.tracker.independentMotionMaxNoise = Float(v)
                case "stillrim": a.tracker.motionSkipsStillRim = v != 0
                case "tex": a.tracker.textureWeight = Float(v)
                case "texorient": a.tracker.textureOrientation = v != 0
                case "local": a.tracker.localColourSpacing = Int(v)
                case "localk": a.tracker.localColourStrength = Float(v)
                case "localflow": a.tracker.localColourFollowsFlow = v != 0
                case "localmin": a.tracker.localColourMinimumObject = Float(v)
                default: print("unknown config key \(key)")
                }
            }
        default: print("unknown argument \(s)")
        }
    }
    return a
}

/// The `k=v,…` pairs of a `--config` or `--engine` argument (a pair that does not parse is reported and
/// skipped).
func settings(_ argument: String?) -> [(key: String, value: Double)] {
    (argument ?? "").split(separator: ",").compactMap { kv in
        let p = kv.split(separator: "=").map(String.init)
        guard p.count == 2, let v = Double(p[1]) else { print("bad setting \(kv)"); return nil }
        return (p[0], v)
    }
}

struct ClickFile: Decodable {
    struct C: Decodable { let x: Double; let y: Double }
    let clicks: [C]
}

func readFile(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { [UInt8]($0) } }
func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
func secs(_ a: UInt64, _ b: UInt64) -> Double { Double(b - a) / 1e9 }
func median(_ v: [Double]) -> Double {
    if v.isEmpty { return .nan }
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
func f3(_ v: Double) -> String { String(format: "%.3f", v) }
func f1(_ v: Double) -> String { String(format: "%.1f", v) }
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }

// MARK: - Scoring

/// 1-pixel boundary: mask pixels with a 4-neighbour outside the mask (outside the image counts as outside).
func boundary(_ m: Mask) -> [UInt8] {
    let w = m.width, h = m.height
    var b = [UInt8](repeating: 0, count: w * h)
    m.data.withUnsafeBufferPointer { d in
        b.withUnsafeMutableBufferPointer { o in
            for y in 0..<h {
                let row = y * w
                for x in 0..<w where d[row + x] != 0 {
                    let p = row + x
                    if x == 0 || x == w - 1 || y == 0 || y == h - 1 || d[p - 1] == 0 || d[p + 1] == 0 || d[p - w] == 0 || d[p + w] == 0 {
                        o[p] = 1
                    }
                }
            }
        }
    }
    return b
}

/// DAVIS F with tolerance `r` pixels: precision/recall of boundary pixels within `r` of the other boundary.
func boundaryF(_ pred: Mask, _ truth: Mask, r: Int) -> Double {
    let w = pred.width, h = pred.height
    let bp = boundary(pred), bt = boundary(truth)
    var nP = 0, nT = 0
    var x0 = w, y0 = h, x1 = -1, y1 = -1
    for y in 0..<h {
        let row = y * w
        for x in 0..<w {
            let a = bp[row + x], b = bt[row + x]
            if a | b != 0 {
                nP += Int(a); nT += Int(b)
                if x < x0 { x0 = x }; if x > x1 { x1 = x }
                if y < y0 { y0 = y }; if y > y1 { y1 = y }
            }
        }
    }
    if nP == 0 && nT == 0 { return 1 }
    if nP == 0 || nT == 0 { return 0 }
    // Crop: every boundary pixel lies inside, so the distances inside are exact.
    x0 = max(0, x0 - r); y0 = max(0, y0 - r); x1 = min(w - 1, x1 + r); y1 = min(h - 1, y1 + r)
    let cw = x1 - x0 + 1, ch = y1 - y0 + 1
    let r2 = Float(r * r)
    // Matches of `a` pixels against the distance transform of `b`.
    func matched(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var source = [Bool](repeating: false, count: cw * ch)
        for y in 0..<ch { for x in 0..<cw { source[y * cw + x] = b[(y + y0) * w + x + x0] != 0 } }
        let f = DistanceTransform.squared(width: cw, height: ch, isSource: source)
        var c = 0
        for y in 0..<ch { for x in 0..<cw where a[(y + y0) * w + x + x0] != 0 && f[y * cw + x] <= r2 { c += 1 } }
        return c
    }
    let precision = Double(matched(bp, bt)) / Double(nP)
    let recall = Double(matched(bt, bp)) / Double(nT)
    return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
}

/// Largest 4-connected region of `err` (0/1 bytes): its pixel count and the deepest pixel in it (largest
/// distance to anything outside the region, the image border counting as outside).
func deepestOfLargestRegion(_ err: [UInt8], _ w: Int, _ h: Int) -> (size: Int, x: Int, y: Int)? {
    var comp = [Int32](repeating: -1, count: w * h)
    var best = (size: 0, id: Int32(-1), x0: 0, y0: 0, x1: 0, y1: 0)
    var stack: [Int] = []
    var next: Int32 = 0
    for s in 0..<(w * h) where err[s] != 0 && comp[s] < 0 {
        var size = 0, x0 = w, y0 = h, x1 = 0, y1 = 0
        comp[s] = next
        stack.append(s)
        while let p = stack.popLast() {
            size += 1
            let x = p % w, y = p / w
            x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
            if x > 0 && err[p - 1] != 0 && comp[p - 1] < 0 { comp[p - 1] = next; stack.append(p - 1) }
            if x < w - 1 && err[p + 1] != 0 && comp[p + 1] < 0 { comp[p + 1] = next; stack.append(p + 1) }
            if y > 0 && err[p - w] != 0 && comp[p - w] < 0 { comp[p - w] = next; stack.append(p - w) }
            if y < h - 1 && err[p + w] != 0 && comp[p + w] < 0 { comp[p + w] = next; stack.append(p + w) }
        }
        if size > best.size { best = (size, next, x0, y0, x1, y1) }
        next += 1
    }
    if best.id < 0 { return nil }
    // Distance transform on the region's box padded by one pixel of outside.
    let cw = best.x1 - best.x0 + 3, ch = best.y1 - best.y0 + 3
    var outside = [Bool](repeating: false, count: cw * ch)
    for y in 0..<ch {
        for x in 0..<cw {
            let gx = x + best.x0 - 1, gy = y + best.y0 - 1
            outside[y * cw + x] = !(gx >= 0 && gx < w && gy >= 0 && gy < h && comp[gy * w + gx] == best.id)
        }
    }
    let f = DistanceTransform.squared(width: cw, height: ch, isSource: outside)
    var bd: Float = -1, bx = 0, by = 0
    for y in 0..<ch { for x in 0..<cw where f[y * cw + x] > bd { bd = f[y * cw + x]; bx = x; by = y } }
    return (best.size, bx + best.x0 - 1, by + best.y0 - 1)
}

// MARK: - Pipeline

/// Results of one tracked run, per frame at full size.
struct Scored {
    var j: [Double]
    var f: [Double]
    var full: [Mask]
    /// Mean over frames, excluding the first and the last.
    var meanJ: Double { interiorMean(j) }
    var meanF: Double { interiorMean(f) }
    func interiorMean(_ v: [Double]) -> Double {
        let s = v.count > 2 ? Array(v[1..<(v.count - 1)]) : v
        return s.isEmpty ? .nan : s.reduce(0, +) / Double(s.count)
    }
}

/// Shared output slots for the worker threads (each index written by exactly one worker).
/// One result slot per index, filled from several threads.
final class Slots<T: Sendable>: Sendable {
    private let state: Mutex<[T?]>
    init(_ n: Int) { state = Mutex([T?](repeating: nil, count: n)) }
    func set(_ i: Int, _ value: T) { state.withLock { $0[i] = value } }
    var items: [T?] { state.withLock { $0 } }
}

struct Sequence: Sendable {
    let name: String
    let working: [RGBImage]
    let prepared0: PreparedFrame
    let truth: [Mask]
    let clicks: [PointPrompt]
    let fullW: Int, fullH: Int
}

let args = parseArgs()
let engine = ClassicalSegmentationEngine(configuration: {
    var c = args.engine
    if let n = args.priorPoints { c.priorPoints = n }
    if let r = args.priorReach { c.priorReach = r }
    c.priorTouch = args.priorTouch
    return c
}())
let tracker = MaskTracker(configuration: args.tracker)
let objectID = 0

/// Track from `anchors`, upsample each frame to full size (as PreviewPipeline does), score J and F.
func trackAndScore(_ s: Sequence, anchors: [Int: SelectionLabels], keepMasks: Bool) -> (Scored, trackSeconds: Double) {
    let t0 = now()
    var trackedFrames = tracker.track(frames: s.working, anchors: anchors, objectIDs: [objectID], step: args.step)
    if args.interpolateOdd {  // the cost of blending alone: every odd frame from its tracked neighbours
        for t in stride(from: 1, to: trackedFrames.count - 1, by: 2) where anchors[t] == nil {
            trackedFrames[t] = args.blendInPlace
                ? tracker.blend(trackedFrames[t - 1], weight: 0.5, trackedFrames[t + 1])
                : tracker.interpolate(trackedFrames[t - 1], trackedFrames[t + 1], at: 0.5)
        }
    }
    let tracked = trackedFrames
    let t1 = now()
    let n = tracked.count
    let r = Int((0.008 * Double(s.fullW * s.fullW + s.fullH * s.fullH).squareRoot()).rounded(.up))
    let slots = Slots<(Double, Double, Mask?)>(n)
    let workers = args.jobs == 1 ? 2 : 1
    DispatchQueue.concurrentPerform(iterations: workers) { k in
        var i = k
        while i < n {
            let full = engine.upsample(tracked[i], to: s.fullW, s.fullH, guide: nil)
            let m = full.masks(including: [objectID])[objectID] ?? Mask(width: s.fullW, height: s.fullH)
            let t = s.truth[i]
            slots.set(i, (m.iou(t), boundaryF(m, t, r: r), keepMasks ? m : nil))
            i += workers
        }
    }
    var sc = Scored(j: [], f: [], full: [])
    let results = slots.items
    for i in 0..<n {
        let (j, f, m) = results[i]!
        sc.j.append(j); sc.f.append(f)
        if let m { sc.full.append(m) }
    }
    if args.verbose {
        print("    track \(f1(secs(t0, t1))) s, upsample+score \(f1(secs(t1, now()))) s; J by frame (every 4th): "
              + stride(from: 0, to: n, by: 4).map { String(format: "%.2f", sc.j[$0]) }.joined(separator: " "))
    }
    return (sc, secs(t0, t1))
}

/// Writes frames at 1/4, 1/2, 3/4 and the end of the clip (working size): the frame dimmed, the tracked
/// mask tinted green, the true outline red.
func dumpFrames(_ s: Sequence, _ sc: Scored, to dir: String) {
    let n = sc.full.count
    let listed = ProcessInfo.processInfo.environment["DUMP_FRAMES"]?.split(separator: ",").compactMap { Int($0) }
    for i in Set(listed ?? [n / 4, n / 2, 3 * n / 4, n - 1]).sorted() where i < n {
        writeOverlay(s, frame: i, mask: sc.full[i], clicks: [], to: "\(dir)/\(s.name)-\(i).ppm")
    }
}

/// Writes frame `i` at working size with `mask`, the truth's outline and `clicks` drawn on it.
func writeOverlay(_ s: Sequence, frame i: Int, mask: Mask, clicks: [PointPrompt], to path: String) {
    let img = s.working[i]
    let overlay = img.diagnosticOverlay(mask: mask.resizedNearest(width: img.width, height: img.height),
                                        truth: s.truth[i].resizedNearest(width: img.width, height: img.height), clicks: clicks)
    _ = FileManager.default.createFile(atPath: path, contents: Data(overlay.ppm))
}

func loadSequence(_ name: String) -> Sequence? {
    let dir = "\(args.davis)/\(name)"
    guard let cj = readFile("\(dir)/clicks.json").flatMap({ try? JSONDecoder().decode(ClickFile.self, from: Data($0)) }) else {
        print("skip \(name): no clicks.json"); return nil
    }
    let reader: FrameReader
    do { reader = try FrameReader(path: "\(dir)/video.mp4") } catch { print("skip \(name): \(error)"); return nil }
    let fw = reader.width, fh = reader.height
    let ws = engine.workingSize(width: fw, height: fh)
    var working: [RGBImage] = []
    do {
        try reader.forEachFrame(scaledTo: ws) { working.append(RGBImage(width: $0.width, height: $0.height, pixels: $0.pixels)) }
    } catch { print("skip \(name): \(error)"); return nil }
    var truth: [Mask] = []
    for i in 0..<working.count {
        guard let png = readFile("\(dir)/masks/" + String(format: "%05d.png", i)), let m = try? MaskPNG.decode(png),
              m.width == fw, m.height == fh else { break }
        truth.append(m)
    }
    if truth.count < working.count {
        print("note \(name): \(working.count) frames decoded, \(truth.count) masks; using the first \(truth.count)")
        working = Array(working.prefix(truth.count))
    }
    guard !working.isEmpty else { print("skip \(name): no frames"); return nil }
    return Sequence(name: name, working: working, prepared0: engine.prepare(frame: 0, count: working.count) { working[$0] }, truth: truth,
                    clicks: cj.clicks.map { PointPrompt(x: $0.x, y: $0.y) }, fullW: fw, fullH: fh)
}

/// The protocol's next click on `frame`, whose mask is `predicted` (full size): at the deepest point of
/// the largest missed region (an include click) or of the largest false region (an exclude click),
/// whichever is larger. A new anchor frame starts with an include click (an exclude click alone defines
/// no object and the engine returns an empty anchor) unless --negative-first. Nil: nothing is wrong.
func nextClick(_ s: Sequence, predicted: Mask, frame: Int, newFrame: Bool) -> PointPrompt? {
    let pred = predicted.data, truth = s.truth[frame].data
    let fn = zip(truth, pred).map { $0 != 0 && $1 == 0 ? UInt8(1) : 0 }
    let fp = zip(truth, pred).map { $0 == 0 && $1 != 0 ? UInt8(1) : 0 }
    let a = deepestOfLargestRegion(fn, s.fullW, s.fullH)
    let b = deepestOfLargestRegion(fp, s.fullW, s.fullH)
    let mustInclude = newFrame && !args.negativeFirst && a != nil
    let chosen: (x: Int, y: Int, positive: Bool)
    if let a, mustInclude || a.size >= (b?.size ?? 0) { chosen = (a.x, a.y, true) }
    else if let b { chosen = (b.x, b.y, false) }
    else { return nil }
    return PointPrompt(x: (Double(chosen.x) + 0.5) / Double(s.fullW), y: (Double(chosen.y) + 0.5) / Double(s.fullH),
                       positive: chosen.positive)
}

/// The mask `engine` makes on `frame` from `clicks`, starting from `prior` (the mask tracked there), at
/// full size; `appearance` is the object as seen on its nearest other marked frame (asked only when no
/// prior holds the object there, as the server does).
func anchorMask(_ s: Sequence, frame: Int, clicks: [PointPrompt], prior: Mask?,
                appearance: () -> ObjectAppearance? = { nil }) -> (SelectionLabels, Mask) {
    let prepared = frame == 0 ? s.prepared0 : engine.prepare(frame: frame, count: s.working.count) { s.working[$0] }
    let labels = engine.segment(prepared, objects: [ObjectPrompt(objectID: objectID, points: clicks, prior: prior)]) { _ in
        appearance()
    }
    let full = engine.upsample(labels, to: s.fullW, s.fullH, guide: nil)
        .masks(including: [objectID])[objectID] ?? Mask(width: s.fullW, height: s.fullH)
    return (labels, full)
}

/// The object's marked frames as the server holds them: each frame's analysed image, clicks and prior.
struct Marks {
    var prepared: [Int: PreparedFrame] = [:]
    var clicks: [Int: [PointPrompt]] = [:]
    var priors: [Int: Mask] = [:]

    func prompt(_ f: Int) -> [ObjectPrompt] { [ObjectPrompt(objectID: objectID, points: clicks[f]!, prior: priors[f])] }

    /// The object's appearance on the marked frame nearest `f` (other than it), segmented there without
    /// appearances of its own (`FrameSource.appearance(of:near:…)`).
    func appearance(near f: Int) -> ObjectAppearance? {
        guard let near = clicks.keys.filter({ $0 != f }).min(by: { (abs($0 - f), $0) < (abs($1 - f), $1) }),
              let mask = engine.segment(prepared[near]!, objects: prompt(near)).masks()[objectID] else { return nil }
        return engine.appearance(on: prepared[near]!, mask: mask, points: clicks[near]!)
    }

    /// Every marked frame's anchor, as the preview makes them.
    func anchors() -> [Int: SelectionLabels] {
        clicks.keys.reduce(into: [:]) { out, f in
            out[f] = engine.segment(prepared[f]!, objects: prompt(f)) { _ in appearance(near: f) }
        }
    }
}

struct Row {
    var name: String
    /// `--corrections`: J of the tracked mask on each sampled frame, and of the mask after one click there.
    var corrections: [(before: Double, after: Double)] = []
    /// …and of the mask after a second click there (the protocol's next: the larger error), and whether
    /// it was an exclude click.
    var secondClicks: [(before: Double, after: Double, exclude: Bool)] = []
    var perCount: [(j: Double, f: Double)] = []
    var interactive: (j: Double, f: Double)?
    var truthAnchor: (j: Double, f: Double)?
    var marked = 0
    var rounds = 0
    var negativeFirst = 0
    var trackMsPerFrame: [Double] = []
    /// `--coverage`: per hole dilation of `coverageFractions`, then for the std removal's grown hole (when
    /// the clip's frames decode), the true object's share left outside the hole made from the 5-click tracked
    /// mask, and the hole's area beyond the object (per true area).
    var coverage: [(missed: Double, extra: Double)] = []
    var wall: Double = 0
    var frames = 0
}

let seqs = args.seqs.isEmpty
    ? ((try? FileManager.default.contentsOfDirectory(atPath: args.davis)) ?? [])
        .filter { FileManager.default.fileExists(atPath: "\(args.davis)/\($0)/video.mp4") }.sorted()
    : args.seqs

/// `--coverage`: the hole dilations measured, as fractions of the frame's short side (the removal's
/// `VideoInpainter.Configuration.dilationFraction`; 0: the tracked mask as it is).
let coverageFractions: [Double] = [0, 1.0 / 90, 1.0 / 60, 1.0 / 45, 1.0 / 30]

/// What a removal of the tracked object would leave of it: per dilation of `coverageFractions`, then for
/// the region a std removal replaces (`VideoInpainter.replacedRegion`: grown over what looks like the
/// object next to the mask, then dilated), over the scored frames (first and last excluded) where the
/// object is, the mean share of the true object outside the hole, and the mean area of the hole outside
/// the object per true area.
func coverage(_ s: Sequence, _ masks: [Mask]) -> [(missed: Double, extra: Double)] {
    var frames: [RGBImage] = []
    if let reader = try? FrameReader(path: "\(args.davis)/\(s.name)/video.mp4") {
        try? reader.forEachFrame { frames.append(RGBImage(width: $0.width, height: $0.height, pixels: $0.pixels)) }
    }
    var configuration = VideoInpainter.Configuration(quality: .standard)
    if let g = args.growth {
        configuration.growthReachFraction = g.reach > 0 ? 1 / g.reach : 0
        configuration.growthThreshold = g.threshold
    }
    let removal = VideoInpainter(quality: .standard, configuration: configuration, threads: 1)
    let holes: [(Int, Mask) -> Mask] = coverageFractions.map { fraction in
        let r = Int((Double(min(s.fullW, s.fullH)) * fraction).rounded())
        return { _, mask in mask.dilated(radius: r) }
    } + (frames.count >= masks.count ? [{ i, mask in removal.replacedRegion(mask, frame: frames[i]) }] : [])
    return holes.map { hole in
        var missed: [Double] = [], extra: [Double] = []
        for i in masks.indices.dropFirst().dropLast() {
            let truth = s.truth[i], grown = hole(i, masks[i])
            let area = truth.area
            guard area > 0 else { continue }
            var outside = 0, beyond = 0
            truth.data.withUnsafeBufferPointer { t in
                grown.data.withUnsafeBufferPointer { h in
                    for p in t.indices where t[p] != h[p] {
                        if t[p] != 0 { outside += 1 } else { beyond += 1 }
                    }
                }
            }
            missed.append(Double(outside) / Double(area))
            extra.append(Double(beyond) / Double(area))
        }
        let mean = { (v: [Double]) in v.isEmpty ? Double.nan : v.reduce(0, +) / Double(v.count) }
        return (mean(missed), mean(extra))
    }
}

func runSequence(_ name: String) -> Row? {
    let ts = now()
    guard let s = loadSequence(name) else { return nil }
    var row = Row(name: name, frames: s.working.count)
    var fiveClick: Scored?
    var zeroAnchor: SelectionLabels?
    if args.truthAnchor {
        // The tracker alone: the true frame-0 mask (at working size) is the anchor.
        let t = s.truth[0].resizedNearest(width: s.working[0].width, height: s.working[0].height)
        let anchor = SelectionLabels(width: t.width, height: t.height, labels: t.data, objectIDs: [objectID])
        let (sc, tsec) = trackAndScore(s, anchors: [0: anchor], keepMasks: args.dump != nil)
        row.trackMsPerFrame.append(tsec * 1000 / Double(s.working.count))
        row.truthAnchor = (sc.meanJ, sc.meanF)
        if let dir = args.dump { dumpFrames(s, sc, to: dir) }
    }
    let counts = Set(args.clickCounts + (args.rounds > 0 || args.corrections > 0 || args.coverage ? [5] : []))
    for n in counts.sorted() {
        let pts = Array(s.clicks.prefix(n))
        let anchor = engine.segment(s.prepared0, objects: [ObjectPrompt(objectID: objectID, points: pts)])
        let (sc, tsec) = trackAndScore(s, anchors: [0: anchor],
                                       keepMasks: n == 5 && (args.rounds > 0 || args.corrections > 0 || args.coverage))
        row.trackMsPerFrame.append(tsec * 1000 / Double(s.working.count))
        if args.clickCounts.contains(n) { row.perCount.append((sc.meanJ, sc.meanF)) }
        if n == 5 { fiveClick = sc; zeroAnchor = anchor }
        if args.verbose { print("  \(name) \(n)c: J \(f3(sc.meanJ)) F \(f3(sc.meanF))  track \(f1(tsec)) s") }
    }
    if args.coverage, let tracked = fiveClick {
        row.coverage = coverage(s, tracked.full)
    }
    // Correction clicks: one click on each of `--corrections` frames spread over the clip, from the 5-click
    // run's tracked mask there (each on its own, so no result depends on an earlier one).
    if args.corrections > 0, let tracked = fiveClick {
        let inner = s.working.count - 2
        for i in 0..<min(args.corrections, max(0, inner)) {
            let f = 1 + (2 * i + 1) * inner / (2 * args.corrections)
            guard let click = nextClick(s, predicted: tracked.full[f], frame: f, newFrame: true) else { continue }
            // Marked: frame 0 (its 5 clicks) and this one.
            let look = engine.appearance(on: s.prepared0, mask: zeroAnchor!.masks()[objectID] ?? Mask(width: 1, height: 1),
                                         points: Array(s.clicks.prefix(5)))
            let (_, after) = anchorMask(s, frame: f, clicks: [click], prior: args.noPrior ? nil : tracked.full[f]) { look }
            row.corrections.append((tracked.j[f], after.iou(s.truth[f])))
            if args.verbose { print("  \(name) frame \(f): first click J \(f3(tracked.j[f])) → \(f3(after.iou(s.truth[f])))") }
            if let second = nextClick(s, predicted: after, frame: f, newFrame: false) {
                let (_, again) = anchorMask(s, frame: f, clicks: [click, second], prior: args.noPrior ? nil : tracked.full[f]) { look }
                row.secondClicks.append((after.iou(s.truth[f]), again.iou(s.truth[f]), !second.positive))
                if args.verbose {
                    print("  \(name) frame \(f): \(second.positive ? "include" : "exclude") second click J \(f3(after.iou(s.truth[f]))) → \(f3(again.iou(s.truth[f])))")
                }
                if let dir = args.dump {
                    writeOverlay(s, frame: f, mask: again, clicks: [click, second], to: "\(dir)/\(name)-correction\(f)-second.ppm")
                }
            }
            if let dir = args.dump {
                writeOverlay(s, frame: f, mask: tracked.full[f], clicks: [click], to: "\(dir)/\(name)-correction\(f)-tracked.ppm")
                writeOverlay(s, frame: f, mask: after, clicks: [click], to: "\(dir)/\(name)-correction\(f)-after.ppm")
            }
        }
    }
    // Interactive protocol: 5 clicks on frame 0, then per round one click on the worst frame.
    if args.rounds > 0, var current = fiveClick {
        var marks = Marks(prepared: [0: s.prepared0], clicks: [0: Array(s.clicks.prefix(5))])
        var replaced: [Int: SelectionLabels] = [:]  // --anchor-as: the anchors it gave
        for round in 0..<args.rounds {
            // Worst frame (already marked frames may be picked again; at most 10 marked frames).
            var worst = -1
            for i in 0..<current.j.count {
                if marks.clicks[i] == nil && marks.clicks.count >= 10 { continue }
                if args.scoredWorst && (i == 0 || i == current.j.count - 1) { continue }
                if worst < 0 || current.j[i] < current.j[worst] { worst = i }
            }
            guard worst >= 0, current.j[worst] < 1 else { break }
            guard let click = nextClick(s, predicted: current.full[worst], frame: worst,
                                        newFrame: marks.clicks[worst] == nil) else { break }
            let positive = click.positive
            if marks.clicks[worst] == nil && !positive { row.negativeFirst += 1 }
            // A new anchor frame starts from the mask tracked there (what the person saw in the preview).
            if marks.clicks[worst] == nil && !args.noPrior { marks.priors[worst] = current.full[worst] }
            if marks.prepared[worst] == nil {
                marks.prepared[worst] = engine.prepare(frame: worst, count: s.working.count) { s.working[$0] }
            }
            marks.clicks[worst, default: []].append(click)
            // Every anchor as the preview makes it (a new mark may change another frame's appearance).
            var anchors = marks.anchors()
            var labels = anchors[worst]!
            var anchorFull = engine.upsample(labels, to: s.fullW, s.fullH, guide: nil)
                .masks(including: [objectID])[objectID] ?? Mask(width: s.fullW, height: s.fullH)
            if args.anchorAs == "tracked" || args.anchorAs == "truth" {
                anchorFull = args.anchorAs == "truth" ? s.truth[worst] : current.full[worst]
                let t = anchorFull.resizedNearest(width: s.working[0].width, height: s.working[0].height)
                labels = SelectionLabels(width: t.width, height: t.height, labels: t.data, objectIDs: [objectID])
            }
            if !args.anchorAs.isEmpty { replaced[worst] = labels }
            anchors.merge(replaced) { $1 }
            let (sc, tsec) = trackAndScore(s, anchors: anchors, keepMasks: round + 1 < args.rounds)
            row.trackMsPerFrame.append(tsec * 1000 / Double(s.working.count))
            row.rounds = round + 1
            if args.verbose || args.dump != nil {
                if let dir = args.dump {
                    writeOverlay(s, frame: worst, mask: anchorFull, clicks: marks.clicks[worst]!,
                                 to: "\(dir)/\(name)-round\(round + 1)-anchor\(worst).ppm")
                    writeOverlay(s, frame: worst, mask: current.full[worst], clicks: marks.clicks[worst]!,
                                 to: "\(dir)/\(name)-round\(round + 1)-tracked\(worst).ppm")
                }
                guard args.verbose else { current = sc; continue }
                print("  \(name) round \(round + 1): frame \(worst) J \(f3(current.j[worst])) \(positive ? "+" : "-")click "
                      + "(anchor J \(f3(anchorFull.iou(s.truth[worst])))) → J \(f3(sc.meanJ)) F \(f3(sc.meanF))")
            }
            current = sc
        }
        row.interactive = (current.meanJ, current.meanF)
        row.marked = marks.clicks.count
    }
    row.wall = secs(ts, now())
    print("done \(name): \(row.frames) frames, \(f1(row.wall)) s")
    return row
}

/// The next sequence to run and the rows done, shared by the worker threads.
final class Queue: Sendable {
    private let state: Mutex<(next: Int, rows: [Row?])>
    init(_ n: Int) { state = Mutex((next: 0, rows: [Row?](repeating: nil, count: n))) }
    func take() -> Int { state.withLock { $0.next += 1; return $0.next - 1 } }
    func put(_ i: Int, _ r: Row?) { state.withLock { $0.rows[i] = r } }
    var rows: [Row?] { state.withLock { $0.rows } }
}

let start = now()
let queue = Queue(seqs.count)
DispatchQueue.concurrentPerform(iterations: min(args.jobs, max(1, seqs.count))) { _ in
    while true {
        let i = queue.take()
        if i >= seqs.count { break }
        queue.put(i, runSequence(seqs[i]))
    }
}
let rows = queue.rows.compactMap { $0 }



// MARK: - Report

print("")
print("Tracking quality, DAVIS 2016 dev (\(rows.count) sequences), engine → tracker → upsample(guide: nil) to 1280×720,")
print("as PreviewPipeline. J, F (r = ceil(0.008·diagonal)), J&F; per sequence mean over frames excluding first and last.")
var header = pad("sequence", 16)
if args.truthAnchor { header += "| " + pad("true mask J F J&F", 20) }
for n in args.clickCounts { header += "| " + pad("\(n)c  J     F     J&F", 20) }
if args.rounds > 0 { header += "| " + pad("interactive J F J&F", 20) + " marks" }
header += " | track ms/f | wall s"
print(header)
var sums = [Double](repeating: 0, count: 2 * args.clickCounts.count + 2)
var truthSums = (j: 0.0, f: 0.0)
for r in rows {
    var line = pad(r.name, 16)
    if let t = r.truthAnchor {
        line += "| " + pad("\(f3(t.j)) \(f3(t.f)) \(f3((t.j + t.f) / 2))", 20)
        truthSums.j += t.j; truthSums.f += t.f
    }
    for (i, p) in r.perCount.enumerated() {
        line += "| " + pad("\(f3(p.j)) \(f3(p.f)) \(f3((p.j + p.f) / 2))", 20)
        sums[2 * i] += p.j; sums[2 * i + 1] += p.f
    }
    if let it = r.interactive {
        line += "| " + pad("\(f3(it.j)) \(f3(it.f)) \(f3((it.j + it.f) / 2))", 20) + lpad("\(r.marked)", 6)
        sums[sums.count - 2] += it.j; sums[sums.count - 1] += it.f
    }
    line += " | " + lpad(f1(median(r.trackMsPerFrame)), 10) + " | " + lpad(f1(r.wall), 6)
    print(line)
}
if !rows.isEmpty {
    let k = Double(rows.count)
    var line = pad("MEAN", 16)
    if args.truthAnchor {
        let j = truthSums.j / k, f = truthSums.f / k
        line += "| " + pad("\(f3(j)) \(f3(f)) \(f3((j + f) / 2))", 20)
    }
    for i in 0..<args.clickCounts.count {
        let j = sums[2 * i] / k, f = sums[2 * i + 1] / k
        line += "| " + pad("\(f3(j)) \(f3(f)) \(f3((j + f) / 2))", 20)
    }
    if args.rounds > 0 {
        let j = sums[sums.count - 2] / k, f = sums[sums.count - 1] / k
        line += "| " + pad("\(f3(j)) \(f3(f)) \(f3((j + f) / 2))", 20) + lpad(f1(Double(rows.map(\.marked).reduce(0, +)) / k), 6)
    }
    let allTrack = rows.flatMap(\.trackMsPerFrame)
    line += " | " + lpad(f1(median(allTrack)), 10) + " | " + lpad(f1(rows.map(\.wall).reduce(0, +) / k), 6)
    print(line)
}
if args.rounds > 0 {
    let neg = rows.map(\.negativeFirst).reduce(0, +)
    print("interactive: 5 clicks on frame 0, then up to \(args.rounds) rounds (one click at the deepest point of the largest")
    print("missed region of the worst-J frame, that frame becomes an anchor; ≤ 10 marked frames). marks = marked frames;")
    print(args.negativeFirst ? "\(neg) new anchor(s) started with an exclude click (" + (engine.configuration.priorLessExcluded
            ? "the mask tracked there less what it points at)." : "an empty anchor: --no-prior-less-excluded).")
      : "a new anchor frame's first click is an include click (largest missed region); later ones follow the largest error.")
}
if args.corrections > 0 {
    /// One line of the correction table: mean J before and after, clicks that made the mask worse, the
    /// mean change.
    func correctionLine(_ name: String, _ c: [(before: Double, after: Double)]) -> String {
        let n = Double(c.count)
        let before = c.map(\.before).reduce(0, +) / n, after = c.map(\.after).reduce(0, +) / n
        return pad(name, 16) + "| " + pad(f3(before), 10) + "| " + pad(f3(after), 16) + "| "
            + pad("\(c.filter { $0.after < $0.before }.count)/\(c.count)", 6) + "| " + f3(after - before)
    }
    print("")
    print("Correction clicks: the interactive protocol's first click on a new frame (" + (args.negativeFirst
        ? "--negative-first: at the deepest point of the larger error" : "an include click at the deepest point of the largest missed region")
        + "), on \(args.corrections) frames")
    print("spread over each clip, each from the 5-click run's tracked mask there (" + (args.noPrior
        ? "--no-prior: the click alone)." : "as add-selection after a preview: the mask is the prior)."))
    print(pad("sequence", 16) + "| tracked J | after the click | worse | mean change")
    for r in rows where !r.corrections.isEmpty { print(correctionLine(r.name, r.corrections)) }
    let all = rows.flatMap(\.corrections)
    if !all.isEmpty {
        let changes = all.map { $0.after - $0.before }.sorted()
        print(correctionLine("MEAN", all) + " (median \(f3(changes[changes.count / 2])), worst \(f3(changes[0])))")
    }
    // The second click on each of those frames, split by kind.
    let second = rows.flatMap(\.secondClicks)
    print("Second clicks there (the protocol's next: at the deepest point of the larger error), from the mask after the first:")
    for exclude in [false, true] {
        let c = second.filter { $0.exclude == exclude }.map { ($0.before, $0.after) }
        guard !c.isEmpty else { continue }
        let changes = c.map { $0.1 - $0.0 }.sorted()
        print(correctionLine(exclude ? "exclude clicks" : "include clicks", c)
              + " (\(changes.filter { $0 < -0.1 }.count) lose more than 0.1, worst \(f3(changes[0])))")
    }
}
if args.coverage {
    print("")
    print("Removal coverage (--coverage): the 5-click tracked masks at full size, each grown by a disc of the given")
    print("fraction of the short side (a removal task's hole: 1/90), against the true masks over the scored frames.")
    print("Cells: the true object's share left outside the hole (what a removal leaves of it) | the hole's area")
    print("beyond the object, per true area (background the removal must fill besides the object). Last column: what a")
    print("std removal replaces (the mask grown over what looks like the object next to it, then dilated by 1/90).")
    let labels = coverageFractions.map { $0 == 0 ? "mask" : "1/\(Int((1 / $0).rounded()))" } + ["std removal"]
    print(pad("sequence", 16) + labels.map { "| " + pad($0, 14) }.joined())
    func line(_ name: String, _ c: [(missed: Double, extra: Double)]) -> String {
        pad(name, 16) + c.map { "| " + pad(f3($0.missed) + " " + f3($0.extra), 14) }.joined()
    }
    let covered = rows.filter { !$0.coverage.isEmpty }
    for r in covered { print(line(r.name, r.coverage)) }
    if !covered.isEmpty {
        let k = Double(covered.count), columns = covered.map(\.coverage.count).min() ?? 0
        print(line("MEAN", (0..<columns).map { i in
            (covered.map { $0.coverage[i].missed }.reduce(0, +) / k, covered.map { $0.coverage[i].extra }.reduce(0, +) / k)
        }))
    }
}
print("track ms/f: median over tracker calls of (track wall / frames), \(args.jobs) sequence(s) at once, at working size \(engine.workingSize(width: 1280, height: 720)).")
print("wall s: per sequence (decode + all runs + scoring; MEAN row = mean); whole benchmark \(f1(secs(start, now()))) s")
