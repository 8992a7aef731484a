import Foundation
import RotoMedia
import RotoVision

/// `--still`: what is never seen. Each clip's first frame, held for 12 frames (a camera on a tripod), with
/// the synthetic object standing still in the middle of it: no frame shows what it hides, so the whole
/// hole is filled spatially on the key frame and carried to the others. The true masks are the holes
/// (this measures the fill, not the selection). Scored with and without the exemplar fill: PSNR and SSIM
/// inside the hole, and the detail there — the mean gradient magnitude of the result's luma over the
/// clean frame's (1: as much texture as the real background; a smooth fill is far below). Then the same
/// held frame with the object swaying ±20 px (at 1280 px wide) about the middle, 24 frames a period: what
/// it uncovers at either side is seen in other frames, its middle never, so the key frame's fill and the
/// propagated background meet, and the fill is carried through moving holes. Scored over the union of
/// the holes: PSNR, detail, and the mean change from frame to frame where two consecutive holes overlap
/// (the clean frames do not change there: any change is flicker).
func runStill(_ args: Args) {
    fillTable(args, scenario: "still", title: [
        "Never seen: each clip's first frame held for 12 frames, the object standing still in the middle (true",
        "masks as holes). Cells: PSNR dB and SSIM inside the hole, detail (mean luma gradient inside the hole,",
        "result over clean frame), seconds for the removal of the 12 frames.",
    ], formats: [f1, f3, f2, f2]) { clean in
        var composited = clean
        let truth = Blob(width: clean.width, height: clean.height).draw(0.5, into: &composited)
        return FillScenario(frames: Array(repeating: composited, count: 12), holes: Array(repeating: truth, count: 12),
                            shown: 6) { frames, seconds in
            let middle = frames[6]
            return [psnr(middle, clean, region: truth), ssim(middle, clean, region: truth),
                    detail(middle, region: truth) / max(detail(clean, region: truth), 1e-9), seconds]
        }
    }
    fillTable(args, scenario: "sway", title: [
        "Swaying: the same held frame, the object swaying ±20 px about the middle (24 frames). Cells, over the",
        "region any hole covers: PSNR dB, detail (as above), change from frame to frame where consecutive holes",
        "overlap (grey levels; the clean frames: 0).",
    ], formats: [f1, f2, f2]) { clean in
        let count = 24
        let blob = Blob(width: clean.width, height: clean.height)
        // Blob's path crosses 0.56 of the width as t goes from 0 to 1.
        let amplitude = 20 / (0.56 * 1280)
        var input: [RGBImage] = [], holes: [Mask] = []
        for i in 0..<count {
            var frame = clean
            holes.append(blob.draw(0.5 + amplitude * sin(2 * Double.pi * Double(i) / Double(count)), into: &frame))
            input.append(frame)
        }
        var union = [UInt8](repeating: 0, count: clean.width * clean.height)
        for hole in holes { for p in hole.data.indices where hole.data[p] != 0 { union[p] = 1 } }
        let region = Mask(width: clean.width, height: clean.height, data: union)
        return FillScenario(frames: input, holes: holes, shown: count / 4) { frames, _ in
            [mean(frames.map { psnr($0, clean, region: region) }),
             mean(frames.map { detail($0, region: region) }) / max(detail(clean, region: region), 1e-9),
             temporalChange(frames, holes: holes)]
        }
    }
}

/// Frames and holes made from a clip's first frame, the frame dumped (`--dump`), and the figures of a
/// result (given the removal's seconds).
struct FillScenario {
    var frames: [RGBImage]
    var holes: [Mask]
    var shown: Int
    var score: (_ result: [RGBImage], _ seconds: Double) -> [Double]
}

/// Removes every clip's scenario with each quality, smoothly and with the exemplar fill, and prints a row
/// per clip (the figures, each by its format) and their means.
func fillTable(_ args: Args, scenario name: String, title: [String], formats: [(Double) -> String],
               _ make: (RGBImage) -> FillScenario) {
    let variants: [(String, Bool)] = [("smooth", false), ("exemplar", true)]
    var sums: [String: [[Double]]] = [:]
    var lines: [String] = []
    func cell(_ figures: [Double]) -> String { zip(formats, figures).map { $0.0($0.1) }.joined(separator: " ") }
    for seq in sequences(args) {
        guard let clean = firstFrame(args, seq) else { print("skip \(seq): cannot read"); continue }
        let scenario = make(clean)
        var cells: [String] = []
        for quality in args.qualities {
            for (variant, exemplar) in variants {
                var configuration = VideoInpainter.Configuration(quality: quality)
                configuration.exemplarFill = exemplar
                var frames = scenario.frames
                let t0 = now()
                _ = VideoInpainter(quality: quality, configuration: configuration, threads: 2)
                    .remove(frames: &frames, holes: scenario.holes)
                let figures = scenario.score(frames, secs(t0, now()))
                sums["\(quality.rawValue) \(variant)", default: []].append(figures)
                cells.append(cell(figures))
                if let dir = args.dump {
                    let file = "\(dir)/\(seq)-\(name)-\(quality.rawValue)-\(variant).ppm"
                    _ = FileManager.default.createFile(atPath: file, contents: Data(frames[scenario.shown].ppm))
                }
            }
        }
        FileHandle.standardError.write(Data("done \(seq) (\(name))\n".utf8))
        lines.append(pad(seq, 16) + cells.map { pad($0, 26) }.joined())
    }
    let keys = args.qualities.flatMap { q in variants.map { "\(q.rawValue) \($0.0)" } }
    print("")
    title.forEach { print($0) }
    print(pad("sequence", 16) + keys.map { pad($0, 26) }.joined())
    for line in lines { print(line) }
    let means = keys.map { key -> String in
        let rows = sums[key] ?? []
        return cell(formats.indices.map { i in mean(rows.map { $0[i] }) })
    }
    print(pad("mean", 16) + means.map { pad($0, 26) }.joined())
}

/// A clip's first frame, or nil when it cannot be read.
func firstFrame(_ args: Args, _ name: String) -> RGBImage? {
    guard let reader = try? FrameReader(path: "\(args.davis)/\(name)/video.mp4"), let first = try? reader.frame(at: 0)
    else { return nil }
    return RGBImage(width: first.width, height: first.height, pixels: first.pixels)
}

/// Mean gradient magnitude of the luma (central differences) over the pixels where `region` is set.
func detail(_ image: RGBImage, region: Mask) -> Double {
    let w = image.width, h = image.height
    func luma(_ p: Int) -> Double {
        0.299 * Double(image.pixels[3 * p]) + 0.587 * Double(image.pixels[3 * p + 1]) + 0.114 * Double(image.pixels[3 * p + 2])
    }
    var total = 0.0, n = 0
    for y in 1..<(h - 1) {
        for x in 1..<(w - 1) where region.data[y * w + x] != 0 {
            let p = y * w + x
            let gx = (luma(p + 1) - luma(p - 1)) / 2, gy = (luma(p + w) - luma(p - w)) / 2
            total += (gx * gx + gy * gy).squareRoot()
            n += 1
        }
    }
    return n > 0 ? total / Double(n) : 0
}
