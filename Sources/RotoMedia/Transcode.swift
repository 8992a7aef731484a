import CFFmpeg

/// How the frame-by-frame renderers (``OverlayRenderer``, ``VideoRewriter``) encode.
struct TranscodeSettings {
    var preset: String
    var crf: Int
    /// Decoder and encoder threads, clamped to 1…2.
    var threads: Int
    var keyframeSeconds: Double
    var timeoutSeconds: Double
    /// Names the work in timeout messages.
    var activity: String
    /// Largest side of the output (the input's size scaled down to fit, even); nil: the input's size.
    var maxLongSide: Int? = nil
}

/// The input's frame size and the size the outputs are encoded at.
struct TranscodeSize {
    var source: (width: Int, height: Int)
    var output: (width: Int, height: Int)
}

/// `width` × `height` scaled down, aspect kept, so that neither side exceeds `maxLongSide`, with even
/// sides of at least 2; unchanged when it already fits or `maxLongSide` is nil.
func fittedSize(width: Int, height: Int, maxLongSide: Int?) -> (width: Int, height: Int) {
    guard let limit = maxLongSide, max(width, height) > limit else { return (width, height) }
    let scale = Double(limit) / Double(max(width, height))
    func even(_ v: Int) -> Int { max(2, Int((Double(v) * scale / 2).rounded()) * 2) }
    return (even(width), even(height))
}

/// What a transcode produced.
struct TranscodeTally {
    var frameCount = 0
    var width = 0
    var height = 0
}

/// The loop the renderers share: decodes `input` (a normalised H.264 MP4) in order and hands each
/// decoded frame to `produce` (valid during the call only), then nil once after the last. Each call
/// returns the frames finished so far, in decoding order, possibly some frames late (a renderer
/// working on two frames at once): per finished frame one yuv420p frame per output of the output size
/// (valid until the next call). The loop encodes them with libx264 into the matching outputs with the
/// input's timestamps and rate, at the input's size or, with `settings.maxLongSide`, scaled down to
/// fit it. An AAC audio track is copied into every output. Every output is written to a temporary file and renamed
/// into place only when all succeeded; nothing is left behind on failure. Verifies that every input
/// frame came out.
func transcode(input path: String, outputs: [String], settings: TranscodeSettings,
               produce: (_ index: Int, _ decoded: UnsafeMutablePointer<AVFrame>?, _ size: TranscodeSize)
                   throws(MediaError) -> [[UnsafeMutablePointer<AVFrame>]]) throws(MediaError) -> (TranscodeTally, [Int]) {
    var tally = TranscodeTally()
    var sizes: [Int] = []
    // Nest one atomic write per output so that all of them are renamed only on success.
    func nest(_ k: Int, _ temporaries: [String]) throws(MediaError) {
        if k == outputs.count {
            try transcodeInto(input: path, temporaries: temporaries, settings: settings, produce: produce, tally: &tally)
            return
        }
        sizes.append(try writeAtomically(to: outputs[k]) { temporary throws(MediaError) in
            try nest(k + 1, temporaries + [temporary])
        })
    }
    try nest(0, [])
    return (tally, sizes.reversed())
}

private func transcodeInto(input path: String, temporaries: [String], settings: TranscodeSettings,
                           produce: (Int, UnsafeMutablePointer<AVFrame>?, TranscodeSize) throws(MediaError) -> [[UnsafeMutablePointer<AVFrame>]],
                           tally: inout TranscodeTally) throws(MediaError) {
    let deadline = Deadline(seconds: settings.timeoutSeconds)
    let input = try InputFile(path: path, format: "mov", deadline: deadline, failureCode: .corrupt)
    var (videoIndex, audioIndex) = try MediaProbe.chooseStreams(input)
    if let a = audioIndex, input.stream(a).pointee.codecpar.pointee.codec_id != AV_CODEC_ID_AAC { audioIndex = nil }
    input.keepOnly(Set([videoIndex] + (audioIndex.map { [$0] } ?? [])))
    let inVideo = input.stream(videoIndex)
    let par = inVideo.pointee.codecpar!
    let decoder = try Decoder(stream: inVideo, threads: settings.threads)
    let width = Int(par.pointee.width) & ~1, height = Int(par.pointee.height) & ~1
    guard width >= 2, height >= 2 else {
        throw MediaError(code: .undecodable, message: "bad frame size \(par.pointee.width)x\(par.pointee.height)")
    }
    let size = TranscodeSize(source: (width, height),
                             output: fittedSize(width: width, height: height, maxLongSide: settings.maxLongSide))
    let (timeBase, rate, frameDuration) = try streamTiming(inVideo)
    let gop = max(1, Int((rate.double * max(settings.keyframeSeconds, 0)).rounded()))
    let encoderSettings = EncoderSettings(preset: settings.preset, crf: settings.crf, threads: settings.threads,
                                          keyframeInterval: gop, x264Params: "", timeBase: timeBase,
                                          frameRate: rate, frameDuration: frameDuration)
    let inAudio = audioIndex.map { input.stream($0) }
    var sinks: [(file: OutputFile, encoder: Encoder, video: UnsafeMutablePointer<AVStream>,
                 audio: UnsafeMutablePointer<AVStream>?)] = []
    for temporary in temporaries {
        let file = try OutputFile(path: temporary)
        let encoder = try Encoder(width: size.output.width, height: size.output.height, settings: encoderSettings,
                                  globalHeader: file.needsGlobalHeader, colorFrom: par,
                                  sampleAspect: sampleAspect(of: inVideo))
        let video = try file.addStream(encoder: encoder)
        let audio = try inAudio.map { stream throws(MediaError) in try file.addStream(copying: stream) }
        try file.writeHeader()
        sinks.append((file, encoder, video, audio))
    }
    let copy = try Packet()
    var index = 0
    // Timestamps of the frames handed to `produce` and not yet encoded, oldest first.
    var waiting: [Int64] = []
    var encoded = 0
    func encode(_ finished: [[UnsafeMutablePointer<AVFrame>]]) throws(MediaError) {
        for frames in finished {
            guard encoded < waiting.count else {
                throw MediaError(code: .internalError, message: "more frames produced than decoded")
            }
            guard frames.count == sinks.count else {
                throw MediaError(code: .internalError, message: "\(frames.count) frames produced for \(sinks.count) outputs")
            }
            for (ready, sink) in zip(frames, sinks) {
                ready.pointee.pts = waiting[encoded]
                ready.pointee.pict_type = AV_PICTURE_TYPE_NONE
                try sink.encoder.send(ready, output: sink.file, stream: sink.video)
            }
            encoded += 1
        }
    }
    let decoded = try decodeVideo(input: input, videoIndex: videoIndex, decoder: decoder, frameDuration: frameDuration,
                                  deadline: deadline, activity: settings.activity,
                                  otherPacket: { packet throws(MediaError) in
        guard let inAudio else { return }
        for (k, sink) in sinks.enumerated() {
            guard let outAudio = sink.audio else { continue }
            if k == sinks.count - 1 {
                try sink.file.write(packet, from: inAudio, to: outAudio, zeroSeconds: 0)
            } else {
                // Writing consumes the packet: give every other output its own reference.
                let rc = av_packet_ref(copy.pointer, packet.pointer)
                guard rc >= 0 else {
                    throw MediaError(code: .internalError, message: "cannot copy a packet: \(ffErrorString(rc))", ffmpegError: rc)
                }
                defer { copy.unref() }
                try sink.file.write(copy, from: inAudio, to: outAudio, zeroSeconds: 0)
            }
        }
    }) { frame, pts throws(MediaError) in
        waiting.append(pts)
        try encode(produce(index, frame, size))
        index += 1
    }
    try encode(produce(index, nil, size))
    guard encoded == index else {
        throw MediaError(code: .internalError, message: "\(index - encoded) of \(index) decoded frames never came out of the renderer")
    }
    for sink in sinks {
        try sink.encoder.flush(output: sink.file, stream: sink.video)
        try decoded.verify(encoded: sink.encoder.packetsWritten, decoder: decoder, stream: inVideo)
        try sink.file.finish()
    }
    tally.frameCount = sinks.first?.encoder.packetsWritten ?? index
    tally.width = size.output.width
    tally.height = size.output.height
}
