import Crypto
import Foundation
import Hummingbird
import RotoAPI
import RotoCore
import RotoStore
import Synchronization

/// Authenticates API routes (spec §1): an API key, or a Kling HS256 JWT signed with the secret of its
/// access key (`iss`). Then applies the account's request rate limit.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = RotoRequestContext
    let database: AppDatabase
    let rateLimiter: RateLimiter
    let readiness: Readiness

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !readiness.isShuttingDown else { throw RotoError.shuttingDown() }
        var context = context
        let account = try await authenticate(request.headers[.authorization])
        if let wait = rateLimiter.take(account.id) {
            let seconds = Int(wait.rounded(.up))
            throw RotoError(.rateLimited, "request rate limit exceeded for this account; retry in \(seconds) s",
                            retryAfterSeconds: seconds)
        }
        context.account = account
        return try await next(request, context)
    }

    func authenticate(_ header: String?) async throws -> AccountRecord {
        let token = try Self.bearerToken(header)
        if token.split(separator: ".", omittingEmptySubsequences: false).count == 3 {
            return try await authenticateJWT(token)
        }
        guard let found = try await database.apiKey(hash: Self.hash(token)) else {
            throw RotoError(.authenticationFailed, "unknown API key")
        }
        guard !found.key.disabled, !found.account.disabled else {
            throw RotoError(.forbidden, "this API key is disabled")
        }
        return found.account
    }

    func authenticateJWT(_ token: String) async throws -> AccountRecord {
        let jwt = try KlingJWT(parsing: token)
        guard let found = try await database.accessKey(jwt.issuer) else {
            throw RotoError(.authenticationFailed, "unknown access key in JWT iss")
        }
        guard jwt.verify(secret: found.key.secretKey) else {
            throw RotoError(.authenticationFailed, "JWT signature does not verify")
        }
        let now = Double(UnixTime.nowMillis()) / 1000
        if let nbf = jwt.notBefore, nbf > now + 5 {
            throw RotoError(.tokenNotYetValid, "JWT is not valid yet (nbf is in the future)")
        }
        if jwt.expiresAt < now {
            throw RotoError(.tokenExpired, "JWT has expired")
        }
        guard !found.key.disabled, !found.account.disabled else {
            throw RotoError(.forbidden, "this access key is disabled")
        }
        return found.account
    }

    /// The token of an `Authorization: Bearer <token>` header (1001 when missing, 1002 when malformed).
    static func bearerToken(_ header: String?) throws(RotoError) -> String {
        guard let header, !header.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw RotoError(.authorizationMissing, "Authorization header is missing")
        }
        let parts = header.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw RotoError(.authorizationMalformed, "Authorization must be 'Bearer <token>'")
        }
        return String(parts[1])
    }

    /// Hex SHA-256 of an API key: the only form in which keys are stored.
    static func hash(_ key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// A parsed Kling JWT (HS256): header `{"alg":"HS256","typ":"JWT"}`, claims `iss`, `exp`, `nbf`.
struct KlingJWT {
    let signingInput: String
    let signature: [UInt8]
    let issuer: String
    let expiresAt: Double
    let notBefore: Double?

    init(parsing token: String) throws(RotoError) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        func json(_ part: Substring, _ what: String) throws(RotoError) -> [String: JSONValue] {
            guard let bytes = Base64URL.decode(part),
                  case .object(let o)? = try? JSONCoding.decoder.decode(JSONValue.self, from: Data(bytes)) else {
                throw RotoError(.authorizationMalformed, "JWT \(what) is not base64url-encoded JSON")
            }
            return o
        }
        let header = try json(parts[0], "header")
        guard header["alg"] == .string("HS256") else {
            throw RotoError(.authorizationMalformed, "JWT alg must be HS256")
        }
        let claims = try json(parts[1], "payload")
        guard case .string(let iss)? = claims["iss"], !iss.isEmpty else {
            throw RotoError(.authorizationMalformed, "JWT must carry iss (the access key)")
        }
        guard case .number(let exp)? = claims["exp"] else {
            throw RotoError(.authorizationMalformed, "JWT must carry a numeric exp")
        }
        var nbf: Double?
        if let v = claims["nbf"] {
            guard case .number(let n) = v else { throw RotoError(.authorizationMalformed, "JWT nbf must be a number") }
            nbf = n
        }
        guard let sig = Base64URL.decode(parts[2]) else {
            throw RotoError(.authorizationMalformed, "JWT signature is not base64url")
        }
        signingInput = "\(parts[0]).\(parts[1])"
        signature = sig
        issuer = iss
        expiresAt = exp
        notBefore = nbf
    }

    func verify(secret: String) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data(signingInput.utf8),
                                               using: SymmetricKey(data: Data(secret.utf8)))
    }
}

/// Per-account token buckets (spec 1302).
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let rate: Double
    private let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// Takes a token for `account`: nil when there was one, else the seconds until there is.
    func take(_ account: String, now: Double = Double(UnixTime.nowMillis()) / 1000) -> Double? {
        buckets.withLock { b in
            var bucket = b[account] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            let ok = bucket.tokens >= 1
            if ok { bucket.tokens -= 1 }
            b[account] = bucket
            if b.count > 10_000 { b = b.filter { now - $0.value.updated < 60 } }
            return ok ? nil : (1 - bucket.tokens) / rate
        }
    }
}
