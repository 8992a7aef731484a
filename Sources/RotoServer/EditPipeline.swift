import Foundation
import RotoAPI
import RotoCore
import RotoMedia
import RotoStore
import RotoThreads
import RotoVision
import Synchronization

/// The blocking part of an edit task (spec §6.4), run on the blocking pool: track the snapshotted
/// selection, remove the selected objects (removal, swap), composite the reference images (swap,
/// addition), and render the result at the session video's size, rate, frame count and audio.
struct EditPipeline {
    let media: MediaStore
    let frames: FrameSource
    let tracker: MaskTracker
    let cancel: CancellationFlag

    /// `session` carries the task's snapshot of the selection. `previewLabels`: the ``LabelTrack`` file
    /// of the preview made for that selection, if there is one; its labels are used instead of tracking
    /// again (when it reads back whole, at the working size, with the selection's objects), so the edit
    /// follows exactly what the person previewed. `labelsUsed` is told whether they were used (true) or the
    /// selection was tracked (false). Returns the time of each phase, for the log.
    func run(task: TaskRecord, session: SessionRecord, images: [StillImage], output: String,
             watermarked: String?, previewLabels: String? = nil, labelsUsed: (Bool) -> Void = { _ in }) throws -> String {
        var timer = PhaseTimer()
        let mode = EditMode(rawValue: task.editMode)
        let quality: EditQuality = task.mode == TaskMode.pro.rawValue ? .pro : .standard
        let objectIDs = session.selection.objectIDs
        let videoPath = media.absolute(FrameSource.videoPath(session.id))

        // 1. Where the objects are in every frame (working size): the preview's, else tracked now.
        var tracked: [SelectionLabels] = []
        if !session.selection.isEmpty {
            if let previewLabels, let labels = Self.labels(previewLabels, session: session, engine: frames.engine) {
                tracked = labels
                timer.lap("labels of the preview")
                labelsUsed(true)
            } else {
                var stoppable = tracker
                stoppable.cancellation = cancel
                tracked = try PreviewPipeline.track(session: session, frames: frames, tracker: stoppable, lap: { timer.lap($0) })
                labelsUsed(false)
            }
        }
        try cancel.check()

        // 2. Removal (removal and swap): fill the objects' holes at the inpainter's working size.
        var filled: [RGBImage] = []
        var replaced: [Mask] = []
        if mode == .removal || mode == .swap, !tracked.isEmpty {
            let size = VideoInpainter.workingSize(width: session.width, height: session.height,
                                                  frameCount: session.totalFrames, quality: quality)
            let reader = try FrameReader(path: videoPath, threads: 2)
            try reader.forEachFrame(scaledTo: size) { frame in
                try cancel.check()
                filled.append(RGBImage(width: frame.width, height: frame.height, pixels: frame.pixels))
            }
            timer.lap("decode \(size.width)x\(size.height)")
            var holes: [Mask] = []
            holes.reserveCapacity(filled.count)
            for i in filled.indices {
                let labels = i < tracked.count ? tracked[i] : tracked[tracked.count - 1]
                let up = frames.engine.upsample(labels, to: size.width, size.height, guide: nil)
                holes.append(Mask(width: size.width, height: size.height, data: up.labels))
            }
            try cancel.check()
            replaced = VideoInpainter(quality: quality, threads: 2, cancellation: cancel).remove(frames: &filled, holes: consume holes)
            let area = replaced.reduce(0) { $0 + $1.area }
            timer.lap("remove (hole \(100 * area / max(1, size.width * size.height * replaced.count))% of the pixels)")
        }
        try cancel.check()

        // 3. Reference images: their subjects, and where they go in each frame (full-size boxes).
        let cutouts = images.map { image in
            SubjectExtractor.extract(RGBImage(width: image.width, height: image.height, pixels: image.rgb),
                                     alpha: image.hasTransparency ? image.alpha : nil)
        }
        let placements = Self.placements(mode: mode, cutouts: cutouts, tracked: tracked, objectIDs: objectIDs,
                                         width: session.width, height: session.height, frameCount: session.totalFrames,
                                         sampleAspect: cutouts.isEmpty ? 1 : try MediaProbe.sampleAspect(path: videoPath))
            .map { (PreparedCutout($0.0), $0.1) }
        if !cutouts.isEmpty { timer.lap("cutouts") }

        // 4. Render at full size.
        var options = RewriteOptions()
        if quality == .pro {
            options.preset = "medium"
            options.crf = 17
        }
        let outputs = [output] + (watermarked.map { [$0] } ?? [])
        // The rewrite edits two frames at once (one per thread): it reads fixed copies.
        let (fills, holes, marked) = (filled, replaced, watermarked != nil)
        // What each frame's edit touches (below): only that is converted to RGB and back.
        let regions: @Sendable (Int, Int, Int) -> [PixelRegion]? = { i, width, height in
            var regions: [PixelRegion] = []
            func add(_ r: (rows: Range<Int>, columns: Range<Int>)?) {
                if let r { regions.append(PixelRegion(rows: r.rows, columns: r.columns)) }
            }
            if i < fills.count, i < holes.count {
                add(VideoInpainter.compositeRegion(replaced: holes[i], width: width, height: height))
            }
            for (_, boxes) in placements where i < boxes.count {
                if let box = boxes[i] { add(Compositor.pasteRegion(box: box, width: width, height: height)) }
            }
            if marked { add(Compositor.watermarkRegion(width: width, height: height)) }
            return regions
        }
        _ = try VideoRewriter.rewrite(input: videoPath, outputs: outputs, options: options, regions: regions) { frame in
            try cancel.check()
            var image = RGBImage(width: frame.width, height: frame.height, pixels: frame.pixels)
            let i = frame.index
            if i < fills.count, i < holes.count {
                VideoInpainter.composite(filled: fills[i], replaced: holes[i], into: &image)
            }
            for (cutout, boxes) in placements where i < boxes.count {
                if let box = boxes[i] { Compositor.paste(cutout, into: &image, box: box) }
            }
            guard marked else { return [image.pixels] }
            var marked = image
            Compositor.watermark(&marked)
            return [image.pixels, marked.pixels]
        }
        timer.lap("render")
        return timer.summary
    }

    /// The labels of a preview's ``LabelTrack`` file, if it reads back whole and was made at the
    /// engine's working size for the session's objects; nil otherwise (the file was deleted meanwhile,
    /// say), and the task tracks the selection itself.
    static func labels(_ path: String, session: SessionRecord, engine: ClassicalSegmentationEngine) -> [SelectionLabels]? {
        guard let data = FileManager.default.contents(atPath: path),
              let frames = try? LabelTrack.decode([UInt8](data)), let first = frames.first else { return nil }
        let size = engine.workingSize(width: session.width, height: session.height)
        guard first.width == size.width, first.height == size.height,
              first.objectIDs == session.selection.objectIDs else { return nil }
        return frames
    }

    /// Where each cutout goes in each frame, in full-size pixels (spec §6.4): swap puts the image in
    /// place of every selected object; addition puts image k on object k (when the selection has that
    /// many objects; the first image on the first object), or, without a selection, at the default
    /// place (centred, its centre at one third of the frame height; two images side by side).
    /// `sampleAspect`: the video's pixels' shape (width over height as shown); a cutout's boxes are that
    /// much narrower in stored pixels, so it shows undistorted.
    static func placements(mode: EditMode, cutouts: [Cutout], tracked: [SelectionLabels], objectIDs: [Int],
                           width: Int, height: Int, frameCount: Int, sampleAspect: Double = 1) -> [(Cutout, [Box?])] {
        guard !cutouts.isEmpty else { return [] }
        // A cutout's size in stored pixels of the video: its width over the pixels' width.
        func stored(_ cutout: Cutout) -> (width: Int, height: Int) {
            let aspect = sampleAspect.isFinite && sampleAspect > 0 ? sampleAspect : 1
            return (max(1, Int((Double(cutout.width) / aspect).rounded())), cutout.height)
        }
        func objectBoxes(_ id: Int) -> [Box?] {
            let masks: [Mask?] = tracked.map { $0.masks(including: [id])[id] }
            let boxes = Placement.track(masks)
            guard let first = tracked.first else { return boxes }
            let sx = Double(width) / Double(first.width), sy = Double(height) / Double(first.height)
            return boxes.map { b in
                b.map { Box(x: $0.x * sx, y: $0.y * sy, width: $0.width * sx, height: $0.height * sy) }
            }
        }
        func fitted(_ cutout: Cutout, _ boxes: [Box?]) -> [Box?] {
            boxes.map { $0.map { Placement.fit(stored(cutout), in: $0) } }
        }
        if mode == .swap {
            return objectIDs.map { id in (cutouts[0], fitted(cutouts[0], objectBoxes(id))) }
        }
        if !objectIDs.isEmpty, !tracked.isEmpty {
            return cutouts.enumerated().map { k, cutout in
                (cutout, fitted(cutout, objectBoxes(objectIDs[min(k, objectIDs.count - 1)])))
            }
        }
        // No selection: the default place, split into halves for two images.
        return cutouts.enumerated().map { k, cutout in
            let size = stored(cutout)
            var box = Placement.defaultBox(frameWidth: width, frameHeight: height,
                                           cutoutWidth: size.width, cutoutHeight: size.height)
            if cutouts.count == 2 {
                let third: Double = Double(width) / 3
                let centre: Double = k == 0 ? third : 2 * third
                let scale: Double = min(1, Double(width) / 2.2 / max(box.width, 1))
                let w: Double = box.width * scale, h: Double = box.height * scale
                let y: Double = box.y + (box.height - h) / 2
                box = Box(x: centre - w / 2, y: y, width: w, height: h)
            }
            return (cutout, [Box?](repeating: box, count: frameCount))
        }
    }
}
