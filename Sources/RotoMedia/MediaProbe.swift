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
    /// `M4V `, `3gp*`… → MP4). Every video packet is read (not decoded) to count frames and measure
    /// the timestamp steps, and the first frame is decoded to prove the stream is decodable.
    /// Typically 1–60 ms; never hangs: FFmpeg I/O is interrupted and the scan stops at the deadline.
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
        let scan = try scanPackets(input: input, videoIndex: videoIndex, decoder: decoder, deadline: deadline)

        let indexed = Int(avformat_index_get_entries_count(stream))
        if scan.packets + scan.hidden < indexed {
            throw MediaError(code: .corrupt, message: "truncated: only \(scan.packets + scan.hidden) of "
                + "\(indexed) video samples are readable")
        }
        guard scan.packets > 0 else {
            throw MediaError(code: .corrupt, message: "the video track has no samples")
        }
        guard let first = scan.firstFrame else {
            let why = scan.decodeError.map { ": \(ffErrorString($0))" } ?? ""
            throw MediaError(code: .undecodable, message: "no frame of the \(decoder.codecName) stream decodes\(why)",
                             ffmpegError: scan.decodeError)
        }

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
            isConstantFrameRate: isCFR, hasBFrames: scan.reordered, hasHiddenPackets: scan.hidden > 0,
            hasAudio: audioIndex != nil, audioCodec: audioCodec, audioStreamIndex: audioIndex)
    }

    // MARK: - Rules

    /// Maps a measured rate to 24/30/60 (within 2 %), telling the NTSC variants apart by proximity.
    static func nominalRate(_ rate: Double) -> (Int?, Bool) {
        guard rate.isFinite, rate > 0 else { return (nil, false) }
        var best: (nominal: Int, ntsc: Bool, error: Double)? = nil
        for n in [24, 30, 60] {
            for ntsc in [false, true] {
                let candidate = ntsc ? Double(n) * 1000 / 1001 : Double(n)
                let error = abs(rate - candidate) / candidate
                if error <= 0.02 && error < (best?.error ?? .infinity) { best = (n, ntsc, error) }
            }
        }
        guard let best else { return (nil, false) }
        return (best.nominal, best.ntsc)
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
    }

    struct Scan {
        var packets = 0
        var hidden = 0
        var timestamps: [Int64] = []
        var reordered = false
        var firstFrame: FirstFrame? = nil
        var decodeError: Int32? = nil
    }

    /// Reads every video packet (no decoding beyond the first frame).
    static func scanPackets(input: InputFile, videoIndex: Int, decoder: Decoder,
                            deadline: Deadline) throws(MediaError) -> Scan {
        var scan = Scan()
        let packet = try Packet()
        let frame = try Frame()
        var maxPts = Int64.min
        var fed = 0
        func receive() {
            let rc = avcodec_receive_frame(decoder.context, frame.pointer)
            if rc >= 0 {
                let f = frame.pointer.pointee
                scan.firstFrame = FirstFrame(width: f.width, height: f.height, format: f.format,
                                             interlaced: f.interlaced_frame != 0)
                frame.unref()
            } else if rc != roto_eagain() && rc != roto_averror_eof() {
                scan.decodeError = rc
            }
        }
        while true {
            if scan.packets & 63 == 63 { try deadline.check("probing") }
            let rc = av_read_frame(input.context, packet.pointer)
            if rc == roto_averror_eof() { break }
            if rc < 0 {
                if deadline.expired { throw MediaError(code: .timedOut, message: "probing timed out") }
                throw MediaError(code: .corrupt, message: "unreadable video data after \(scan.packets) packets: "
                    + ffErrorString(rc), ffmpegError: rc)
            }
            defer { packet.unref() }
            let p = packet.pointer.pointee
            guard Int(p.stream_index) == videoIndex else { continue }
            if scan.firstFrame == nil && fed < 256 {
                fed += 1
                let sent = avcodec_send_packet(decoder.context, packet.pointer)
                if sent < 0 && sent != roto_eagain() { scan.decodeError = sent }
                receive()
            }
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
        if scan.firstFrame == nil {
            _ = avcodec_send_packet(decoder.context, nil)
            receive()
        }
        return scan
    }
}
