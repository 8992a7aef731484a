import Foundation
@testable import RotoVision
import Testing

/// The click engine's last step: the superpixel boundary taken to the pixels' own edges.
@Suite struct BoundaryRefinementTests {
    /// A star with eight spikes, patterned in 3-pixel cells of a light and a dark shade, on a background
    /// patterned the same way: the superpixels, which trade colour against compactness, straddle its
    /// outline where the pattern is dark on both sides; the pixel-level cut follows it.
    @Test func aTexturedSpikyOutlineIsFollowedToThePixels() {
        let w = 640, h = 360, cx = 320.0, cy = 180.0, cell = 3
        var s = Scene(width: w, height: h, seed: 11)
        var g = SplitMix64(seed: 5)
        let dark = (0..<(w * h)).map { _ in g.next() % 2 == 0 }
        var truth = Mask(width: w, height: h)
        for y in 0..<h {
            for x in 0..<w {
                let dx = Double(x) + 0.5 - cx, dy = Double(y) + 0.5 - cy
                let r = 95 * (1 + 0.4 * cos(8 * atan2(dy, dx)))
                let d = dark[(y / cell) * w + x / cell]
                let p = (y * w + x) * 3
                if dx * dx + dy * dy <= r * r {
                    truth[x, y] = 1
                    s.pixels[p] = d ? 120 : 210
                    s.pixels[p + 1] = d ? 50 : 90
                    s.pixels[p + 2] = d ? 40 : 60
                } else if d {
                    for c in 0..<3 { s.pixels[p + c] /= 2 }
                }
            }
        }
        let clicks = [ObjectPrompt(objectID: 0, points: [pt(cx, cy, w, h), pt(cx + 40, cy, w, h), pt(cx, cy - 40, w, h)])]
        var plain = ClassicalSegmentationEngine.Configuration()
        plain.refineBoundary = false
        let regional = ClassicalSegmentationEngine(configuration: plain).segment(s.image, objects: clicks)[0]!
        let refined = ClassicalSegmentationEngine().segment(s.image, objects: clicks)[0]!
        print("textured spiky star: IoU \(regional.iou(truth)) superpixels, \(refined.iou(truth)) refined")
        #expect(refined.iou(truth) >= 0.99)
        #expect(refined.iou(truth) > regional.iou(truth) + 0.02)
    }

    /// A refinement that would drop an include click's pixel leaves that object's superpixel mask as it
    /// was, and so does any exclude click: the clicks say what the object is.
    @Test func aClickIsNeverOverruledByTheRefinement() {
        let w = 320, h = 240
        var s = Scene(width: w, height: h, seed: 12)
        s.paint((200, 40, 40), disc(160, 120, 50))
        let image = s.image
        // The disc, plus a speck of the background's colours far from it, labelled as the object.
        var labels = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<w where disc(160, 120, 50)(x, y) || (x >= 40 && x < 46 && y >= 40 && y < 46) {
            labels[y * w + x] = 1
        } }
        let given = SelectionLabels(width: w, height: h, labels: labels, objectIDs: [0])
        let engine = ClassicalSegmentationEngine()
        // Without a click on it the speck goes: the refinement does want to drop it.
        let free = engine.refined(given, on: image, objects: [ObjectPrompt(objectID: 0, points: [pt(160, 120, w, h)])])
        #expect(free.labels[43 * w + 43] == 0)
        #expect(free.labels[120 * w + 160] == 1)
        // With an include click on it the object keeps its given mask.
        let clicked = engine.refined(given, on: image, objects: [ObjectPrompt(objectID: 0, points: [pt(160, 120, w, h), pt(43, 43, w, h)])])
        #expect(clicked.labels == given.labels)
        // An object with exclude clicks keeps its mask (they carve between parts of one colour, which
        // the pixel cut cannot tell apart).
        let excluded = engine.refined(given, on: image, objects: [ObjectPrompt(objectID: 0, points: [pt(160, 120, w, h), pt(290, 210, w, h, positive: false)])])
        #expect(excluded.labels == given.labels)
    }
}
