import CFFmpeg

/// Turns interlaced frames into progressive ones at the same frame rate (FFmpeg's `bwdif` filter,
/// one frame out per frame in, the field order read from each frame). Frames not flagged as
/// interlaced pass through unchanged. One frame of delay: ``flush()`` after the last ``push(_:)``.
///
/// A change of size or pixel format mid-stream drains the current filter graph and starts another.
final class Deinterlacer {
    private struct Geometry: Equatable {
        var width: Int32, height: Int32, format: Int32
    }

    private let timeBase: AVRational
    private var graph: UnsafeMutablePointer<AVFilterGraph>? = nil
    private var source: UnsafeMutablePointer<AVFilterContext>? = nil
    private var sink: UnsafeMutablePointer<AVFilterContext>? = nil
    private var geometry: Geometry? = nil
    /// Frames drained from a replaced graph, handed out before the current graph's.
    private var drained: [Frame] = []

    /// `timeBase`: the time base of the pushed frames' `pts`.
    init(timeBase: AVRational) {
        self.timeBase = timeBase.num > 0 && timeBase.den > 0 ? timeBase : AVRational(num: 1, den: 90_000)
    }

    deinit { avfilter_graph_free(&graph) }

    /// Whether a stream whose first frame is `firstFrameInterlaced` needs deinterlacing: that frame is
    /// field-coded, or the stream declares a field order.
    static func isNeeded(firstFrameInterlaced: Bool, fieldOrder: AVFieldOrder) -> Bool {
        firstFrameInterlaced || (fieldOrder != AV_FIELD_UNKNOWN && fieldOrder != AV_FIELD_PROGRESSIVE)
    }

    /// Hands `frame` to the filter (its buffers are moved out: `frame` is left empty).
    func push(_ frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) {
        let f = frame.pointee
        let shape = Geometry(width: f.width, height: f.height, format: f.format)
        if shape != geometry {
            if graph != nil { try drainGraph() }
            try build(shape, sampleAspect: f.sample_aspect_ratio)
        }
        let rc = av_buffersrc_add_frame_flags(source, frame, 0)
        guard rc >= 0 else {
            throw MediaError(code: .encodeFailed, message: "deinterlacing failed: \(ffErrorString(rc))")
        }
    }

    /// Signals the end of the input: the frame still held comes out of ``pull(into:)``.
    func flush() throws(MediaError) {
        guard graph != nil else { return }
        try drainGraph()
        avfilter_graph_free(&graph)
        source = nil
        sink = nil
        geometry = nil
    }

    /// The next progressive frame into `frame` (unreferenced first), or false when none is ready.
    func pull(into frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Bool {
        av_frame_unref(frame)
        if !drained.isEmpty {
            // Kept alive across the move: its deinit frees the AVFrame the pointer names.
            let first = drained.removeFirst()
            withExtendedLifetime(first) { av_frame_move_ref(frame, first.pointer) }
            return true
        }
        return try receive(into: frame)
    }

    /// The current graph's next frame into `frame`, its time back in the caller's time base (the filter
    /// counts in half of it, as it could emit one frame per field); false when none is ready.
    private func receive(into frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Bool {
        guard let sink else { return false }
        let rc = av_buffersink_get_frame(sink, frame)
        if rc == roto_eagain() || rc == roto_averror_eof() { return false }
        guard rc >= 0 else {
            throw MediaError(code: .encodeFailed, message: "deinterlacing failed: \(ffErrorString(rc))")
        }
        if frame.pointee.pts != roto_nopts_value() {
            frame.pointee.pts = av_rescale_q(frame.pointee.pts, av_buffersink_get_time_base(sink), timeBase)
        }
        return true
    }

    /// Ends the current graph's input and keeps every frame it still gives.
    private func drainGraph() throws(MediaError) {
        guard let source else { return }
        let rc = av_buffersrc_add_frame_flags(source, nil, 0)
        guard rc >= 0 else {
            throw MediaError(code: .encodeFailed, message: "deinterlacing failed: \(ffErrorString(rc))")
        }
        while true {
            let out = try Frame()
            guard try receive(into: out.pointer) else { break }
            drained.append(out)
        }
    }

    private func build(_ shape: Geometry, sampleAspect: AVRational) throws(MediaError) {
        avfilter_graph_free(&graph)
        source = nil
        sink = nil
        geometry = nil
        guard let g = avfilter_graph_alloc() else {
            throw MediaError(code: .internalError, message: "cannot allocate a filter graph")
        }
        graph = g
        // The cores belong to the encoder (as the decoder's single thread does).
        g.pointee.nb_threads = 1
        let aspect = sampleAspect.num > 0 && sampleAspect.den > 0 ? sampleAspect : AVRational(num: 1, den: 1)
        let bufferArgs = "video_size=\(shape.width)x\(shape.height):pix_fmt=\(shape.format)"
            + ":time_base=\(timeBase.num)/\(timeBase.den):pixel_aspect=\(aspect.num)/\(aspect.den)"
        var src: UnsafeMutablePointer<AVFilterContext>? = nil
        var deint: UnsafeMutablePointer<AVFilterContext>? = nil
        var out: UnsafeMutablePointer<AVFilterContext>? = nil
        var rc = avfilter_graph_create_filter(&src, avfilter_get_by_name("buffer"), "in", bufferArgs, nil, g)
        if rc >= 0 {
            // send_frame: one output frame per input frame (the frame rate stays); parity from each
            // frame's flags; only frames flagged as interlaced are touched.
            rc = avfilter_graph_create_filter(&deint, avfilter_get_by_name("bwdif"), "deinterlace",
                                              "mode=send_frame:parity=auto:deint=interlaced", nil, g)
        }
        if rc >= 0 { rc = avfilter_graph_create_filter(&out, avfilter_get_by_name("buffersink"), "out", nil, nil, g) }
        if rc >= 0 { rc = avfilter_link(src, 0, deint, 0) }
        if rc >= 0 { rc = avfilter_link(deint, 0, out, 0) }
        if rc >= 0 { rc = avfilter_graph_config(g, nil) }
        guard rc >= 0 else {
            avfilter_graph_free(&graph)
            throw MediaError(code: .encodeFailed, message: "cannot deinterlace \(shape.width)x\(shape.height) "
                + "\(pixelFormatName(shape.format)) frames: \(ffErrorString(rc))")
        }
        source = src
        sink = out
        geometry = shape
    }
}
