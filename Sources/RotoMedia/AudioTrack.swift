import CFFmpeg

/// The audio of a normalised video: an AAC track is copied; PCM (as cameras record it), MP3, MP2, AC-3,
/// E-AC-3, Opus, ALAC, FLAC and Vorbis are re-encoded as AAC-LC; other codecs are dropped. Either way it
/// is trimmed to the video's end and shifted so the video starts at 0.
final class AudioTrack {
    private enum Mode {
        case copy
        case transcode(AudioTranscoder)
    }

    let index: Int
    private let input: UnsafeMutablePointer<AVStream>
    private let output: UnsafeMutablePointer<AVStream>
    private let muxer: OutputFile
    private let mode: Mode
    private let zero: Double, videoEnd: Double

    /// The track for stream `index` of `file`, added to `muxer` (before its header is written); nil
    /// when there is no audio or it cannot be decoded or encoded (the video goes on without it).
    /// `zero`: the video's start in the file (seconds); `videoEnd`: its length.
    static func make(_ file: InputFile, index: Int?, muxer: OutputFile, zero: Double, videoEnd: Double) -> AudioTrack? {
        guard let index else { return nil }
        let stream = file.stream(index)
        // A track the container places wholly after the video's end (or before its start) would be an
        // empty track in the output: it is left out. (Without a declared start, its packets decide.)
        let s = stream.pointee
        if s.start_time != roto_nopts_value() {
            let start = Normalizer.startTime(of: stream) - zero
            let end = s.duration > 0 ? start + Double(s.duration) * s.time_base.double : .infinity
            if start >= videoEnd || end <= 0 { return nil }
        }
        let mode: Mode, out: UnsafeMutablePointer<AVStream>
        if stream.pointee.codecpar.pointee.codec_id == AV_CODEC_ID_AAC {
            guard let copied = try? muxer.addStream(copying: stream) else { return nil }
            (mode, out) = (.copy, copied)
        } else {
            guard transcoded.contains(stream.pointee.codecpar.pointee.codec_id),
                  let transcoder = try? AudioTranscoder(stream: stream, zero: zero, videoEnd: videoEnd,
                                                          globalHeader: muxer.needsGlobalHeader),
                  let encoded = try? muxer.addStream(encoding: transcoder.encoder) else { return nil }
            (mode, out) = (.transcode(transcoder), encoded)
        }
        return AudioTrack(index: index, input: stream, output: out, muxer: muxer, mode: mode, zero: zero, videoEnd: videoEnd)
    }

    /// The audio codecs re-encoded (what cameras, phones and editors write); FFmpeg's other audio decoders
    /// are not exposed to uploaded files, and such a track is dropped.
    static let transcoded: Set<AVCodecID> = [
        AV_CODEC_ID_PCM_S16LE, AV_CODEC_ID_PCM_S16BE, AV_CODEC_ID_PCM_S24LE, AV_CODEC_ID_PCM_S24BE,
        AV_CODEC_ID_PCM_S32LE, AV_CODEC_ID_PCM_S32BE, AV_CODEC_ID_PCM_F32LE, AV_CODEC_ID_PCM_F32BE,
        AV_CODEC_ID_PCM_U8, AV_CODEC_ID_MP3, AV_CODEC_ID_MP2, AV_CODEC_ID_AC3, AV_CODEC_ID_EAC3,
        AV_CODEC_ID_OPUS, AV_CODEC_ID_ALAC, AV_CODEC_ID_FLAC, AV_CODEC_ID_VORBIS,
    ]

    private init(index: Int, input: UnsafeMutablePointer<AVStream>, output: UnsafeMutablePointer<AVStream>,
                 muxer: OutputFile, mode: Mode, zero: Double, videoEnd: Double) {
        self.index = index
        self.input = input
        self.output = output
        self.muxer = muxer
        self.mode = mode
        self.zero = zero
        self.videoEnd = videoEnd
    }

    /// Takes one demuxed packet of the track (dropped if it starts at or after the video's end).
    func write(_ packet: Packet) throws(MediaError) {
        if Normalizer.packetStart(packet, in: input) - zero >= videoEnd { return }
        switch mode {
        case .copy: try muxer.write(packet, from: input, to: output, zeroSeconds: zero)
        case .transcode(let t): try t.decode(packet, to: muxer, stream: output)
        }
    }

    /// After the last packet: what the re-encoder still holds.
    func finish() throws(MediaError) {
        if case .transcode(let t) = mode { try t.finish(to: muxer, stream: output) }
    }
}

/// Decodes one audio stream and encodes it as AAC-LC: the input's sample rate where AAC has it (else
/// 48 kHz); a layout AAC signals by itself, chosen by the channel count (see `chooseLayout`); 64 kb/s a
/// channel.
final class AudioTranscoder {
    private let decoder: Decoder
    let encoder: UnsafeMutablePointer<AVCodecContext>
    /// Set up from the first decoded frame, and again when a stream changes format, rate or channels
    /// mid-way (the container's header may not say what the decoder gives).
    private var resampler: OpaquePointer? = nil
    private var resamplerInput: (format: Int32, rate: Int32, channels: Int32)? = nil
    private let fifo: OpaquePointer
    private let timeBase: Double
    /// The video's start in the file (seconds): the audio's time line starts there.
    private let zero: Double
    private let frameSize: Int32
    private let decoded: Frame
    private let packet: Packet
    /// Resampled samples, a frame at a time (grown as needed).
    private var converted: Frame?
    private var convertedCapacity: Int32 = 0
    /// Positions are output samples on the video's time line (0: its first frame). The queue holds every
    /// position from 0 to `queuedUpTo` once: what comes before it again is dropped (audio before the video,
    /// timestamps that step back), a hole before the next samples is filled with silence (audio that starts
    /// late, timestamps that jump ahead), and nothing at or after `end` (the video's end) is queued.
    private var queuedUpTo: Int64 = 0
    private let end: Int64
    /// Where the resampler's next sample goes; set from the first timed frame, and again when a frame's
    /// timestamp is off the samples counted by more than `tolerance` (a gap or an overlap in the input).
    private var timeline: Int64? = nil
    private let tolerance: Int64
    /// Timestamp of the next encoded frame.
    private var nextPts: Int64 = 0

    init(stream: UnsafeMutablePointer<AVStream>, zero: Double, videoEnd: Double, globalHeader: Bool) throws(MediaError) {
        decoder = try Decoder(stream: stream, threads: 1)
        timeBase = stream.pointee.time_base.double
        self.zero = zero
        decoded = try Frame()
        packet = try Packet()
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC), let ctx = avcodec_alloc_context3(codec) else {
            throw MediaError(code: .encodeFailed, message: "the AAC encoder is not available")
        }
        encoder = ctx
        // Until every property is set a failure runs no deinit: the context is freed here.
        var opened = false
        var ownedContext: UnsafeMutablePointer<AVCodecContext>? = ctx
        defer { if !opened { avcodec_free_context(&ownedContext) } }
        // The output is chosen from the container's header (it must be fixed before the file's header).
        let source = decoder.context.pointee
        let rate = Self.supportedRate(Int32(source.sample_rate), of: codec)
        ctx.pointee.sample_rate = rate
        ctx.pointee.time_base = AVRational(num: 1, den: rate)
        end = Int64((videoEnd * Double(rate)).rounded())
        tolerance = Int64(rate / 20)  // 50 ms
        ctx.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        Self.chooseLayout(channels: source.ch_layout.nb_channels, into: &ctx.pointee.ch_layout)
        ctx.pointee.bit_rate = 64_000 * Int64(ctx.pointee.ch_layout.nb_channels)
        if globalHeader { ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        let rc = avcodec_open2(ctx, codec, nil)
        guard rc >= 0 else {
            throw MediaError(code: .encodeFailed, message: "cannot open the AAC encoder: \(ffErrorString(rc))", ffmpegError: rc)
        }
        frameSize = ctx.pointee.frame_size > 0 ? ctx.pointee.frame_size : 1024

        guard let queue = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, ctx.pointee.ch_layout.nb_channels, frameSize) else {
            throw MediaError(code: .internalError, message: "cannot allocate an audio queue")
        }
        fifo = queue
        opened = true
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = encoder
        avcodec_free_context(&ctx)
        swr_free(&resampler)
        av_audio_fifo_free(fifo)
    }

    /// `rate` if the codec takes it, else 48 kHz.
    private static func supportedRate(_ rate: Int32, of codec: UnsafePointer<AVCodec>) -> Int32 {
        guard var p = codec.pointee.supported_samplerates else { return rate > 0 ? rate : 48_000 }
        while p.pointee != 0 {
            if p.pointee == rate { return rate }
            p += 1
        }
        return 48_000
    }

    /// The layouts AAC signals without a program config element (which players and FFmpeg's own demuxer
    /// read back as an unknown layout), chosen by the input's channel count: mono, stereo, 3.0, 4.0, 5.0
    /// and 5.1 with their surrounds at the back, and 7.1 (a source's side surrounds are mapped to the
    /// back ones; 6.1 becomes 5.1). Any other count becomes stereo.
    private static func chooseLayout(channels: Int32, into target: inout AVChannelLayout) {
        let name: String
        switch channels {
        case 1: name = "mono"
        case 3: name = "3.0"
        case 4: name = "4.0"
        case 5: name = "5.0"
        case 6, 7: name = "5.1"
        case 8: name = "7.1"
        default: name = "stereo"
        }
        av_channel_layout_from_string(&target, name)
    }

    /// Decodes `packet` and encodes every full frame of samples it completes.
    func decode(_ packet: Packet, to muxer: OutputFile, stream: UnsafeMutablePointer<AVStream>) throws(MediaError) {
        // A packet the decoder refuses is skipped (a gap), like a damaged video packet.
        guard avcodec_send_packet(decoder.context, packet.pointer) >= 0 else { return }
        try drainDecoder(to: muxer, stream: stream)
    }

    /// Flushes the decoder, the resampler, the queue (the last frame may be short) and the encoder.
    func finish(to muxer: OutputFile, stream: UnsafeMutablePointer<AVStream>) throws(MediaError) {
        _ = avcodec_send_packet(decoder.context, nil)
        try drainDecoder(to: muxer, stream: stream)
        if timeline != nil, let resampler {
            try convert(nil, count: 0, with: resampler)
            try encodeQueued(to: muxer, stream: stream, all: true)
        }
        try send(nil, to: muxer, stream: stream)
    }

    private func drainDecoder(to muxer: OutputFile, stream: UnsafeMutablePointer<AVStream>) throws(MediaError) {
        while true {
            let rc = avcodec_receive_frame(decoder.context, decoded.pointer)
            if rc < 0 { return }  // EAGAIN, EOF, or a frame that does not decode (skipped)
            defer { decoded.unref() }
            let f = decoded.pointer.pointee
            // A frame the resampler cannot be set up for is skipped (a gap).
            guard let swr = resampler(for: decoded.pointer) else { continue }
            var ts = f.best_effort_timestamp
            if ts == roto_nopts_value() { ts = f.pts }
            // Where this frame's first sample belongs (a hostile timestamp is kept within ±10⁶ s).
            let position = (Double(ts) * timeBase - zero) * Double(encoder.pointee.sample_rate)
            if ts != roto_nopts_value(), position.isFinite {
                // … and where the samples counted so far put it (after what the resampler still holds).
                let expected = Int64(min(max(position, -1e11), 1e11).rounded())
                let held = swr_get_delay(swr, Int64(encoder.pointee.sample_rate))
                // Off by more than the input's own jitter (or the first): the timestamp wins.
                if timeline.map({ abs(expected - ($0 + held)) > tolerance }) ?? true { timeline = expected - held }
            } else if timeline == nil {
                timeline = 0
            }
            let planeCount = av_sample_fmt_is_planar(AVSampleFormat(rawValue: f.format)) != 0 ? Int(f.ch_layout.nb_channels) : 1
            try f.extended_data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: planeCount) { planes throws(MediaError) in
                try convert(planes, count: f.nb_samples, with: swr)
            }
            try encodeQueued(to: muxer, stream: stream, all: false)
        }
    }

    /// A resampler from what `frame` holds to the encoder's input: the current one, or a new one when
    /// the frame's format, rate or channel count differs from what it was made for (nil if none can be).
    private func resampler(for frame: UnsafeMutablePointer<AVFrame>) -> OpaquePointer? {
        let f = frame.pointee
        if let resampler, let input = resamplerInput,
           input == (f.format, f.sample_rate, f.ch_layout.nb_channels) { return resampler }
        swr_free(&resampler)
        resamplerInput = nil
        var layout = AVChannelLayout()
        defer { av_channel_layout_uninit(&layout) }
        if f.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC {
            av_channel_layout_default(&layout, f.ch_layout.nb_channels)
        } else {
            av_channel_layout_copy(&layout, &frame.pointee.ch_layout)
        }
        guard f.sample_rate > 0, layout.nb_channels > 0 else { return nil }
        var swr: OpaquePointer? = nil
        var rc = swr_alloc_set_opts2(&swr, &encoder.pointee.ch_layout, AV_SAMPLE_FMT_FLTP, encoder.pointee.sample_rate,
                                     &layout, AVSampleFormat(rawValue: f.format), f.sample_rate, 0, nil)
        if rc >= 0, let swr { rc = swr_init(swr) }
        guard rc >= 0, swr != nil else {
            swr_free(&swr)
            return nil
        }
        resampler = swr
        resamplerInput = (f.format, f.sample_rate, f.ch_layout.nb_channels)
        return swr
    }

    /// Resamples `count` samples (nil: what the resampler still holds) into the queue.
    private func convert(_ planes: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, count: Int32,
                         with resampler: OpaquePointer) throws(MediaError) {
        let room = swr_get_out_samples(resampler, count)
        guard room > 0 else { return }
        if converted == nil || convertedCapacity < room {
            converted = try samples(room)
            convertedCapacity = room
        }
        let out = converted!.pointer
        let made = swr_convert(resampler, out.pointee.extended_data, room, planes, count)
        guard made >= 0 else {
            throw MediaError(code: .encodeFailed, message: "audio conversion failed: \(ffErrorString(made))", ffmpegError: made)
        }
        let at = timeline ?? 0
        timeline = at + Int64(made)
        try queue(out.pointee.extended_data, count: Int64(made), at: at)
    }

    /// Queues `count` resampled samples (planar float, one plane a channel) that belong at position `at`:
    /// what lies before `queuedUpTo` or at or after `end` is dropped, a hole before them becomes silence.
    private func queue(_ planes: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, count: Int64, at: Int64) throws(MediaError) {
        let first = max(at, queuedUpTo), last = min(at + count, end)
        guard first < last else { return }
        if first > queuedUpTo { try queueSilence(first - queuedUpTo) }
        let offset = Int(first - at) * MemoryLayout<Float>.size
        let channels = Int(encoder.pointee.ch_layout.nb_channels)
        let n = Int32(last - first)
        let written = planes.withMemoryRebound(to: UnsafeMutableRawPointer?.self, capacity: channels) { planes in
            var shifted = (0..<channels).map { planes[$0].map { $0 + offset } }
            return av_audio_fifo_write(fifo, &shifted, n)
        }
        guard written == n else {
            throw MediaError(code: .internalError, message: "cannot queue audio samples: \(ffErrorString(written))")
        }
        queuedUpTo = last
    }

    /// Queues `count` samples of silence at `queuedUpTo` (up to `end`).
    private func queueSilence(_ count: Int64) throws(MediaError) {
        let channels = Int(encoder.pointee.ch_layout.nb_channels)
        let chunk = 4096
        let zeros = [Float](repeating: 0, count: chunk)
        var left = min(count, end - queuedUpTo)
        while left > 0 {
            let n = Int32(min(Int64(chunk), left))
            let written = zeros.withUnsafeBytes { raw in
                var planes = [UnsafeMutableRawPointer?](repeating: UnsafeMutableRawPointer(mutating: raw.baseAddress),
                                                        count: channels)
                return av_audio_fifo_write(fifo, &planes, n)
            }
            guard written == n else {
                throw MediaError(code: .internalError, message: "cannot queue audio samples: \(ffErrorString(written))")
            }
            queuedUpTo += Int64(n)
            left -= Int64(n)
        }
    }

    /// A frame of `count` samples in the encoder's format, rate and layout, with its buffers.
    private func samples(_ count: Int32) throws(MediaError) -> Frame {
        let frame = try Frame()
        frame.pointer.pointee.nb_samples = count
        frame.pointer.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        frame.pointer.pointee.sample_rate = encoder.pointee.sample_rate
        av_channel_layout_copy(&frame.pointer.pointee.ch_layout, &encoder.pointee.ch_layout)
        let rc = av_frame_get_buffer(frame.pointer, 0)
        guard rc >= 0 else {
            throw MediaError(code: .internalError, message: "cannot allocate audio samples: \(ffErrorString(rc))")
        }
        return frame
    }

    /// Encodes the queue a frame at a time; `all`: also the last, short one.
    private func encodeQueued(to muxer: OutputFile, stream: UnsafeMutablePointer<AVStream>, all: Bool) throws(MediaError) {
        while av_audio_fifo_size(fifo) >= frameSize || (all && av_audio_fifo_size(fifo) > 0) {
            let count = min(frameSize, av_audio_fifo_size(fifo))
            let frame = try samples(count)
            let read = frame.pointer.pointee.extended_data.withMemoryRebound(
                to: UnsafeMutableRawPointer?.self, capacity: Int(encoder.pointee.ch_layout.nb_channels)
            ) { av_audio_fifo_read(fifo, $0, count) }
            guard read == count else {
                throw MediaError(code: .internalError, message: "cannot read queued audio samples")
            }
            frame.pointer.pointee.pts = nextPts
            nextPts += Int64(count)
            try send(frame.pointer, to: muxer, stream: stream)
        }
    }

    private func send(_ frame: UnsafeMutablePointer<AVFrame>?, to muxer: OutputFile,
                      stream: UnsafeMutablePointer<AVStream>) throws(MediaError) {
        _ = try encode(frame, with: encoder, named: "the AAC encoder", packet: packet, into: stream, of: muxer)
    }
}
