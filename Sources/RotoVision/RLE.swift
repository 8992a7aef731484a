import RotoAPI

/// Errors from the mask codecs.
public enum MaskCodecError: Error, Equatable, Sendable {
    /// The size is not `[height, width]` with non-negative entries.
    case badSize
    /// A character outside the COCO alphabet (`'0'` … `'o'`) at this offset.
    case badCharacter(offset: Int)
    /// The counts string ended in the middle of a number.
    case truncated
    /// A run length is negative or too large.
    case badRun(index: Int)
    /// The runs do not add up to `height * width`.
    case lengthMismatch(expected: Int, actual: Int)
    /// Not a PNG, or a PNG feature this decoder does not handle.
    case badPNG(String)
    /// Not a label track (``LabelTrack``), or one cut short.
    case badLabelTrack(String)

    /// The same error from the shared RLE codec.
    init(_ error: RLECodecError) {
        switch error {
        case .badSize: self = .badSize
        case .badCharacter(let offset): self = .badCharacter(offset: offset)
        case .truncated: self = .truncated
        case .badRun(let index): self = .badRun(index: index)
        case .lengthMismatch(let expected, let actual): self = .lengthMismatch(expected: expected, actual: actual)
        }
    }
}

/// COCO run-length encoding of `Mask`s, byte-identical to `pycocotools.mask.encode`.
///
/// A thin adapter over `RLECodec` (RotoAPI), the one implementation of the codec, which the SDK shares.
public enum COCORLE {
    /// Encodes `mask`; returns `size` = `[height, width]` and the `counts` string.
    public static func encode(_ mask: Mask) -> (size: [Int], counts: String) {
        ([mask.height, mask.width], RLECodec.countsString(runLengths(mask)))
    }

    /// Decodes a COCO RLE with `size` = `[height, width]` into a mask; throws on malformed input.
    public static func decode(size: [Int], counts: String) throws -> Mask {
        do {
            let data = try RLECodec.decode(size: size, counts: counts)
            return Mask(trusted: size[1], size[0], data)
        } catch {
            throw MaskCodecError(error)
        }
    }

    /// The column-major run lengths of `mask` (first run is background and may be 0).
    public static func runLengths(_ mask: Mask) -> [Int] {
        RLECodec.runLengths(bitmap: mask.data, width: mask.width, height: mask.height)
    }

    /// Builds a mask of `width` × `height` from column-major run lengths.
    public static func mask(fromRuns runs: [Int], width w: Int, height h: Int) throws -> Mask {
        do {
            return Mask(trusted: w, h, try RLECodec.bitmap(fromRuns: runs, width: w, height: h))
        } catch {
            throw MaskCodecError(error)
        }
    }

    /// Writes run lengths in the COCO string form (pycocotools `rleToString`).
    public static func countsString(_ runs: [Int]) -> String {
        RLECodec.countsString(runs)
    }

    /// Parses the COCO string form into run lengths (pycocotools `rleFrString`), validating it.
    public static func parseCounts(_ s: String) throws -> [Int] {
        do {
            return try RLECodec.parseCounts(s)
        } catch {
            throw MaskCodecError(error)
        }
    }
}
