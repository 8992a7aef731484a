import CFFmpeg

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Probes a file by its content: container brand, video stream, timing, rotation, decodability.
public enum MediaProbe {
    /// Probes `path`.
    ///
    /// The container is recognised by its bytes, not its extension: an ISO-BMFF / QuickTime box
    /// structure, then the `ftyp` major brand (`qt  ` → MOV; `isom`, `mp41`, `mp42`, `avc1`, `dash`,
    /// `M4V `, `3gp*`… → MP4). Frames are counted and their timestamp steps measured from the sample
    /// tables (no sample data is read; samples lying past the end of the file mean truncation); a
    /// fragmented MP4 is scanned packet by packet with `av_read_frame` instead. Only the first
    /// keyframe is decoded, to prove the stream is decodable. About 5–15 ms for 720p/1080p, 40–60 ms
    /// for 4K (one intra picture); never hangs: FFmpeg I/O is interrupted at the deadline.
    ///
    /// - Parameter timeoutSeconds: deadline for the whole probe (`.timedOut` after it).
    /// - Throws: ``MediaError`` — `.io` (missing/unreadable), `.notAVideo` (empty, text, random bytes,
    ///   an image), `.unsupportedContainer` (Matroska, AVI, HEIF brand, …), `.corrupt` (unreadable
    ///   box structure, missing `moov`, truncated sample data), `.noVideoStream`, `.undecodable`.
    public static func probe(path: String, timeoutSeconds: Double = 10) throws(MediaError) -> VideoFacts {
        FFmpegSetup.ensure()
        let deadline = Deadline(seconds: timeoutSeconds)
        let (size, header) = try readHeader(path: path)
        guard size > 0 else { throw MediaError(code: .notAVideo, message: "the file is empty") }
        guard looksLikeISOBMFF(header) else { throw classifyForeign(header: header) }

        let input = try InputFile(path: path, format: "mov", deadline: deadline, failureCode: .corrupt)
        let brand = input.metadata("major_brand")
        let container = try containerKind(majorBrand: brand, compatible: input.metadata("compatible_brands"))
        let (videoIndex, audioIndex) = try chooseStreams(input)
        let stream = input.stream(videoIndex)
        let par = stream.pointee.codecpar!
        let timeBase = stream.pointee.time_base
        guard par.pointee.codec_id != AV_CODEC_ID_NONE else {
            throw MediaError(code: .undecodable, message: "the video track uses an unknown codec")
        }
        input.keepOnly([videoIndex])

        let decoder = try Decoder(stream: stream, threads: 1)
        // Timing and sample count come from the sample tables (the demuxer's index) when they cover
        // the file; otherwise (fragmented MP4) every packet is read. Either way nothing is decoded
        // except the first picture.
        let scan: Scan
        if !isFragmented(path: path), let indexed = try indexScan(input: input, videoIndex: videoIndex, fileSize: size) {
            scan = indexed
        } else {
            scan = try readScan(input: input, videoIndex: videoIndex, deadline: deadline)
            try input.rewind(videoIndex)
        }
        guard scan.packets > 0 else {
            throw MediaError(code: .corrupt, message: "the video track has no samples")
        }
        let first = try decodeFirstFrame(input: input, videoIndex: videoIndex, decoder: decoder, deadline: deadline)

        // Timing.
        let tb = timeBase.double
        let pts = scan.timestamps.sorted()
        var steps: [Int64] = []
        steps.reserveCapacity(max(0, pts.count - 1))
        for i in pts.indices.dropFirst() { steps.append(pts[i] - pts[i - 1]) }
        let median = steps.isEmpty ? 0 : steps.sorted()[steps.count / 2]
        let tolerance = max(Int64(1), median / 100)
        let isCFR = median > 0 && steps.allSatisfy { abs($0 - median) <= tolerance }

        var durationSeconds = 0.0
        if stream.pointee.duration > 0 && stream.pointee.duration != roto_nopts_value() {
            durationSeconds = Double(stream.pointee.duration) * tb
        } else if input.context.pointee.duration > 0 && input.context.pointee.duration != roto_nopts_value() {
            durationSeconds = Double(input.context.pointee.duration) / Double(AV_TIME_BASE)
        } else if let lo = pts.first, let hi = pts.last {
            durationSeconds = Double(hi - lo + median) * tb
        }
        let containerRate = stream.pointee.avg_frame_rate.double > 0
            ? stream.pointee.avg_frame_rate.double : stream.pointee.r_frame_rate.double
        let averageRate = durationSeconds > 0 ? Double(scan.packets) / durationSeconds : containerRate
        var rate = averageRate
        if median > 0 && tb > 0 {
            if isCFR, let lo = pts.first, let hi = pts.last, hi > lo {
                rate = Double(pts.count - 1) / (Double(hi - lo) * tb)
            } else {
                rate = 1 / (Double(median) * tb)
            }
        } else if containerRate > 0 {
            rate = containerRate
        }
        let (nominal, ntsc) = nominalRate(rate)

        // Geometry.
        let codedWidth = Int(first.width), codedHeight = Int(first.height)
        let rotation = normalizedRotation(roto_stream_rotation(stream))
        let swap = rotation == 90 || rotation == 270
        let profile = cString(avcodec_profile_name(par.pointee.codec_id, decoder.context.pointee.profile))

        var audioCodec: String? = nil
        if let audioIndex {
            audioCodec = cString(avcodec_get_name(input.stream(audioIndex).pointee.codecpar.pointee.codec_id))
        }
        return VideoFacts(
            container: container, majorBrand: brand, fileSize: size, videoStreamIndex: videoIndex,
            videoCodec: decoder.codecName, videoProfile: profile, pixelFormat: pixelFormatName(first.format),
            codedWidth: codedWidth, codedHeight: codedHeight, rotation: rotation,
            displayWidth: swap ? codedHeight : codedWidth, displayHeight: swap ? codedWidth : codedHeight,
            isInterlaced: first.interlaced, durationMs: Int((durationSeconds * 1000).rounded()),
            frameCount: scan.packets, averageFrameRate: averageRate, frameRate: rate,
            containerFrameRate: containerRate, nominalFrameRate: nominal, isNTSC: ntsc,
            isConstantFrameRate: isCFR, hasBFrames: scan.reordered || decoder.context.pointee.has_b_frames > 0
                || par.pointee.video_delay > 0, hasHiddenPackets: scan.hidden > 0,
            maxKeyframeInterval: scan.maxKeyframeInterval,
            hasAudio: audioIndex != nil, audioCodec: audioCodec, audioStreamIndex: audioIndex,
            codedSampleAspect: first.sampleAspect.num > 0 && first.sampleAspect.den > 0
                ? .init(num: Int(first.sampleAspect.num), den: Int(first.sampleAspect.den)) : nil)
    }

    /// The width of a stored pixel of `path`'s video over its height as players show it (see
    /// `sampleAspect(of:)`; 1 when the file gives none). Reads the file's header only.
    public static func sampleAspect(path: String, timeoutSeconds: Double = 10) throws(MediaError) -> Double {
        FFmpegSetup.ensure()
        let input = try InputFile(path: path, format: nil, deadline: Deadline(seconds: timeoutSeconds), failureCode: .corrupt)
        let shape = RotoMedia.sampleAspect(of: input.stream(try chooseStreams(input).0))
        return Double(shape.num) / Double(shape.den)
    }

    // MARK: - Rules

    /// Maps a measured rate to 24/30/60 (within 2 %). It is the NTSC variant only when it is within
    /// 0.05 % of n × 1000/1001 (the two differ by 0.1 %), so a jittery 29.6 is plain 30.
    static func nominalRate(_ rate: Double) -> (Int?, Bool) {
        guard rate.isFinite, rate > 0 else { return (nil, false) }
        for n in [24, 30, 60] where abs(rate - Double(n)) / Double(n) <= 0.02 {
            let ntsc = Double(n) * 1000 / 1001
            return (n, abs(rate - ntsc) / ntsc <= 0.0005)
        }
        return (nil, false)
    }

    /// Counter-clockwise display-matrix degrees → clockwise quarter turns in 0..<360.
    static func normalizedRotation(_ counterClockwise: Double) -> Int {
        guard counterClockwise.isFinite else { return 0 }
        let quarter = Int((-counterClockwise / 90).rounded())
        return ((quarter % 4) + 4) % 4 * 90
    }

    static let mp4Brands: Set<String> = [
        "isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9", "mp41", "mp42", "mp71",
        "avc1", "M4V ", "M4VH", "M4VP", "dash", "msdh", "msix", "MSNV", "XAVC", "f4v ", "mmp4", "NDAS",
        "3gp4", "3gp5", "3gp6", "3gp7", "3gp8", "3gp9", "3g2a", "3g2b", "3g2c", "3ge6", "3ge7", "3gg6",
        "caqv", "kddi",
    ]

    static func containerKind(majorBrand: String?, compatible: String?) throws(MediaError) -> VideoFacts.Container {
        guard let majorBrand else { return .mov }  // classic QuickTime: no ftyp box
        if majorBrand == "qt  " { return .mov }
        if mp4Brands.contains(majorBrand) { return .mp4 }
        // An unlisted major brand still counts when it declares a generic ISO/MP4 compatible brand.
        let compatibleBrands = stride(from: 0, to: (compatible ?? "").utf8.count, by: 4).map { offset in
            String(decoding: Array((compatible ?? "").utf8).dropFirst(offset).prefix(4), as: UTF8.self)
        }
        if compatibleBrands.contains(where: { ["isom", "iso2", "mp41", "mp42", "avc1"].contains($0) }) { return .mp4 }
        if compatibleBrands.contains("qt  ") { return .mov }
        throw MediaError(code: .unsupportedContainer,
                         message: "ISO-BMFF brand '\(majorBrand)' is not an MP4 or QuickTime video brand")
    }

    // MARK: - Sniffing

    static func readHeader(path: String) throws(MediaError) -> (Int64, [UInt8]) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw MediaError(code: .io, message: "cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw MediaError(code: .io, message: "\(path) is not a regular file")
        }
        guard let file = fopen(path, "rb") else {
            throw MediaError(code: .io, message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var header = [UInt8](repeating: 0, count: 4096)
        let n = header.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        return (Int64(info.st_size), Array(header.prefix(n)))
    }

    /// True when a top-level `moof` box exists (fragmented MP4: the sample tables in `moov` do not
    /// list every sample). Walks the top-level box headers only.
    static func isFragmented(path: String) -> Bool {
        guard let file = fopen(path, "rb") else { return false }
        defer { fclose(file) }
        var offset: Int64 = 0
        var header = [UInt8](repeating: 0, count: 16)
        for _ in 0..<10_000 {
            guard fseeko(file, off_t(offset), SEEK_SET) == 0 else { return false }
            let n = header.withUnsafeMutableBytes { fread($0.baseAddress, 1, 16, file) }
            guard n >= 8 else { return false }
            var boxSize = Int64(header[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            let type = String(decoding: header[4..<8], as: UTF8.self)
            if type == "moof" { return true }
            if boxSize == 1 {
                guard n == 16 else { return false }
                boxSize = Int64(bitPattern: header[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            }
            if boxSize == 0 { return false }  // extends to the end of the file
            guard boxSize >= 8 else { return false }
            offset += boxSize
        }
        return false
    }

    /// Top-level box types an MP4/MOV file can start with.
    static let leadingBoxes: Set<String> = [
        "ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid", "styp", "sidx", "moof", "pdin",
    ]

    static func looksLikeISOBMFF(_ header: [UInt8]) -> Bool {
        guard header.count >= 8 else { return false }
        let size = header[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let type = String(decoding: header[4..<8], as: UTF8.self)
        return leadingBoxes.contains(type) && (size == 0 || size == 1 || size >= 8)
    }

    /// The error for content that is not ISO-BMFF: a known foreign container or not a video at all.
    static func classifyForeign(header: [UInt8]) -> MediaError {
        var padded = header
        padded.append(contentsOf: repeatElement(0, count: 64))  // AVPROBE_PADDING_SIZE
        var score: Int32 = 0
        let format = padded.withUnsafeBufferPointer {
            roto_probe_buffer($0.baseAddress, Int32(header.count), &score)
        }
        if let format, score >= AVPROBE_SCORE_MAX / 4, let name = cString(format.pointee.name) {
            if name == "image2" || name.hasSuffix("_pipe") || name == "gif" || name == "apng" {
                return MediaError(code: .notAVideo, message: "the file is an image (\(name)), not a video")
            }
            return MediaError(code: .unsupportedContainer,
                              message: "container '\(name)' is not MP4 or QuickTime MOV")
        }
        return MediaError(code: .notAVideo, message: "the content is not a recognisable video file")
    }

    // MARK: - Streams and packets

    static func chooseStreams(_ input: InputFile) throws(MediaError) -> (Int, Int?) {
        var best: (index: Int, score: Int)? = nil
        var hasAudio = false
        for i in 0..<input.streamCount {
            let st = input.stream(i)
            let par = st.pointee.codecpar!
            if par.pointee.codec_type == AVMEDIA_TYPE_AUDIO { hasAudio = true }
            guard par.pointee.codec_type == AVMEDIA_TYPE_VIDEO,
                  st.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 else { continue }
            let isDefault = st.pointee.disposition & AV_DISPOSITION_DEFAULT != 0
            let score = Int(par.pointee.width) * Int(par.pointee.height) + (isDefault ? 1 << 40 : 0)
            if score > (best?.score ?? -1) { best = (i, score) }
        }
        guard let best else {
            throw MediaError(code: .noVideoStream,
                             message: hasAudio ? "the file has audio but no video track" : "the file has no video track")
        }
        let audio = av_find_best_stream(input.context, AVMEDIA_TYPE_AUDIO, -1, Int32(best.index), nil, 0)
        return (best.index, audio >= 0 ? Int(audio) : nil)
    }

    struct FirstFrame {
        var width: Int32, height: Int32, format: Int32, interlaced: Bool
        /// The pixels' shape the codec's own headers give (an H.264 or HEVC VUI); 0/1 when they give none.
        var sampleAspect = AVRational(num: 0, den: 1)
    }

    struct Scan {
        var packets = 0
        var hidden = 0
        var timestamps: [Int64] = []
        var reordered = false
        var maxKeyframeInterval = 0
        private var sinceKeyframe = 0

        /// Records one packet (decode order) for the keyframe-interval statistic.
        mutating func note(keyframe: Bool) {
            if keyframe && sinceKeyframe > 0 {
                maxKeyframeInterval = max(maxKeyframeInterval, sinceKeyframe)
                sinceKeyframe = 0
            }
            sinceKeyframe += 1
        }

        mutating func finish() { maxKeyframeInterval = max(maxKeyframeInterval, sinceKeyframe) }
    }

    /// Sample count and decode timestamps from the demuxer's index (built from `stts`/`stsz`/`stco`
    /// without reading sample data). Nil when the index may be incomplete (fragmented files).
    /// Throws `.corrupt` when a sample of any track lies beyond the end of the file (truncation).
    static func indexScan(input: InputFile, videoIndex: Int, fileSize: Int64) throws(MediaError) -> Scan? {
        var scan = Scan()
        var end: Int64 = 0
        for i in 0..<input.streamCount {
            let st = input.stream(i)
            let count = Int(avformat_index_get_entries_count(st))
            if i == videoIndex { scan.timestamps.reserveCapacity(count) }
            for j in 0..<count {
                guard let entry = avformat_index_get_entry(st, Int32(j)) else { continue }
                let e = entry.pointee
                let sampleEnd = e.pos + Int64(e.size)
                if sampleEnd > fileSize {
                    throw MediaError(code: .corrupt, message: "truncated: a sample of track \(i) ends at byte "
                        + "\(sampleEnd) of a \(fileSize)-byte file")
                }
                end = max(end, sampleEnd)
                guard i == videoIndex else { continue }
                scan.note(keyframe: e.flags & AVINDEX_KEYFRAME != 0)
                if e.flags & AVINDEX_DISCARD_FRAME != 0 {
                    scan.hidden += 1
                } else {
                    scan.packets += 1
                    scan.timestamps.append(e.timestamp)
                }
            }
        }
        // Sample data should reach (nearly) the end of the file; if much lies beyond the indexed
        // samples, more fragments follow: count them by reading.
        if scan.packets == 0 || fileSize - end > max(1 << 20, fileSize / 20) { return nil }
        scan.finish()
        return scan
    }

    /// Reads every video packet (no decoding): the fallback for fragmented files.
    static func readScan(input: InputFile, videoIndex: Int, deadline: Deadline) throws(MediaError) -> Scan {
        var scan = Scan()
        let packet = try Packet()
        var maxPts = Int64.min
        while true {
            if scan.packets & 63 == 63 { try deadline.check("probing") }
            guard try input.read(into: packet, activity: "probing", what: "video data after \(scan.packets) packets") else { break }
            defer { packet.unref() }
            let p = packet.pointer.pointee
            guard Int(p.stream_index) == videoIndex else { continue }
            scan.note(keyframe: p.flags & AV_PKT_FLAG_KEY != 0)
            if p.flags & AV_PKT_FLAG_DISCARD != 0 {
                scan.hidden += 1
                continue
            }
            scan.packets += 1
            let ts = p.pts != roto_nopts_value() ? p.pts : p.dts
            if ts != roto_nopts_value() {
                scan.timestamps.append(ts)
                if ts < maxPts { scan.reordered = true }
                maxPts = max(maxPts, ts)
            }
        }
        scan.finish()
        return scan
    }

    /// Decodes the first picture. The decoder skips everything but keyframes and the loop filter, and
    /// is drained right after the first keyframe, so this costs one intra picture.
    static func decodeFirstFrame(input: InputFile, videoIndex: Int, decoder: Decoder,
                                 deadline: Deadline) throws(MediaError) -> FirstFrame {
        let ctx = decoder.context
        ctx.pointee.skip_frame = AVDISCARD_NONKEY
        ctx.pointee.skip_loop_filter = AVDISCARD_ALL
        let packet = try Packet()
        let frame = try Frame()
        var lastError: Int32? = nil
        var fed = 0
        var drained = false

        func receive() -> FirstFrame? {
            let rc = avcodec_receive_frame(ctx, frame.pointer)
            guard rc >= 0 else {
                if rc != roto_eagain() && rc != roto_averror_eof() { lastError = rc }
                return nil
            }
            let f = frame.pointer.pointee
            defer { frame.unref() }
            return FirstFrame(width: f.width, height: f.height, format: f.format, interlaced: f.interlaced_frame != 0,
                              sampleAspect: f.sample_aspect_ratio)
        }

        while fed < 64 {
            try deadline.check("probing")
            guard try input.read(into: packet, activity: "probing", what: "video data") else { break }
            defer { packet.unref() }
            guard Int(packet.pointer.pointee.stream_index) == videoIndex else { continue }
            fed += 1
            let isKey = packet.pointer.pointee.flags & AV_PKT_FLAG_KEY != 0
            if !drained && !isKey { continue }  // cannot start from a non-keyframe
            let sent = avcodec_send_packet(ctx, packet.pointer)
            if sent < 0 && sent != roto_eagain() { lastError = sent }
            if let first = receive() { return first }
            if !drained {
                // Drain now instead of waiting for the reorder delay to fill up.
                drained = true
                _ = avcodec_send_packet(ctx, nil)
                if let first = receive() { return first }
                avcodec_flush_buffers(ctx)
                ctx.pointee.skip_frame = AVDISCARD_DEFAULT
            }
        }
        _ = avcodec_send_packet(ctx, nil)
        if let first = receive() { return first }
        let why = lastError.map { ": \(ffErrorString($0))" } ?? ""
        throw MediaError(code: .undecodable, message: "no frame of the \(decoder.codecName) stream decodes\(why)",
                         ffmpegError: lastError)
    }
}
