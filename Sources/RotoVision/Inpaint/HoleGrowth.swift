/// A removal hole grown over what its mask missed of the object right next to it: a tracked mask often
/// leaves out an ear, a hoof or a rim of the object, which a removal would then leave standing in the frame
/// and carry into the other frames' holes as a ghost (the background next to a hole is where their fill is
/// read). The object's colours against its surroundings' are learnt on the frame itself (``ColourModel``):
/// the hole's pixels against those between one and three reaches from it — not nearer, where the parts
/// the mask missed are. The hole then takes every pixel within `reach` of it, joined to it through such
/// pixels, whose colour the object's model favours by more than `threshold` (natural log of the ratio).
enum HoleGrowth {
    static func grown(_ hole: Mask, image: RGBImage, reach: Int, threshold: Float) -> Mask {
        let w = hole.width, h = hole.height
        precondition(image.width == w && image.height == h, "HoleGrowth: image and hole sizes differ")
        guard reach > 0, let box = hole.boundingBox else { return hole }
        // Everything happens within the hole's box grown by the colour model's margin.
        let margin = 3 * reach
        let x0 = max(0, box.x - margin), y0 = max(0, box.y - margin)
        let cw = min(w, box.x + box.width + margin) - x0, ch = min(h, box.y + box.height + margin) - y0
        let labels = MaskTracker.crop(hole.data, width: w, channels: 1, x: x0, y: y0, width: cw, height: ch, zero: 0)
        let crop = RGBImage(width: cw, height: ch,
                            pixels: MaskTracker.crop(image.pixels, width: w, channels: 3, x: x0, y: y0, width: cw, height: ch, zero: 0))
        let cropped = Mask(trusted: cw, ch, labels)
        let limit = cropped.dilated(radius: reach), outer = cropped.dilated(radius: margin)
        var objectCounts = [Float](repeating: 0, count: 4096), backgroundCounts = objectCounts
        var objectPixels: Float = 0, backgroundPixels: Float = 0
        crop.pixels.withUnsafeBufferPointer { px in
        labels.withUnsafeBufferPointer { H in
        limit.data.withUnsafeBufferPointer { L in
        outer.data.withUnsafeBufferPointer { O in
            for p in 0..<(cw * ch) {
                if H[p] != 0 {
                    objectCounts[ColourModel.bin(px, p)] += 1; objectPixels += 1
                } else if L[p] == 0 && O[p] != 0 {
                    backgroundCounts[ColourModel.bin(px, p)] += 1; backgroundPixels += 1
                }
            }
        }}}}
        let ratio = ColourModel(objectCounts: objectCounts, objectPixels: objectPixels,
                                backgroundCounts: backgroundCounts, backgroundPixels: backgroundPixels).logRatio()
        // Flood from the hole over the pixels within reach that look like the object.
        var grown = labels
        var queue: [Int32] = []
        crop.pixels.withUnsafeBufferPointer { px in
        ratio.withUnsafeBufferPointer { R in
        limit.data.withUnsafeBufferPointer { L in
        grown.withUnsafeMutableBufferPointer { G in
            @inline(__always) func visit(_ q: Int) {
                if G[q] == 0 && L[q] != 0 && R[ColourModel.bin(px, q)] > threshold { G[q] = 1; queue.append(Int32(q)) }
            }
            for p in 0..<(cw * ch) where G[p] != 0 { queue.append(Int32(p)) }
            var head = 0
            while head < queue.count {
                let p = Int(queue[head]); head += 1
                let x = p % cw
                if x > 0 { visit(p - 1) }
                if x + 1 < cw { visit(p + 1) }
                if p >= cw { visit(p - cw) }
                if p + cw < cw * ch { visit(p + cw) }
            }
        }}}}
        var out = hole.data
        for y in 0..<ch {
            let src = y * cw, dst = (y + y0) * w + x0
            for x in 0..<cw where grown[src + x] != 0 { out[dst + x] = 1 }
        }
        return Mask(trusted: w, h, out)
    }
}
