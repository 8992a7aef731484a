import Foundation
import RotoVision
import Testing

/// DAVIS 2016 propagation benchmark, run only when `ROTO_TRACK_FRAMES` names a folder holding one
/// sub-folder per sequence of working-size PPM frames (`00000.ppm`, …; e.g. `ffmpeg -i video.mp4 -vf
/// scale=480:270 %05d.ppm`) and `ROTO_TRACK_DAVIS` the DAVIS folder (`<seq>/masks/00000.png`, …).
/// Prints J (mean IoU over frames, first and last excluded) with the first frame's mask as the only
/// anchor, and with the first and last frames' masks as anchors. Run in release:
/// `swift test -c release --filter TrackerDavis`.
@Suite struct TrackerDavisTests {
    static let frames = ProcessInfo.processInfo.environment["ROTO_TRACK_FRAMES"]
    static let davis = ProcessInfo.processInfo.environment["ROTO_TRACK_DAVIS"]

    static func readPPM(_ path: String) -> RGBImage? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        let bytes = [UInt8](d)
        var fields: [Int] = [], i = 2, cur = -1
        while fields.count < 3 && i < bytes.count {
            let c = bytes[i]
            if c >= 48 && c <= 57 { cur = (cur < 0 ? 0 : cur * 10) + Int(c - 48) } else if cur >= 0 { fields.append(cur); cur = -1 }
            i += 1
        }
        guard fields.count == 3, bytes.count - i == fields[0] * fields[1] * 3 else { return nil }
        return RGBImage(width: fields[0], height: fields[1], pixels: Array(bytes[i...]))
    }

    @Test(.enabled(if: frames != nil && davis != nil)) func davisPropagation() throws {
        let root = Self.frames!, truthRoot = Self.davis!
        let seqs = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        // Optional overrides, e.g. ROTO_TRACK_CONFIG="band=0.03,smooth=3,prior=1,colour=1,clamp=4,radius=3,iter=3,finest=1".
        var cfg = MaskTracker.Configuration()
        for kv in (ProcessInfo.processInfo.environment["ROTO_TRACK_CONFIG"] ?? "").split(separator: ",") {
            let p = kv.split(separator: "=")
            guard p.count == 2, let v = Double(p[1]) else { continue }
            switch p[0] {
            case "band": cfg.bandFraction = v
            case "smooth": cfg.smoothness = Float(v)
            case "prior": cfg.priorWeight = Float(v)
            case "colour": cfg.colourWeight = Float(v)
            case "clamp": cfg.colourClamp = Float(v)
            case "radius": cfg.flowRadius = Int(v)
            case "iter": cfg.flowIterations = Int(v)
            case "finest": cfg.flowFinestLevel = Int(v)
            case "anchor": cfg.anchorColourWeight = Float(v)
            default: break
            }
        }
        let oneOnly = ProcessInfo.processInfo.environment["ROTO_TRACK_ONE"] != nil
        let tracker = MaskTracker(configuration: cfg)
        var j1All: [Double] = [], j2All: [Double] = []
        var totalMs = 0.0, totalFrames = 0
        for seq in seqs {
            var imgs: [RGBImage] = [], truth: [Mask] = []
            var k = 0
            while let img = Self.readPPM("\(root)/\(seq)/\(String(format: "%05d", k)).ppm") {
                guard let png = FileManager.default.contents(atPath: "\(truthRoot)/\(seq)/masks/\(String(format: "%05d", k)).png")
                else { break }
                let m = try decodePNG([UInt8](png)).resizedNearest(width: img.width, height: img.height)
                imgs.append(img); truth.append(m); k += 1
            }
            guard imgs.count > 2 else { print("davis \(seq): \(imgs.count) frames read"); continue }
            func labels(_ m: Mask) -> SelectionLabels {
                SelectionLabels(width: m.width, height: m.height, labels: m.data, objectIDs: [1])
            }
            func j(_ out: [SelectionLabels]) -> Double {
                var s = 0.0
                for t in 1..<(imgs.count - 1) { s += out[t].masks()[1]!.iou(truth[t]) }
                return s / Double(imgs.count - 2)
            }
            let start = Date()
            let one = tracker.track(frames: imgs, anchors: [0: labels(truth[0])], objectIDs: [1])
            let ms = Date().timeIntervalSince(start) * 1000
            totalMs += ms; totalFrames += imgs.count - 1
            let two = oneOnly ? one : tracker.track(frames: imgs, anchors: [0: labels(truth[0]), imgs.count - 1: labels(truth[imgs.count - 1])],
                                    objectIDs: [1])
            let j1 = j(one), j2 = j(two)
            j1All.append(j1); j2All.append(j2)
            print("davis \(seq): J first-anchor \(String(format: "%.3f", j1)), first+last \(String(format: "%.3f", j2)), \(String(format: "%.1f", ms / Double(imgs.count - 1))) ms/frame")
        }
        let m1 = j1All.reduce(0, +) / Double(max(1, j1All.count)), m2 = j2All.reduce(0, +) / Double(max(1, j2All.count))
        print("davis mean J: first-anchor \(String(format: "%.3f", m1)), first+last \(String(format: "%.3f", m2)), \(String(format: "%.1f", totalMs / Double(max(1, totalFrames)))) ms/frame")
    }
}
