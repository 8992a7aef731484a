#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Texture given colour, for the tracker's band cut: among the object's pixels of a colour and among the
/// background's pixels of the same colour, how often each level of local contrast occurs. A pixel of a
/// colour both share is then told apart by whether it is as smooth or as busy as the object's pixels of
/// that colour: a goat's white coat against white sky, a dancer's dark dress against dark seats.
///
/// The log ratio of joint histograms (8³ colours × 4 contrast levels) minus that of the colour-only
/// histograms (8³), so that colour itself, which the colour model weighs already, is not counted twice.
struct TextureModel: Sendable {
    /// Colour bins (8 levels per channel).
    static let colourBins = 512
    /// Contrast levels per colour.
    static let levelCount = 4

    /// Per joint bin (`colour << 2 | level`): log P(level | colour, object) − log P(level | colour,
    /// background), clamped to ±2.
    let ratio: [Float]

    /// The contrast level of every pixel of `image`: |∂x| + |∂y| of the grey level (central differences,
    /// grey = (R + 2G + B) / 4) below 6, 14, 30 or above; 0 on the image's outer rows and columns.
    static func levels(_ image: RGBImage) -> [UInt8] {
        let w = image.width, h = image.height
        var out = [UInt8](repeating: 0, count: w * h)
        guard w > 2 && h > 2 else { return out }
        // Grey levels once (each is read by four neighbours), then the contrast's level from a table.
        var grey = [Int16](repeating: 0, count: w * h)
        image.pixels.withUnsafeBufferPointer { px in
            grey.withUnsafeMutableBufferPointer { g in
                for q in 0..<(w * h) {
                    g[q] = Int16((Int(px[3 * q]) + 2 * Int(px[3 * q + 1]) + Int(px[3 * q + 2])) >> 2)
                }
            }
        }
        grey.withUnsafeBufferPointer { g in
            levelOfContrast.withUnsafeBufferPointer { table in
                out.withUnsafeMutableBufferPointer { o in
                    for y in 1..<(h - 1) {
                        let row = y * w
                        for p in (row + 1)..<(row + w - 1) {
                            let m = abs(Int(g[p + 1]) - Int(g[p - 1])) + abs(Int(g[p + w]) - Int(g[p - w]))
                            o[p] = table[m]
                        }
                    }
                }
            }
        }
        return out
    }

    /// The level of every contrast |∂x| + |∂y| a pair of 8-bit grey differences can give (0…510).
    private static let levelOfContrast: [UInt8] = (0...510).map { m in m < 6 ? 0 : m < 14 ? 1 : m < 30 ? 2 : 3 }

    /// The joint bin of pixel `p` (RGB bytes `px`) at contrast `level`.
    @inline(__always) static func bin(_ px: UnsafeBufferPointer<UInt8>, _ p: Int, level: UInt8) -> Int {
        ((Int(px[3 * p]) >> 5) << 6 | (Int(px[3 * p + 1]) >> 5) << 3 | Int(px[3 * p + 2]) >> 5) << 2 | Int(level)
    }

    /// The model of `image` (its contrast `levels`), the object being the pixels where `mask` > 0 and the
    /// background the rest.
    init(image: RGBImage, levels: [UInt8], mask: [Float]) {
        let jointBins = Self.colourBins * Self.levelCount
        var jointObject = [Float](repeating: 0, count: jointBins), jointBackground = jointObject
        var nObject: Float = 0, nBackground: Float = 0
        image.pixels.withUnsafeBufferPointer { px in
            for p in 0..<levels.count {
                let j = Self.bin(px, p, level: levels[p])
                if mask[p] > 0 { jointObject[j] += 1; nObject += 1 } else { jointBackground[j] += 1; nBackground += 1 }
            }
        }
        // Half a count a joint bin (two a colour) keeps rare colours near a ratio of 0.
        let prior: Float = 0.5
        let zObject = nObject + Float(jointBins) * prior, zBackground = nBackground + Float(jointBins) * prior
        var ratio = [Float](repeating: 0, count: jointBins)
        for c in 0..<Self.colourBins {
            var colourObject: Float = 0, colourBackground: Float = 0
            for l in 0..<Self.levelCount {
                colourObject += jointObject[c << 2 | l]
                colourBackground += jointBackground[c << 2 | l]
            }
            let colour = logf((colourObject + 4 * prior) / zObject) - logf((colourBackground + 4 * prior) / zBackground)
            for l in 0..<Self.levelCount {
                let j = c << 2 | l
                let joint = logf((jointObject[j] + prior) / zObject) - logf((jointBackground[j] + prior) / zBackground)
                ratio[j] = max(-2, min(2, joint - colour))
            }
        }
        self.ratio = ratio
    }
}
