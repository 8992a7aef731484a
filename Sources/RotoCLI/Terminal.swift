import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Output of the client commands: results on stdout, progress and errors on stderr.
enum Terminal {
    /// Progress bars and spinners are drawn only when stderr is a terminal.
    static let stderrIsTerminal: Bool = isatty(2) == 1

    /// Writes a line to stdout. When the reader has gone (`roto tasks | head -1`), the process ends
    /// quietly with 141, the status a shell reports for a tool stopped by SIGPIPE (which the networking
    /// library ignores, so the write fails instead).
    /// Any other failure (a full disk) is reported on stderr and ends it with 1.
    static func out(_ line: String) {
        let failure = write(1, line + "\n")
        if failure == EPIPE { exit(141) }
        if failure != 0 {
            err("error: cannot write to stdout: \(String(cString: strerror(failure)))")
            exit(1)
        }
    }

    /// Writes a line to stderr.
    static func err(_ line: String) {
        _ = write(2, line + "\n")
    }

    /// Writes raw text to stderr (progress redraws).
    static func draw(_ text: String) {
        _ = write(2, text)
    }

    /// Writes all of `text` to a file descriptor; the `errno` of a failure (a closed pipe, a full disk),
    /// 0 when all was written.
    private static func write(_ fd: Int32, _ text: String) -> Int32 {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { raw in
                #if canImport(Glibc)
                Glibc.write(fd, raw.baseAddress, raw.count)
                #else
                Darwin.write(fd, raw.baseAddress, raw.count)
                #endif
            }
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            bytes = bytes.dropFirst(n)
        }
        return 0
    }

    /// Human-readable byte count.
    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KB", "MB", "GB"]
        var value = Double(n)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }
}

/// A progress bar on stderr, redrawn at most ten times a second; silent when stderr is not a terminal.
/// Safe to update from any thread (the HTTP client reports upload progress from its event loop).
final class ProgressBar: Sendable {
    private struct State {
        var lastDraw: ContinuousClock.Instant?
        var drawn = false
    }

    let label: String
    let enabled: Bool
    private let state = Mutex(State())

    init(_ label: String, enabled: Bool = Terminal.stderrIsTerminal) {
        self.label = label
        self.enabled = enabled
    }

    /// Reports `done` of `total` bytes.
    func update(_ done: Int64, _ total: Int64?) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let line: String? = state.withLock { s in
            let complete = total.map { done >= $0 } ?? false
            if let last = s.lastDraw, now - last < .milliseconds(100), !complete { return nil }
            s.lastDraw = now
            s.drawn = true
            let width = 30
            if let total, total > 0 {
                let fraction = min(1, Double(done) / Double(total))
                let filled = Int(fraction * Double(width))
                let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
                return "\r\(label) [\(bar)] \(Int(fraction * 100))% \(Terminal.bytes(done))/\(Terminal.bytes(total))"
            }
            return "\r\(label) \(Terminal.bytes(done))"
        }
        if let line { Terminal.draw(line + "\u{1B}[K") }
    }

    /// Clears the bar's line.
    func finish() {
        guard enabled, state.withLock({ $0.drawn }) else { return }
        Terminal.draw("\r\u{1B}[K")
    }
}

/// Runs `body` while a spinner turns on stderr (only when stderr is a terminal).
func withSpinner<T: Sendable>(_ label: String, enabled: Bool = Terminal.stderrIsTerminal,
                              _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withSpinner(status: { label }, enabled: enabled, body)
}

/// Runs `body` while a spinner turns on stderr next to a status that may change (only on a terminal).
func withSpinner<T: Sendable>(status: @escaping @Sendable () -> String, enabled: Bool = Terminal.stderrIsTerminal,
                              _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    guard enabled else { return try await body() }
    let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    let start = ContinuousClock.now
    defer { Terminal.draw("\r\u{1B}[K") }
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            var i = 0
            while !Task.isCancelled {
                let seconds = (ContinuousClock.now - start).components.seconds
                Terminal.draw("\r\(frames[i % frames.count]) \(status()) \(seconds)s\u{1B}[K")
                i += 1
                try? await Task.sleep(for: .milliseconds(100))
            }
            return nil
        }
        while let next = try await group.next() {
            if let value = next {
                group.cancelAll()
                return value
            }
        }
        throw CancellationError()
    }
}

/// A string shared between a worker and the spinner that shows it.
final class SharedText: Sendable {
    private let value: Mutex<String>
    init(_ initial: String) { value = Mutex(initial) }
    var text: String {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
