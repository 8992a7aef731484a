import Crypto
import Foundation
import HTTPTypes
import RotoAPI
import RotoCore
import RotoStore
import Testing
@testable import RotoServer

/// Spec §1: envelope, request ids, authentication, error codes, routing.
@Suite struct ContractTests {
    @Test func healthAndEnvelope() async throws {
        try await withApp { client in
            let r = try await client.call(.get, "/healthz", key: nil)
            #expect(r.status == 200)
            #expect(r.code == 0)
            #expect(r.message == "SUCCEED")
            guard case .string(let id)? = r.json["request_id"] else { Issue.record("no request_id"); return }
            #expect(UUID(uuidString: id) != nil)
            #expect(r.headers[.requestID] == id)
            let ready = try await client.call(.get, "/readyz", key: nil)
            #expect(ready.code == 0)
        }
    }

    @Test func errorEnvelopeCarriesNullDataAndRequestID() async throws {
        try await withApp { client in
            let r = try await client.call(.get, "/v1/videos/multi-elements/sessions/123456789012345678")
            #expect(r.status == 404)
            #expect(r.code == 1203)
            #expect(r.json["data"] == .null)
            guard case .string(let id)? = r.json["request_id"] else { Issue.record("no request_id"); return }
            #expect(r.headers[.requestID] == id)
        }
    }

    @Test(arguments: [
        (nil as String?, 1001),
        ("", 1001),
        ("Basic abc", 1002),
        ("Bearer", 1002),
        ("Bearer unknown-key", 1000),
        ("Bearer a.b.c", 1002),
    ])
    func authenticationErrors(header: String?, code: Int) async throws {
        try await withApp { client in
            var headers = HTTPFields()
            if let header { headers[.authorization] = header }
            let r = try await client.call(.get, "/v1/videos/multi-elements/sessions/1", key: nil, headers: headers)
            #expect(r.status == 401)
            #expect(r.code == code, "\(header ?? "nil") → \(r.message)")
        }
    }

    @Test func klingJWT() async throws {
        // Read the clock at each use: on a loaded machine the calls can be seconds apart.
        var now: Int { Int(Date().timeIntervalSince1970) }
        try await withApp { client in
            func status(_ token: String) async throws -> Int? {
                try await client.call(.get, "/v1/videos/multi-elements/sessions/123456789012345678", key: token).code
            }
            // A good token passes authentication (and the unknown session is then 1203).
            let s1 = try await status(jwt(iss: Keys.accessKey, exp: now + 1800, nbf: now - 5))
            #expect(s1 == 1203)
            let s2 = try await status(jwt(iss: Keys.accessKey, exp: now + 1800, nbf: now - 5, secret: "wrong"))
            #expect(s2 == 1000)
            let s3 = try await status(jwt(iss: "AK_unknown", exp: now + 1800, nbf: now - 5))
            #expect(s3 == 1000)
            let s4 = try await status(jwt(iss: Keys.accessKey, exp: now + 1800, nbf: now + 60))
            #expect(s4 == 1003)
            let s5 = try await status(jwt(iss: Keys.accessKey, exp: now + 1800, nbf: now + 3))  // 5 s leeway
            #expect(s5 == 1203)
            let s6 = try await status(jwt(iss: Keys.accessKey, exp: now - 10, nbf: now - 100))
            #expect(s6 == 1004)
            let s7 = try await status(jwt(iss: Keys.accessKey, exp: now + 1800, nbf: now - 5, alg: "none"))
            #expect(s7 == 1002)
        }
    }

    @Test func disabledKeyIs1103() async throws {
        let config = testConfiguration()
        try await withApp(config) { client in
            let db = try AppDatabase.open(path: config.dataDirectory + "/roto.sqlite")
            try await db.setAPIKey(hash: AuthMiddleware.hash(Keys.b), disabled: true)
            let r = try await client.call(.get, "/v1/videos/multi-elements/sessions/1", key: Keys.b)
            #expect(r.status == 403)
            #expect(r.code == 1103)
        }
    }

    @Test func badBodies() async throws {
        try await withApp { client in
            let path = "/v1/videos/multi-elements/init-selection"
            let notJSON = try await client.call(.post, path, json: "{nope")
            #expect(notJSON.status == 400)
            #expect(notJSON.code == 1200)
            let array = try await client.call(.post, path, json: "[1,2]")
            #expect(array.code == 1200)
            let big = try await client.call(.post, path, json: #"{"video_url":""# + String(repeating: "a", count: 1 << 20) + #""}"#)
            #expect(big.code == 1200)
            #expect(big.message.contains("1048576"))
            // On task creation the refusal says where a large base64 image can go instead.
            let bigTask = try await client.call(.post, "/v1/videos/multi-elements",
                                                json: #"{"image_list":[{"image":""# + String(repeating: "A", count: 1 << 20) + #""}]}"#)
            #expect(bigTask.code == 1200 && bigTask.message.contains("POST /v1/files"), "\(bigTask.message)")
            let neither = try await client.call(.post, path, json: #"{"video_url":"","video_id":""}"#)
            #expect(neither.status == 400)
            #expect(neither.code == 1201)
            #expect(neither.message.contains("video_id/video_url"))
            let both = try await client.call(.post, path, json: #"{"video_url":"http://x.test/a.mp4","video_id":"1"}"#)
            #expect(both.code == 1201)
            let wrongType = try await client.call(.post, path, json: #"{"video_url":42}"#)
            #expect(wrongType.code == 1201)
            #expect(wrongType.message.contains("video_url") && wrongType.message.contains("42"))
            // Nothing listens on port 1: refused at once, and the message says so (not the error's type).
            let refused = try await client.call(.post, path, json: #"{"video_url":"http://127.0.0.1:1/clip.mp4"}"#)
            #expect(refused.code == 1201 && refused.message.contains("connection refused"), "\(refused.message)")
            let scheme = try await client.call(.post, path, json: #"{"video_url":"ftp://example.com/a.mp4"}"#)
            #expect(scheme.code == 1201)
            #expect(scheme.message.contains("http"))
            let unknownVideo = try await client.call(.post, path, json: #"{"video_id":"123456789012345678"}"#)
            #expect(unknownVideo.code == 1203)
        }
    }

    @Test func routing() async throws {
        try await withApp { client in
            let wrongMethod = try await client.call(.get, "/v1/videos/multi-elements/init-selection")
            #expect(wrongMethod.status == 404)
            #expect(wrongMethod.code == 1202)
            // `sessions` without an id is a task query (an external_task_id may be "sessions"), not 1202.
            let sessions = try await client.call(.get, "/v1/videos/multi-elements/sessions")
            #expect(sessions.code == 1203 && sessions.message.contains("task sessions"), "\(sessions.message)")
            let unknown = try await client.call(.get, "/v1/nothing/here")
            #expect(unknown.status == 404)
            #expect(unknown.code == 1203)
            // Both prefixes and a trailing slash reach the same route.
            for path in ["/kling/v1/videos/multi-elements/init-selection", "/v1/videos/multi-elements/init-selection/"] {
                let r = try await client.call(.post, path, json: "{}")
                #expect(r.code == 1201, "\(path)")
            }
        }
    }

    @Test func fileTokensAreUnknownWithoutAuth() async throws {
        try await withApp { client in
            let r = try await client.call(.get, "/v1/files/nope", key: nil)
            #expect(r.status == 404)
            #expect(r.code == 1203)
        }
    }

    @Test func rangeParsing() {
        #expect(FileRoutes.parseRange("bytes=0-9", size: 100) == .range(0...9))
        #expect(FileRoutes.parseRange("bytes=90-", size: 100) == .range(90...99))
        #expect(FileRoutes.parseRange("bytes=-10", size: 100) == .range(90...99))
        #expect(FileRoutes.parseRange("bytes=50-500", size: 100) == .range(50...99))
        #expect(FileRoutes.parseRange("bytes=100-", size: 100) == .unsatisfiable)
        #expect(FileRoutes.parseRange("bytes=0-1,5-6", size: 100) == .none)
        #expect(FileRoutes.parseRange("items=0-1", size: 100) == .none)
        #expect(FileRoutes.parseRange("bytes=9-1", size: 100) == .none)
    }

    @Test func rateLimiter() {
        let limiter = RateLimiter(rate: 1, burst: 3)
        #expect((0..<3).allSatisfy { _ in limiter.take("a", now: 100) == nil })
        #expect(limiter.take("a", now: 100) != nil)
        #expect(limiter.take("b", now: 100) == nil)
        #expect(limiter.take("a", now: 101.5) == nil)
        #expect(limiter.take("a", now: 101.5) == 0.5)  // half a token left: the next in half a second
    }

    @Test func rateLimitOverHTTP() async throws {
        var config = testConfiguration()
        config.limits.requestsPerSecond = 0.001
        config.limits.requestBurst = 2
        try await withApp(config) { client in
            var replies: [Reply] = []
            let start = ContinuousClock.now
            for _ in 0..<3 { replies.append(try await client.call(.get, "/v1/videos/multi-elements/sessions/1")) }
            let elapsed = ContinuousClock.now - start
            #expect(replies.map(\.code) == [1203, 1203, 1302])
            // The next token comes 1 / 0.001 s after the bucket emptied: Retry-After says how long is left
            // (whole seconds, rounded up), so 1000 s less at most the time the three calls took (on a
            // loaded machine that can pass a second).
            let retry = Int(replies[2].headers[.retryAfter] ?? "") ?? -1
            #expect(retry <= 1000 && retry >= 1000 - Int(elapsed.components.seconds) - 1,
                    "\(replies[2].headers), the calls took \(elapsed)")
            #expect(replies[2].message.contains("retry in \(retry) s"), "\(replies[2].message)")
            #expect(replies[0].headers[.retryAfter] == nil)
        }
    }
}

/// Signs a Kling-style HS256 JWT.
func jwt(iss: String, exp: Int, nbf: Int, secret: String = Keys.secretKey, alg: String = "HS256") -> String {
    let header = Base64URL.encode(Array(#"{"alg":"\#(alg)","typ":"JWT"}"#.utf8))
    let payload = Base64URL.encode(Array(#"{"iss":"\#(iss)","exp":\#(exp),"nbf":\#(nbf)}"#.utf8))
    let mac = HMAC<SHA256>.authenticationCode(for: Data("\(header).\(payload)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
    return "\(header).\(payload).\(Base64URL.encode(Array(mac)))"
}
