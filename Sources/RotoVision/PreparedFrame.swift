#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Number of colour bins per Lab axis for the colour models.
let colourBinsPerAxis = 32
let colourBinCount = colourBinsPerAxis * colourBinsPerAxis * colourBinsPerAxis

/// A frame analysed once for click segmentation: the working-resolution image, its superpixels and
/// their statistics. Reuse it for every click on the same frame; it is immutable and `Sendable`.
public struct PreparedFrame: Sendable {
    /// The working-resolution image the engine analysed.
    public let image: RGBImage
    /// Working width.
    public var width: Int { image.width }
    /// Working height.
    public var height: Int { image.height }
    /// Number of superpixels.
    public var regionCount: Int { spCount }

    let lab: LabImage
    let labels: [Int32]
    let spCount: Int
    let spSize: [Float]
    let spL: [Float], spA: [Float], spB: [Float]
    let spX: [Float], spY: [Float]
    let spBorder: [Float]  // fraction of the superpixel's pixels on the image border (0 if none)
    let spTexture: [Float]  // mean Lab gradient magnitude inside the superpixel
    // Sparse colour histogram per superpixel (CSR).
    let histStart: [Int32]
    let histBin: [UInt16]
    let histCount: [Float]
    // Adjacency (CSR, symmetric): neighbour, summed pairwise weight, colour distance of means.
    let adjStart: [Int32]
    let adjNode: [Int32]
    let adjWeight: [Float]
    let adjLength: [Float]
    let adjContrast: [Float]  // mean |ΔLab| over the pixel pairs straddling the shared boundary
    /// Mean displacement (working pixels) of each superpixel towards a nearby frame of the clip,
    /// interleaved u, v; empty when the frame was analysed alone.
    private(set) var spMotion: [Float] = []

    /// Analyses `image` (already at working resolution) into about `regions` superpixels.
    public init(image: RGBImage, regions: Int = 3000, compactness: Float = 10, iterations: Int = 5) {
        self.image = image
        let w = image.width, h = image.height, n = w * h
        let lab = LabImage(image)
        self.lab = lab
        let sp = Superpixels.slic(lab, target: regions, compactness: compactness, iterations: iterations)
        let k = sp.count
        labels = sp.labels
        spCount = k

        var size = [Float](repeating: 0, count: k)
        var sl = [Float](repeating: 0, count: k), sa = size, sb = size, sx = size, sy = size, border = size
        var tex = [Float](repeating: 0, count: k)
        var bins = [UInt16](repeating: 0, count: n)
        // Pairwise accumulation into per-superpixel neighbour slots.
        let slots = 48
        var nbN = [Int32](repeating: 0, count: k)
        var nbNode = [Int32](repeating: -1, count: k * slots)
        var nbW = [Float](repeating: 0, count: k * slots)
        var nbLen = [Float](repeating: 0, count: k * slots)
        var nbC = [Float](repeating: 0, count: k * slots)

        // beta = 1 / (2 * mean squared Lab difference between 4-neighbours).
        var sumSq: Double = 0
        var pairs = 0
        lab.l.withUnsafeBufferPointer { L in
            lab.a.withUnsafeBufferPointer { A in
                lab.b.withUnsafeBufferPointer { B in
                    for y in 0..<h {
                        var local: Float = 0
                        for x in 0..<w {
                            let p = y * w + x
                            if x + 1 < w {
                                let dl = L[p] - L[p + 1], da = A[p] - A[p + 1], db = B[p] - B[p + 1]
                                local += dl * dl + da * da + db * db
                                pairs += 1
                            }
                            if y + 1 < h {
                                let dl = L[p] - L[p + w], da = A[p] - A[p + w], db = B[p] - B[p + w]
                                local += dl * dl + da * da + db * db
                                pairs += 1
                            }
                        }
                        sumSq += Double(local)
                    }
                }
            }
        }
        let beta = Float(1.0 / (2.0 * max(sumSq / Double(max(pairs, 1)), 1e-3)))

        let nb = Float(colourBinsPerAxis)
        sp.labels.withUnsafeBufferPointer { lb in
            lab.l.withUnsafeBufferPointer { L in
                lab.a.withUnsafeBufferPointer { A in
                    lab.b.withUnsafeBufferPointer { B in
                        bins.withUnsafeMutableBufferPointer { bn in
                            nbN.withUnsafeMutableBufferPointer { nN in
                                nbNode.withUnsafeMutableBufferPointer { nNode in
                                    nbW.withUnsafeMutableBufferPointer { nW in
                                        nbLen.withUnsafeMutableBufferPointer { nLen in
                                        nbC.withUnsafeMutableBufferPointer { nC in
                                            @inline(__always) func link(_ i: Int, _ j: Int, _ wgt: Float, _ d2: Float) {
                                                let base = i * slots
                                                let cnt = Int(nN[i])
                                                let c = d2.squareRoot()
                                                for s in 0..<cnt where nNode[base + s] == Int32(j) {
                                                    nW[base + s] += wgt; nLen[base + s] += 1; nC[base + s] += c; return
                                                }
                                                if cnt < slots {
                                                    nNode[base + cnt] = Int32(j); nW[base + cnt] = wgt; nLen[base + cnt] = 1
                                                    nC[base + cnt] = c
                                                    nN[i] = Int32(cnt + 1)
                                                }
                                            }
                                            for y in 0..<h {
                                                for x in 0..<w {
                                                    let p = y * w + x
                                                    let c = Int(lb[p])
                                                    let l = L[p], a = A[p], b = B[p]
                                                    size[c] += 1
                                                    sl[c] += l; sa[c] += a; sb[c] += b
                                                    sx[c] += Float(x); sy[c] += Float(y)
                                                    if x == 0 || y == 0 || x == w - 1 || y == h - 1 { border[c] += 1 }
                                                    let bl = min(colourBinsPerAxis - 1, max(0, Int(l * nb / 100.001)))
                                                    let ba = min(colourBinsPerAxis - 1, max(0, Int((a + 80) * nb / 160)))
                                                    let bbb = min(colourBinsPerAxis - 1, max(0, Int((b + 80) * nb / 160)))
                                                    bn[p] = UInt16((bl * colourBinsPerAxis + ba) * colourBinsPerAxis + bbb)
                                                    var g: Float = 0
                                                    if x + 1 < w {
                                                        let dl = l - L[p + 1], da = a - A[p + 1], db = b - B[p + 1]
                                                        let d2 = dl * dl + da * da + db * db
                                                        g += d2
                                                        let c2 = Int(lb[p + 1])
                                                        if c2 != c {
                                                            let wgt = expf(-beta * d2)
                                                            link(c, c2, wgt, d2); link(c2, c, wgt, d2)
                                                        }
                                                    }
                                                    if y + 1 < h {
                                                        let dl = l - L[p + w], da = a - A[p + w], db = b - B[p + w]
                                                        let d2 = dl * dl + da * da + db * db
                                                        g += d2
                                                        let c2 = Int(lb[p + w])
                                                        if c2 != c {
                                                            let wgt = expf(-beta * d2)
                                                            link(c, c2, wgt, d2); link(c2, c, wgt, d2)
                                                        }
                                                    }
                                                    let gm = g.squareRoot()
                                                    tex[c] += gm
                                                }
                                            }
                                        }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for c in 0..<k where size[c] > 0 {
            let inv = 1 / size[c]
            sl[c] *= inv; sa[c] *= inv; sb[c] *= inv; sx[c] *= inv; sy[c] *= inv
            border[c] *= inv; tex[c] *= inv
        }
        spSize = size
        spL = sl; spA = sa; spB = sb; spX = sx; spY = sy; spBorder = border; spTexture = tex

        // CSR adjacency.
        var aStart = [Int32](repeating: 0, count: k + 1)
        for c in 0..<k { aStart[c + 1] = aStart[c] + nbN[c] }
        var aNode = [Int32](repeating: 0, count: Int(aStart[k]))
        var aW = [Float](repeating: 0, count: Int(aStart[k]))
        var aLen = [Float](repeating: 0, count: Int(aStart[k]))
        var aC = [Float](repeating: 0, count: Int(aStart[k]))
        for c in 0..<k {
            let base = Int(aStart[c])
            for s in 0..<Int(nbN[c]) {
                aNode[base + s] = nbNode[c * slots + s]
                aW[base + s] = nbW[c * slots + s]
                aLen[base + s] = nbLen[c * slots + s]
                aC[base + s] = nbC[c * slots + s] / max(1, nbLen[c * slots + s])
            }
        }
        adjStart = aStart; adjNode = aNode; adjWeight = aW; adjLength = aLen; adjContrast = aC

        // CSR colour histograms: counting sort of pixels by superpixel, then run-length of bins.
        var order = [Int32](repeating: 0, count: n)
        var start = [Int32](repeating: 0, count: k + 1)
        for p in 0..<n { start[Int(sp.labels[p]) + 1] += 1 }
        for c in 0..<k { start[c + 1] += start[c] }
        var fill = start
        for p in 0..<n {
            let c = Int(sp.labels[p])
            order[Int(fill[c])] = Int32(p)
            fill[c] += 1
        }
        var hStart = [Int32](repeating: 0, count: k + 1)
        var hBin = [UInt16]()
        var hCount = [Float]()
        hBin.reserveCapacity(n / 4)
        hCount.reserveCapacity(n / 4)
        var local = [Int32](repeating: 0, count: colourBinCount)
        var touched = [UInt16]()
        for c in 0..<k {
            touched.removeAll(keepingCapacity: true)
            for i in Int(start[c])..<Int(start[c + 1]) {
                let b = bins[Int(order[i])]
                if local[Int(b)] == 0 { touched.append(b) }
                local[Int(b)] += 1
            }
            for b in touched {
                hBin.append(b)
                hCount.append(Float(local[Int(b)]))
                local[Int(b)] = 0
            }
            hStart[c + 1] = Int32(hBin.count)
        }
        histStart = hStart; histBin = hBin; histCount = hCount
    }

    /// The same analysis with each superpixel's motion towards `other`, a nearby frame of the same clip
    /// at the same working size: the engine then also tells the object from its surroundings by how
    /// they move. An `other` of another size leaves the frame without motion.
    public func withMotion(towards other: RGBImage) -> PreparedFrame {
        guard other.width == width, other.height == height, spCount > 0 else { return self }
        let flow = DenseFlow().compute(from: FlowPyramid(image), to: FlowPyramid(other))
        guard flow.width == width, flow.height == height else { return self }
        var sum = [Float](repeating: 0, count: 2 * spCount)
        labels.withUnsafeBufferPointer { lb in
            flow.u.withUnsafeBufferPointer { U in
                flow.v.withUnsafeBufferPointer { V in
                    sum.withUnsafeMutableBufferPointer { S in
                        for p in 0..<lb.count {
                            let c = Int(lb[p]) * 2
                            S[c] += U[p]; S[c + 1] += V[p]
                        }
                    }
                }
            }
        }
        for c in 0..<spCount where spSize[c] > 0 {
            sum[2 * c] /= spSize[c]; sum[2 * c + 1] /= spSize[c]
        }
        var out = self
        out.spMotion = sum
        return out
    }

    /// `regions` and the regions next to them.
    func withNeighbours(_ regions: [Bool]) -> [Bool] {
        var out = regions
        for s in 0..<spCount where regions[s] {
            for e in Int(adjStart[s])..<Int(adjStart[s + 1]) { out[Int(adjNode[e])] = true }
        }
        return out
    }

    /// The superpixel under working pixel (`x`, `y`).
    func region(x: Int, y: Int) -> Int { Int(labels[y * image.width + x]) }

    /// Euclidean distance between the mean Lab colours of two superpixels.
    @inline(__always) func colourDistance(_ i: Int, _ j: Int) -> Float {
        let dl = spL[i] - spL[j], da = spA[i] - spA[j], db = spB[i] - spB[j]
        return (dl * dl + da * da + db * db).squareRoot()
    }

    /// The share of each region's pixels that `mask` (at the frame's size) covers.
    func share(of mask: Mask) -> [Float] {
        var inside = [Float](repeating: 0, count: spCount)
        labels.withUnsafeBufferPointer { lb in
            mask.data.withUnsafeBufferPointer { m in
                for p in 0..<lb.count where m[p] != 0 { inside[Int(lb[p])] += 1 }
            }
        }
        for s in 0..<spCount { inside[s] = spSize[s] > 0 ? inside[s] / spSize[s] : 0 }
        return inside
    }
}
