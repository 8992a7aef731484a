import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore

/// Test clips made with the ffmpeg CLI at test time (never downloaded, never committed), cached per run.
enum Clips {
    static let directory: String = {
        let path = NSTemporaryDirectory() + "roto-test-clips-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Makes `name` with the given ffmpeg arguments (output path appended) unless it exists.
    static func make(_ name: String, _ arguments: [String]) throws -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: path) { return path }
        // Parallel tests may make the same clip: each writes its own part file, rename(2) replaces atomically.
        let tmp = path + ".part-\(UUID().uuidString)." + (name as NSString).pathExtension
        try run("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-y"] + arguments + [tmp])
        guard rename(tmp, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        return path
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

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
func withClipServer<T: Sendable>(_ body: @escaping @Sendable (String) async throws -> T) async throws -> T {
    let router = Router()
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
