import ArgumentParser
import Foundation
import RotoAPI
import RotoClient

/// `--mode` of `roto edit`.
enum ModeArgument: String, ExpressibleByArgument, CaseIterable {
    case removal, swap, addition
    var editMode: EditMode { EditMode(rawValue: rawValue) }
}

/// `--duration` of `roto edit`.
enum DurationArgument: String, ExpressibleByArgument, CaseIterable {
    case five = "5", ten = "10"
}

/// The options for waiting on a task and saving its result (shared by `edit` and `task`).
struct WaitOptions: ParsableArguments {
    @Flag(help: "Wait until the task has succeeded or failed (polling), then print the result.")
    var wait = false

    @Option(help: ArgumentHelp("Save the result video(s) in this directory (implies --wait).", valueName: "dir"))
    var download: String?

    @Option(help: ArgumentHelp("Seconds between two status queries while waiting.", valueName: "seconds"))
    var pollInterval: Double = 2

    @Option(help: ArgumentHelp("Give up waiting after this many seconds (the task goes on).", valueName: "seconds"))
    var timeout: Double?

    /// The shortest pause between two queries (the server rate-limits a key's calls) and the longest
    /// wait either option takes (30 days: a result's lifetime).
    static let shortestPoll = 0.1, longestWait = 30 * 86_400.0

    func validate() throws {
        guard pollInterval.isFinite, pollInterval >= Self.shortestPoll, pollInterval <= Self.longestWait else {
            throw ValidationError("--poll-interval must be between \(Self.shortestPoll) and \(Int(Self.longestWait)) seconds (got \(pollInterval))")
        }
        if let timeout, !(timeout.isFinite && timeout > 0 && timeout <= Self.longestWait) {
            throw ValidationError("--timeout must be more than 0 and at most \(Int(Self.longestWait)) seconds (got \(timeout))")
        }
    }

    var waits: Bool { wait || download != nil }
}

/// Waits for a task (with a status line on a terminal), prints it and saves its videos.
func finish(task id: String, client: RotoClient, options: WaitOptions, json: Bool) async throws {
    var task = try await client.task(id)
    if options.waits && !task.taskStatus.isFinal {
        let status = SharedText(task.taskStatus.rawValue)
        let interval = Duration.seconds(options.pollInterval)
        let timeout = options.timeout.map { Duration.seconds($0) }
        task = try await withSpinner(status: { "task \(id) \(status.text)" }) {
            try await client.waitForTask(id, pollInterval: interval, timeout: timeout,
                                         onUpdate: { t in status.text = t.taskStatus.rawValue })
        }
    }
    // The task first, so that its URLs are printed even when a download then fails.
    if json { try printJSON(task) } else { printTask(task) }
    if let directory = options.download, task.taskStatus == .succeed {
        for video in task.taskResult.videos ?? [] {
            var saved = [try await downloadFile(client, video.url, into: directory, as: "\(task.taskID).mp4")]
            if !video.watermarkURL.isEmpty {
                saved.append(try await downloadFile(client, video.watermarkURL, into: directory,
                                                    as: "\(task.taskID)-watermark.mp4"))
            }
            if !json { for path in saved { Terminal.out("saved \(path)") } }
        }
    }
    if options.waits && task.taskStatus == .failed {
        Terminal.err("error: task \(task.taskID) failed" + (task.taskStatusMsg.isEmpty ? "" : ": \(task.taskStatusMsg)"))
        throw ExitCode(1)
    }
}

/// The short human form of a task.
func printTask(_ task: TaskData) {
    var line = "task \(task.taskID) \(task.taskStatus)"
    if let external = task.taskInfo.externalTaskID, !external.isEmpty { line += " (external id \(external))" }
    if task.taskStatus == .failed, !task.taskStatusMsg.isEmpty { line += ": \(task.taskStatusMsg)" }
    Terminal.out(line)
    for video in task.taskResult.videos ?? [] {
        Terminal.out("video \(video.url) (\(video.duration) s, video_id \(video.id))")
        if !video.watermarkURL.isEmpty { Terminal.out("watermarked \(video.watermarkURL)") }
    }
}

/// `roto edit`: creates an edit task.
struct Edit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an edit task on a session: remove, swap or add an object.",
        discussion: """
        removal needs a selection and no image; swap needs a selection and exactly one --image; addition takes one \
        or two. An --image is an http(s) URL or a local JPEG/PNG file, sent as raw base64 (or, when the images are \
        too big for a 1 MiB JSON body, uploaded through Roto's upload extension and sent as URLs).
        Example: roto edit <session> --mode removal --prompt "remove it" --wait --download out/
        """
    )

    @Argument(help: "The session id.", transform: identifier)
    var session: String

    @Option(help: "What to do with the selection.")
    var mode: ModeArgument

    @Option(help: ArgumentHelp("A reference image: a local JPEG/PNG file or an http(s) URL. Repeatable.", valueName: "file-or-url"))
    var image: [String] = []

    @Option(help: "The prompt (1–2500 characters); may mention <<<video_1>>> and <<<image_N>>>.")
    var prompt: String

    @Option(help: "What to avoid (up to 2500 characters).")
    var negativePrompt: String?

    @Flag(help: "Use the pro mode (slower, higher quality) instead of std.")
    var pro = false

    @Option(help: "5 or 10: the duration class of the session's video (default 5).")
    var duration: DurationArgument?

    @Flag(help: "Also produce a watermarked copy.")
    var watermark = false

    @Option(help: ArgumentHelp("An http(s) URL that receives the task on every status change.", valueName: "url"))
    var callbackURL: String?

    @Option(help: ArgumentHelp("Your own id for the task, unique in your account (roto task accepts it); not an action's name such as preview-selection.", valueName: "id"))
    var externalID: String?

    @OptionGroup var waiting: WaitOptions
    @OptionGroup var connection: ConnectionOptions

    /// The largest base64 payload sent inline (the server caps JSON bodies at 1 MiB).
    static let inlineLimit = 900 << 10

    func run() async throws {
        let client = try connection.client()
        let images = try await imageList(client)
        let request = CreateTaskRequest(
            sessionID: session, editMode: mode.editMode, prompt: prompt,
            imageList: images.isEmpty ? nil : images, negativePrompt: negativePrompt,
            mode: pro ? "pro" : nil, duration: duration?.rawValue,
            watermarkInfo: watermark ? WatermarkInfo(enabled: true) : nil,
            callbackURL: callbackURL, externalTaskID: externalID)
        let created = try await client.createTask(request)
        if waiting.waits {
            return try await finish(task: created.taskID, client: client, options: waiting, json: connection.json)
        }
        if connection.json { return try printJSON(created) }
        Terminal.out("task \(created.taskID) \(created.taskStatus)")
    }

    /// URLs as they are; local files as raw base64, or uploaded when they do not fit in a JSON body.
    func imageList(_ client: RotoClient) async throws -> [TaskImage] {
        var files: [(index: Int, path: String, bytes: [UInt8])] = []
        var list: [TaskImage] = []
        for (i, source) in image.enumerated() {
            if isURL(source) {
                list.append(TaskImage(image: source))
                continue
            }
            let path = (source as NSString).expandingTildeInPath
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("--image \(source) is not a readable file or an http(s) URL")
            }
            guard !data.isEmpty else { throw RotoClientError(code: .localFile, message: "--image \(source) is an empty file") }
            files.append((i, path, Array(data)))
            list.append(TaskImage(image: ""))
        }
        let encodedSize = files.reduce(0) { $0 + ($1.bytes.count + 2) / 3 * 4 }
        for file in files {
            if encodedSize <= Self.inlineLimit {
                list[file.index] = TaskImage(image: Data(file.bytes).base64EncodedString())
            } else {
                let bar = ProgressBar("uploading \((file.path as NSString).lastPathComponent)")
                defer { bar.finish() }
                let upload = try await client.upload(file: URL(fileURLWithPath: file.path), progress: { bar.update($0, $1) })
                list[file.index] = TaskImage(image: upload.url)
            }
        }
        return list
    }
}

/// `roto task`: one task by id or external id.
struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "Show a task (by task id or external id); optionally wait for it and save its result."
    )

    @Argument(help: "The task id or your external task id.", transform: identifier)
    var id: String

    @OptionGroup var waiting: WaitOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await finish(task: id, client: try connection.client(), options: waiting, json: connection.json)
    }
}

/// `roto tasks`: the account's tasks, newest first.
struct Tasks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List your tasks, newest first.")

    @Option(help: ArgumentHelp("The page number (1–1000).", valueName: "N"))
    var page: Int = 1

    @Option(help: ArgumentHelp("Tasks per page (1–500).", valueName: "N"))
    var pageSize: Int = 30

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (1...1000).contains(page) else { throw ValidationError("--page must be within 1–1000") }
        guard (1...500).contains(pageSize) else { throw ValidationError("--page-size must be within 1–500") }
    }

    func run() async throws {
        let list = try await connection.client().tasks(pageNum: page, pageSize: pageSize)
        if connection.json { return try printJSON(list) }
        if list.isEmpty { Terminal.out("no tasks") }
        for task in list {
            var line = "\(task.taskID)  \(task.taskStatus.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0))  "
                + formatMillis(task.createdAt)
            if let external = task.taskInfo.externalTaskID, !external.isEmpty { line += "  \(external)" }
            if let url = task.taskResult.videos?.first?.url { line += "  \(url)" }
            Terminal.out(line)
        }
    }
}
