import Foundation
import Hummingbird
import RotoAPI
@testable import RotoClient
import RotoVision
import RotoTestSupport
import Testing

/// The SDK end to end against the real server, live on a free loopback port.
@Suite(.serialized) struct ClientTests {
    /// Upload → init → select → unselect → clear → select → session → preview → tracking → download.
    @Test func selectionWorkflow() async throws {
        try await withLiveServer { url in
            let roto = RotoClient.test(url)
            let clip = URL(fileURLWithPath: try Clips.movingBox())
            let size = Int64(try Data(contentsOf: clip).count)
            let seen = Box<[Int64]>([])
            let session = try await roto.initSelection(uploading: clip, progress: { done, total in
                seen.update { $0.append(done) }
                #expect(total == size)
            })
            #expect(session.width == 1280 && session.height == 720)
            #expect(session.fps == 30 && session.totalFrame == 90)
            #expect(session.originalDuration == 3000)
            #expect(session.sessionID.count >= 18)
            #expect(seen.value.last == size, "upload progress ends at the file size")

            // Click the box on frame 15: the mask decodes to the box, and agrees with the PNG mask.
            let id = session.sessionID
            let added = try await roto.addSelection(sessionID: id, frameIndex: 15, points: [boxCentre(frame: 15)])
            #expect(added.status == 0)
            #expect(added.res.frameIndex == 15)
            let object = try #require(added.res.rleMaskList.first)
            let bitmap = try object.bitmap()
            #expect(bitmap.width == 1280 && bitmap.height == 720)
            let box = try #require(bitmap.boundingBox)
            #expect(abs(box.x - 250) <= 12 && abs(box.y - 270) <= 12, "box \(box)")
            #expect(abs(box.width - 240) <= 24 && abs(box.height - 180) <= 24, "box \(box)")
            let png = try MaskPNG.decode(Array(try #require(object.pngMask?.pngData)))
            #expect(png.data == bitmap.pixels, "RLE and PNG masks agree pixel for pixel")
            // The SDK's decoder and the server's decoder agree, and re-encoding gives the same string.
            let server = try COCORLE.decode(size: object.rleMask.size, counts: object.rleMask.counts)
            #expect(server.data == bitmap.pixels)
            #expect(bitmap.rle == object.rleMask)

            // A second object with an exclude point, then remove it again.
            let exclude = WirePoint(x: 0.9, y: 0.1, label: 0)
            let two = try await roto.addSelection(sessionID: id, frameIndex: 15, points: [WirePoint(x: 0.05, y: 0.05), exclude],
                                                  objectID: 1)
            #expect(Set(two.res.rleMaskList.map(\.objectID)) == [0, 1])
            var state = try await roto.session(id)
            #expect(state.frames.map(\.frameIndex) == [15])
            #expect(state.frames.first?.objects.count == 2)
            let removed = try await roto.deleteSelection(sessionID: id, frameIndex: 15,
                                                         points: [WirePoint(x: 0.05, y: 0.05), exclude], objectID: 1)
            #expect(removed.res.rleMaskList.map(\.objectID) == [0])

            // Clear, then select again.
            let cleared = try await roto.clearSelection(sessionID: id)
            #expect(cleared.sessionID == id && cleared.status == 0)
            state = try await roto.session(id)
            #expect(state.frames.isEmpty)
            _ = try await roto.addSelection(sessionID: id, frameIndex: 15, points: [boxCentre(frame: 15)])
            state = try await roto.session(id)
            #expect(state.frames.map(\.frameIndex) == [15])
            #expect(state.width == 1280 && state.totalFrame == 90)
            #expect(state.expiresAt > state.createdAt)

            // Preview: the tracked masks follow the box; files download to disk.
            let preview = try await roto.previewSelection(sessionID: id)
            #expect(preview.sessionID == id)
            let tracking = try await roto.trackingOutput(preview)
            #expect(tracking.frames.map(\.frameIndex) == Array(0..<90))
            let anchor = try MaskBitmap(rle: try #require(tracking.frames[15].rleMaskList.first).rleMask)
            #expect(anchor.pixels == bitmap.pixels, "the anchor frame keeps the add-selection mask")
            let last = try MaskBitmap(rle: try #require(tracking.frames[80].rleMaskList.first).rleMask)
            let lastBox = try #require(last.boundingBox)
            #expect(abs(lastBox.x - (200 + 266)) <= 60, "frame 80 box \(lastBox)")

            let directory = URL(fileURLWithPath: temporaryDirectory())
            defer { try? FileManager.default.removeItem(at: directory) }
            let progress = Box<(Int64, Int64?)>((0, nil))
            let video = directory.appendingPathComponent("preview.mp4")
            let written = try await roto.download(preview.res.video, to: video, progress: { progress.value = ($0, $1) })
            #expect(written > 1000)
            #expect(progress.value.0 == written && progress.value.1 == written)
            let onDisk = try Data(contentsOf: video)
            #expect(onDisk.count == Int(written))
            #expect(String(decoding: onDisk[4..<8], as: UTF8.self) == "ftyp")
            let cover = try await roto.fetch(preview.res.videoCover)
            #expect(cover.starts(with: [0xFF, 0xD8, 0xFF]))
        }
    }

    /// The CometAPI prefix and init by URL (an upload URL is accepted as video_url).
    @Test func klingPrefixAndInitByURL() async throws {
        try await withLiveServer { url in
            let roto = RotoClient.test(url, prefix: "kling/v1/")
            #expect(roto.pathPrefix == "/kling/v1")
            #expect(roto.url(for: "files") == url.absoluteString + "/kling/v1/files")
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try Clips.movingBox())))
            let upload = try await roto.upload(bytes: bytes, contentType: "video/mp4")
            #expect(upload.expiresAt > 0)
            let session = try await roto.initSelection(videoURL: upload.url)
            #expect(session.totalFrame == 90)
            // Another account sees nothing (1203, as if it did not exist).
            let other = RotoClient.test(url, key: Keys.b)
            let error = await #expect(throws: RotoClientError.self) { try await other.session(session.sessionID) }
            #expect(error?.code == .notFound && error?.httpStatus == 404)
        }
    }

    /// Error paths: every one is a RotoClientError with the Kling code, HTTP status, message and request id.
    @Test func errors() async throws {
        try await withLiveServer { url in
            // Bad key → 1000 / 401 with a request id.
            let bad = RotoClient.test(url, key: "not-a-key")
            let auth = await #expect(throws: RotoClientError.self) { try await bad.session("1234567890123456789") }
            #expect(auth?.code == .authenticationFailed)
            #expect(auth?.httpStatus == 401)
            #expect((auth?.requestID ?? "").count >= 32, "a request id: \(String(describing: auth?.requestID))")
            #expect(auth?.message.isEmpty == false)
            #expect(auth?.description.hasPrefix("error 1000: ") == true)

            let roto = RotoClient.test(url)
            // Unknown session → 1203 / 404.
            let unknown = await #expect(throws: RotoClientError.self) { try await roto.session("1234567890123456789") }
            #expect(unknown?.code == .notFound && unknown?.httpStatus == 404)
            #expect(unknown?.requestID?.isEmpty == false)
            let unknownClear = await #expect(throws: RotoClientError.self) {
                try await roto.clearSelection(sessionID: "1234567890123456789")
            }
            #expect(unknownClear?.code == .notFound)

            // Invalid parameter → 1201 / 400 naming the field.
            let missing = await #expect(throws: RotoClientError.self) { try await roto.initSelection(InitSelectionRequest()) }
            #expect(missing?.code == .invalidParameter && missing?.httpStatus == 400)
            let upload = try await roto.upload(file: URL(fileURLWithPath: try Clips.movingBox()))
            let session = try await roto.initSelection(videoURL: upload.url)
            let frame = await #expect(throws: RotoClientError.self) {
                try await roto.addSelection(sessionID: session.sessionID, frameIndex: 90, points: [WirePoint(x: 0.5, y: 0.5)])
            }
            #expect(frame?.code == .invalidParameter && frame?.httpStatus == 400)
            #expect(frame?.message.contains("frame_index") == true, "\(frame?.message ?? "")")
            let point = await #expect(throws: RotoClientError.self) {
                try await roto.addSelection(sessionID: session.sessionID, frameIndex: 0, points: [WirePoint(x: 1.5, y: 0.5)])
            }
            #expect(point?.code == .invalidParameter)
            let preview = await #expect(throws: RotoClientError.self) { try await roto.previewSelection(sessionID: session.sessionID) }
            #expect(preview?.code == .invalidParameter, "preview without points")

            // An upload that is not a video → a local error before any request.
            let text = URL(fileURLWithPath: temporaryDirectory()).appendingPathComponent("note.txt")
            try Data("hello".utf8).write(to: text)
            let local = await #expect(throws: RotoClientError.self) { try await roto.upload(file: text) }
            #expect(local?.code == .localFile && local?.httpStatus == nil)

            // A download of an unknown capability URL → the server's 1203 envelope.
            let gone = await #expect(throws: RotoClientError.self) {
                try await roto.fetch(url.absoluteString + "/v1/files/nonexistent")
            }
            #expect(gone?.code == .notFound && gone?.httpStatus == 404)
        }
    }

    /// Nobody listening: a transport error, still one RotoClientError (no HTTP status, no request id).
    @Test func transportError() async throws {
        let port = try await withLiveServer { url in url.port! }  // a port that was free and is closed again
        let roto = RotoClient.test(URL(string: "http://127.0.0.1:\(port)")!)
        let error = await #expect(throws: RotoClientError.self) { try await roto.session("1234567890123456789") }
        #expect(error?.code == .transportFailure)
        #expect(error?.httpStatus == nil && error?.requestID == nil)
        #expect(error?.underlying != nil)
    }

    /// A reply that is not a JSON envelope (a proxy's error page): `.invalidResponse` with the HTTP status.
    @Test func nonJSONReply() async throws {
        try await withStubServer({ router in
            router.get("v1/videos/multi-elements/sessions/:id") { _, _ -> Response in
                Response(status: .badGateway, headers: [.contentType: "text/html", .init("X-Request-Id")!: "proxy-123"],
                         body: .init(byteBuffer: ByteBuffer(string: "<html>502 Bad Gateway</html>")))
            }
            router.get("v1/videos/multi-elements/:id") { _, _ -> Response in
                // A success envelope whose data has the wrong shape.
                Response(status: .ok, headers: [.contentType: "application/json"],
                         body: .init(byteBuffer: ByteBuffer(string: #"{"code":0,"message":"SUCCEED","request_id":"r1","data":{"x":1}}"#)))
            }
        }) { url in
            let roto = RotoClient.test(url)
            let html = await #expect(throws: RotoClientError.self) { try await roto.session("1") }
            #expect(html?.code == .invalidResponse && html?.httpStatus == 502)
            #expect(html?.requestID == "proxy-123")
            #expect(html?.message.contains("502 Bad Gateway") == true)
            let shape = await #expect(throws: RotoClientError.self) { try await roto.task("1") }
            #expect(shape?.code == .invalidResponse && shape?.httpStatus == 200 && shape?.requestID == "r1")
        }
    }

    /// Kling JWTs signed by the SDK are accepted; expired, not-yet-valid and wrongly signed ones are refused.
    @Test func jwtSigning() async throws {
        try await withLiveServer { url in
            let roto = RotoClient(baseURL: url, credentials: .accessKey(Keys.accessKey, secretKey: Keys.secretKey))
            let upload = try await roto.upload(file: URL(fileURLWithPath: try Clips.movingBox()))
            let session = try await roto.initSelection(videoURL: upload.url)
            #expect(try await roto.session(session.sessionID).sessionID == session.sessionID)

            let signer = KlingTokenSigner(accessKey: Keys.accessKey, secretKey: Keys.secretKey)
            let expired = RotoClient.test(url, key: signer.token(now: Date().addingTimeInterval(-3600)))
            let e1 = await #expect(throws: RotoClientError.self) { try await expired.session(session.sessionID) }
            #expect(e1?.code == .tokenExpired && e1?.httpStatus == 401)
            let early = RotoClient.test(url, key: signer.token(now: Date().addingTimeInterval(600)))
            let e2 = await #expect(throws: RotoClientError.self) { try await early.session(session.sessionID) }
            #expect(e2?.code == .tokenNotYetValid)
            let wrong = RotoClient(baseURL: url, credentials: .accessKey(Keys.accessKey, secretKey: "wrong"))
            let e3 = await #expect(throws: RotoClientError.self) { try await wrong.session(session.sessionID) }
            #expect(e3?.code == .authenticationFailed)
        }
    }
}

/// The token itself, and its renewal.
@Suite struct TokenTests {
    @Test func tokenShape() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let token = KlingTokenSigner(accessKey: "AK", secretKey: "SK").token(now: now)
        let parts = token.split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        func decode(_ s: String) throws -> [String: JSONValue] {
            var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while b.count % 4 != 0 { b += "=" }
            let data = try #require(Data(base64Encoded: b))
            guard case .object(let o) = try JSONDecoder().decode(JSONValue.self, from: data) else { return [:] }
            return o
        }
        #expect(try decode(parts[0]) == ["alg": .string("HS256"), "typ": .string("JWT")])
        #expect(try decode(parts[1]) == ["iss": .string("AK"), "exp": .number(1_700_001_800), "nbf": .number(1_699_999_995)])
        #expect(!parts[2].contains("=") && !parts[2].contains("+") && !parts[2].contains("/"))
    }

    /// The client keeps its token while more than 5 minutes of it are left, then signs a new one.
    @Test func renewal() {
        let signer = KlingTokenSigner(accessKey: "AK", secretKey: "SK")
        let cache = TokenCache(signer: signer)
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        let first = cache.token(now: t0)
        #expect(first == signer.token(now: t0))
        #expect(cache.token(now: t0.addingTimeInterval(1400)) == first, "400 s left: kept")
        let renewed = cache.token(now: t0.addingTimeInterval(1501))
        #expect(renewed == signer.token(now: t0.addingTimeInterval(1501)), "299 s left: renewed")
        #expect(renewed != first)
        #expect(cache.token(now: t0.addingTimeInterval(1600)) == renewed)
    }
}
