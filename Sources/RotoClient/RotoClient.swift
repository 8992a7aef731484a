import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RotoAPI

/// A client for Roto's HTTP API, which is Kling's multi-elements video-selection and editing API plus
/// a few additive extensions (spec `API.md`).
///
/// The same client works against a Roto server, Kling's hosted API and the CometAPI gateway: only the
/// base URL, the path prefix and the credentials change.
///
/// ```swift
/// let roto = RotoClient(baseURL: URL(string: "http://127.0.0.1:8080")!, credentials: .apiKey("my-key"))
/// let session = try await roto.initSelection(uploading: URL(fileURLWithPath: "clip.mp4"))
/// _ = try await roto.addSelection(sessionID: session.sessionID, frameIndex: 0, points: [.init(x: 0.5, y: 0.5)])
/// let preview = try await roto.previewSelection(sessionID: session.sessionID)
/// let task = try await roto.createTask(.init(sessionID: session.sessionID, editMode: .removal, prompt: "remove it"))
/// let done = try await roto.waitForTask(task.taskID)
/// ```
///
/// The client is a value: copy it freely and share it between tasks. It sends requests through an
/// `HTTPClient` — by default `RotoClient.sharedHTTPClient`, a process-wide client that lives as long as the
/// process and needs (and must get) no shutdown. If you pass your own, you own it: shut it down
/// (`try await httpClient.shutdown()`) after the last call of every copy of the client.
public struct RotoClient: Sendable {
    /// How the client proves who it is.
    public struct Credentials: Sendable {
        enum Storage: Sendable {
            case apiKey(String)
            case jwt(TokenCache)
        }

        let storage: Storage

        /// An API key, sent as `Authorization: Bearer <key>` (also how a pre-signed token is sent as is).
        public static func apiKey(_ key: String) -> Credentials {
            Credentials(storage: .apiKey(key))
        }

        /// A Kling access key and secret key: the client signs an HS256 JWT itself (valid 30 minutes) and
        /// signs a new one five minutes before the current one expires.
        public static func accessKey(_ accessKey: String, secretKey: String) -> Credentials {
            Credentials(storage: .jwt(TokenCache(signer: KlingTokenSigner(accessKey: accessKey, secretKey: secretKey))))
        }

        /// The `Authorization` header value to send now.
        func authorization() -> String {
            switch storage {
            case .apiKey(let key): "Bearer \(key)"
            case .jwt(let cache): "Bearer \(cache.token())"
            }
        }
    }

    /// The server's base URL without the API prefix, e.g. `http://127.0.0.1:8080`,
    /// `https://api.klingai.com` or `https://api.cometapi.com`.
    public let baseURL: URL
    /// The path prefix of every API route: `/v1` (Roto, Kling) or `/kling/v1` (Roto, CometAPI).
    public let pathPrefix: String
    /// The credentials sent with every API call (never with downloads of capability URLs).
    public let credentials: Credentials
    /// The time budget of one call (preview-selection answers synchronously and may take minutes).
    public let timeout: Duration
    /// The HTTP client requests go through.
    public let httpClient: HTTPClient

    /// Creates a client.
    /// - Parameters:
    ///   - baseURL: the server, without the API prefix (a trailing `/` is ignored).
    ///   - pathPrefix: `/v1` by default; `/kling/v1` for CometAPI; `""` when `baseURL` already ends with it.
    ///   - credentials: `.apiKey(_:)` or `.accessKey(_:secretKey:)`.
    ///   - timeout: the time budget of one call (default 10 minutes).
    ///   - httpClient: the HTTP client to use; `RotoClient.sharedHTTPClient` by default (see the type's notes
    ///     on shutdown).
    public init(baseURL: URL, pathPrefix: String = "/v1", credentials: Credentials, timeout: Duration = .seconds(600),
                httpClient: HTTPClient = RotoClient.sharedHTTPClient) {
        self.baseURL = baseURL
        var prefix = pathPrefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !prefix.isEmpty { prefix = "/" + prefix }
        self.pathPrefix = prefix
        self.credentials = credentials
        self.timeout = timeout
        self.httpClient = httpClient
    }

    /// Reports the bytes moved so far and the total when it is known.
    public typealias ProgressHandler = @Sendable (_ completed: Int64, _ total: Int64?) -> Void

    // MARK: - Selection (spec §2–5)

    /// `init-selection` with a public http(s) URL (or a URL returned by `upload`): the server downloads,
    /// checks and normalises the video and opens a 24-hour selection session.
    public func initSelection(videoURL: String) async throws(RotoClientError) -> InitSelectionData {
        try await initSelection(InitSelectionRequest(videoURL: videoURL))
    }

    /// `init-selection` with the id of a task's result video (`task_id` optional; when given it must be
    /// the task that produced the video).
    public func initSelection(videoID: String, taskID: String? = nil) async throws(RotoClientError) -> InitSelectionData {
        try await initSelection(InitSelectionRequest(videoID: videoID, taskID: taskID))
    }

    /// `init-selection` with a request built by hand.
    public func initSelection(_ request: InitSelectionRequest) async throws(RotoClientError) -> InitSelectionData {
        try await post("videos/multi-elements/init-selection", request)
    }

    /// Uploads a local video (through the upload extension) and opens a selection session on it.
    public func initSelection(uploading file: URL, progress: ProgressHandler? = nil) async throws(RotoClientError) -> InitSelectionData {
        let upload = try await self.upload(file: file, progress: progress)
        return try await initSelection(videoURL: upload.url)
    }

    /// `add-selection`: adds click points on a frame and returns the masks of every object on that frame.
    /// - Parameters:
    ///   - points: 1–10 points in normalised display coordinates; `label: 0` marks an exclude point (extension).
    ///   - objectID: which object the points belong to (extension; the server's default is 0).
    public func addSelection(sessionID: String, frameIndex: Int, points: [WirePoint],
                             objectID: Int? = nil) async throws(RotoClientError) -> SelectionData {
        try await post("videos/multi-elements/add-selection",
                       SelectionPointsRequest(sessionID: sessionID, frameIndex: frameIndex, points: points, objectID: objectID))
    }

    /// `delete-selection`: removes points (each must match a point on that frame) and returns the masks
    /// that remain on the frame.
    public func deleteSelection(sessionID: String, frameIndex: Int, points: [WirePoint],
                                objectID: Int? = nil) async throws(RotoClientError) -> SelectionData {
        try await post("videos/multi-elements/delete-selection",
                       SelectionPointsRequest(sessionID: sessionID, frameIndex: frameIndex, points: points, objectID: objectID))
    }

    /// `clear-selection`: removes every point of every frame and object.
    public func clearSelection(sessionID: String) async throws(RotoClientError) -> SessionStatusData {
        try await post("videos/multi-elements/clear-selection", SessionRequest(sessionID: sessionID))
    }

    /// `preview-selection`: tracks every object through the clip and returns the URLs of the overlay video,
    /// its cover and the per-frame masks (`tracking_output`). Synchronous on the server: may take minutes.
    public func previewSelection(sessionID: String) async throws(RotoClientError) -> PreviewData {
        try await post("videos/multi-elements/preview-selection", SessionRequest(sessionID: sessionID))
    }

    /// Downloads and decodes a preview's `tracking_output` JSON (one entry per frame, in order).
    public func trackingOutput(_ preview: PreviewData) async throws(RotoClientError) -> TrackingOutput {
        try await fetchJSON(preview.res.trackingOutput, as: TrackingOutput.self)
    }

    /// The session-state extension (§9.2): video facts, the points per frame and object, and the expiry.
    public func session(_ sessionID: String) async throws(RotoClientError) -> SessionStateData {
        try await get("videos/multi-elements/sessions/\(Self.segment(sessionID))")
    }

    // MARK: - Upload (§9.1)

    /// Uploads a local video or image through the upload extension; the returned URL is accepted as
    /// `video_url` or `image_list[].image` by the same account. The content type is taken from the file's
    /// first bytes (MP4, QuickTime, JPEG, PNG) unless given.
    public func upload(file: URL, contentType: String? = nil, progress: ProgressHandler? = nil) async throws(RotoClientError) -> UploadData {
        let path = file.path
        let size: Int64
        let head: [UInt8]
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            head = Array(try handle.read(upToCount: 16) ?? Data())
        } catch {
            throw RotoClientError(code: .localFile, message: "cannot read \(path): \(error.localizedDescription)", underlying: error)
        }
        guard let type = contentType ?? MediaType.sniff(head) else {
            throw RotoClientError(code: .localFile, message: "\(path) is not an MP4, QuickTime, JPEG or PNG file")
        }
        let body = HTTPClientRequest.Body.stream(FileChunks(path: path, total: size, progress: progress), length: .known(size))
        return try await send(.POST, "files", body: body, contentType: type)
    }

    /// Uploads bytes held in memory (`contentType` is `video/mp4`, `video/quicktime`, `image/jpeg` or `image/png`).
    public func upload(bytes: [UInt8], contentType: String) async throws(RotoClientError) -> UploadData {
        try await send(.POST, "files", body: .bytes(bytes), contentType: contentType)
    }

    // MARK: - Edit tasks (§6)

    /// Creates an edit task (`POST .../videos/multi-elements`); the task snapshots the session's selection.
    public func createTask(_ request: CreateTaskRequest) async throws(RotoClientError) -> TaskCreatedData {
        try await post("videos/multi-elements", request)
    }

    /// One task, by `task_id` or by the account's `external_task_id`.
    public func task(_ id: String) async throws(RotoClientError) -> TaskData {
        try await get("videos/multi-elements/\(Self.segment(id))")
    }

    /// The account's tasks, newest first (`pageNum` 1–1000, `pageSize` 1–500).
    public func tasks(pageNum: Int = 1, pageSize: Int = 30) async throws(RotoClientError) -> [TaskData] {
        try await get("videos/multi-elements?pageNum=\(pageNum)&pageSize=\(pageSize)")
    }

    /// Polls a task until it is `succeed` or `failed` and returns it in that state (a failed task is
    /// returned, not thrown: read `taskStatusMsg`).
    ///
    /// Honours cancellation: cancelling the calling task stops the polling at once with
    /// `CancellationError`. Rate-limit (1302), unavailable (5001) and transport errors are retried up to
    /// five times in a row, after the reply's `Retry-After` when it is longer than `pollInterval`; any
    /// other error is thrown.
    /// - Parameters:
    ///   - id: a `task_id` or `external_task_id`.
    ///   - pollInterval: the pause between two queries.
    ///   - timeout: give up after this long with a `.waitTimedOut` error (nil waits for ever).
    ///   - onUpdate: called with every snapshot read, e.g. to show progress.
    public func waitForTask(_ id: String, pollInterval: Duration = .seconds(2), timeout: Duration? = nil,
                            onUpdate: (@Sendable (TaskData) -> Void)? = nil) async throws -> TaskData {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now.advanced(by: $0) }
        var failures = 0
        var last: TaskData?
        while true {
            try Task.checkCancellation()
            var pause = pollInterval
            do {
                let task = try await self.task(id)
                failures = 0
                last = task
                onUpdate?(task)
                if task.taskStatus.isFinal { return task }
            } catch {
                try Task.checkCancellation()
                let retryable = [.rateLimited, .unavailable, .transportFailure].contains(error.code)
                failures += 1
                if !retryable || failures > 5 { throw error }
                // The server's Retry-After (a rate limit, a restart) is the least pause before the next try.
                if let seconds = error.retryAfterSeconds { pause = max(pause, .seconds(seconds)) }
            }
            // The last query is at the deadline itself: a timeout never gives up before it.
            if let deadline {
                let left = clock.now.duration(to: deadline)
                if left <= .zero {
                    throw RotoClientError(code: .waitTimedOut,
                                          message: "task \(id) is still \(last?.taskStatus.rawValue ?? "unknown") after \(timeout.map { "\($0)" } ?? "")")
                }
                pause = min(pause, left)
            }
            try await Task.sleep(for: pause)
        }
    }

    // MARK: - Files

    /// Downloads a file URL (a capability URL the API returned: preview video, cover, task result) to
    /// `destination`, replacing it atomically when complete. No credentials are sent. Returns the size.
    @discardableResult
    public func download(_ url: String, to destination: URL, progress: ProgressHandler? = nil) async throws(RotoClientError) -> Int64 {
        let response = try await execute(HTTPClientRequest(url: url), what: url)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw await Self.errorFromReply(response)
        }
        let total = response.headers.first(name: "content-length").flatMap(Int64.init)
        let directory = destination.deletingLastPathComponent()
        let partial = directory.appendingPathComponent(".\(destination.lastPathComponent).part-\(UUID().uuidString)")
        var written: Int64 = 0
        /// A failure on this machine's side (the directory, the file): `.localFile`, not a transport error.
        func local<T>(_ body: () throws -> T) throws(RotoClientError) -> T {
            do { return try RotoClientError.writing(destination.path, body) } catch {
                try? FileManager.default.removeItem(at: partial)
                throw error
            }
        }
        do {
            let handle = try local { () throws -> FileHandle in
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    throw CocoaError(.fileWriteFileExists, userInfo: [NSLocalizedDescriptionKey: "\(directory.path) is a file, not a directory"])
                }
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
                    throw CocoaError(.fileWriteNoPermission)
                }
                return try FileHandle(forWritingTo: partial)
            }
            defer { try? handle.close() }
            progress?(0, total)
            for try await chunk in response.body {
                try local { try handle.write(contentsOf: Data(chunk.readableBytesView)) }
                written += Int64(chunk.readableBytes)
                progress?(written, total)
            }
            try local {
                try? FileManager.default.removeItem(at: destination)
                try FileManager.default.moveItem(at: partial, to: destination)
            }
        } catch let error as RotoClientError {
            try? FileManager.default.removeItem(at: partial)
            throw error
        } catch is CancellationError {
            try? FileManager.default.removeItem(at: partial)
            throw RotoClientError(code: .transportFailure, message: "download of \(url) was cancelled")
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw RotoClientError(code: .transportFailure, message: "download of \(url) failed: \(error)", underlying: error)
        }
        return written
    }

    /// The bytes of a file URL (no credentials are sent), at most `limit` bytes.
    public func fetch(_ url: String, limit: Int = 512 << 20) async throws(RotoClientError) -> [UInt8] {
        let response = try await execute(HTTPClientRequest(url: url), what: url)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw await Self.errorFromReply(response)
        }
        do {
            return Array(buffer: try await response.body.collect(upTo: limit))
        } catch {
            throw RotoClientError(code: .transportFailure, httpStatus: Int(response.status.code),
                                  message: "reading \(url) failed: \(error)", underlying: error)
        }
    }

    func fetchJSON<T: Decodable>(_ url: String, as type: T.Type) async throws(RotoClientError) -> T {
        let bytes = try await fetch(url)
        do {
            return try JSONCoding.decoder.decode(T.self, from: Data(bytes))
        } catch {
            throw RotoClientError(code: .invalidResponse, httpStatus: 200,
                                  message: "\(url) is not the expected JSON: \(error)", underlying: error)
        }
    }

    // MARK: - Transport

    /// The absolute URL of an API route (`route` without a leading slash, may carry a query).
    public func url(for route: String) -> String {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return base + pathPrefix + "/" + route
    }

    func post<Body: Encodable, Payload: Codable & Sendable>(_ route: String, _ body: Body) async throws(RotoClientError) -> Payload {
        let bytes: Data
        do {
            bytes = try JSONCoding.encoder.encode(body)
        } catch {
            throw RotoClientError(code: .invalidResponse, message: "cannot encode the request: \(error)", underlying: error)
        }
        return try await send(.POST, route, body: .bytes(Array(bytes)), contentType: "application/json")
    }

    func get<Payload: Codable & Sendable>(_ route: String) async throws(RotoClientError) -> Payload {
        try await send(.GET, route, body: nil, contentType: nil)
    }

    func send<Payload: Codable & Sendable>(_ method: HTTPMethod, _ route: String, body: HTTPClientRequest.Body?,
                                           contentType: String?) async throws(RotoClientError) -> Payload {
        var request = HTTPClientRequest(url: url(for: route))
        request.method = method
        request.headers.add(name: "Authorization", value: credentials.authorization())
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "roto-swift-sdk/\(Self.version)")
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        request.body = body
        let response = try await execute(request, what: "\(method) \(route)")
        let requestID = response.headers.first(name: "x-request-id")
        let status = Int(response.status.code)
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: 256 << 20)
        } catch {
            throw RotoClientError(code: .transportFailure, httpStatus: status,
                                  message: "reading the reply to \(method) \(route) failed: \(error)",
                                  requestID: requestID, underlying: error)
        }
        return try Self.decodeEnvelope(Data(buffer.readableBytesView), status: status, requestID: requestID,
                                       retryAfter: Self.retryAfter(response.headers))
    }

    /// Runs a request, mapping transport failures to `RotoClientError` (cancellation stays `CancellationError`
    /// for callers that check `Task.isCancelled`; here it is reported as a transport failure).
    func execute(_ request: HTTPClientRequest, what: String) async throws(RotoClientError) -> HTTPClientResponse {
        do {
            return try await httpClient.execute(request, timeout: TimeAmount.nanoseconds(Self.nanoseconds(timeout)))
        } catch {
            let cancelled = Task.isCancelled
            throw RotoClientError(code: .transportFailure,
                                  message: cancelled ? "\(what) was cancelled" : "\(what) failed: \(error)",
                                  underlying: cancelled ? CancellationError() : error)
        }
    }

    /// A lenient view of any envelope: enough to tell success from error without knowing `data`'s type.
    struct EnvelopeHead: Decodable {
        var code: Int
        var message: String?
        var requestID: String?
        enum CodingKeys: String, CodingKey {
            case code, message
            case requestID = "request_id"
        }

        /// The server's refusal this envelope carries (its code is not 0).
        func error(status: Int, requestID header: String?, retryAfter: Int?) -> RotoClientError {
            RotoClientError(code: RotoError.Code(code), httpStatus: status, message: message ?? "",
                            requestID: requestID ?? header, retryAfterSeconds: retryAfter)
        }
    }

    /// The `Retry-After` header in whole seconds (the server sends it with 1302 and while shutting down).
    static func retryAfter(_ headers: HTTPHeaders) -> Int? {
        headers.first(name: "retry-after").flatMap { Int($0) }
    }

    static func decodeEnvelope<Payload: Codable & Sendable>(_ body: Data, status: Int, requestID header: String?,
                                                            retryAfter: Int? = nil) throws(RotoClientError) -> Payload {
        guard let head = try? JSONCoding.decoder.decode(EnvelopeHead.self, from: body) else {
            throw nonEnvelope(body, status: status, requestID: header)
        }
        guard head.code == 0 else { throw head.error(status: status, requestID: header, retryAfter: retryAfter) }
        let requestID = head.requestID ?? header
        do {
            let envelope = try JSONCoding.decoder.decode(Envelope<Payload>.self, from: body)
            guard let data = envelope.data else {
                throw DecodingError.valueNotFound(Payload.self, .init(codingPath: [], debugDescription: "data is null"))
            }
            return data
        } catch {
            throw RotoClientError(code: .invalidResponse, httpStatus: status,
                                  message: "the reply's data is not a \(Payload.self): \(error)",
                                  requestID: requestID, underlying: error)
        }
    }

    static func nonEnvelope(_ body: Data, status: Int, requestID: String?) -> RotoClientError {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
        return RotoClientError(code: .invalidResponse, httpStatus: status,
                               message: "HTTP \(status) with a reply that is not a JSON envelope"
                                   + (text.isEmpty ? "" : ": \(text)"),
                               requestID: requestID)
    }

    /// The error for a non-2xx reply to a file download (an envelope when the server sent one).
    static func errorFromReply(_ response: HTTPClientResponse) async -> RotoClientError {
        let status = Int(response.status.code)
        let requestID = response.headers.first(name: "x-request-id")
        let body = (try? await response.body.collect(upTo: 1 << 20)).map { Data($0.readableBytesView) } ?? Data()
        if let head = try? JSONCoding.decoder.decode(EnvelopeHead.self, from: body), head.code != 0 {
            return head.error(status: status, requestID: requestID, retryAfter: retryAfter(response.headers))
        }
        return nonEnvelope(body, status: status, requestID: requestID)
    }

    /// Percent-encodes one path segment.
    static func segment(_ s: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let (seconds, attoseconds) = d.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The process-wide HTTP client used by default: AsyncHTTPClient's singleton configuration, except that a
    /// refused or timed-out connection (10 s) fails the call at once instead of being retried until the
    /// call's deadline, and that there is no read timeout (preview-selection is silent for minutes; the
    /// call's `timeout` bounds it). Never shut it down.
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.timeout.connect = .seconds(10)
        configuration.timeout.read = nil
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The SDK's version, sent in `User-Agent`.
    public static let version = "0.1.0"
}

/// Recognises the upload kinds by their first bytes.
enum MediaType {
    static func sniff(_ head: [UInt8]) -> String? {
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        guard head.count >= 12 else { return nil }
        let atom = String(decoding: head[4..<8], as: UTF8.self)
        if atom == "ftyp" {
            return String(decoding: head[8..<12], as: UTF8.self) == "qt  " ? "video/quicktime" : "video/mp4"
        }
        return ["moov", "mdat", "wide", "free", "skip"].contains(atom) ? "video/quicktime" : nil
    }
}

/// A file read in chunks as an upload body, reporting progress as the HTTP client consumes it.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let total: Int64
    let progress: RotoClient.ProgressHandler?
    var chunkSize = 256 << 10

    struct AsyncIterator: AsyncIteratorProtocol {
        let owner: FileChunks
        var handle: FileHandle?
        var sent: Int64 = 0
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            if handle == nil {
                handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: owner.path))
                owner.progress?(0, owner.total)
            }
            guard let data = try handle?.read(upToCount: owner.chunkSize), !data.isEmpty else {
                finished = true
                try? handle?.close()
                handle = nil
                return nil
            }
            var buffer = ByteBufferAllocator().buffer(capacity: data.count)
            buffer.writeBytes(data)
            sent += Int64(data.count)
            owner.progress?(sent, owner.total)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(owner: self) }
}
