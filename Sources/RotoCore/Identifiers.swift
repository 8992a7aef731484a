import Synchronization
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Generates time-ordered, unique decimal identifiers of 18–19 digits (spec §1.2).
///
/// Layout of the 63-bit value: milliseconds since 2015-01-01 (41 bits) · node (10 bits) · sequence (12 bits).
/// From 2015 + ~1 year on the value exceeds 10^17, so every id has at least 18 digits; it stays below
/// 2^63 (19 digits) until 2084.
public final class IDGenerator: Sendable {
    private struct State {
        var lastMillis: Int64 = 0
        var sequence: Int64 = 0
    }

    /// 2015-01-01T00:00:00Z in Unix milliseconds.
    static let epochMillis: Int64 = 1_420_070_400_000
    private let node: Int64
    private let state = Mutex(State())
    private let clock: @Sendable () -> Int64

    /// - Parameters:
    ///   - node: distinguishes processes that share a database (0–1023); random by default.
    ///   - clock: Unix milliseconds (injectable for tests).
    public init(node: Int? = nil, clock: @escaping @Sendable () -> Int64 = { UnixTime.nowMillis() }) {
        self.node = Int64(node ?? Int.random(in: 0..<1024)) & 0x3FF
        self.clock = clock
    }

    /// The next identifier, as its decimal string.
    public func next() -> String {
        let value: Int64 = state.withLock { s in
            var now = max(clock(), s.lastMillis)
            if now == s.lastMillis {
                s.sequence += 1
                if s.sequence > 0xFFF {  // 4096 ids in one millisecond: borrow the next one
                    now += 1
                    s.sequence = 0
                }
            } else {
                s.sequence = 0
            }
            s.lastMillis = now
            return ((now - Self.epochMillis) << 22) | (node << 12) | s.sequence
        }
        return String(value)
    }

    /// Whether `text` has the shape of an identifier: 18–19 decimal digits.
    public static func isWellFormed(_ text: String) -> Bool {
        (18...19).contains(text.utf8.count) && text.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}

/// Wall-clock helpers in Unix milliseconds.
public enum UnixTime {
    public static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// Capability tokens for file URLs: 192 random bits, base64url without padding.
public enum CapabilityToken {
    public static func make() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return Base64URL.encode(bytes)
    }
}

/// base64url (RFC 4648 §5) without padding, as JWTs and tokens use it.
public enum Base64URL {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !s.contains("=") else { return nil }
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }
}
