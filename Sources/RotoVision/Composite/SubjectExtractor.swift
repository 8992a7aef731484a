#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Separates the subject of a reference image (a product shot, a person on a studio backdrop, a logo on
/// white) from a plain or simple background, for `swap` and `addition` edits.
///
/// Method:
/// 1. The background is modelled from a band along the image border (about 1 % of the short side): the
///    border pixels are clustered in CIE L\*a\*b\* (k-means, up to 4 clusters; clusters covering under 8 %
///    of the border, or under 30 % and all on one edge, are taken to be subject parts cut by the image
///    edge and are ignored), and an affine
///    colour ramp `c(x, y)` is fitted robustly to the same pixels so linear gradients are modelled exactly.
/// 2. Every pixel's distance to the nearest background model (darker-than-background lightness counts
///    60 %, so soft shadows on the backdrop lean to background) is divided by that model's tolerance
///    (2.5 × its spread, clamped to 7…18 ΔE); a smooth threshold puts the cut at 1.5 tolerances.
/// 3. Refinement: connected components of the foreground are kept when they are at least 1 % of the
///    largest one (and not specks), or hold the image centre; holes (background regions not reaching the
///    border) are filled when small (≤ 2 % of the subject) or not clearly background-coloured.
/// 4. Edges: in a band of ±2 px around the cut, alpha is estimated by projecting each pixel's colour on
///    the line from the local background colour to the nearby interior colour, and the colour is
///    decontaminated (replaced by the interior colour where alpha is partial), so no backdrop halo is
///    pasted; the alpha is then feathered by a [1 2 1] blur (about 1 px) and the result cropped to the
///    subject's bounding box.
///
/// If the background is not simple — under 60 % of the border explained by the background models
/// (border colours too varied: a photo, a busy scene) — or no subject is found, the whole image is kept
/// as the subject: opaque alpha with a 2-px feathered border. Images whose long side exceeds
/// ``maximumLongSide`` are area-downscaled to it first.
public enum SubjectExtractor {
    /// Longer side above which the reference image is downscaled before extraction.
    public static let maximumLongSide = 2048

    /// Extracts the subject of `image` (see the type's documentation for the method and the fallback).
    public static func extract(_ image: RGBImage) -> Cutout {
        extract(image, alpha: nil)
    }

    /// Extracts the subject of `image`; `alpha` is the image's own alpha plane (a PNG with transparency,
    /// `width * height` values, 255 opaque) when it has one. An alpha plane with real transparency (at
    /// least 1 % of the pixels under half opacity, and some pixels visible) is used as is, cropped to its
    /// visible bounding box; otherwise (no alpha, a wrong size, or all opaque) the subject is extracted
    /// from the colours.
    public static func extract(_ image: RGBImage, alpha: [UInt8]?) -> Cutout {
        let w = image.width, h = image.height
        if w == 0 || h == 0 { return Cutout(opaque: image) }
        if let alpha, alpha.count == w * h, hasRealTransparency(alpha) {
            return fromAlpha(image, alpha)
        }
        let size = RGBImage.workingSize(width: w, height: h, longSide: maximumLongSide)
        let img = image.downscaled(width: size.width, height: size.height)
        return extractFromColour(img)
    }

    // MARK: - Given alpha

    static func hasRealTransparency(_ alpha: [UInt8]) -> Bool {
        var low = 0, visible = 0
        alpha.withUnsafeBufferPointer { a in
            for v in a {
                if v < 128 { low += 1 }
                if v > 0 { visible += 1 }
            }
        }
        return low * 100 >= alpha.count && visible > 0
    }

    static func fromAlpha(_ image: RGBImage, _ alpha: [UInt8]) -> Cutout {
        var img = image, a = alpha
        let size = RGBImage.workingSize(width: image.width, height: image.height, longSide: maximumLongSide)
        if size.width != image.width || size.height != image.height {
            // Downscale the alpha with the colour, premultiplied so transparent colours do not bleed.
            var pre = [UInt8](repeating: 0, count: alpha.count * 3)
            var grey = [UInt8](repeating: 0, count: alpha.count * 3)
            for i in 0..<alpha.count {
                let av = UInt32(alpha[i])
                for c in 0..<3 { pre[i * 3 + c] = UInt8((UInt32(image.pixels[i * 3 + c]) * av + 127) / 255) }
                grey[i * 3] = alpha[i]; grey[i * 3 + 1] = alpha[i]; grey[i * 3 + 2] = alpha[i]
            }
            let p = RGBImage(width: image.width, height: image.height, pixels: pre)
                .downscaled(width: size.width, height: size.height)
            let g = RGBImage(width: image.width, height: image.height, pixels: grey)
                .downscaled(width: size.width, height: size.height)
            let n = size.width * size.height
            var out = [UInt8](repeating: 0, count: n * 3)
            a = [UInt8](repeating: 0, count: n)
            for i in 0..<n {
                let av = Int(g.pixels[i * 3])
                a[i] = UInt8(av)
                if av > 0 {
                    for c in 0..<3 { out[i * 3 + c] = UInt8(min(255, (Int(p.pixels[i * 3 + c]) * 255 + av / 2) / av)) }
                }
            }
            img = RGBImage(width: size.width, height: size.height, pixels: out)
        }
        guard let box = alphaBounds(a, width: img.width, height: img.height) else { return Cutout(opaque: img) }
        return crop(img, a, box)
    }

    // MARK: - Colour extraction

    /// One background model: a colour cluster (constant colour) or the affine ramp.
    struct BackgroundModel {
        var lab: (Float, Float, Float)
        var rgb: (Float, Float, Float)
        /// Affine ramp coefficients per channel (constant, ∂/∂x, ∂/∂y over normalised coordinates), or nil.
        var rampLab: [[Float]]?
        var rampRGB: [[Float]]?
        var tolerance: Float
    }

    static func extractFromColour(_ img: RGBImage) -> Cutout {
        let w = img.width, h = img.height, n = w * h
        if w < 8 || h < 8 { return wholeImage(img) }
        let lab = LabImage(img)
        guard let models = backgroundModels(img, lab) else { return wholeImage(img) }

        // Normalised distance to the background and the nearest model, per pixel.
        var dist = [Float](repeating: 0, count: n)
        var nearest = [UInt8](repeating: 0, count: n)
        distances(lab, models, &dist, &nearest)

        // Binary foreground at 1.5 tolerances.
        var fg = [UInt8](repeating: 0, count: n)
        var count = 0
        dist.withUnsafeBufferPointer { d in
            fg.withUnsafeMutableBufferPointer { f in
                for i in 0..<n where d[i] >= 1.5 { f[i] = 1; count += 1 }
            }
        }
        if count * 500 < n { return wholeImage(img) }

        keepSubjectComponents(&fg, w, h)
        fillHoles(&fg, w, h, dist)
        if fg.reduce(0, { $0 + Int($1) }) * 500 < n { return wholeImage(img) }

        var alpha = [Float](repeating: 0, count: n)
        var rgb = img.pixels
        matteEdges(img, fg, models, nearest, &alpha, &rgb)
        let a8 = featherAlpha(alpha, w, h)
        guard let box = alphaBounds(a8, width: w, height: h) else { return wholeImage(img) }
        return crop(RGBImage(width: w, height: h, pixels: rgb), a8, box)
    }

    /// Builds the background models from the border band, or nil when the background is not simple.
    static func backgroundModels(_ img: RGBImage, _ lab: LabImage) -> [BackgroundModel]? {
        let w = img.width, h = img.height
        let band = max(2, min(w, h) / 100)
        // Border samples (subsampled to at most ~20k).
        var idx: [Int] = []
        let perimeter = 2 * (w + h) * band
        let stride = max(1, perimeter / 20000)
        var k = 0
        for y in 0..<h {
            let edgeRow = y < band || y >= h - band
            var x = 0
            while x < w {
                if edgeRow || x < band || x >= w - band {
                    if k % stride == 0 { idx.append(y * w + x) }
                    k += 1
                    x += 1
                } else {
                    x = w - band
                }
            }
        }
        let m = idx.count
        if m < 16 { return nil }
        // Which border edge each sample is nearest to (0 top, 1 bottom, 2 left, 3 right).
        let edgeOf: [UInt8] = idx.map { p in
            let x = p % w, y = p / w
            let d = [y, h - 1 - y, x, w - 1 - x]
            return UInt8(d.firstIndex(of: d.min()!)!)
        }
        var sl = [Float](repeating: 0, count: m), sa = sl, sb = sl
        var sr = sl, sg = sl, sbl = sl, sx = sl, sy = sl
        for (j, p) in idx.enumerated() {
            sl[j] = lab.l[p]; sa[j] = lab.a[p]; sb[j] = lab.b[p]
            sr[j] = Float(img.pixels[p * 3]); sg[j] = Float(img.pixels[p * 3 + 1]); sbl[j] = Float(img.pixels[p * 3 + 2])
            sx[j] = (Float(p % w) + 0.5) / Float(w); sy[j] = (Float(p / w) + 0.5) / Float(h)
        }

        // k-means (k ≤ 4) with deterministic farthest-point initialisation.
        let kMax = 4
        var centres: [(Float, Float, Float)] = []
        var mean = (Float(0), Float(0), Float(0))
        for j in 0..<m { mean.0 += sl[j]; mean.1 += sa[j]; mean.2 += sb[j] }
        mean = (mean.0 / Float(m), mean.1 / Float(m), mean.2 / Float(m))
        // Start from the sample nearest the mean, then add the farthest samples.
        var nearD = [Float](repeating: .infinity, count: m)
        func d2(_ j: Int, _ c: (Float, Float, Float)) -> Float {
            let dl = sl[j] - c.0, da = sa[j] - c.1, db = sb[j] - c.2
            return dl * dl + da * da + db * db
        }
        var first = 0, best = Float.infinity
        for j in 0..<m { let d = d2(j, mean); if d < best { best = d; first = j } }
        centres.append((sl[first], sa[first], sb[first]))
        while centres.count < kMax {
            var far = -1, farD: Float = 4  // ignore samples within 2 ΔE of a centre
            for j in 0..<m {
                nearD[j] = min(nearD[j], d2(j, centres[centres.count - 1]))
                if nearD[j] > farD { farD = nearD[j]; far = j }
            }
            if far < 0 { break }
            centres.append((sl[far], sa[far], sb[far]))
        }
        var assign = [Int](repeating: 0, count: m)
        for _ in 0..<10 {
            var sums = [(Float, Float, Float, Int)](repeating: (0, 0, 0, 0), count: centres.count)
            for j in 0..<m {
                var bi = 0, bd = Float.infinity
                for (c, ctr) in centres.enumerated() { let d = d2(j, ctr); if d < bd { bd = d; bi = c } }
                assign[j] = bi
                sums[bi].0 += sl[j]; sums[bi].1 += sa[j]; sums[bi].2 += sb[j]; sums[bi].3 += 1
            }
            for c in centres.indices where sums[c].3 > 0 {
                let q = Float(sums[c].3)
                centres[c] = (sums[c].0 / q, sums[c].1 / q, sums[c].2 / q)
            }
        }
        var models: [BackgroundModel] = []
        for (c, ctr) in centres.enumerated() {
            var cnt = 0, ss: Float = 0
            var rgb = (Float(0), Float(0), Float(0))
            var perEdge = [0, 0, 0, 0]
            for j in 0..<m where assign[j] == c {
                cnt += 1; ss += d2(j, ctr)
                rgb.0 += sr[j]; rgb.1 += sg[j]; rgb.2 += sbl[j]
                perEdge[Int(edgeOf[j])] += 1
            }
            // Too small to be backdrop: a subject part touching the border.
            if cnt * 100 < 8 * m { continue }
            // On one edge only and under 30 % of the border: a subject cut by that edge (a torso at the
            // bottom), not backdrop, which reaches round the corners.
            if perEdge.max()! * 100 >= 95 * cnt && cnt * 100 < 30 * m { continue }
            let sigma = sqrtf(ss / Float(cnt))
            if sigma > 12 { continue }
            let q = Float(cnt)
            models.append(BackgroundModel(lab: ctr, rgb: (rgb.0 / q, rgb.1 / q, rgb.2 / q), rampLab: nil, rampRGB: nil,
                                          tolerance: min(18, max(7, 2.5 * sigma))))
        }

        // Robust affine ramp over the border (handles linear gradients of any direction).
        var inlier = [Bool](repeating: true, count: m)
        var rampLab: [[Float]] = [], rampRGB: [[Float]] = []
        var rms: Float = .infinity, inliers = 0
        for _ in 0..<4 {
            guard let cl = fitAffine(sx, sy, sl, inlier), let ca = fitAffine(sx, sy, sa, inlier),
                  let cb = fitAffine(sx, sy, sb, inlier) else { break }
            rampLab = [cl, ca, cb]
            var res = [Float](repeating: 0, count: m)
            for j in 0..<m {
                let dl = sl[j] - (cl[0] + cl[1] * sx[j] + cl[2] * sy[j])
                let da = sa[j] - (ca[0] + ca[1] * sx[j] + ca[2] * sy[j])
                let db = sb[j] - (cb[0] + cb[1] * sx[j] + cb[2] * sy[j])
                res[j] = sqrtf(dl * dl + da * da + db * db)
            }
            let sorted = res.sorted()
            let median = sorted[m / 2]
            let cut = max(6, 2.5 * median)
            inliers = 0
            var ss: Float = 0
            for j in 0..<m {
                inlier[j] = res[j] <= cut
                if inlier[j] { inliers += 1; ss += res[j] * res[j] }
            }
            rms = inliers > 0 ? sqrtf(ss / Float(inliers)) : .infinity
        }
        if !rampLab.isEmpty, inliers * 10 >= 6 * m, rms <= 6,
           let cr = fitAffine(sx, sy, sr, inlier), let cg = fitAffine(sx, sy, sg, inlier),
           let cbl = fitAffine(sx, sy, sbl, inlier) {
            rampRGB = [cr, cg, cbl]
            models.append(BackgroundModel(lab: (0, 0, 0), rgb: (0, 0, 0), rampLab: rampLab, rampRGB: rampRGB,
                                          tolerance: min(18, max(7, 2.5 * rms))))
        }
        if models.isEmpty || models.count > 255 { return nil }

        // Simplicity: the models must explain at least 60 % of the border.
        var explained = 0
        for j in 0..<m {
            for md in models {
                let d: Float
                if let r = md.rampLab {
                    let pl = r[0][0] + r[0][1] * sx[j] + r[0][2] * sy[j]
                    let pa = r[1][0] + r[1][1] * sx[j] + r[1][2] * sy[j]
                    let pb = r[2][0] + r[2][1] * sx[j] + r[2][2] * sy[j]
                    d = sqrtf(d2(j, (pl, pa, pb)))
                } else {
                    d = sqrtf(d2(j, md.lab))
                }
                if d < md.tolerance { explained += 1; break }
            }
        }
        return explained * 10 >= 6 * m ? models : nil
    }

    /// Least-squares fit of `v ≈ c0 + c1·x + c2·y` over the samples where `use` is true.
    static func fitAffine(_ x: [Float], _ y: [Float], _ v: [Float], _ use: [Bool]) -> [Float]? {
        fitPlanes(x: x, y: y, weights: use.map { $0 ? 1 : 0 }, values: [v])?[0].map(Float.init)
    }

    /// Per pixel: distance to the nearest background model in units of its tolerance, and that model.
    static func distances(_ lab: LabImage, _ models: [BackgroundModel], _ dist: inout [Float], _ nearest: inout [UInt8]) {
        let w = lab.width, h = lab.height
        lab.l.withUnsafeBufferPointer { L in
        lab.a.withUnsafeBufferPointer { A in
        lab.b.withUnsafeBufferPointer { B in
        dist.withUnsafeMutableBufferPointer { D in
        nearest.withUnsafeMutableBufferPointer { N in
            for i in 0..<(w * h) { D[i] = .infinity }
            for (mi, md) in models.enumerated() {
                let inv = 1 / md.tolerance
                let tag = UInt8(mi)
                for y in 0..<h {
                    let fy = (Float(y) + 0.5) / Float(h)
                    var cl = md.lab.0, ca = md.lab.1, cb = md.lab.2
                    var gl: Float = 0, ga: Float = 0, gb: Float = 0
                    if let r = md.rampLab {
                        cl = r[0][0] + r[0][2] * fy; ca = r[1][0] + r[1][2] * fy; cb = r[2][0] + r[2][2] * fy
                        gl = r[0][1] / Float(w); ga = r[1][1] / Float(w); gb = r[2][1] / Float(w)
                        cl += gl * 0.5; ca += ga * 0.5; cb += gb * 0.5
                    }
                    let row = y * w
                    for x in 0..<w {
                        let fx = Float(x)
                        let i = row + x
                        var dl = L[i] - (cl + gl * fx)
                        if dl < 0 { dl *= 0.6 }
                        let da = A[i] - (ca + ga * fx), db = B[i] - (cb + gb * fx)
                        let d = (dl * dl + da * da + db * db).squareRoot() * inv
                        if d < D[i] { D[i] = d; N[i] = tag }
                    }
                }
            }
        }}}}}
    }

    /// Keeps the foreground components that make up the subject (8-connected).
    static func keepSubjectComponents(_ fg: inout [UInt8], _ w: Int, _ h: Int) {
        let n = w * h
        let (label, areas) = connectedComponents(fg, width: w, height: h)
        guard let largest = areas.max() else { return }
        let minArea = max(max(4, n / 5000), largest / 100)
        var keep = areas.map { $0 >= minArea }
        let centre = label[(h / 2) * w + w / 2]
        if centre >= 0 { keep[Int(centre)] = true }
        label.withUnsafeBufferPointer { lab in
            fg.withUnsafeMutableBufferPointer { f in
                for i in 0..<n where f[i] != 0 && !keep[Int(lab[i])] { f[i] = 0 }
            }
        }
    }

    /// Fills background regions enclosed by the subject (4-connected, not reaching the border) when they
    /// are small or not clearly background-coloured.
    static func fillHoles(_ fg: inout [UInt8], _ w: Int, _ h: Int, _ dist: [Float]) {
        let n = w * h
        var subjectArea = 0
        for v in fg { subjectArea += Int(v) }
        var seen = [Bool](repeating: false, count: n)
        var stack: [Int32] = [], region: [Int32] = []
        fg.withUnsafeMutableBufferPointer { f in
            seen.withUnsafeMutableBufferPointer { seen in
                dist.withUnsafeBufferPointer { d in
                    for s in 0..<n where f[s] == 0 && !seen[s] {
                        region.removeAll(keepingCapacity: true)
                        var touches = false
                        var sumD: Float = 0
                        seen[s] = true
                        stack.append(Int32(s))
                        while let p32 = stack.popLast() {
                            let p = Int(p32)
                            region.append(p32)
                            sumD += min(d[p], 1.5)
                            let px = p % w, py = p / w
                            if px == 0 || py == 0 || px == w - 1 || py == h - 1 { touches = true }
                            if px > 0, f[p - 1] == 0, !seen[p - 1] { seen[p - 1] = true; stack.append(Int32(p - 1)) }
                            if px < w - 1, f[p + 1] == 0, !seen[p + 1] { seen[p + 1] = true; stack.append(Int32(p + 1)) }
                            if py > 0, f[p - w] == 0, !seen[p - w] { seen[p - w] = true; stack.append(Int32(p - w)) }
                            if py < h - 1, f[p + w] == 0, !seen[p + w] { seen[p + w] = true; stack.append(Int32(p + w)) }
                        }
                        if touches { continue }
                        let small = region.count * 50 <= subjectArea
                        let notBackground = sumD / Float(region.count) >= 0.5
                        if small || notBackground {
                            for p in region { f[Int(p)] = 1 }
                        }
                    }
                }
            }
        }
    }

    /// Alpha and decontaminated colour in a ±2 px band around the cut; 0/1 elsewhere.
    static func matteEdges(_ img: RGBImage, _ fg: [UInt8], _ models: [BackgroundModel], _ nearest: [UInt8],
                           _ alpha: inout [Float], _ rgb: inout [UInt8]) {
        let w = img.width, h = img.height, n = w * h
        let dil = CompositeMorphology.maxFilter(fg, w, h, radius: 2)
        let ero = CompositeMorphology.minFilter(fg, w, h, radius: 2)
        var bandIdx: [Int32] = []
        for i in 0..<n {
            if ero[i] != 0 { alpha[i] = 1 } else if dil[i] != 0 { bandIdx.append(Int32(i)) }
        }
        if bandIdx.isEmpty { return }
        // Interior colour propagated outward into the band (averages of known 3×3 neighbours).
        var known = ero
        var fr = [Float](repeating: 0, count: n), fgc = fr, fb = fr
        img.pixels.withUnsafeBufferPointer { px in
            for i in 0..<n where ero[i] != 0 {
                fr[i] = Float(px[i * 3]); fgc[i] = Float(px[i * 3 + 1]); fb[i] = Float(px[i * 3 + 2])
            }
        }
        var pending = bandIdx
        for _ in 0..<6 where !pending.isEmpty {
            var newly: [(Int32, Float, Float, Float)] = []
            var still: [Int32] = []
            for p32 in pending {
                var r: Float = 0, g: Float = 0, b: Float = 0, c: Float = 0
                forEachNeighbourhoodPixel(of: Int(p32), width: w, height: h) { q in
                    if known[q] != 0 { r += fr[q]; g += fgc[q]; b += fb[q]; c += 1 }
                }
                if c > 0 { newly.append((p32, r / c, g / c, b / c)) } else { still.append(p32) }
            }
            for (p32, r, g, b) in newly {
                let p = Int(p32)
                known[p] = 1; fr[p] = r; fgc[p] = g; fb[p] = b
            }
            pending = still
        }
        // Project each band pixel on the background → interior colour line.
        for p32 in bandIdx {
            let p = Int(p32)
            let ir = Float(img.pixels[p * 3]), ig = Float(img.pixels[p * 3 + 1]), ib = Float(img.pixels[p * 3 + 2])
            let md = models[Int(nearest[p])]
            var br = md.rgb.0, bg = md.rgb.1, bb = md.rgb.2
            if let r = md.rampRGB {
                let x = (Float(p % w) + 0.5) / Float(w), y = (Float(p / w) + 0.5) / Float(h)
                br = r[0][0] + r[0][1] * x + r[0][2] * y
                bg = r[1][0] + r[1][1] * x + r[1][2] * y
                bb = r[2][0] + r[2][1] * x + r[2][2] * y
            }
            let binary: Float = fg[p] != 0 ? 1 : 0
            guard known[p] != 0 else { alpha[p] = binary; continue }
            let dr = fr[p] - br, dg = fgc[p] - bg, db = fb[p] - bb
            let len2 = dr * dr + dg * dg + db * db
            if len2 < 900 { alpha[p] = binary; continue }
            var a = ((ir - br) * dr + (ig - bg) * dg + (ib - bb) * db) / len2
            // Projection noise of flat colours: snap near-0 and near-1 values.
            a = a < 0.1 ? 0 : (a > 0.9 ? 1 : a)
            alpha[p] = a
            if a < 0.9 {
                rgb[p * 3] = UInt8(fr[p].rounded()); rgb[p * 3 + 1] = UInt8(fgc[p].rounded())
                rgb[p * 3 + 2] = UInt8(fb[p].rounded())
            }
        }
    }

    /// [1 2 1] ⊗ [1 2 1] blur of the alpha (about 1 px of feathering), to 8 bits.
    static func featherAlpha(_ alpha: [Float], _ w: Int, _ h: Int) -> [UInt8] {
        var tmp = [Float](repeating: 0, count: w * h)
        var out = [UInt8](repeating: 0, count: w * h)
        alpha.withUnsafeBufferPointer { a in
            tmp.withUnsafeMutableBufferPointer { t in
                out.withUnsafeMutableBufferPointer { o in
                    for y in 0..<h {
                        let row = y * w
                        for x in 0..<w {
                            let l = a[row + max(0, x - 1)], r = a[row + min(w - 1, x + 1)]
                            t[row + x] = (l + 2 * a[row + x] + r) * 0.25
                        }
                    }
                    for y in 0..<h {
                        let up = max(0, y - 1) * w, row = y * w, dn = min(h - 1, y + 1) * w
                        for x in 0..<w {
                            let v = (t[up + x] + 2 * t[row + x] + t[dn + x]) * 0.25
                            o[row + x] = UInt8(min(255, max(0, v * 255 + 0.5)))
                        }
                    }
                }
            }
        }
        return out
    }

    /// The whole image as the subject: opaque, with a 2-px feathered border.
    static func wholeImage(_ img: RGBImage) -> Cutout {
        let w = img.width, h = img.height
        var a = [UInt8](repeating: 255, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let edge = min(min(x, w - 1 - x), min(y, h - 1 - y))
                if edge < 2 { a[y * w + x] = edge == 0 ? 85 : 170 }
            }
        }
        return Cutout(rgb: img, alpha: a)
    }

    /// Bounding box of the pixels with non-zero alpha.
    static func alphaBounds(_ a: [UInt8], width w: Int, height h: Int) -> PixelRect? {
        Mask(trusted: w, h, a.map { $0 != 0 ? 1 : 0 }).boundingBox
    }

    /// Crops colour and alpha to `box`.
    static func crop(_ img: RGBImage, _ a: [UInt8], _ box: PixelRect) -> Cutout {
        let w = img.width
        var px = [UInt8](repeating: 0, count: box.width * box.height * 3)
        var al = [UInt8](repeating: 0, count: box.width * box.height)
        for y in 0..<box.height {
            let s = (box.y + y) * w + box.x
            for x in 0..<box.width {
                al[y * box.width + x] = a[s + x]
                px[(y * box.width + x) * 3] = img.pixels[(s + x) * 3]
                px[(y * box.width + x) * 3 + 1] = img.pixels[(s + x) * 3 + 1]
                px[(y * box.width + x) * 3 + 2] = img.pixels[(s + x) * 3 + 2]
            }
        }
        var cut = Cutout(rgb: RGBImage(width: box.width, height: box.height, pixels: px), alpha: al)
        cut.originX = box.x; cut.originY = box.y
        return cut
    }
}

/// Separable square max/min filters on 0/1 planes.
enum CompositeMorphology {
    /// Dilation by a (2r+1)² square.
    static func maxFilter(_ m: [UInt8], _ w: Int, _ h: Int, radius r: Int) -> [UInt8] {
        filter(m, w, h, r, isMax: true)
    }

    /// Erosion by a (2r+1)² square (outside the image counts as foreground, so a subject cut by the
    /// image edge is not eroded there).
    static func minFilter(_ m: [UInt8], _ w: Int, _ h: Int, radius r: Int) -> [UInt8] {
        filter(m, w, h, r, isMax: false)
    }

    private static func filter(_ m: [UInt8], _ w: Int, _ h: Int, _ r: Int, isMax: Bool) -> [UInt8] {
        var tmp = [UInt8](repeating: 0, count: w * h)
        var out = [UInt8](repeating: 0, count: w * h)
        let outside: UInt8 = isMax ? 0 : 1
        m.withUnsafeBufferPointer { s in
            tmp.withUnsafeMutableBufferPointer { t in
                out.withUnsafeMutableBufferPointer { o in
                    for y in 0..<h {
                        let row = y * w
                        for x in 0..<w {
                            var v: UInt8 = isMax ? 0 : 1
                            for dx in -r...r {
                                let qx = x + dx
                                let q = qx < 0 || qx >= w ? outside : s[row + qx]
                                v = isMax ? max(v, q) : min(v, q)
                            }
                            t[row + x] = v
                        }
                    }
                    for y in 0..<h {
                        for x in 0..<w {
                            var v: UInt8 = isMax ? 0 : 1
                            for dy in -r...r {
                                let qy = y + dy
                                let q = qy < 0 || qy >= h ? outside : t[qy * w + x]
                                v = isMax ? max(v, q) : min(v, q)
                            }
                            o[y * w + x] = v
                        }
                    }
                }
            }
        }
        return out
    }
}
