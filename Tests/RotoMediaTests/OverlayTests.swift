import CFFmpeg
import Foundation
@testable import RotoMedia
import Testing

@Suite("OverlayRenderer")
struct OverlayTests {
    /// 1280x720, 30 fps, 2 s, GOP 30 with B-frames and AAC audio: shaped like a normalised video.
    func makeSource(_ dir: Scratch, audio: Bool = true) throws -> String {
        let path = dir.file("source.mp4")
        try Clips.make(path, size: "1280x720", rate: "30", seconds: 2,
                       codec: ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "30",
                               "-bf", "2", "-movflags", "+faststart"],
                       audio: audio)
        return path
    }

    /// A plane with object `label` on the rectangle `x`×`y` (plane coordinates).
    static func rectangle(width: Int, height: Int, x: Range<Int>, y: Range<Int>, label: UInt8 = 1) -> LabelPlane {
        var labels = [UInt8](repeating: 0, count: width * height)
        for row in y { for column in x { labels[row * width + column] = label } }
        return LabelPlane(width: width, height: height, labels: labels)
    }

    /// Mean R, G, B of `frame` minus `reference` over the rectangle.
    static func meanShift(_ frame: RGBFrame, _ reference: RGBFrame, x: Range<Int>, y: Range<Int>) -> [Double] {
        var sum = [0.0, 0.0, 0.0]
        for row in y {
            for column in x {
                let i = (row * frame.width + column) * 3
                for c in 0..<3 { sum[c] += Double(frame.pixels[i + c]) - Double(reference.pixels[i + c]) }
            }
        }
        let n = Double(x.count * y.count)
        return sum.map { $0 / n }
    }

    /// Mean absolute difference over the rectangle.
    static func meanAbs(_ frame: RGBFrame, _ reference: RGBFrame, x: Range<Int>, y: Range<Int>) -> Double {
        var total = 0
        for row in y {
            for column in x {
                let i = (row * frame.width + column) * 3
                for c in 0..<3 { total += abs(Int(frame.pixels[i + c]) - Int(reference.pixels[i + c])) }
            }
        }
        return Double(total) / Double(x.count * y.count * 3)
    }

    /// Checks the rendered clip against the source: tinted inside x 400..<800, y 200..<500 on even
    /// frames, unchanged elsewhere and on odd frames.
    func checkTint(source: String, rendered: String) throws {
        let sourceReader = try FrameReader(path: source), reader = try FrameReader(path: rendered)
        let red = OverlayOptions.defaultPalette[0]
        let inside = (x: 410..<790, y: 210..<490), outside = (x: 40..<360, y: 540..<700)
        for index in [0, 1, 30, 31, 58, 59] {
            let frame = try reader.frame(at: index), original = try sourceReader.frame(at: index)
            let shift = Self.meanShift(frame, original, x: inside.x, y: inside.y)
            let untouched = Self.meanAbs(frame, original, x: outside.x, y: outside.y)
            #expect(untouched < 4, "frame \(index): outside the object, mean abs diff \(untouched)")
            if index % 2 == 0 {
                // Expected shift: 0.45 × (palette colour − source colour), averaged.
                let base = Self.meanShift(original, RGBFrame(index: 0, width: 1280, height: 720,
                                                             pixels: [UInt8](repeating: 0, count: 1280 * 720 * 3)),
                                          x: inside.x, y: inside.y)
                let target = [Double(red.red), Double(red.green), Double(red.blue)]
                for c in 0..<3 {
                    let expected = 0.45 * (target[c] - base[c])
                    #expect(abs(shift[c] - expected) < 8,
                            "frame \(index) channel \(c): shift \(shift[c]), expected \(expected)")
                }
                // The outline: opaque palette colour on the object's top edge (rows 199…201).
                let edge = Self.meanShift(frame, RGBFrame(index: 0, width: 1280, height: 720,
                                                          pixels: [UInt8](repeating: 0, count: 1280 * 720 * 3)),
                                          x: 420..<780, y: 200..<201)
                #expect(abs(edge[0] - target[0]) < 25 && abs(edge[1] - target[1]) < 25 && abs(edge[2] - target[2]) < 25,
                        "frame \(index): outline colour \(edge)")
            } else {
                let diff = Self.meanAbs(frame, original, x: inside.x, y: inside.y)
                #expect(diff < 4, "odd frame \(index): mean abs diff \(diff)")
            }
        }
    }

    @Test("full-size plane on even frames: tint, outline, same frames, audio kept")
    func fullSize() throws {
        let dir = try Scratch()
        let source = try makeSource(dir)
        let output = dir.file("preview.mp4")
        let plane = Self.rectangle(width: 1280, height: 720, x: 400..<800, y: 200..<500)
        var asked: [Int] = []
        let (video, elapsed) = try seconds {
            try OverlayRenderer.render(input: source, output: output) { index in
                asked.append(index)
                return index % 2 == 0 ? plane : nil
            }
        }
        print("overlay 1280x720, 60 frames: \(String(format: "%.0f", elapsed * 1000)) ms, \(video.byteSize) bytes")
        #expect(asked == Array(0..<60))
        #expect(video.frameCount == 60 && video.width == 1280 && video.height == 720 && video.overlaidFrames == 30)
        #expect(video.byteSize == (try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["preview.mp4", "source.mp4"])
        let boxes = try Clips.topLevelBoxes(output)
        let moov = boxes.firstIndex(of: "moov"), mdat = boxes.firstIndex(of: "mdat")
        #expect(moov != nil && mdat != nil && moov! < mdat!, "faststart: \(boxes)")

        let facts = try MediaProbe.probe(path: output)
        #expect(facts.videoCodec == "h264" && facts.pixelFormat == "yuv420p")
        #expect(facts.frameCount == 60 && facts.codedWidth == 1280 && facts.codedHeight == 720)
        #expect(facts.nominalFrameRate == 30 && facts.isConstantFrameRate)
        #expect(facts.audioCodec == "aac")
        try checkTint(source: source, rendered: output)
    }

    @Test("working-size (480x270) plane is scaled nearest-neighbour; no audio stays no audio")
    func workingSize() throws {
        let dir = try Scratch()
        let source = try makeSource(dir, audio: false)
        let output = dir.file("preview.mp4")
        // 150..<300 × 75..<187.5 at 480x270 is 400..<800 × 200..<500 at 1280x720.
        let plane = Self.rectangle(width: 480, height: 270, x: 150..<300, y: 75..<188)
        let video = try OverlayRenderer.render(input: source, output: output) { $0 % 2 == 0 ? plane : nil }
        #expect(video.frameCount == 60 && video.overlaidFrames == 30)
        #expect(try MediaProbe.probe(path: output).audioCodec == nil)
        try checkTint(source: source, rendered: output)
    }

    @Test("non-square pixels: the preview keeps the source's shape")
    func sampleAspect() throws {
        let dir = try Scratch()
        let source = dir.file("sar.mp4"), output = dir.file("preview.mp4")
        try Clips.make(source, size: "1280x720", seconds: 1, filter: ["-vf", "setsar=4/3"])
        let plane = Self.rectangle(width: 480, height: 270, x: 150..<300, y: 75..<188)
        _ = try OverlayRenderer.render(input: source, output: output) { _ in plane }
        #expect(try NormalizeTests.sampleAspect(output) == "4:3")
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)).range(of: Data("pasp".utf8)) != nil)
    }

    @Test("painter: nearest-neighbour scaling and a 3-pixel outline")
    func painterMasks() throws {
        let painter = OverlayPainter(width: 64, height: 32, options: .init())
        let plane = Self.rectangle(width: 16, height: 8, x: 4..<8, y: 2..<6, label: 3)
        #expect(try painter.prepare(plane))
        let frame = try Frame()
        try frame.allocate(width: 64, height: 32, format: AV_PIX_FMT_YUV420P)
        for p in 0..<3 {
            let f = frame.pointer.pointee
            memset(planePointer(f, p)!, 128, Int(lineSize(f, p)) * (p == 0 ? 32 : 16))
        }
        try painter.draw(on: frame.pointer)
        let f = frame.pointer.pointee
        let plane0 = planePointer(f, 0)!, stride = Int(lineSize(f, 0))
        // Object: x 16..<32, y 8..<24. Outline: 1 px outside to 2 px inside, i.e. x 15…17 / 30…32.
        let yellow = OverlayOptions.defaultPalette[2]  // label 3
        let r: Double = 0.299 * Double(yellow.red), g: Double = 0.587 * Double(yellow.green)
        let b: Double = 0.114 * Double(yellow.blue)
        let luma: Double = 16 + 219 * (r + g + b) / 255
        let outlineY = UInt8(luma.rounded())
        for x in [15, 16, 17, 30, 31, 32] { #expect(plane0[16 * stride + x] == outlineY, "x \(x)") }
        for x in [14, 33, 40] { #expect(plane0[16 * stride + x] == 128, "x \(x)") }
        for x in [18, 24, 29] {
            let blended: Int = 128 * (256 - 115) + Int(outlineY) * 115 + 128
            let expected = blended >> 8
            #expect(Int(plane0[16 * stride + x]) == expected, "x \(x)")
        }
        #expect(try !painter.prepare(LabelPlane(width: 16, height: 8, labels: [UInt8](repeating: 0, count: 128))))
        #expect(throws: MediaError.self) { try painter.prepare(LabelPlane(width: 16, height: 8, labels: [1])) }
    }

    @Test("painter: the region drawn follows the labelled pixels wherever they are in a row")
    func painterRegion() throws {
        // A plane 37 wide (rows not a multiple of 8 bytes) drawn 1:1, one or two labelled pixels placed
        // at every column, so the row scans meet their words' edges everywhere.
        let painter = OverlayPainter(width: 38, height: 12, options: .init(outlineWidth: 1))
        for a in 0..<37 {
            for b in [a, 36 - a, (a * 7) % 37] {
                var labels = [UInt8](repeating: 0, count: 37 * 11)
                labels[5 * 37 + a] = 1
                labels[6 * 37 + b] = 2
                #expect(try painter.prepare(LabelPlane(width: 37, height: 11, labels: labels)))
                // Bounding box x min(a, b)…max(a, b), y 5…6, mapped onto 38×12, grown by radius 0 + 2, even.
                let lo = min(a, b), hi = max(a, b)
                let x0 = max(0, lo * 38 / 37 - 2) & ~1, x1 = min(38, ((hi + 1) * 38 + 36) / 37 + 3) & ~1
                #expect(painter.region.x0 == x0 && painter.region.x1 == x1, "a \(a) b \(b): \(painter.region)")
                #expect(painter.region.y0 == (5 * 12 / 11 - 2) & ~1)
            }
        }
    }

    @Test("scaled down to fit maxLongSide: the video and the cover at 1280x720 from 1920x1080, drawn at that size")
    func scaledDown() throws {
        let dir = try Scratch()
        let source = dir.file("source.mp4")
        try Clips.make(source, size: "1920x1080", rate: "30", seconds: 1,
                       codec: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30"], audio: true)
        let options = OverlayOptions(maxLongSide: 1280)
        // 600..<1200 × 300..<750 at 1920x1080 is 400..<800 × 200..<500 at 1280x720.
        let plane = Self.rectangle(width: 1920, height: 1080, x: 600..<1200, y: 300..<750)
        let output = dir.file("preview.mp4")
        let video = try OverlayRenderer.render(input: source, output: output, options: options) { $0 % 2 == 0 ? plane : nil }
        #expect(video.frameCount == 30 && video.width == 1280 && video.height == 720 && video.overlaidFrames == 15)
        let facts = try MediaProbe.probe(path: output)
        #expect(facts.frameCount == 30 && facts.codedWidth == 1280 && facts.codedHeight == 720)
        #expect(facts.nominalFrameRate == 30 && facts.audioCodec == "aac")
        // Against the source scaled the same way by the ffmpeg CLI: tinted inside, unchanged outside.
        let reference = dir.file("reference.mp4")
        _ = try run("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-i", source,
                                        "-vf", "scale=1280:720:flags=bilinear", "-c:v", "libx264", "-qp", "0", reference])
        let rendered = try FrameReader(path: output), scaled = try FrameReader(path: reference)
        let red = OverlayOptions.defaultPalette[0]
        for index in [0, 1, 28] {
            let frame = try rendered.frame(at: index), original = try scaled.frame(at: index)
            #expect(frame.width == 1280 && frame.height == 720)
            #expect(Self.meanAbs(frame, original, x: 40..<360, y: 540..<700) < 5, "frame \(index) outside")
            let shift = Self.meanShift(frame, original, x: 410..<790, y: 210..<490)
            if index % 2 == 0 {
                #expect(shift[0] > 10 && shift[1] < -10, "frame \(index): shift \(shift)")
                // The 3-pixel outline is drawn at the output size: on the object's top edge (row 200).
                let edge = Self.meanShift(frame, RGBFrame(index: 0, width: 1280, height: 720,
                                                          pixels: [UInt8](repeating: 0, count: 1280 * 720 * 3)),
                                          x: 420..<780, y: 200..<201)
                #expect(abs(edge[0] - Double(red.red)) < 25 && abs(edge[1] - Double(red.green)) < 25,
                        "frame \(index): outline colour \(edge)")
            } else {
                #expect(Self.meanAbs(frame, original, x: 410..<790, y: 210..<490) < 5, "odd frame \(index)")
            }
        }
        let cover = dir.file("cover.jpg")
        try OverlayRenderer.cover(input: source, frameIndex: 0, labels: plane, output: cover, options: options)
        let probe = String(decoding: try run("/usr/bin/ffprobe", [
            "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
            "-of", "csv=p=0", cover]), as: UTF8.self)
        #expect(probe.trimmingCharacters(in: .whitespacesAndNewlines) == "1280,720")
        #expect(fittedSize(width: 2160, height: 2160, maxLongSide: 1280) == (1280, 1280))
        #expect(fittedSize(width: 720, height: 1280, maxLongSide: 1280) == (720, 1280))
        #expect(fittedSize(width: 1080, height: 1920, maxLongSide: 1280) == (720, 1280))
        #expect(fittedSize(width: 2160, height: 1012, maxLongSide: 1280) == (1280, 600))
        #expect(fittedSize(width: 1920, height: 1080, maxLongSide: nil) == (1920, 1080))
    }

    @Test("cover JPEG of one frame with the overlay")
    func cover() throws {
        let dir = try Scratch()
        let source = try makeSource(dir)
        let output = dir.file("cover.jpg")
        let plane = Self.rectangle(width: 480, height: 270, x: 150..<300, y: 75..<188)
        try OverlayRenderer.cover(input: source, frameIndex: 30, labels: plane, output: output)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(bytes.count > 10_000)
        #expect(bytes.prefix(2) == [0xFF, 0xD8] && bytes.suffix(2) == [0xFF, 0xD9])
        let probe = String(decoding: try run("/usr/bin/ffprobe", [
            "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height,pix_fmt",
            "-of", "csv=p=0", output]), as: UTF8.self)
        #expect(probe.trimmingCharacters(in: .whitespacesAndNewlines) == "mjpeg,1280,720,yuvj420p")
        // Decoded by the ffmpeg CLI: tinted inside, like frame 30 of the source elsewhere.
        let decoded = RGBFrame(index: 30, width: 1280, height: 720, pixels: [UInt8](try run("/usr/bin/ffmpeg", [
            "-hide_banner", "-loglevel", "error", "-nostdin", "-i", output, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])))
        let original = try FrameReader(path: source).frame(at: 30)
        #expect(Self.meanAbs(decoded, original, x: 40..<360, y: 540..<700) < 5)
        let shift = Self.meanShift(decoded, original, x: 410..<790, y: 210..<490)
        #expect(shift[0] > 10 && shift[1] < -10, "shift \(shift)")

        expectMediaError(.invalidArgument) { () throws(MediaError) in
            try OverlayRenderer.cover(input: source, frameIndex: 60, labels: nil, output: dir.file("x.jpg"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["cover.jpg", "source.mp4"])
    }

    @Test("failures leave nothing behind")
    func failures() throws {
        let dir = try Scratch()
        let source = try makeSource(dir, audio: false)
        struct Boom: Error {}
        expectMediaError(.invalidArgument) { () throws(MediaError) in
            _ = try OverlayRenderer.render(input: source, output: dir.file("a.mp4")) { (i: Int) throws -> LabelPlane? in
                if i == 10 { throw Boom() }
                return nil
            }
        }
        expectMediaError(.invalidArgument) { () throws(MediaError) in
            _ = try OverlayRenderer.render(input: source, output: dir.file("b.mp4")) { (_: Int) -> LabelPlane? in
                LabelPlane(width: 10, height: 10, labels: [1, 2, 3])
            }
        }
        expectMediaError(.io) { () throws(MediaError) in
            _ = try OverlayRenderer.render(input: dir.file("missing.mp4"), output: dir.file("c.mp4")) { _ in nil }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["source.mp4"])
    }
}
