import ArgumentParser
import Foundation
import Hummingbird
import Logging
import RotoServer

/// `roto serve`: runs the HTTP server until SIGINT/SIGTERM (graceful shutdown).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Roto HTTP server.",
        discussion: """
        Every option can also be set with an environment variable ROTO_<NAME> (for example ROTO_PORT=9000, \
        ROTO_API_KEY=k1,k2, ROTO_ACCESS_KEY=ak1,ak2 with ROTO_SECRET_KEY=sk1,sk2). Flags win over the environment.
        With no key configured at all, the first start creates one account and API key, prints the key once and \
        writes it to <data-dir>/initial-api-key.
        """
    )

    @Option(help: "Address to listen on. [env: ROTO_HOST] (default: 127.0.0.1)")
    var host: String?

    @Option(help: "Port to listen on. [env: ROTO_PORT] (default: 8080)")
    var port: Int?

    @Option(help: "Directory for the SQLite database and media files. [env: ROTO_DATA_DIR] (default: ./.roto-data)")
    var dataDir: String?

    @Option(help: "Base of every URL the API returns. [env: ROTO_PUBLIC_URL] (default: http://<host>:<port>)")
    var publicURL: String?

    @Option(name: .customLong("api-key"), help: "An API key; repeat for more, each its own account. [env: ROTO_API_KEY, comma-separated]")
    var apiKeys: [String] = []

    @Option(name: .customLong("access-key"), help: "A Kling access key (pair with --secret-key); repeatable. [env: ROTO_ACCESS_KEY]")
    var accessKeys: [String] = []

    @Option(name: .customLong("secret-key"), help: "The secret key of the access key at the same position. [env: ROTO_SECRET_KEY]")
    var secretKeys: [String] = []

    @Option(help: "whsec_… secret that signs callbacks of the accounts given here. [env: ROTO_WEBHOOK_SECRET]")
    var webhookSecret: String?

    @Option(help: "Key that GET /metrics then asks for (Authorization: Bearer <key>); without it /metrics is open. [env: ROTO_METRICS_KEY]")
    var metricsKey: String?

    @Flag(help: "Let downloads reach loopback and private addresses. [env: ROTO_ALLOW_PRIVATE_NETWORKS=1]")
    var allowPrivateNetworks = false

    @Option(help: "Threads of each of two blocking pools (interactive work; previews and other long jobs) for FFmpeg and the vision engine. [env: ROTO_WORKER_THREADS] (default: 2)")
    var workerThreads: Int?

    @Option(help: "Edit tasks run at once. [env: ROTO_TASK_CONCURRENCY] (default: 1)")
    var taskConcurrency: Int?

    @Option(help: "Seconds a session's selection must stay unchanged before its preview is made ahead of the preview-selection call, on idle cores; 0 turns it off. [env: ROTO_PREVIEW_AHEAD] (default: 1)")
    var previewAhead: Double?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. [env: ROTO_LOG_LEVEL] (default: info)")
    var logLevel: String?

    func validate() throws {
        let env = Environment()
        let aks = accessKeys.isEmpty ? env.list("ACCESS_KEY") : accessKeys
        let sks = secretKeys.isEmpty ? env.list("SECRET_KEY") : secretKeys
        guard aks.count == sks.count else {
            throw ValidationError("--access-key and --secret-key must come in pairs (got \(aks.count) and \(sks.count))")
        }
        if let secret = webhookSecret ?? env["WEBHOOK_SECRET"], WebhookSecret.signingKey(secret) == nil {
            throw ValidationError("--webhook-secret must be whsec_ followed by base64 (Standard Webhooks)")
        }
        if let n = taskConcurrency ?? env["TASK_CONCURRENCY"].flatMap(Int.init), n < 1 {
            throw ValidationError("--task-concurrency must be at least 1 (got \(n))")
        }
        if let text = env["PREVIEW_AHEAD"], previewAhead == nil, Double(text) == nil {
            throw ValidationError("ROTO_PREVIEW_AHEAD must be a number of seconds (got \"\(text)\")")
        }
        if let d = previewAhead ?? env["PREVIEW_AHEAD"].flatMap(Double.init), !(d >= 0 && d <= 3600) {
            throw ValidationError("--preview-ahead must be 0–3600 seconds (got \(d))")
        }
        if let level = logLevel ?? env["LOG_LEVEL"], Logger.Level(rawValue: level) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        // Numbers from the environment are checked as strictly as flags: a typo must not fall back to a
        // default silently.
        for (name, flag) in [("PORT", port), ("WORKER_THREADS", workerThreads), ("TASK_CONCURRENCY", taskConcurrency)]
        where flag == nil {
            if let text = env[name], Int(text) == nil {
                throw ValidationError("ROTO_\(name) must be an integer (got \"\(text)\")")
            }
        }
        if let p = port ?? env["PORT"].flatMap(Int.init), !(0...65535).contains(p) {
            throw ValidationError("--port must be 0–65535 (got \(p))")
        }
        if let url = publicURL ?? env["PUBLIC_URL"] {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                  !(parsed.host ?? "").isEmpty else {
                throw ValidationError("--public-url must be an absolute http(s) URL such as https://roto.example.com (got \"\(url)\")")
            }
        }
    }

    /// The configuration from flags, then environment, then defaults.
    func makeConfiguration(environment env: Environment = Environment()) throws -> ServerConfiguration {
        var c = ServerConfiguration()
        c.host = host ?? env["HOST"] ?? c.host
        if let p = port ?? env["PORT"].flatMap(Int.init) { c.port = p }
        c.dataDirectory = dataDir ?? env["DATA_DIR"] ?? c.dataDirectory
        c.publicURL = publicURL ?? env["PUBLIC_URL"]
        c.apiKeys = apiKeys.isEmpty ? env.list("API_KEY") : apiKeys
        let aks = accessKeys.isEmpty ? env.list("ACCESS_KEY") : accessKeys
        let sks = secretKeys.isEmpty ? env.list("SECRET_KEY") : secretKeys
        c.accessKeys = zip(aks, sks).map { ServerConfiguration.AccessKeyPair(accessKey: $0, secretKey: $1) }
        c.webhookSecret = webhookSecret ?? env["WEBHOOK_SECRET"]
        c.metricsKey = metricsKey ?? env["METRICS_KEY"]
        c.allowPrivateNetworks = allowPrivateNetworks || ["1", "true", "yes"].contains(env["ALLOW_PRIVATE_NETWORKS"]?.lowercased() ?? "")
        if let t = workerThreads ?? env["WORKER_THREADS"].flatMap(Int.init) { c.workerThreads = max(1, t) }
        if let n = taskConcurrency ?? env["TASK_CONCURRENCY"].flatMap(Int.init) { c.taskConcurrency = max(1, n) }
        if let d = previewAhead ?? env["PREVIEW_AHEAD"].flatMap(Double.init) { c.previewAheadDelay = d }
        if let level = (logLevel ?? env["LOG_LEVEL"]).flatMap(Logger.Level.init(rawValue:)) { c.logLevel = level }
        return c
    }

    func run() async throws {
        let configuration = try makeConfiguration()
        Memory.tuneAllocatorForServing(environment: ProcessInfo.processInfo.environment)
        try await runServer(configuration)
    }
}

/// `roto openapi`: prints the API's OpenAPI 3.1 document (what `GET /openapi.yaml` serves).
struct OpenAPI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi",
        abstract: "Print the API's OpenAPI 3.1 document (YAML), as GET /openapi.yaml serves it."
    )

    func run() {
        print(OpenAPIDocument.yaml, terminator: "")
    }
}

/// `ROTO_<NAME>` environment variables.
struct Environment {
    var values: [String: String] = ProcessInfo.processInfo.environment

    subscript(name: String) -> String? {
        values["ROTO_\(name)"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func list(_ name: String) -> [String] {
        (self[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
