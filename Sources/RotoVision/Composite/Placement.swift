#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An axis-aligned rectangle in frame pixels: origin at the frame's top-left corner, x to the right,
/// y down; pixel (i, j) covers [i, i + 1) × [j, j + 1). Coordinates may be fractional (sub-pixel).
public struct Box: Sendable, Equatable {
    /// Left edge.
    public var x: Double
    /// Top edge.
    public var y: Double
    /// Width (≥ 0).
    public var width: Double
    /// Height (≥ 0).
    public var height: Double

    /// A box with top-left corner (`x`, `y`).
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// Horizontal centre.
    public var centerX: Double { x + width / 2 }
    /// Vertical centre.
    public var centerY: Double { y + height / 2 }
    /// Bottom edge (`y + height`).
    public var bottom: Double { y + height }
}

/// Where a composited element goes: per-frame boxes from a tracked selection, the default box for an
/// addition without a selection, and fitting a cutout inside a box.
public enum Placement {
    /// Longest run of absent frames that ``track(_:)`` fills by linear interpolation.
    public static let maximumGap = 5

    /// Per-frame bounding boxes of an object's tracked masks, smoothed over time.
    ///
    /// A `nil` or empty mask means the object is absent on that frame. Gaps of at most ``maximumGap``
    /// frames between two present frames are filled by interpolating centre and size linearly; longer
    /// absences (and absences before the first or after the last present frame) stay `nil`. Within each
    /// run of present frames, centre and size are smoothed by a centred Gaussian moving average
    /// (σ = 1.5 frames for the centre, 2.5 for the size), truncated symmetrically at the run's ends so the
    /// ends are not biased; boxes therefore do not jitter with the mask's frame-to-frame noise.
    public static func track(_ masks: [Mask?]) -> [Box?] {
        let raw: [Box?] = masks.map { m in
            guard let m, let b = m.boundingBox else { return nil }
            return Box(x: Double(b.x), y: Double(b.y), width: Double(b.width), height: Double(b.height))
        }
        return smooth(raw)
    }

    /// Gap filling and smoothing of a raw box sequence (see ``track(_:)``).
    public static func smooth(_ raw: [Box?]) -> [Box?] {
        let n = raw.count
        // State per frame: centre x, centre y, width, height.
        var s: [[Double]?] = raw.map { b in b.map { [$0.centerX, $0.centerY, $0.width, $0.height] } }
        // Fill short interior gaps.
        var i = 0
        while i < n {
            if s[i] != nil { i += 1; continue }
            var j = i
            while j < n && s[j] == nil { j += 1 }
            if i > 0, j < n, j - i <= maximumGap, let a = s[i - 1], let b = s[j] {
                let span = Double(j - i + 1)
                for k in i..<j {
                    let t = Double(k - i + 1) / span
                    s[k] = (0..<4).map { a[$0] + (b[$0] - a[$0]) * t }
                }
            }
            i = j
        }
        // Smooth each run of present frames.
        var out = [Box?](repeating: nil, count: n)
        let sigmas = [1.5, 1.5, 2.5, 2.5]
        i = 0
        while i < n {
            if s[i] == nil { i += 1; continue }
            var j = i
            while j < n && s[j] != nil { j += 1 }
            for k in i..<j {
                var v = [Double](repeating: 0, count: 4)
                for c in 0..<4 {
                    let sigma = sigmas[c]
                    let r = min(Int((2.5 * sigma).rounded(.up)), k - i, j - 1 - k)
                    var sum = 0.0, wsum = 0.0
                    for d in -r...r {
                        let wgt = exp(-Double(d * d) / (2 * sigma * sigma))
                        sum += wgt * s[k + d]![c]
                        wsum += wgt
                    }
                    v[c] = sum / wsum
                }
                out[k] = Box(x: v[0] - v[2] / 2, y: v[1] - v[3] / 2, width: v[2], height: v[3])
            }
            i = j
        }
        return out
    }

    /// The box for an addition without a selection: height one third of the frame height, the cutout's
    /// aspect ratio kept (width clamped to the frame width, the height then shrunk to keep the aspect),
    /// centred horizontally, its centre at one third of the frame height.
    public static func defaultBox(frameWidth: Int, frameHeight: Int, cutoutWidth: Int, cutoutHeight: Int) -> Box {
        let fw = Double(frameWidth), fh = Double(frameHeight)
        let aspect = cutoutHeight > 0 && cutoutWidth > 0 ? Double(cutoutWidth) / Double(cutoutHeight) : 1
        var h = fh / 3
        var w = h * aspect
        if w > fw {
            w = fw
            h = w / aspect
        }
        return Box(x: fw / 2 - w / 2, y: fh / 3 - h / 2, width: w, height: h)
    }

    /// The largest box with the cutout's aspect ratio (`size` = width, height) that fits inside `box`
    /// ("contain"), centred horizontally and resting on `box`'s bottom edge (objects stand on the ground).
    public static func fit(_ size: (width: Int, height: Int), in box: Box) -> Box {
        guard size.width > 0, size.height > 0, box.width > 0, box.height > 0 else {
            return Box(x: box.centerX, y: box.bottom, width: 0, height: 0)
        }
        let s = min(box.width / Double(size.width), box.height / Double(size.height))
        let w = Double(size.width) * s, h = Double(size.height) * s
        return Box(x: box.x + (box.width - w) / 2, y: box.bottom - h, width: w, height: h)
    }

    /// ``fit(_:in:)`` for a cutout's size.
    public static func fit(_ cutout: Cutout, in box: Box) -> Box {
        fit((cutout.width, cutout.height), in: box)
    }
}
