import Foundation
import Hummingbird
import Logging
import RotoAPI
import RotoCore
import RotoStore
import RotoVision
import ServiceLifecycle
import UnixSignals

/// The one seam that builds Roto's server: the executable (through ``runServer(_:logger:)``, which
/// also stops the work in flight at the signal) and the tests both call it.
public func buildApplication(_ configuration: ServerConfiguration, logger: Logger? = nil) async throws -> some ApplicationProtocol {
    try await buildApplication(configuration, logger: logger, pools: ServerPools(configuration))
}

/// Builds the server and runs it until SIGTERM or SIGINT, then shuts it down gracefully.
///
/// A service group shuts its services down in reverse order, one after the other, and the application's
/// own group ends with its HTTP server, which drains the requests in flight before anything after it
/// hears of the shutdown. So the readiness flag is flipped here, by a watcher outside the application
/// and after it in this group: first, at the signal. An init-selection in flight then stops at once with
/// 5001, and the server drains in seconds instead of waiting out a download or a normalisation.
public func runServer(_ configuration: ServerConfiguration, logger: Logger? = nil) async throws {
    var logger = logger ?? Logger(label: "roto")
    logger.logLevel = configuration.logLevel
    let readiness = Readiness()
    let app = try await buildApplication(configuration, logger: logger, pools: ServerPools(configuration), readiness: readiness)
    let group = ServiceGroup(configuration: .init(services: [app, ShutdownWatcher(readiness: readiness)],
                                                  gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
}

/// ``buildApplication(_:logger:)`` on the given blocking pools (tests hold the job and task threads with
/// work of their own to show that clicks, file downloads and previews never wait for them), with the
/// given readiness state (tests begin a shutdown through it).
func buildApplication(_ configuration: ServerConfiguration, logger: Logger? = nil,
                      pools: ServerPools, readiness: Readiness = Readiness()) async throws -> some ApplicationProtocol {
    let logger: Logger = {
        var l = logger ?? Logger(label: "roto")
        l.logLevel = configuration.logLevel
        return l
    }()
    let dataDir = configuration.dataDirectory
    try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o700])
    let lock = configuration.inMemoryDatabase ? nil : try DataDirectoryLock(directory: dataDir)
    let database = configuration.inMemoryDatabase
        ? try AppDatabase.inMemory()
        : try AppDatabase.open(path: (dataDir as NSString).appendingPathComponent("roto.sqlite"))
    let media = try MediaStore(dataDirectory: dataDir)
    try await Bootstrap.credentials(configuration, database: database, logger: logger)

    let ids = IDGenerator()
    let urls = PublicURLs(base: configuration.resolvedPublicURL(boundPort: configuration.port))
    let metrics = ServerMetrics()
    let limits = configuration.limits
    let downloader = Downloader(allowPrivateNetworks: configuration.allowPrivateNetworks,
                                connectTimeout: .seconds(configuration.downloadConnectTimeout),
                                readTimeout: .seconds(configuration.downloadReadTimeout), pool: pools.interactive)
    let engine = ClassicalSegmentationEngine()
    let proxies = ProxyQueue()
    let ingestor = Ingestor(database: database, media: media, downloader: downloader, pools: pools, ids: ids,
                            urls: urls, proxies: proxies, configuration: configuration, readiness: readiness,
                            logger: logger)
    let files = FileRoutes(database: database, media: media, urls: urls, limits: limits,
                           fileIO: FileIO(threadPool: pools.interactive.threads))
    let frames = FrameSource(media: media, engine: engine, metrics: metrics)
    var trackerConfiguration = MaskTracker.Configuration()
    trackerConfiguration.threads = configuration.workerThreads  // flows measured ahead on the worker threads
    let tracker = MaskTracker(configuration: trackerConfiguration)
    let locks = KeyedLock()  // one lock per session, shared by selection edits and previews
    let selections = Selections(database: database, frames: frames, pool: pools.interactive, locks: locks, limits: limits)
    let previews = Previews(database: database, media: media, frames: frames, tracker: tracker, pools: pools,
                            aheadDelay: configuration.previewAheadDelay,
                            readiness: readiness, locks: locks, urls: urls, metrics: metrics, logger: logger)
    let workerBell = Doorbell(), callbackBell = Doorbell()
    let tasks = Tasks(database: database, media: media, downloader: downloader, ids: ids, urls: urls, limits: limits,
                      worker: workerBell, callbacks: callbackBell, readiness: readiness)
    let api = APIRoutes(database: database, ingestor: ingestor, selections: selections, previews: previews,
                        tasks: tasks, files: files, urls: urls, limits: limits).all

    var table = RouteTable()
    for prefix in ["v1", "kling/v1"] {
        for route in api { table.add("/\(prefix)/\(route.path)") }
        table.add("/\(prefix)/files/:token")
    }
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.yaml"] { table.add(path) }

    let router = Router(context: RotoRequestContext.self)
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.add(middleware: EnvelopeMiddleware(routes: table, readiness: readiness))
    router.get("healthz") { _, context in
        try EnvelopeResponse.success(HealthData(status: "ok"), context: context)
    }
    router.get("readyz") { _, context in
        if readiness.isShuttingDown { throw RotoError.shuttingDown("not ready: shutting down") }
        var checks: [String: String] = [:]
        do { try await database.ping(); checks["database"] = "ok" } catch { checks["database"] = "unreachable" }
        checks["storage"] = media.isWritable() ? "ok" : "not writable"
        guard checks.values.allSatisfy({ $0 == "ok" }) else {
            throw RotoError(.unavailable, "not ready: " + checks.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        return try EnvelopeResponse.success(HealthData(status: "ready", checks: checks), context: context)
    }
    router.get("metrics", use: MetricsRoute(metrics: metrics, database: database,
                                            keyHash: configuration.metricsKey.map(AuthMiddleware.hash)).serve)
    router.get("openapi.yaml") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
    }
    let auth = AuthMiddleware(database: database, rateLimiter: RateLimiter(rate: limits.requestsPerSecond, burst: limits.requestBurst),
                              readiness: readiness)
    for prefix in ["v1", "kling/v1"] {
        router.get("\(prefix)/files/:token", use: files.serve)
        router.head("\(prefix)/files/:token", use: files.serve)
        let group = router.group(RouterPath(prefix)).add(middleware: auth)
        for route in api {
            // The router matches a trailing slash too (Kling clients sometimes add one).
            group.on(RouterPath(route.path), method: route.method, use: route.handler)
        }
    }

    let bound = configuration.publicURL == nil
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "roto"),
        services: [
            DataDirectoryLockService(lock: lock),
            BlockingPoolService(pool: pools.interactive),
            BlockingPoolService(pool: pools.jobs),
            BlockingPoolService(pool: pools.tasks),
            BlockingPoolService(pool: pools.ahead),
            Janitor(database: database, media: media, interval: .seconds(configuration.janitorInterval), logger: logger),
            IdleMemoryTrimmer(pools: pools, interval: .seconds(10)),
            ProxyBuilder(database: database, media: media, pool: pools.jobs, frames: frames, queue: proxies, logger: logger),
            TaskWorker(database: database, media: media, frames: frames, tracker: tracker, pool: pools.tasks, ids: ids, urls: urls,
                       limits: limits, doorbell: workerBell, callbacks: callbackBell, metrics: metrics, logger: logger,
                       aheadLabels: { await previews.aheadLabels(sessionID: $0, version: $1) },
                       concurrency: configuration.taskConcurrency),
            CallbackDispatcher(database: database, downloader: downloader, doorbell: callbackBell, metrics: metrics, logger: logger,
                               backoff: configuration.callbackBackoff),
            ShutdownWatcher(readiness: readiness),
        ],
        onServerRunning: { channel in
            if bound, let port = channel.localAddress?.port {
                urls.setBase(configuration.resolvedPublicURL(boundPort: port))
            }
            logger.notice("roto is serving", metadata: ["url": "\(urls.baseURL)"])
        },
        logger: logger
    )
}

/// Credentials at start-up: every key on the command line is its own account; with none at all, the
/// first start creates one account and key, prints it once and writes it to `<data-dir>/initial-api-key`.
enum Bootstrap {
    static func credentials(_ c: ServerConfiguration, database: AppDatabase, logger: Logger) async throws {
        let now = UnixTime.nowMillis()
        let ids = IDGenerator()
        for key in c.apiKeys {
            try await database.ensureAPIKeyAccount(keyHash: AuthMiddleware.hash(key), accountID: ids.next(),
                                                   name: "api key", webhookSecret: c.webhookSecret, now: now)
        }
        for pair in c.accessKeys {
            try await database.ensureAccessKeyAccount(accessKey: pair.accessKey, secretKey: pair.secretKey,
                                                      accountID: ids.next(), webhookSecret: c.webhookSecret, now: now)
        }
        guard c.apiKeys.isEmpty, c.accessKeys.isEmpty, try await !database.hasCredentials() else { return }
        let key = "roto_" + CapabilityToken.make()
        let path = (c.dataDirectory as NSString).appendingPathComponent("initial-api-key")
        guard FileManager.default.createFile(atPath: path, contents: Data((key + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw RotoError(.internalError, "cannot write \(path)")
        }
        try await database.ensureAPIKeyAccount(keyHash: AuthMiddleware.hash(key), accountID: ids.next(),
                                               name: "initial", webhookSecret: c.webhookSecret, now: now)
        print("roto: created the first account. Its API key (shown once, also in \(path)):\n\(key)")
    }
}
