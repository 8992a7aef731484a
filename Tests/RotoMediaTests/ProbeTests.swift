import Foundation
@testable import RotoMedia
import Testing

@Suite("MediaProbe")
struct ProbeTests {
    @Test("compliant MP4 at 30 fps with AAC")
    func mp4At30() throws {
        let dir = try Scratch()
        let path = dir.file("a.mp4")
        try Clips.make(path, size: "1280x720", rate: "30", seconds: 2, audio: true)
        let (facts, elapsed) = try seconds { try MediaProbe.probe(path: path) }
        print("probe 1280x720 2 s: \(String(format: "%.1f", elapsed * 1000)) ms")
        #expect(facts.container == .mp4)
        #expect(facts.majorBrand == "isom")
        #expect(facts.videoCodec == "h264")
        #expect(facts.pixelFormat == "yuv420p")
        #expect(facts.codedWidth == 1280 && facts.codedHeight == 720)
        #expect(facts.displayWidth == 1280 && facts.displayHeight == 720)
        #expect(facts.rotation == 0)
        #expect(abs(facts.durationMs - 2000) <= 40)
        #expect(facts.frameCount == 60)
        #expect(facts.nominalFrameRate == 30)
        #expect(!facts.isNTSC)
        #expect(facts.isConstantFrameRate)
        #expect(abs(facts.frameRate - 30) < 0.01)
        #expect(abs(facts.averageFrameRate - 30) < 0.5)
        #expect(facts.hasAudio && facts.audioCodec == "aac")
        #expect(facts.canRemux(toFrameRate: 30))
        #expect(!facts.canRemux(toFrameRate: 60))
        #expect(facts.maxKeyframeInterval == 60)  // ultrafast's default GOP (250) is longer than the clip
    }

    @Test("QuickTime MOV at 24 fps", arguments: [("a.mov", [String]()), ("named-as.mp4", ["-f", "mov"])])
    func movAt24(name: String, format: [String]) throws {
        let dir = try Scratch()
        let path = dir.file(name)
        try Clips.make(path, size: "720x720", rate: "24", seconds: 2, extra: format)
        let facts = try MediaProbe.probe(path: path)
        #expect(facts.container == .mov)
        #expect(facts.majorBrand == "qt  ")
        #expect(facts.nominalFrameRate == 24 && !facts.isNTSC)
        #expect(facts.frameCount == 48)
        #expect(facts.canRemux(toFrameRate: 24))
    }

    @Test("MP4 content behind a .mov name is MP4")
    func contentNotExtension() throws {
        let dir = try Scratch()
        let path = dir.file("really-mp4.mov")
        try Clips.make(path, size: "720x720", seconds: 1, extra: ["-f", "mp4"])
        #expect(try MediaProbe.probe(path: path).container == .mp4)
    }

    @Test("frame rates", arguments: [
        ("60", 60, false, 120), ("24000/1001", 24, true, 48), ("30000/1001", 30, true, 60),
        ("60000/1001", 60, true, 120),
    ])
    func rates(rate: String, nominal: Int, ntsc: Bool, frames: Int) throws {
        let dir = try Scratch()
        let path = dir.file("r.mp4")
        try Clips.make(path, size: "720x720", rate: rate, seconds: Double(frames) / Double(nominal) * (ntsc ? 1.001 : 1)
                       - 0.0001)
        let facts = try MediaProbe.probe(path: path)
        #expect(facts.nominalFrameRate == nominal)
        #expect(facts.isNTSC == ntsc)
        #expect(facts.isConstantFrameRate)
        #expect(facts.frameCount == frames)
        #expect(facts.canRemux(toFrameRate: nominal) == !ntsc)
    }

    @Test("25 fps has no nominal rate")
    func pal() throws {
        let dir = try Scratch()
        let path = dir.file("pal.mp4")
        try Clips.make(path, size: "720x720", rate: "25", seconds: 2)
        let facts = try MediaProbe.probe(path: path)
        #expect(facts.nominalFrameRate == nil)
        #expect(!facts.isNTSC)
        #expect(facts.isConstantFrameRate)
        #expect(abs(facts.frameRate - 25) < 0.01)
        #expect(!facts.canRemux(toFrameRate: 24) && !facts.canRemux(toFrameRate: 30))
    }

    @Test("variable frame rate (every 5th frame dropped)")
    func vfr() throws {
        let dir = try Scratch()
        let path = dir.file("vfr.mp4")
        try Clips.make(path, size: "720x720", rate: "30", seconds: 2,
                       filter: ["-vf", "select='not(eq(mod(n\\,5)\\,3))'", "-fps_mode", "vfr"])
        let facts = try MediaProbe.probe(path: path)
        #expect(!facts.isConstantFrameRate)
        #expect(facts.frameCount == 48)
        #expect(facts.nominalFrameRate == 30)
        #expect(!facts.canRemux(toFrameRate: 30))
    }

    @Test("rotation from the display matrix", arguments: [(90, 270), (270, 90), (180, 180)])
    func rotation(tag: Int, clockwise: Int) throws {
        let dir = try Scratch()
        let plain = dir.file("plain.mp4"), path = dir.file("rot.mp4")
        try Clips.make(plain, size: "1280x720", seconds: 1)
        try Clips.rotated(plain, path, tag: tag)
        let facts = try MediaProbe.probe(path: path)
        // FFmpeg 5.1 writes rotate=N as a counter-clockwise display matrix: viewers turn it N° anticlockwise.
        #expect(facts.rotation == clockwise)
        #expect(facts.codedWidth == 1280 && facts.codedHeight == 720)
        let swapped = clockwise != 180
        #expect(facts.displayWidth == (swapped ? 720 : 1280))
        #expect(facts.displayHeight == (swapped ? 1280 : 720))
        #expect(!facts.canRemux(toFrameRate: 30))
    }

    @Test("HEVC and MPEG-4 Part 2 are reported by codec name")
    func otherCodecs() throws {
        let dir = try Scratch()
        if Clips.hasEncoder("libx265") {
            let hevc = dir.file("hevc.mp4")
            try Clips.make(hevc, size: "720x720", seconds: 1,
                           codec: ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                                   "-x265-params", "log-level=error:pools=2", "-tag:v", "hvc1"])
            let facts = try MediaProbe.probe(path: hevc)
            #expect(facts.videoCodec == "hevc")
            #expect(facts.nominalFrameRate == 30)
            #expect(!facts.canRemux(toFrameRate: 30))
        }
        let mpeg4 = dir.file("mpeg4.mp4")
        try Clips.make(mpeg4, size: "720x720", seconds: 1, codec: ["-c:v", "mpeg4", "-q:v", "5"])
        let facts = try MediaProbe.probe(path: mpeg4)
        #expect(facts.videoCodec == "mpeg4")
        #expect(facts.frameCount == 30)
    }

    @Test("10-bit and 4:4:4 H.264 report their pixel format")
    func pixelFormats() throws {
        let dir = try Scratch()
        let path = dir.file("444.mp4")
        try Clips.make(path, size: "720x720", seconds: 1,
                       codec: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"])
        let facts = try MediaProbe.probe(path: path)
        #expect(facts.pixelFormat == "yuv444p")
        #expect(!facts.canRemux(toFrameRate: 30))
    }

    @Test("a 1 s clip probes (the duration rule is the caller's)")
    func tooShort() throws {
        let dir = try Scratch()
        let path = dir.file("short.mp4")
        try Clips.make(path, size: "720x720", seconds: 1)
        let facts = try MediaProbe.probe(path: path)
        #expect(abs(facts.durationMs - 1000) <= 40)
        #expect(facts.frameCount == 30)
    }

    @Test("truncated files are corrupt", arguments: [false, true])
    func truncated(faststart: Bool) throws {
        let dir = try Scratch()
        let whole = dir.file("whole.mp4"), half = dir.file("half.mp4")
        try Clips.make(whole, size: "720x720", seconds: 2, extra: faststart ? ["-movflags", "+faststart"] : [])
        try Clips.truncate(whole, half)
        expectMediaError(.corrupt) { () throws(MediaError) in _ = try MediaProbe.probe(path: half) }
    }

    @Test("not videos")
    func notVideos() throws {
        let dir = try Scratch()
        let empty = dir.file("empty.mp4")
        try Data().write(to: URL(fileURLWithPath: empty))
        expectMediaError(.notAVideo) { () throws(MediaError) in _ = try MediaProbe.probe(path: empty) }

        let text = dir.file("text.mp4")
        try Data(String(repeating: "This is not a video, just some text.\n", count: 50).utf8)
            .write(to: URL(fileURLWithPath: text))
        expectMediaError(.notAVideo) { () throws(MediaError) in _ = try MediaProbe.probe(path: text) }

        let random = dir.file("random.mov")
        var generator = SystemRandomNumberGenerator()
        try Data((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
            .write(to: URL(fileURLWithPath: random))
        expectMediaError(.notAVideo) { () throws(MediaError) in _ = try MediaProbe.probe(path: random) }

        let png = dir.file("image.mp4")
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=720x720", "-frames:v", "1", "-f", "image2", "-c:v", "png", png])
        expectMediaError(.notAVideo) { () throws(MediaError) in _ = try MediaProbe.probe(path: png) }

        expectMediaError(.io) { () throws(MediaError) in _ = try MediaProbe.probe(path: dir.file("missing.mp4")) }
        expectMediaError(.io) { () throws(MediaError) in _ = try MediaProbe.probe(path: dir.path) }
    }

    @Test("other containers and audio-only files")
    func otherContainers() throws {
        let dir = try Scratch()
        let mkv = dir.file("video.mp4")
        try Clips.make(mkv, size: "720x720", seconds: 1, extra: ["-f", "matroska"])
        expectMediaError(.unsupportedContainer) { () throws(MediaError) in _ = try MediaProbe.probe(path: mkv) }

        let m4a = dir.file("audio.mp4")
        try ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440", "-t", "1", "-c:a", "aac", m4a])
        expectMediaError(.noVideoStream) { () throws(MediaError) in _ = try MediaProbe.probe(path: m4a) }
    }

    @Test("fragmented MP4 is counted by reading its packets")
    func fragmented() throws {
        let dir = try Scratch()
        let path = dir.file("frag.mp4")
        try Clips.make(path, size: "720x720", rate: "30", seconds: 2,
                       extra: ["-g", "10", "-movflags", "frag_keyframe+empty_moov+default_base_moof"])
        #expect(MediaProbe.isFragmented(path: path))
        // Without the trailing `mfra` index, only the first fragment is known up front.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        if Array(bytes.suffix(12).prefix(4)) == Array("mfro".utf8) {
            let mfraSize = bytes.suffix(4).reduce(0) { $0 << 8 | Int($1) }
            bytes = bytes.prefix(bytes.count - mfraSize)
            try bytes.write(to: URL(fileURLWithPath: path))
        }
        #expect(try Clips.topLevelBoxes(path).last == "mdat")
        let facts = try MediaProbe.probe(path: path)
        #expect(facts.container == .mp4)
        #expect(facts.frameCount == 60)
        #expect(facts.isConstantFrameRate && facts.nominalFrameRate == 30)
        #expect(facts.maxKeyframeInterval == 10)
        #expect(abs(facts.durationMs - 2000) <= 40)
        let output = dir.file("out.mp4")
        let result = try Normalizer.normalize(input: path, facts: facts, frameRate: 30, output: output)
        #expect(result.mode == .remux && result.frameCount == 60)
        #expect(try MediaProbe.probe(path: output).frameCount == 60)
    }

    @Test("rate and rotation rules")
    func rules() {
        #expect(MediaProbe.nominalRate(30) == (30, false))
        #expect(MediaProbe.nominalRate(29.97) == (30, true))
        #expect(MediaProbe.nominalRate(23.976) == (24, true))
        #expect(MediaProbe.nominalRate(59.94) == (60, true))
        #expect(MediaProbe.nominalRate(29.6) == (30, false))
        #expect(MediaProbe.nominalRate(30000.0 / 1001 + 0.01) == (30, true))
        #expect(MediaProbe.nominalRate(30.4) == (30, false))
        #expect(MediaProbe.nominalRate(31) == (nil, false))
        #expect(MediaProbe.nominalRate(25) == (nil, false))
        #expect(MediaProbe.nominalRate(50) == (nil, false))
        #expect(MediaProbe.nominalRate(.nan) == (nil, false))
        #expect(MediaProbe.normalizedRotation(90) == 270)
        #expect(MediaProbe.normalizedRotation(-90) == 90)
        #expect(MediaProbe.normalizedRotation(180) == 180)
        #expect(MediaProbe.normalizedRotation(-180) == 180)
        #expect(MediaProbe.normalizedRotation(0) == 0)
        #expect(MediaProbe.normalizedRotation(-89.6) == 90)
        #expect(throws: MediaError.self) { try MediaProbe.containerKind(majorBrand: "heic", compatible: "mif1heic") }
        #expect((try? MediaProbe.containerKind(majorBrand: "abcd", compatible: "abcdisom")) == .mp4)
        #expect((try? MediaProbe.containerKind(majorBrand: nil, compatible: nil)) == .mov)
    }
}
