import Foundation
import RotoAPI
import RotoClient
import RotoTestSupport
import Testing

/// Edit tasks through the SDK and the CLI (spec §6), end to end against the live server.
///
/// These need the task endpoints (`POST/GET .../videos/multi-elements`); they were written against the
/// spec before those endpoints landed.
@Suite(.serialized) struct TaskClientTests {
    /// A session on the moving-box clip with the box selected on frame 15.
    static func selectedSession(_ roto: RotoClient) async throws -> InitSelectionData {
        let session = try await roto.initSelection(uploading: URL(fileURLWithPath: try Clips.movingBox()))
        _ = try await roto.addSelection(sessionID: session.sessionID, frameIndex: 15, points: [boxCentre(frame: 15)])
        return session
    }

    /// Create a removal task, wait for it, read it by id and external id, list it, download the result and
    /// open a new session on the result video.
    @Test func removalTask() async throws {
        try await withLiveServer { url in
            let roto = RotoClient.test(url)
            let session = try await Self.selectedSession(roto)
            let external = "sdk-test-\(UUID().uuidString)"
            let created = try await roto.createTask(CreateTaskRequest(sessionID: session.sessionID, editMode: .removal,
                                                                      prompt: "remove the red box", externalTaskID: external))
            #expect(created.taskStatus == .submitted)
            #expect(created.sessionID == session.sessionID)
            #expect(created.taskInfo.externalTaskID == external)
            #expect(created.taskID.count >= 18)

            let seen = Box<[TaskStatus]>([])
            // A hang guard, not a speed check: the removal runs at nice 10 beside the whole parallel suite
            // in a debug build (576–593 s of this test in the fresh-clone CI runs of stop 55).
            let done = try await roto.waitForTask(created.taskID, pollInterval: .milliseconds(250), timeout: .seconds(900),
                                                  onUpdate: { t in seen.update { $0.append(t.taskStatus) } })
            #expect(done.taskStatus == .succeed, "\(done.taskStatusMsg)")
            #expect(seen.value.allSatisfy { [.submitted, .processing, .succeed].contains($0) })
            let video = try #require(done.taskResult.videos?.first)
            #expect(video.sessionID == session.sessionID)
            #expect(Double(video.duration) != nil, "duration in seconds as a string: \(video.duration)")

            let byExternal = try await roto.task(external)
            #expect(byExternal.taskID == created.taskID && byExternal.taskStatus == .succeed)
            let list = try await roto.tasks(pageNum: 1, pageSize: 10)
            #expect(list.first?.taskID == created.taskID)

            let directory = URL(fileURLWithPath: temporaryDirectory())
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("result.mp4")
            let size = try await roto.download(video.url, to: file)
            #expect(size > 1000)

            // The result video opens a new session by video_id.
            let again = try await roto.initSelection(videoID: video.id, taskID: created.taskID)
            #expect(again.totalFrame == 90 && again.width == 1280)
        }
    }

    /// Task errors: unknown task, a duplicate external id, removal without a selection, swap without an image.
    @Test func taskErrors() async throws {
        try await withLiveServer { url in
            let roto = RotoClient.test(url)
            let unknown = await #expect(throws: RotoClientError.self) { try await roto.task("1234567890123456789") }
            #expect(unknown?.code == .notFound && unknown?.httpStatus == 404)

            let empty = try await roto.initSelection(uploading: URL(fileURLWithPath: try Clips.movingBox()))
            let noSelection = await #expect(throws: RotoClientError.self) {
                try await roto.createTask(CreateTaskRequest(sessionID: empty.sessionID, editMode: .removal, prompt: "x"))
            }
            #expect(noSelection?.code == .invalidParameter)

            let session = try await Self.selectedSession(roto)
            let noImage = await #expect(throws: RotoClientError.self) {
                try await roto.createTask(CreateTaskRequest(sessionID: session.sessionID, editMode: .swap, prompt: "x"))
            }
            #expect(noImage?.code == .invalidParameter)
        }
    }

    /// `roto edit --wait --download`, `roto task`, `roto tasks`.
    @Test func cliEditWaitDownload() async throws {
        try await withLiveServer { url in
            let env = CLI.environment(url)
            let session = try await Self.selectedSession(RotoClient.test(url))
            let directory = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let edit = try await CLI.run(["edit", session.sessionID, "--mode", "removal", "--prompt", "remove it",
                                          "--external-id", "cli-\(UUID().uuidString)", "--wait", "--download", directory],
                                         environment: env)
            #expect(edit.status == 0, "\(edit.stderr)")
            #expect(edit.stdout.contains(" succeed"), "\(edit.stdout)")
            let words = edit.stdout.split(separator: " ")
            try #require(words.count > 1, "roto edit printed \(edit.stdout)")
            let taskID = String(words[1])
            #expect(FileManager.default.fileExists(atPath: "\(directory)/\(taskID).mp4"))

            let task = try await CLI.run(["task", taskID, "--json"], environment: env)
            #expect(task.status == 0, "\(task.stderr)")
            #expect(try task.json()["task_status"] == .string("succeed"))

            // The result opens a new session by its video_id.
            let tokens = edit.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
            let at = try #require(tokens.firstIndex(of: "video_id"), "no video_id in \(edit.stdout)")
            let videoID = String(tokens[at + 1].dropLast())  // the id, less the closing parenthesis
            let reopened = try await CLI.run(["init", "--video-id", videoID, "--task-id", taskID], environment: env)
            #expect(reopened.status == 0 && reopened.stdout.hasPrefix("session "), "\(reopened.stdout) \(reopened.stderr)")
            let both = try await CLI.run(["init", "x.mp4", "--video-id", videoID], environment: env)
            #expect(both.status == 2, "\(both.stderr)")

            let tasks = try await CLI.run(["tasks", "--page", "1", "--page-size", "5"], environment: env)
            #expect(tasks.status == 0 && tasks.stdout.hasPrefix(taskID), "\(tasks.stdout)")

            // A swap with a local PNG, sent as raw base64; not waited for.
            let swap = try await CLI.run(["edit", session.sessionID, "--mode", "swap", "--image", try Clips.image(),
                                          "--prompt", "swap <<<image_1>>> in", "--json"], environment: env)
            #expect(swap.status == 0, "\(swap.stderr)")
            #expect(try swap.json()["task_status"] == .string("submitted"))
        }
    }
}
