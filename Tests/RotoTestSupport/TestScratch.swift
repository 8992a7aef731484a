import Foundation

/// Where a test process writes its files: one directory of its own under the system's temporary
/// directory (`roto-tests-<pid>`), removed when the process exits. Every server the tests start keeps its
/// data directory here, so a run of `make test` leaves nothing behind (it used to leave ~600 MB: a data
/// directory per test, the test clips, the downloaded outputs). A process killed before it exits leaves
/// its directory; the next test process removes those of processes that no longer run.
public enum TestScratch {
    static let prefix = "roto-tests-"

    /// This process's directory, made (and the exit hook installed) on first use.
    public static let root: String = {
        let base = NSTemporaryDirectory()
        removeAbandoned(in: base)
        let path = (base as NSString).appendingPathComponent(prefix + "\(getpid())")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { TestScratch.removeRoot() }
        return path
    }()

    /// A new empty directory under the root, its name beginning with `name`.
    public static func directory(_ name: String) -> String {
        let path = (root as NSString).appendingPathComponent(name + "-" + UUID().uuidString)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A path for a new file under the root with the extension `ext` (not created).
    public static func file(_ ext: String) -> String {
        (root as NSString).appendingPathComponent(UUID().uuidString + "." + ext)
    }

    static func removeRoot() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Removes the directories of test processes that no longer run (killed before their exit hook).
    static func removeAbandoned(in base: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = pid_t(name.dropFirst(prefix.count)), pid != getpid() else { continue }
            // Only a process that is gone: ESRCH. A live one (or one we may not signal) keeps its files.
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: (base as NSString).appendingPathComponent(name))
            }
        }
    }
}
