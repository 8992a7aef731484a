#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Texture given colour, for the tracker's band cut: among the object's pixels of a colour and among the
/// background's pixels of the same colour, how often each texture state occurs. A pixel of a colour both
/// share is then told apart by whether it is as smooth or as busy as the object's pixels of that colour,
/// and (with `oriented`) whether its grey level changes along the same direction: a goat's white coat
/// against white sky, a dancer's dark dress against dark seats, a swan's feathers against the horizontal
/// ripples of its reflection.
///
/// The log ratio of joint histograms (8³ colours × the texture states) minus that of the colour-only
/// histograms (8³), so that colour itself, which the colour model weighs already, is not counted twice.
struct TextureModel: Sendable {
    /// Colour bins (8 levels per channel).
    static let colourBins = 512
    /// Contrast levels: |∂x| + |∂y| below 6, 14, 30 or above.
    static let levelCount = 4
    /// Directions of a textured pixel's change (`oriented` states): mostly along y, mostly along x, both.
    static let orientationCount = 3
    /// One of |∂x|, |∂y| "dominates" when it is more than this many times the other.
    static let dominance = 2

    /// Texture states per colour: the contrast levels, or (`oriented`) flat plus each textured level in
    /// each direction.
    static func stateCount(oriented: Bool) -> Int { oriented ? 1 + (levelCount - 1) * orientationCount : levelCount }

    /// Texture states per colour of this model.
    let states: Int
    /// Per joint bin (`colour · states + state`): log P(state | colour, object) − log P(state | colour,
    /// background), clamped to ±2.
    let ratio: [Float]

    /// The texture state of every pixel of `image`, from the central differences ∂x, ∂y of the grey level
    /// (R + 2G + B) / 4: the contrast level of |∂x| + |∂y| (0 flat … 3), and with `oriented` a textured
    /// level split by direction — 1 + 3 · (level − 1) + (0: neither dominates, 1: |∂y| dominates, 2: |∂x|
    /// dominates). 0 on the image's outer rows and columns. Over `region` of the frame (row-major, the
    /// region's size; the whole frame when nil): the whole frame's states there.
    static func states(_ image: RGBImage, oriented: Bool,
                       region: PixelRect? = nil) -> [UInt8] {
        let fw = image.width, fh = image.height
        let region = region ?? (0, 0, fw, fh)
        precondition(region.x >= 0 && region.y >= 0 && region.width >= 0 && region.height >= 0
                     && region.x + region.width <= fw && region.y + region.height <= fh,
                     "TextureModel.states: region outside the frame")
        var out = [UInt8](repeating: 0, count: region.width * region.height)
        guard fw > 2 && fh > 2 && !out.isEmpty else { return out }
        // Grey levels once over the region grown by a pixel (each is read by four neighbours), then the
        // contrast's level from a table.
        let ex0 = max(0, region.x - 1), ey0 = max(0, region.y - 1)
        let ew = min(fw, region.x + region.width + 1) - ex0, eh = min(fh, region.y + region.height + 1) - ey0
        var grey = [Int16](repeating: 0, count: ew * eh)
        image.pixels.withUnsafeBufferPointer { px in
            grey.withUnsafeMutableBufferPointer { g in
                for y in 0..<eh {
                    let src = (ey0 + y) * fw + ex0, row = y * ew
                    for x in 0..<ew {
                        g[row + x] = Int16(Self.grey(px, src + x))
                    }
                }
            }
        }
        // The frame's inner pixels of the region.
        let x0 = max(region.x, 1), x1 = min(region.x + region.width, fw - 1)
        let y0 = max(region.y, 1), y1 = min(region.y + region.height, fh - 1)
        guard x0 < x1 && y0 < y1 else { return out }
        grey.withUnsafeBufferPointer { g in
            levelOfContrast.withUnsafeBufferPointer { table in
                stateOfLevelAndDirection.withUnsafeBufferPointer { state in
                    out.withUnsafeMutableBufferPointer { o in
                        for y in y0..<y1 {
                            let row = (y - ey0) * ew - ex0, dst = (y - region.y) * region.width - region.x
                            for x in x0..<x1 {
                                let p = row + x
                                o[dst + x] = Self.state(abs(Int(g[p + 1]) - Int(g[p - 1])), abs(Int(g[p + ew]) - Int(g[p - ew])),
                                                        oriented: oriented, levels: table, states: state)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The grey level (R + 2G + B) / 4 of pixel `p` of packed RGB24 pixels.
    @inline(__always) static func grey(_ px: UnsafeBufferPointer<UInt8>, _ p: Int) -> Int {
        (Int(px[3 * p]) + 2 * Int(px[3 * p + 1]) + Int(px[3 * p + 2])) >> 2
    }

    /// ``states(_:oriented:)`` at the pixels where `wanted` is ≥ 0 (one entry per pixel), 0 elsewhere: the
    /// same states there, the grey levels read around each such pixel only.
    static func states(_ image: RGBImage, oriented: Bool, at wanted: [Int32]) -> [UInt8] {
        let w = image.width, h = image.height
        precondition(wanted.count == w * h && image.pixels.count >= 3 * w * h, "TextureModel.states: size mismatch")
        var out = [UInt8](repeating: 0, count: w * h)
        guard w > 2 && h > 2 else { return out }
        image.pixels.withUnsafeBufferPointer { px in
        wanted.withUnsafeBufferPointer { W in
        levelOfContrast.withUnsafeBufferPointer { table in
        stateOfLevelAndDirection.withUnsafeBufferPointer { state in
        out.withUnsafeMutableBufferPointer { o in
            for y in 1..<(h - 1) {
                let row = y * w
                for p in (row + 1)..<(row + w - 1) where W[p] >= 0 {
                    o[p] = Self.state(abs(grey(px, p + 1) - grey(px, p - 1)), abs(grey(px, p + w) - grey(px, p - w)),
                                      oriented: oriented, levels: table, states: state)
                }
            }
        }}}}}
        return out
    }

    /// The state of a pixel whose grey level changes by `ax` along x and `ay` along y (central
    /// differences), with the tables below. Branch-free: the direction's two tests index a table.
    @inline(__always)
    private static func state(_ ax: Int, _ ay: Int, oriented: Bool, levels: UnsafeBufferPointer<UInt8>,
                              states: UnsafeBufferPointer<UInt8>) -> UInt8 {
        let level = Int(levels[ax + ay])
        return oriented ? states[level << 2 | (ay > dominance * ax ? 1 : 0) | (ax > dominance * ay ? 2 : 0)] : UInt8(level)
    }

    /// The oriented state at `level << 2 | (|∂y| dominates) | (|∂x| dominates) << 1` (both cannot).
    private static let stateOfLevelAndDirection: [UInt8] = (0..<(levelCount << 2)).map { i in
        let level = i >> 2, direction = i & 3 == 3 ? 0 : i & 3
        return level == 0 ? 0 : UInt8(1 + (level - 1) * orientationCount + direction)
    }

    /// The level of every contrast |∂x| + |∂y| a pair of 8-bit grey differences can give (0…510).
    private static let levelOfContrast: [UInt8] = (0...510).map { m in m < 6 ? 0 : m < 14 ? 1 : m < 30 ? 2 : 3 }

    /// The joint bin of pixel `p` (RGB bytes `px`) in texture `state`.
    @inline(__always) func bin(_ px: UnsafeBufferPointer<UInt8>, _ p: Int, state: UInt8) -> Int {
        Self.bin(px, p, state: state, states: states)
    }

    @inline(__always) static func bin(_ px: UnsafeBufferPointer<UInt8>, _ p: Int, state: UInt8, states: Int) -> Int {
        ((Int(px[3 * p]) >> 5) << 6 | (Int(px[3 * p + 1]) >> 5) << 3 | Int(px[3 * p + 2]) >> 5) * states + Int(state)
    }

    /// The model of `image` (its texture `states`, of `stateCount(oriented:)` kinds), the object being the
    /// pixels where `mask` > 0 and the background the rest.
    init(image: RGBImage, states map: [UInt8], oriented: Bool, mask: [Float]) {
        let states = Self.stateCount(oriented: oriented)
        self.states = states
        let jointBins = Self.colourBins * states
        var jointObject = [Float](repeating: 0, count: jointBins)
        var jointBackground = [Float](repeating: 0, count: jointBins)
        precondition(mask.count == map.count && image.pixels.count >= 3 * map.count, "TextureModel: size mismatch")
        var nObject: Float = 0, nBackground: Float = 0
        image.pixels.withUnsafeBufferPointer { px in
        map.withUnsafeBufferPointer { S in
        mask.withUnsafeBufferPointer { M in
        jointObject.withUnsafeMutableBufferPointer { JO in
        jointBackground.withUnsafeMutableBufferPointer { JB in
            // The counts in registers (locals), added to in the same order.
            var inObject: Float = 0, inBackground: Float = 0
            for p in 0..<S.count {
                let j = Self.bin(px, p, state: S[p], states: states)
                if M[p] > 0 { JO[j] += 1; inObject += 1 } else { JB[j] += 1; inBackground += 1 }
            }
            nObject = inObject
            nBackground = inBackground
        }}}}}
        // Half a count a joint bin keeps rare colours near a ratio of 0.
        let prior: Float = 0.5
        let zObject = nObject + Float(jointBins) * prior, zBackground = nBackground + Float(jointBins) * prior
        var ratio = [Float](repeating: 0, count: jointBins)
        for c in 0..<Self.colourBins {
            var colourObject: Float = 0, colourBackground: Float = 0
            for s in 0..<states {
                colourObject += jointObject[c * states + s]
                colourBackground += jointBackground[c * states + s]
            }
            let colourPrior = Float(states) * prior
            let colour = logf((colourObject + colourPrior) / zObject) - logf((colourBackground + colourPrior) / zBackground)
            for s in 0..<states {
                let j = c * states + s
                let joint = logf((jointObject[j] + prior) / zObject) - logf((jointBackground[j] + prior) / zBackground)
                ratio[j] = max(-2, min(2, joint - colour))
            }
        }
        self.ratio = ratio
    }
}
