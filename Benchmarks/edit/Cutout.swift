import Foundation
import RotoVision

/// `--cutout`: the reference image's subject for swap and addition, on real photos. Each clip's first
/// frame is cropped to its subject's bounding box grown by 40 % of its sides each way (as a person would
/// frame a subject in a photo: the subject at the middle, its real surroundings around it), and the
/// subject is extracted (`SubjectExtractor`); the cutout's alpha (at ≥ 128) is scored by its IoU with the
/// true mask in that crop. The whole image kept as the subject scores the subject's share of the crop.
func runCutout(_ args: Args) {
    var ious: [Double] = [], shares: [Double] = [], times: [Double] = []
    print(pad("sequence", 16) + pad("crop", 12) + pad("IoU", 8) + pad("whole image", 13) + "seconds")
    for name in sequences(args) {
        guard let frame = firstFrame(args, name),
              let truth = FileManager.default.contents(atPath: "\(args.davis)/\(name)/masks/00000.png")
                .flatMap({ try? MaskPNG.decode([UInt8]($0)) }),
              let box = truth.boundingBox else { print("skip \(name): cannot read"); continue }
        let gx = box.width * 2 / 5, gy = box.height * 2 / 5
        let x0 = max(0, box.x - gx), y0 = max(0, box.y - gy)
        let x1 = min(frame.width, box.x + box.width + gx), y1 = min(frame.height, box.y + box.height + gy)
        let cw = x1 - x0, ch = y1 - y0
        var pixels = [UInt8](repeating: 0, count: cw * ch * 3)
        var subject = [UInt8](repeating: 0, count: cw * ch)
        for y in 0..<ch {
            for x in 0..<cw {
                let p = (y0 + y) * frame.width + x0 + x, q = y * cw + x
                for c in 0..<3 { pixels[3 * q + c] = frame.pixels[3 * p + c] }
                subject[q] = truth.data[p]
            }
        }
        let t0 = now()
        let cut = SubjectExtractor.extract(RGBImage(width: cw, height: ch, pixels: pixels))
        let t = secs(t0, now())
        var inter = 0, union = 0
        for y in 0..<ch {
            for x in 0..<cw {
                let cx = x - cut.originX, cy = y - cut.originY
                let a = cx >= 0 && cy >= 0 && cx < cut.width && cy < cut.height && cut.alpha[cy * cut.width + cx] >= 128
                let b = subject[y * cw + x] != 0
                if a && b { inter += 1 }
                if a || b { union += 1 }
            }
        }
        let iou = Double(inter) / Double(max(union, 1))
        let share = Double(subject.reduce(0) { $0 + Int($1) }) / Double(cw * ch)
        ious.append(iou); shares.append(share); times.append(t)
        print(pad(name, 16) + pad("\(cw)x\(ch)", 12) + pad(f3(iou), 8) + pad(f3(share), 13) + f2(t))
        if let dir = args.dump {
            let file = "\(dir)/\(name)-cutout.ppm"
            var shown = cut.rgb
            for i in 0..<cut.alpha.count where cut.alpha[i] < 128 { for c in 0..<3 { shown.pixels[3 * i + c] /= 4 } }
            _ = FileManager.default.createFile(atPath: file, contents: Data(shown.ppm))
        }
    }
    print(pad("mean", 16) + pad("", 12) + pad(f3(mean(ious)), 8) + pad(f3(mean(shares)), 13) + f2(mean(times)))
}
