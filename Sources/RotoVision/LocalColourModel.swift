import Foundation

/// Colour models that vary across the frame: the object's and the background's colour histograms
/// around every node of a grid (`spacing` pixels apart), each pixel counted at its four nearest nodes
/// with bilinear weights, so a node's histograms describe a tent-weighted window two spacings wide.
/// A colour the object shares with background far away still tells the two apart where only one of
/// them has it nearby (a dark animal over lighter ground that is dark elsewhere in the frame).
/// Where a window holds few pixels of one side, the whole crop's model (`ColourModel`) stands in for
/// it: its probabilities enter as `strength` pseudo-counts; where the windows read hold less object
/// than `minimumObject`, the crop's model alone gives the ratio (a stray fragment of a mask would
/// otherwise teach its windows its own colours and keep itself).
struct LocalColourModel {
    /// 8 levels a channel: a window holds a few thousand pixels, too few for the global 16³ cube.
    static let bins = 512
    let spacing: Int
    let nodesX: Int
    let nodesY: Int
    /// Per node, `bins` object counts then `bins` background counts.
    var counts: [Float]
    /// Per node, the object's and the background's total weight.
    var totals: [Float]
    let global: ColourModel
    /// `global.logRatio()`, for the places below `minimumObject`.
    let globalRatio: [Float]
    let strength: Float
    /// Below this much object (tent-weighted pixels) at the place read, the crop's model alone speaks.
    let minimumObject: Float

    @inline(__always) static func coarseBin(_ px: UnsafeBufferPointer<UInt8>, _ p: Int) -> Int {
        (Int(px[3 * p]) >> 5) << 6 | (Int(px[3 * p + 1]) >> 5) << 3 | Int(px[3 * p + 2]) >> 5
    }

    /// The models of `image` split by `mask` (> 0: the object), at the nodes that `reads` needs: it calls
    /// its argument with every place the models will be read at (see `logRatio`); only the cells around
    /// those places are counted.
    init(image: RGBImage, mask: [Float], spacing: Int, global: ColourModel, globalRatio: [Float], strength: Float,
         minimumObject: Float = 0, reads: ((Float, Float) -> Void) -> Void) {
        let w = image.width, h = image.height
        self.spacing = max(1, spacing)
        nodesX = (w - 1) / self.spacing + 2
        nodesY = (h - 1) / self.spacing + 2
        self.global = global
        self.globalRatio = globalRatio
        self.strength = strength
        self.minimumObject = minimumObject
        let s = self.spacing, nx = nodesX, inv = 1 / Float(s)
        // A read in cell (cx, cy) interpolates its four corner nodes, whose windows span the 3×3 cells
        // around it.
        let cellsX = nodesX - 1, cellsY = nodesY - 1
        var used = [Bool](repeating: false, count: cellsX * cellsY)
        // Reads come in runs from one cell: its neighbourhood is marked once a run.
        var lastCell = -1
        reads { x, y in
            let cx = Self.cell(x, s, cellsX), cy = Self.cell(y, s, cellsY)
            if cy * cellsX + cx == lastCell { return }
            lastCell = cy * cellsX + cx
            for j in max(0, cy - 1)...min(cellsY - 1, cy + 1) {
                for i in max(0, cx - 1)...min(cellsX - 1, cx + 1) { used[j * cellsX + i] = true }
            }
        }
        var counts = [Float](repeating: 0, count: nodesX * nodesY * 2 * Self.bins)
        var totals = [Float](repeating: 0, count: nodesX * nodesY * 2)
        image.pixels.withUnsafeBufferPointer { px in
        mask.withUnsafeBufferPointer { M in
        counts.withUnsafeMutableBufferPointer { C in
        totals.withUnsafeMutableBufferPointer { T in
            for y in 0..<h {
                let iy = y / s, ay = Float(y - iy * s) * inv
                for ix in 0..<cellsX where used[iy * cellsX + ix] {
                    let k = iy * nx + ix
                    // The four nodes' totals on both sides stay in registers over the cell's row (each
                    // pixel adds +0 to the side it is not on, which changes nothing: they are sums of
                    // weights ≥ 0).
                    var o00 = T[2 * k], b00 = T[2 * k + 1], o10 = T[2 * (k + 1)], b10 = T[2 * (k + 1) + 1]
                    var o01 = T[2 * (k + nx)], b01 = T[2 * (k + nx) + 1]
                    var o11 = T[2 * (k + nx + 1)], b11 = T[2 * (k + nx + 1) + 1]
                    for x in ix * s..<min(w, (ix + 1) * s) {
                        let p = y * w + x
                        let ax = Float(x - ix * s) * inv
                        let isObject = M[p] > 0, side = isObject ? 0 : 1
                        let b = Self.coarseBin(px, p)
                        let w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay
                        C[(2 * k + side) * Self.bins + b] += w00
                        C[(2 * (k + 1) + side) * Self.bins + b] += w10
                        C[(2 * (k + nx) + side) * Self.bins + b] += w01
                        C[(2 * (k + nx + 1) + side) * Self.bins + b] += w11
                        o00 += isObject ? w00 : 0; b00 += isObject ? 0 : w00
                        o10 += isObject ? w10 : 0; b10 += isObject ? 0 : w10
                        o01 += isObject ? w01 : 0; b01 += isObject ? 0 : w01
                        o11 += isObject ? w11 : 0; b11 += isObject ? 0 : w11
                    }
                    T[2 * k] = o00; T[2 * k + 1] = b00; T[2 * (k + 1)] = o10; T[2 * (k + 1) + 1] = b10
                    T[2 * (k + nx)] = o01; T[2 * (k + nx) + 1] = b01
                    T[2 * (k + nx + 1)] = o11; T[2 * (k + nx + 1) + 1] = b11
                }
            }
        }}}}
        self.counts = counts
        self.totals = totals
    }

    /// The models at every node.
    init(image: RGBImage, mask: [Float], spacing: Int, global: ColourModel, strength: Float) {
        let s = max(1, spacing)
        self.init(image: image, mask: mask, spacing: s, global: global, globalRatio: global.logRatio(),
                  strength: strength) { read in
            for y in stride(from: 0, to: image.height, by: s) {
                for x in stride(from: 0, to: image.width, by: s) { read(Float(x), Float(y)) }
            }
        }
    }

    /// The grid cell a read at `v` falls in (clamped as `logRatio` clamps).
    @inline(__always) static func cell(_ v: Float, _ spacing: Int, _ cells: Int) -> Int {
        max(0, min(Int(max(0, v) / Float(spacing)), cells - 1))
    }

    /// log P(object colour) − log P(background colour) for pixel `p` of `px` (the frame the model was
    /// learnt on or the next one, of the same size), with the windows around (`x`, `y`) of the frame the
    /// model was learnt on (where the pixel's flow points; clamped into that frame).
    @inline(__always) func logRatio(_ px: UnsafeBufferPointer<UInt8>, _ p: Int, x: Float, y: Float) -> Float {
        let fx = max(0, min(x, Float((nodesX - 1) * spacing) - 0.001)) / Float(spacing)
        let fy = max(0, min(y, Float((nodesY - 1) * spacing) - 0.001)) / Float(spacing)
        let ix = Int(fx), iy = Int(fy)
        let ax = fx - Float(ix), ay = fy - Float(iy)
        let k = iy * nodesX + ix
        let b = Self.coarseBin(px, p), g = ColourModel.bin(px, p)
        let ws = ((1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay)
        var nf: Float = 0, nb: Float = 0, tf: Float = 0, tb: Float = 0
        @inline(__always) func add(_ node: Int, _ wt: Float) {
            nf += wt * counts[2 * node * Self.bins + b]
            nb += wt * counts[(2 * node + 1) * Self.bins + b]
            tf += wt * totals[2 * node]
            tb += wt * totals[2 * node + 1]
        }
        add(k, ws.0)
        add(k + 1, ws.1)
        add(k + nodesX, ws.2)
        add(k + nodesX + 1, ws.3)
        if tf < minimumObject { return globalRatio[g] }
        // A coarse bin holds 8 of the global model's bins: its count is spread evenly over them.
        let pf = (nf * 0.125 + strength * global.fg[g]) / (tf + strength)
        let pb = (nb * 0.125 + strength * global.bg[g]) / (tb + strength)
        return logf(pf / pb)
    }
}
