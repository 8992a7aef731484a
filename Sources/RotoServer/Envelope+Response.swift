import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RotoAPI

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}

extension RotoError {
    /// How long a restart usually takes: the `Retry-After` of a 5001 sent while shutting down.
    static let restartSeconds = 5

    /// 5001 while the server shuts down, with `Retry-After`.
    static func shuttingDown(_ message: String = "the server is shutting down") -> RotoError {
        RotoError(.unavailable, message, retryAfterSeconds: restartSeconds)
    }
}

/// Builds envelope responses; the one place where `RotoError` becomes HTTP.
enum EnvelopeResponse {
    static func success<T: Codable & Sendable>(_ data: T, context: RotoRequestContext,
                                                status: HTTPResponse.Status = .ok) throws -> Response {
        try json(Envelope.success(data, requestID: context.requestID), status: status, requestID: context.requestID)
    }

    static func error(_ error: RotoError, requestID: String) -> Response {
        let envelope = Envelope<NoData>(code: error.code.rawValue, message: error.message, requestID: requestID, data: nil)
        // Encoding a struct of strings and ints cannot fail.
        guard var response = try? json(envelope, status: .init(code: error.code.httpStatus), requestID: requestID) else {
            return Response(status: .internalServerError)
        }
        if let seconds = error.retryAfterSeconds { response.headers[.retryAfter] = String(max(1, seconds)) }
        return response
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status, requestID: String) throws -> Response {
        let data = try JSONCoding.encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.requestID] = requestID
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
