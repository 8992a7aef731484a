import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RotoAPI
import RotoTestSupport
import RotoVision
import Synchronization
import Testing
@testable import RotoServer

/// Previews made ahead of their call (docs/api-decisions.md, preview-selection): once a selection has
/// settled, its preview is rendered on idle cores, and the preview-selection call for it takes that render.
/// One test at a time: each renders previews of its own, and the edit tasks of the suites beside them run
/// at a lower priority than these renders.
@Suite(.serialized) struct PreviewAheadTests {
    static let preview = "/v1/videos/multi-elements/preview-selection"
    static let add = "/v1/videos/multi-elements/add-selection"

    static func configuration() -> ServerConfiguration {
        var c = testConfiguration()
        c.previewAheadDelay = 0.2
        return c
    }

    /// The server's pools, with renders made ahead at the edit-task threads' nice value instead of 15:
    /// beside the other suites' previews and clicks, a nice-15 render is starved for minutes, and at the
    /// tasks' value it takes no more from their edit tasks than another task would.
    static func pools() -> ServerPools {
        ServerPools(threads: configuration().workerThreads, taskThreads: 1, aheadNiceness: ServerPools.taskNiceness)
    }

    /// A 2 s clip (60 frames, the shortest the spec takes): a still red-and-blue block over a noisy
    /// background (RotoTestSupport's `twoToneObject`).
    static func session(_ client: any TestClientProtocol) async throws -> String {
        let clip = try Data(contentsOf: URL(fileURLWithPath: try Clips.twoToneObject()))
        let up = try await client.call(.post, "/v1/files", body: Array(clip), headers: [.contentType: "video/mp4"])
        let r = try await client.initSelection(url: try #require(up.string("url")))
        return try #require(r.string("session_id"), "\(r.message)")
    }

    /// A session on `session(_:)`'s clip once its proxy is built, so that every render reads the proxy
    /// (before it exists, frames are decoded from the normalised video: near-lossless, not the same
    /// pixels, so masks a few pixels apart).
    static func sessionWithProxy(_ client: any TestClientProtocol, _ configuration: ServerConfiguration) async throws -> String {
        let id = try await session(client)
        try #require(try await SelectionRouteTests.waitForProxy(configuration, session: id), "no proxy after 5 minutes")
        return id
    }

    /// The block clicked on frame 15 (object 0), or a corner of the background on frame 45 (object 1).
    static func box(_ id: String) -> String {
        #"{"session_id":"\#(id)","frame_index":15,"points":[{"x":\#(420.0 / 1280),"y":0.5}]}"#
    }
    static func corner(_ id: String) -> String {
        #"{"session_id":"\#(id)","frame_index":45,"object_id":1,"points":[{"x":0.9,"y":0.15}]}"#
    }

    /// The counters of `roto_previews_ahead_total` by outcome.
    static func counts(_ client: any TestClientProtocol) async throws -> [String: Int] {
        try await counters(client, "roto_previews_ahead_total", by: "outcome")
    }

    /// Waits until `condition` holds for the counters: up to 10 minutes, only against a hang (in a debug
    /// build beside the other suites a render takes minutes; alone, seconds).
    static func waitFor(_ client: any TestClientProtocol, _ what: String,
                        _ condition: ([String: Int]) -> Bool) async throws -> [String: Int] {
        let deadline = ContinuousClock.now + .seconds(600)
        while true {
            let c = try await counts(client)
            if condition(c) { return c }
            guard ContinuousClock.now < deadline else {
                Issue.record("waited 10 minutes for \(what); counters \(c)")
                return c
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func trackingOutput(_ client: any TestClientProtocol, _ reply: Reply) async throws -> TrackingOutput {
        guard case .object(let res)? = reply.data["res"], case .string(let url)? = res["tracking_output"],
              let path = URL(string: url)?.path else { throw RotoError.invalid("res", "no tracking_output", got: "\(reply.json)") }
        let body = try await client.call(.get, path, key: nil).body
        return try JSONDecoder().decode(TrackingOutput.self, from: Data(body.readableBytesView))
    }

    /// The render made while the selection had settled is what the call returns, to the byte of its
    /// `tracking_output`: the same as a preview made on the call by a server that makes none ahead. A
    /// refused selection call in between changes nothing, so the finished render stays good and is not
    /// made again. Both servers click once the session's proxy is built, so that both render from it.
    @Test func theCallTakesTheRenderMadeAhead() async throws {
        let aheadConfiguration = Self.configuration()
        let ahead = try await withApp(aheadConfiguration, pools: Self.pools()) { client in
            let id = try await Self.sessionWithProxy(client, aheadConfiguration)
            #expect(try await client.call(.post, Self.add, json: Self.box(id)).code == 0)
            _ = try await Self.waitFor(client, "the render made ahead") { $0["rendered"] == 1 }
            let refused = try await client.call(.post, Self.add,
                                                json: #"{"session_id":"\#(id)","frame_index":60,"points":[{"x":0.5,"y":0.5}]}"#)
            #expect(refused.code == 1201, "\(refused.message)")
            try await Task.sleep(for: .milliseconds(600))
            let r = try await client.call(.post, Self.preview, json: #"{"session_id":"\#(id)"}"#)
            #expect(r.code == 0, "\(r.message)")
            let c = try await Self.counts(client)
            #expect(c["started"] == 1 && c["used"] == 1 && c["failed"] == nil && c["dropped"] == nil, "\(c)")
            // Once stored, the preview is served from the cache and not made ahead again.
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await Self.counts(client)["started"] == 1)
            return try await Self.trackingOutput(client, r)
        }
        let onCallConfiguration = testConfiguration()
        let onCall = try await withApp(onCallConfiguration) { client in
            let id = try await Self.sessionWithProxy(client, onCallConfiguration)
            #expect(try await client.call(.post, Self.add, json: Self.box(id)).code == 0)
            let r = try await client.call(.post, Self.preview, json: #"{"session_id":"\#(id)"}"#)
            #expect(r.code == 0, "\(r.message)")
            #expect(try await Self.counts(client).isEmpty)  // this server makes none ahead
            return try await Self.trackingOutput(client, r)
        }
        #expect(ahead.frames.count == 60)
        // (The session ids differ; everything else is the same.)
        let differing = zip(ahead.frames, onCall.frames).filter { $0 != $1 }.map { $0.0.frameIndex }
        #expect(ahead.objects == onCall.objects && ahead.frames.count == onCall.frames.count && differing.isEmpty,
                "frames that differ: \(differing)")
    }

    /// A selection call stops a render that is still running, and a render of a selection that has
    /// changed since is never returned: the call gets the preview of the selection as it is now.
    @Test func aChangedSelectionIsRenderedAgain() async throws {
        try await withApp(Self.configuration(), pools: Self.pools()) { client in
            let id = try await Self.session(client)
            #expect(try await client.call(.post, Self.add, json: Self.box(id)).code == 0)
            _ = try await Self.waitFor(client, "the first render to start") { $0["started"] == 1 }
            #expect(try await client.call(.post, Self.add, json: Self.corner(id)).code == 0)
            // The first render is dropped: stopped by the call, or replaced when the second one starts.
            let c = try await Self.waitFor(client, "the second render to start") { $0["started"] == 2 }
            #expect(c["dropped"] == 1, "\(c)")
            let r = try await client.call(.post, Self.preview, json: #"{"session_id":"\#(id)"}"#)
            #expect(r.code == 0, "\(r.message)")
            #expect(try await Self.counts(client)["used"] == 1)
            let output = try await Self.trackingOutput(client, r)
            #expect(output.objects.map(\.objectID) == [0, 1])
        }
    }

    /// A render made ahead runs below every other lane's priority; a call that takes it while it is still
    /// running and other long work runs (here an edit task's thread) stops it and makes its own at the
    /// priority of any preview.
    @Test func aRenderStillRunningYieldsToOtherWork() async throws {
        final class Gate: Sendable { let open = Atomic<Bool>(false) }
        let pools = Self.pools()
        try await withApp(Self.configuration(), pools: pools) { client in
            let id = try await Self.session(client)
            #expect(try await client.call(.post, Self.add, json: Self.box(id)).code == 0)
            _ = try await Self.waitFor(client, "the render made ahead to start") { $0["started"] == 1 }
            let gate = Gate()
            let task = Task { try await pools.tasks.run { while !gate.open.load(ordering: .acquiring) { usleep(10_000) } } }
            while pools.tasks.running == 0 { try await Task.sleep(for: .milliseconds(10)) }
            let r = try await client.call(.post, Self.preview, json: #"{"session_id":"\#(id)"}"#)
            gate.open.store(true, ordering: .releasing)
            try await task.value
            #expect(r.code == 0, "\(r.message)")
            #expect(try await Self.trackingOutput(client, r).frames.count == 60)
            let c = try await Self.counts(client)
            // (A debug build renders this clip in seconds; the call comes within milliseconds of the start.)
            #expect(c["rendered"] == nil, "the render made ahead had ended before the call: \(c)")
            #expect(c["failed"] == 1 && c["used"] == nil, "\(c)")
        }
    }

    /// An edit task created without a preview-selection call takes the tracking of the preview made
    /// ahead for its selection. The render stays unstored, for the preview-selection that comes later.
    @Test func aTaskTakesTheTrackingOfThePreviewMadeAhead() async throws {
        try await withApp(Self.configuration(), pools: Self.pools()) { client in
            let id = try await Self.session(client)
            #expect(try await client.call(.post, Self.add, json: Self.box(id)).code == 0)
            _ = try await Self.waitFor(client, "the render made ahead") { $0["rendered"] == 1 }
            // An addition (no removal to wait for: the question is only where the objects come from).
            let disc = Data(try TaskRouteTests.disc()).base64EncodedString()
            let created = try await client.call(.post, TaskRouteTests.tasksPath, json: #"""
                {"session_id":"\#(id)","edit_mode":"addition","prompt":"add <<<image_1>>> to <<<video_1>>>","image_list":[{"image":"\#(disc)"}]}
                """#)
            let taskID = try #require(created.string("task_id"), "\(created.message)")
            let done = try await TaskRouteTests().wait(client, taskID)
            #expect(done.string("task_status") == "succeed", "\(done.string("task_status_msg") ?? "")")
            #expect(try await counters(client, "roto_task_tracking_total", by: "source") == ["ahead": 1])
            let r = try await client.call(.post, Self.preview, json: #"{"session_id":"\#(id)"}"#)
            #expect(r.code == 0, "\(r.message)")
            let c = try await Self.counts(client)
            #expect(c["started"] == 1 && c["used"] == 1 && c["dropped"] == nil, "\(c)")
        }
    }
}
