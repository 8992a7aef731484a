#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Object vs. background histograms of 2-D motion vectors (working pixels per frame), turned into a
/// clamped log-likelihood ratio per motion bin: what moves like the object is more likely the object.
/// The click engine fills it with its regions' mean motion, the tracker with the flow of its crop.
struct MotionModel {
    /// Bins per axis on either side of zero motion; faster motion falls in the edge bins.
    static let half = 24
    static let side = 2 * half + 1

    private let inverseBin: Float
    private var object: [Float]
    private var background: [Float]
    private var objectMass: Float = 0
    private var backgroundMass: Float = 0

    /// An empty model with bins `bin` working pixels wide.
    init(bin: Float) {
        inverseBin = 1 / max(bin, 1e-3)
        object = [Float](repeating: 0, count: Self.side * Self.side)
        background = object
    }

    /// The bin of motion (`u`, `v`); clamped as floats first, so no value (however large, or NaN) can
    /// trap the conversion to an integer.
    @inline(__always)
    func index(_ u: Float, _ v: Float) -> Int {
        let h = Float(Self.half)
        let bu = Int(min(h, max(-h, (u * inverseBin).rounded())))
        let bv = Int(min(h, max(-h, (v * inverseBin).rounded())))
        return (bv + Self.half) * Self.side + bu + Self.half
    }

    /// Counts a sample of motion (`u`, `v`) with `weight` (for example its area) on the object's side or
    /// the background's.
    @inline(__always)
    mutating func add(_ u: Float, _ v: Float, weight: Float, object isObject: Bool) {
        let b = index(u, v)
        if isObject { object[b] += weight; objectMass += weight } else { background[b] += weight; backgroundMass += weight }
    }

    /// ``add(_:_:weight:object:)`` for every pixel of a flow field but those `skipping` marks: pixel p
    /// counts with `weights[p]` on the object's side where `object[p] > 0` (same order and sums as one
    /// call per pixel).
    mutating func add(u: [Float], v: [Float], weights: [Float], object isObject: [Float], skipping: [Bool]) {
        let n = u.count
        precondition(v.count == n && weights.count == n && isObject.count == n && skipping.count == n,
                     "MotionModel.add: size mismatch")
        var objectSum = objectMass, backgroundSum = backgroundMass
        // The histograms are moved out while they are filled (no copy), as `index` reads `self`.
        var hObject: [Float] = [], hBackground: [Float] = []
        swap(&hObject, &object)
        swap(&hBackground, &background)
        u.withUnsafeBufferPointer { U in
        v.withUnsafeBufferPointer { V in
        weights.withUnsafeBufferPointer { W in
        isObject.withUnsafeBufferPointer { O in
        skipping.withUnsafeBufferPointer { S in
        hObject.withUnsafeMutableBufferPointer { HO in
        hBackground.withUnsafeMutableBufferPointer { HB in
            for p in 0..<n where !S[p] {
                let b = index(U[p], V[p])
                if O[p] > 0 { HO[b] += W[p]; objectSum += W[p] } else { HB[b] += W[p]; backgroundSum += W[p] }
            }
        }}}}}}}
        swap(&hObject, &object)
        swap(&hBackground, &background)
        objectMass = objectSum
        backgroundMass = backgroundSum
    }

    /// log P(motion | object) − log P(motion | background) per bin, each histogram blurred twice and
    /// floored at a thousandth of its mass spread over the bins, clamped to ±`clamp`. Nil while either
    /// side has no samples (nothing to compare).
    func logRatios(clamp: Float) -> [Float]? {
        if objectMass <= 0 || backgroundMass <= 0 { return nil }
        let s = Self.side
        let hf = blurredHistogram(object, side: s, dimensions: 2, passes: 2)
        let hb = blurredHistogram(background, side: s, dimensions: 2, passes: 2)
        let ef = objectMass * 1e-3, eb = backgroundMass * 1e-3
        let zf = logf(objectMass + ef * Float(s * s)), zb = logf(backgroundMass + eb * Float(s * s))
        var out = [Float](repeating: 0, count: s * s)
        for b in 0..<out.count {
            let lr = (logf(hf[b] + ef) - zf) - (logf(hb[b] + eb) - zb)
            out[b] = min(clamp, max(-clamp, lr))
        }
        return out
    }
}
