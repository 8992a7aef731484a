import Foundation
import Logging
import RotoCore
import RotoStore
import Testing
@testable import RotoServer

/// The session's stored preview when two previews of one session run at once.
struct PreviewStoreTests {
    func files(_ stamp: String, at instant: Int64 = 0) -> [FileRecord] {
        ["mp4", "jpg", "json"].map { ext in
            FileRecord(token: "\(stamp)-\(ext)", accountId: "a", kind: .preview, ownerId: "s",
                       path: "sessions/s/preview-\(stamp).\(ext)", contentType: "x", size: 1, createdAt: instant, expiresAt: 9_999)
        }
    }

    func record(version: Int, _ stamp: String) -> PreviewRecord {
        PreviewRecord(sessionId: "s", selectionVersion: version, videoToken: "\(stamp)-mp4", coverToken: "\(stamp)-jpg",
                      trackingToken: "\(stamp)-json", createdAt: 0)
    }

    @Test func anOlderPreviewFinishingLastLeavesTheNewerOne() async throws {
        let db = try AppDatabase.inMemory()
        try await db.ensureAPIKeyAccount(keyHash: "h", accountID: "a", name: "a", webhookSecret: nil, now: 0)
        let session = SessionRecord(id: "s", accountId: "a", createdAt: 0, expiresAt: 9_999, fps: 30, originalDurationMs: 3000,
                                    width: 1280, height: 720, totalFrames: 90, videoToken: "v", selectionVersion: 3)
        try await db.insertSession(session, video: FileRecord(token: "v", accountId: "a", kind: .session, ownerId: "s",
                                                              path: "sessions/s/video.mp4", contentType: "video/mp4",
                                                              size: 1, createdAt: 0, expiresAt: 9_999))
        #expect(try await db.replacePreview(record(version: 1, "one"), files: files("one", at: 1)).isEmpty)
        // The preview of version 3 replaces the one of version 1 as the session's; version 1's files stay
        // served (a client may still be downloading them).
        #expect(try await db.replacePreview(record(version: 3, "three"), files: files("three", at: 3)).isEmpty)
        #expect(try await db.file(token: "one-mp4", now: 0) != nil)
        // Version 2's preview, made at the same time, ends last: the session keeps version 3's, and version
        // 2's files stay servable for the call that asked for them.
        #expect(try await db.replacePreview(record(version: 2, "two"), files: files("two", at: 4)).isEmpty)
        #expect(try await db.preview(sessionID: "s", selectionVersion: 3) == record(version: 3, "three"))
        #expect(try await db.preview(sessionID: "s", selectionVersion: 2) == nil)
        #expect(try await db.latestPreviewTracking(sessionID: "s")?.token == "three-json")
        #expect(try await db.file(token: "two-mp4", now: 0) != nil)
        // The session's newest four previews keep their files; a fifth drops the oldest one's (never the
        // session's current preview's).
        #expect(try await db.replacePreview(record(version: 4, "four"), files: files("four", at: 5)).isEmpty)
        let dropped = try await db.replacePreview(record(version: 5, "five"), files: files("five", at: 6))
        #expect(Set(dropped.map(\.token)) == ["one-mp4", "one-jpg", "one-json"])
        #expect(try await db.file(token: "one-mp4", now: 0) == nil)
        #expect(try await db.file(token: "three-json", now: 0) != nil)
    }

    /// An edit task on a selection whose preview a later selection's replaced finds that preview's labels
    /// while its files are kept, by the selection version in their names.
    @Test func aReplacedPreviewsLabelsAreFoundByTheirVersion() async throws {
        let db = try AppDatabase.inMemory()
        try await db.ensureAPIKeyAccount(keyHash: "h", accountID: "a", name: "a", webhookSecret: nil, now: 0)
        try await db.insertSession(SessionRecord(id: "s", accountId: "a", createdAt: 0, expiresAt: 9_999, fps: 30,
                                                 originalDurationMs: 3000, width: 1280, height: 720, totalFrames: 90,
                                                 videoToken: "v", selectionVersion: 12),
                                   video: FileRecord(token: "v", accountId: "a", kind: .session, ownerId: "s",
                                                     path: "sessions/s/video.mp4", contentType: "video/mp4",
                                                     size: 1, createdAt: 0, expiresAt: 9_999))
        func preview(_ version: Int, at instant: Int64, labels: Bool = true) async throws -> [FileRecord] {
            let base = PreviewRecord.filesBase(sessionID: "s", selectionVersion: version) + "\(instant)"
            let files = (labels ? ["mp4", "jpg", "json", "labels"] : ["mp4", "jpg", "json"]).map { ext in
                FileRecord(token: "\(version)-\(instant)-\(ext)", accountId: "a", kind: .preview, ownerId: "s",
                           path: "\(base).\(ext)", contentType: "x", size: 1, createdAt: instant, expiresAt: 9_999)
            }
            let record = PreviewRecord(sessionId: "s", selectionVersion: version, videoToken: files[0].token,
                                       coverToken: files[1].token, trackingToken: files[2].token,
                                       labelsToken: labels ? files[3].token : nil, createdAt: instant)
            return try await db.replacePreview(record, files: files)
        }
        _ = try await preview(1, at: 1)
        _ = try await preview(11, at: 2)
        #expect(try await db.previewLabels(sessionID: "s", selectionVersion: 1)?.token == "1-1-labels")
        #expect(try await db.previewLabels(sessionID: "s", selectionVersion: 11)?.token == "11-2-labels")
        // Version 1 is not version 11's prefix, and a version with no preview has none.
        _ = try await preview(12, at: 3, labels: false)
        #expect(try await db.previewLabels(sessionID: "s", selectionVersion: 12) == nil)
        #expect(try await db.previewLabels(sessionID: "s", selectionVersion: 2) == nil)
        #expect(try await db.previewLabels(sessionID: "s", selectionVersion: 1)?.token == "1-1-labels")
        // Once the files of version 1's preview are dropped (four newer previews), its labels are gone too.
        _ = try await preview(12, at: 4)
        let dropped = try await preview(12, at: 5)
        #expect(dropped.contains { $0.token == "1-1-labels" })
        #expect(try await db.previewLabels(sessionID: "s", selectionVersion: 1) == nil)
        #expect(try await db.previewLabels(sessionID: "s", selectionVersion: 11)?.token == "11-2-labels")
        #expect(try await db.previewLabels(sessionID: "s", selectionVersion: 12)?.token == "12-5-labels")
    }

    /// A preview's files that a crash left in the session's folder before their rows were stored: the
    /// janitor deletes them once an hour old, and keeps the files rows name and a preview just moved in.
    @Test func aCrashedPreviewsFilesAreSweptAnHourLater() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try AppDatabase.open(path: directory + "/roto.sqlite")
        let media = try MediaStore(dataDirectory: directory)
        let now = UnixTime.nowMillis()
        try await db.ensureAPIKeyAccount(keyHash: "h", accountID: "a", name: "a", webhookSecret: nil, now: now)
        try await db.insertSession(SessionRecord(id: "s", accountId: "a", createdAt: now, expiresAt: now + 60_000, fps: 30,
                                                 originalDurationMs: 3000, width: 1280, height: 720, totalFrames: 90,
                                                 videoToken: "v"),
                                   video: FileRecord(token: "v", accountId: "a", kind: .session, ownerId: "s",
                                                     path: "sessions/s/video.mp4", contentType: "video/mp4", size: 1,
                                                     createdAt: now, expiresAt: now + 60_000))
        _ = try await db.replacePreview(record(version: 0, "kept"), files: files("kept").map {
            var f = $0; f.createdAt = now; f.expiresAt = now + 60_000; return f
        })
        let fm = FileManager.default
        let names = ["video.mp4", "preview-kept.mp4", "preview-kept.json", "preview-lost.mp4", "preview-lost.json",
                     "preview-fresh.mp4"]
        for name in names {
            try media.prepare("sessions/s/\(name)")
            #expect(fm.createFile(atPath: media.absolute("sessions/s/\(name)"), contents: Data([1, 2, 3])))
            if name != "preview-fresh.mp4" {
                try fm.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)],
                                     ofItemAtPath: media.absolute("sessions/s/\(name)"))
            }
        }
        await Janitor(database: db, media: media, interval: .seconds(60), logger: .init(label: "test")).sweep(now: now)
        let left = Set(try fm.contentsOfDirectory(atPath: media.absolute("sessions/s")))
        #expect(left == ["video.mp4", "preview-kept.mp4", "preview-kept.json", "preview-fresh.mp4"])
    }
}
