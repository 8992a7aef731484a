import Foundation
@testable import RotoMedia
import RotoThreads
import Testing

@Suite("Normalizer")
struct NormalizeTests {
    static let fast = NormalizeOptions(preset: "ultrafast")

    /// Checks the output is a normalised MP4 and returns its facts.
    func checkNormalized(_ result: NormalizedVideo, fps: Int, width: Int, height: Int,
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> VideoFacts {
        let facts = try MediaProbe.probe(path: result.path)
        #expect(facts.container == .mp4, sourceLocation: sourceLocation)
        #expect(facts.videoCodec == "h264", sourceLocation: sourceLocation)
        #expect(facts.pixelFormat == "yuv420p", sourceLocation: sourceLocation)
        #expect(facts.isConstantFrameRate, sourceLocation: sourceLocation)
        #expect(facts.nominalFrameRate == fps && !facts.isNTSC, sourceLocation: sourceLocation)
        #expect(facts.rotation == 0, sourceLocation: sourceLocation)
        #expect(facts.codedWidth == width && facts.codedHeight == height, sourceLocation: sourceLocation)
        #expect(result.width == width && result.height == height, sourceLocation: sourceLocation)
        #expect(facts.frameCount == result.frameCount, sourceLocation: sourceLocation)
        #expect(abs(facts.durationMs - result.durationMs) <= 2, sourceLocation: sourceLocation)
        #expect(facts.canRemux(toFrameRate: fps), sourceLocation: sourceLocation)
        let boxes = try Clips.topLevelBoxes(result.path)
        let moov = boxes.firstIndex(of: "moov"), mdat = boxes.firstIndex(of: "mdat")
        #expect(moov != nil && mdat != nil && moov! < mdat!, "faststart: \(boxes)", sourceLocation: sourceLocation)
        return facts
    }

    @Test("a compliant MP4 is remuxed, audio kept")
    func remuxCompliant() throws {
        let dir = try Scratch()
        let source = dir.file("in.mp4"), output = dir.file("out.mp4")
        try Clips.make(source, size: "1280x720", rate: "30", seconds: 2,
                       codec: ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"], audio: true)
        let facts = try MediaProbe.probe(path: source)
        let (result, elapsed) = try seconds {
            try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output, options: Self.fast)
        }
        print("remux 1280x720 2 s: \(String(format: "%.1f", elapsed * 1000)) ms")
        #expect(result.mode == .remux)
        #expect(result.frameCount == 60 && result.fps == 30 && result.hasAudio)
        #expect(result.path == output)
        let out = try checkNormalized(result, fps: 30, width: 1280, height: 720)
        #expect(out.hasAudio && out.audioCodec == "aac")
        #expect(out.hasBFrames == facts.hasBFrames)
        // Stream copy: the pictures are bit-identical.
        #expect(try Clips.referenceFrame(output, 37) == Clips.referenceFrame(source, 37))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["in.mp4", "out.mp4"])
    }

    @Test("a compliant MOV is remuxed into MP4")
    func remuxMov() throws {
        let dir = try Scratch()
        let source = dir.file("in.mov"), output = dir.file("out.mp4")
        try Clips.make(source, size: "720x720", rate: "24", seconds: 2)
        let facts = try MediaProbe.probe(path: source)
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 24, output: output,
                                              options: Self.fast)
        #expect(result.mode == .remux && result.frameCount == 48)
        _ = try checkNormalized(result, fps: 24, width: 720, height: 720)
    }

    @Test("re-encoded inputs: frame count = round(duration × fps)", arguments: [
        ("30000/1001", 30, 2.0), ("60", 30, 2.0), ("25", 30, 2.0), ("24", 60, 1.5), ("30", 24, 2.0),
    ])
    func reencodeRates(rate: String, fps: Int, duration: Double) throws {
        let dir = try Scratch()
        let source = dir.file("in.mp4"), output = dir.file("out.mp4")
        try Clips.make(source, size: "720x720", rate: rate, seconds: duration, audio: true)
        let facts = try MediaProbe.probe(path: source)
        let (result, elapsed) = try seconds {
            try Normalizer.normalize(input: source, facts: facts, frameRate: fps, output: output, options: Self.fast)
        }
        print("re-encode 720x720 \(rate) → \(fps) fps, \(duration) s: \(String(format: "%.0f", elapsed * 1000)) ms")
        #expect(result.mode == .reencode)
        let expected = Int((facts.durationSeconds * Double(fps)).rounded())
        #expect(abs(result.frameCount - expected) <= 1, "\(result.frameCount) vs \(expected)")
        let out = try checkNormalized(result, fps: fps, width: 720, height: 720)
        #expect(abs(out.durationMs - facts.durationMs) <= 1000 / fps + 1)
        #expect(out.hasAudio)
    }

    @Test("variable frame rate is resampled to constant")
    func vfr() throws {
        let dir = try Scratch()
        let source = dir.file("vfr.mp4"), output = dir.file("out.mp4")
        try Clips.make(source, size: "720x720", rate: "30", seconds: 2,
                       filter: ["-vf", "select='not(eq(mod(n\\,5)\\,3))'", "-fps_mode", "vfr"])
        let facts = try MediaProbe.probe(path: source)
        #expect(!facts.isConstantFrameRate)
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output,
                                              options: Self.fast)
        #expect(result.mode == .reencode)
        let expected = Int((facts.durationSeconds * 30).rounded())
        #expect(abs(result.frameCount - expected) <= 1)
        _ = try checkNormalized(result, fps: 30, width: 720, height: 720)
        // Slot 3 had no source frame: it repeats source frame 2 (nearest earlier in time wins ties).
        let reader = try FrameReader(path: output)
        #expect(meanAbsDiff(try reader.frame(at: 3).pixels, try reader.frame(at: 2).pixels) < 0.5)
        #expect(meanAbsDiff(try reader.frame(at: 4).pixels, try reader.frame(at: 2).pixels) > 1)
    }

    @Test("rotation is applied to the pixels", arguments: [(90, 720, 1280), (270, 720, 1280), (180, 1280, 720)])
    func rotation(tag: Int, width: Int, height: Int) throws {
        let dir = try Scratch()
        let plain = dir.file("plain.mp4"), source = dir.file("rot.mp4"), output = dir.file("out.mp4")
        try Clips.make(plain, size: "1280x720", rate: "30", seconds: 1)
        try Clips.rotated(plain, source, tag: tag)
        let facts = try MediaProbe.probe(path: source)
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output,
                                              options: Self.fast)
        #expect(result.mode == .reencode)
        #expect(abs(result.frameCount - 30) <= 1)
        _ = try checkNormalized(result, fps: 30, width: width, height: height)
        // Our upright frame matches what the ffmpeg CLI shows (it autorotates by the display matrix) …
        let mine = try FrameReader(path: output).frame(at: 12).pixels
        let shown = try Clips.referenceFrame(source, 12)
        let diff = meanAbsDiff(mine, shown)
        #expect(diff < 4, "mean abs diff \(diff)")
        // … and not the stored orientation (same size only for 180°).
        if tag == 180 {
            #expect(meanAbsDiff(mine, try Clips.referenceFrame(plain, 12)) > 20)
        }
    }

    @Test("HEVC, 4:4:4 and odd sizes are re-encoded to even yuv420p")
    func otherFormats() throws {
        let dir = try Scratch()
        let odd = dir.file("odd.mp4"), output = dir.file("out.mp4")
        try Clips.make(odd, size: "721x405", seconds: 1,
                       codec: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"])
        let facts = try MediaProbe.probe(path: odd)
        let result = try Normalizer.normalize(input: odd, facts: facts, frameRate: 30, output: output,
                                              options: Self.fast)
        #expect(result.mode == .reencode)
        _ = try checkNormalized(result, fps: 30, width: 720, height: 404)

        guard Clips.hasEncoder("libx265") else { return }
        let hevc = dir.file("hevc.mp4"), hevcOut = dir.file("hevc-out.mp4")
        try Clips.make(hevc, size: "720x720", seconds: 1,
                       codec: ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
                               "-x265-params", "log-level=error:pools=2"])
        let hevcFacts = try MediaProbe.probe(path: hevc)
        #expect(hevcFacts.videoCodec == "hevc" && hevcFacts.pixelFormat == "yuv420p10le")
        let converted = try Normalizer.normalize(input: hevc, facts: hevcFacts, frameRate: 30, output: hevcOut,
                                                 options: Self.fast)
        _ = try checkNormalized(converted, fps: 30, width: 720, height: 720)
        let diff = meanAbsDiff(try FrameReader(path: hevcOut).frame(at: 10).pixels, try Clips.referenceFrame(hevc, 10))
        #expect(diff < 4, "mean abs diff \(diff)")
    }

    /// The file's sample aspect ratio as the ffmpeg CLI reads it ("4:3"), or "" when it has none.
    static func sampleAspect(_ path: String) throws -> String {
        let out = try run("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries",
                                               "stream=sample_aspect_ratio", "-of", "csv=p=0", path])
        // (A display matrix adds a second, empty field.)
        return String(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: ",", omittingEmptySubsequences: false).first ?? "")
    }

    @Test("non-square pixels keep their shape: stored size, the ratio kept (turned with the frame)",
          arguments: [(0, "4:3", 1280, 720), (90, "3:4", 720, 1280), (-1, "4:3", 1280, 720),
                      (-2, "4:3", 1280, 720), (-3, "4:3", 1280, 720)])
    func sampleAspectKept(rotation: Int, expected: String, width: Int, height: Int) throws {
        // rotation -1: a compliant H.264 file (remuxed); 0 and 90: re-encoded (4:4:4, a display matrix);
        // -2 and -3: the ratio only in the H.264 headers (VUI), no `pasp` box, remuxed and re-encoded.
        let dir = try Scratch()
        let plain = dir.file("plain.mp4"), source = dir.file("sar.mp4"), output = dir.file("out.mp4")
        try Clips.make(plain, size: "1280x720", seconds: 1, filter: ["-vf", "setsar=4/3"])
        if rotation == -1 {  // compliant H.264: remuxed
            try Clips.make(source, size: "1280x720", seconds: 1, filter: ["-vf", "setsar=4/3"])
        } else if rotation <= -2 {
            // The muxer writes the encoder's square ratio in a `pasp` box; the bitstream filter puts 4:3
            // in the headers. The box is then renamed `free` (skipped), as a file from a muxer that
            // writes none.
            try Clips.make(source, size: "1280x720", seconds: 1,
                           codec: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", rotation == -2 ? "yuv420p" : "yuv444p",
                                   "-bsf:v", "h264_metadata=sample_aspect_ratio=4/3"])
            var bytes = try Data(contentsOf: URL(fileURLWithPath: source))
            let box = try #require(bytes.range(of: Data("pasp".utf8)))
            bytes.replaceSubrange(box, with: Data("free".utf8))
            try bytes.write(to: URL(fileURLWithPath: source))
        } else if rotation == 0 {
            try Clips.make(source, size: "1280x720", seconds: 1,
                           codec: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"],
                           filter: ["-vf", "setsar=4/3"])
        } else {
            try Clips.rotated(plain, source, tag: rotation)
        }
        #expect(try Self.sampleAspect(source) == "4:3")
        let facts = try MediaProbe.probe(path: source)
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output, options: Self.fast)
        #expect(result.mode == (rotation == -1 || rotation == -2 ? .remux : .reencode))
        _ = try checkNormalized(result, fps: 30, width: width, height: height)
        let got = try Self.sampleAspect(output)
        #expect(got == expected, "\(got)")
        // In a `pasp` box, where the renderers (which read no bitstream headers up front) find it.
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)).range(of: Data("pasp".utf8)) != nil)
        #expect(abs(try MediaProbe.sampleAspect(path: output) - (expected == "4:3" ? 4.0 / 3 : 0.75)) < 1e-9)
    }

    @Test("forced re-encode of a compliant input keeps the frame count")
    func forced() throws {
        let dir = try Scratch()
        let source = dir.file("in.mp4"), output = dir.file("out.mp4")
        try Clips.make(source, size: "1280x720", rate: "30", seconds: 2)
        let facts = try MediaProbe.probe(path: source)
        var options = Self.fast
        options.forceReencode = true
        options.keyframeInterval = 15
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output, options: options)
        #expect(result.mode == .reencode && result.frameCount == 60)
        _ = try checkNormalized(result, fps: 30, width: 1280, height: 720)
        #expect(try FrameReader(path: output).keyframeIndices == [0, 15, 30, 45])
        #expect(try MediaProbe.probe(path: output).maxKeyframeInterval == 15)
        let diff = meanAbsDiff(try FrameReader(path: output).frame(at: 59).pixels, try Clips.referenceFrame(source, 59))
        #expect(diff < 4, "mean abs diff \(diff)")
    }

    @Test("interlaced input is deinterlaced in its own field order, at the same frame rate", arguments: [
        ("interleave_top", "tff", "tff=1"), ("interleave_bottom", "bff", "bff=1"),
    ])
    func interlaced(weave: String, order: String, x264: String) throws {
        let dir = try Scratch()
        let motion = dir.file("p60.mp4"), source = dir.file("i30.mp4"), output = dir.file("out.mp4")
        // 60 progressive frames a second, losslessly; then each pair woven into one field-coded frame
        // whose first field (in time) comes from the pair's first frame.
        try Clips.make(motion, size: "1280x720", rate: "60", seconds: 1,
                       codec: ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"])
        try ffmpeg(["-i", motion, "-vf", "tinterlace=mode=\(weave),setfield=\(order)", "-c:v", "libx264",
                    "-preset", "ultrafast", "-flags", "+ildct+ilme", "-x264opts", x264, "-pix_fmt", "yuv420p",
                    source])
        let facts = try MediaProbe.probe(path: source)
        #expect(facts.isInterlaced && facts.frameRate == 30)
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output,
                                              options: Self.fast)
        #expect(result.mode == .reencode && result.frameCount == 30)
        let out = try checkNormalized(result, fps: 30, width: 1280, height: 720)
        #expect(!out.isInterlaced)
        // Each output frame shows its first field's moment. Where the woven picture is combed (it differs
        // from the progressive frame of that moment), ours is near that frame — a deinterlace in the
        // wrong field order is worse there than none.
        let reader = try FrameReader(path: output)
        for k in [5, 14, 27] {
            let truth = try Clips.referenceFrame(motion, 2 * k)
            let mine = try reader.frame(at: k).pixels, woven = try Clips.referenceFrame(source, k)
            var combed = 0, wovenError = 0, mineError = 0
            for i in stride(from: 0, to: truth.count, by: 3) {
                let w = (0..<3).reduce(0) { $0 + abs(Int(woven[i + $1]) - Int(truth[i + $1])) }
                guard w > 60 else { continue }
                combed += 1
                wovenError += w
                mineError += (0..<3).reduce(0) { $0 + abs(Int(mine[i + $1]) - Int(truth[i + $1])) }
            }
            #expect(combed > 2000, "frame \(k): \(combed) combed pixels")
            #expect(Double(mineError) < 0.6 * Double(wovenError),
                    "frame \(k): \(combed) combed pixels, error \(mineError) against woven \(wovenError)")
        }
    }

    /// The audio of `path` decoded by the ffmpeg CLI: mono float samples at 48 kHz.
    static func audioSamples(_ path: String) throws -> [Float] {
        let data = try run("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-i", path, "-vn",
                                               "-ac", "1", "-ar", "48000", "-f", "f32le", "-"])
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// `fields` (comma-separated) of the first audio stream, as ffprobe reads them: "aac,stereo", say.
    static func audioStream(_ path: String, _ fields: String) throws -> String {
        let out = try run("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "a:0", "-show_entries",
                                               "stream=\(fields)", "-of", "csv=p=0", path])
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Channels of the first audio stream, as ffprobe reads them.
    static func audioChannels(_ path: String) throws -> Int {
        Int(try audioStream(path, "channels")) ?? 0
    }

    @Test("other audio is re-encoded as AAC, in sync: a tone that starts at 1 s starts there", arguments: [
        ("in.mov", "pcm_s16le", 2, false), ("in.mov", "pcm_s24le", 6, true), ("in.mp4", "libmp3lame", 2, false),
        ("in.mp4", "ac3", 6, true), ("in.mp4", "libopus", 2, true), ("in.mov", "alac", 1, false),
    ])
    func otherAudio(name: String, codec: String, channels: Int, reencode: Bool) throws {
        let dir = try Scratch()
        let source = dir.file(name), output = dir.file("out.mp4")
        // Silence, then from 1 s a 440 Hz tone on every channel.
        let tone = "aevalsrc=if(gte(t\\,1)\\,0.5*sin(2*PI*440*t)\\,0):s=48000:c=\(channels == 6 ? "5.1" : channels == 1 ? "mono" : "stereo")"
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=720x720:rate=30", "-f", "lavfi", "-i", tone, "-t", "2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", codec, source])
        let facts = try MediaProbe.probe(path: source)
        #expect(facts.hasAudio && facts.audioCodec != "aac")
        var options = Self.fast
        options.forceReencode = reencode
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output, options: options)
        #expect(result.mode == (reencode ? .reencode : .remux) && result.hasAudio)
        let out = try checkNormalized(result, fps: 30, width: 720, height: 720)
        #expect(out.hasAudio && out.audioCodec == "aac")
        #expect(try Self.audioChannels(output) == channels)
        let samples = try Self.audioSamples(output)
        // The length: the video's 2 s (within one AAC frame).
        #expect(abs(samples.count - 96_000) <= 1024, "\(samples.count) samples")
        // The onset: the first sample above a quarter of the tone's peak, at 1 s within 5 ms.
        let peak = samples.map(abs).max() ?? 0
        let onset = samples.firstIndex { abs($0) > peak / 4 } ?? -1
        #expect(peak > 0.3 && abs(onset - 48_000) < 240, "peak \(peak), onset at sample \(onset)")
        // The tone: 440 Hz (880 zero crossings a second) over its last half second.
        let tail = samples[72_000..<min(samples.count, 95_000)]
        let crossings = zip(tail, tail.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        let hz = Double(crossings) / 2 / (Double(tail.count) / 48_000)
        #expect(abs(hz - 440) < 5, "\(hz) Hz")
    }

    @Test("re-encoded audio that starts before the video is cut where the video starts")
    func audioBeforeVideo() throws {
        let dir = try Scratch()
        let video = dir.file("v.mp4"), audio = dir.file("a.wav"), source = dir.file("in.mov"), output = dir.file("out.mp4")
        // The video from 0.5 s to 2.5 s; the audio from 0, its tone from 1 s: 0.5 s into the video.
        try Clips.make(video, size: "720x720", rate: "30", seconds: 2)
        try ffmpeg(["-f", "lavfi", "-i", "aevalsrc=if(gte(t\\,1)\\,0.5*sin(2*PI*440*t)\\,0):s=48000", "-t", "2.5",
                    "-c:a", "pcm_s16le", audio])
        try ffmpeg(["-i", audio, "-itsoffset", "0.5", "-i", video, "-map", "1:v", "-map", "0:a", "-c", "copy", source])
        let facts = try MediaProbe.probe(path: source)
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output, options: Self.fast)
        #expect(result.hasAudio && result.frameCount == 60)
        let samples = try Self.audioSamples(output)
        #expect(abs(samples.count - 96_000) <= 1024, "\(samples.count) samples")
        let onset = samples.firstIndex { abs($0) > 0.125 } ?? -1
        #expect(abs(onset - 24_000) < 240, "onset at sample \(onset)")
    }

    @Test("re-encoded audio follows its timestamps: a jump of 0.4 s becomes 0.4 s of silence, in sync after it")
    func audioTimestampGap() throws {
        let dir = try Scratch()
        let plain = dir.file("plain.mp4"), source = dir.file("gap.mp4"), output = dir.file("out.mp4")
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=720x720:rate=30", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "libmp3lame", plain])
        // Every MP3 packet from 0.8 s on is stamped 0.4 s later (the samples stay the same).
        try ffmpeg(["-i", plain, "-c", "copy", "-bsf:a", "setts=ts=if(gte(PTS\\,38400)\\,PTS+19200\\,PTS)", source])
        let facts = try MediaProbe.probe(path: source)
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output, options: Self.fast)
        #expect(result.mode == .remux && result.hasAudio)
        let samples = try Self.audioSamples(output)
        #expect(abs(samples.count - 96_000) <= 1024, "\(samples.count) samples")
        func loudest(_ range: Range<Int>) -> Float { samples[range.clamped(to: samples.indices)].map(abs).max() ?? 0 }
        // lavfi's sine peaks at 1/8.
        #expect(loudest(2_400..<38_000) > 0.1 && loudest(60_000..<93_600) > 0.1)
        #expect(loudest(40_800..<56_600) < 0.005, "the gap: \(loudest(40_800..<56_600))")
        // The tone comes back where its packets are stamped (0.816 s + 0.4 s, within a few ms).
        let back = (40_800..<samples.count).first { abs(samples[$0]) > 0.03 } ?? -1
        #expect(abs(back - 58_368) < 480, "back at sample \(back)")
    }

    @Test("audio whose channels change mid-way (AC-3 stereo, then 5.1) keeps both halves")
    func audioChangingChannels() throws {
        let dir = try Scratch()
        let stereo = dir.file("a2.ac3"), surround = dir.file("a6.ac3"), video = dir.file("v.mp4")
        let source = dir.file("in.mov"), output = dir.file("out.mp4")
        try ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "1", "-ac", "2", "-c:a", "ac3", stereo])
        try ffmpeg(["-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000", "-t", "1", "-ac", "6", "-c:a", "ac3", surround])
        let joined = try Data(contentsOf: URL(fileURLWithPath: stereo)) + Data(contentsOf: URL(fileURLWithPath: surround))
        try joined.write(to: URL(fileURLWithPath: dir.file("mix.ac3")))
        try Clips.make(video, size: "720x720", rate: "30", seconds: 2)
        // The MOV's sample entry says stereo (the first frame's); the decoder gives 6 channels after 1 s.
        try ffmpeg(["-i", video, "-i", dir.file("mix.ac3"), "-map", "0:v", "-map", "1:a", "-c", "copy", source])
        let facts = try MediaProbe.probe(path: source)
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output, options: Self.fast)
        #expect(result.hasAudio)
        #expect(try Self.audioChannels(output) == 2)
        let samples = try Self.audioSamples(output)
        #expect(abs(samples.count - 96_000) <= 1024, "\(samples.count) samples")
        func hertz(_ range: Range<Int>) -> Double {
            let part = samples[range.clamped(to: samples.indices)]
            let crossings = zip(part, part.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
            return Double(crossings) / 2 / (Double(part.count) / 48_000)
        }
        #expect(abs(hertz(4_800..<43_200) - 440) < 5)
        #expect(abs(hertz(52_800..<91_200) - 660) < 5)
    }

    @Test("audio in a codec outside the re-encoded set is dropped, and the video kept")
    func otherCodecAudioDropped() throws {
        let dir = try Scratch()
        let source = dir.file("in.mov"), output = dir.file("out.mp4")
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=720x720:rate=30", "-f", "lavfi", "-i", "sine", "-t", "1",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "adpcm_ima_qt", source])
        let facts = try MediaProbe.probe(path: source)
        #expect(facts.hasAudio && facts.audioCodec == "adpcm_ima_qt")
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output, options: Self.fast)
        #expect(result.mode == .remux && !result.hasAudio && result.frameCount == 30)
        #expect(try !MediaProbe.probe(path: output).hasAudio)
    }

    @Test("re-encoded audio keeps a layout AAC signals by itself, chosen by the channel count", arguments: [
        ("mono", "mono"), ("2.1", "3.0"), ("4.0", "4.0"), ("5.0(side)", "5.0"), ("5.1(side)", "5.1"),
        ("6.1", "5.1"), ("7.1", "7.1"), ("hexadecagonal", "stereo"),
    ])
    func audioLayouts(input: String, kept: String) throws {
        let dir = try Scratch()
        let source = dir.file("in.mov"), output = dir.file("out.mp4")
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=720x720:rate=30", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000", "-t", "1", "-af", "aformat=channel_layouts=\(input)",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", source])
        let facts = try MediaProbe.probe(path: source)
        let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output, options: Self.fast)
        #expect(result.hasAudio)
        #expect(try Self.audioStream(output, "codec_name,channel_layout") == "aac,\(kept)", "\(input)")
        // The tone survives the remix (its level in a mono mix of the output).
        let samples = try Self.audioSamples(output)
        #expect((samples.map(abs).max() ?? 0) > 0.05, "\(input)")
    }

    @Test("audio that starts after the video's end is dropped, copied or re-encoded: no empty track")
    func audioAfterVideo() throws {
        let dir = try Scratch()
        let video = dir.file("v.mp4")
        try Clips.make(video, size: "720x720", rate: "30", seconds: 1)
        for codec in ["aac", "pcm_s16le"] {
            let audio = dir.file("a-\(codec).mov"), source = dir.file("in-\(codec).mov"), output = dir.file("out-\(codec).mp4")
            try ffmpeg(["-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "1", "-c:a", codec, audio])
            // The video from 0 to 1 s, the audio from 2 s to 3 s.
            try ffmpeg(["-i", video, "-itsoffset", "2", "-i", audio, "-map", "0:v", "-map", "1:a", "-c", "copy", source])
            let facts = try MediaProbe.probe(path: source)
            #expect(facts.hasAudio)
            let result = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: output, options: Self.fast)
            #expect(!result.hasAudio && result.frameCount == 30, "\(codec)")
            #expect(try !MediaProbe.probe(path: output).hasAudio, "\(codec)")
        }
    }

    @Test("x264 settings by frame size")
    func x264Tiers() {
        let options = NormalizeOptions()
        #expect(options.effectiveX264Params(width: 1280, height: 720) == "")
        #expect(options.effectiveX264Params(width: 1920, height: 1080).contains("rc-lookahead=5"))
        #expect(options.effectiveX264Params(width: 2160, height: 2160).contains("bframes=0"))
        #expect(!options.effectiveX264Params(width: 2160, height: 2160).contains("subme"))
        #expect(options.effectiveX264Params(width: 3840, height: 2160).hasSuffix("subme=0"))
        #expect(NormalizeOptions(x264Params: "ref=2").effectiveX264Params(width: 3840, height: 2160) == "ref=2")
    }

    @Test("a raised cancellation flag stops it at once and leaves nothing behind")
    func cancelled() throws {
        let dir = try Scratch()
        let source = dir.file("in.mp4")
        try Clips.make(source, size: "1280x720", rate: "30", seconds: 4)
        let facts = try MediaProbe.probe(path: source)
        var reencode = Self.fast
        reencode.forceReencode = true
        // Raised before the start: the remux and the re-encode both stop before writing anything.
        let raised = CancellationFlag()
        raised.raise()
        for (name, options) in [("remux.mp4", Self.fast), ("reencode.mp4", reencode)] {
            expectMediaError(.cancelled) { () throws(MediaError) in
                _ = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: dir.file(name),
                                             options: options, cancellation: raised)
            }
        }
        // Raised by another thread while 120 frames are re-encoded (ultrafast, under a second's work).
        let flag = CancellationFlag()
        let raiser = Thread {
            Thread.sleep(forTimeInterval: 0.1)
            flag.raise()
        }
        raiser.start()
        expectMediaError(.cancelled) { () throws(MediaError) in
            _ = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: dir.file("late.mp4"),
                                         options: reencode, cancellation: flag)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["in.mp4"])
    }

    @Test("failures leave nothing behind")
    func failures() throws {
        let dir = try Scratch()
        let source = dir.file("in.mp4")
        try Clips.make(source, size: "720x720", seconds: 1)
        let facts = try MediaProbe.probe(path: source)
        expectMediaError(.invalidArgument) { () throws(MediaError) in
            _ = try Normalizer.normalize(input: source, facts: facts, frameRate: 0, output: dir.file("a.mp4"),
                                         options: Self.fast)
        }
        expectMediaError(.io) { () throws(MediaError) in
            _ = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: dir.file("no/such/b.mp4"),
                                         options: Self.fast)
        }
        var bad = Self.fast
        bad.preset = "no-such-preset"
        bad.forceReencode = true
        expectMediaError(.encodeFailed) { () throws(MediaError) in
            _ = try Normalizer.normalize(input: source, facts: facts, frameRate: 30, output: dir.file("c.mp4"),
                                         options: bad)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["in.mp4"])
    }
}
