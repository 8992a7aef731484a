import Foundation

/// The files under the data directory: `media/` holds everything served, `tmp/` work in progress.
/// Paths stored in the database are relative to `media/` so that the data directory can move.
public struct MediaStore: Sendable {
    public let root: String

    public init(dataDirectory: String) throws {
        root = (dataDirectory as NSString).appendingPathComponent("media")
        for dir in [root, tmpDirectory] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
    }

    public var tmpDirectory: String { (root as NSString).appendingPathComponent("tmp") }

    /// The absolute path of a stored relative path.
    public func absolute(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    /// A fresh, unique path under `tmp/` (not created).
    public func temporaryPath(extension ext: String) -> String {
        (tmpDirectory as NSString).appendingPathComponent("\(UUID().uuidString).\(ext)")
    }

    /// Creates (if needed) the directory of a relative path's parent.
    public func prepare(_ relative: String) throws {
        let dir = (absolute(relative) as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    /// Moves a finished temporary file into place at a relative path (atomic rename on one filesystem).
    public func commit(temporary: String, to relative: String) throws {
        try prepare(relative)
        let target = absolute(relative)
        if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
        try FileManager.default.moveItem(atPath: temporary, toPath: target)
    }

    /// The size in bytes of a stored relative path (0 when missing).
    public func size(of relative: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: absolute(relative)))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Removes a relative path (file or directory); missing is fine.
    public func remove(_ relative: String) {
        try? FileManager.default.removeItem(atPath: absolute(relative))
    }

    /// Removes temporary files older than `seconds` (left by a crash).
    public func sweepTemporary(olderThan seconds: TimeInterval) {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: tmpDirectory) else { return }
        let cutoff = Date().addingTimeInterval(-seconds)
        for name in names {
            let path = (tmpDirectory as NSString).appendingPathComponent(name)
            if let date = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date, date < cutoff {
                try? fm.removeItem(atPath: path)
            }
        }
    }

    /// The names of the folders (or, with `folders: false`, the plain files) directly under a relative
    /// directory that have not changed for `seconds`.
    public func entries(in relative: String, unchangedFor seconds: TimeInterval, folders: Bool) -> [String] {
        let fm = FileManager.default, directory = absolute(relative)
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return [] }
        let cutoff = Date().addingTimeInterval(-seconds)
        let wanted: FileAttributeType = folders ? .typeDirectory : .typeRegular
        return names.filter { name in
            let attributes = try? fm.attributesOfItem(atPath: (directory as NSString).appendingPathComponent(name))
            return attributes?[.type] as? FileAttributeType == wanted
                && (attributes?[.modificationDate] as? Date).map { $0 < cutoff } == true
        }
    }

    /// Whether the media root is writable (readiness).
    public func isWritable() -> Bool { FileManager.default.isWritableFile(atPath: root) }
}
