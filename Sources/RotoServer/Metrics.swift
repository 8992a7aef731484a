import Foundation
import HTTPTypes
import Hummingbird
import Prometheus
import RotoAPI
import RotoCore
import RotoStore

/// The server's metrics, served as Prometheus text by `GET /metrics` (spec §8). Each application owns
/// its registry (no process-wide metrics bootstrap), so servers that share a process (the tests) do not
/// mix their figures. Counters and histograms are recorded as things happen; the gauges of what the
/// server holds (sessions, tasks by status, pending callbacks) are read from the database at each scrape.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let taskBuckets: [Duration] = [5, 10, 20, 30, 60, 120, 300, 600, 1200].map { .seconds($0) }
    private let previewBuckets: [Duration] = [1, 2, 4, 6, 10, 20, 40, 80].map { .seconds($0) }
    private let requestBuckets: [Duration] = [5, 10, 25, 50, 100, 150, 300, 1000, 2500, 10_000, 60_000].map { .milliseconds($0) }

    /// `roto_<name>_<unit>` with its help line.
    private static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "roto", metricName: name, unitName: unit, helpText: help)
    }

    /// One HTTP request: the route pattern it matched (Hummingbird's `NotFound` for none), its method and final status.
    func request(route: String, method: HTTPRequest.Method, status: HTTPResponse.Status, duration: Duration) {
        registry.makeCounter(descriptor: Self.name("http_requests", "total", "HTTP requests by route, method and status"),
                             labels: [("route", route), ("method", method.rawValue), ("status", String(status.code))]).increment()
        registry.makeDurationHistogram(descriptor: Self.name("http_request_duration", "seconds",
                                                             "Time until an HTTP request's response is ready (a file's bytes stream after it)"),
                                       labels: [("route", route), ("method", method.rawValue)], buckets: requestBuckets)
            .record(duration)
    }

    /// An edit task's run ended (`succeed`, `failed`, or `interrupted` by a shutdown: it runs again).
    func task(editMode: String, mode: String, outcome: String, duration: Duration) {
        registry.makeCounter(descriptor: Self.name("task_runs", "total", "Edit task runs by edit mode, mode and outcome"),
                             labels: [("edit_mode", editMode), ("mode", mode), ("outcome", outcome)]).increment()
        registry.makeDurationHistogram(descriptor: Self.name("task_run_duration", "seconds", "Wall time of an edit task's run, claim to end"),
                                       labels: [("edit_mode", editMode), ("mode", mode)], buckets: taskBuckets).record(duration)
    }

    /// A preview served: made anew (with its wall time) or from the cache.
    func preview(cached: Bool, duration: Duration) {
        registry.makeCounter(descriptor: Self.name("previews", "total", "preview-selection calls answered, made anew or from the cache"),
                             labels: [("cached", cached ? "true" : "false")]).increment()
        if !cached {
            registry.makeDurationHistogram(descriptor: Self.name("preview_duration", "seconds",
                                                                 "Wall time of a preview made anew (tracking and rendering)"),
                                           buckets: previewBuckets).record(duration)
        }
    }

    /// A frame analysed for the click engine (superpixels, statistics and motion) because no recent
    /// analysis of it was cached: for a click, a preview's anchor, or ahead (a clip's first frame, with its
    /// proxy).
    func frameAnalysed() {
        registry.makeCounter(descriptor: Self.name("frame_analyses", "total",
                                                   "Frames analysed for the click engine (a cached analysis is not counted)")).increment()
    }

    /// A preview made ahead of its call: `started`, `rendered` (its files are ready), `used` by a
    /// preview-selection, `failed` (made again by that call) or `dropped` (stopped by a selection call, or
    /// of a selection that changed).
    func previewAhead(_ outcome: String) {
        registry.makeCounter(descriptor: Self.name("previews_ahead", "total", "Previews made ahead of their call, by outcome"),
                             labels: [("outcome", outcome)]).increment()
    }

    /// Where an edit task with a selection found its objects in every frame: `preview` (the tracking of
    /// the stored preview of the task's selection), `ahead` (of its preview made ahead, no
    /// preview-selection having asked for it) or `tracked` (tracked by the task).
    func taskTracking(_ source: String) {
        registry.makeCounter(descriptor: Self.name("task_tracking", "total", "Edit tasks' tracked selections, by where they came from"),
                             labels: [("source", source)]).increment()
    }

    /// One callback delivery attempt: `delivered`, `retry` (failed, tried again later) or `abandoned`.
    func callback(outcome: String) {
        registry.makeCounter(descriptor: Self.name("callback_attempts", "total", "Callback delivery attempts by outcome"),
                             labels: [("outcome", outcome)]).increment()
    }

    /// The text exposition, with the gauges refreshed from the database first.
    func exposition(_ database: AppDatabase) async throws -> [UInt8] {
        let counts = try await database.operationalCounts(now: UnixTime.nowMillis())
        registry.makeGauge(descriptor: Self.name("sessions", "", "Selection sessions that have not expired")).set(Double(counts.liveSessions))
        for status in [TaskStatus.submitted, .processing, .succeed, .failed] {
            registry.makeGauge(descriptor: Self.name("tasks", "", "Edit tasks by status"), labels: [("status", status.rawValue)])
                .set(Double(counts.tasksByStatus[status.rawValue] ?? 0))
        }
        registry.makeGauge(descriptor: Self.name("callbacks_pending", "", "Callback deliveries neither delivered nor given up"))
            .set(Double(counts.pendingDeliveries))
        return registry.emitToBuffer()
    }
}

/// Records every request in ``ServerMetrics``: the outermost middleware, so it sees the final status of
/// errors turned into envelopes too. The time runs until the response is ready (a file's bytes are
/// streamed after it).
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = RotoRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        metrics.request(route: context.endpointPath ?? "NotFound", method: request.method, status: response.status,
                        duration: ContinuousClock.now - start)
        return response
    }
}

/// `GET /metrics`: open, or behind `Authorization: Bearer <key>` when the operator set a metrics key.
struct MetricsRoute: Sendable {
    let metrics: ServerMetrics
    let database: AppDatabase
    /// Hex SHA-256 of the metrics key; nil: no key needed.
    let keyHash: String?

    func serve(_ request: Request, context: RotoRequestContext) async throws -> Response {
        if let keyHash {
            let token = try AuthMiddleware.bearerToken(request.headers[.authorization])
            guard AuthMiddleware.hash(token) == keyHash else {
                throw RotoError(.authenticationFailed, "wrong metrics key")
            }
        }
        let body = try await metrics.exposition(database)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
