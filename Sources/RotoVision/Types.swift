#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A rectangle of pixels of an image: its top-left corner and size.
typealias PixelRect = (x: Int, y: Int, width: Int, height: Int)

/// An 8-bit RGB image, packed RGB24, row-major, no row padding.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height * 3` bytes: R, G, B for each pixel, rows top to bottom.
    public var pixels: [UInt8]

    /// Wraps packed RGB24 bytes. `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage: pixel count does not match \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A black image of the given size.
    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height * 3))
    }
}

/// A binary mask: one byte per pixel (0 = background, 1 = selected), row-major.
public struct Mask: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height` bytes, each 0 or 1, rows top to bottom.
    public private(set) var data: [UInt8]

    /// Wraps row-major 0/1 bytes. Any non-zero byte is normalised to 1.
    public init(width: Int, height: Int, data: [UInt8]) {
        precondition(width >= 0 && height >= 0 && data.count == width * height,
                     "Mask: byte count does not match \(width)x\(height)")
        self.width = width
        self.height = height
        var d = data
        d.withUnsafeMutableBufferPointer { b in
            for i in b.indices where b[i] > 1 { b[i] = 1 }
        }
        self.data = d
    }

    /// An empty (all background) mask.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        self.data = [UInt8](repeating: 0, count: width * height)
    }

    /// Internal initialiser that trusts `data` to hold only 0/1.
    init(trusted width: Int, _ height: Int, _ data: [UInt8]) {
        self.width = width
        self.height = height
        self.data = data
    }

    /// The value at column `x`, row `y` (0 or 1).
    public subscript(x: Int, y: Int) -> UInt8 {
        get { data[y * width + x] }
        set { data[y * width + x] = newValue == 0 ? 0 : 1 }
    }

    /// Number of selected pixels.
    public var area: Int {
        data.withUnsafeBufferPointer { b in
            var s = 0
            for v in b { s &+= Int(v) }
            return s
        }
    }

    /// True when no pixel is selected.
    public var isEmpty: Bool { !data.contains(1) }

    /// Intersection over union with another mask of the same size; 1 when both are empty.
    public func iou(_ other: Mask) -> Double {
        precondition(width == other.width && height == other.height, "Mask.iou: size mismatch")
        var inter = 0, uni = 0
        data.withUnsafeBufferPointer { a in
            other.data.withUnsafeBufferPointer { b in
                for i in 0..<a.count {
                    let x = a[i], y = b[i]
                    inter &+= Int(x & y)
                    uni &+= Int(x | y)
                }
            }
        }
        return uni == 0 ? 1 : Double(inter) / Double(uni)
    }

    /// The mask grown by a Euclidean disc of radius `radius` pixels (what a removal task replaces around a
    /// tracked object, after ``VideoInpainter/replacedRegion(_:frame:)`` grew it).
    public func dilated(radius: Int) -> Mask { InpaintMorphology.dilated(self, radius: radius) }

    /// The smallest rectangle holding every selected pixel (`x`, `y`, `width`, `height`), or nil if empty.
    public var boundingBox: (x: Int, y: Int, width: Int, height: Int)? {
        var minX = width, minY = height, maxX = -1, maxY = -1
        data.withUnsafeBufferPointer { b in
            for y in 0..<height {
                let row = y * width
                var first = -1
                for x in 0..<width where b[row + x] != 0 { first = x; break }
                if first < 0 { continue }
                var last = first
                var x = width - 1
                while x > first { if b[row + x] != 0 { last = x; break }; x -= 1 }
                if y < minY { minY = y }
                maxY = y
                if first < minX { minX = first }
                if last > maxX { maxX = last }
            }
        }
        if maxY < 0 { return nil }
        return (minX, minY, maxX - minX + 1, maxY - minY + 1)
    }

    /// Nearest-neighbour resize to `width` × `height` (pixel centres map to pixel centres).
    public func resizedNearest(width newW: Int, height newH: Int) -> Mask {
        if newW == width && newH == height { return self }
        var out = [UInt8](repeating: 0, count: newW * newH)
        if width == 0 || height == 0 { return Mask(trusted: newW, newH, out) }
        let xs = (0..<newW).map { min(width - 1, ($0 * 2 + 1) * width / (2 * newW)) }
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                xs.withUnsafeBufferPointer { xs in
                    for y in 0..<newH {
                        let sy = min(height - 1, (y * 2 + 1) * height / (2 * newH))
                        let srow = sy * width, drow = y * newW
                        for x in 0..<newW { dst[drow + x] = src[srow + xs[x]] }
                    }
                }
            }
        }
        return Mask(trusted: newW, newH, out)
    }
}

/// A click on a frame. Coordinates are normalised: (0, 0) is the top-left corner, (1, 1) the bottom-right.
public struct PointPrompt: Sendable, Equatable, Hashable {
    /// Horizontal position in [0, 1].
    public var x: Double
    /// Vertical position in [0, 1].
    public var y: Double
    /// True for an include click, false for an exclude click.
    public var positive: Bool

    /// A click at normalised (`x`, `y`).
    public init(x: Double, y: Double, positive: Bool = true) {
        self.x = x
        self.y = y
        self.positive = positive
    }

    /// The pixel this point falls in on a `width` × `height` grid (clamped to the grid).
    public func pixel(width: Int, height: Int) -> (x: Int, y: Int) {
        let fx = x.isFinite ? x : 0.5, fy = y.isFinite ? y : 0.5
        let px = min(max(Int((fx * Double(width)).rounded(.down)), 0), max(width - 1, 0))
        let py = min(max(Int((fy * Double(height)).rounded(.down)), 0), max(height - 1, 0))
        return (px, py)
    }
}

/// The clicks for one object on one frame.
public struct ObjectPrompt: Sendable, Equatable {
    /// The caller's object identifier.
    public var objectID: Int
    /// Include and exclude clicks, in the order they were made.
    public var points: [PointPrompt]
    /// What the object was already believed to be on this frame (for example the mask a preview tracked
    /// there), at any resolution: the engine starts from it and the clicks correct it. Nil: the clicks alone.
    public var prior: Mask?

    /// Prompts for object `objectID`.
    public init(objectID: Int, points: [PointPrompt], prior: Mask? = nil) {
        self.objectID = objectID
        self.points = points
        self.prior = prior
    }
}
