import Crypto
import Foundation
import Synchronization

/// Signs Kling API tokens: an HS256 JWT with header `{"alg":"HS256","typ":"JWT"}` and claims `iss` (the
/// access key), `exp` (now + `lifetime`) and `nbf` (now − 5 s), signed with the secret key.
public struct KlingTokenSigner: Sendable {
    /// The access key (the token's `iss`).
    public let accessKey: String
    /// How long a token is valid, in seconds (Kling's examples use 1800).
    public var lifetime: Int
    private let secretKey: String

    /// Creates a signer for an access key / secret key pair.
    public init(accessKey: String, secretKey: String, lifetime: Int = 1800) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.lifetime = lifetime
    }

    /// A token valid from `now − 5 s` to `now + lifetime`.
    public func token(now: Date = Date()) -> String {
        let t = Int(now.timeIntervalSince1970)
        let header = Self.base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let claims = Self.base64URL(Array(#"{"exp":\#(t + lifetime),"iss":\#(Self.jsonString(accessKey)),"nbf":\#(t - 5)}"#.utf8))
        let input = header + "." + claims
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Array(secretKey.utf8)))
        return input + "." + Self.base64URL(Array(mac))
    }

    /// Base64url without padding (RFC 7515 §2).
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A JSON string literal.
    static func jsonString(_ s: String) -> String {
        let data = (try? JSONEncoder().encode(s)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Holds the current token of a signer and signs a new one when less than `renewBefore` seconds of it
/// are left, so that a long-lived client never sends an expired token.
final class TokenCache: Sendable {
    let signer: KlingTokenSigner
    let renewBefore: TimeInterval
    private let state = Mutex<(token: String, expiresAt: Date)?>(nil)

    init(signer: KlingTokenSigner, renewBefore: TimeInterval = 300) {
        self.signer = signer
        self.renewBefore = min(renewBefore, TimeInterval(signer.lifetime) / 2)
    }

    /// The token to send at `now`.
    func token(now: Date = Date()) -> String {
        state.withLock { current in
            if let c = current, c.expiresAt.timeIntervalSince(now) > renewBefore { return c.token }
            let token = signer.token(now: now)
            current = (token, now.addingTimeInterval(TimeInterval(signer.lifetime)))
            return token
        }
    }
}
