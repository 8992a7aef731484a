import Foundation
import RotoAPI
import RotoClient
import RotoVision
import RotoTestSupport
import Testing

/// What a run of the `roto` binary left behind.
struct CLIResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String

    /// stdout parsed as a JSON object.
    func json() throws -> [String: JSONValue] {
        guard case .object(let o) = try JSONDecoder().decode(JSONValue.self, from: Data(stdout.utf8)) else {
            Issue.record("stdout is not a JSON object: \(stdout)")
            return [:]
        }
        return o
    }
}

enum CLI {
    /// The built `roto` executable: next to the test bundle (`swift build --build-tests` builds it too).
    static let binary: String? = {
        var candidates: [URL] = []
        if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent()) }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug"))
        for directory in candidates {
            var d = directory
            // The test bundle may be a directory (…/rotoPackageTests.xctest/Contents/MacOS on Apple platforms).
            for _ in 0..<4 {
                let path = d.appendingPathComponent("roto").path
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                   FileManager.default.isExecutableFile(atPath: path) {
                    return path
                }
                d = d.deletingLastPathComponent()
            }
        }
        return nil
    }()

    /// Runs `roto arguments…` with the given `ROTO_*` environment; stdout and stderr go to files so that a
    /// large output never blocks the child.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> CLIResult {
        let binary = try #require(binary, "the roto executable is not built: run `swift build --build-tests` first")
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outPath = directory + "/stdout", errPath = directory + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ROTO_") }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { p in continuation.resume(returning: p.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try? out.close()
        try? err.close()
        return CLIResult(status: status,
                         stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    static func environment(_ url: URL, key: String = Keys.a) -> [String: String] {
        ["ROTO_SERVER": url.absoluteString, "ROTO_KEY": key]
    }
}

/// The `roto` binary end to end against the live server.
@Suite(.serialized) struct CLITests {
    /// init (upload) → select → unselect → select → session → preview → masks, human and --json output.
    @Test func selectionWorkflow() async throws {
        try await withLiveServer { url in
            let env = CLI.environment(url)
            let clip = try Clips.movingBox()

            let initRun = try await CLI.run(["init", clip], environment: env)
            #expect(initRun.status == 0, "\(initRun.stderr)")
            #expect(initRun.stdout.hasPrefix("session "), "\(initRun.stdout)")
            #expect(initRun.stdout.contains("1280x720 30 fps 90 frames"), "\(initRun.stdout)")
            #expect(initRun.stderr.isEmpty, "no progress bar when stderr is not a terminal: \(initRun.stderr)")
            let words = initRun.stdout.split(separator: " ")
            try #require(words.count > 1, "roto init printed \(initRun.stdout)")
            let session = String(words[1])
            #expect(session.count >= 18 && session.allSatisfy(\.isNumber))

            // --json prints the data object.
            let initJSON = try await CLI.run(["init", clip, "--json"], environment: env)
            #expect(initJSON.status == 0, "\(initJSON.stderr)")
            let data = try initJSON.json()
            #expect(data["total_frame"] == .number(90) && data["width"] == .number(1280))
            if case .string(let s)? = data["session_id"] { #expect(s.count >= 18) } else { Issue.record("no session_id") }

            let p = boxCentre(frame: 15)
            let point = "\(p.x),\(p.y)"
            let select = try await CLI.run(["select", session, "--frame", "15", "--point", point], environment: env)
            #expect(select.status == 0, "\(select.stderr)")
            #expect(select.stdout.hasPrefix("frame 15 object 0: "), "\(select.stdout)")

            let selectJSON = try await CLI.run(["select", session, "--frame", "15", "--point", "0.05,0.05",
                                                "--exclude", "0.9,0.1", "--object", "1", "--json"], environment: env)
            #expect(selectJSON.status == 0, "\(selectJSON.stderr)")
            let selection = try JSONCoding.decoder.decode(SelectionData.self, from: Data(selectJSON.stdout.utf8))
            #expect(Set(selection.res.rleMaskList.map(\.objectID)) == [0, 1])

            let unselect = try await CLI.run(["unselect", session, "--frame", "15", "--point", "0.05,0.05",
                                              "--exclude", "0.9,0.1", "--object", "1"], environment: env)
            #expect(unselect.status == 0, "\(unselect.stderr)")
            #expect(!unselect.stdout.contains("object 1"), "\(unselect.stdout)")

            let state = try await CLI.run(["session", session], environment: env)
            #expect(state.status == 0, "\(state.stderr)")
            #expect(state.stdout.contains("frame 15 object 0: 1 point(s)"), "\(state.stdout)")
            // The exact values, in the flags' form: a line can be given back to `roto unselect`.
            #expect(state.stdout.contains(": --point \(p.x),\(p.y)"), "\(state.stdout)")

            let directory = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let preview = try await CLI.run(["preview", session, "--download", directory], environment: env)
            #expect(preview.status == 0, "\(preview.stderr)")
            #expect(preview.stdout.contains("video http://"), "\(preview.stdout)")
            // A file where the download directory should be: a local-file error (-4), not a transport one.
            let blocker = directory + "/blocker"
            _ = FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
            let blocked = try await CLI.run(["preview", session, "--download", blocker], environment: env)
            #expect(blocked.status == 1 && blocked.stderr.hasPrefix("error -4: "), "\(blocked.stderr)")
            let blockedMasks = try await CLI.run(["masks", session, "--out", blocker], environment: env)
            #expect(blockedMasks.status == 1 && blockedMasks.stderr.hasPrefix("error -4: "), "\(blockedMasks.stderr)")
            try? FileManager.default.removeItem(atPath: blocker)
            for name in ["preview.mp4", "cover.jpg", "tracking.json"] {
                #expect(FileManager.default.fileExists(atPath: directory + "/" + name), "\(name)")
            }

            let masksDirectory = directory + "/masks"
            let masks = try await CLI.run(["masks", session, "--out", masksDirectory, "--json"], environment: env)
            #expect(masks.status == 0, "\(masks.stderr)")
            let written = try masks.json()
            #expect(written["frames"] == .number(90))
            let files = try FileManager.default.contentsOfDirectory(atPath: masksDirectory).sorted()
            #expect(files.count == 90)
            #expect(files.first == "frame-00000-object-0.png" && files.last == "frame-00089-object-0.png")
            // The PNG of the anchor frame is the mask add-selection returned.
            let png = try MaskPNG.decode(Array(try Data(contentsOf: URL(fileURLWithPath: masksDirectory + "/frame-00015-object-0.png"))))
            let object = try #require(selection.res.rleMaskList.first { $0.objectID == 0 })
            #expect(png.data == (try object.bitmap()).pixels)

            let clear = try await CLI.run(["clear", session], environment: env)
            #expect(clear.status == 0 && clear.stdout.contains("cleared"), "\(clear.stdout) \(clear.stderr)")
        }
    }

    /// API errors exit 1 with `error <code>: <message> (request <id>)`; usage errors exit 2.
    @Test func exitCodes() async throws {
        try await withLiveServer { url in
            let env = CLI.environment(url)
            let unknown = try await CLI.run(["session", "1234567890123456789"], environment: env)
            #expect(unknown.status == 1)
            #expect(unknown.stderr.hasPrefix("error 1203: "), "\(unknown.stderr)")
            #expect(unknown.stderr.contains("(request "), "\(unknown.stderr)")
            #expect(unknown.stdout.isEmpty)

            let badKey = try await CLI.run(["session", "1234567890123456789"], environment: CLI.environment(url, key: "nope"))
            #expect(badKey.status == 1 && badKey.stderr.hasPrefix("error 1000: "), "\(badKey.stderr)")

            // Flags win over the environment; a JWT pair works too.
            let jwt = try await CLI.run(["session", "1234567890123456789", "--server", url.absoluteString,
                                         "--access-key", Keys.accessKey, "--secret-key", Keys.secretKey], environment: [:])
            #expect(jwt.status == 1 && jwt.stderr.hasPrefix("error 1203: "), "authenticated, then unknown: \(jwt.stderr)")

            let badFile = try await CLI.run(["init", "/nonexistent/clip.mp4"], environment: env)
            #expect(badFile.status == 2, "\(badFile.stderr)")
            #expect(badFile.stderr.contains("Usage: roto init"), "the subcommand's own usage: \(badFile.stderr)")
            // A value starting with "-" is the option's value, refused by the server's range rule.
            let negative = try await CLI.run(["select", "1234567890123456789", "--frame", "-1", "--point", "0.5,0.5"], environment: env)
            #expect(negative.status == 1 && negative.stderr.hasPrefix("error 1201: "), "\(negative.stderr)")

            for args in [["select", "123"],                                        // missing --frame and points
                         ["select", "123", "--frame", "1"],                         // no point
                         ["select", "123", "--frame", "1", "--point", "abc"],       // malformed point
                         ["edit", "123", "--mode", "erase", "--prompt", "x"],       // unknown mode
                         ["tasks", "--page", "0"],
                         ["task", ""],                                              // an empty id
                         ["task", "1", "--wait", "--timeout", "nan"],               // not a number of seconds
                         ["task", "1", "--wait", "--poll-interval", "inf"],
                         ["task", "1", "--wait", "--poll-interval", "0.0001"],      // would flood the server
                         ["task", "1", "--key", ""],
                         ["serve", "--port", "99999"],
                         ["serve", "--public-url", "notaurl"],
                         ["frobnicate"]] {
                let r = try await CLI.run(args, environment: env)
                #expect(r.status == 2, "\(args): \(r.status) \(r.stderr)")
                #expect(!r.stderr.isEmpty, "\(args)")
            }
            let noKey = try await CLI.run(["session", "123", "--server", url.absoluteString], environment: [:])
            #expect(noKey.status == 2 && noKey.stderr.contains("--key"), "\(noKey.stderr)")
            let noServer = try await CLI.run(["session", "123", "--server", "ftp://x"], environment: env)
            #expect(noServer.status == 2, "\(noServer.stderr)")
            // Nobody listening: a transport error is an API-side failure (1), printed the same way.
            let closed = try await CLI.run(["session", "123", "--server", "http://127.0.0.1:9"], environment: env)
            #expect(closed.status == 1 && closed.stderr.hasPrefix("error -1: "), "\(closed.stderr)")
        }
    }

    /// Each subcommand's help names its options, and exits 0.
    @Test func helpTexts() async throws {
        let expected: [String: [String]] = [
            "init": ["<file-or-url>", "--server", "--key", "--access-key", "--secret-key", "--prefix", "--json", "ROTO_SERVER", "ROTO_KEY"],
            "select": ["<session>", "--frame", "--point", "--exclude", "--object", "--json"],
            "unselect": ["<session>", "--frame", "--point", "--object"],
            "clear": ["<session>", "--server", "--key"],
            "preview": ["<session>", "--download"],
            "masks": ["<session>", "--out"],
            "session": ["<session>", "--json"],
            "edit": ["<session>", "--mode", "removal", "swap", "addition", "--image", "--prompt", "--pro", "--duration",
                     "--watermark", "--callback-url", "--external-id", "--wait", "--download"],
            "task": ["<id>", "--wait", "--download"],
            "tasks": ["--page", "--page-size"],
            "serve": ["--host", "--port", "--data-dir", "--api-key"],
        ]
        for (command, words) in expected {
            let r = try await CLI.run([command, "--help"])
            #expect(r.status == 0, "\(command): \(r.stderr)")
            for word in words {
                #expect(r.stdout.contains(word), "roto \(command) --help mentions \(word)")
            }
        }
        let root = try await CLI.run(["--help"])
        #expect(root.status == 0)
        for command in expected.keys { #expect(root.stdout.contains(command), "roto --help lists \(command)") }
    }
}
