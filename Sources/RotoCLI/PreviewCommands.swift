import ArgumentParser
import Foundation
import RotoAPI
import RotoClient
import RotoVision

/// `roto preview`: preview-selection.
struct Preview: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Track the selection through the clip and print the overlay video, cover and mask URLs.",
        discussion: """
        The server answers when tracking is done (seconds to minutes); an unchanged selection is served from cache. \
        With --download DIR the overlay video, the cover and the tracking JSON are saved as preview.mp4, \
        cover.jpg and tracking.json in DIR.
        """
    )

    @Argument(help: "The session id.", transform: identifier)
    var session: String

    @Option(help: ArgumentHelp("Save preview.mp4, cover.jpg and tracking.json in this directory.", valueName: "dir"))
    var download: String?

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let client = try connection.client()
        let session = self.session
        let data = try await withSpinner("tracking") { try await client.previewSelection(sessionID: session) }
        var saved: [String] = []
        if let download {
            saved.append(try await downloadFile(client, data.res.video, into: download, as: "preview.mp4"))
            saved.append(try await downloadFile(client, data.res.videoCover, into: download, as: "cover.jpg"))
            saved.append(try await downloadFile(client, data.res.trackingOutput, into: download, as: "tracking.json"))
        }
        if connection.json { return try printJSON(data) }
        Terminal.out("video \(data.res.video)")
        Terminal.out("cover \(data.res.videoCover)")
        Terminal.out("masks \(data.res.trackingOutput)")
        for path in saved { Terminal.out("saved \(path)") }
    }
}

/// `roto masks`: writes the tracked masks as PNG files.
struct Masks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the tracked mask of every frame and object as PNG files (frame-00012-object-0.png).",
        discussion: """
        Runs preview-selection (served from cache when the selection is unchanged), reads its tracking_output \
        and writes one single-channel PNG per frame and object into DIR: selected = white, background = black.
        """
    )

    @Argument(help: "The session id.", transform: identifier)
    var session: String

    @Option(help: ArgumentHelp("The directory to write the PNG files into (created if missing).", valueName: "dir"))
    var out: String

    @OptionGroup var connection: ConnectionOptions

    /// `data` of `--json`.
    struct Written: Codable {
        var sessionID: String
        var directory: String
        var frames: Int
        var files: [String]
        enum CodingKeys: String, CodingKey {
            case directory, frames, files
            case sessionID = "session_id"
        }
    }

    func run() async throws {
        let client = try connection.client()
        let session = self.session
        let tracking = try await withSpinner("tracking") {
            let preview = try await client.previewSelection(sessionID: session)
            return try await client.trackingOutput(preview)
        }
        let directory = URL(fileURLWithPath: (out as NSString).expandingTildeInPath)
        try RotoClientError.writing(directory.path) { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        let bar = ProgressBar("writing masks")
        defer { bar.finish() }
        var files: [String] = []
        for (i, frame) in tracking.frames.enumerated() {
            for object in frame.rleMaskList {
                let rle = object.rleMask
                let mask: Mask
                do {
                    mask = try COCORLE.decode(size: rle.size, counts: rle.counts)
                } catch {
                    throw RotoClientError(code: .invalidResponse,
                                          message: "frame \(frame.frameIndex) object \(object.objectID): bad RLE (\(error))")
                }
                let name = String(format: "frame-%05d-object-%d.png", frame.frameIndex, object.objectID)
                let file = directory.appendingPathComponent(name)
                try RotoClientError.writing(file.path) { try Data(MaskPNG.encode(mask)).write(to: file, options: .atomic) }
                files.append(name)
            }
            bar.update(Int64(i + 1), Int64(tracking.frames.count))
        }
        if connection.json {
            return try printJSON(Written(sessionID: tracking.sessionID, directory: directory.path,
                                         frames: tracking.frames.count, files: files))
        }
        Terminal.out("wrote \(files.count) masks (\(tracking.frames.count) frames, \(tracking.objects.count) object(s)) to \(directory.path)")
    }
}
