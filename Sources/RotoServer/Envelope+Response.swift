import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RotoAPI

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
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
        return (try? json(envelope, status: .init(code: error.code.httpStatus), requestID: requestID))
            ?? Response(status: .internalServerError)
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status, requestID: String) throws -> Response {
        let data = try JSONCoding.encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.requestID] = requestID
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
