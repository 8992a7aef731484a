import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import RotoAPI
import RotoCore
#if canImport(Glibc)
import Glibc
#endif

/// Downloads a URL to a file under the rules of spec §2: http(s) only, every resolved address checked
/// (also after each redirect) and the connection pinned to a checked address (no DNS rebinding), at most
/// 5 redirects, connect/read timeouts and a size cap.
struct Downloader: Sendable {
    var allowPrivateNetworks: Bool
    var connectTimeout: TimeAmount
    var readTimeout: TimeAmount
    var maxRedirects = 5
    let pool: BlockingPool

    /// Downloads `url` to `destination`; errors are 1201 naming `field`.
    func download(_ url: String, to destination: String, maxBytes: Int, field: String) async throws {
        var current = try Self.parse(url, field: field)
        for _ in 0...maxRedirects {
            let addresses = try await checkedAddresses(of: current, field: field)
            switch try await fetchOnce(current, pinnedTo: addresses[0], to: destination, maxBytes: maxBytes, field: field) {
            case .done:
                return
            case .redirect(let location):
                guard let next = URL(string: location, relativeTo: current)?.absoluteURL else {
                    throw RotoError.invalid(field, "redirect Location is not a URL", got: location)
                }
                current = try Self.parse(next.absoluteString, field: field)
            }
        }
        throw RotoError.invalid(field, "must reach the file in at most \(maxRedirects) redirects",
                                got: "redirect number \(maxRedirects + 1), to \(current.absoluteString.prefix(200))")
    }

    static func parse(_ text: String, field: String) throws(RotoError) -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw .invalid(field, "must be an absolute http or https URL", got: "\"\(text.prefix(200))\"")
        }
        guard scheme == "http" || scheme == "https" else {
            throw .invalid(field, "scheme must be http or https", got: scheme)
        }
        return url
    }

    private enum Outcome { case done, redirect(String) }

    private func fetchOnce(_ url: URL, pinnedTo ip: AddressRule.IP, to destination: String, maxBytes: Int,
                           field: String) async throws -> Outcome {
        try await withPinnedClient(url, ip, field: field, failure: "could not be downloaded") { client in
            try await get(url, client: client, to: destination, maxBytes: maxBytes, field: field)
        }
    }

    /// The addresses of `url`'s host, checked against the address rule; connections go to the first.
    private func checkedAddresses(of url: URL, field: String) async throws -> [AddressRule.IP] {
        let host = url.host ?? ""
        let addresses = try await resolve(host, field: field)
        try AddressRule.check(host: host, addresses: addresses, field: field, allowPrivate: allowPrivateNetworks)
        return addresses
    }

    /// Runs `body` with a client whose connections to `url`'s host go to the checked address `ip`. A
    /// failure other than a ``RotoError`` becomes 1201 naming `field`: "<field>: <failure>".
    private func withPinnedClient<T>(_ url: URL, _ ip: AddressRule.IP, field: String, failure: String,
                                     _ body: (HTTPClient) async throws -> T) async throws -> T {
        var config = HTTPClient.Configuration()
        config.redirectConfiguration = .disallow
        config.timeout = .init(connect: connectTimeout, read: readTimeout)
        // A refused connection fails the call at once instead of being retried until the connect timeout
        // (the client is pinned to one checked address; callbacks have retries of their own).
        config.connectionPool.retryConnectionEstablishment = false
        if let host = url.host, AddressRule.IP(host) == nil {
            config.dnsOverride = [host: ip.description]
        }
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: config)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            if let e = error as? RotoError { throw e }
            throw RotoError.invalid(field, failure, got: Self.describe(error))
        }
    }

    /// Checks `url` against the address rule now (callback URLs at task creation).
    func checkAddress(_ url: String, field: String) async throws {
        _ = try await checkedAddresses(of: try Self.parse(url, field: field), field: field)
    }

    /// POSTs `body` to `url` under the same address rule (no redirect is followed) and returns the
    /// HTTP status. Callback deliveries use it; errors are 1201 naming `field`.
    func post(_ url: String, body: [UInt8], headers: [(String, String)], field: String) async throws -> Int {
        let target = try Self.parse(url, field: field)
        let addresses = try await checkedAddresses(of: target, field: field)
        return try await withPinnedClient(target, addresses[0], field: field, failure: "could not be reached") { client in
            var request = HTTPClientRequest(url: target.absoluteString)
            request.method = .POST
            request.headers.add(name: "User-Agent", value: "roto/1")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: readTimeout + connectTimeout)
            // Drain (and ignore) what the receiver says, up to 64 KiB.
            _ = try? await response.body.collect(upTo: 64 << 10)
            return Int(response.status.code)
        }
    }

    private func get(_ url: URL, client: HTTPClient, to destination: String, maxBytes: Int,
                     field: String) async throws -> Outcome {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.headers.add(name: "User-Agent", value: "roto/1")
        let response = try await client.execute(request, timeout: readTimeout + connectTimeout + .seconds(600))
        if (300..<400).contains(Int(response.status.code)), let location = response.headers.first(name: "location") {
            return .redirect(location)
        }
        guard response.status == .ok else {
            throw RotoError.invalid(field, "download must answer HTTP 200", got: "HTTP \(response.status.code)")
        }
        if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > maxBytes {
            throw RotoError.invalid(field, "file must be at most \(maxBytes) bytes", got: "\(length) bytes")
        }
        guard FileManager.default.createFile(atPath: destination, contents: nil),
              let handle = FileHandle(forWritingAtPath: destination) else {
            throw RotoError(.internalError, "cannot write a temporary file")
        }
        defer { try? handle.close() }
        var total = 0
        for try await chunk in response.body {
            total += chunk.readableBytes
            guard total <= maxBytes else {
                throw RotoError.invalid(field, "file must be at most \(maxBytes) bytes", got: "more than \(maxBytes) bytes")
            }
            try handle.write(contentsOf: chunk.readableBytesView)
        }
        return .done
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError {
            switch e {
            case .connectTimeout: return "connect timed out"
            case .readTimeout, .deadlineExceeded: return "read timed out"
            default: return "\(e)"
            }
        }
        // A socket error (connection refused, host unreachable …): the system's words, not the type's.
        if let e = error as? IOError {
            return String(cString: strerror(e.errnoCode)).lowercased()
        }
        return "\(type(of: error))"
    }

    /// Resolves a host name (or parses an IP literal) off the cooperative pool.
    func resolve(_ host: String, field: String) async throws -> [AddressRule.IP] {
        if let ip = AddressRule.IP(host) { return [ip] }
        return try await pool.run { Self.getaddrinfo(host) }
    }

    static func getaddrinfo(_ host: String) -> [AddressRule.IP] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard Glibc.getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var out: [AddressRule.IP] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let n = node {
            if let sa = n.pointee.ai_addr {
                var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                if n.pointee.ai_family == AF_INET {
                    sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                        var a = p.pointee.sin_addr
                        _ = inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count))
                    }
                } else if n.pointee.ai_family == AF_INET6 {
                    sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                        var a = p.pointee.sin6_addr
                        _ = inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
                    }
                }
                let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                if let ip = AddressRule.IP(text), !out.contains(ip) { out.append(ip) }
            }
            node = n.pointee.ai_next
        }
        return out
    }
}
