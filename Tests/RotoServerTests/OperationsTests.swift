import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RotoAPI
@testable import RotoServer
import Testing

/// Spec §8: `GET /metrics` (Prometheus text; a key only when the operator sets one) and
/// `GET /openapi.yaml` (the contract as OpenAPI 3.1).
@Suite struct OperationsTests {
    @Test func metricsCountRequestsAndReadTheDatabase() async throws {
        try await withApp { client in
            _ = try await client.call(.get, "/v1/videos/multi-elements/sessions/123456789012345678")  // 1203
            _ = try await client.call(.get, "/v1/nothing/here")
            let r = try await client.call(.get, "/metrics", key: nil)
            #expect(r.status == 200)
            #expect(r.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: r.body)
            // The unknown session and the unknown route, by route pattern and final status.
            #expect(text.contains(#"roto_http_requests_total{route="/v1/videos/multi-elements/sessions/{session_id}",method="GET",status="404"} 1"#), "\(text)")
            #expect(text.contains(#"roto_http_requests_total{route="NotFound",method="GET",status="404"} 1"#), "\(text)")
            #expect(text.contains("roto_sessions 0"))
            #expect(text.contains(#"roto_tasks{status="submitted"} 0"#))
            #expect(text.contains("roto_callbacks_pending 0"))
            #expect(text.contains("# TYPE roto_http_request_duration_seconds histogram"))
        }
    }

    @Test func metricsKeyWhenTheOperatorSetsOne() async throws {
        var config = testConfiguration()
        config.metricsKey = "scrape-me"
        try await withApp(config) { client in
            #expect(try await client.call(.get, "/metrics", key: nil).code == 1001)
            #expect(try await client.call(.get, "/metrics", key: Keys.a).code == 1000)  // an API key is not the metrics key
            let r = try await client.call(.get, "/metrics", key: "scrape-me")
            #expect(r.status == 200 && String(buffer: r.body).contains("roto_sessions"))
            // The other health routes stay open.
            #expect(try await client.call(.get, "/healthz", key: nil).code == 0)
        }
    }

    @Test func openAPIDocumentListsEveryRoute() async throws {
        try await withApp { client in
            let r = try await client.call(.get, "/openapi.yaml", key: nil)
            #expect(r.status == 200)
            #expect(r.headers[.contentType]?.hasPrefix("application/yaml") == true)
            let text = String(buffer: r.body)
            #expect(text.hasPrefix("openapi: 3.1."))
            // Every route the server registers is documented with its method, and nothing else is.
            var served: Set<String> = ["GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.yaml",
                                       "GET /v1/files/{}", "HEAD /v1/files/{}"]
            // `sessions` alone is the task query's {id} (a route of its own only because of how the router
            // matches constant segments).
            for endpoint in APIEndpoint.allCases where endpoint != .taskNamedSessions {
                let path = "/v1/" + endpoint.path.split(separator: "/").map { $0.hasPrefix(":") ? "{}" : String($0) }
                    .joined(separator: "/")
                served.insert("\(endpoint.method.rawValue) \(path)")
            }
            #expect(Self.documentedOperations(text) == served)
        }
    }

    /// `METHOD /path` for every operation under `paths:` (two-space path keys, four-space method keys).
    static func documentedOperations(_ yaml: String) -> Set<String> {
        var operations: Set<String> = []
        var inPaths = false
        var path: String?
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty { inPaths = line.hasPrefix("paths:"); path = nil; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   ") {
                // Parameter names aside: `{id}` and the router's `:task_id` are the same segment.
                let key = line.dropFirst(2).prefix { $0 != ":" }
                path = key.split(separator: "/").map { $0.hasPrefix("{") ? "{}" : String($0) }.joined(separator: "/")
                    .replacingOccurrences(of: "^", with: "/", options: .regularExpression)
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     ") {
                let key = line.dropFirst(4).prefix { $0 != ":" }
                if methods.contains(String(key)) { operations.insert("\(key.uppercased()) \(path)") }
            }
        }
        return operations
    }
}
