import Foundation
@testable import RotoMedia
import Testing

/// Timings on large clips. Off by default (clip generation takes a minute or two on 2 cores):
/// `ROTO_MEDIA_BENCH=1 swift test --filter Benchmark` (use a release build for real numbers:
/// `swift test -c release -Xswiftc -enable-testing`).
@Suite("Benchmark", .enabled(if: ProcessInfo.processInfo.environment["ROTO_MEDIA_BENCH"] != nil), .serialized)
struct BenchmarkTests {
    func ms(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }

    @Test("1080p30 and 2160p60, 10 s: probe, remux, random frames",
          arguments: [("1920x1080", "30", 30), ("3840x2160", "60", 60)])
    func largeClip(size: String, rate: String, fps: Int) throws {
        let dir = try Scratch()
        let source = dir.file("src.mp4"), output = dir.file("out.mp4")
        try Clips.make(source, size: size, rate: rate, seconds: 10,
                       codec: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", String(fps)],
                       audio: true)
        _ = try MediaProbe.probe(path: source)  // warm the page cache
        let (facts, probeTime) = try seconds { try MediaProbe.probe(path: source) }
        let (result, remuxTime) = try seconds {
            try Normalizer.normalize(input: source, facts: facts, frameRate: fps, output: output)
        }
        #expect(result.mode == .remux && result.frameCount == 10 * fps)
        print("\(size)@\(fps) 10 s: probe \(ms(probeTime)), remux \(ms(remuxTime))")

        let reader = try FrameReader(path: output)
        var generator = SystemRandomNumberGenerator()
        for (w, h) in [(1280, 720), (reader.width, reader.height)] {
            var times: [Double] = []
            for _ in 0..<15 {
                let index = Int.random(in: 0..<reader.frameCount, using: &generator)
                times.append(try seconds { try reader.frame(at: index, scaledTo: (width: w, height: h)) }.1)
            }
            times.sort()
            print("\(size) random frame → \(w)x\(h): median \(ms(times[7])), max \(ms(times[14]))")
        }

        // The working-size all-intra proxy: build time, size, random frames from it.
        let proxyPath = dir.file("proxy.mp4")
        let (proxy, proxyTime) = try seconds {
            try ProxyEncoder.makeProxy(input: output, output: proxyPath, width: 480, height: 270)
        }
        #expect(proxy.frameCount == result.frameCount)
        print("\(size) proxy 480x270: \(ms(proxyTime)), \(proxy.byteSize) bytes")
        let proxyReader = try FrameReader(path: proxyPath)
        #expect(proxyReader.keyframeIndices.count == proxyReader.frameCount)
        var times: [Double] = []
        for _ in 0..<200 {
            let index = Int.random(in: 0..<proxyReader.frameCount, using: &generator)
            times.append(try seconds { try proxyReader.frame(at: index) }.1)
        }
        times.sort()
        print("\(size) proxy random frame: median \(ms(times[100])), p95 \(ms(times[190]))")
    }

    @Test("overlay preview of a 1080p30 10 s clip, a 480x270 label plane on every frame")
    func overlay() throws {
        let dir = try Scratch()
        let source = dir.file("src.mp4")
        try Clips.make(source, size: "1920x1080", rate: "30", seconds: 10,
                       codec: ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "30", "-bf", "2"],
                       audio: true)
        // Three moving ellipses per frame.
        let planes = (0..<300).map { i -> LabelPlane in
            var labels = [UInt8](repeating: 0, count: 480 * 270)
            for k in 0..<3 {
                let cx = 60 + (k * 97 + i * 2) % 360, cy = 60 + (k * 53 + i) % 150, rx = 40 + k * 5, ry = 30 + k * 3
                for y in (cy - ry)..<(cy + ry) {
                    for x in (cx - rx)..<(cx + rx) {
                        let dx = Double(x - cx) / Double(rx), dy = Double(y - cy) / Double(ry)
                        if dx * dx + dy * dy <= 1 { labels[y * 480 + x] = UInt8(k + 1) }
                    }
                }
            }
            return LabelPlane(width: 480, height: 270, labels: labels)
        }
        let (video, elapsed) = try seconds {
            try OverlayRenderer.render(input: source, output: dir.file("preview.mp4")) { planes[$0] }
        }
        #expect(video.frameCount == 300 && video.overlaidFrames == 300)
        let (_, plain) = try seconds {
            try OverlayRenderer.render(input: source, output: dir.file("plain.mp4")) { _ in nil }
        }
        print("overlay 1080p30 10 s: \(ms(elapsed)) (\(String(format: "%.1f", 300 / elapsed)) fps), "
            + "without labels \(ms(plain)), \(video.byteSize) bytes")
        try OverlayRenderer.cover(input: source, frameIndex: 0, labels: planes[0], output: dir.file("cover.jpg"))
    }
}
