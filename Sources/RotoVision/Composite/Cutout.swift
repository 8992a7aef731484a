/// A subject cut out of a reference image: RGB colour plus an 8-bit alpha plane (straight, i.e. not
/// premultiplied: `rgb` holds the subject's own colour even where alpha is partial).
public struct Cutout: Sendable, Equatable {
    /// The colour plane; its width and height are the cutout's.
    public var rgb: RGBImage
    /// `width * height` opacity values, row-major: 0 transparent, 255 opaque.
    public var alpha: [UInt8]
    /// Where the cutout's top-left pixel lay in the image it was cut from (after that image's downscaling
    /// to ``SubjectExtractor/maximumLongSide``); (0, 0) for a whole image.
    public var originX = 0, originY = 0

    /// Width in pixels.
    public var width: Int { rgb.width }
    /// Height in pixels.
    public var height: Int { rgb.height }

    /// Wraps a colour plane and its alpha plane. `alpha.count` must be `rgb.width * rgb.height`.
    public init(rgb: RGBImage, alpha: [UInt8]) {
        precondition(alpha.count == rgb.width * rgb.height, "Cutout: alpha count does not match the image size")
        self.rgb = rgb
        self.alpha = alpha
    }

    /// A fully opaque cutout of the whole image.
    public init(opaque rgb: RGBImage) {
        self.init(rgb: rgb, alpha: [UInt8](repeating: 255, count: rgb.width * rgb.height))
    }

    /// Number of pixels whose alpha is at least `threshold`.
    public func opaqueCount(threshold: UInt8 = 128) -> Int {
        alpha.withUnsafeBufferPointer { a in
            var n = 0
            for v in a where v >= threshold { n += 1 }
            return n
        }
    }

    /// The alpha plane thresholded at `threshold` (alpha ≥ threshold is selected).
    public func mask(threshold: UInt8 = 128) -> Mask {
        Mask(width: width, height: height, data: alpha.map { $0 >= threshold ? 1 : 0 })
    }
}
