import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RotoAPI
import RotoCore
import RotoStore

/// One API route: served under both `/v1` and `/kling/v1` (spec §1), behind authentication.
struct APIRoute: Sendable {
    var method: HTTPRequest.Method
    var path: String
    var handler: @Sendable (Request, RotoRequestContext) async throws -> Response
}

/// The API's endpoints (method and path under `/v1` and `/kling/v1`): one list that the router, the
/// route table and the OpenAPI document's test all read.
enum APIEndpoint: CaseIterable, Sendable {
    case initSelection, addSelection, deleteSelection, clearSelection, previewSelection, createTask, listTasks, task, taskNamedSessions, sessionState, upload

    var method: HTTPRequest.Method {
        switch self {
        case .initSelection, .addSelection, .deleteSelection, .clearSelection, .previewSelection, .createTask, .upload: .post
        case .listTasks, .task, .taskNamedSessions, .sessionState: .get
        }
    }

    var path: String {
        switch self {
        case .initSelection: "videos/multi-elements/init-selection"
        case .addSelection: "videos/multi-elements/add-selection"
        case .deleteSelection: "videos/multi-elements/delete-selection"
        case .clearSelection: "videos/multi-elements/clear-selection"
        case .previewSelection: "videos/multi-elements/preview-selection"
        case .createTask: "videos/multi-elements"
        case .listTasks: "videos/multi-elements"
        case .task: "videos/multi-elements/:task_id"
        case .taskNamedSessions: "videos/multi-elements/sessions"
        case .sessionState: "videos/multi-elements/sessions/:session_id"
        case .upload: "files"
        }
    }
}

/// The API's routes, as data: the router registers them and the route table learns their paths.
struct APIRoutes: Sendable {
    let database: AppDatabase
    let ingestor: Ingestor
    let selections: Selections
    let previews: Previews
    let tasks: Tasks
    let files: FileRoutes
    let urls: PublicURLs
    let limits: Limits

    var all: [APIRoute] {
        APIEndpoint.allCases.map { APIRoute(method: $0.method, path: $0.path, handler: handler($0)) }
    }

    private func handler(_ endpoint: APIEndpoint) -> @Sendable (Request, RotoRequestContext) async throws -> Response {
        switch endpoint {
        case .initSelection:
            return { request, context in
                let reader = try await Self.readJSON(request, limit: limits.maxJSONBody)
                let command = try Ingestor.Command(reader)
                let data = try await ingestor.createSession(command, account: try context.requireAccount())
                return try EnvelopeResponse.success(data, context: context)
            }
        case .addSelection:
            return { request, context in
                let command = try PointsCommand(try await Self.readJSON(request, limit: limits.maxJSONBody), limits: limits)
                let account = try context.requireAccount()
                let data = try await previews.changingSelection(command.sessionID, account: account) {
                    try await selections.edit(.add, command, account: account)
                }
                return try EnvelopeResponse.success(data, context: context)
            }
        case .deleteSelection:
            return { request, context in
                let command = try PointsCommand(try await Self.readJSON(request, limit: limits.maxJSONBody), limits: limits)
                let account = try context.requireAccount()
                let data = try await previews.changingSelection(command.sessionID, account: account) {
                    try await selections.edit(.delete, command, account: account)
                }
                return try EnvelopeResponse.success(data, context: context)
            }
        case .clearSelection:
            return { request, context in
                let reader = try await Self.readJSON(request, limit: limits.maxJSONBody)
                let id = try reader.requiredString("session_id")
                let account = try context.requireAccount()
                let data = try await previews.changingSelection(id, account: account) {
                    try await selections.clear(sessionID: id, account: account)
                }
                return try EnvelopeResponse.success(data, context: context)
            }
        case .previewSelection:
            return { request, context in
                let reader = try await Self.readJSON(request, limit: limits.maxJSONBody)
                let id = try reader.requiredString("session_id")
                let data = try await previews.preview(sessionID: id, account: try context.requireAccount())
                return try EnvelopeResponse.success(data, context: context)
            }
        case .createTask:
            return { request, context in
                let body = try await Self.readJSON(request, limit: limits.maxJSONBody,
                                                   hint: "give a larger image_list image as a URL, or upload it with POST /v1/files and give that URL")
                let command = try TaskCommand(body, limits: limits)
                let data = try await tasks.create(command, account: try context.requireAccount())
                return try EnvelopeResponse.success(data, context: context)
            }
        case .listTasks:
            return { request, context in
                let query = request.uri.queryParameters
                let page = try Self.queryInt(query["pageNum"].map(String.init), name: "pageNum", default: 1, range: 1...1000)
                let size = try Self.queryInt(query["pageSize"].map(String.init), name: "pageSize", default: 30, range: 1...500)
                let data = try await tasks.list(page: page, pageSize: size, account: try context.requireAccount())
                return try EnvelopeResponse.success(data, context: context)
            }
        case .task, .taskNamedSessions:
            // `.taskNamedSessions` exists only because the router matches `sessions` as the session-state
            // route's constant segment and would not fall back to the task query: an external_task_id
            // "sessions" is a task query like any other, so both take the id from the path's last segment.
            return { request, context in
                // The router hands the segment over as sent: an external_task_id with a space or a
                // non-ASCII character arrives percent-encoded.
                let raw = context.parameters.get("task_id") ?? request.uri.path.split(separator: "/").last.map(String.init) ?? ""
                let id = raw.removingPercentEncoding ?? raw
                // The action routes are POST-only: a GET on one is a wrong method, not an unknown task.
                if SelectionActions.names.contains(id) {
                    throw RotoError(.methodNotAllowed, "method GET is not allowed on \(request.uri.path)")
                }
                let data = try await tasks.get(id, account: try context.requireAccount())
                return try EnvelopeResponse.success(data, context: context)
            }
        case .sessionState:
            return { request, context in
                let id = context.parameters.get("session_id") ?? ""
                let account = try context.requireAccount()
                guard let s = try await database.session(id: id, accountID: account.id, now: UnixTime.nowMillis()) else {
                    throw RotoError.notFound("session \(id) does not exist or has expired")
                }
                return try EnvelopeResponse.success(Self.state(s, urls: urls), context: context)
            }
        case .upload:
            return { request, context in
                let data = try await files.upload(request, account: try context.requireAccount())
                return try EnvelopeResponse.success(data, context: context)
            }
        }
    }

    /// An integer query parameter within `range` (absent or empty: `defaultValue`); 1201 otherwise.
    static func queryInt(_ text: String?, name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text, !text.isEmpty else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw RotoError.invalid(name, "must be an integer from \(range.lowerBound) to \(range.upperBound)",
                                    got: "\"\(text.prefix(40))\"")
        }
        return value
    }

    /// Reads a JSON object body of at most `limit` bytes (1200 otherwise, with `hint` on what to do instead).
    static func readJSON(_ request: Request, limit: Int, hint: String? = nil) async throws -> FieldReader {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch {
            throw RotoError(.invalidBody, "request body must be at most \(limit) bytes" + (hint.map { "; \($0)" } ?? ""))
        }
        return try FieldReader(body: Array(buffer.readableBytesView))
    }

    static func state(_ s: SessionRecord, urls: PublicURLs) -> SessionStateData {
        let frames = s.selection.markedFrames.map { f in
            FramePoints(frameIndex: f, objects: s.selection.objects(onFrame: f).map { o in
                ObjectPoints(objectID: o.objectID, points: o.points.map { WirePoint(x: $0.x, y: $0.y, label: $0.include ? 1 : 0) })
            })
        }
        return SessionStateData(sessionID: s.id, fps: Double(s.fps), originalDuration: s.originalDurationMs,
                                width: s.width, height: s.height, totalFrame: s.totalFrames,
                                normalizedVideo: urls.file(s.videoToken), createdAt: s.createdAt,
                                expiresAt: s.expiresAt, frames: frames)
    }
}

extension RotoRequestContext {
    /// The authenticated account (API routes always have one).
    func requireAccount() throws -> AccountRecord {
        guard let account else { throw RotoError(.authorizationMissing, "Authorization header is missing") }
        return account
    }
}
