import ArgumentParser
import Foundation
import RotoAPI
import RotoClient

/// Where the client commands connect and how they authenticate (shared by every client subcommand).
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Base URL of the server, without the API prefix. [env: ROTO_SERVER] (default: http://127.0.0.1:8080)",
                               valueName: "url"))
    var server: String?

    @Option(help: ArgumentHelp("API key, sent as 'Authorization: Bearer <key>'. [env: ROTO_KEY]", valueName: "key"))
    var key: String?

    @Option(name: .customLong("access-key"),
            help: ArgumentHelp("Kling access key; with --secret-key the client signs HS256 JWTs itself. [env: ROTO_ACCESS_KEY]",
                               valueName: "ak"))
    var accessKey: String?

    @Option(name: .customLong("secret-key"),
            help: ArgumentHelp("Kling secret key of --access-key. [env: ROTO_SECRET_KEY]", valueName: "sk"))
    var secretKey: String?

    @Option(help: ArgumentHelp("API path prefix: /v1 (Roto, Kling) or /kling/v1 (CometAPI). [env: ROTO_PREFIX] (default: /v1)",
                               valueName: "path"))
    var prefix: String?

    @Flag(help: "Print the reply's data object as JSON (for scripts) instead of a short summary.")
    var json = false

    /// The environment to read (`ROTO_*`); tests may replace it.
    var environment: [String: String] { ProcessInfo.processInfo.environment }

    private func env(_ name: String) -> String? {
        environment["ROTO_\(name)"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func validate() throws {
        _ = try resolved()
    }

    /// The server URL, path prefix and credentials from flags, then the environment, then defaults.
    func resolved() throws -> (url: URL, prefix: String, credentials: RotoClient.Credentials) {
        let server = self.server ?? env("SERVER") ?? "http://127.0.0.1:8080"
        guard let url = URL(string: server), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              url.host != nil else {
            throw ValidationError("--server must be an http(s) URL such as http://127.0.0.1:8080 (got '\(server)')")
        }
        let prefix = self.prefix ?? env("PREFIX") ?? "/v1"
        let credentials: RotoClient.Credentials
        let ak = accessKey ?? env("ACCESS_KEY"), sk = secretKey ?? env("SECRET_KEY")
        let pairError = ValidationError("--access-key and --secret-key go together (or ROTO_ACCESS_KEY and ROTO_SECRET_KEY)")
        if let key {
            guard !key.isEmpty else { throw ValidationError("--key must not be empty") }
            credentials = .apiKey(key)
        } else if accessKey != nil || secretKey != nil {
            guard let ak, let sk else { throw pairError }
            credentials = .accessKey(ak, secretKey: sk)
        } else if let key = env("KEY") {
            credentials = .apiKey(key)
        } else if let ak, let sk {
            credentials = .accessKey(ak, secretKey: sk)
        } else if ak != nil || sk != nil {
            throw pairError
        } else {
            throw ValidationError("no credentials: pass --key (or set ROTO_KEY), or --access-key and --secret-key "
                                  + "(or ROTO_ACCESS_KEY and ROTO_SECRET_KEY)")
        }
        return (url, prefix, credentials)
    }

    /// A client for these options.
    func client() throws -> RotoClient {
        let r = try resolved()
        return RotoClient(baseURL: r.url, pathPrefix: r.prefix, credentials: r.credentials)
    }
}

/// A point argument: `x,y` in normalised coordinates (0,0 top-left, 1,1 bottom-right).
struct PointArgument: ExpressibleByArgument, Sendable {
    var x: Double
    var y: Double

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let x = Double(parts[0].trimmingCharacters(in: .whitespaces)),
              let y = Double(parts[1].trimmingCharacters(in: .whitespaces)),
              x.isFinite, y.isFinite else { return nil }
        self.x = x
        self.y = y
    }

    static var defaultValueDescription: String { "x,y" }

    func wire(label: Int? = nil) -> WirePoint { WirePoint(x: x, y: y, label: label) }
}

/// Prints a value as JSON on stdout (sorted keys, pretty).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONCoding.encoder
    encoder.outputFormatting.insert(.prettyPrinted)
    Terminal.out(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Formats a frame rate without a needless `.0`.
func formatFPS(_ fps: Double) -> String {
    fps == fps.rounded() ? String(Int(fps)) : String(format: "%.3f", fps)
}

/// Formats Unix milliseconds as an ISO 8601 date.
func formatMillis(_ ms: Int64) -> String {
    let f = ISO8601DateFormatter()
    return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

/// Whether an argument names a local file rather than a URL.
func isURL(_ s: String) -> Bool {
    let lower = s.lowercased()
    return lower.hasPrefix("http://") || lower.hasPrefix("https://")
}

/// A session or task id argument: an empty one would address another route (the task list).
func identifier(_ text: String) throws -> String {
    guard !text.allSatisfy(\.isWhitespace) else { throw ValidationError("an id must not be empty") }
    return text
}

/// Downloads `url` into `directory/name` with a progress bar; returns the path.
func downloadFile(_ client: RotoClient, _ url: String, into directory: String, as name: String) async throws -> String {
    let destination = URL(fileURLWithPath: directory).appendingPathComponent(name)
    let bar = ProgressBar("downloading \(name)")
    defer { bar.finish() }
    try await client.download(url, to: destination, progress: { bar.update($0, $1) })
    return destination.path
}
