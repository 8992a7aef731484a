/// The response envelope every Roto (and Kling) response uses, success or error.
public struct Envelope<Payload: Codable & Sendable>: Codable, Sendable {
    public var code: Int
    public var message: String
    public var requestID: String
    public var data: Payload?

    public init(code: Int, message: String, requestID: String, data: Payload?) {
        self.code = code
        self.message = message
        self.requestID = requestID
        self.data = data
    }

    /// A success envelope (`code: 0`, `message: "SUCCEED"`).
    public static func success(_ data: Payload, requestID: String) -> Envelope {
        Envelope(code: 0, message: "SUCCEED", requestID: requestID, data: data)
    }

    enum CodingKeys: String, CodingKey {
        case code, message, data
        case requestID = "request_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        try c.encode(message, forKey: .message)
        try c.encode(requestID, forKey: .requestID)
        // `data` is always present: `null` on errors.
        try c.encode(data, forKey: .data)
    }
}

/// The payload of an error envelope (`data: null`).
public struct NoData: Codable, Sendable, Equatable {
    public init() {}
    public init(from decoder: any Decoder) throws {}
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encodeNil()
    }
}
