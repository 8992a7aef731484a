import Foundation
import RotoAPI

/// A decoded mask: `width * height` bytes in row-major order (rows top to bottom), 1 = selected, 0 = not.
public struct MaskBitmap: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Row-major bytes, each 0 or 1.
    public let pixels: [UInt8]

    /// Wraps row-major bytes (any non-zero byte counts as selected and is stored as 1).
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height,
                     "MaskBitmap: byte count does not match \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels.map { $0 == 0 ? 0 : 1 }
    }

    /// Decodes a COCO compressed RLE (`size` = `[height, width]`, column-major runs) as returned in
    /// `rle_mask` by add/delete-selection and in `tracking_output`.
    public init(rle: RLEMask) throws(RLECodecError) {
        guard rle.size.count == 2 else { throw .badSize }
        self.pixels = try RLECodec.decode(size: rle.size, counts: rle.counts)
        self.height = rle.size[0]
        self.width = rle.size[1]
    }

    /// The pixel at column `x`, row `y` (0 or 1).
    public subscript(x: Int, y: Int) -> UInt8 { pixels[y * width + x] }

    /// The number of selected pixels.
    public var area: Int { pixels.reduce(0) { $0 + Int($1) } }

    /// The selected fraction of the frame (0 for an empty frame).
    public var coverage: Double { pixels.isEmpty ? 0 : Double(area) / Double(pixels.count) }

    /// The smallest rectangle holding every selected pixel, or nil for an empty mask.
    public var boundingBox: (x: Int, y: Int, width: Int, height: Int)? {
        var minX = width, minY = height, maxX = -1, maxY = -1
        for y in 0..<height {
            let row = y * width
            for x in 0..<width where pixels[row + x] != 0 {
                if x < minX { minX = x }
                if x > maxX { maxX = x }
                if y < minY { minY = y }
                if y > maxY { maxY = y }
            }
        }
        return maxX < 0 ? nil : (minX, minY, maxX - minX + 1, maxY - minY + 1)
    }

    /// Encodes the mask back to COCO compressed RLE (byte-identical to pycocotools).
    public var rle: RLEMask {
        RLEMask(size: [height, width], counts: RLECodec.encode(bitmap: pixels, width: width, height: height))
    }
}

extension PNGMask {
    /// The PNG file's bytes (`base64` decoded), or nil when it is not valid base64.
    public var pngData: Data? { Data(base64Encoded: base64) }
}

extension ObjectMask {
    /// The decoded RLE mask of this object.
    public func bitmap() throws(RLECodecError) -> MaskBitmap { try MaskBitmap(rle: rleMask) }
}
