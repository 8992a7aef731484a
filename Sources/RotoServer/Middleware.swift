import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RotoAPI
import Synchronization

/// Outermost middleware: stamps `X-Request-Id` on every response and turns every error into the
/// envelope (spec §1). Unknown routes become 1203, known paths with the wrong method 1202.
struct EnvelopeMiddleware: RouterMiddleware {
    typealias Context = RotoRequestContext
    let routes: RouteTable
    let readiness: Readiness

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            response.headers[.requestID] = context.requestID
            return response
        } catch {
            let roto = map(error, request: request, context: context)
            return EnvelopeResponse.error(roto, requestID: context.requestID)
        }
    }

    func map(_ error: any Error, request: Request, context: Context) -> RotoError {
        switch error {
        case let e as RotoError:
            return e
        case let e as HTTPError where e.status == .notFound:
            if routes.hasPath(request.uri.path) {
                return RotoError(.methodNotAllowed, "method \(request.method) is not allowed on \(request.uri.path)")
            }
            return .notFound("no route \(request.method) \(request.uri.path)")
        case let e as HTTPError where e.status == .contentTooLarge:
            return RotoError(.invalidBody, "request body is too large")
        case let e as HTTPError where e.status.code < 500:
            return RotoError(.invalidBody, e.body ?? "bad request")
        case is CancellationError where readiness.isShuttingDown:
            return .shuttingDown()
        default:
            context.logger.error("internal error", metadata: ["request_id": "\(context.requestID)", "error": "\(String(reflecting: error))"])
            return RotoError(.internalError, "internal error (request id \(context.requestID))")
        }
    }
}

/// The path patterns of every API route, so that a wrong method (1202) can be told from an unknown
/// path (1203).
struct RouteTable: Sendable {
    private var patterns: [[Substring]] = []

    mutating func add(_ path: String) {
        patterns.append(path.split(separator: "/"))
    }

    func hasPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return patterns.contains { p in
            p.count == parts.count && zip(p, parts).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }
    }
}

/// Readiness and shutdown state shared by the routes and the lifecycle.
final class Readiness: Sendable {
    private struct State {
        var shuttingDown = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    func beginShutdown() {
        let waiters = state.withLock { s in
            s.shuttingDown = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when shutdown begins, or when the calling task is cancelled (check ``isShuttingDown``).
    func untilShutdown() async {
        let id = state.withLock { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                // Under the lock that `onCancel` takes too: a cancellation that came before this parks
                // nothing (the task is already marked cancelled when its handler runs); one after it
                // finds the waiter parked.
                let now = state.withLock { s in
                    if s.shuttingDown || Task.isCancelled { return true }
                    s.waiters[id] = waiter
                    return false
                }
                if now { waiter.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
