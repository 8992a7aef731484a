import Testing
@testable import RotoVision

/// A red disc with a green cap on its right (the part right of its centre + 16 px) moving 3 px a frame
/// to the right over green ground, except right of the disc's centre + 10 px, where the ground is red.
/// Around the disc as a whole green is mostly background, so the crop's one colour model calls the cap
/// background (and the red ground object); next to the cap the background is red, which the local
/// models see. `noise`: ±levels of per-pixel noise on every channel, so that the colour edges are not
/// much stronger than the texture and the contrast term alone cannot hold the cap.
private func cappedDiscClip(noise: Int = 0) -> (frames: [RGBImage], truth: [Mask]) {
    let r = 30.0, cy = 80.0
    let red: (UInt8, UInt8, UInt8) = (200, 30, 30), green: (UInt8, UInt8, UInt8) = (30, 160, 30)
    return syntheticClip(width: 240, height: 160, count: 20) { t, x, y in
        let cx = 70 + 3 * Double(t)
        let fx = Double(x) + 0.5, fy = Double(y) + 0.5
        let inside = (fx - cx) * (fx - cx) + (fy - cy) * (fy - cy) <= r * r
        let rgb = inside ? (fx >= cx + 16 ? green : red) : (fx >= cx + 10 ? red : green)
        // Per-pixel noise of ±`noise` levels on each channel (fixed per place and frame).
        var hash = UInt32(truncatingIfNeeded: ((y * 240 + x) &* 2654435761) ^ (t &* 40503))
        func jitter(_ v: UInt8) -> UInt8 {
            hash = hash &* 1664525 &+ 1013904223
            let d = Int(hash >> 24) * (2 * noise + 1) / 256 - noise
            return UInt8(max(0, min(255, Int(v) + d)))
        }
        return ((jitter(rgb.0), jitter(rgb.1), jitter(rgb.2)), inside)
    }
}

@Suite struct LocalColourTests {
    @Test("local colour models call the cap object and the red ground next to it background, where the crop's one model says the opposite")
    func ratiosNearTheCap() {
        let (frames, truth) = cappedDiscClip()
        let image = frames[0], w = image.width
        let global = ColourModel(image: image, labels: truth[0].data, tag: 1, band: 6)
        let table = global.logRatio()
        let local = LocalColourModel(image: image, mask: truth[0].data.map { Float($0) }, spacing: 32,
                                     global: global, strength: 50)
        image.pixels.withUnsafeBufferPointer { px in
            // Row 80: the disc spans x 40–99, its cap from 86; the red ground starts at 80 (under the disc).
            func ratios(_ x: Int) -> (global: Float, local: Float) {
                (table[ColourModel.bin(px, 80 * w + x)], local.logRatio(px, 80 * w + x, x: Float(x), y: 80))
            }
            let cap = ratios(94), ground = ratios(104), body = ratios(60), field = ratios(30)
            print("log ratios, global / local: cap \(cap), red ground \(ground), body \(body), green field \(field)")
            // Measured when written: cap −1.16 / 1.54, red ground 0.64 / −0.59, body 0.64 / 1.95, field −1.16 / −3.04.
            #expect(cap.global < 0 && cap.local > 1)
            #expect(ground.global > 0 && ground.local < 0)
            #expect(body.local > 1 && field.local < -1)
        }
    }

    @Test("the tracker keeps a part of the object whose colour is the background's elsewhere around it")
    func capIsKept() {
        let (frames, truth) = cappedDiscClip(noise: 40)
        var with = MaskTracker.Configuration()
        with.motionWeight = 0
        with.independentMotion = 0
        with.localColourSpacing = 32
        var without = with
        without.localColourSpacing = 0
        let anchor = SelectionLabels(width: 240, height: 160, labels: truth[0].data, objectIDs: [1])
        let a = MaskTracker(configuration: with).track(frames: frames, anchors: [0: anchor], objectIDs: [1])
        let b = MaskTracker(configuration: without).track(frames: frames, anchors: [0: anchor], objectIDs: [1])
        let last = frames.count - 1
        let iouWith = a[last].masks()[1]!.iou(truth[last]), iouWithout = b[last].masks()[1]!.iou(truth[last])
        print("capped disc, ±40 noise: frame \(last) IoU \(iouWith) with local colour models, \(iouWithout) without")
        // Measured when written: 0.999 with, 0.821 without (the cap goes in the first frames).
        #expect(iouWith >= 0.95)
        #expect(iouWith >= iouWithout + 0.1)
    }
}
