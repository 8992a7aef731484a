/// Exact Euclidean distance transforms and the benchmark click protocol.
public enum DistanceTransform {
    /// Squared Euclidean distance from every pixel to the nearest source pixel (Felzenszwalb–Huttenlocher);
    /// `isSource[p]` marks sources. Pixels with no source anywhere get `Float.infinity`.
    public static func squared(width w: Int, height h: Int, isSource: [Bool]) -> [Float] {
        let inf: Float = 1e20
        var f = [Float](repeating: 0, count: w * h)
        for p in 0..<(w * h) { f[p] = isSource[p] ? 0 : inf }
        var buf = [Float](repeating: 0, count: max(w, h))
        var out = [Float](repeating: 0, count: max(w, h))
        // Columns.
        for x in 0..<w {
            for y in 0..<h { buf[y] = f[y * w + x] }
            dt1(buf, h, &out)
            for y in 0..<h { f[y * w + x] = out[y] }
        }
        // Rows.
        for y in 0..<h {
            for x in 0..<w { buf[x] = f[y * w + x] }
            dt1(buf, w, &out)
            for x in 0..<w { f[y * w + x] = out[x] >= inf / 2 ? .infinity : out[x] }
        }
        return f
    }

    private static func dt1(_ f: [Float], _ n: Int, _ d: inout [Float]) {
        var v = [Int](repeating: 0, count: n)
        var z = [Float](repeating: 0, count: n + 1)
        var k = 0
        z[0] = -.infinity
        z[1] = .infinity
        if n == 0 { return }
        for q in 1..<n {
            var s: Float
            repeat {
                let p = v[k]
                s = ((f[q] + Float(q * q)) - (f[p] + Float(p * p))) / Float(2 * q - 2 * p)
                if s <= z[k] { k -= 1 } else { break }
            } while k >= 0
            k += 1
            v[k] = q
            z[k] = s
            z[k + 1] = .infinity
        }
        k = 0
        for q in 0..<n {
            while z[k + 1] < Float(q) { k += 1 }
            let dq = Float(q - v[k])
            d[q] = dq * dq + f[v[k]]
        }
    }
}

extension Mask {
    /// The benchmark click protocol: click 1 is the pixel deepest inside the mask (largest distance to
    /// the background, the area outside the image counting as background); each next click is the pixel
    /// farthest from both the background and the earlier clicks. Returns normalised pixel centres.
    public func interiorClicks(count: Int) -> [PointPrompt] {
        let w = width, h = height
        if w == 0 || h == 0 || isEmpty { return [] }
        // Pad by one pixel of background so the image border counts as outside.
        let pw = w + 2, ph = h + 2
        var source = [Bool](repeating: true, count: pw * ph)
        for y in 0..<h { for x in 0..<w where data[y * w + x] != 0 { source[(y + 1) * pw + x + 1] = false } }
        var clicks: [PointPrompt] = []
        for _ in 0..<count {
            let d = DistanceTransform.squared(width: pw, height: ph, isSource: source)
            var best: Float = 0, bp = -1
            for p in 0..<(pw * ph) where d[p] > best { best = d[p]; bp = p }
            if bp < 0 { break }
            let x = bp % pw - 1, y = bp / pw - 1
            clicks.append(PointPrompt(x: (Double(x) + 0.5) / Double(w), y: (Double(y) + 0.5) / Double(h)))
            source[bp] = true
        }
        return clicks
    }
}

extension Mask {
    /// The mask's 8-connected parts that come within `reach` (a fraction of the image diagonal) of one of
    /// `points` (normalised coordinates); empty without points.
    public func components(near points: [PointPrompt], within reach: Double) -> Mask {
        if points.isEmpty { return Mask(width: width, height: height) }
        let r = reach * Double(width * width + height * height).squareRoot()
        let r2 = r * r
        let centres = points.map { p in (p.x * Double(width), p.y * Double(height)) }
        return components { p in
            let px = Double(p % width) + 0.5, py = Double(p / width) + 0.5
            return centres.contains { (px - $0.0) * (px - $0.0) + (py - $0.1) * (py - $0.1) <= r2 }
        }
    }

    /// The mask's pixels inside some disc of `discs` (`inside`) or outside all of them (not `inside`).
    /// A disc is a centre pixel and a squared radius in pixels; a pixel at squared distance d² from the
    /// centre is in it when d² < r².
    func clipped(toDiscs discs: [(x: Int, y: Int, r2: Float)], inside: Bool) -> Mask {
        let w = width, h = height
        var out = inside ? [UInt8](repeating: 0, count: w * h) : data
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for d in discs where d.r2 > 0 {
                    let r = Int(d.r2.squareRoot())
                    for y in max(0, d.y - r)...min(h - 1, d.y + r) {
                        for x in max(0, d.x - r)...min(w - 1, d.x + r) {
                            let dx = Float(x - d.x), dy = Float(y - d.y)
                            if dx * dx + dy * dy < d.r2 { dst[y * w + x] = inside ? src[y * w + x] : 0 }
                        }
                    }
                }
            }
        }
        return Mask(trusted: w, h, out)
    }

    /// The mask's 8-connected parts that have a pixel where `touches` (a pixel index) holds.
    func components(where touches: (Int) -> Bool) -> Mask {
        if isEmpty { return Mask(width: width, height: height) }
        let (label, areas) = connectedComponents(data, width: width, height: height)
        var keep = [Bool](repeating: false, count: areas.count)
        for p in 0..<label.count where label[p] >= 0 && !keep[Int(label[p])] && touches(p) { keep[Int(label[p])] = true }
        var out = [UInt8](repeating: 0, count: width * height)
        for p in 0..<out.count where label[p] >= 0 && keep[Int(label[p])] { out[p] = 1 }
        return Mask(trusted: width, height, out)
    }
}
