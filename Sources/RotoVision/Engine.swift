#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A click → mask engine. Implementations must be thread-safe values.
public protocol SegmentationEngine: Sendable {
    /// Segments every object of `objects` on one frame jointly, so that a pixel belongs to at most one
    /// object. Returns one mask per object ID at the size of `image`; an object that cannot be segmented
    /// at its points (for example, it has no include point) gets an empty mask.
    func segment(_ image: RGBImage, objects: [ObjectPrompt]) -> [Int: Mask]
}

/// The joint result of segmenting the objects of one frame: a label map (0 = no object,
/// `i + 1` = `objectIDs[i]`), at working or full resolution.
public struct SelectionLabels: Sendable, Equatable {
    /// Width of the label map.
    public let width: Int
    /// Height of the label map.
    public let height: Int
    /// One byte per pixel, row-major: 0 for no object, `i + 1` for `objectIDs[i]`.
    public var labels: [UInt8]
    /// Object IDs in label order.
    public let objectIDs: [Int]

    /// Creates a label map; `labels.count` must be `width * height`.
    public init(width: Int, height: Int, labels: [UInt8], objectIDs: [Int]) {
        precondition(labels.count == width * height && objectIDs.count < 256)
        self.width = width
        self.height = height
        self.labels = labels
        self.objectIDs = objectIDs
    }

    /// One mask per object ID (an object without pixels gets an empty mask).
    public func masks() -> [Int: Mask] {
        var out: [Int: Mask] = [:]
        for (i, id) in objectIDs.enumerated() {
            let tag = UInt8(i + 1)
            var d = [UInt8](repeating: 0, count: width * height)
            labels.withUnsafeBufferPointer { l in
                d.withUnsafeMutableBufferPointer { o in
                    for p in 0..<l.count { o[p] = l[p] == tag ? 1 : 0 }
                }
            }
            out[id] = Mask(trusted: width, height, d)
        }
        return out
    }
}

/// The classical engine: SLIC superpixels on a reduced-resolution Lab image, per-object colour models
/// (smoothed Lab histograms) learned from the clicks and refined GrabCut-style, geodesic distances from
/// include clicks vs. exclude clicks and the image border, a geodesic star-convexity constraint, a
/// graph cut on the superpixel graph, and an edge-aware (joint-bilateral) upsampling to full size.
public struct ClassicalSegmentationEngine: SegmentationEngine {
    /// Tuning knobs. The defaults were tuned on DAVIS 2016 frames.
    public struct Configuration: Sendable, Equatable {
        /// Long side of the working image.
        public var workingLongSide: Int = 480
        /// Target number of superpixels.
        public var regions: Int = 1200
        /// SLIC compactness.
        public var compactness: Float = 10
        /// SLIC iterations.
        public var slicIterations: Int = 5
        /// Weight of the pairwise (edge) term.
        public var smoothness: Double = 20
        /// Weight of the geodesic prior per pixel.
        public var geodesicWeight: Double = 1.0
        /// Extra cost per pixel for foreground far from every include click, in units of object radius.
        public var distanceWeight: Double = 0.0
        /// GrabCut-style re-estimation rounds.
        public var rounds: Int = 3
        /// Fill background holes smaller than this fraction of the object.
        public var holeFill: Double = 0.05
        /// Range sigma (RGB units) of the edge-aware upsampling.
        public var upsampleSigma: Float = 18

        /// The defaults.
        public init() {}
    }

    /// The configuration in use.
    public let configuration: Configuration

    /// An engine with `configuration`.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The working size this engine uses for a frame of `width` × `height`.
    public func workingSize(width: Int, height: Int) -> (width: Int, height: Int) {
        RGBImage.workingSize(width: width, height: height, longSide: configuration.workingLongSide)
    }

    /// Analyses a frame already scaled to working resolution (see `workingSize`).
    public func prepare(_ working: RGBImage) -> PreparedFrame {
        PreparedFrame(image: working, regions: configuration.regions, compactness: configuration.compactness,
                      iterations: configuration.slicIterations)
    }

    /// Full pipeline on a frame of any size: downscale, analyse, segment, upsample to the frame size.
    public func segment(_ image: RGBImage, objects: [ObjectPrompt]) -> [Int: Mask] {
        let ws = workingSize(width: image.width, height: image.height)
        let frame = prepare(image.downscaled(width: ws.width, height: ws.height))
        let labels = segment(frame, objects: objects)
        return upsample(labels, to: image.width, image.height, guide: image, frame: frame).masks()
    }

    /// Segments on a working-resolution frame and returns full-size masks; `guide` (the full-size frame,
    /// optional) makes the upsampled boundaries follow image edges.
    public func segment(working: RGBImage, fullWidth: Int, fullHeight: Int, guide: RGBImage?,
                        objects: [ObjectPrompt]) -> [Int: Mask] {
        let frame = prepare(working)
        let labels = segment(frame, objects: objects)
        return upsample(labels, to: fullWidth, fullHeight, guide: guide, frame: frame).masks()
    }

    /// Segments all objects on a prepared frame, at working resolution.
    public func segment(_ frame: PreparedFrame, objects: [ObjectPrompt]) -> SelectionLabels {
        let k = frame.spCount
        let ids = objects.map(\.objectID)
        var labels = [UInt8](repeating: 0, count: frame.width * frame.height)
        if k == 0 || objects.isEmpty {
            return SelectionLabels(width: frame.width, height: frame.height, labels: labels, objectIDs: ids)
        }
        // Click superpixels per object.
        var positives = [[Int]](), negatives = [[Int]]()
        for o in objects {
            var pos = [Int](), neg = [Int]()
            for p in o.points {
                let px = p.pixel(width: frame.width, height: frame.height)
                let r = frame.region(x: px.x, y: px.y)
                if p.positive { pos.append(r) } else { neg.append(r) }
            }
            // An exclude click on the same region as an include click wins (the latest intent is to exclude).
            pos.removeAll { neg.contains($0) }
            positives.append(pos)
            negatives.append(neg)
        }
        var owner = [Int32](repeating: -1, count: k)
        var best = [Float](repeating: -.infinity, count: k)
        for (i, _) in objects.enumerated() where !positives[i].isEmpty {
            // Other objects' include clicks are exclude clicks for this one.
            var neg = negatives[i]
            for (j, other) in positives.enumerated() where j != i { neg += other }
            let result = BinarySegmentation(frame: frame, config: configuration, positives: positives[i],
                                            negatives: neg).run()
            for s in 0..<k where result.fg[s] {
                let score = result.margin[s]
                if score > best[s] { best[s] = score; owner[s] = Int32(i) }
            }
        }
        frame.labels.withUnsafeBufferPointer { lb in
            labels.withUnsafeMutableBufferPointer { out in
                for p in 0..<lb.count {
                    let o = owner[Int(lb[p])]
                    out[p] = o < 0 ? 0 : UInt8(o + 1)
                }
            }
        }
        return SelectionLabels(width: frame.width, height: frame.height, labels: labels, objectIDs: ids)
    }

    /// Upsamples working-resolution labels to `width` × `height`. With a `guide` (the full-size frame)
    /// pixels near a boundary pick the label whose nearby working pixels look most like them
    /// (joint-bilateral upsampling); without one the boundary is interpolated smoothly.
    public func upsample(_ labels: SelectionLabels, to width: Int, _ height: Int, guide: RGBImage?,
                         frame: PreparedFrame? = nil) -> SelectionLabels {
        Upsampler.upsample(labels, to: width, height, guide: guide, working: frame?.image,
                           sigma: configuration.upsampleSigma)
    }
}

/// Upsamples a working-resolution `mask` to `size` (`width`, `height`), following the edges of
/// `guide` (the full-size frame) when given.
public func upsample(mask: Mask, to size: (width: Int, height: Int), guide: RGBImage?) -> Mask {
    let l = SelectionLabels(width: mask.width, height: mask.height, labels: mask.data, objectIDs: [0])
    let up = Upsampler.upsample(l, to: size.width, size.height, guide: guide, working: nil, sigma: 18)
    return up.masks()[0] ?? Mask(width: size.width, height: size.height)
}

/// One object vs. the rest on the superpixel graph.
struct BinarySegmentation {
    let frame: PreparedFrame
    let config: ClassicalSegmentationEngine.Configuration
    let positives: [Int]
    let negatives: [Int]

    struct Result {
        var fg: [Bool]
        /// Per-pixel preference for foreground (bg cost − fg cost, per pixel) of each superpixel.
        var margin: [Float]
    }

    /// Multi-source Dijkstra on the superpixel graph. `blocked` regions are never entered.
    func geodesic(from seeds: [(Int, Float)], blocked: [Bool]?) -> (dist: [Float], parent: [Int32]) {
        let k = frame.spCount
        var dist = [Float](repeating: .infinity, count: k)
        var parent = [Int32](repeating: -1, count: k)
        var heap = Heap()
        for (s, d0) in seeds where d0 < dist[s] {
            dist[s] = d0
            heap.push(d0, Int32(s))
        }
        while let (d, u32) = heap.pop() {
            let u = Int(u32)
            if d > dist[u] { continue }
            for e in Int(frame.adjStart[u])..<Int(frame.adjStart[u + 1]) {
                let v = Int(frame.adjNode[e])
                if let blocked, blocked[v] { continue }
                let len = frame.colourDistance(u, v) + 1.5
                let nd = d + len
                if nd < dist[v] {
                    dist[v] = nd
                    parent[v] = Int32(u)
                    heap.push(nd, Int32(v))
                }
            }
        }
        return (dist, parent)
    }

    func run() -> Result {
        let k = frame.spCount
        var isPos = [Bool](repeating: false, count: k)
        var isNeg = [Bool](repeating: false, count: k)
        for p in positives { isPos[p] = true }
        for n in negatives { isNeg[n] = true }

        // Geodesic distances: from include clicks (never through exclude regions), and from exclude
        // clicks plus the image border.
        let fgGeo = geodesic(from: positives.map { ($0, 0) }, blocked: isNeg)
        var bgSeeds = negatives.map { ($0, Float(0)) }
        for s in 0..<k where frame.spBorder[s] > 0 && !isPos[s] { bgSeeds.append((s, 8)) }
        let bgGeo = geodesic(from: bgSeeds, blocked: isPos)
        var pgeo = [Float](repeating: 0.5, count: k)
        for s in 0..<k {
            let a = fgGeo.dist[s], b = bgGeo.dist[s]
            if !a.isFinite { pgeo[s] = 0.02 } else if !b.isFinite { pgeo[s] = 0.98 } else {
                pgeo[s] = min(0.98, max(0.02, b / (a + b + 1e-3)))
            }
        }

        // Initial labelling: geodesic Voronoi split.
        var fg = [Bool](repeating: false, count: k)
        for s in 0..<k { fg[s] = isPos[s] || (!isNeg[s] && pgeo[s] > 0.5) }

        var margin = [Float](repeating: 0, count: k)
        for s in 0..<k { margin[s] = pgeo[s] - 0.5 }
        let rounds = config.rounds
        for _ in 0..<rounds {
            let (fgLL, bgLL) = colourLogLikelihoods(fg: fg)
            let graph = MaxFlow(nodes: k)
            let big = 1e9
            let eta = Float(config.geodesicWeight)
            for s in 0..<k {
                let n = frame.spSize[s]
                var cf = -fgLL[s] - eta * n * logf(pgeo[s])
                var cb = -bgLL[s] - eta * n * logf(1 - pgeo[s])
                margin[s] = (cb - cf) / max(n, 1)
                if isPos[s] { cf = 0; cb = Float(big) }
                if isNeg[s] { cf = Float(big); cb = 0 }
                graph.addTerminal(s, costFG: Double(cf), costBG: Double(cb))
            }
            let lambda = config.smoothness
            for s in 0..<k {
                for e in Int(frame.adjStart[s])..<Int(frame.adjStart[s + 1]) {
                    let t = Int(frame.adjNode[e])
                    if t > s {
                        // adjWeight accumulated both directions of each pixel pair once per side.
                        let wgt = lambda * Double(frame.adjWeight[e])
                        graph.addEdge(s, t, wgt, wgt)
                    }
                }
                // Star convexity: s in foreground forces its geodesic parent into foreground.
                let par = Int(fgGeo.parent[s])
                if par >= 0 { graph.addEdge(s, par, big, 0) }
            }
            graph.run()
            var changed = false
            for s in 0..<k {
                let v = graph.sourceSide(s)
                if v != fg[s] { changed = true; fg[s] = v }
            }
            if !changed { break }
        }
        fillHoles(&fg, isNeg: isNeg)
        return Result(fg: fg, margin: margin)
    }

    /// Sum over each superpixel's pixels of log P(colour | fg) and log P(colour | bg).
    func colourLogLikelihoods(fg: [Bool]) -> ([Float], [Float]) {
        let k = frame.spCount
        var hf = [Float](repeating: 0, count: colourBinCount)
        var hb = [Float](repeating: 0, count: colourBinCount)
        var nf: Float = 0, nbk: Float = 0
        for s in 0..<k {
            let lo = Int(frame.histStart[s]), hi = Int(frame.histStart[s + 1])
            if fg[s] {
                for i in lo..<hi { hf[Int(frame.histBin[i])] += frame.histCount[i] }
                nf += frame.spSize[s]
            } else {
                for i in lo..<hi { hb[Int(frame.histBin[i])] += frame.histCount[i] }
                nbk += frame.spSize[s]
            }
        }
        hf = blur3(hf)
        hb = blur3(hb)
        // Log probabilities with a floor that makes unseen colours mildly unlikely.
        var lf = [Float](repeating: 0, count: colourBinCount)
        var lbk = [Float](repeating: 0, count: colourBinCount)
        let ef = max(nf, 1) * 1e-4, eb = max(nbk, 1) * 1e-4
        let zf = logf(max(nf, 1) + ef * Float(colourBinCount)), zb = logf(max(nbk, 1) + eb * Float(colourBinCount))
        for b in 0..<colourBinCount {
            lf[b] = logf(hf[b] + ef) - zf
            lbk[b] = logf(hb[b] + eb) - zb
        }
        var outF = [Float](repeating: 0, count: k)
        var outB = [Float](repeating: 0, count: k)
        for s in 0..<k {
            var a: Float = 0, c: Float = 0
            for i in Int(frame.histStart[s])..<Int(frame.histStart[s + 1]) {
                let b = Int(frame.histBin[i])
                let n = frame.histCount[i]
                // Clamp each pixel's log-likelihood ratio so single colours cannot dominate.
                let lr = min(4, max(-4, lf[b] - lbk[b]))
                a += n * lr
                c += 0
            }
            outF[s] = a
            outB[s] = c
        }
        return (outF, outB)
    }

    /// Separable [1 2 1] blur of a 3-D histogram.
    func blur3(_ h: [Float]) -> [Float] {
        let n = colourBinsPerAxis
        var a = h
        var b = h
        for axis in 0..<3 {
            let stride = axis == 0 ? n * n : (axis == 1 ? n : 1)
            for i in 0..<colourBinCount {
                let c = (i / stride) % n
                var v = 2 * a[i]
                v += c > 0 ? a[i - stride] : a[i]
                v += c < n - 1 ? a[i + stride] : a[i]
                b[i] = v * 0.25
            }
            swap(&a, &b)
        }
        return a
    }

    /// Background components enclosed by the object (not touching the border or an exclude click) and
    /// smaller than `holeFill` × object size become foreground.
    func fillHoles(_ fg: inout [Bool], isNeg: [Bool]) {
        let k = frame.spCount
        var objectSize: Float = 0
        for s in 0..<k where fg[s] { objectSize += frame.spSize[s] }
        let limit = Float(config.holeFill) * objectSize
        var seen = [Bool](repeating: false, count: k)
        var stack = [Int](), comp = [Int]()
        for s0 in 0..<k where !fg[s0] && !seen[s0] {
            comp.removeAll(keepingCapacity: true)
            stack = [s0]
            seen[s0] = true
            var open = false
            var size: Float = 0
            while let u = stack.popLast() {
                comp.append(u)
                size += frame.spSize[u]
                if frame.spBorder[u] > 0 || isNeg[u] { open = true }
                for e in Int(frame.adjStart[u])..<Int(frame.adjStart[u + 1]) {
                    let v = Int(frame.adjNode[e])
                    if !fg[v] && !seen[v] { seen[v] = true; stack.append(v) }
                }
            }
            if !open && size <= limit { for u in comp { fg[u] = true } }
        }
    }
}

/// A binary min-heap of (key, value).
struct Heap {
    private var keys: [Float] = []
    private var vals: [Int32] = []

    mutating func push(_ k: Float, _ v: Int32) {
        keys.append(k); vals.append(v)
        var i = keys.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if keys[p] <= keys[i] { break }
            keys.swapAt(p, i); vals.swapAt(p, i)
            i = p
        }
    }

    mutating func pop() -> (Float, Int32)? {
        guard let k0 = keys.first else { return nil }
        let v0 = vals[0]
        let lk = keys.removeLast(), lv = vals.removeLast()
        if !keys.isEmpty {
            keys[0] = lk; vals[0] = lv
            var i = 0
            let n = keys.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && keys[l] < keys[m] { m = l }
                if r < n && keys[r] < keys[m] { m = r }
                if m == i { break }
                keys.swapAt(m, i); vals.swapAt(m, i)
                i = m
            }
        }
        return (k0, v0)
    }
}
