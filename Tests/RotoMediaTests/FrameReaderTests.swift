import Foundation
@testable import RotoMedia
import Testing

@Suite("FrameReader")
struct FrameReaderTests {
    /// 1280x720, 30 fps, 2 s, GOP 15 with B-frames (so presentation order ≠ decode order).
    func makeClip(_ dir: Scratch) throws -> String {
        let path = dir.file("clip.mp4")
        try Clips.make(path, size: "1280x720", rate: "30", seconds: 2,
                       codec: ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "15",
                               "-bf", "3", "-movflags", "+faststart"])
        return path
    }

    @Test("random frames match the ffmpeg CLI's")
    func randomAccess() throws {
        let dir = try Scratch()
        let path = try makeClip(dir)
        let reader = try FrameReader(path: path)
        #expect(reader.frameCount == 60)
        #expect(reader.width == 1280 && reader.height == 720)
        #expect(abs(reader.fps - 30) < 0.01)
        #expect(reader.keyframeIndices.first == 0)
        for index in [37, 3, 59, 0, 16, 14, 44] {
            let (frame, elapsed) = try seconds { try reader.frame(at: index) }
            print("random frame \(index) at 1280x720: \(String(format: "%.1f", elapsed * 1000)) ms")
            #expect(frame.index == index && frame.width == 1280 && frame.height == 720)
            #expect(frame.pixels.count == 1280 * 720 * 3)
            let reference = try Clips.referenceFrame(path, index)
            let same = meanAbsDiff(frame.pixels, reference)
            #expect(same < 1.5, "frame \(index): mean abs diff \(same)")
            // The neighbour differs by more: we really got frame `index`.
            let neighbour = try Clips.referenceFrame(path, index == 59 ? 58 : index + 1)
            #expect(meanAbsDiff(frame.pixels, neighbour) > same + 0.5)
        }
    }

    /// A reader lives as long as a tracking job or an edit task, far longer than its step limit on a
    /// loaded machine; its reads must not fail once that much time has passed since it was opened.
    @Test("the step limit counts from each step, not from the opening")
    func outlivesItsStepLimit() async throws {
        let dir = try Scratch()
        let path = try makeClip(dir)
        let reader = try FrameReader(path: path, stepTimeout: 0.3)
        _ = try reader.frame(at: 5)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try reader.frame(at: 6).index == 6)
        #expect(try reader.frame(at: 40).index == 40)
        var count = 0
        try reader.forEachFrame(scaledTo: (64, 36)) { _ in count += 1 }
        #expect(count == 60)
    }

    @Test("random access decodes at most one GOP")
    func oneGOP() throws {
        let dir = try Scratch()
        let path = try makeClip(dir)
        let reader = try FrameReader(path: path)
        #expect(reader.keyframeIndices == [0, 15, 30, 45])
        for index in [44, 29, 59, 45, 16] {
            let before = reader.decodedCount
            _ = try reader.frame(at: index)
            let gopStart = reader.keyframeIndices.last { $0 <= index }!
            // Frames from the keyframe to the target at most (non-reference pictures are skipped).
            #expect(reader.decodedCount - before <= index - gopStart + 1, "frame \(index)")
        }
    }

    @Test("sequential access does not seek")
    func sequential() throws {
        let dir = try Scratch()
        let path = try makeClip(dir)
        let reader = try FrameReader(path: path)
        _ = try reader.frame(at: 10)
        let seeks = reader.seekCount
        var last: [UInt8] = []
        for index in 11...40 {
            let frame = try reader.frame(at: index)
            #expect(frame.pixels != last)
            last = frame.pixels
        }
        _ = try reader.frame(at: 40)  // the same frame again: no decoding at all
        #expect(reader.seekCount == seeks)
        let reference = try Clips.referenceFrame(path, 40)
        #expect(meanAbsDiff(last, reference) < 1.5)
        _ = try reader.frame(at: 5)  // backwards: seeks
        #expect(reader.seekCount == seeks + 1)
    }

    @Test("scaled frames")
    func scaled() throws {
        let dir = try Scratch()
        let path = try makeClip(dir)
        let reader = try FrameReader(path: path)
        // 4× down: fast bilinear; 1.33× down: area; up: bilinear — compared with the CLI's same filter.
        for (w, h, flags) in [(320, 180, "fast_bilinear"), (960, 540, "area"), (1920, 1080, "bilinear")] {
            let frame = try reader.frame(at: 20, scaledTo: (width: w, height: h))
            #expect(frame.width == w && frame.height == h && frame.pixels.count == w * h * 3)
            let reference = try Clips.referenceFrame(path, 20, scale: "\(w):\(h):flags=\(flags)")
            let diff = meanAbsDiff(frame.pixels, reference)
            #expect(diff < 1.5, "\(w)x\(h): mean abs diff \(diff)")
        }
        expectMediaError(.invalidArgument) { () throws(MediaError) in _ = try reader.frame(at: 60) }
        expectMediaError(.invalidArgument) { () throws(MediaError) in _ = try reader.frame(at: -1) }
        expectMediaError(.invalidArgument) { () throws(MediaError) in
            _ = try reader.frame(at: 1, scaledTo: (width: 0, height: 10))
        }
    }

    @Test("forEachFrame visits every frame in order")
    func forEach() throws {
        let dir = try Scratch()
        let path = try makeClip(dir)
        let reader = try FrameReader(path: path, threads: 2)
        _ = try reader.frame(at: 33)
        var indices: [Int] = []
        var kept: [Int: [UInt8]] = [:]
        let (_, elapsed) = try seconds {
            try reader.forEachFrame(scaledTo: (width: 640, height: 360)) { frame in
                #expect(frame.width == 640 && frame.height == 360)
                indices.append(frame.index)
                if frame.index == 0 || frame.index == 47 { kept[frame.index] = frame.pixels }
            }
        }
        print("forEachFrame 60 frames 1280x720 → 640x360: \(String(format: "%.0f", elapsed * 1000)) ms")
        #expect(indices == Array(0..<60))
        #expect(kept[47] == (try reader.frame(at: 47, scaledTo: (width: 640, height: 360))).pixels)
        #expect(kept[0] == (try reader.frame(at: 0, scaledTo: (width: 640, height: 360))).pixels)

        struct Stop: Error {}
        var seen = 0
        #expect(throws: Stop.self) {
            try reader.forEachFrame(scaledTo: (width: 64, height: 36)) { _ in
                seen += 1
                if seen == 5 { throw Stop() }
            }
        }
        #expect(seen == 5)
    }

    @Test("opening a non-video fails cleanly")
    func badInput() throws {
        let dir = try Scratch()
        let text = dir.file("x.mp4")
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: text))
        #expect(throws: MediaError.self) { try FrameReader(path: text) }
    }
}
