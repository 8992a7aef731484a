import Foundation
@testable import RotoMedia
import Testing

@Suite("ProxyEncoder")
struct ProxyTests {
    /// 1280x720, 30 fps, 3 s, GOP 30 with B-frames and audio: shaped like a normalised remux.
    func makeSource(_ dir: Scratch) throws -> String {
        let path = dir.file("source.mp4")
        try Clips.make(path, size: "1280x720", rate: "30", seconds: 3,
                       codec: ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "30",
                               "-bf", "2", "-movflags", "+faststart"],
                       audio: true)
        return path
    }

    @Test("480x270 all-intra proxy: same frames, one decode per random access")
    func proxy() throws {
        let dir = try Scratch()
        let source = try makeSource(dir)
        let output = dir.file("proxy.mp4")
        let (proxy, elapsed) = try seconds {
            try ProxyEncoder.makeProxy(input: source, output: output, width: 480, height: 270)
        }
        print("proxy 1280x720 → 480x270, 90 frames: \(String(format: "%.0f", elapsed * 1000)) ms, "
            + "\(proxy.byteSize) bytes")
        #expect(proxy.frameCount == 90 && proxy.width == 480 && proxy.height == 270 && proxy.path == output)
        let size = try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int
        #expect(proxy.byteSize == size)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["proxy.mp4", "source.mp4"])
        let boxes = try Clips.topLevelBoxes(output)
        let moov = boxes.firstIndex(of: "moov"), mdat = boxes.firstIndex(of: "mdat")
        #expect(moov != nil && mdat != nil && moov! < mdat!, "faststart: \(boxes)")

        let facts = try MediaProbe.probe(path: output)
        #expect(facts.audioCodec == nil)
        #expect(facts.videoCodec == "h264" && facts.pixelFormat == "yuv420p")

        let sourceReader = try FrameReader(path: source)
        let reader = try FrameReader(path: output)
        #expect(reader.frameCount == sourceReader.frameCount)
        #expect(reader.width == 480 && reader.height == 270)
        #expect(abs(reader.fps - 30) < 0.01)
        #expect(reader.keyframeIndices.count == reader.frameCount)

        // The same proxy scaled with fast bilinear, FrameReader's own filter for big downscales.
        let bilinearProxy = try ProxyEncoder.makeProxy(input: source, output: dir.file("bilinear.mp4"), width: 480,
                                                       height: 270, options: ProxyOptions(scaler: .fastBilinear))
        let bilinear = try FrameReader(path: bilinearProxy.path)
        func f2(_ x: Double) -> String { String(format: "%.2f", x) }

        for index in [47, 0, 89, 13, 61, 30, 29] {
            let decodedBefore = reader.decodedCount
            let frame = try reader.frame(at: index)
            #expect(reader.decodedCount - decodedBefore == 1, "frame \(index)")
            // FrameReader's fast-bilinear downscale aliases differently from area averaging: a few levels off.
            let expected = try sourceReader.frame(at: index, scaledTo: (width: 480, height: 270))
            let diff = meanAbsDiff(frame.pixels, expected.pixels)
            #expect(diff < 8, "frame \(index): mean abs diff \(diff)")
            // With the same filter, the proxy matches FrameReader's scaled frame closely.
            let sameFilter = meanAbsDiff(try bilinear.frame(at: index).pixels, expected.pixels)
            #expect(sameFilter < 2.5, "frame \(index): fast-bilinear proxy, mean abs diff \(sameFilter)")
            // The ffmpeg CLI's area downscale: the proxy's filter, so only coding loss remains.
            let area = try Clips.referenceFrame(source, index, scale: "480:270:flags=area")
            let coding = meanAbsDiff(frame.pixels, area)
            #expect(coding < 2.5, "frame \(index): mean abs diff to the ffmpeg area scale \(coding)")
            // The neighbour frame is clearly farther: we really got frame `index`.
            let neighbour = try sourceReader.frame(at: index == 89 ? 88 : index + 1, scaledTo: (width: 480, height: 270))
            #expect(meanAbsDiff(frame.pixels, neighbour.pixels) > diff + 1, "frame \(index)")
            // Quality: distance of each proxy to a lanczos downscale (the best estimate of the true image).
            let lanczos = try Clips.referenceFrame(source, index, scale: "480:270:flags=lanczos")
            print("proxy frame \(index): mean abs diff to FrameReader \(f2(diff)) (area proxy) / "
                + "\(f2(sameFilter)) (fast-bilinear proxy); to ffmpeg area \(f2(coding)); to lanczos "
                + "\(f2(meanAbsDiff(frame.pixels, lanczos))) (area) / "
                + "\(f2(meanAbsDiff(try bilinear.frame(at: index).pixels, lanczos))) (fast bilinear)")
        }
    }

    @Test("proxy timestamps are the input's")
    func timestamps() throws {
        let dir = try Scratch()
        let source = dir.file("source.mp4")
        try Clips.make(source, size: "640x360", rate: "30000/1001", seconds: 1,
                       codec: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "10"])
        let output = dir.file("proxy.mp4")
        let proxy = try ProxyEncoder.makeProxy(input: source, output: output, width: 320, height: 180)
        func pts(_ path: String) throws -> [String] {
            let data = try run("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries",
                                                    "frame=pts_time", "-of", "csv=p=0", path])
            return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        let expected = try pts(source)
        #expect(proxy.frameCount == expected.count)
        #expect(try pts(output) == expected)
    }

    @Test("bad arguments and inputs fail and leave nothing behind")
    func failures() throws {
        let dir = try Scratch()
        let output = dir.file("proxy.mp4")
        for (w, h) in [(481, 270), (480, 271), (0, 270), (480, 20_000)] {
            expectMediaError(.invalidArgument) { () throws(MediaError) in
                _ = try ProxyEncoder.makeProxy(input: output, output: output, width: w, height: h)
            }
        }
        expectMediaError(.io) { () throws(MediaError) in
            _ = try ProxyEncoder.makeProxy(input: dir.file("missing.mp4"), output: output, width: 480, height: 270)
        }
        let source = try makeSource(dir)
        let truncated = dir.file("truncated.mp4")
        try Clips.truncate(source, truncated, fraction: 0.5)
        #expect(throws: MediaError.self) {
            _ = try ProxyEncoder.makeProxy(input: truncated, output: output, width: 480, height: 270)
        }
        expectMediaError(.encodeFailed) { () throws(MediaError) in
            _ = try ProxyEncoder.makeProxy(input: source, output: output, width: 480, height: 270,
                                           options: ProxyOptions(preset: "no-such-preset"))
        }
        expectMediaError(.timedOut) { () throws(MediaError) in
            _ = try ProxyEncoder.makeProxy(input: source, output: output, width: 480, height: 270,
                                           options: ProxyOptions(timeoutSeconds: 0))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["source.mp4", "truncated.mp4"])
    }
}
