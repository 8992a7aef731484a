@testable import RotoVision

/// A synthetic clip of `count` frames of `width` × `height` and its true masks: `pixel(t, x, y)` gives
/// each pixel's colour on frame `t` and whether it belongs to the object.
func syntheticClip(width w: Int, height h: Int, count: Int,
                   pixel: (_ t: Int, _ x: Int, _ y: Int) -> (rgb: (UInt8, UInt8, UInt8), object: Bool))
    -> (frames: [RGBImage], truth: [Mask]) {
    var frames: [RGBImage] = [], truth: [Mask] = []
    for t in 0..<count {
        var px = [UInt8](repeating: 0, count: w * h * 3)
        var mask = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let p = y * w + x
                let v = pixel(t, x, y)
                px[3 * p] = v.rgb.0; px[3 * p + 1] = v.rgb.1; px[3 * p + 2] = v.rgb.2
                if v.object { mask[p] = 1 }
            }
        }
        frames.append(RGBImage(width: w, height: h, pixels: px))
        truth.append(Mask(width: w, height: h, data: mask))
    }
    return (frames, truth)
}
