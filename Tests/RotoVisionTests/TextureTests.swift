import Testing
@testable import RotoVision

/// A striped disc (2 px stripes of light grey and blue) moving 4 px a frame along a flat light-grey line
/// (6 px tall, under the disc's lower edge) on green: colour alone says the line belongs to the disc
/// (half the disc is that grey, little else around it is), texture says it does not (the disc's grey
/// pixels sit on stripes, the line's middle rows are flat).
private func stripedDiscClip() -> (frames: [RGBImage], truth: [Mask]) {
    let w = 240, h = 136, r = 24.0
    var frames: [RGBImage] = [], truth: [Mask] = []
    for t in 0..<20 {
        let cx = 50 + 4 * Double(t), cy = 60.0
        var px = [UInt8](repeating: 0, count: w * h * 3)
        var mask = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let p = y * w + x
                let fx = Double(x) + 0.5, fy = Double(y) + 0.5
                var rgb: (UInt8, UInt8, UInt8) = y >= 80 && y < 86 ? (200, 200, 200) : (40, 140, 60)
                if (fx - cx) * (fx - cx) + (fy - cy) * (fy - cy) <= r * r {
                    // Stripes fixed to the disc, so they move with it.
                    let stripe = Int((fx - cx + 64).rounded(.down)) / 2 % 2
                    rgb = stripe == 0 ? (200, 200, 200) : (40, 40, 160)
                    mask[p] = 1
                }
                px[3 * p] = rgb.0; px[3 * p + 1] = rgb.1; px[3 * p + 2] = rgb.2
            }
        }
        frames.append(RGBImage(width: w, height: h, pixels: px))
        truth.append(Mask(width: w, height: h, data: mask))
    }
    return (frames, truth)
}

@Suite struct TextureTests {
    @Test("contrast levels: flat is 0, a strong edge is 3, the outer rows and columns are 0")
    func levels() {
        var px = [UInt8](repeating: 100, count: 6 * 4 * 3)
        for y in 0..<4 { for x in 3..<6 { for c in 0..<3 { px[(y * 6 + x) * 3 + c] = 200 } } }
        let l = TextureModel.levels(RGBImage(width: 6, height: 4, pixels: px))
        #expect(l[1 * 6 + 1] == 0)  // flat
        #expect(l[1 * 6 + 2] == 3 && l[1 * 6 + 3] == 3)  // either side of the edge: |∂x| = 100
        #expect(l[0 * 6 + 2] == 0 && l[1 * 6 + 0] == 0)  // outer row and column
    }

    @Test("texture tells a flat line from a striped object of the same colours")
    func stripedDiscLeavesFlatLine() {
        let (frames, truth) = stripedDiscClip()
        var with = MaskTracker.Configuration()
        with.motionWeight = 0  // colour, texture and the prior only
        with.independentMotion = 0
        var without = with
        without.textureWeight = 0
        let anchor = SelectionLabels(width: 240, height: 136, labels: truth[0].data, objectIDs: [1])
        let a = MaskTracker(configuration: with).track(frames: frames, anchors: [0: anchor], objectIDs: [1])
        let b = MaskTracker(configuration: without).track(frames: frames, anchors: [0: anchor], objectIDs: [1])
        func iou(_ o: [SelectionLabels], _ t: Int) -> Double { o[t].masks()[1]!.iou(truth[t]) }
        let last = (iou(a, 19), iou(b, 19))
        let mean = ((1..<20).map { iou(a, $0) }.reduce(0, +) / 19, (1..<20).map { iou(b, $0) }.reduce(0, +) / 19)
        print("tracker striped disc on a flat line: frame 19 IoU \(last.0) with texture, \(last.1) without; mean \(mean.0) and \(mean.1)")
        // Measured when written: frame 19 0.967 with texture, 0.623 without (the mask runs along the line).
        #expect(last.0 >= 0.9)
        #expect(last.0 >= last.1 + 0.1)
    }
}
