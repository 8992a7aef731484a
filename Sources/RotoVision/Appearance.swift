/// What an object looked like on another frame of the clip, where the person marked it: the colours
/// of its pixels there, as counts over the engine's colour bins (sparse). A click on a new frame of the
/// same object then starts from all of the object's colours, not only those around the click — one click
/// on a rider's white shirt also finds his dark shorts and bike.
public struct ObjectAppearance: Sendable, Equatable {
    /// The colour bins the object's pixels fall in and how many pixels fall in each (share-weighted).
    let bins: [UInt16]
    let counts: [Float]
    /// The object's area on that frame, in working pixels.
    public let area: Float

    /// The appearance of the object `mask` covers on `frame` (the mask at any size; resampled to the
    /// frame's working size). Each superpixel adds its colour histogram times the share of it the mask
    /// covers.
    public init(frame: PreparedFrame, mask: Mask) {
        let m = mask.width == frame.width && mask.height == frame.height
            ? mask : mask.resizedNearest(width: frame.width, height: frame.height)
        let share = frame.share(of: m)
        var dense = [Float](repeating: 0, count: colourBinCount)
        var area: Float = 0
        for s in 0..<frame.spCount where share[s] > 0 {
            let w = share[s]
            for i in Int(frame.histStart[s])..<Int(frame.histStart[s + 1]) {
                dense[Int(frame.histBin[i])] += w * frame.histCount[i]
            }
            area += w * frame.spSize[s]
        }
        var bins: [UInt16] = [], counts: [Float] = []
        for b in 0..<colourBinCount where dense[b] > 0 {
            bins.append(UInt16(b))
            counts.append(dense[b])
        }
        self.bins = bins
        self.counts = counts
        self.area = area
    }

    /// Adds `weight` times the counts to the dense histogram `h`.
    func add(to h: inout [Float], weight: Float) {
        for (b, c) in zip(bins, counts) { h[Int(b)] += weight * c }
    }
}
