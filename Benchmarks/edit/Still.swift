import Foundation
import RotoMedia
import RotoVision

/// `--still`: what is never seen. Each clip's first frame, held for 12 frames (a camera on a tripod), with
/// the synthetic object standing still in the middle of it: no frame shows what it hides, so the whole
/// hole is filled spatially on the key frame and carried to the others. The true masks are the holes
/// (this measures the fill, not the selection). Scored with and without the exemplar fill: PSNR and SSIM
/// inside the hole, and the detail there — the mean gradient magnitude of the result's luma over the
/// clean frame's (1: as much texture as the real background; a smooth fill is far below). Then the same
/// with the object swaying (`runSway`).
func runStill(_ args: Args) {
    let seqs = sequences(args)
    let variants: [(String, Bool)] = [("smooth", false), ("exemplar", true)]
    var sums: [String: [Double]] = [:]
    var lines: [String] = []
    for name in seqs {
        guard let reader = try? FrameReader(path: "\(args.davis)/\(name)/video.mp4"),
              let first = try? reader.frame(at: 0) else { print("skip \(name): cannot read"); continue }
        let clean = RGBImage(width: first.width, height: first.height, pixels: first.pixels)
        var composited = clean
        let truth = Blob(width: clean.width, height: clean.height).draw(0.5, into: &composited)
        var cells: [String] = []
        for quality in args.qualities {
            for (variant, exemplar) in variants {
                var configuration = VideoInpainter.Configuration(quality: quality)
                configuration.exemplarFill = exemplar
                let inpainter = VideoInpainter(quality: quality, configuration: configuration, threads: 2)
                var frames = Array(repeating: composited, count: 12)
                let t0 = now()
                _ = inpainter.remove(frames: &frames, holes: Array(repeating: truth, count: 12))
                let t = secs(t0, now())
                let middle = frames[6]
                let p = psnr(middle, clean, region: truth), s = ssim(middle, clean, region: truth)
                let d = detail(middle, region: truth) / max(detail(clean, region: truth), 1e-9)
                let key = "\(quality.rawValue) \(variant)"
                sums[key + " psnr", default: []].append(p)
                sums[key + " ssim", default: []].append(s)
                sums[key + " detail", default: []].append(d)
                sums[key + " s", default: []].append(t)
                cells.append("\(f1(p)) \(f3(s)) \(f2(d)) \(f2(t))")
                if let dir = args.dump {
                    let file = "\(dir)/\(name)-still-\(quality.rawValue)-\(variant).ppm"
                    _ = FileManager.default.createFile(atPath: file, contents: Data(middle.ppm))
                }
            }
        }
        FileHandle.standardError.write(Data("done \(name) (still)\n".utf8))
        lines.append(pad(name, 16) + cells.map { pad($0, 26) }.joined())
    }
    let headers = args.qualities.flatMap { q in variants.map { "\(q.rawValue) \($0.0)" } }
    print("")
    print("Never seen: each clip's first frame held for 12 frames, the object standing still in the middle (true")
    print("masks as holes). Cells: PSNR dB and SSIM inside the hole, detail (mean luma gradient inside the hole,")
    print("result over clean frame), seconds for the removal of the 12 frames.")
    print(pad("sequence", 16) + headers.map { pad($0, 26) }.joined())
    for line in lines { print(line) }
    let means = args.qualities.flatMap { q in variants.map { v -> String in
        let m = { (k: String) in mean(sums["\(q.rawValue) \(v.0) \(k)"] ?? []) }
        return "\(f1(m("psnr"))) \(f3(m("ssim"))) \(f2(m("detail"))) \(f2(m("s")))"
    } }
    print(pad("mean", 16) + means.map { pad($0, 26) }.joined())
    runSway(args, variants: variants)
}

/// The same held frame with the object swaying ±20 px (at 1280 px wide) about the middle, 24 frames a
/// period: what it uncovers at either side is seen in other frames, its middle never, so the key frame's
/// fill and the propagated background meet, and the fill is carried through moving holes. Scored over
/// the union of the holes: PSNR, detail, and the mean change from frame to frame where two consecutive
/// holes overlap (the clean frames do not change there: any change is flicker).
func runSway(_ args: Args, variants: [(String, Bool)]) {
    let count = 24
    var sums: [String: [Double]] = [:]
    var lines: [String] = []
    for name in sequences(args) {
        guard let reader = try? FrameReader(path: "\(args.davis)/\(name)/video.mp4"),
              let first = try? reader.frame(at: 0) else { continue }
        let clean = RGBImage(width: first.width, height: first.height, pixels: first.pixels)
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
        var cells: [String] = []
        for quality in args.qualities {
            for (variant, exemplar) in variants {
                var configuration = VideoInpainter.Configuration(quality: quality)
                configuration.exemplarFill = exemplar
                var frames = input
                _ = VideoInpainter(quality: quality, configuration: configuration, threads: 2).remove(frames: &frames, holes: holes)
                let p = mean(frames.map { psnr($0, clean, region: region) })
                let d = mean(frames.map { detail($0, region: region) }) / max(detail(clean, region: region), 1e-9)
                let change = temporalChange(frames, holes: holes)
                let key = "\(quality.rawValue) \(variant)"
                sums[key + " psnr", default: []].append(p)
                sums[key + " detail", default: []].append(d)
                sums[key + " change", default: []].append(change)
                cells.append("\(f1(p)) \(f2(d)) \(f2(change))")
                if let dir = args.dump {
                    let file = "\(dir)/\(name)-sway-\(quality.rawValue)-\(variant).ppm"
                    _ = FileManager.default.createFile(atPath: file, contents: Data(frames[count / 4].ppm))
                }
            }
        }
        FileHandle.standardError.write(Data("done \(name) (sway)\n".utf8))
        lines.append(pad(name, 16) + cells.map { pad($0, 26) }.joined())
    }
    let headers = args.qualities.flatMap { q in variants.map { "\(q.rawValue) \($0.0)" } }
    print("")
    print("Swaying: the same held frame, the object swaying ±20 px about the middle (24 frames). Cells, over the")
    print("region any hole covers: PSNR dB, detail (as above), change from frame to frame where consecutive holes")
    print("overlap (grey levels; the clean frames: 0).")
    print(pad("sequence", 16) + headers.map { pad($0, 26) }.joined())
    for line in lines { print(line) }
    let means = args.qualities.flatMap { q in variants.map { v -> String in
        let m = { (k: String) in mean(sums["\(q.rawValue) \(v.0) \(k)"] ?? []) }
        return "\(f1(m("psnr"))) \(f2(m("detail"))) \(f2(m("change")))"
    } }
    print(pad("mean", 16) + means.map { pad($0, 26) }.joined())
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
