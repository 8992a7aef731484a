import Foundation

/// Colour models that vary across the frame: the object's and the background's colour histograms
/// around every node of a grid (`spacing` pixels apart), each pixel counted at its four nearest nodes
/// with bilinear weights, so a node's histograms describe a tent-weighted window two spacings wide.
/// A colour the object shares with background far away still tells the two apart where only one of
/// them has it nearby (a dark animal over lighter ground that is dark elsewhere in the frame).
/// Where a window holds few pixels of one side, the whole crop's model (`ColourModel`) stands in for
/// it: its probabilities enter as `strength` pseudo-counts.
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
    let strength: Float

    @inline(__always) static func coarseBin(_ px: UnsafeBufferPointer<UInt8>, _ p: Int) -> Int {
        (Int(px[3 * p]) >> 5) << 6 | (Int(px[3 * p + 1]) >> 5) << 3 | Int(px[3 * p + 2]) >> 5
    }

    /// The models of `image` split by `mask` (> 0: the object).
    init(image: RGBImage, mask: [Float], spacing: Int, global: ColourModel, strength: Float) {
        let w = image.width, h = image.height
        self.spacing = max(1, spacing)
        nodesX = (w - 1) / self.spacing + 2
        nodesY = (h - 1) / self.spacing + 2
        self.global = global
        self.strength = strength
        var counts = [Float](repeating: 0, count: nodesX * nodesY * 2 * Self.bins)
        var totals = [Float](repeating: 0, count: nodesX * nodesY * 2)
        let s = self.spacing, nx = nodesX, inv = 1 / Float(s)
        image.pixels.withUnsafeBufferPointer { px in
        mask.withUnsafeBufferPointer { M in
        counts.withUnsafeMutableBufferPointer { C in
        totals.withUnsafeMutableBufferPointer { T in
            for y in 0..<h {
                let iy = y / s, ay = Float(y - iy * s) * inv
                for x in 0..<w {
                    let p = y * w + x
                    let ix = x / s, ax = Float(x - ix * s) * inv
                    let side = M[p] > 0 ? 0 : 1
                    let b = Self.coarseBin(px, p)
                    let k = iy * nx + ix
                    let w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay
                    C[(2 * k + side) * Self.bins + b] += w00
                    C[(2 * (k + 1) + side) * Self.bins + b] += w10
                    C[(2 * (k + nx) + side) * Self.bins + b] += w01
                    C[(2 * (k + nx + 1) + side) * Self.bins + b] += w11
                    T[2 * k + side] += w00
                    T[2 * (k + 1) + side] += w10
                    T[2 * (k + nx) + side] += w01
                    T[2 * (k + nx + 1) + side] += w11
                }
            }
        }}}}
        self.counts = counts
        self.totals = totals
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
        // A coarse bin holds 8 of the global model's bins: its count is spread evenly over them.
        let pf = (nf * 0.125 + strength * global.fg[g]) / (tf + strength)
        let pb = (nb * 0.125 + strength * global.bg[g]) / (tb + strength)
        return logf(pf) - logf(pb)
    }
}
