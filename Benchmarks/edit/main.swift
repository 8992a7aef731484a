// Removal-quality benchmark (issue 5): a davis2016-dev clip is the clean background; a textured synthetic
// object moving across it is composited in; the object is selected with clicks on frame 0, tracked through
// the clip as preview-selection does (engine → MaskTracker → upsample), and removed with VideoInpainter at
// the size an edit task uses. Scores PSNR and SSIM inside the object's true footprint against the clean
// frames, and whole-frame PSNR; also with the true masks as holes (what tracking errors cost); and the
// hole's PSNR split between the clip's background and its own moving subject (which the object hides);
// and how much the hole changes from frame to frame against the clean frames (flicker).
//
// usage: edit-bench [--davis DIR] [--seqs a,b] [--quality std|pro|both] [--clicks N]
//                   [--completion adaptive|diffusion|homography|hybrid] [--flow LONG-SIDE]
//                   [--dilation D]  (the hole dilated by 1/D of the short side; default 90)
//                   [--growth D,T] (the hole's growth over what looks like the object: reach 1/D, 0 = off;
//                                  threshold T; default the engine's)
//                   [--erode E]    (the holes shrunk by E px before they are given: an object's rim missed)
//                   [--dump DIR]   (writes the middle frame before, after and clean as PPM)
//                   [--no-align]   (no direct re-alignment of the propagated sources)
//                   [--nearest-source]  (each hole pixel from the temporally nearer of its two sources,
//                                  not the two blended by temporal distance)
//                   [--motion-from-clean]  (a diagnostic: the motion measured on the clean frames, holes
//                                  included: what a perfect flow completion would give)
//                   [--no-exemplar]  (never-seen pixels filled smoothly only, as before stop 57)
//                   [--still]      (instead: what no frame shows, filled with and without the exemplar
//                                  fill; see Still.swift)
//                   [--cutout]     (instead: the subject of a reference photo for swap and addition; see
//                                  Cutout.swift)

import Foundation
import Synchronization
import RotoMedia
import RotoVision

struct Args {
    var davis = "/work/shared/bench/davis2016-dev"
    var seqs: [String] = []
    var qualities: [EditQuality] = [.standard, .pro]
    var clicks = 3
    var completion: FlowCompletion?
    var flowLongSide: Int?
    /// `--dilation D`: the hole dilated by 1/D of the short side (default: the engine's, 1/90).
    var dilation: Double?
    /// `--erode E`: the holes given to the inpainter shrunk by E pixels first (a mask that misses the
    /// object's rim, as a tracked mask of a real object often does: what is left of it, and its ghosts).
    var erode = 0
    /// `--growth D,T`: the hole's growth over what looks like the object, reach 1/D of the short side (0:
    /// off), threshold T (default: the engine's).
    var growth: (reach: Double, threshold: Float)?
    var dump: String?
    var align = true
    var motionFromClean = false
    var blendDirections = true
    var still = false
    var cutout = false
    var exemplar = true
}

func parseArgs() -> Args {
    var a = Args()
    var it = CommandLine.arguments.dropFirst().makeIterator()
    while let s = it.next() {
        switch s {
        case "--davis": a.davis = it.next() ?? a.davis
        case "--seqs": a.seqs = (it.next() ?? "").split(separator: ",").map(String.init)
        case "--quality":
            switch it.next() ?? "" {
            case "std": a.qualities = [.standard]
            case "pro": a.qualities = [.pro]
            default: a.qualities = [.standard, .pro]
            }
        case "--completion": a.completion = FlowCompletion(rawValue: it.next() ?? "")
        case "--dump": a.dump = it.next()
        case "--no-align": a.align = false
        case "--motion-from-clean": a.motionFromClean = true
        case "--nearest-source": a.blendDirections = false
        case "--still": a.still = true
        case "--cutout": a.cutout = true
        case "--no-exemplar": a.exemplar = false
        case "--flow": a.flowLongSide = Int(it.next() ?? "")
        case "--dilation": a.dilation = Double(it.next() ?? "")
        case "--erode": a.erode = max(0, Int(it.next() ?? "") ?? 0)
        case "--growth":
            let v = (it.next() ?? "").split(separator: ",").compactMap { Double($0) }
            if v.count == 2 { a.growth = (v[0], Float(v[1])) } else { print("--growth wants D,T") }
        case "--clicks": a.clicks = min(5, max(1, Int(it.next() ?? "") ?? 3))
        default: print("unknown argument \(s)")
        }
    }
    return a
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
func secs(_ a: UInt64, _ b: UInt64) -> Double { Double(b - a) / 1e9 }
func f1(_ v: Double) -> String { String(format: "%.1f", v) }
func f2(_ v: Double) -> String { String(format: "%.2f", v) }
func f3(_ v: Double) -> String { String(format: "%.3f", v) }
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }

// MARK: - The synthetic object

/// An ellipse with a striped, two-colour texture that crosses the frame from left to right on a gentle
/// arc, growing slightly; `t` in 0…1 over the clip.
struct Blob {
    let width: Int, height: Int
    func geometry(_ t: Double) -> (cx: Double, cy: Double, rx: Double, ry: Double) {
        let w = Double(width), h = Double(height)
        let r = 0.12 * h * (1 + 0.25 * t)
        return (w * (0.22 + 0.56 * t), h * (0.55 - 0.12 * sin(Double.pi * t)), r * 1.3, r)
    }
    /// Composites the object into `image` in place; returns its mask.
    func draw(_ t: Double, into image: inout RGBImage) -> Mask {
        let (cx, cy, rx, ry) = geometry(t)
        var m = [UInt8](repeating: 0, count: width * height)
        image.pixels.withUnsafeMutableBufferPointer { p in
            for y in max(0, Int(cy - ry))..<min(height, Int(cy + ry) + 2) {
                for x in max(0, Int(cx - rx))..<min(width, Int(cx + rx) + 2) {
                    let dx = (Double(x) - cx) / rx, dy = (Double(y) - cy) / ry
                    guard dx * dx + dy * dy <= 1 else { continue }
                    let i = y * width + x
                    m[i] = 1
                    let stripe = Int((Double(x) - cx + 4 * Double(y)) / 9).isMultiple(of: 2)
                    let shade = 0.75 + 0.25 * (1 - dx * dx - dy * dy)
                    let c: (Double, Double, Double) = stripe ? (235, 60, 40) : (250, 210, 30)
                    p[3 * i] = UInt8(c.0 * shade); p[3 * i + 1] = UInt8(c.1 * shade); p[3 * i + 2] = UInt8(c.2 * shade)
                }
            }
        }
        return Mask(width: width, height: height, data: m)
    }
    /// Click `k` (0-based): the centre, then points half-way to the rim.
    func click(_ k: Int) -> PointPrompt {
        let (cx, cy, rx, ry) = geometry(0)
        let offsets: [(Double, Double)] = [(0, 0), (-0.5, 0), (0.5, 0), (0, -0.5), (0, 0.5)]
        let o = offsets[k % offsets.count]
        return PointPrompt(x: (cx + o.0 * rx) / Double(width), y: (cy + o.1 * ry) / Double(height))
    }
}

// MARK: - Scores

/// PSNR (dB) over the pixels where `region` is set, all three channels.
func psnr(_ a: RGBImage, _ b: RGBImage, region: Mask?) -> Double {
    var se = 0.0, n = 0
    for p in 0..<(a.width * a.height) where region == nil || region!.data[p] != 0 {
        for c in 0..<3 {
            let d = Double(a.pixels[3 * p + c]) - Double(b.pixels[3 * p + c])
            se += d * d
        }
        n += 3
    }
    guard n > 0 else { return .nan }
    let mse = se / Double(n)
    return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
}

/// Mean SSIM of the luma over 7×7 windows centred on the pixels where `region` is set.
func ssim(_ a: RGBImage, _ b: RGBImage, region: Mask) -> Double {
    let w = a.width, h = a.height
    func luma(_ img: RGBImage) -> [Double] {
        (0..<(w * h)).map { (p: Int) -> Double in
            let r = Double(img.pixels[3 * p]), g = Double(img.pixels[3 * p + 1]), b = Double(img.pixels[3 * p + 2])
            return 0.299 * r + 0.587 * g + 0.114 * b
        }
    }
    let la = luma(a), lb = luma(b)
    let c1: Double = 6.5025, c2: Double = 58.5225 // (0.01·255)², (0.03·255)²
    var total = 0.0, n = 0
    for y in 3..<(h - 3) {
        for x in 3..<(w - 3) where region.data[y * w + x] != 0 {
            var sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
            for v in (y - 3)...(y + 3) {
                for u in (x - 3)...(x + 3) {
                    let pa = la[v * w + u], pb = lb[v * w + u]
                    sa += pa; sb += pb; saa += pa * pa; sbb += pb * pb; sab += pa * pb
                }
            }
            let k = 49.0
            let ma = sa / k, mb = sb / k
            let va = saa / k - ma * ma, vb = sbb / k - mb * mb, cov = sab / k - ma * mb
            total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
            n += 1
        }
    }
    return n > 0 ? total / Double(n) : .nan
}

/// PSNR inside the hole split by what the clean frames show there: the clip's own background and the
/// clip's moving subject (its DAVIS mask); the share of the hole over the subject. Pooled over frames.
func splitPSNR(_ result: [RGBImage], clean: [RGBImage], truth: [Mask], subject: [Mask]) -> (bg: Double, obj: Double, share: Double) {
    var se = [0.0, 0.0], count = [0, 0]
    for i in 0..<result.count where i < subject.count {
        for p in 0..<(truth[i].width * truth[i].height) where truth[i].data[p] != 0 {
            let k = subject[i].data[p] != 0 ? 1 : 0
            for c in 0..<3 {
                let d = Double(result[i].pixels[3 * p + c]) - Double(clean[i].pixels[3 * p + c])
                se[k] += d * d
            }
            count[k] += 3
        }
    }
    func db(_ k: Int) -> Double { count[k] == 0 ? .nan : 10 * log10(255 * 255 / max(se[k] / Double(count[k]), 1e-9)) }
    return (db(0), db(1), Double(count[1]) / Double(max(1, count[0] + count[1])))
}

/// How much the hole changes from frame to frame: the mean absolute difference (grey levels, over the three
/// channels) between consecutive frames at the pixels inside the hole on both. Scored for the result and
/// for the clean frames at the same pixels, the clip's own change there (its motion and light): a fill
/// that flickers, or whose sources jump from frame to frame, changes more than the clean frames do.
func temporalChange(_ frames: [RGBImage], holes: [Mask]) -> Double {
    var total = 0.0, count = 0
    for i in 1..<frames.count {
        let a = frames[i - 1].pixels, b = frames[i].pixels, h0 = holes[i - 1].data, h1 = holes[i].data
        for p in 0..<h1.count where h0[p] != 0 && h1[p] != 0 {
            for c in 0..<3 { total += abs(Double(a[3 * p + c]) - Double(b[3 * p + c])) }
            count += 3
        }
    }
    return count > 0 ? total / Double(count) : .nan
}

struct Scores { var hole: Double, ssim: Double, whole: Double, smallHole: Double, smallWhole: Double }

/// The size the learned video inpainters are scored at on DAVIS (E2FGVI, ProPainter: whole-frame PSNR of
/// the completed frames at 432×240).
let literatureSize = (width: 432, height: 240)

/// Means over frames of PSNR in the hole, SSIM in the hole (every 5th frame) and whole-frame PSNR; and
/// both PSNRs again with result and clean frames area-downscaled to `literatureSize`.
func score(_ result: [RGBImage], clean: [RGBImage], truth: [Mask]) -> Scores {
    let slots = Mutex<[(Double, Double?, Double, Double, Double)?]>(Array(repeating: nil, count: result.count))
    DispatchQueue.concurrentPerform(iterations: result.count) { i in
        guard !truth[i].isEmpty else { return }
        let a = psnr(result[i], clean[i], region: truth[i])
        let b = i % 5 == 0 ? ssim(result[i], clean[i], region: truth[i]) : nil
        let c = psnr(result[i], clean[i], region: nil)
        let (sw, sh) = literatureSize
        let r = result[i].downscaled(width: sw, height: sh), k = clean[i].downscaled(width: sw, height: sh)
        let d = psnr(r, k, region: truth[i].resizedNearest(width: sw, height: sh))
        let e = psnr(r, k, region: nil)
        slots.withLock { $0[i] = (a, b, c, d, e) }
    }
    let s = slots.withLock { $0 }.compactMap { $0 }
    return Scores(hole: mean(s.map(\.0)), ssim: mean(s.compactMap(\.1)), whole: mean(s.map(\.2)),
                  smallHole: mean(s.map(\.3)), smallWhole: mean(s.map(\.4)))
}

/// The sequences asked for, else every davis2016-dev folder with a video, sorted.
func sequences(_ args: Args) -> [String] {
    args.seqs.isEmpty
        ? ((try? FileManager.default.contentsOfDirectory(atPath: args.davis)) ?? [])
            .filter { FileManager.default.fileExists(atPath: "\(args.davis)/\($0)/video.mp4") }.sorted()
        : args.seqs
}

/// The mask shrunk by `args.erode` pixels (a Euclidean disc): the complement dilated.
func eroded(_ m: Mask) -> Mask {
    let grown = Mask(width: m.width, height: m.height, data: m.data.map { 1 - $0 }).dilated(radius: args.erode)
    return Mask(width: m.width, height: m.height, data: grown.data.map { 1 - $0 })
}

// MARK: - Run

let args = parseArgs()
if args.still {
    runStill(args)
    exit(0)
}
if args.cutout {
    runCutout(args)
    exit(0)
}
let engine = ClassicalSegmentationEngine()
let tracker = MaskTracker()
let seqs = sequences(args)

struct Row {
    var name: String; var frames: Int; var size: String; var iou: Double; var cells: [String]
    var split: [String] = []; var small: [String] = []; var change: [String] = []
}
var rows: [Row] = []
var sums: [String: [Double]] = [:]

for name in seqs {
    let path = "\(args.davis)/\(name)/video.mp4"
    guard let reader = try? FrameReader(path: path) else { print("skip \(name): cannot open"); continue }
    let fw = reader.width, fh = reader.height
    var full: [RGBImage] = []
    do { try reader.forEachFrame { full.append(RGBImage(width: $0.width, height: $0.height, pixels: $0.pixels)) } }
    catch { print("skip \(name): \(error)"); continue }
    let n = full.count
    guard n > 1 else { continue }
    let blob = Blob(width: fw, height: fh)
    var composited = full
    var truth: [Mask] = []
    for i in 0..<n { truth.append(blob.draw(Double(i) / Double(n - 1), into: &composited[i])) }
    sums["hole share", default: []].append(mean(truth.map { Double($0.area) / Double(fw * fh) }))

    // Select and track as the server does (working size), then upsample each frame's hole.
    let ws = engine.workingSize(width: fw, height: fh)
    let working = composited.map { $0.downscaled(width: ws.width, height: ws.height) }
    let clicks = (0..<args.clicks).map(blob.click)
    let anchor = engine.segment(engine.prepare(frame: 0, count: working.count) { working[$0] }, objects: [ObjectPrompt(objectID: 0, points: clicks)])
    let tracked = tracker.track(frames: working, anchors: [0: anchor], objectIDs: [0])

    var cells: [String] = []
    var split: [String] = []
    var small: [String] = []
    var change: [String] = []
    var size = ""
    // The clip's own moving subject (DAVIS masks), to split the hole's PSNR by what it hides.
    let subjectFull: [Mask] = (0..<n).compactMap { i in
        FileManager.default.contents(atPath: "\(args.davis)/\(name)/masks/" + String(format: "%05d.png", i))
            .flatMap { try? MaskPNG.decode([UInt8]($0)) }
    }
    var iou: [Double] = []
    for quality in args.qualities {
        let es = VideoInpainter.workingSize(width: fw, height: fh, frameCount: n, quality: quality)
        size = "\(es.width)x\(es.height)"
        let clean = es.width == fw ? full : full.map { $0.downscaled(width: es.width, height: es.height) }
        let input = es.width == fw ? composited : composited.map { $0.downscaled(width: es.width, height: es.height) }
        let trueHoles = truth.map { $0.width == es.width ? $0 : $0.resizedNearest(width: es.width, height: es.height) }
        let trackedHoles = tracked.map { labels in
            let up = engine.upsample(labels, to: es.width, es.height, guide: nil)
            return Mask(width: es.width, height: es.height, data: up.labels)
        }
        iou = zip(trackedHoles, trueHoles).map { $0.iou($1) }
        var configuration = VideoInpainter.Configuration(quality: quality)
        if let c = args.completion { configuration.completion = c }
        if let f = args.flowLongSide { configuration.flowLongSide = f }
        if let d = args.dilation, d > 0 { configuration.dilationFraction = 1 / d }
        if let g = args.growth {
            configuration.growthReachFraction = g.reach > 0 ? 1 / g.reach : 0
            configuration.growthThreshold = g.threshold
        }
        configuration.alignSources = args.align
        configuration.blendDirections = args.blendDirections
        configuration.exemplarFill = args.exemplar
        let inpainter = VideoInpainter(quality: quality, configuration: configuration, threads: 2)
        for (variant, given) in [("tracked", trackedHoles), ("true", trueHoles)] {
            let holes = args.erode > 0 ? given.map(eroded) : given
            var frames = input
            let t0 = now()
            _ = inpainter.remove(frames: &frames, holes: holes, motionFrames: args.motionFromClean ? clean : nil)
            let t = secs(t0, now())
            let sc = score(frames, clean: clean, truth: trueHoles)
            let subject = subjectFull.map { $0.width == es.width ? $0 : $0.resizedNearest(width: es.width, height: es.height) }
            let parts = splitPSNR(frames, clean: clean, truth: trueHoles, subject: subject)
            let changed = (result: temporalChange(frames, holes: trueHoles), clean: temporalChange(clean, holes: trueHoles))
            if let dir = args.dump {
                let m = n / 2
                for (tag, img) in [("input", input[m]), ("result", frames[m]), ("clean", clean[m])] {
                    let file = "\(dir)/\(name)-\(quality.rawValue)-\(variant)-\(tag).ppm"
                    _ = FileManager.default.createFile(atPath: file, contents: Data(img.ppm))
                }
            }
            let key = "\(quality.rawValue) \(variant)"
            sums[key + " psnr", default: []].append(sc.hole)
            sums[key + " ssim", default: []].append(sc.ssim)
            sums[key + " whole", default: []].append(sc.whole)
            sums[key + " ms/frame", default: []].append(t * 1000 / Double(n))
            sums[key + " bg", default: []].append(parts.bg)
            if parts.share > 0 { sums[key + " obj", default: []].append(parts.obj) }
            sums[key + " share", default: []].append(parts.share)
            sums[key + " small hole", default: []].append(sc.smallHole)
            sums[key + " small whole", default: []].append(sc.smallWhole)
            sums[key + " change", default: []].append(changed.result)
            sums[key + " clean change", default: []].append(changed.clean)
            small.append("\(f1(sc.smallHole)) \(f1(sc.smallWhole))")
            change.append("\(f1(changed.result)) \(f1(changed.clean))")
            split.append("\(f1(parts.bg)) \(parts.share > 0 ? f1(parts.obj) : "-") \(String(format: "%3.0f%%", 100 * parts.share))")
            cells.append("\(f1(sc.hole)) \(f3(sc.ssim)) \(f1(sc.whole)) \(String(format: "%4.0f", t * 1000 / Double(n)))")
        }
    }
    let row = Row(name: name, frames: n, size: size, iou: mean(iou), cells: cells, split: split, small: small, change: change)
    sums["iou", default: []].append(row.iou)
    // Progress on stderr (stdout is block-buffered when piped).
    FileHandle.standardError.write(Data("done \(name): \(n) frames at \(size), hole IoU \(f3(row.iou))\n".utf8))
    rows.append(row)
}

print("")
print("Removal quality on davis2016-dev with a synthetic moving object (\(args.clicks) click(s) on frame 0),")
print("inside the object's true footprint against the clean frames. Cells: PSNR dB, SSIM, whole-frame PSNR dB, ms/frame.")
let headers = args.qualities.flatMap { ["\($0.rawValue) tracked", "\($0.rawValue) true"] }
print(pad("sequence", 16) + pad("frames", 7) + pad("size", 10) + pad("hole IoU", 9) + headers.map { pad($0, 26) }.joined())
for r in rows {
    print(pad(r.name, 16) + pad("\(r.frames)", 7) + pad(r.size, 10) + pad(f3(r.iou), 9) + r.cells.map { pad($0, 26) }.joined())
}
/// One cell per quality and variant (the columns), from the means of the figures under "QUALITY VARIANT …".
@MainActor func columnMeans(_ cell: (_ mean: (String) -> Double) -> String) -> [String] {
    args.qualities.flatMap { q in
        ["tracked", "true"].map { v in cell { mean(sums["\(q.rawValue) \(v) \($0)"] ?? []) } }
    }
}
let meanCells = columnMeans { m in
    "\(f1(m("psnr"))) \(f3(m("ssim"))) \(f1(m("whole"))) \(String(format: "%4.0f", m("ms/frame")))"
}
print(pad("mean", 16) + pad("", 7) + pad("", 10) + pad(f3(mean(sums["iou"] ?? [])), 9) + meanCells.map { pad($0, 26) }.joined())

print("")
print("The hole's PSNR split by what the clean frames show there: the clip's background | the clip's own moving")
print("subject (DAVIS mask; it moves and deforms behind the synthetic object) | the subject's share of the hole.")
print(pad("sequence", 16) + headers.map { pad($0, 26) }.joined())
for r in rows { print(pad(r.name, 16) + r.split.map { pad($0, 26) }.joined()) }
let meanSplit = columnMeans { m in "\(f1(m("bg"))) \(f1(m("obj"))) " + String(format: "%3.0f%%", 100 * m("share")) }
print(pad("mean", 16) + meanSplit.map { pad($0, 26) }.joined())

print("")
print("The same results scored the way the learned inpainters are on DAVIS: result and clean frames area-downscaled")
print("to \(literatureSize.width)x\(literatureSize.height). Cells: PSNR dB inside the hole, whole-frame PSNR dB (the figure those papers")
print("report; it depends on the hole's share of the frame, here \(String(format: "%.1f", 100 * mean(sums["hole share"] ?? [])))% on average).")
print(pad("sequence", 16) + headers.map { pad($0, 26) }.joined())
for r in rows { print(pad(r.name, 16) + r.small.map { pad($0, 26) }.joined()) }
let meanSmall = columnMeans { m in "\(f1(m("small hole"))) \(f1(m("small whole")))" }
print(pad("mean", 16) + meanSmall.map { pad($0, 26) }.joined())

print("")
print("How much the hole changes from one frame to the next (mean absolute difference, grey levels, at the pixels")
print("inside the hole on both frames): the result | the clean frames there (the clip's own motion and light).")
print("A fill that flickers or jumps between sources changes more than the clean frames.")
print(pad("sequence", 16) + headers.map { pad($0, 26) }.joined())
for r in rows { print(pad(r.name, 16) + r.change.map { pad($0, 26) }.joined()) }
let meanChange = columnMeans { m in "\(f1(m("change"))) \(f1(m("clean change")))" }
print(pad("mean", 16) + meanChange.map { pad($0, 26) }.joined())
