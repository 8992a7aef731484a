// Pictures of intermediate results, for the benchmarks' dumps (pure pixel work; the callers write them).

extension RGBImage {
    /// The image as binary PPM (P6): viewable and convertible by any image tool.
    public var ppm: [UInt8] { Array("P6\n\(width) \(height)\n255\n".utf8) + pixels }

    /// The image dimmed, `mask` tinted green, the outline of `truth` in red, and the `clicks` as squares
    /// of half-width `clickRadius` (include: yellow, exclude: blue). Both masks have the image's size.
    public func diagnosticOverlay(mask: Mask, truth: Mask, clicks: [PointPrompt] = [], clickRadius: Int = 3) -> RGBImage {
        precondition(mask.width == width && mask.height == height && truth.width == width && truth.height == height,
                     "diagnosticOverlay: mask size mismatch")
        let w = width, h = height
        var px = pixels
        for p in 0..<(w * h) {
            var r = Int(px[3 * p]) / 2, g = Int(px[3 * p + 1]) / 2, b = Int(px[3 * p + 2]) / 2
            if mask.data[p] != 0 { g += 110; r += 10 }
            let x = p % w, y = p / w, tv = truth.data[p]
            if (x > 0 && truth.data[p - 1] != tv) || (y > 0 && truth.data[p - w] != tv) { r = 255; g = 0; b = 0 }
            px[3 * p] = UInt8(min(255, r)); px[3 * p + 1] = UInt8(min(255, g)); px[3 * p + 2] = UInt8(min(255, b))
        }
        for q in clicks where w > 0 && h > 0 {
            let c = q.pixel(width: w, height: h)
            for y in max(0, c.y - clickRadius)...min(h - 1, c.y + clickRadius) {
                for x in max(0, c.x - clickRadius)...min(w - 1, c.x + clickRadius) {
                    let p = y * w + x
                    px[3 * p] = q.positive ? 255 : 0; px[3 * p + 1] = q.positive ? 255 : 0; px[3 * p + 2] = q.positive ? 0 : 255
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: px)
    }
}
