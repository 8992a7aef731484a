import RotoAPI
import Foundation

/// The address rule of spec §2: which resolved IP addresses a server-side download may reach.
public enum AddressRule {
    /// An IP address as raw bytes (4 for IPv4, 16 for IPv6).
    public enum IP: Sendable, Hashable, CustomStringConvertible {
        case v4(UInt8, UInt8, UInt8, UInt8)
        case v6([UInt8])

        /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::` and an embedded IPv4 tail).
        public init?(_ text: String) {
            var t = Substring(text)
            if t.hasPrefix("["), t.hasSuffix("]") { t = t.dropFirst().dropLast() }
            if let zone = t.firstIndex(of: "%") { t = t[..<zone] }
            if let v4 = Self.parseV4(t) {
                self = .v4(v4[0], v4[1], v4[2], v4[3])
            } else if let v6 = Self.parseV6(t) {
                self = .v6(v6)
            } else {
                return nil
            }
        }

        /// Canonical dotted decimal only. A part with a leading zero is not read here: the system's
        /// resolver reads `012.0.0.1` as octal (10.0.0.1), so such a host must go through it and have the
        /// address it really names checked, not the decimal one it seems to name.
        static func parseV4(_ t: Substring) -> [UInt8]? {
            let parts = t.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var out: [UInt8] = []
            for p in parts {
                guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), p.count == 1 || p.first != "0",
                      let v = UInt8(p) else { return nil }
                out.append(v)
            }
            return out
        }

        static func parseV6(_ t: Substring) -> [UInt8]? {
            guard t.contains(":") else { return nil }
            let halves = t.components(separatedBy: "::")
            guard halves.count <= 2 else { return nil }
            func groups(_ s: String) -> [UInt8]? {
                if s.isEmpty { return [] }
                var bytes: [UInt8] = []
                let parts = s.split(separator: ":", omittingEmptySubsequences: false)
                for (i, p) in parts.enumerated() {
                    if i == parts.count - 1, p.contains("."), let v4 = parseV4(p) {
                        bytes += v4
                    } else {
                        guard (1...4).contains(p.count), let v = UInt16(p, radix: 16) else { return nil }
                        bytes += [UInt8(v >> 8), UInt8(v & 0xFF)]
                    }
                }
                return bytes
            }
            guard let head = groups(halves[0]) else { return nil }
            if halves.count == 1 { return head.count == 16 ? head : nil }
            guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
            return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
        }

        public var description: String {
            switch self {
            case let .v4(a, b, c, d): return "\(a).\(b).\(c).\(d)"
            case let .v6(bytes):
                var groups: [String] = []
                for i in stride(from: 0, to: 16, by: 2) {
                    groups.append(String(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]), radix: 16))
                }
                return groups.joined(separator: ":")
            }
        }
    }

    /// Why an address is not public, or nil when it is.
    public static func nonPublicReason(_ ip: IP) -> String? {
        switch ip {
        case let .v4(a, b, c, _):
            switch (a, b) {
            case (0, _): return "unspecified"
            case (10, _), (172, 16...31), (192, 168): return "private"
            case (100, 64...127): return "shared (carrier-grade NAT)"
            case (127, _): return "loopback"
            case (169, 254): return "link-local"
            case (198, 18...19): return "benchmarking"
            case (224...239, _): return "multicast"
            case (240...255, _): return "reserved"
            default: break
            }
            if a == 192, b == 0, c == 0 { return "IETF protocol assignments" }
            return nil
        case let .v6(x):
            if x.allSatisfy({ $0 == 0 }) { return "unspecified" }
            if x[0..<15].allSatisfy({ $0 == 0 }), x[15] == 1 { return "loopback" }
            // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): judge the IPv4 address.
            if x[0..<10].allSatisfy({ $0 == 0 }), (x[10] == 0xFF && x[11] == 0xFF) || (x[10] == 0 && x[11] == 0) {
                return nonPublicReason(.v4(x[12], x[13], x[14], x[15])).map { "IPv4-mapped \($0)" }
            }
            // NAT64 well-known prefix 64:ff9b::/96.
            if x[0] == 0, x[1] == 0x64, x[2] == 0xFF, x[3] == 0x9B, x[4..<12].allSatisfy({ $0 == 0 }) {
                return nonPublicReason(.v4(x[12], x[13], x[14], x[15])).map { "NAT64 \($0)" }
            }
            if x[0] == 0xFF { return "multicast" }
            if x[0] == 0xFE, x[1] & 0xC0 == 0x80 { return "link-local" }
            if x[0] == 0xFE, x[1] & 0xC0 == 0xC0 { return "site-local" }
            if x[0] & 0xFE == 0xFC { return "unique local (private)" }
            if x[0] == 0x20, x[1] == 0x01, x[2] == 0x0D, x[3] == 0xB8 { return "documentation" }
            return nil
        }
    }

    /// Checks every resolved address of `host`; throws 1201 naming the first refused one.
    public static func check(host: String, addresses: [IP], field: String,
                             allowPrivate: Bool) throws(RotoError) {
        guard !addresses.isEmpty else {
            throw .invalid(field, "host name must resolve", got: host)
        }
        guard !allowPrivate else { return }
        for ip in addresses {
            if let reason = nonPublicReason(ip) {
                throw .invalid(field, "must resolve only to public addresses; \(host) resolves to \(reason) address",
                               got: ip.description)
            }
        }
    }
}
