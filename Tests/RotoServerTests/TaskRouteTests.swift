import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RotoAPI
import RotoCore
import RotoMedia
import RotoStore
import RotoVision
import Synchronization
import RotoTestSupport
import Testing
@testable import RotoServer

/// Edit tasks over HTTP (spec §6): every rule, the durable queue, callbacks and a real removal.
@Suite struct TaskRouteTests {
    static let tasksPath = "/v1/videos/multi-elements"

    static let background = "color=c=0x3a5a40:s=720x720:r=30:d=2.5,noise=alls=24:allf=u:all_seed=7"

    /// The clean background of ``boxClip()``: static texture.
    static func cleanClip() throws -> String {
        try Clips.make("task-clean.mp4", ["-f", "lavfi", "-i", background,
                                          "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
    }

    /// 720×720 (the smallest side the API takes), 30 fps, 2.5 s (75 frames): a red 120×90 box moving
    /// 50 px/s from x = 100 (y = 315) over
    /// ``cleanClip()``.
    static func boxClip() throws -> String {
        try Clips.make("task-box.mp4", [
            "-f", "lavfi", "-i", background + "[bg];color=c=0xD02020:s=120x90:r=30:d=2.5[box];[bg][box]overlay=x='100+50*t':y=315",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        ])
    }

    /// Where the box is on frame `frame`, grown by `margin` pixels.
    static func truth(frame: Int, margin: Int = 0) -> Mask {
        let x0 = 100 + Int((50 * Double(frame) / 30).rounded(.down)) - margin
        var data = [UInt8](repeating: 0, count: 720 * 720)
        for y in max(0, 315 - margin)..<min(720, 405 + margin) {
            for x in max(0, x0)..<min(720, x0 + 120 + 2 * margin) { data[y * 720 + x] = 1 }
        }
        return Mask(width: 720, height: 720, data: data)
    }

    /// A still image made with the ffmpeg CLI (e.g. `color=c=red:s=400x400`, with a disc drawn).
    static func image(_ name: String, _ source: String) throws -> [UInt8] {
        let path = try Clips.make(name, ["-f", "lavfi", "-i", source, "-frames:v", "1"])
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// A blue disc on white (400×400 PNG): its subject is the disc.
    static func disc() throws -> [UInt8] {
        try Self.image("disc.png", "color=c=white:s=400x400,geq=r='if(lt(hypot(X-200,Y-200),150),20,255)':g='if(lt(hypot(X-200,Y-200),150),40,255)':b='if(lt(hypot(X-200,Y-200),150),230,255)'")
    }

    /// A session on the box clip, with one click on the box (frame 15) unless `select` is false.
    func session(_ client: any TestClientProtocol, select: Bool = true, key: String = Keys.a) async throws -> String {
        let clip = try Data(contentsOf: URL(fileURLWithPath: try Self.boxClip()))
        let up = try await client.call(.post, "/v1/files", key: key, body: Array(clip), headers: [.contentType: "video/mp4"])
        let r = try await client.initSelection(url: try #require(up.string("url")), key: key)
        let id = try #require(r.string("session_id"), "\(r.message)")
        if select {
            let add = try await client.call(.post, "/v1/videos/multi-elements/add-selection", key: key,
                                            json: #"{"session_id":"\#(id)","frame_index":15,"points":[{"x":\#(185.0 / 720),"y":0.5}]}"#)
            #expect(add.code == 0, "\(add.message)")
        }
        return id
    }

    /// The removal result at `url`: every frame, the session's size, and no red box left (frames 5, 37
    /// and 70 against the clean clip).
    static func expectBoxRemoved(_ client: any TestClientProtocol, _ url: String) async throws {
        let local = try await download(client, url)
        defer { try? FileManager.default.removeItem(atPath: local) }
        let facts = try MediaProbe.probe(path: local)
        #expect(facts.frameCount == 75)
        #expect(facts.displayWidth == 720 && facts.displayHeight == 720)
        let edited = try FrameReader(path: local)
        let clean = try FrameReader(path: try Self.cleanClip())
        let original = try FrameReader(path: try Self.boxClip())
        for f in [5, 37, 70] {
            let hole = Self.truth(frame: f)
            // Compression alone: the error in a band around the hole.
            var ring = Self.truth(frame: f, margin: 24)
            ring = Mask(width: 720, height: 720, data: zip(ring.data, Self.truth(frame: f, margin: 8).data).map { $0 & ~$1 })
            let (e, c, o) = (try edited.frame(at: f), try clean.frame(at: f), try original.frame(at: f))
            let after = meanAbsoluteDifference(e, c, inside: hole)
            let around = meanAbsoluteDifference(e, c, inside: ring)
            let before = meanAbsoluteDifference(o, c, inside: hole)
            #expect(after < 0.2 * before, "frame \(f): \(after) inside the hole (the box: \(before))")
            #expect(after < 2 * around + 4, "frame \(f): \(after) inside the hole, \(around) around it")
        }
    }

    /// Polls a task until it is final (or `timeout` seconds pass). The default is a hang guard only: in
    /// a debug build beside the whole parallel suite, the removal and restart tests' tasks took up to
    /// ~580 s of the 600 s this was until stop 56 (alone, ~20 s).
    func wait(_ client: any TestClientProtocol, _ id: String, timeout: Double = 900) async throws -> Reply {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let r = try await client.call(.get, "\(Self.tasksPath)/\(id)")
            let status = r.string("task_status") ?? ""
            if status == "succeed" || status == "failed" || Date() > deadline { return r }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    @Test func everyRuleIsCheckedAndARefusedCallStoresNothing() async throws {
        var config = testConfiguration(allowPrivate: false)
        config.limits.maxUnfinishedTasks = 4
        try await withApp(config) { client in
            let selected = try await session(client)
            let empty = try await session(client, select: false)
            let small = Data(try Self.image("small.png", "color=c=red:s=200x200")).base64EncodedString()
            let wide = Data(try Self.image("wide.png", "color=c=red:s=1000x300")).base64EncodedString()
            let good = Data(try Self.image("good.jpg", "color=c=red:s=400x400")).base64EncodedString()
            let notImage = Data("hello, this is not an image at all".utf8).base64EncodedString()
            func create(_ body: String) async throws -> Reply {
                try await client.call(.post, Self.tasksPath, json: body)
            }
            let s = selected
            let cases: [(String, Int, String)] = [
                (#"{"edit_mode":"removal","prompt":"x"}"#, 1201, "session_id"),
                (#"{"session_id":"\#(s)","edit_mode":"erase","prompt":"x"}"#, 1201, "edit_mode"),
                (#"{"session_id":"\#(s)","prompt":"x"}"#, 1201, "edit_mode"),
                (#"{"session_id":"\#(s)","edit_mode":"removal"}"#, 1201, "prompt"),
                (#"{"session_id":"\#(s)","edit_mode":"removal","prompt":"\#(String(repeating: "a", count: 2501))"}"#, 1201, "prompt"),
                (#"{"session_id":"\#(s)","edit_mode":"removal","prompt":"x","negative_prompt":"\#(String(repeating: "a", count: 2501))"}"#, 1201, "negative_prompt"),
                (#"{"session_id":"\#(s)","edit_mode":"removal","prompt":"x","image_list":[{"image":"\#(good)"}]}"#, 1201, "image_list"),
                (#"{"session_id":"\#(s)","edit_mode":"swap","prompt":"x"}"#, 1201, "image_list"),
                (#"{"session_id":"\#(s)","edit_mode":"addition","prompt":"x","image_list":[{"image":"\#(good)"},{"image":"\#(good)"},{"image":"\#(good)"}]}"#, 1201, "image_list"),
                (#"{"session_id":"\#(s)","edit_mode":"swap","prompt":"x","image_list":[{"image":"data:image/png;base64,\#(good)"}]}"#, 1201, "data:"),
                (#"{"session_id":"\#(s)","edit_mode":"swap","prompt":"x","image_list":[{"image":"%%%not base64%%%"}]}"#, 1201, "image_list[0].image"),
                (#"{"session_id":"\#(s)","edit_mode":"swap","prompt":"x","image_list":[{"image":"\#(notImage)"}]}"#, 1201, "JPEG or PNG"),
                (#"{"session_id":"\#(s)","edit_mode":"swap","prompt":"x","image_list":[{"image":"\#(small)"}]}"#, 1201, "300 px"),
                (#"{"session_id":"\#(s)","edit_mode":"swap","prompt":"x","image_list":[{"image":"\#(wide)"}]}"#, 1201, "aspect ratio"),
                (#"{"session_id":"\#(s)","edit_mode":"swap","prompt":"put <<<image_2>>> here","image_list":[{"image":"\#(good)"}]}"#, 1201, "<<<image_2>>>"),
                (#"{"session_id":"\#(s)","edit_mode":"removal","prompt":"x","model_name":"kling-v2"}"#, 1201, "model_name"),
                (#"{"session_id":"\#(s)","edit_mode":"removal","prompt":"x","mode":"fast"}"#, 1201, "mode"),
                (#"{"session_id":"\#(s)","edit_mode":"removal","prompt":"x","duration":"7"}"#, 1201, "duration"),
                (#"{"session_id":"\#(s)","edit_mode":"removal","prompt":"x","duration":"10"}"#, 1201, "7–10.5 s"),
                (#"{"session_id":"\#(s)","edit_mode":"removal","prompt":"x","callback_url":"ftp://example.com/x"}"#, 1201, "callback_url"),
                (#"{"session_id":"\#(s)","edit_mode":"removal","prompt":"x","callback_url":"http://127.0.0.1:9/x"}"#, 1201, "public addresses"),
                // A leading zero makes the system resolver read the part as octal: 012.0.0.1 is 10.0.0.1.
                (#"{"session_id":"\#(s)","edit_mode":"removal","prompt":"x","callback_url":"http://012.0.0.1:9/x"}"#, 1201, "10.0.0.1"),
                (#"{"session_id":"\#(s)","edit_mode":"removal","prompt":"x","watermark_info":{"enabled":"yes"}}"#, 1201, "watermark_info.enabled"),
                (#"{"session_id":"\#(empty)","edit_mode":"removal","prompt":"x"}"#, 1201, "non-empty selection"),
                (#"{"session_id":"\#(empty)","edit_mode":"swap","prompt":"x","image_list":[{"image":"\#(good)"}]}"#, 1201, "non-empty selection"),
                (#"{"session_id":"123456789012345678","edit_mode":"removal","prompt":"x"}"#, 1203, "123456789012345678"),
                ("[1,2]", 1200, "object"),
            ]
            for (body, code, mention) in cases {
                let r = try await create(body)
                #expect(r.code == code, "\(body.prefix(120)): \(r.code ?? -1) \(r.message)")
                #expect(r.message.contains(mention), "\(body.prefix(120)): \(r.message)")
            }
            // Another account cannot use the session.
            let other = try await client.call(.post, Self.tasksPath, key: Keys.b,
                                              json: #"{"session_id":"\#(s)","edit_mode":"removal","prompt":"x"}"#)
            #expect(other.code == 1203)
            // Nothing was stored.
            let list = try await client.call(.get, Self.tasksPath)
            #expect(list.code == 0)
            if case .array(let items)? = list.json["data"] { #expect(items.isEmpty) } else { Issue.record("data is not an array") }
            // Paging parameters.
            #expect(try await client.call(.get, "\(Self.tasksPath)?pageNum=0").code == 1201)
            #expect(try await client.call(.get, "\(Self.tasksPath)?pageSize=501").message.contains("pageSize"))
            #expect(try await client.call(.get, "\(Self.tasksPath)/123").code == 1203)
            #expect(try await client.call(.get, "\(Self.tasksPath)/init-selection").code == 1202)
            #expect(try await client.call(.delete, Self.tasksPath).code == 1202)
        }
    }

    @Test func removalRunsCallsBackAndTheResultIsAVideoID() async throws {
        let secretBytes = (0..<24).map { _ in UInt8.random(in: 0...255) }
        let config = {
            var c = testConfiguration()
            c.webhookSecret = "whsec_" + Data(secretBytes).base64EncodedString()
            c.callbackBackoff = [.milliseconds(500), .seconds(1), .seconds(2)]
            return c
        }()
        // The receiver fails the first POST: it is retried after the first back-off delay.
        let received = Received(failFirst: 1)
        try await withReceiver(received) { receiver in
            try await withApp(config) { client in
                let id = try await session(client)
                // Previewed first, as a person does: the task takes the preview's tracking.
                let preview = try await client.call(.post, "/v1/videos/multi-elements/preview-selection", json: #"{"session_id":"\#(id)"}"#)
                #expect(preview.code == 0, "\(preview.message)")
                // An external id with a space, a slash and a non-ASCII letter: queried percent-encoded.
                let body = #"{"session_id":"\#(id)","edit_mode":"removal","prompt":"remove the box","external_task_id":"job 1/é","callback_url":"\#(receiver)/hook","watermark_info":{"enabled":true}}"#
                let created = try await client.call(.post, Self.tasksPath, json: body)
                #expect(created.code == 0, "\(created.message)")
                #expect(created.string("task_status") == "submitted")
                #expect(created.string("session_id") == id)
                let taskID = try #require(created.string("task_id"))
                // The same external id again is refused.
                let dup = try await client.call(.post, Self.tasksPath, json: body)
                #expect(dup.code == 1201 && dup.message.contains("external_task_id"), "\(dup.message)")
                // Query by external id; another account sees nothing.
                #expect(try await client.call(.get, "\(Self.tasksPath)/job%201%2F%C3%A9").string("task_id") == taskID)
                #expect(try await client.call(.get, "\(Self.tasksPath)/\(taskID)", key: Keys.b).code == 1203)

                let done = try await wait(client, taskID)
                #expect(done.string("task_status") == "succeed", "\(done.string("task_status_msg") ?? "")")
                #expect(try await counters(client, "roto_task_tracking_total", by: "source") == ["preview": 1])
                let result = try JSONDecoder().decode(TaskData.self, from: JSONEncoder().encode(JSONValue.object(done.data)))
                let video = try #require(result.taskResult.videos?.first)
                #expect(video.duration == "2.5")
                #expect(result.watermarkInfo.enabled)
                #expect(!video.watermarkURL.isEmpty)

                // The result: every frame, the session's size, and no red box left.
                try await Self.expectBoxRemoved(client, video.url)
                let marked = try await download(client, video.watermarkURL)
                defer { try? FileManager.default.removeItem(atPath: marked) }
                #expect(try MediaProbe.probe(path: marked).frameCount == 75)

                // The result is a video_id for a new session.
                let again = try await client.call(.post, "/v1/videos/multi-elements/init-selection",
                                                  json: #"{"video_id":"\#(video.id)","task_id":"\#(taskID)"}"#)
                #expect(again.code == 0, "\(again.message)")
                #expect(again.number("total_frame") == 75)

                // The list shows it, newest first.
                let list = try await client.call(.get, "\(Self.tasksPath)?pageNum=1&pageSize=10")
                if case .array(let items)? = list.json["data"], case .object(let first)? = items.first {
                    #expect(first["task_id"] == .string(taskID))
                } else {
                    Issue.record("the list is empty")
                }

                // Callbacks: submitted (refused once, then sent again after the 0.5 s back-off — not
                // after the dispatcher's 5 s idle wait), processing, succeed, in order, each signed.
                let deadline = Date().addingTimeInterval(20)
                while received.calls.withLock({ $0.count }) < 4 && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
                let calls = received.calls.withLock { $0 }
                let statuses = calls.compactMap { call -> String? in
                    guard case .object(let o)? = try? JSONDecoder().decode(JSONValue.self, from: Data(call.body.utf8)),
                          case .string(let s)? = o["task_status"] else { return nil }
                    return s
                }
                #expect(statuses == ["submitted", "submitted", "processing", "succeed"])
                #expect(calls.map(\.status) == [.internalServerError, .ok, .ok, .ok])
                if calls.count > 1 {
                    let gap = calls[1].at.timeIntervalSince(calls[0].at)
                    #expect(gap >= 0.45 && gap < 4.5, "the retry came \(gap) s after the refused POST")
                    #expect(calls[0].body == calls[1].body)
                }
                for call in calls {
                    let id = call.headers[HTTPField.Name("webhook-id")!] ?? ""
                    let ts = call.headers[HTTPField.Name("webhook-timestamp")!] ?? ""
                    let signature = call.headers[HTTPField.Name("webhook-signature")!] ?? ""
                    let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(ts).\(call.body)".utf8),
                                                              using: SymmetricKey(data: Data(secretBytes)))
                    #expect(signature == "v1," + Data(mac).base64EncodedString())
                    #expect(id.hasPrefix("msg_"))
                }
            }
        }
    }

    @Test func aTaskInterruptedByAStopRunsAgainAfterTheRestart() async throws {
        var config = testConfiguration()
        config.limits.maxUnfinishedTasks = 1
        let taskID: String = try await withApp(config) { client in
            let id = try await session(client)
            let created = try await client.call(.post, Self.tasksPath,
                                                json: #"{"session_id":"\#(id)","edit_mode":"removal","prompt":"x"}"#)
            let taskID = try #require(created.string("task_id"), "\(created.message)")
            // One unfinished task is the limit here.
            let second = try await client.call(.post, Self.tasksPath,
                                               json: #"{"session_id":"\#(id)","edit_mode":"removal","prompt":"x"}"#)
            #expect(second.code == 1303, "\(second.message)")
            #expect(second.status == 429)
            // Stop while it is being processed.
            let deadline = Date().addingTimeInterval(120)
            while try await client.call(.get, "\(Self.tasksPath)/\(taskID)").string("task_status") == "submitted",
                  Date() < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            return taskID
        }
        let database = try AppDatabase.open(path: (config.dataDirectory as NSString).appendingPathComponent("roto.sqlite"))
        // A graceful stop leaves the task `processing` (a status never moves back) and gives its attempt
        // back (a process that dies leaves it `processing` too, and that attempt counts: see the kill -9
        // check of bench-edit).
        let stopped = try #require(try await database.task(id: taskID))
        #expect(stopped.status == "processing" || stopped.status == "succeed", "\(stopped.status)")
        #expect(stopped.attempts == (stopped.status == "processing" ? 0 : 1))
        try await withApp(config) { client in
            // What a client polls after the restart never goes back to `submitted`.
            var seen: [String] = []
            let deadline = Date().addingTimeInterval(120)
            while let status = try await client.call(.get, "\(Self.tasksPath)/\(taskID)").string("task_status"),
                  status != "succeed" && status != "failed", Date() < deadline {
                if seen.last != status { seen.append(status) }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!seen.contains("submitted"), "\(seen)")
            let done = try await wait(client, taskID)
            #expect(done.string("task_status") == "succeed", "\(done.string("task_status_msg") ?? "")")
        }
        let finished = try #require(try await database.task(id: taskID))
        #expect(finished.attempts == 1)
    }

    /// A shutdown stops a task's creation while a reference image downloads: 5001, nothing stored.
    @Test func shutdownStopsATaskCreationInFlightWith5001AndStoresNothing() async throws {
        let stall = StallGate()
        let readiness = Readiness()
        let config = testConfiguration()
        try await withClipServer(stall: stall) { base in
            try await withApp(config, readiness: readiness) { client in
                let id = try await session(client)
                async let reply = client.call(.post, Self.tasksPath, json: #"""
                    {"session_id":"\#(id)","edit_mode":"swap","prompt":"x","image_list":[{"image":"\#(base)/stall"}]}
                    """#)
                await stall.untilReached()  // the image's download is in flight
                readiness.beginShutdown()
                let r = try await reply
                #expect(r.status == 503 && r.code == 5001, "\(r.status) \(r.code ?? -1) \(r.message)")
                #expect(r.message.contains("stored nothing"), "\(r.message)")
            }
            stall.release.continuation.finish()
        }
        try await withApp(config) { client in
            let list = try await client.call(.get, "\(Self.tasksPath)?pageNum=1&pageSize=10")
            #expect(list.json["data"] == .array([]), "\(list.message)")
        }
        let tasksFolder = config.dataDirectory + "/media/tasks"
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: tasksFolder)) ?? []).isEmpty)
    }

    /// A preview keeps its tracking for the edit tasks on its selection: the labels whose masks its
    /// `tracking_output` holds (`removalRunsCallsBackAndTheResultIsAVideoID` has a task use them). A
    /// selection changed since its preview is tracked by the task.
    @Test func thePreviewKeepsItsTrackingForTheTasks() async throws {
        let config = testConfiguration()
        try await withApp(config) { client in
            let id = try await session(client)
            let preview = try await client.call(.post, "/v1/videos/multi-elements/preview-selection", json: #"{"session_id":"\#(id)"}"#)
            #expect(preview.code == 0, "\(preview.message)")
            // The labels the preview kept are its `tracking_output`, frame by frame, once upsampled as the
            // preview does it.
            let shown = try await PreviewAheadTests.trackingOutput(client, preview)
            let media = try MediaStore(dataDirectory: config.dataDirectory)
            let kept = try FileManager.default.contentsOfDirectory(atPath: media.absolute("sessions/\(id)"))
                .filter { $0.hasSuffix(".labels") }
            try #require(kept.count == 1, "\(kept)")
            let labels = try LabelTrack.decode([UInt8](try Data(contentsOf: URL(fileURLWithPath: media.absolute("sessions/\(id)/\(kept[0])")))))
            #expect(labels.count == 75 && shown.frames.count == 75)
            let engine = ClassicalSegmentationEngine()
            for (l, entry) in zip(labels, shown.frames) {
                let masks = engine.upsample(l, to: 720, 720, guide: nil).masks(including: [0])
                let rle = COCORLE.encode(masks[0] ?? Mask(width: 720, height: 720))
                #expect(entry.rleMaskList.first?.rleMask.counts == rle.counts, "frame \(entry.frameIndex)")
            }

            // A second click on the box: no preview of that selection, so the task tracks it (an addition:
            // the question is only where the objects come from).
            let add = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                            json: #"{"session_id":"\#(id)","frame_index":60,"points":[{"x":\#(260.0 / 720),"y":0.5}]}"#)
            #expect(add.code == 0, "\(add.message)")
            let disc = try Self.disc()
            let addition = try await client.call(.post, Self.tasksPath, json: #"""
                {"session_id":"\#(id)","edit_mode":"addition","prompt":"add <<<image_1>>> to <<<video_1>>>","image_list":[{"image":"\#(Data(disc).base64EncodedString())"}]}
                """#)
            let taskID = try #require(addition.string("task_id"), "\(addition.message)")
            #expect(try await wait(client, taskID).string("task_status") == "succeed")
            #expect(try await counters(client, "roto_task_tracking_total", by: "source") == ["tracked": 1])
        }
    }

    @Test func additionWithoutSelectionComposesTheImage() async throws {
        try await withApp { client in
            let id = try await session(client, select: false)
            let disc = try Self.disc()
            let created = try await client.call(.post, Self.tasksPath, json: #"""
                {"session_id":"\#(id)","edit_mode":"addition","prompt":"add <<<image_1>>> to <<<video_1>>>","image_list":[{"image":"\#(Data(disc).base64EncodedString())"}],"mode":"std"}
                """#)
            let taskID = try #require(created.string("task_id"), "\(created.message)")
            // No external id: the key is there all the same, empty (the contract's task_info{external_task_id}).
            #expect(created.data["task_info"] == .object(["external_task_id": .string("")]))
            let done = try await wait(client, taskID)
            #expect(done.string("task_status") == "succeed", "\(done.string("task_status_msg") ?? "")")
            #expect(done.data["task_info"] == .object(["external_task_id": .string("")]))
            let result = try JSONDecoder().decode(TaskData.self, from: JSONEncoder().encode(JSONValue.object(done.data)))
            #expect(result.taskInfo.externalTaskID == nil)
            let local = try await download(client, try #require(result.taskResult.videos?.first?.url))
            defer { try? FileManager.default.removeItem(atPath: local) }
            // Centred, its centre at one third of the height: blue there, white corners of the image gone.
            let frame = try FrameReader(path: local).frame(at: 30)
            let centre = (360 + 240 * 720) * 3
            #expect(frame.pixels[centre + 2] > 150 && frame.pixels[centre] < 100, "centre pixel \(frame.pixels[centre..<centre + 3])")
        }
    }
}

/// Mean absolute RGB difference of two frames over the pixels of `mask`.
func meanAbsoluteDifference(_ a: RGBFrame, _ b: RGBFrame, inside mask: Mask) -> Double {
    var total = 0, count = 0
    for i in 0..<(mask.width * mask.height) where mask.data[i] != 0 {
        for c in 0..<3 { total += abs(Int(a.pixels[3 * i + c]) - Int(b.pixels[3 * i + c])) }
        count += 3
    }
    return count == 0 ? 0 : Double(total) / Double(count)
}

/// Downloads a capability URL of the test server to a temporary file.
func download(_ client: any TestClientProtocol, _ url: String) async throws -> String {
    let path = try #require(URL(string: url)?.path)
    let reply = try await client.call(.get, path, key: nil)
    #expect(reply.status == 200)
    let local = TestScratch.file("mp4")
    try Data(reply.body.readableBytesView).write(to: URL(fileURLWithPath: local))
    return local
}

/// What a callback receiver got.
final class Received: Sendable {
    /// Every POST in arrival order, with the HTTP status it was answered with.
    let calls = Mutex<[(headers: HTTPFields, body: String, at: Date, status: HTTPResponse.Status)]>([])
    /// The first this many POSTs are answered 500.
    let failFirst: Int

    init(failFirst: Int = 0) { self.failFirst = failFirst }
}

/// A callback receiver on loopback that records every POST (headers and body).
func withReceiver<T: Sendable>(_ received: Received,
                               _ body: @escaping @Sendable (String) async throws -> T) async throws -> T {
    let router = Router()
    router.post("hook") { request, _ -> Response in
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        let status: HTTPResponse.Status = received.calls.withLock { calls in
            let status: HTTPResponse.Status = calls.count < received.failFirst ? .internalServerError : .ok
            calls.append((request.headers, String(buffer: buffer), Date(), status))
            return status
        }
        return Response(status: status)
    }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    return try await app.test(.live) { client in
        try await body("http://127.0.0.1:\(client.port!)")
    }
}
