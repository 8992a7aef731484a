import Foundation
import RotoMedia
import Testing

@Suite("VideoRewriter")
struct VideoRewriterTests {
    /// The colour painted at (column, row) of a box whose top-left is (x0, y0): ramps in x (red) and y
    /// (green), so that a box drawn a few pixels off shows.
    static func colour(_ column: Int, _ row: Int, x0: Int, y0: Int) -> [UInt8] {
        [UInt8(40 + 3 * (column - x0) / 2), UInt8(220 - 3 * (row - y0) / 2), 90]
    }

    /// Paints the ramps on the rectangle of a packed RGB24 image.
    static func paint(_ pixels: inout [UInt8], width: Int, x: Range<Int>, y: Range<Int>) {
        for row in y {
            for column in x {
                let c = colour(column, row, x0: x.lowerBound, y0: y.lowerBound)
                for k in 0..<3 { pixels[(row * width + column) * 3 + k] = c[k] }
            }
        }
    }

    @Test("an edit in a box, at a corner, or none: the box is painted, the rest of the frame keeps the source",
          arguments: [false, true])
    func boxesAndUntouchedFrames(declaringRegions: Bool) throws {
        let dir = try Scratch()
        let source = dir.file("source.mp4"), output = dir.file("out.mp4")
        // 25 frames: the rewriter edits two at a time, so the last one comes on its own.
        try Clips.make(source, size: "640x360", rate: "25", seconds: 1,
                       codec: ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "30", "-bf", "2"],
                       audio: false)
        let box = (x: 250..<390, y: 150..<230), corner = (x: 0..<64, y: 0..<48)
        // Declared regions: the painted box and a spare one; only they are converted to RGB.
        let regions: @Sendable (Int, Int, Int) -> [PixelRegion]? = { index, _, _ in
            guard declaringRegions else { return nil }
            switch index % 3 {
            case 0: return [PixelRegion(rows: box.y, columns: box.x), PixelRegion(rows: 300..<340, columns: 500..<620)]
            case 1: return [PixelRegion(rows: corner.y, columns: corner.x)]
            default: return []
            }
        }
        let rendered = try VideoRewriter.rewrite(input: source, outputs: [output], regions: regions) { frame in
            if declaringRegions, frame.index % 3 == 0 {
                // Converted inside the region (the source's picture), black outside every region.
                let inside = (box.y.lowerBound + 8) * frame.width * 3 + (box.x.lowerBound + 8) * 3
                let outside = 100 * frame.width * 3 + 100 * 3
                if frame.pixels[inside..<(inside + 48)].allSatisfy({ $0 == 0 }) || frame.pixels[outside..<(outside + 48)].contains(where: { $0 != 0 }) {
                    throw MediaError(code: .internalError, message: "frame \(frame.index) was not converted by its regions")
                }
            }
            var pixels = frame.pixels
            switch frame.index % 3 {
            case 0: Self.paint(&pixels, width: frame.width, x: box.x, y: box.y, )
            case 1: Self.paint(&pixels, width: frame.width, x: corner.x, y: corner.y, )
            default: break
            }
            return [pixels]
        }
        let sourceReader = try FrameReader(path: source), reader = try FrameReader(path: output)
        #expect(rendered.first?.frameCount == sourceReader.frameCount)
        #expect(reader.frameCount == sourceReader.frameCount)
        #expect(reader.frameCount == 25)
        for index in Array(0..<min(9, reader.frameCount)) + [reader.frameCount - 2, reader.frameCount - 1] {
            let frame = try reader.frame(at: index), original = try sourceReader.frame(at: index)
            let painted: (x: Range<Int>, y: Range<Int>)? = index % 3 == 0 ? box : index % 3 == 1 ? corner : nil
            if let painted {
                // The painted ramps inside (away from the edge the encoder blurs), per channel.
                let inner = (x: (painted.x.lowerBound + 4)..<(painted.x.upperBound - 4),
                             y: (painted.y.lowerBound + 4)..<(painted.y.upperBound - 4))
                var total = [0, 0, 0]
                for row in inner.y {
                    for column in inner.x {
                        let want = Self.colour(column, row, x0: painted.x.lowerBound, y0: painted.y.lowerBound)
                        for c in 0..<3 { total[c] += abs(Int(frame.pixels[(row * frame.width + column) * 3 + c]) - Int(want[c])) }
                    }
                }
                let errors = total.map { Double($0) / Double(inner.x.count * inner.y.count) }
                #expect(errors.allSatisfy { $0 < 3 }, "frame \(index): the painted box, mean abs error per channel \(errors)")
            }
            // Everywhere else (8 px clear of the painted box): only the encoder's loss.
            var total = 0, count = 0
            for row in 0..<frame.height {
                for column in 0..<frame.width {
                    if let painted, ((painted.x.lowerBound - 8)..<(painted.x.upperBound + 8)).contains(column),
                       ((painted.y.lowerBound - 8)..<(painted.y.upperBound + 8)).contains(row) { continue }
                    for c in 0..<3 {
                        total += abs(Int(frame.pixels[(row * frame.width + column) * 3 + c]) - Int(original.pixels[(row * frame.width + column) * 3 + c]))
                    }
                    count += 3
                }
            }
            let untouched = Double(total) / Double(count)
            #expect(untouched < 3, "frame \(index): outside the edit, mean abs diff \(untouched)")
        }
    }

    @Test("an edit that changes pixels outside its declared regions fails the rewrite and leaves no output")
    func changeOutsideRegions() throws {
        let dir = try Scratch()
        let source = dir.file("source.mp4"), output = dir.file("out.mp4")
        try Clips.make(source, size: "320x240", rate: "10", seconds: 1,
                       codec: ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"], audio: false)
        let regions: @Sendable (Int, Int, Int) -> [PixelRegion]? = { _, _, _ in [PixelRegion(rows: 10..<40, columns: 10..<40)] }
        #expect(throws: MediaError.self) {
            try VideoRewriter.rewrite(input: source, outputs: [output], regions: regions) { frame in
                var pixels = frame.pixels
                Self.paint(&pixels, width: frame.width, x: 100..<140, y: 100..<140)
                return [pixels]
            }
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
