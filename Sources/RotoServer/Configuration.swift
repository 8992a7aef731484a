import Foundation
import Logging
import RotoCore

/// Every setting of the server, in one typed value built by the executable from flags and environment
/// (see docs/configuration.md for the table of keys and defaults).
public struct ServerConfiguration: Sendable {
    /// A Kling JWT credential: an access key and the secret that signs its tokens.
    public struct AccessKeyPair: Sendable, Equatable {
        public var accessKey: String
        public var secretKey: String
        public init(accessKey: String, secretKey: String) {
            self.accessKey = accessKey
            self.secretKey = secretKey
        }
    }

    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./.roto-data"
    /// Base of every URL the API returns; nil derives it from host and the bound port.
    public var publicURL: String?
    /// API keys given on the command line, each its own account.
    public var apiKeys: [String] = []
    /// Kling access-key pairs, each its own account.
    public var accessKeys: [AccessKeyPair] = []
    /// `whsec_…` secret for signing callbacks of the accounts given on the command line.
    public var webhookSecret: String?
    /// When set, `GET /metrics` needs `Authorization: Bearer <metricsKey>` (spec §8); nil: open.
    public var metricsKey: String?
    /// Lets downloads reach loopback and private addresses.
    public var allowPrivateNetworks = false
    /// Keep the database in memory (tests); files still go to `dataDirectory`.
    public var inMemoryDatabase = false
    /// Threads of each of two blocking pools (FFmpeg, the engine): interactive work (clicks, file reads,
    /// DNS) and long jobs (normalisation, proxies, previews); see ``ServerPools``.
    public var workerThreads = 2
    /// Connect / read timeouts and the overall budget of a download, in seconds.
    public var downloadConnectTimeout: Int64 = 10
    public var downloadReadTimeout: Int64 = 30
    /// Time budget of one init-selection (download + probe + normalise), in seconds; over it: 5002.
    public var ingestBudget: Int64 = 300
    /// libx264 preset used when a video must be re-encoded during normalisation.
    public var normalizePreset = "veryfast"
    /// How often the janitor sweeps expired sessions and files, in seconds.
    public var janitorInterval: Int64 = 60
    /// Seconds a session's selection must stay unchanged before its preview is made ahead of the
    /// preview-selection call (while no other long work runs; see ``Previews``); 0 turns it off.
    public var previewAheadDelay: Double = 1
    /// Edit tasks run at once (each on a thread of the tasks pool, which has this many).
    public var taskConcurrency = 1
    /// Delays between callback retries; after the last one a delivery is given up. The default makes
    /// 8 tries over about 40 minutes (spec §6.3: at least 5 over at least 10 minutes).
    public var callbackBackoff: [Duration] = [.seconds(10), .seconds(30), .seconds(60), .seconds(180),
                                              .seconds(360), .seconds(600), .seconds(1200)]
    public var limits = Limits()
    public var logLevel: Logger.Level = .info

    public init() {}

    /// The public base URL for a bound port (no trailing slash).
    func resolvedPublicURL(boundPort: Int) -> String {
        if let publicURL { return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL }
        let h = (host == "0.0.0.0" || host == "::") ? "127.0.0.1" : host
        let shown = h.contains(":") ? "[\(h)]" : h
        return "http://\(shown):\(boundPort)"
    }
}
