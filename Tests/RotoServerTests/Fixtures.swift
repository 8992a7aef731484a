import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import RotoTestSupport

/// The server tests' own clips (the maker is shared: RotoTestSupport).
extension Clips {
    /// A synthetic test pattern clip.
    static func pattern(_ name: String, size: String = "1280x720", rate: String = "30", seconds: Double = 3,
                        codec: [String] = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
                        extra: [String] = [], input: [String] = []) throws -> String {
        try make(name, input + ["-f", "lavfi", "-i", "testsrc2=size=\(size):rate=\(rate)", "-t", String(seconds)] + codec + extra)
    }

    /// The first half of a valid clip.
    static func truncated() throws -> String {
        let source = try pattern("whole.mp4")
        let path = (directory as NSString).appendingPathComponent("truncated.mp4")
        if !FileManager.default.fileExists(atPath: path) {
            let data = try Data(contentsOf: URL(fileURLWithPath: source))
            try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
        return path
    }

    /// Arbitrary bytes with an `.mp4` name.
    static func bytes(_ name: String, _ content: [UInt8]) throws -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        try Data(content).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// A real HTTP server on loopback that serves the clip directory, with redirect chains, for download tests.
/// What the clip server's `/stall` route does: it answers 200 with a body it never sends, tells the test
/// it was reached, and finishes only when the test releases it.
struct StallGate: Sendable {
    let reached = AsyncStream<Void>.makeStream()
    let release = AsyncStream<Void>.makeStream()

    /// Waits until a request reached the route.
    func untilReached() async {
        for await _ in reached.stream { return }
    }
}

func withClipServer<T: Sendable>(stall: StallGate? = nil, _ body: @escaping @Sendable (String) async throws -> T) async throws -> T {
    let router = Router()
    if let stall {
        router.get("stall") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "video/mp4"], body: ResponseBody { writer in
                stall.reached.continuation.yield()
                for await _ in stall.release.stream {}
                try await writer.finish(nil)
            })
        }
    }
    let fileIO = FileIO()
    router.get("clips/:name") { request, context -> Response in
        let name = context.parameters.get("name") ?? ""
        let path = (Clips.directory as NSString).appendingPathComponent(name)
        return Response(status: .ok, body: try await fileIO.loadFile(path: path, context: context))
    }
    // /redirect/N/name: N redirects before the clip.
    router.get("redirect/:n/:name") { request, context -> Response in
        let n = Int(context.parameters.get("n") ?? "0") ?? 0
        let name = context.parameters.get("name") ?? ""
        let next = n <= 1 ? "/clips/\(name)" : "/redirect/\(n - 1)/\(name)"
        return Response(status: .found, headers: [.location: next])
    }
    router.get("status/:code") { request, context -> Response in
        Response(status: .init(code: Int(context.parameters.get("code") ?? "500") ?? 500))
    }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    return try await app.test(.live) { client in
        try await body("http://127.0.0.1:\(client.port!)")
    }
}
