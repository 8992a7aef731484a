import Foundation
import RotoAPI

/// The one error the SDK throws for a failed call: the Kling business code, the HTTP status, the server's
/// message and the request id, whether the server refused the call, answered something that is not a Roto
/// envelope, or could not be reached at all.
///
/// `code` is `RotoError.Code`, a struct, so new codes never break an exhaustive `switch`. Failures that
/// happen on the client's side use negative codes (`.transportFailure`, `.invalidResponse`,
/// `.waitTimedOut`); every positive code is the server's (spec §1.1). Cancellation is not wrapped: a
/// cancelled call throws `CancellationError`.
public struct RotoClientError: Error, Sendable, CustomStringConvertible {
    /// The Kling business code (`code` in the envelope), or a negative client-side code.
    public var code: RotoError.Code
    /// The HTTP status of the reply; nil when no reply came (transport failures, wait timeouts).
    public var httpStatus: Int?
    /// The server's message, or a description of what went wrong on the client's side.
    public var message: String
    /// The `request_id` of the envelope (or the `X-Request-Id` header); nil when no reply came.
    public var requestID: String?
    /// The lower-level error behind a transport or decoding failure, if any.
    public var underlying: (any Error)?
    /// The reply's `Retry-After` in seconds (the server sends it with 1302 and while shutting down).
    public var retryAfterSeconds: Int?

    /// Creates an error value.
    public init(code: RotoError.Code, httpStatus: Int? = nil, message: String, requestID: String? = nil,
                underlying: (any Error)? = nil, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.httpStatus = httpStatus
        self.message = message
        self.requestID = requestID
        self.underlying = underlying
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// A `.localFile` error: `path` could not be written (its directory is a file, the disk is full).
    public static func cannotWrite(_ path: String, _ error: any Error) -> RotoClientError {
        RotoClientError(code: .localFile, message: "cannot write \(path): \(error.localizedDescription)", underlying: error)
    }

    /// Runs `body`, which writes `path` on this machine: a failure becomes `cannotWrite(path, …)` (a
    /// `RotoClientError` passes as it is).
    public static func writing<T>(_ path: String, _ body: () throws -> T) throws(RotoClientError) -> T {
        do { return try body() } catch let error as RotoClientError { throw error } catch {
            throw cannotWrite(path, error)
        }
    }

    /// The error as the shared `RotoError` (code, message and `Retry-After`).
    public var rotoError: RotoError { RotoError(code, message, retryAfterSeconds: retryAfterSeconds) }

    /// True when the server answered with a Kling envelope (a positive code).
    public var isServerError: Bool { code.rawValue > 0 }

    /// `error <code>: <message> (request <id>)`, the form the `roto` command prints.
    public var description: String {
        var text = "error \(code.rawValue): \(message)"
        if let requestID, !requestID.isEmpty { text += " (request \(requestID))" }
        return text
    }
}

extension RotoError.Code {
    /// Client side: the server could not be reached, or the connection failed mid-call.
    public static let transportFailure = RotoError.Code(-1)
    /// Client side: the reply was not a Roto/Kling envelope, or its `data` did not have the expected shape.
    public static let invalidResponse = RotoError.Code(-2)
    /// Client side: `waitForTask` gave up after its timeout (the task itself goes on).
    public static let waitTimedOut = RotoError.Code(-3)
    /// Client side: a local file could not be read or written.
    public static let localFile = RotoError.Code(-4)
}
