import CFFmpeg

/// One video frame as packed RGB24 (`width * height * 3` bytes, rows top to bottom, no padding).
public struct RGBFrame: Sendable, Equatable {
    /// 0-based frame index in presentation order.
    public var index: Int
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// `R, G, B` bytes per pixel, row-major.
    public var pixels: [UInt8]

    /// Creates a frame; `pixels.count` must be `width * height * 3`.
    public init(index: Int, width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGB24 buffer size mismatch")
        self.index = index
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// Random and sequential access to the frames of a normalised video, as RGB24.
///
/// Not thread-safe and deliberately not `Sendable`: one owner uses it from one thread at a time
/// (e.g. one per session, behind the caller's own serialisation). Rotation metadata is ignored —
/// open normalised files, whose frames are already upright.
///
/// Random access seeks to the keyframe that starts the frame's GOP and decodes forward; stepping
/// forward (`i`, `i + 1`, … or any later frame in the same GOP) continues decoding without seeking,
/// and asking for the same frame again re-uses the decoded picture.
public final class FrameReader {
    /// The file.
    public let path: String
    /// Number of frames (presented packets) in the video.
    public let frameCount: Int
    /// Frame width of the video.
    public let width: Int
    /// Frame height of the video.
    public let height: Int
    /// Average frame rate (`frameCount / duration`).
    public let fps: Double
    /// Presentation indices of the keyframes (GOP starts).
    public let keyframeIndices: [Int]

    private let input: InputFile
    /// Bounds the opening and index, then each seek and each decoded frame (restarted before each):
    /// a reader may live as long as a task, so the limit must not count from its opening.
    private let deadline: Deadline
    private let decoder: Decoder
    private let videoIndex: Int
    private let timeBase: AVRational
    /// Presentation timestamps, sorted: frame i has `presentation[i]`.
    private let presentation: [Int64]
    /// For each frame, the position in `keyframeIndices` of its GOP start.
    private let gopOf: [Int]
    /// Presentation timestamp of each keyframe (what the demuxer seeks by).
    private let keyframeSeekTimes: [Int64]

    private let packet: Packet
    private let frame: Frame
    /// Index of the last frame the decoder produced (the one in `frame` when `holding`);
    /// the next frame it produces is `position + 1`. -1 at the start.
    private var position = -1
    private var holding = false
    private var inputDrained = false
    /// While catching up to a target, packets presented before this time are decoded only if other
    /// pictures reference them (non-reference pictures are skipped).
    private var skipBefore: Int64? = nil
    private var sws: OpaquePointer? = nil
    private var swsColor: (context: OpaquePointer, space: Int32, range: Int32)? = nil
    /// Seeks done so far (tests check that sequential access does not seek).
    private(set) var seekCount = 0
    /// Frames decoded so far (tests check how much work an access costs).
    private(set) var decodedCount = 0

    /// Opens `path` and indexes its video packets (a read of the file without decoding).
    ///
    /// - Parameter threads: decoder threads, clamped to 1…2. 1 (the default) gives the lowest latency
    ///   for random access; 2 helps ``forEachFrame(scaledTo:_:)`` on large frames.
    /// - Parameter stepTimeout: seconds the opening and index may take, and then each seek and each frame.
    public init(path: String, threads: Int = 1, stepTimeout: Double = 60) throws(MediaError) {
        self.path = path
        deadline = Deadline(seconds: stepTimeout)
        input = try InputFile(path: path, format: nil, deadline: deadline, failureCode: .corrupt)
        let (video, _) = try MediaProbe.chooseStreams(input)
        videoIndex = video
        input.keepOnly([video])
        let stream = input.stream(video)
        timeBase = stream.pointee.time_base
        decoder = try Decoder(stream: stream, threads: threads)
        let scratch = try Packet()
        packet = scratch
        frame = try Frame()

        // Index: every presented packet's pts, and the keyframes' pts.
        var pts: [Int64] = []
        var keys: [Int64] = []
        while true {
            guard try input.read(into: scratch, activity: "indexing the video", what: "video data") else { break }
            let p = scratch.pointer.pointee
            defer { scratch.unref() }
            guard Int(p.stream_index) == video, p.flags & AV_PKT_FLAG_DISCARD == 0 else { continue }
            let ts = p.pts != roto_nopts_value() ? p.pts : p.dts
            guard ts != roto_nopts_value() else { continue }
            pts.append(ts)
            if p.flags & AV_PKT_FLAG_KEY != 0 { keys.append(ts) }
        }
        pts.sort()
        guard !pts.isEmpty else { throw MediaError(code: .corrupt, message: "the video has no frames") }
        presentation = pts
        keys.sort()
        if keys.first.map({ $0 > pts[0] }) ?? true {
            keys.insert(pts[0], at: 0)  // decode from the very start
        }
        var keyIndices: [Int] = []
        var keySeek: [Int64] = []
        for key in keys {
            let i = Self.lowerBound(pts, key)
            if i < pts.count, pts[i] == key, keyIndices.last != i {
                keyIndices.append(i)
                keySeek.append(key)
            }
        }
        keyframeIndices = keyIndices
        // The MP4 demuxer treats a seek timestamp as a presentation time (it subtracts its own
        // pts→dts offset), so keyframes are sought by their pts; a dts would land one GOP early.
        keyframeSeekTimes = keySeek
        var gop = [Int](repeating: 0, count: pts.count)
        var k = 0
        for i in 0..<pts.count {
            while k + 1 < keyIndices.count && keyIndices[k + 1] <= i { k += 1 }
            gop[i] = k
        }
        gopOf = gop
        frameCount = pts.count
        width = Int(stream.pointee.codecpar.pointee.width)
        height = Int(stream.pointee.codecpar.pointee.height)
        let duration = stream.pointee.duration > 0 ? Double(stream.pointee.duration) * timeBase.double : 0
        fps = duration > 0 ? Double(pts.count) / duration : stream.pointee.avg_frame_rate.double
        try seek(toKeyframe: 0)
    }

    deinit { sws_freeContext(sws) }

    /// Frame `index` (0-based, presentation order) as RGB24, scaled to `size` (nil: the video's size).
    ///
    /// Scaling uses `SWS_FAST_BILINEAR` for downscales by 2× or more, area averaging for smaller
    /// downscales, bilinear for upscales; colours follow the stream's matrix and range.
    public func frame(at index: Int, scaledTo size: (width: Int, height: Int)? = nil) throws(MediaError) -> RGBFrame {
        guard index >= 0 && index < frameCount else {
            throw MediaError(code: .invalidArgument, message: "frame \(index) is outside 0..<\(frameCount)")
        }
        _ = try decodedFrame(at: index)
        return try rgb(index: index, size: size)
    }

    /// Frame `index` as decoded (the decoder's pixel format); valid until the next access.
    func decodedFrame(at index: Int) throws(MediaError) -> UnsafeMutablePointer<AVFrame> {
        guard index >= 0 && index < frameCount else {
            throw MediaError(code: .invalidArgument, message: "frame \(index) is outside 0..<\(frameCount)")
        }
        if !(holding && position == index) {
            try advance(to: index)
        }
        return frame.pointer
    }

    /// Decodes the whole clip in order and calls `body` with each frame, scaled to `size`.
    ///
    /// Each `RGBFrame` owns fresh storage, so `body` may keep it. Errors from `body` propagate
    /// unchanged and stop the iteration; decoding failures are ``MediaError``s.
    public func forEachFrame(scaledTo size: (width: Int, height: Int)? = nil,
                             _ body: (RGBFrame) throws -> Void) throws {
        if position != -1 || holding { try seek(toKeyframe: 0) }
        while let index = try nextDecoded() {
            try body(try rgb(index: index, size: size))
        }
    }

    // MARK: - Decoding

    /// Leaves frame `index` decoded in `frame`.
    private func advance(to index: Int) throws(MediaError) {
        skipBefore = presentation[index]
        defer { skipBefore = nil }
        var gop = gopOf[index]
        // Continue forward when the target is ahead and no keyframe lies beyond the next frame.
        if !(index > position && keyframeIndices[gop] <= position + 1) {
            try seek(toKeyframe: gop)
        }
        var retries = 0
        while true {
            guard let produced = try nextDecoded() else {
                throw MediaError(code: .corrupt, message: "frame \(index) could not be decoded (stream ended)")
            }
            if produced == index { return }
            if produced > index {
                // Open GOP: leading pictures before this keyframe were skipped; start one GOP earlier.
                guard gop > 0, retries < 3 else {
                    throw MediaError(code: .corrupt, message: "frame \(index) could not be decoded (got \(produced))")
                }
                gop -= 1
                retries += 1
                try seek(toKeyframe: gop)
            }
        }
    }

    private func seek(toKeyframe gop: Int) throws(MediaError) {
        deadline.restart()
        let rc = av_seek_frame(input.context, Int32(videoIndex), keyframeSeekTimes[gop], AVSEEK_FLAG_BACKWARD)
        guard rc >= 0 else {
            throw MediaError(code: .corrupt, message: "cannot seek to frame \(keyframeIndices[gop]): \(ffErrorString(rc))",
                             ffmpegError: rc)
        }
        seekCount += 1
        avcodec_flush_buffers(decoder.context)
        frame.unref()
        holding = false
        inputDrained = false
        position = keyframeIndices[gop] - 1
    }

    /// Decodes the next frame into `frame`; returns its index, or nil at the end of the stream.
    private func nextDecoded() throws(MediaError) -> Int? {
        deadline.restart()
        var errors = 0
        while true {
            frame.unref()
            holding = false
            let rc = avcodec_receive_frame(decoder.context, frame.pointer)
            if rc >= 0 {
                var ts = frame.pointer.pointee.best_effort_timestamp
                if ts == roto_nopts_value() { ts = frame.pointer.pointee.pts }
                let index = ts == roto_nopts_value() ? position + 1 : nearestIndex(ts)
                decodedCount += 1
                position = index
                holding = true
                return index
            }
            if rc == roto_averror_eof() { return nil }
            if rc != roto_eagain() {
                errors += 1
                if errors > 16 {
                    throw MediaError(code: .corrupt, message: "decoding failed: \(ffErrorString(rc))", ffmpegError: rc)
                }
                continue
            }
            // The decoder wants input.
            if inputDrained { return nil }
            guard try input.read(into: packet, activity: "decoding a frame", what: "video data") else {
                inputDrained = true
                _ = avcodec_send_packet(decoder.context, nil)
                continue
            }
            defer { packet.unref() }
            guard Int(packet.pointer.pointee.stream_index) == videoIndex else { continue }
            let pts = packet.pointer.pointee.pts
            let skippable = skipBefore.map { pts != roto_nopts_value() && pts < $0 } ?? false
            decoder.context.pointee.skip_frame = skippable ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
            let sent = avcodec_send_packet(decoder.context, packet.pointer)
            if sent < 0 && sent != roto_eagain() {
                errors += 1
                if errors > 16 {
                    throw MediaError(code: .corrupt, message: "decoding failed: \(ffErrorString(sent))", ffmpegError: sent)
                }
            }
        }
    }

    private func nearestIndex(_ ts: Int64) -> Int {
        let i = Self.lowerBound(presentation, ts)
        if i == presentation.count { return presentation.count - 1 }
        if i > 0 && ts - presentation[i - 1] < presentation[i] - ts { return i - 1 }
        return i
    }

    private static func lowerBound(_ values: [Int64], _ target: Int64) -> Int {
        var lo = 0, hi = values.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] < target { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    // MARK: - Conversion

    private func rgb(index: Int, size: (width: Int, height: Int)?) throws(MediaError) -> RGBFrame {
        let f = frame.pointer.pointee
        let srcW = Int(f.width), srcH = Int(f.height)
        let dstW = size?.width ?? srcW, dstH = size?.height ?? srcH
        guard dstW > 0, dstH > 0, dstW <= 16384, dstH <= 16384 else {
            throw MediaError(code: .invalidArgument, message: "invalid output size \(dstW)x\(dstH)")
        }
        let flags: Int32
        if dstW >= srcW && dstH >= srcH {
            flags = SWS_BILINEAR
        } else if srcW >= 2 * dstW || srcH >= 2 * dstH {
            flags = SWS_FAST_BILINEAR
        } else {
            flags = SWS_AREA
        }
        sws = sws_getCachedContext(sws, Int32(srcW), Int32(srcH), AVPixelFormat(rawValue: f.format),
                                   Int32(dstW), Int32(dstH), AV_PIX_FMT_RGB24, flags, nil, nil, nil)
        guard let sws else {
            throw MediaError(code: .internalError, message: "cannot convert \(pixelFormatName(f.format)) to RGB")
        }
        // Colour matrix and range of the source (BT.601 when unspecified), full-range RGB out.
        let space = Int32(bitPattern: f.colorspace.rawValue), range = Int32(bitPattern: f.color_range.rawValue)
        if swsColor.map({ $0.context != sws || $0.space != space || $0.range != range }) ?? true {
            configureRGBConversion(sws, yuvSpace: space, yuvFullRange: f.color_range == AVCOL_RANGE_JPEG, yuvIsSource: true)
            swsColor = (sws, space, range)
        }
        let count = dstW * dstH * 3
        var scaled: Int32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: count + 64) { buffer, initialized in
            var dst: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
            var stride: [Int32] = [Int32(dstW * 3), 0, 0, 0]
            scaled = withPlanes(frame.pointer) { srcData, srcStride in
                sws_scale(sws, srcData, srcStride, 0, Int32(srcH), &dst, &stride)
            }
            initialized = scaled > 0 ? count : 0
        }
        guard scaled > 0 else { throw MediaError(code: .internalError, message: "swscale failed (\(scaled))") }
        return RGBFrame(index: index, width: dstW, height: dstH, pixels: pixels)
    }
}
