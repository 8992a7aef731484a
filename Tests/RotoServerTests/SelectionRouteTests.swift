import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RotoAPI
import RotoVision
import RotoTestSupport
import Synchronization
import Testing
@testable import RotoServer

/// add/delete/clear-selection over HTTP (spec §3–4) on a clip with objects of known shape.
@Suite struct SelectionRouteTests {
    /// 1280×720, 30 fps, 3 s: a red box (500…799 × 250…449) and a blue box (100…299 × 100…249) on a
    /// green-grey noisy background.
    static func boxesClip() throws -> String {
        try Clips.make("boxes.mp4", [
            "-f", "lavfi", "-i", "color=c=0x3a5a40:s=1280x720:r=30:d=3,noise=alls=12:allf=t,"
                + "drawbox=x=500:y=250:w=300:h=200:color=0xD02020:t=fill,drawbox=x=100:y=100:w=200:h=150:color=0x2040D0:t=fill",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        ])
    }

    static func truth(x: Int, y: Int, w: Int, h: Int) -> Mask {
        var data = [UInt8](repeating: 0, count: 1280 * 720)
        for yy in y..<(y + h) { for xx in x..<(x + w) { data[yy * 1280 + xx] = 1 } }
        return Mask(width: 1280, height: 720, data: data)
    }

    /// Uploads the clip at `path` (the boxes clip when nil) and opens a session; returns its id.
    static func session(_ client: any TestClientProtocol, clip path: String? = nil, key: String = Keys.a) async throws -> String {
        let clip = try Data(contentsOf: URL(fileURLWithPath: try path ?? boxesClip()))
        let up = try await client.call(.post, "/v1/files", key: key, body: Array(clip), headers: [.contentType: "video/mp4"])
        let r = try await client.initSelection(url: try #require(up.string("url")), key: key)
        return try #require(r.string("session_id"), "\(r.message)")
    }

    func points(_ session: String, frame: Int, _ pts: [(Double, Double)], object: Int? = nil, label: Int? = nil) -> String {
        let list = pts.map { p in
            label.map { #"{"x":\#(p.0),"y":\#(p.1),"label":\#($0)}"# } ?? #"{"x":\#(p.0),"y":\#(p.1)}"#
        }.joined(separator: ",")
        let obj = object.map { #","object_id":\#($0)"# } ?? ""
        return #"{"session_id":"\#(session)","frame_index":\#(frame),"points":[\#(list)]\#(obj)}"#
    }

    /// Waits up to `seconds` for the session's background proxy; whether it exists.
    static func waitForProxy(_ config: ServerConfiguration, session id: String, seconds: Int = 300) async throws -> Bool {
        let proxy = config.dataDirectory + "/media/sessions/\(id)/proxy.mp4"
        for _ in 0..<(seconds * 10) where !FileManager.default.fileExists(atPath: proxy) {
            try await Task.sleep(for: .milliseconds(100))
        }
        return FileManager.default.fileExists(atPath: proxy)
    }

    static func masks(_ r: Reply) throws -> [(id: Int, rle: Mask, png: Mask)] {
        guard case .object(let res)? = r.data["res"], case .array(let list)? = res["rle_mask_list"] else { return [] }
        return try list.map { item in
            guard case .object(let o) = item, case .number(let id)? = o["object_id"],
                  case .object(let rle)? = o["rle_mask"], case .string(let counts)? = rle["counts"],
                  case .array(let size)? = rle["size"], case .object(let png)? = o["png_mask"],
                  case .string(let b64)? = png["base64"] else { throw CocoaError(.coderInvalidValue) }
            let dims = size.compactMap { if case .number(let n) = $0 { Int(n) } else { nil } }
            let mask = try COCORLE.decode(size: dims, counts: counts)
            let pngMask = try MaskPNG.decode(Array(try #require(Data(base64Encoded: b64))))
            return (Int(id), mask, pngMask)
        }
    }

    @Test func clickReturnsTheObjectsMask() async throws {
        try await withApp { client in
            let id = try await Self.session(client)
            let r = try await client.call(.post, "/v1/videos/multi-elements/add-selection", json: points(id, frame: 12, [(650.0 / 1280, 350.0 / 720)]))
            #expect(r.code == 0, "\(r.message)")
            #expect(r.number("status") == 0)
            let masks = try Self.masks(r)
            #expect(masks.count == 1)
            let m = try #require(masks.first)
            #expect(m.id == 0)
            #expect(m.rle.width == 1280 && m.rle.height == 720)
            #expect(m.rle == m.png, "RLE and PNG disagree")
            let iou = m.rle.iou(Self.truth(x: 500, y: 250, w: 300, h: 200))
            #expect(iou >= 0.9, "IoU \(iou)")
            guard case .object(let res)? = r.data["res"] else { Issue.record("no res"); return }
            #expect(res["frame_index"] == .number(12))
        }
    }

    /// The object (a red block with a blue block on its right, `Clips.twoToneObject`) is clicked on both
    /// parts on frame 0; on frame 40, before any preview, one click on the red part finds the blue part
    /// too, from the object's appearance on frame 0 (without it the click takes the red block alone).
    @Test func aClickOnANewFrameLearnsTheObjectFromItsMarkedFrame() async throws {
        try await withApp { client in
            let id = try await Self.session(client, clip: try Clips.twoToneObject())
            let both = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                             json: points(id, frame: 0, [(420.0 / 1280, 360.0 / 720), (600.0 / 1280, 360.0 / 720)]))
            #expect(both.code == 0, "\(both.message)")
            let r = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                          json: points(id, frame: 40, [(420.0 / 1280, 360.0 / 720)]))
            #expect(r.code == 0, "\(r.message)")
            let m = try #require(try Self.masks(r).first)
            let blue = Self.truth(x: 540, y: 270, w: 120, h: 180), whole = Self.truth(x: 300, y: 270, w: 360, h: 180)
            let blueKept = Double(zip(m.rle.data, blue.data).count { $0 != 0 && $1 != 0 }) / Double(blue.area)
            #expect(blueKept >= 0.8, "share of the blue part \(blueKept)")
            #expect(m.rle.iou(whole) >= 0.85, "IoU \(m.rle.iou(whole))")
        }
    }

    /// Each kind of wait has threads of its own. With every job and edit-task thread held (as long
    /// previews and removals hold them), a click still gets its mask and a file still downloads; with the
    /// edit-task thread held, a preview is still made. Each lane runs at a higher nice value than the one
    /// before it (Linux).
    /// `roto_frame_analyses_total`: frames the click engine analysed, cached ones not counted.
    static func analyses(_ client: any TestClientProtocol) async throws -> Double? {
        let text = String(buffer: try await client.call(.get, "/metrics", key: nil).body)
        return text.split(separator: "\n").first { $0.hasPrefix("roto_frame_analyses_total ") }
            .flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test("the clip's first frame is analysed with its proxy: the first click there finds it ready, a first click elsewhere analyses its frame")
    func firstFrameAnalysedWithTheProxy() async throws {
        let config = testConfiguration()
        try await withApp(config) { client in
            let id = try await Self.session(client)
            try #require(try await Self.waitForProxy(config, session: id), "no proxy after 5 minutes")
            #expect(try await Self.analyses(client) == 1, "frame 0 analysed before the proxy is ready")
            let first = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                              json: points(id, frame: 0, [(650.0 / 1280, 350.0 / 720)]))
            #expect(first.code == 0, "\(first.message)")
            #expect(try await Self.analyses(client) == 1, "the click on frame 0 analysed it again")
            #expect(try #require(try Self.masks(first).first).rle.iou(Self.truth(x: 500, y: 250, w: 300, h: 200)) >= 0.9)
            let other = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                              json: points(id, frame: 12, [(650.0 / 1280, 350.0 / 720)]))
            #expect(other.code == 0, "\(other.message)")
            #expect(try await Self.analyses(client) == 2, "a first click on frame 12 analyses it")
        }
    }

    @Test func clicksAndPreviewsDoNotWaitForLongerWork() async throws {
        let pools = ServerPools(threads: 1, taskThreads: 1)
        let config = testConfiguration()
        try await withApp(config, pools: pools) { client in
            let clip = try Data(contentsOf: URL(fileURLWithPath: try Self.boxesClip()))
            let up = try await client.call(.post, "/v1/files", body: Array(clip), headers: [.contentType: "video/mp4"])
            let url = try #require(up.string("url"))
            let r0 = try await client.initSelection(url: url)
            let id = try #require(r0.string("session_id"), "\(r0.message)")
            // The only job thread is held once the session's proxy build has let it go: from then on,
            // nothing may queue on the job pool until the preview.
            try #require(try await Self.waitForProxy(config, session: id), "no proxy after 5 minutes")
            let task = await PoolHold(pools.tasks)
            let job = await PoolHold(pools.jobs)
            let r = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                          json: points(id, frame: 12, [(650.0 / 1280, 350.0 / 720)]))
            let download = try await client.call(.get, try #require(URL(string: url)?.path), key: nil)
            let interactiveNiceness = try await pools.interactive.run { BlockingPool.niceness() }
            #expect(try await !job.release(), "the click or the download waited for the job thread")
            let preview = try await client.call(.post, "/v1/videos/multi-elements/preview-selection",
                                                json: #"{"session_id":"\#(id)"}"#)
            #expect(try await !task.release(), "the preview waited for the edit-task thread")
            #expect(r.code == 0, "\(r.message)")
            let mask = try #require(try Self.masks(r).first).rle
            #expect(mask.iou(Self.truth(x: 500, y: 250, w: 300, h: 200)) >= 0.9)
            #expect(download.status == 200 && download.body.readableBytes == clip.count)
            #expect(preview.code == 0, "\(preview.message)")
            #if os(Linux)
            #expect(interactiveNiceness == 0 && job.niceness == ServerPools.jobNiceness
                    && task.niceness == ServerPools.taskNiceness)
            #endif
        }
    }

    @Test func twoObjectsDoNotOverlap() async throws {
        try await withApp { client in
            let id = try await Self.session(client)
            let path = "/v1/videos/multi-elements/add-selection"
            _ = try await client.call(.post, path, json: points(id, frame: 0, [(650.0 / 1280, 350.0 / 720)]))
            let r = try await client.call(.post, path, json: points(id, frame: 0, [(200.0 / 1280, 175.0 / 720)], object: 1))
            #expect(r.code == 0, "\(r.message)")
            let masks = try Self.masks(r)
            #expect(masks.map(\.id) == [0, 1])
            guard masks.count == 2 else { return }
            let overlap = zip(masks[0].rle.data, masks[1].rle.data).filter { $0 == 1 && $1 == 1 }.count
            #expect(overlap == 0)
            #expect(masks[1].rle.iou(Self.truth(x: 100, y: 100, w: 200, h: 150)) >= 0.85)
            #expect(masks[0].rle.iou(Self.truth(x: 500, y: 250, w: 300, h: 200)) >= 0.85)
        }
    }

    @Test func rulesAndAtomicRefusals() async throws {
        try await withApp { client in
            let id = try await Self.session(client)
            let add = "/v1/videos/multi-elements/add-selection"
            let del = "/v1/videos/multi-elements/delete-selection"
            let state = "/v1/videos/multi-elements/sessions/\(id)"
            func pointCount() async throws -> Int {
                let s = try await client.call(.get, state)
                guard case .array(let frames)? = s.data["frames"] else { return 0 }
                return frames.reduce(0) { total, f in
                    guard case .object(let o) = f, case .array(let objs)? = o["objects"] else { return total }
                    return total + objs.reduce(0) { t, obj in
                        guard case .object(let oo) = obj, case .array(let p)? = oo["points"] else { return t }
                        return t + p.count
                    }
                }
            }
            let first = try await client.call(.post, add, json: points(id, frame: 5, [(0.5, 0.5), (0.55, 0.5)]))
            #expect(first.code == 0, "\(first.message)")
            // Re-adding the same point is a no-op.
            _ = try await client.call(.post, add, json: points(id, frame: 5, [(0.5, 0.5)]))
            #expect(try await pointCount() == 2)
            // Frame out of range, unknown session, another account: refused, nothing stored.
            let far = try await client.call(.post, add, json: points(id, frame: 90, [(0.5, 0.5)]))
            #expect(far.code == 1201)
            #expect(far.message.contains("total_frame"))
            let unknown = try await client.call(.post, add, json: points("123456789012345678", frame: 0, [(0.5, 0.5)]))
            #expect(unknown.code == 1203)
            let other = try await client.call(.post, add, key: Keys.b, json: points(id, frame: 0, [(0.5, 0.5)]))
            #expect(other.code == 1203)
            // The 11th point of one frame and object is refused whole.
            let nine = (0..<9).map { (0.1 + Double($0) * 0.05, 0.9) }
            let tooMany = try await client.call(.post, add, json: points(id, frame: 5, nine))
            #expect(tooMany.code == 1201)
            #expect(tooMany.message.contains("at most 10 points"))
            #expect(try await pointCount() == 2)
            // Deleting with one unmatched point deletes nothing and names it.
            let partial = try await client.call(.post, del, json: points(id, frame: 5, [(0.5, 0.5), (0.7, 0.7)]))
            #expect(partial.code == 1201)
            #expect(partial.message.contains("(0.7, 0.7)"))
            #expect(try await pointCount() == 2)
            // Deleting the last points of a frame leaves rle_mask_list empty.
            let gone = try await client.call(.post, del, json: points(id, frame: 5, [(0.5, 0.5), (0.55, 0.5)]))
            #expect(gone.code == 0, "\(gone.message)")
            #expect(try Self.masks(gone).isEmpty)
            guard case .object(let res)? = gone.data["res"] else { Issue.record("no res"); return }
            #expect(res["rle_mask_list"] == .array([]))
            #expect(try await pointCount() == 0)
            // Ten marked frames at most.
            for f in 0..<10 { _ = try await client.call(.post, add, json: points(id, frame: f * 3, [(0.5, 0.5)])) }
            let eleventh = try await client.call(.post, add, json: points(id, frame: 31, [(0.5, 0.5)]))
            #expect(eleventh.code == 1201)
            #expect(eleventh.message.contains("marked frames"))
            // clear-selection removes everything.
            let cleared = try await client.call(.post, "/v1/videos/multi-elements/clear-selection", json: #"{"session_id":"\#(id)"}"#)
            #expect(cleared.code == 0)
            #expect(cleared.string("session_id") == id)
            #expect(try await pointCount() == 0)
        }
    }

    @Test func concurrentAddsLoseNothing() async throws {
        try await withApp { client in
            let id = try await Self.session(client)
            try await withThrowingTaskGroup(of: Int?.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                              json: points(id, frame: 7, [(0.4 + Double(i) * 0.01, 0.45)])).code
                    }
                }
                for try await code in group { #expect(code == 0) }
            }
            let s = try await client.call(.get, "/v1/videos/multi-elements/sessions/\(id)")
            guard case .array(let frames)? = s.data["frames"], case .object(let f)? = frames.first,
                  case .array(let objs)? = f["objects"], case .object(let o)? = objs.first,
                  case .array(let pts)? = o["points"] else { Issue.record("no points"); return }
            #expect(pts.count == 8)
        }
    }

    @Test func pointsSurviveARestart() async throws {
        let config = testConfiguration()
        let id = try await withApp(config) { client in
            let id = try await Self.session(client)
            let r = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                          json: points(id, frame: 2, [(0.1, 0.9)], object: 3, label: 0))
            #expect(r.code == 0, "\(r.message)")
            return id
        }
        try await withApp(config) { client in
            let s = try await client.call(.get, "/v1/videos/multi-elements/sessions/\(id)")
            let expected: JSONValue = .array([.object(["frame_index": .number(2), "objects": .array([.object([
                "object_id": .number(3), "points": .array([.object(["x": .number(0.1), "y": .number(0.9), "label": .number(0)])]),
            ])])])])
            #expect(s.data["frames"] == expected)
        }
    }

    /// 1280×720, 30 fps, 3 s: a 240×180 box cut from the same blocky random texture as the background
    /// (camouflage: the same colours), its left edge moving 300 px/s from x = 100 (y = 270); the
    /// background stands still. On frame 15 the box spans 250…489 × 270…449.
    static func camouflagedClip() throws -> String {
        try Clips.make("camouflaged.mp4", [
            "-f", "lavfi", "-i", "color=c=0x807050:s=40x23:r=30:d=3,noise=alls=90:allf=u,"
                + "scale=1280:720:flags=neighbor,split[bg][src];[src]crop=240:180:880:480[box];"
                + "[bg][box]overlay=x='100+300*t':y=270",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        ])
    }

    /// add-selection reads the frame after the clicked one too, and the object's motion finds what its
    /// colours cannot.
    @Test func aCamouflagedMovingObjectIsSelectedByItsMotion() async throws {
        try await withApp { client in
            let id = try await Self.session(client, clip: try Self.camouflagedClip())
            let r = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                          json: points(id, frame: 15, [(370.0 / 1280, 360.0 / 720)]))
            #expect(r.code == 0, "\(r.message)")
            let m = try #require(try Self.masks(r).first)
            // Measured when written: 0.88 (frames from the normalised video) and 0.87 (from the proxy,
            // ready after a few seconds); with the frame alone 0.34 and 0.39 — the colour models cannot
            // tell the box from the background. (A slower, finer-textured box scored 0.70 from the video
            // but 0.53 from the proxy, so the result depended on the proxy's timing.)
            let iou = m.rle.iou(Self.truth(x: 250, y: 270, w: 240, h: 180))
            print("camouflaged box over HTTP: IoU \(iou)")
            #expect(iou >= 0.65, "IoU \(iou)")
        }
    }

    @Test func clicksUseTheBackgroundProxy() async throws {
        let config = testConfiguration()
        try await withApp(config) { client in
            let id = try await Self.session(client)
            #expect(try await Self.waitForProxy(config, session: id, seconds: 30))
            let r = try await client.call(.post, "/v1/videos/multi-elements/add-selection",
                                          json: points(id, frame: 45, [(650.0 / 1280, 350.0 / 720)]))
            #expect(r.code == 0, "\(r.message)")
            let m = try #require(try Self.masks(r).first)
            #expect(m.rle.iou(Self.truth(x: 500, y: 250, w: 300, h: 200)) >= 0.9)
        }
    }
}

/// Holds one thread of a blocking pool from its start until ``release()``. By default, work that queues
/// on the pool meanwhile is work that waits for the held thread: it lets the thread go at once and is
/// reported, so that a test whose call waits for the thread fails (and does not hang) however slow the
/// machine is. A hold `keepingQueuedWork` keeps the thread while work queues behind it (the test queues
/// it on purpose) and lets it go by itself only after 60 s, reported the same way.
struct PoolHold {
    private final class Gate: Sendable {
        let semaphore = DispatchSemaphore(value: 0)
        let opened = Atomic<Bool>(false)
        let byItself = Atomic<Bool>(false)

        /// Lets the held thread go, once.
        func open(byItself: Bool) {
            guard !opened.exchange(true, ordering: .relaxed) else { return }
            self.byItself.store(byItself, ordering: .relaxed)
            semaphore.signal()
        }
    }
    private let gate = Gate()
    private let job: Task<Void, any Error>
    private let watchdog: Task<Void, any Error>
    /// The nice value of the held thread.
    let niceness: Int32

    /// Returns once the pool has started the holding work (after whatever was queued before it).
    init(_ pool: BlockingPool, keepingQueuedWork: Bool = false) async {
        let (started, holding) = AsyncStream.makeStream(of: Int32.self)
        let gate = gate
        job = Task {
            try await pool.run {
                holding.yield(BlockingPool.niceness())
                gate.semaphore.wait()
            }
        }
        var iterator = started.makeAsyncIterator()
        niceness = await iterator.next() ?? -1
        watchdog = Task {
            if keepingQueuedWork {
                try await Task.sleep(for: .seconds(60))
            } else {
                while pool.waiting == 0 { try await Task.sleep(for: .milliseconds(10)) }
            }
            gate.open(byItself: true)
        }
    }

    /// Whether the thread is still held.
    var held: Bool { !gate.opened.load(ordering: .relaxed) }

    /// Lets the thread go; true when the hold had let it go by itself before (work queued behind it, or,
    /// keeping queued work, 60 s passed).
    func release() async throws -> Bool {
        watchdog.cancel()
        gate.open(byItself: false)
        try await job.value
        return gate.byItself.load(ordering: .relaxed)
    }
}
