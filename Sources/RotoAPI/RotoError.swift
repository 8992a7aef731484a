/// The one error type that crosses Roto's layers: a Kling business code and a human message.
///
/// The server turns it into the response envelope in one place; the SDK rebuilds it from an envelope.
/// `Code` is a struct (not an enum) so that new codes never break a client's exhaustive `switch`.
public struct RotoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A Kling business code (`code` in the envelope) and the HTTP status it travels with.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: Int
        public init(_ rawValue: Int) { self.rawValue = rawValue }

        /// Authentication failed (unknown key, bad JWT signature).
        public static let authenticationFailed = Code(1000)
        /// `Authorization` header missing or empty.
        public static let authorizationMissing = Code(1001)
        /// `Authorization` malformed.
        public static let authorizationMalformed = Code(1002)
        /// JWT not yet valid.
        public static let tokenNotYetValid = Code(1003)
        /// JWT expired.
        public static let tokenExpired = Code(1004)
        /// Key disabled or no permission.
        public static let forbidden = Code(1103)
        /// Body is not valid JSON, not an object, or too large.
        public static let invalidBody = Code(1200)
        /// A parameter is missing, has the wrong type, or breaks a rule.
        public static let invalidParameter = Code(1201)
        /// Known path, wrong HTTP method.
        public static let methodNotAllowed = Code(1202)
        /// Unknown or expired resource or route.
        public static let notFound = Code(1203)
        /// Request rate limit exceeded.
        public static let rateLimited = Code(1302)
        /// Too many unfinished tasks.
        public static let tooManyTasks = Code(1303)
        /// Internal error.
        public static let internalError = Code(5000)
        /// Shutting down or not ready.
        public static let unavailable = Code(5001)
        /// An operation exceeded its time budget.
        public static let timeout = Code(5002)

        /// The HTTP status that carries this code (spec §1.1).
        public var httpStatus: Int {
            switch rawValue {
            case 1000...1099: 401
            case 1100...1199: 403
            case 1202, 1203: 404
            case 1200...1299: 400
            case 1300...1399: 429
            case 5001: 503
            case 5002: 504
            default: 500
            }
        }

        public var description: String { String(rawValue) }
    }

    public var code: Code
    public var message: String
    /// Whole seconds after which the same call may succeed, sent as `Retry-After`: set on 1302 (when the
    /// account's next request is allowed) and on 5001 while the server shuts down.
    public var retryAfterSeconds: Int?

    public init(_ code: Code, _ message: String, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

extension RotoError {
    /// A 1201 error naming a field, the rule it breaks and the value received.
    public static func invalid(_ field: String, _ rule: String, got value: String? = nil) -> RotoError {
        if let value {
            return RotoError(.invalidParameter, "\(field): \(rule) (got \(value))")
        }
        return RotoError(.invalidParameter, "\(field): \(rule)")
    }

    /// A 1203 error for an unknown or expired resource.
    public static func notFound(_ what: String) -> RotoError {
        RotoError(.notFound, what)
    }
}
