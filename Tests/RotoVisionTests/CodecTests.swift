import Foundation
import RotoVision
import Testing

struct GoldenCase: Decodable {
    let name: String
    let height: Int
    let width: Int
    let area: Int
    let row_runs: [Int]
    let size: [Int]
    let counts: String

    var mask: Mask {
        var data = [UInt8](repeating: 0, count: width * height)
        var p = 0
        var v: UInt8 = 0
        for r in row_runs {
            for i in p..<(p + r) { data[i] = v }
            p += r
            v ^= 1
        }
        return Mask(width: width, height: height, data: data)
    }
}

struct GoldenFile: Decodable {
    let cases: [GoldenCase]
}

func loadGolden() throws -> [GoldenCase] {
    let url = try #require(Bundle.module.url(forResource: "rle-golden", withExtension: "json",
                                             subdirectory: "Fixtures"))
    return try JSONDecoder().decode(GoldenFile.self, from: Data(contentsOf: url)).cases
}

func randomMask(width: Int, height: Int, density: Double, seed: UInt64) -> Mask {
    var g = SplitMix64(seed: seed)
    let data = (0..<(width * height)).map { _ in UInt8(Double.random(in: 0..<1, using: &g) < density ? 1 : 0) }
    return Mask(width: width, height: height, data: data)
}

@Suite struct RLECodecTests {
    @Test func goldenFileHasCases() throws {
        #expect(try loadGolden().count >= 25)
    }

    @Test func encodeMatchesPycocotools() throws {
        for c in try loadGolden() {
            let m = c.mask
            #expect(m.area == c.area, "\(c.name)")
            let rle = COCORLE.encode(m)
            #expect(rle.size == c.size, "\(c.name)")
            #expect(rle.counts == c.counts, "\(c.name)")
        }
    }

    @Test func decodeMatchesPycocotools() throws {
        for c in try loadGolden() {
            let m = try COCORLE.decode(size: c.size, counts: c.counts)
            #expect(m == c.mask, "\(c.name)")
        }
    }

    @Test func roundTripRandom() throws {
        for (i, (w, h)) in [(1, 1), (3, 5), (8, 8), (9, 7), (17, 31), (64, 3), (200, 150)].enumerated() {
            for density in [0.0, 0.02, 0.5, 0.98, 1.0] {
                let m = randomMask(width: w, height: h, density: density, seed: UInt64(i * 10) + UInt64(density * 100))
                let rle = COCORLE.encode(m)
                let back = try COCORLE.decode(size: rle.size, counts: rle.counts)
                #expect(back == m)
            }
        }
    }

    @Test func zeroSizedMask() throws {
        let m = Mask(width: 0, height: 0)
        let rle = COCORLE.encode(m)
        #expect(rle.counts == "0")
        #expect(try COCORLE.decode(size: [0, 0], counts: "0") == m)
    }

    @Test func malformedInputThrows() {
        #expect(throws: MaskCodecError.self) { try COCORLE.decode(size: [2, 2], counts: "") }
        #expect(throws: MaskCodecError.self) { try COCORLE.decode(size: [2, 2], counts: "5") }  // 5 > 4
        #expect(throws: MaskCodecError.self) { try COCORLE.decode(size: [2, 2], counts: "1") }  // 1 < 4
        #expect(throws: MaskCodecError.self) { try COCORLE.decode(size: [2, 2], counts: "0 ") }
        #expect(throws: MaskCodecError.self) { try COCORLE.decode(size: [2, 2], counts: "0~") }
        #expect(throws: MaskCodecError.self) { try COCORLE.decode(size: [2, 2], counts: "P") }  // truncated
        #expect(throws: MaskCodecError.self) { try COCORLE.decode(size: [2], counts: "4") }
        #expect(throws: MaskCodecError.self) { try COCORLE.decode(size: [-1, 2], counts: "0") }
        #expect(throws: MaskCodecError.self) { try COCORLE.decode(size: [2, 2], counts: "O") }  // negative run
    }

    @Test func zeroLengthRunsInTheMiddleDecodeLikePycocotools() throws {
        // Runs 1,1,0,2 → 0 | 1 | (no zeros) | 1,1: pycocotools writes runs in sequence, flipping each time.
        let s = COCORLE.countsString([1, 1, 0, 2])
        let m = try COCORLE.decode(size: [4, 1], counts: s)
        #expect(m.data == [0, 1, 1, 1])
    }
}

@Suite struct PNGCodecTests {
    @Test func roundTripGolden() throws {
        for c in try loadGolden() where c.width > 0 && c.height > 0 {
            let m = c.mask
            let png = encodePNG(m)
            #expect(try decodePNG(png) == m, "\(c.name)")
        }
    }

    @Test func pngAgreesWithRLE() throws {
        for c in try loadGolden() {
            let fromRLE = try COCORLE.decode(size: c.size, counts: c.counts)
            let fromPNG = try decodePNG(encodePNG(fromRLE))
            #expect(COCORLE.encode(fromPNG).counts == c.counts, "\(c.name)")
        }
    }

    @Test func headerIsOneBitGrayscale() {
        let png = encodePNG(Mask(width: 13, height: 3, data: [UInt8](repeating: 1, count: 39)))
        #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(String(decoding: png[12..<16], as: UTF8.self) == "IHDR")
        #expect(Array(png[16..<24]) == [0, 0, 0, 13, 0, 0, 0, 3])
        #expect(png[24] == 1 && png[25] == 0)
    }

    @Test func corruptedCRCIsRejected() {
        var png = encodePNG(randomMask(width: 20, height: 20, density: 0.3, seed: 7))
        png[20] ^= 0xFF  // inside IHDR data
        #expect(throws: MaskCodecError.self) { try decodePNG(png) }
        #expect(throws: MaskCodecError.self) { try decodePNG([1, 2, 3]) }
    }

    @Test func decodesEightBitDavisMaskIfPresent() throws {
        let path = "/work/shared/bench/davis2016-dev/blackswan/masks/00000.png"
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let m = try decodePNG([UInt8](data))
        #expect(m.width == 1280 && m.height == 720)
        #expect(m.area > 1000)
        #expect(try decodePNG(encodePNG(m)) == m)
    }
}

@Suite struct MaskHelperTests {
    @Test func areaIoUBox() {
        var a = Mask(width: 10, height: 10)
        var b = Mask(width: 10, height: 10)
        for y in 2..<6 { for x in 3..<7 { a[x, y] = 1 } }
        for y in 4..<8 { for x in 3..<7 { b[x, y] = 1 } }
        #expect(a.area == 16)
        #expect(abs(a.iou(b) - 8.0 / 24.0) < 1e-12)
        #expect(Mask(width: 4, height: 4).iou(Mask(width: 4, height: 4)) == 1)
        let box = a.boundingBox!
        #expect(box.x == 3 && box.y == 2 && box.width == 4 && box.height == 4)
        #expect(Mask(width: 3, height: 3).boundingBox == nil)
        let big = a.resizedNearest(width: 20, height: 20)
        #expect(big.area == 64)
        #expect(big.resizedNearest(width: 10, height: 10) == a)
    }
}

@Suite struct DiagnosticsTests {
    @Test("PPM bytes and the benchmarks' overlay: mask green, truth outline red, clicks as squares")
    func ppmAndOverlay() {
        let image = RGBImage(width: 8, height: 6, pixels: [UInt8](repeating: 100, count: 8 * 6 * 3))
        let ppm = image.ppm
        #expect(Array(ppm.prefix(11)) == Array("P6\n8 6\n255\n".utf8))
        #expect(ppm.count == 11 + 8 * 6 * 3)
        var m = [UInt8](repeating: 0, count: 48), t = m
        m[1 * 8 + 1] = 1
        for y in 0..<6 { for x in 4..<8 { t[y * 8 + x] = 1 } }
        let overlay = image.diagnosticOverlay(mask: Mask(width: 8, height: 6, data: m), truth: Mask(width: 8, height: 6, data: t),
                                              clicks: [PointPrompt(x: 0.9, y: 0.9, positive: false)], clickRadius: 0)
        func rgb(_ x: Int, _ y: Int) -> [UInt8] { Array(overlay.pixels[(y * 8 + x) * 3 ..< (y * 8 + x) * 3 + 3]) }
        #expect(rgb(0, 0) == [50, 50, 50], "dimmed")
        #expect(rgb(1, 1) == [60, 160, 50], "mask tinted green")
        #expect(rgb(4, 2) == [255, 0, 0], "the truth's edge in red")
        #expect(rgb(7, 5) == [0, 0, 255], "an exclude click in blue")
    }
}

/// The preview's tracked labels as bytes (`LabelTrack`), which edit tasks read back instead of tracking.
@Suite struct LabelTrackTests {
    /// Frames of three objects: a block per object that moves a pixel a frame, salt-and-pepper labels
    /// (runs of one), an empty frame and a frame of one label (one run of every pixel: a long varint).
    static func frames(width: Int, height: Int, ids: [Int]) -> [SelectionLabels] {
        var g = SplitMix64(seed: 11)
        var out: [SelectionLabels] = []
        for f in 0..<6 {
            var l = [UInt8](repeating: 0, count: width * height)
            switch f {
            case 4: break
            case 5: l = [UInt8](repeating: UInt8(ids.count), count: width * height)
            case 3: for i in l.indices { l[i] = UInt8.random(in: 0...UInt8(ids.count), using: &g) }
            default:
                for (k, _) in ids.enumerated() {
                    let x0 = 10 + 60 * k + f, y0 = 20 + 30 * k
                    for y in y0..<min(height, y0 + 40) { for x in x0..<min(width, x0 + 50) { l[y * width + x] = UInt8(k + 1) } }
                }
            }
            out.append(SelectionLabels(width: width, height: height, labels: l, objectIDs: ids))
        }
        return out
    }

    @Test func framesReadBackAsWritten() throws {
        let ids = [0, 7, -3]
        let frames = Self.frames(width: 200, height: 130, ids: ids)
        var track = LabelTrack(width: 200, height: 130, objectIDs: ids)
        let appended = frames.map { track.append($0) }
        #expect(appended.allSatisfy { $0 })
        #expect(track.frameCount == frames.count)
        #expect(try LabelTrack.decode(track.bytes) == frames)
        // Smooth frames take little room: 4 bytes of length and ~3 bytes a run.
        let blocks = LabelTrack(width: 200, height: 130, objectIDs: ids)
        var one = blocks
        one.append(frames[0])
        #expect(one.bytes.count - blocks.bytes.count < 4 + 3 * (2 * 3 * 40 + 2))
        // No frame: the header alone reads back as no frame.
        #expect(try LabelTrack.decode(blocks.bytes).isEmpty)
    }

    @Test func aFrameOfAnotherSizeOrObjectOrderIsNotAppended() {
        var track = LabelTrack(width: 200, height: 130, objectIDs: [1, 2])
        let narrower = track.append(SelectionLabels(width: 199, height: 130, labels: [UInt8](repeating: 0, count: 199 * 130), objectIDs: [1, 2]))
        let swapped = track.append(SelectionLabels(width: 200, height: 130, labels: [UInt8](repeating: 0, count: 200 * 130), objectIDs: [2, 1]))
        #expect(!narrower && !swapped)
        #expect(track.frameCount == 0)
    }

    @Test func damagedBytesAreRefused() throws {
        let ids = [0, 1]
        var track = LabelTrack(width: 200, height: 130, objectIDs: ids)
        for f in Self.frames(width: 200, height: 130, ids: ids) { track.append(f) }
        let bytes = track.bytes
        func refused(_ b: [UInt8], _ what: Comment) {
            #expect(throws: MaskCodecError.self, what) { try LabelTrack.decode(b) }
        }
        refused([], "empty")
        refused(Array("PNG0".utf8) + bytes.dropFirst(4), "another magic")
        // Cut anywhere, at a frame's end too, the file is refused, not read short.
        let header = 17 + 4 * ids.count
        for cut in Array(stride(from: 1, to: bytes.count, by: 37)) + [header] { refused(Array(bytes[..<cut]), "cut at \(cut)") }
        // A label above the object count (the first run's value of the first frame).
        var high = bytes
        high[header + 4] = 3
        refused(high, "label 3 of 2 objects")
        // A frame whose stated length ends early (its runs do not fill it): the length's low byte.
        var short = bytes
        short[header + 3] &-= 2
        refused(short, "runs short of the frame")
    }
}
