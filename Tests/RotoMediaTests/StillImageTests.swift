import Foundation
@testable import RotoMedia
import Testing

@Suite("StillImage")
struct StillImageTests {
    /// A 2 × 3 image whose pixels are the grey levels 1…6 row by row (a b / c d / e f), alpha the same.
    static let small: StillImage = {
        let values: [UInt8] = [1, 2, 3, 4, 5, 6]
        return StillImage(width: 2, height: 3, rgb: values.flatMap { [$0, $0, $0] }, alpha: values)
    }()

    @Test("EXIF orientations turn and mirror the stored pixels as cameras mean them", arguments: [
        (1, 2, [1, 2, 3, 4, 5, 6]), (2, 2, [2, 1, 4, 3, 6, 5]), (3, 2, [6, 5, 4, 3, 2, 1]),
        (4, 2, [5, 6, 3, 4, 1, 2]), (5, 3, [1, 3, 5, 2, 4, 6]), (6, 3, [5, 3, 1, 6, 4, 2]),
        (7, 3, [6, 4, 2, 5, 3, 1]), (8, 3, [2, 4, 6, 1, 3, 5]), (9, 2, [1, 2, 3, 4, 5, 6]),
    ])
    func orientations(exif: Int, width: Int, expected: [Int]) {
        let out = Self.small.oriented(exif: exif)
        #expect(out.width == width && out.height == 6 / width)
        #expect(out.alpha.map(Int.init) == expected)
        #expect(out.rgb == expected.flatMap { [UInt8($0), UInt8($0), UInt8($0)] })
    }

    /// `jpeg` with an APP1 Exif segment (big-endian TIFF, one IFD entry: Orientation) after SOI.
    static func withOrientation(_ jpeg: [UInt8], _ orientation: UInt16) -> [UInt8] {
        func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        let tiff: [UInt8] = Array("MM".utf8) + be16(42) + be32(8) + be16(1)
            + be16(0x0112) + be16(3) + be32(1) + be16(orientation) + be16(0) + be32(0)
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        return Array(jpeg[0..<2]) + [0xFF, 0xE1] + be16(UInt16(payload.count + 2)) + payload + Array(jpeg[2...])
    }

    @Test("a JPEG's EXIF orientation is applied when it is decoded", arguments: [3, 6, 8])
    func decodedJPEG(orientation: Int) throws {
        let dir = try Scratch()
        let path = dir.file("in.jpg")
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=400x300", "-frames:v", "1", "-q:v", "3", path])
        let plain = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let stored = try StillImage.decode(plain, format: .jpeg)
        #expect(stored.width == 400 && stored.height == 300)
        let turned = try StillImage.decode(Self.withOrientation(plain, UInt16(orientation)), format: .jpeg)
        #expect(turned == stored.oriented(exif: orientation))
        #expect(turned.width == (orientation == 3 ? 400 : 300))
        #expect(turned != stored)
    }
}

@Suite("StillImage formats")
struct StillImageFormatTests {
    @Test("PNG and JPEG layouts decode to the pixels the ffmpeg CLI shows", arguments: [
        ("png", "rgb24"), ("png", "rgba"), ("png", "gray"), ("png", "ya8"), ("png", "pal8"), ("png", "rgb48be"),
        ("png", "rgba64be"), ("png", "gray16be"), ("jpg", "yuvj420p"), ("jpg", "yuvj444p"), ("jpg", "gray"),
    ])
    func layouts(ext: String, pixelFormat: String) throws {
        let dir = try Scratch()
        let path = dir.file("in.\(ext)")
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", "-pix_fmt", pixelFormat]
                   + (ext == "jpg" ? ["-q:v", "2"] : []) + [path])
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let image = try StillImage.decode(bytes, format: ext == "png" ? .png : .jpeg)
        #expect(image.width == 320 && image.height == 240)
        let shown = try Clips.referenceFrame(path, 0)
        // (4:2:0 chroma is interpolated differently by the CLI's default conversion on testsrc2's sharp
        // colour edges: 2.3 there, 0 for the others.)
        let diff = meanAbsDiff(image.rgb, shown)
        #expect(diff < 4, "\(pixelFormat) \(ext): mean abs diff \(diff)")
        #expect(image.hasTransparency == false)
    }
}
