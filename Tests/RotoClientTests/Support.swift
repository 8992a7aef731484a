import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import RotoAPI
import RotoClient
import RotoServer
import Synchronization
import Testing

/// Keys every test server knows: two API-key accounts and one Kling access-key account.
enum Keys {
    static let a = "client-test-key-a"
    static let b = "client-test-key-b"
    static let accessKey = "AK_client_test"
    static let secretKey = "SK_client_test_secret"
}

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "roto-client-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

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

/// Test clips made with the ffmpeg CLI at test time (never downloaded, never committed), cached per run.
enum Clips {
    static let directory: String = {
        let path = NSTemporaryDirectory() + "roto-client-test-clips-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Makes `name` with the given ffmpeg arguments (output path appended) unless it exists.
    static func make(_ name: String, _ arguments: [String]) throws -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: path) { return path }
        let tmp = path + ".part-\(UUID().uuidString)." + (name as NSString).pathExtension
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-hide_banner", "-loglevel", "error", "-y"] + arguments + [tmp]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0, rename(tmp, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        return path
    }

    /// 1280×720, 30 fps, 3 s: a red 240×180 box whose left edge moves 100 px/s from x = 200 (y = 270) over
    /// a noisy green background. On frame 15 the box's centre is at (335, 360) px.
    static func movingBox() throws -> String {
        try make("moving.mp4", [
            "-f", "lavfi", "-i", "color=c=0x3a5a40:s=1280x720:r=30:d=3,noise=alls=12:allf=t[bg];"
                + "color=c=0xD02020:s=240x180:r=30:d=3[box];[bg][box]overlay=x='200+100*t':y=270",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        ])
    }

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
