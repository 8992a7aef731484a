import Foundation
import RotoMedia
import Testing

/// A temporary directory removed when the value goes away.
final class Scratch {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/roto-media-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

struct ToolFailure: Error, CustomStringConvertible {
    var description: String
}

/// Runs a tool and returns its stdout; throws with stderr on a non-zero exit.
@discardableResult
func run(_ tool: String, _ arguments: [String]) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // stdout can be megabytes of raw video: drain it before waiting. stderr stays tiny (-loglevel error).
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    guard process.terminationStatus == 0 else {
        throw ToolFailure(description: "\(tool) \(arguments.joined(separator: " ")) failed: "
            + String(decoding: errData, as: UTF8.self))
    }
    return data
}

func ffmpeg(_ arguments: [String]) throws {
    try run("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-nostdin"] + arguments)
}

/// testsrc2 clips made with the ffmpeg CLI.
enum Clips {
    /// A testsrc2 clip. `rate` is an ffmpeg rate expression ("30", "30000/1001").
    static func make(_ path: String, size: String = "1280x720", rate: String = "30", seconds: Double = 2,
                     codec: [String] = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
                     audio: Bool = false, filter: [String] = [], extra: [String] = []) throws {
        var args = ["-f", "lavfi", "-i", "testsrc2=size=\(size):rate=\(rate)"]
        if audio { args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] }
        args += ["-t", String(seconds)] + filter + codec + ["-threads", "2"]
        if audio { args += ["-c:a", "aac", "-b:a", "64k"] }
        try ffmpeg(args + extra + [path])
    }

    /// Copies `source` into `path` with a rotate tag (FFmpeg 5.1 turns it into a display matrix).
    static func rotated(_ source: String, _ path: String, tag: Int) throws {
        try ffmpeg(["-i", source, "-c", "copy", "-metadata:s:v:0", "rotate=\(tag)", path])
    }

    /// Frame `n` (decode order = presentation order) decoded by the ffmpeg CLI as RGB24, with autorotation.
    static func referenceFrame(_ path: String, _ n: Int, scale: String? = nil) throws -> [UInt8] {
        let filter = "select=eq(n\\,\(n))" + (scale.map { ",scale=\($0)" } ?? "")
        let data = try run("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-i", path,
                                               "-vf", filter, "-frames:v", "1", "-f", "rawvideo",
                                               "-pix_fmt", "rgb24", "-"])
        return [UInt8](data)
    }

    static func hasEncoder(_ name: String) -> Bool {
        guard let data = try? run("/usr/bin/ffmpeg", ["-hide_banner", "-encoders"]) else { return false }
        return String(decoding: data, as: UTF8.self).contains(" \(name) ")
    }

    /// Keeps the first `fraction` of a file.
    static func truncate(_ source: String, _ path: String, fraction: Double = 0.5) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        try data.prefix(Int(Double(data.count) * fraction)).write(to: URL(fileURLWithPath: path))
    }

    /// Top-level ISO-BMFF box types, in file order.
    static func topLevelBoxes(_ path: String) throws -> [String] {
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var boxes: [String] = []
        var offset = 0
        while offset + 8 <= data.count {
            var size = data[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: data[offset + 4..<offset + 8], as: UTF8.self)
            if size == 1, offset + 16 <= data.count {
                size = data[offset + 8..<offset + 16].reduce(0) { $0 << 8 | Int($1) }
            } else if size == 0 {
                size = data.count - offset
            }
            boxes.append(type)
            guard size >= 8 else { break }
            offset += size
        }
        return boxes
    }
}

/// Mean absolute difference of two equally sized byte buffers (infinity when sizes differ).
func meanAbsDiff(_ a: [UInt8], _ b: [UInt8]) -> Double {
    guard a.count == b.count, !a.isEmpty else { return .infinity }
    var total = 0
    for i in a.indices { total += abs(Int(a[i]) - Int(b[i])) }
    return Double(total) / Double(a.count)
}

/// Seconds taken by `body`.
func seconds<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = ContinuousClock.now
    let value = try body()
    let elapsed = ContinuousClock.now - start
    return (value, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
}

/// Expects `body` to fail with a MediaError of `code`.
func expectMediaError(_ code: MediaError.Code, sourceLocation: SourceLocation = #_sourceLocation,
                      _ body: () throws(MediaError) -> Void) {
    do {
        try body()
        Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
    } catch {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    }
}
