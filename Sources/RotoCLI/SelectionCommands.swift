import ArgumentParser
import Foundation
import RotoAPI
import RotoClient

/// `roto init <file-or-url>`: opens a selection session on a video.
struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open a selection session on a video (a local file is uploaded first).",
        discussion: """
        The video must be an MP4 or MOV of 2–5.5 s or 7–10.5 s, each side 720–2160 px, at 24, 30 or 60 fps. \
        A local file goes through Roto's upload extension; an http(s) URL is downloaded by the server; \
        --video-id opens an edit task's result (the video_id that roto task prints).
        Prints the session id that the other commands take.
        """
    )

    @Argument(help: ArgumentHelp("A local video file, or an http(s) URL.", valueName: "file-or-url"))
    var source: String?

    @Option(help: ArgumentHelp("A video id from an edit task's result, instead of a file or URL.", valueName: "id"),
            transform: identifier)
    var videoID: String?

    @Option(help: ArgumentHelp("The task whose result --video-id is (checked by the server).", valueName: "id"),
            transform: identifier)
    var taskID: String?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (source == nil) != (videoID == nil) else {
            throw ValidationError("give a video file or URL, or --video-id, but not both")
        }
        if taskID != nil && videoID == nil { throw ValidationError("--task-id goes with --video-id") }
    }

    func run() async throws {
        let client = try connection.client()
        let data: InitSelectionData
        if let videoID {
            let taskID = self.taskID
            data = try await withSpinner("opening the video") { try await client.initSelection(videoID: videoID, taskID: taskID) }
        } else if let source, isURL(source) {
            data = try await withSpinner("probing and normalising") { try await client.initSelection(videoURL: source) }
        } else {
            let source = self.source ?? ""
            let path = (source as NSString).expandingTildeInPath
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ValidationError("\(source) is not a readable file or an http(s) URL")
            }
            let bar = ProgressBar("uploading \((path as NSString).lastPathComponent)")
            let upload: UploadData
            do {
                defer { bar.finish() }
                upload = try await client.upload(file: URL(fileURLWithPath: path), progress: { bar.update($0, $1) })
            }
            data = try await withSpinner("probing and normalising") { try await client.initSelection(videoURL: upload.url) }
        }
        if connection.json { return try printJSON(data) }
        Terminal.out("session \(data.sessionID) \(data.width)x\(data.height) \(formatFPS(data.fps)) fps "
                     + "\(data.totalFrame) frames")
    }
}

/// The options of `select` and `unselect`.
struct PointOptions: ParsableArguments {
    @Argument(help: "The session id (from roto init).", transform: identifier)
    var session: String

    // `.unconditional`: a value that starts with "-" (`--frame -1`) is the option's value, checked by the
    // server's range rule, not a missing value.
    @Option(parsing: .unconditional, help: ArgumentHelp("The 0-based frame index of the normalised video.", valueName: "N"))
    var frame: Int

    @Option(parsing: .unconditionalSingleValue, help: ArgumentHelp("A point on the object, normalised: 0,0 is the top-left corner, 1,1 the bottom-right. Repeatable.",
                               valueName: "x,y"))
    var point: [PointArgument] = []

    @Option(parsing: .unconditionalSingleValue, help: ArgumentHelp("A point that is NOT on the object (label 0). Repeatable.", valueName: "x,y"))
    var exclude: [PointArgument] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Which object the points belong to (default 0); use 1, 2 … for more objects.", valueName: "K"))
    var object: Int?

    func validate() throws {
        guard !point.isEmpty || !exclude.isEmpty else {
            throw ValidationError("give at least one --point x,y (or --exclude x,y)")
        }
    }

    var points: [WirePoint] {
        point.map { $0.wire() } + exclude.map { $0.wire(label: 0) }
    }
}

/// Prints the masks of a frame.
func report(_ data: SelectionData, json: Bool) throws {
    if json { return try printJSON(data) }
    let frame = data.res.frameIndex
    if data.res.rleMaskList.isEmpty {
        Terminal.out("frame \(frame): no mask" + (data.status == 1 ? " (no object found at these points; they are kept)" : ""))
        return
    }
    for mask in data.res.rleMaskList {
        let bitmap = try mask.bitmap()
        var line = "frame \(frame) object \(mask.objectID): \(String(format: "%.1f", bitmap.coverage * 100))% of the frame"
        if let box = bitmap.boundingBox { line += ", box \(box.width)x\(box.height) at \(box.x),\(box.y)" }
        Terminal.out(line)
    }
    if data.status == 1 { Terminal.out("no object could be segmented at these points (they are kept)") }
}

/// `roto select`: adds points (add-selection).
struct Select: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Click on an object: add points on a frame and print the masks of that frame.",
        discussion: "Example: roto select <session> --frame 12 --point 0.5,0.5 --exclude 0.9,0.1"
    )

    @OptionGroup var points: PointOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let data = try await connection.client().addSelection(sessionID: points.session, frameIndex: points.frame,
                                                              points: points.points, objectID: points.object)
        try report(data, json: connection.json)
    }
}

/// `roto unselect`: removes points (delete-selection).
struct Unselect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove points from a frame (each must match a point already there) and print what remains.",
        discussion: "Example: roto unselect <session> --frame 12 --point 0.5,0.5"
    )

    @OptionGroup var points: PointOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let data = try await connection.client().deleteSelection(sessionID: points.session, frameIndex: points.frame,
                                                                 points: points.points, objectID: points.object)
        try report(data, json: connection.json)
    }
}

/// `roto clear`: clear-selection.
struct Clear: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove every point of every frame and object of a session.")

    @Argument(help: "The session id.", transform: identifier)
    var session: String

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let data = try await connection.client().clearSelection(sessionID: session)
        if connection.json { return try printJSON(data) }
        Terminal.out("session \(data.sessionID): selection cleared")
    }
}

/// `roto session`: the session-state extension.
struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "Show a session: its video, its points per frame and object, and when it expires."
    )

    @Argument(help: "The session id.", transform: identifier)
    var session: String

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let data = try await connection.client().session(session)
        if connection.json { return try printJSON(data) }
        Terminal.out("session \(data.sessionID) \(data.width)x\(data.height) \(formatFPS(data.fps)) fps "
                     + "\(data.totalFrame) frames, expires \(formatMillis(data.expiresAt))")
        Terminal.out("video \(data.normalizedVideo)")
        if data.frames.isEmpty { Terminal.out("no points") }
        for frame in data.frames {
            for object in frame.objects {
                let excluded = object.points.filter { $0.label == 0 }.count
                // Exact values in the flags' own form, so a line can be given back to `roto unselect`
                // (delete-selection matches within 1e-6).
                let list = object.points.map { "\($0.label == 0 ? "--exclude" : "--point") \($0.x),\($0.y)" }
                Terminal.out("frame \(frame.frameIndex) object \(object.objectID): \(object.points.count) point(s)"
                             + (excluded > 0 ? " (\(excluded) excluded)" : "") + ": " + list.joined(separator: " "))
            }
        }
    }
}
