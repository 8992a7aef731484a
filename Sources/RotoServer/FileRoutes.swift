import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RotoAPI
import RotoCore
import RotoStore

/// Capability-URL files (spec §1.2) and the upload extension (§9.1).
struct FileRoutes: Sendable {
    let database: AppDatabase
    let media: MediaStore
    let urls: PublicURLs
    let limits: Limits
    let fileIO: FileIO

    /// `GET /v1/files/<token>`: no Authorization; supports a single `Range`.
    func serve(_ request: Request, context: RotoRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        guard let file = try await database.file(token: token, now: UnixTime.nowMillis()) else {
            throw RotoError.notFound("file does not exist or has expired")
        }
        let path = media.absolute(file.path)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.intValue else {
            throw RotoError.notFound("file does not exist or has expired")
        }
        var headers = HTTPFields()
        headers[.contentType] = file.contentType
        headers[.acceptRanges] = "bytes"
        headers[.cacheControl] = "private, max-age=3600"
        headers[.eTag] = "\"\(token.prefix(16))-\(size)\""

        var status = HTTPResponse.Status.ok
        var range = 0...(size - 1)
        if let header = request.headers[.range] {
            switch Self.parseRange(header, size: size) {
            case .none:
                break
            case .unsatisfiable:
                headers[.contentRange] = "bytes */\(size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            case .range(let r):
                range = r
                status = .partialContent
                headers[.contentRange] = "bytes \(r.lowerBound)-\(r.upperBound)/\(size)"
            }
        }
        headers[.contentLength] = String(size == 0 ? 0 : range.count)
        if size == 0 || request.method == .head { return Response(status: status, headers: headers) }
        do {
            let body = try await fileIO.loadFile(path: path, range: range, context: context)
            return Response(status: status, headers: headers, body: body)
        } catch {
            throw RotoError.notFound("file does not exist or has expired")
        }
    }

    enum RangeRequest: Equatable {
        case none
        case unsatisfiable
        case range(ClosedRange<Int>)
    }

    /// Parses one `bytes=` range (RFC 9110 §14). Several ranges or other units: serve the whole file.
    static func parseRange(_ header: String, size: Int) -> RangeRequest {
        let h = header.trimmingCharacters(in: .whitespaces)
        guard h.lowercased().hasPrefix("bytes="), !h.contains(",") else { return .none }
        let spec = h.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .none }
        let first = Int(parts[0].trimmingCharacters(in: .whitespaces))
        let last = Int(parts[1].trimmingCharacters(in: .whitespaces))
        switch (first, last) {
        case let (s?, e?):
            guard s <= e else { return .none }
            guard s < size else { return .unsatisfiable }
            return .range(s...min(e, size - 1))
        case let (s?, nil) where parts[1].isEmpty:
            guard s < size else { return .unsatisfiable }
            return .range(s...(size - 1))
        case let (nil, n?) where parts[0].isEmpty:
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .range(max(0, size - n)...(size - 1))
        default:
            return .none
        }
    }

    /// What an upload may be, by `Content-Type`, with its cap and content check.
    struct UploadKind {
        var contentType: String
        var fileExtension: String
        var isVideo: Bool

        static let all: [UploadKind] = [
            .init(contentType: "video/mp4", fileExtension: "mp4", isVideo: true),
            .init(contentType: "video/quicktime", fileExtension: "mov", isVideo: true),
            .init(contentType: "image/jpeg", fileExtension: "jpg", isVideo: false),
            .init(contentType: "image/png", fileExtension: "png", isVideo: false),
        ]

        /// A cheap signature check: ISO-BMFF `ftyp` (or QuickTime atoms), JPEG SOI, PNG signature.
        func matches(_ head: [UInt8]) -> Bool {
            switch fileExtension {
            case "jpg": return head.starts(with: [0xFF, 0xD8, 0xFF])
            case "png": return head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            default:
                guard head.count >= 8 else { return false }
                let atom = String(decoding: head[4..<8], as: UTF8.self)
                return ["ftyp", "moov", "mdat", "wide", "free", "skip"].contains(atom)
            }
        }
    }

    /// `POST /v1/files`: stores the raw body and returns a capability URL usable by the same account.
    func upload(_ request: Request, account: AccountRecord) async throws -> UploadData {
        let type = (request.headers[.contentType] ?? "").split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard let kind = UploadKind.all.first(where: { $0.contentType == type }) else {
            throw RotoError.invalid("Content-Type", "must be video/mp4, video/quicktime, image/jpeg or image/png",
                                    got: type.isEmpty ? "none" : type)
        }
        let cap = kind.isVideo ? limits.maxVideoBytes : limits.maxImageBytes
        // Too large is a body error (1200, spec §1.1), like a JSON body over its cap.
        func tooLarge(_ got: String) -> RotoError {
            RotoError(.invalidBody, "body: \(kind.contentType) uploads must be at most \(cap) bytes (got \(got))")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > cap {
            throw tooLarge("\(length) bytes")
        }
        let tmp = media.temporaryPath(extension: kind.fileExtension)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        guard FileManager.default.createFile(atPath: tmp, contents: nil), let handle = FileHandle(forWritingAtPath: tmp) else {
            throw RotoError(.internalError, "cannot store the upload")
        }
        var total = 0
        var head: [UInt8] = []
        do {
            defer { try? handle.close() }
            for try await chunk in request.body {
                total += chunk.readableBytes
                guard total <= cap else { throw tooLarge("more than \(cap) bytes") }
                if head.count < 16 { head += chunk.readableBytesView.prefix(16 - head.count) }
                try handle.write(contentsOf: chunk.readableBytesView)
            }
        }
        guard total > 0 else { throw RotoError.invalid("body", "must not be empty") }
        guard kind.matches(head) else {
            throw RotoError.invalid("body", "content does not look like \(kind.contentType)")
        }
        let now = UnixTime.nowMillis()
        let token = CapabilityToken.make()
        let relative = "uploads/\(token).\(kind.fileExtension)"
        try media.commit(temporary: tmp, to: relative)
        let expires = now + limits.uploadLifetimeMillis
        do {
            try await database.insertFile(FileRecord(token: token, accountId: account.id, kind: .upload, ownerId: nil,
                                                     path: relative, contentType: kind.contentType, size: Int64(total),
                                                     createdAt: now, expiresAt: expires))
        } catch {
            media.remove(relative)
            throw error
        }
        return UploadData(url: urls.file(token), expiresAt: expires)
    }
}
