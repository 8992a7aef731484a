import Foundation
import HTTPTypes
import Logging
import Hummingbird
import HummingbirdTesting
import NIOCore
import RotoAPI
import RotoTestSupport
@testable import RotoServer

/// Keys every test server knows: two API-key accounts and one Kling access-key account.
enum Keys {
    static let a = "test-key-a"
    static let b = "test-key-b"
    static let accessKey = "AK_test"
    static let secretKey = "SK_test_secret"
}

/// A configuration on a fresh temporary data directory.
func testConfiguration(dataDir: String? = nil, allowPrivate: Bool = true) -> ServerConfiguration {
    var c = ServerConfiguration()
    c.port = 0
    c.dataDirectory = dataDir ?? temporaryDirectory()
    c.apiKeys = [Keys.a, Keys.b]
    c.accessKeys = [.init(accessKey: Keys.accessKey, secretKey: Keys.secretKey)]
    c.allowPrivateNetworks = allowPrivate
    c.logLevel = .warning
    c.janitorInterval = 3600
    // No preview made ahead unless a test asks for it (PreviewAheadTests): a render started in the
    // background by a test's pause would take the cores from the tests after it.
    c.previewAheadDelay = 0
    // A loopback clip server once went 30 s without sending a byte in a CI run and a refusal test failed
    // on the read timeout instead of its rule. The cause: the synchronous unit tests held both threads
    // of the cooperative pool, where the servers' handlers run; `make test` now runs them in a process
    // of their own. The margin stays: the clip servers still share two cores with removal tasks. No
    // test checks the read timeout itself.
    c.downloadReadTimeout = 120
    return c
}

func temporaryDirectory() -> String { TestScratch.directory("data") }

/// Runs `body` against the real application, in process, on `pools` when the test holds them (else
/// the pools the configuration asks for); a test begins a shutdown through `readiness`.
func withApp<T>(_ configuration: ServerConfiguration = testConfiguration(), pools: ServerPools? = nil,
                readiness: Readiness = Readiness(),
                _ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
    let app = try await buildApplication(configuration, pools: pools ?? ServerPools(configuration), readiness: readiness)
    return try await app.test(.router, body)
}

/// A decoded response envelope with its raw JSON.
struct Reply {
    var status: Int
    var headers: HTTPFields
    var json: [String: JSONValue]
    var body: ByteBuffer

    var code: Int? { if case .number(let n)? = json["code"] { Int(n) } else { nil } }
    var message: String { if case .string(let s)? = json["message"] { s } else { "" } }
    var data: [String: JSONValue] { if case .object(let o)? = json["data"] { o } else { [:] } }
    func string(_ key: String) -> String? { if case .string(let s)? = data[key] { s } else { nil } }
    func number(_ key: String) -> Double? { if case .number(let n)? = data[key] { n } else { nil } }
}

extension TestClientProtocol {
    /// Sends a request (JSON body when `json` is given) with `Authorization: Bearer key` unless `key` is nil.
    func call(_ method: HTTPRequest.Method, _ uri: String, key: String? = Keys.a, json: String? = nil,
              body: [UInt8]? = nil, headers extra: HTTPFields = [:]) async throws -> Reply {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        var buffer: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            buffer = ByteBuffer(string: json)
        } else if let body {
            buffer = ByteBuffer(bytes: body)
        }
        let response = try await executeRequest(uri: uri, method: method, headers: headers, body: buffer)
        var object: [String: JSONValue] = [:]
        if case .object(let o)? = try? JSONDecoder().decode(JSONValue.self, from: Data(response.body.readableBytesView)) {
            object = o
        }
        return Reply(status: Int(response.status.code), headers: response.headers, json: object, body: response.body)
    }

    func initSelection(url: String, key: String = Keys.a) async throws -> Reply {
        try await call(.post, "/v1/videos/multi-elements/init-selection", key: key, json: #"{"video_url":"\#(url)"}"#)
    }
}

/// The counters of `metric` on the server's `/metrics`, by the value of their one label `label`.
func counters(_ client: any TestClientProtocol, _ metric: String, by label: String) async throws -> [String: Int] {
    let text = String(buffer: try await client.call(.get, "/metrics", key: nil).body)
    let prefix = "\(metric){\(label)=\""
    var out: [String: Int] = [:]
    for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
        let parts = line.dropFirst(prefix.count).split(separator: "\"")
        if parts.count == 2, let n = Int(parts[1].drop { $0 == "}" || $0 == " " }) { out[String(parts[0])] = n }
    }
    return out
}
