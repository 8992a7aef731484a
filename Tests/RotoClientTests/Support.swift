import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import RotoAPI
import RotoClient
import RotoServer
import Synchronization
import RotoTestSupport
import Testing

/// Keys every test server knows: two API-key accounts and one Kling access-key account.
enum Keys {
    static let a = "client-test-key-a"
    static let b = "client-test-key-b"
    static let accessKey = "AK_client_test"
    static let secretKey = "SK_client_test_secret"
}

func temporaryDirectory() -> String { TestScratch.directory("data") }

/// A server configuration on a fresh temporary data directory, on a free loopback port.
func testConfiguration() -> ServerConfiguration {
    var c = ServerConfiguration()
    c.port = 0
    c.dataDirectory = temporaryDirectory()
    c.apiKeys = [Keys.a, Keys.b]
    c.accessKeys = [.init(accessKey: Keys.accessKey, secretKey: Keys.secretKey)]
    c.allowPrivateNetworks = true
    c.logLevel = .warning
    c.janitorInterval = 3600
    // No preview made ahead (RotoServerTests' PreviewAheadTests cover it): a render started in the
    // background by a test's pause would take the cores from the tests after it.
    c.previewAheadDelay = 0
    return c
}

/// Runs `body` with the base URL of the real Roto server, live on a free loopback port.
func withLiveServer<T: Sendable>(_ configuration: ServerConfiguration = testConfiguration(),
                                 _ body: @escaping @Sendable (URL) async throws -> T) async throws -> T {
    let app = try await buildApplication(configuration)
    defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
    return try await app.test(.live) { client in
        try await body(URL(string: "http://127.0.0.1:\(client.port!)")!)
    }
}

/// Runs `body` against a small stand-in HTTP server (for replies Roto itself never gives).
func withStubServer<T: Sendable>(_ build: (Router<BasicRequestContext>) -> Void,
                                 _ body: @escaping @Sendable (URL) async throws -> T) async throws -> T {
    let router = Router()
    build(router)
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    return try await app.test(.live) { client in
        try await body(URL(string: "http://127.0.0.1:\(client.port!)")!)
    }
}

extension RotoClient {
    /// A client of the live test server with key A.
    static func test(_ url: URL, key: String = Keys.a, prefix: String = "/v1") -> RotoClient {
        RotoClient(baseURL: url, pathPrefix: prefix, credentials: .apiKey(key), timeout: .seconds(900))
    }
}

/// The client tests' own clips (the maker and the moving-box clip are shared: RotoTestSupport).
extension Clips {
    /// A 400×400 PNG image (a reference image for swap/addition tasks).
    static func image() throws -> String {
        try make("reference.png", ["-f", "lavfi", "-i", "testsrc2=size=400x400", "-frames:v", "1"])
    }
}

/// The point on the box on frame `frame` (normalised).
func boxCentre(frame: Int) -> WirePoint {
    let x0 = 200 + Int((100 * Double(frame) / 30).rounded(.down))
    return WirePoint(x: Double(x0 + 120) / 1280, y: 0.5)
}

/// A value shared with a `@Sendable` callback.
final class Box<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
    func update(_ body: @Sendable (inout Value) -> Void) { storage.withLock { body(&$0) } }
}
