import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RotoAPI
import RotoMedia
import RotoTestSupport
import RotoVision
import Testing
@testable import RotoServer

/// preview-selection over HTTP (spec §5) on a clip whose object moves along a known path.
@Suite struct PreviewRouteTests {
    /// The shared moving-box clip (RotoTestSupport): 1280×720, 30 fps, 3 s, a red 240×180 box whose left
    /// edge moves 100 px/s from x = 200 (y = 270).
    static func movingClip() throws -> String { try Clips.movingBox() }

    static func truth(frame: Int) -> Mask {
        let x0 = 200 + Int((100 * Double(frame) / 30).rounded(.down))
        var data = [UInt8](repeating: 0, count: 1280 * 720)
        for y in 270..<450 { for x in x0..<min(1280, x0 + 240) { data[y * 1280 + x] = 1 } }
        return Mask(width: 1280, height: 720, data: data)
    }

    func session(_ client: any TestClientProtocol) async throws -> String {
        let clip = try Data(contentsOf: URL(fileURLWithPath: try Self.movingClip()))
        let up = try await client.call(.post, "/v1/files", body: Array(clip), headers: [.contentType: "video/mp4"])
        let r = try await client.initSelection(url: try #require(up.string("url")))
        return try #require(r.string("session_id"), "\(r.message)")
    }

    func res(_ r: Reply) -> [String: String] {
        guard case .object(let o)? = r.data["res"] else { return [:] }
        return o.compactMapValues { if case .string(let s) = $0 { s } else { nil } }
    }

    /// After a preview, a selected object's first click on another frame starts from the mask the preview
    /// tracked there: one click on the blue part of a red-and-blue object gives the whole object, where the
    /// same click in a session without a preview, or after clear-selection, gives the blue part alone.
    @Test("a first click on a frame starts from the previewed mask")
    func firstClickStartsFromThePreview() async throws {
        try await withApp { client in
            var whole = Mask(width: 1280, height: 720)
            for y in 270..<450 { for x in 300..<660 { whole[x, y] = 1 } }
            let clip = try Data(contentsOf: URL(fileURLWithPath: try Clips.twoToneObject()))
            func session() async throws -> String {
                let up = try await client.call(.post, "/v1/files", body: Array(clip), headers: [.contentType: "video/mp4"])
                let r = try await client.initSelection(url: try #require(up.string("url")))
                return try #require(r.string("session_id"), "\(r.message)")
            }
            func add(_ id: String, frame: Int, _ points: [(Double, Double)], label: Int = 1) async throws -> Mask {
                let list = points.map { #"{"x":\#($0.0 / 1280),"y":\#($0.1 / 720),"label":\#(label)}"# }.joined(separator: ",")
                let r = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                              json: #"{"session_id":"\#(id)","frame_index":\#(frame),"points":[\#(list)]}"#)
                #expect(r.code == 0, "\(r.message)")
                #expect(r.number("status") == 0)
                return try #require(try SelectionRouteTests.masks(r).first?.rle)
            }
            let blue = (600.0, 360.0)
            let plain = try await session()
            let alone = try await add(plain, frame: 45, [blue])
            #expect(alone.iou(whole) < 0.6, "without a preview: IoU with the whole object \(alone.iou(whole))")

            let id = try await session()
            let frame0 = try await add(id, frame: 0, [(420, 360), blue])
            #expect(frame0.iou(whole) >= 0.85, "two clicks on frame 0: IoU \(frame0.iou(whole))")
            let preview = try await client.call(.post, "/v1/videos/multi-elements/preview-selection", json: #"{"session_id":"\#(id)"}"#)
            #expect(preview.code == 0, "\(preview.message)")
            let started = try await add(id, frame: 45, [blue])
            #expect(started.iou(whole) >= 0.85, "after the preview: IoU \(started.iou(whole))")
            // An exclude click alone on another frame takes what it points at out of the previewed mask.
            var red = Mask(width: 1280, height: 720)
            for y in 270..<450 { for x in 300..<540 { red[x, y] = 1 } }
            let lessBlue = try await add(id, frame: 50, [blue], label: 0)
            #expect(lessBlue.iou(red) >= 0.85, "the preview's mask less the blue part: IoU with the red part \(lessBlue.iou(red))")
            // After clear-selection the person starts over: no object is selected, so no prior.
            let cleared = try await client.call(.post, "/v1/videos/multi-elements/clear-selection", json: #"{"session_id":"\#(id)"}"#)
            #expect(cleared.code == 0, "\(cleared.message)")
            let afresh = try await add(id, frame: 30, [blue])
            #expect(afresh.iou(whole) < 0.6, "after clear-selection: IoU with the whole object \(afresh.iou(whole))")
        }
    }

    /// A preview does not hold the session while it is made: a click on another frame is answered while
    /// the preview waits for the one job thread (held here); the next preview, after the click, is made
    /// anew; and two previews of one selection at once make it once. (Before, the click waited for the
    /// whole preview: here, for the held thread.)
    @Test func clicksAreAnsweredWhileAPreviewIsMade() async throws {
        let pools = ServerPools(threads: 1, taskThreads: 1)
        let config = testConfiguration()
        try await withApp(config, pools: pools) { client in
            let id = try await session(client)
            let preview = "/v1/videos/multi-elements/preview-selection"
            let body = #"{"session_id":"\#(id)"}"#
            func add(frame: Int) async throws -> Reply {
                try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                      json: #"{"session_id":"\#(id)","frame_index":\#(frame),"points":[{"x":\#(335.0 / 1280),"y":0.5}]}"#)
            }
            let marked = try await add(frame: 15)
            #expect(marked.code == 0, "\(marked.message)")
            try #require(try await SelectionRouteTests.waitForProxy(config, session: id), "no proxy after 5 minutes")
            // A click while the preview waits.
            var hold = await PoolHold(pools.jobs, keepingQueuedWork: true)
            async let first = client.call(.post, preview, json: body)
            while pools.jobs.waiting == 0 { try await Task.sleep(for: .milliseconds(10)) }
            let click = try await add(frame: 60)
            #expect(click.code == 0, "\(click.message)")
            #expect(hold.held, "the click waited for the preview")
            #expect(try await !hold.release(), "the hold ran out")
            let a = try await first
            #expect(a.code == 0, "\(a.message)")

            // Two previews of the new selection at once: one job, one preview.
            hold = await PoolHold(pools.jobs, keepingQueuedWork: true)
            async let second = client.call(.post, preview, json: body)
            async let third = client.call(.post, preview, json: body)
            while pools.jobs.waiting == 0 { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(pools.jobs.waiting == 1, "previews queued: \(pools.jobs.waiting)")
            #expect(try await !hold.release(), "the hold ran out")
            let (b, c) = try await (second, third)
            #expect(b.code == 0 && c.code == 0, "\(b.message) \(c.message)")
            #expect(res(b) == res(c), "the second preview of the selection made another one")
            #expect(res(b)["video"] != res(a)["video"], "the preview after the click came from the cache")
        }
    }

    /// A preview in flight when the shutdown begins is stopped and answered 5001, and stores nothing.
    /// The one job thread is held while the preview queues behind it and the shutdown begins, so the
    /// preview starts with its flag raised however fast the machine is.
    @Test func shutdownStopsAPreviewInFlightWith5001() async throws {
        let pools = ServerPools(threads: 1, taskThreads: 1)
        let config = testConfiguration()
        let readiness = Readiness()
        try await withApp(config, pools: pools, readiness: readiness) { client in
            let id = try await session(client)
            let add = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                            json: #"{"session_id":"\#(id)","frame_index":15,"points":[{"x":\#(335.0 / 1280),"y":0.5}]}"#)
            #expect(add.code == 0, "\(add.message)")
            try #require(try await SelectionRouteTests.waitForProxy(config, session: id), "no proxy after 5 minutes")
            let hold = await PoolHold(pools.jobs, keepingQueuedWork: true)
            async let reply = client.call(.post, "/v1/videos/multi-elements/preview-selection",
                                          json: #"{"session_id":"\#(id)"}"#)
            while pools.jobs.waiting == 0 { try await Task.sleep(for: .milliseconds(10)) }
            readiness.beginShutdown()
            #expect(try await !hold.release(), "the hold ran out")
            let r = try await reply
            #expect(r.status == 503 && r.code == 5001, "\(r.status) \(r.code ?? -1) \(r.message)")
            #expect(r.message.contains("the preview was stopped"), "\(r.message)")
            let folder = config.dataDirectory + "/media/sessions/\(id)"
            let files = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(!files.contains { $0.hasPrefix("preview-") }, "\(files)")
        }
    }

    @Test func tracksRendersAndCaches() async throws {
        try await withApp { client in
            let id = try await session(client)
            let preview = "/v1/videos/multi-elements/preview-selection"
            let body = #"{"session_id":"\#(id)"}"#
            let none = try await client.call(.post, preview, json: body)
            #expect(none.code == 1201)
            #expect(none.message.contains("no point"))

            // Click the box on frame 15 (its centre is at x = 215 + 120 = 335 px).
            let add = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                            json: #"{"session_id":"\#(id)","frame_index":15,"points":[{"x":\#(335.0 / 1280),"y":0.5}]}"#)
            #expect(add.code == 0, "\(add.message)")
            let first = try await client.call(.post, preview, json: body)
            #expect(first.code == 0, "\(first.message)")
            let urls = res(first)
            #expect(Set(urls.keys) == ["video", "video_cover", "tracking_output"])

            // tracking_output: one entry per frame, in order, each mask following the box.
            let trackingPath = try #require(URL(string: urls["tracking_output"] ?? "")?.path)
            let tracking = try await client.call(.get, trackingPath, key: nil)
            let output = try JSONDecoder().decode(TrackingOutput.self, from: Data(tracking.body.readableBytesView))
            #expect(output.totalFrame == 90)
            #expect(output.frames.map(\.frameIndex) == Array(0..<90))
            #expect(output.objects.map(\.objectID) == [0])
            var ious: [Double] = []
            for f in output.frames {
                let rle = try #require(f.rleMaskList.first?.rleMask)
                ious.append(try COCORLE.decode(size: rle.size, counts: rle.counts).iou(Self.truth(frame: f.frameIndex)))
            }
            let worst = ious.enumerated().min { $0.element < $1.element }!
            #expect(ious[15] >= 0.9, "anchor IoU \(ious[15])")
            #expect(worst.element >= 0.7, "worst frame \(worst.offset): IoU \(worst.element)")

            // The overlay video has every frame; the cover is a JPEG.
            let videoPath = try #require(URL(string: urls["video"] ?? "")?.path)
            let video = try await client.call(.get, videoPath, key: nil)
            let local = TestScratch.file("mp4")
            try Data(video.body.readableBytesView).write(to: URL(fileURLWithPath: local))
            defer { try? FileManager.default.removeItem(atPath: local) }
            let facts = try MediaProbe.probe(path: local)
            #expect(facts.frameCount == 90)
            #expect(facts.displayWidth == 1280 && facts.displayHeight == 720)
            let coverPath = try #require(URL(string: urls["video_cover"] ?? "")?.path)
            let cover = try await client.call(.get, coverPath, key: nil)
            #expect(cover.headers[.contentType] == "image/jpeg")
            #expect(Array(cover.body.readableBytesView.prefix(2)) == [0xFF, 0xD8])

            // Unchanged selection: served from cache. Any change: a new preview.
            let again = try await client.call(.post, preview, json: body)
            #expect(res(again) == urls)
            _ = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                      json: #"{"session_id":"\#(id)","frame_index":60,"points":[{"x":\#(515.0 / 1280),"y":0.5}]}"#)
            let changed = try await client.call(.post, preview, json: body)
            #expect(changed.code == 0, "\(changed.message)")
            #expect(res(changed)["tracking_output"] != urls["tracking_output"])
            // The replaced preview's files are still served: a client may still be downloading them.
            #expect(try await client.call(.get, trackingPath, key: nil).status == 200)

            // Two objects marked on different frames: the box (object 0) on frame 15 only, the background
            // (object 1) on frame 60 only. Each follows its own anchors: the box is kept around frame 60.
            let removed = try await client.call(.post, "/v1/videos/multi-elements/delete-selection",
                                                json: #"{"session_id":"\#(id)","frame_index":60,"points":[{"x":\#(515.0 / 1280),"y":0.5}]}"#)
            #expect(removed.code == 0, "\(removed.message)")
            let other = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                              json: #"{"session_id":"\#(id)","frame_index":60,"object_id":1,"points":[{"x":0.9,"y":0.15}]}"#)
            #expect(other.code == 0, "\(other.message)")
            let two = try await client.call(.post, preview, json: body)
            #expect(two.code == 0, "\(two.message)")
            let twoPath = try #require(URL(string: res(two)["tracking_output"] ?? "")?.path)
            let twoBody = try await client.call(.get, twoPath, key: nil)
            let twoOutput = try JSONDecoder().decode(TrackingOutput.self, from: Data(twoBody.body.readableBytesView))
            #expect(twoOutput.objects.map(\.objectID) == [0, 1])
            var boxIoUs: [Double] = [], backgroundAreas: [Int] = []
            for f in twoOutput.frames {
                for entry in f.rleMaskList {
                    let mask = try COCORLE.decode(size: entry.rleMask.size, counts: entry.rleMask.counts)
                    if entry.objectID == 0 { boxIoUs.append(mask.iou(Self.truth(frame: f.frameIndex))) }
                    if entry.objectID == 1 { backgroundAreas.append(mask.area) }
                }
            }
            #expect(boxIoUs.count == 90)
            let worstBox = boxIoUs.enumerated().min { $0.element < $1.element }
            #expect((worstBox?.element ?? 0) >= 0.7, "box: worst frame \(worstBox?.offset ?? -1), IoU \(worstBox?.element ?? 0)")
            // (A patch of plain background is no object the tracker keeps far from its anchor frame.)
            #expect(backgroundAreas.count == 90 && backgroundAreas[60] > 0, "background areas \(backgroundAreas)")
        }
    }
}
