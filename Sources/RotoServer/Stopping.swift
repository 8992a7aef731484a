import RotoAPI

/// Runs `operation` until `stop` says it should stop (returns true): the operation is then cancelled
/// (blocking work under it stops through `BlockingPool.run(cancellable:)`) and `stopped` is thrown. An
/// operation that finishes first keeps its result or error, even once stopped: what it stored, it
/// answers with. `stop` returns false when it is cancelled itself (the operation ended).
func runUntil<T: Sendable>(_ stop: @escaping @Sendable () async -> Bool, stopped: @escaping @Sendable () -> RotoError,
                           _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: RaceOutcome<T>.self) { group in
        group.addTask { .done(try await operation()) }
        group.addTask { .stop(await stop()) }
        defer { group.cancelAll() }
        var fired = false
        do {
            while let next = try await group.next() {
                switch next {
                case .done(let value): return value
                case .stop(true): fired = true; group.cancelAll()
                case .stop(false): continue
                }
            }
        } catch where fired {
            throw stopped()
        }
        throw stopped()  // not reached: the operation either returns or throws
    }
}

/// What finished first in ``runUntil(_:stopped:_:)``: the operation, or the stop condition (true: it fired;
/// false: it was cancelled).
private enum RaceOutcome<T: Sendable>: Sendable {
    case done(T)
    case stop(Bool)
}

/// ``runUntil(_:stopped:_:)`` with a time budget: 5002 after `seconds`.
func withinBudget<T: Sendable>(_ seconds: Int64, _ what: String,
                               _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await runUntil({ (try? await Task.sleep(for: .seconds(seconds))) != nil },
                       stopped: { RotoError(.timeout, "\(what) exceeded its time budget of \(seconds) s; nothing was stored") },
                       operation)
}

extension Readiness {
    /// ``runUntil(_:stopped:_:)`` until shutdown begins: 5001, so that work someone waits on (an
    /// init-selection, a preview) does not hold the shutdown.
    func stoppingAtShutdown<T: Sendable>(_ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await runUntil({ await self.untilShutdown(); return self.isShuttingDown },
                           stopped: { .shuttingDown("the server is shutting down; \(what) was stopped and stored nothing, retry it") },
                           operation)
    }
}
