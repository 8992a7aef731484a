// Click → mask benchmark on DAVIS 2016 frames. Driven by run.sh, which extracts the frames with ffmpeg.
//
// usage: select-bench --frames DIR --davis DIR [--step 20] [--seqs a,b] [--frame0-only] [--no-timing]
//                     [--no-guide] [--config key=value,...]
// --no-guide: upsample the quality masks without the full-size frame as a guide, as the server does
// (it reads clicked frames from the working-size proxy).
// --second-frame: the later frames are clicked as the object's second marked frame (frame 0 marked with
// its 5 clicks, no preview): the engine learns the object's colours there too (`ObjectAppearance`).
// DIR/<seq>/frames.rgb holds frames 0, step, 2·step, … of <seq>/video.mp4 as raw 1280×720 RGB24.

import Foundation
import RotoVision
#if canImport(Glibc)
import Glibc
#endif

struct Args {
    var frames = ""
    var davis = "/work/shared/bench/davis2016-dev"
    var step = 20
    var seqs: [String] = []
    var frame0Only = false
    var timing = true
    var config = ClassicalSegmentationEngine.Configuration()
    var verbose = false
    var dump = ""
    var oracle = false
    var guide = true
    /// DIR/<seq>/next.rgb holds frames 1, step + 1, … (the frame after each of frames.rgb): the engine
    /// also separates by motion, as the server does. `--no-motion` segments each frame alone.
    var motion = true
    /// `--second-frame`: each later frame is clicked as a second marked frame of the object (marked on
    /// frame 0 with its 5 clicks, no preview): the engine gets its appearance there, as the server gives
    /// it. Measured the server's way (`--no-guide`).
    var secondFrame = false
}

func parseArgs() -> Args {
    var a = Args()
    var it = CommandLine.arguments.dropFirst().makeIterator()
    while let s = it.next() {
        switch s {
        case "--frames": a.frames = it.next() ?? ""
        case "--davis": a.davis = it.next() ?? a.davis
        case "--step": a.step = Int(it.next() ?? "") ?? 20
        case "--seqs": a.seqs = (it.next() ?? "").split(separator: ",").map(String.init)
        case "--frame0-only": a.frame0Only = true
        case "--no-timing": a.timing = false
        case "--verbose": a.verbose = true
        case "--oracle": a.oracle = true
        case "--no-guide": a.guide = false
        case "--no-motion": a.motion = false
        case "--second-frame": a.secondFrame = true; a.guide = false
        case "--dump": a.dump = it.next() ?? ""
        case "--config":
            for kv in (it.next() ?? "").split(separator: ",") {
                let p = kv.split(separator: "=").map(String.init)
                guard p.count == 2 else { continue }
                switch p[0] {
                case "side": a.config.workingLongSide = Int(p[1])!
                case "regions": a.config.regions = Int(p[1])!
                case "appear": a.config.appearanceWeight = Float(p[1])!
                case "appearclicks": a.config.appearanceClicks = Int(p[1])!
                case "appearreach": a.config.appearanceReach = Float(p[1])! > 0 ? Float(p[1])! : nil
                case "compactness": a.config.compactness = Float(p[1])!
                case "smooth": a.config.smoothness = Double(p[1])!
                case "geo": a.config.geodesicWeight = Double(p[1])!
                case "dist": a.config.distanceWeight = Double(p[1])!
                case "rounds": a.config.rounds = Int(p[1])!
                case "holes": a.config.holeFill = Double(p[1])!
                case "radius": a.config.radius = Double(p[1])!
                case "coreradius": a.config.coreRadius = Float(p[1])!
                case "bw": a.config.borderWeight = Float(p[1])!
                case "star": a.config.starConvexity = p[1] == "1"
                case "cores": a.config.coreDistances = p[1].split(separator: "/").map { Float($0)! }
                case "clampbg": a.config.llrClampBackground = Float(p[1])!
                case "size": a.config.sizeBias = Float(p[1])!
                case "clamp": a.config.llrClamp = Float(p[1])!
                case "floor": a.config.histFloor = Float(p[1])!
                case "spread": a.config.spreadWeight = Double(p[1])!
                case "radii": a.config.radii = p[1].split(separator: "/").map { Double($0)! }
                case "core": a.config.coreDistance = Float(p[1])!
                case "gcol": a.config.geoColour = Float(p[1])!
                case "gcon": a.config.geoContrast = Float(p[1])!
                case "gtex": a.config.geoTexture = Float(p[1])!
                case "gstep": a.config.geoStep = Float(p[1])!
                case "border": a.config.borderOffset = Float(p[1])!
                case "sigma": a.config.upsampleSigma = Float(p[1])!
                case "mdist": a.config.multiClickDistanceWeight = Double(p[1])!
                case "mclampbg": a.config.multiClickClampBackground = Float(p[1])!
                case "hull": a.config.hullPrior = p[1] == "1"
                case "refine": a.config.refineBoundary = p[1] == "1"
                case "rband": a.config.refineBandFraction = Double(p[1])!
                case "rlocal": a.config.refineLocalColourSpacing = Int(p[1])!
                case "local": a.config.localColour = Float(p[1])!
                case "mradii": a.config.multiClickRadii = p[1].split(separator: "/").map { Double($0)! }
                case "msmooth": a.config.multiClickSmoothness = Double(p[1])!
                case "mborder": a.config.multiClickBorderOffset = Float(p[1])!
                case "mw": a.config.motionWeight = Float(p[1])!
                case "mbin": a.config.motionBin = Float(p[1])!
                case "mclamp": a.config.motionClamp = Float(p[1])!
                case "gmot": a.config.geoMotion = Float(p[1])!
                case "imot": a.config.independentMotion = Float(p[1])!
                case "imotnoise": a.config.independentMotionMaxNoise = Float(p[1])!
                default: print("unknown config key \(p[0])")
                }
            }
        default: print("unknown argument \(s)")
        }
    }
    return a
}

func readFile(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

struct ClickFile: Decodable {
    struct C: Decodable { let x: Double; let y: Double }
    let clicks: [C]
}

struct Meta: Decodable { let frames: Int; let width: Int; let height: Int }

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
/// CPU time of the calling thread (immune to waiting for a core on a busy machine).
func cpuNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
func ms(_ a: UInt64, _ b: UInt64) -> Double { Double(b - a) / 1e6 }
func pct(_ v: [Double], _ q: Double) -> Double {
    if v.isEmpty { return .nan }
    let s = v.sorted()
    return s[min(s.count - 1, Int((Double(s.count - 1) * q).rounded()))]
}
func f3(_ v: Double) -> String { String(format: "%.3f", v) }
func f1(_ v: Double) -> String { String(format: "%.1f", v) }
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

let args = parseArgs()
let engine = ClassicalSegmentationEngine(configuration: args.config)
let clickCounts = [1, 3, 5]
var seqs = args.seqs
if seqs.isEmpty {
    seqs = ((try? FileManager.default.contentsOfDirectory(atPath: args.davis)) ?? [])
        .filter { FileManager.default.fileExists(atPath: "\(args.davis)/\($0)/video.mp4") }.sorted()
}

var rows: [(String, [Double], [Double], Int)] = []  // seq, frame-0 IoU per count, later-frames IoU per count, n later
var times720: [Double] = []
var clickDrift: [Double] = []
var sample720: (RGBImage, [PointPrompt], Mask)?

for seq in seqs {
    let dir = "\(args.davis)/\(seq)"
    guard let metaData = readFile("\(dir)/meta.json"),
          let meta = try? JSONDecoder().decode(Meta.self, from: Data(metaData)),
          let raw = readFile("\(args.frames)/\(seq)/frames.rgb") else {
        print("skip \(seq): missing data"); continue
    }
    let fw = meta.width, fh = meta.height, fsize = fw * fh * 3
    let next = args.motion ? readFile("\(args.frames)/\(seq)/next.rgb") ?? [] : []
    let clickJSON = readFile("\(dir)/clicks.json").flatMap { try? JSONDecoder().decode(ClickFile.self, from: Data($0)) }
    var f0 = [Double](repeating: 0, count: clickCounts.count)
    var later = [Double](repeating: 0, count: clickCounts.count)
    var nLater = 0
    var zeroLook: ObjectAppearance?  // --second-frame: the object as frame 0's 5 clicks select it
    var idx = 0
    while (idx + 1) * fsize <= raw.count {
        let frameNo = idx * args.step
        if args.frame0Only && frameNo > 0 { break }
        let img = RGBImage(width: fw, height: fh, pixels: Array(raw[(idx * fsize)..<((idx + 1) * fsize)]))
        let nearby = (idx + 1) * fsize <= next.count ? RGBImage(width: fw, height: fh, pixels: Array(next[(idx * fsize)..<((idx + 1) * fsize)])) : nil
        let maskPath = "\(dir)/masks/" + String(format: "%05d.png", frameNo)
        guard let png = readFile(maskPath), let truth = try? decodePNG(png) else { idx += 1; continue }
        /// The frame at working size, analysed (as the server analyses the proxy's frame).
        func analysed() -> PreparedFrame {
            let ws = engine.workingSize(width: fw, height: fh)
            return engine.prepare(img.downscaled(width: ws.width, height: ws.height),
                                  nearby: nearby?.downscaled(width: ws.width, height: ws.height))
        }
        idx += 1
        if truth.isEmpty { continue }
        let derived = truth.interiorClicks(count: 5)
        var clicks = derived
        if frameNo == 0, let cj = clickJSON {
            clicks = cj.clicks.map { PointPrompt(x: $0.x, y: $0.y) }
            for (a, b) in zip(clicks, derived) {
                let dx = (a.x - b.x) * Double(fw), dy = (a.y - b.y) * Double(fh)
                clickDrift.append((dx * dx + dy * dy).squareRoot())
            }
        }
        var ious: [Double] = []
        for n in clickCounts {
            let pts = Array(clicks.prefix(n))
            let t0 = cpuNow()
            let objects = [ObjectPrompt(objectID: 0, points: pts)]
            let masks: [Int: Mask]
            if args.guide {
                masks = engine.segment(img, objects: objects, nearby: nearby)
            } else {  // as the server: the boundary interpolated without the full-size frame
                let frame = analysed()
                let labels = engine.segment(frame, objects: objects) { _ in frameNo == 0 ? nil : zeroLook }
                masks = engine.upsample(labels, to: fw, fh, guide: nil, frame: frame).masks(including: [0])
                if args.secondFrame && frameNo == 0 && n == 5 {
                    zeroLook = engine.appearance(on: frame, mask: labels.masks()[0] ?? Mask(width: 1, height: 1), points: pts)
                }
            }
            let t1 = cpuNow()
            times720.append(ms(t0, t1))
            let m = masks[0] ?? Mask(width: fw, height: fh)
            ious.append(m.iou(truth))
            if args.oracle {
                let ws = engine.workingSize(width: fw, height: fh)
                let frame = analysed()
                let t = truth.resizedNearest(width: ws.width, height: ws.height)
                let c = engine.candidates(frame, object: ObjectPrompt(objectID: 0, points: pts))
                let orc = engine.upsample(engine.regionOracle(frame, truth: t), to: fw, fh, guide: img, frame: frame).masks()[0]!
                let orcNN = engine.regionOracle(frame, truth: t).masks()[0]!.resizedNearest(width: fw, height: fh)
                print("  \(seq) region oracle \(f3(orc.iou(truth))) (nearest \(f3(orcNN.iou(truth))))")
                print("  \(seq) \(n)c: " + c.map { "\(f3($0.score))→\(f3($0.mask.iou(t)))/\($0.mask.area * 1000 / max(1, t.area))‰" }.joined(separator: " "))
            }
            if !args.dump.isEmpty {
                _ = FileManager.default.createFile(atPath: "\(args.dump)/\(seq)-\(frameNo)-\(n).ppm",
                                                   contents: Data(img.diagnosticOverlay(mask: m, truth: truth, clicks: pts, clickRadius: 4).ppm))
            }
            if sample720 == nil && n == 3 { sample720 = (img, pts, truth) }
        }
        if args.verbose { print("  \(seq) frame \(frameNo): " + ious.map(f3).joined(separator: " ")) }
        if frameNo == 0 { f0 = ious } else {
            for i in 0..<ious.count { later[i] += ious[i] }
            nLater += 1
        }
    }
    if nLater > 0 { later = later.map { $0 / Double(nLater) } }
    rows.append((seq, f0, later, nLater))
}

print("")
print("Click → mask IoU (DAVIS 2016, 1280×720). frame 0 uses clicks.json; later frames (every \(args.step)th) use derived clicks.")
print(pad("sequence", 16) + "| f0 1c  f0 3c  f0 5c | later 1c  3c     5c    (n)")
var m0 = [Double](repeating: 0, count: 3), mL = [Double](repeating: 0, count: 3)
var nL = 0
for (seq, f0, later, n) in rows {
    print(pad(seq, 16) + "| " + f0.map(f3).joined(separator: "  ") + " | " +
          (n > 0 ? later.map(f3).joined(separator: "  ") + "  (\(n))" : "-"))
    for i in 0..<3 { m0[i] += f0[i] }
    if n > 0 { for i in 0..<3 { mL[i] += later[i] }; nL += 1 }
}
if !rows.isEmpty {
    print(pad("MEAN", 16) + "| " + m0.map { f3($0 / Double(rows.count)) }.joined(separator: "  ") + " | " +
          (nL > 0 ? mL.map { f3($0 / Double(nL)) }.joined(separator: "  ") + "  (\(nL) seqs)" : "-"))
}
if !clickDrift.isEmpty {
    print("derived vs clicks.json on frame 0: median \(f1(pct(clickDrift, 0.5))) px, p95 \(f1(pct(clickDrift, 0.95))) px, max \(f1(pct(clickDrift, 1)))")
}
print("full pipeline per call at 1280×720 (downscale+analyse+segment+upsample), thread CPU time: median \(f1(pct(times720, 0.5))) ms, p95 \(f1(pct(times720, 0.95))) ms (n=\(times720.count))")

if args.timing, let (img, pts, truth) = sample720 {
    let objs = [ObjectPrompt(objectID: 0, points: pts)]
    func timeIt(_ n: Int, _ body: () -> Void) -> ([Double], [Double]) {
        body()
        var t: [Double] = [], c: [Double] = []
        for _ in 0..<n {
            let a = now(), ca = cpuNow()
            body()
            c.append(ms(ca, cpuNow())); t.append(ms(a, now()))
        }
        return (c, t)
    }
    func report(_ name: String, _ tc: ([Double], [Double])) {
        let (c, t) = tc
        print(pad(name, 60) + "cpu median \(f1(pct(c, 0.5))) ms  p95 \(f1(pct(c, 0.95))) ms   (wall median \(f1(pct(t, 0.5))) ms)")
    }
    print("")
    print("Timings (release, one thread; cpu = thread CPU time, wall = elapsed):")
    for (label, full) in [("1280×720", img), ("3840×2160", img.resizedBilinear(width: 3840, height: 2160))] {
        let ws = engine.workingSize(width: full.width, height: full.height)
        var working = full.downscaled(width: ws.width, height: ws.height)
        report("\(label): downscale to \(ws.width)×\(ws.height)", timeIt(15) { working = full.downscaled(width: ws.width, height: ws.height) })
        var frame = engine.prepare(working)
        report("\(label): analyse (Lab + SLIC + stats)", timeIt(15) { frame = engine.prepare(working) })
        var labels = engine.segment(frame, objects: objs)
        report("\(label): segment (per click, frame analysed)", timeIt(15) { labels = engine.segment(frame, objects: objs) })
        var up = engine.upsample(labels, to: full.width, full.height, guide: full, frame: frame)
        report("\(label): upsample to full size with guide", timeIt(15) { up = engine.upsample(labels, to: full.width, full.height, guide: full, frame: frame) })
        report("\(label): TOTAL downscale+analyse+segment+upsample", timeIt(15) {
            _ = engine.segment(full, objects: objs)
        })
        report("\(label): TOTAL given working frame (analyse+segment+upsample)", timeIt(15) {
            _ = engine.segment(working: working, fullWidth: full.width, fullHeight: full.height, guide: full, objects: objs)
        })
        let mask = up.masks()[0]!
        if label == "1280×720" { print("  (sample IoU \(f3(mask.iou(truth))))") }
        report("\(label): COCO RLE encode", timeIt(30) { _ = COCORLE.encode(mask) })
        let rle = COCORLE.encode(mask)
        report("\(label): COCO RLE decode", timeIt(30) { _ = try? COCORLE.decode(size: rle.size, counts: rle.counts) })
        report("\(label): PNG encode (1-bit)", timeIt(30) { _ = encodePNG(mask) })
        print("  RLE \(rle.counts.utf8.count) bytes, PNG \(encodePNG(mask).count) bytes")
    }
}
