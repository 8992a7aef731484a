import RotoAPI
import Testing
@testable import RotoServer

/// `runUntil`: the race behind init-selection's budget (5002) and the shutdown's 5001.
@Suite struct StoppingTests {
    static func stopped() -> RotoError { RotoError(.timeout, "stopped") }

    @Test func aStopCancelsTheOperationAndThrowsItsError() async throws {
        await #expect(throws: RotoError.self) {
            try await runUntil({ true }, stopped: Self.stopped) {
                try await Task.sleep(for: .seconds(600))  // cancelled by the stop
                return 1
            }
        }
    }

    @Test func anOperationThatFinishesAfterTheStopKeepsItsResult() async throws {
        // The operation does not give up when cancelled (as when it has already stored what it made).
        let value = try await runUntil({ true }, stopped: Self.stopped) {
            _ = try? await Task.sleep(for: .milliseconds(20))
            return 42
        }
        #expect(value == 42)
    }

    @Test func withoutAStopTheOperationsOwnResultOrErrorComesBack() async throws {
        let never: @Sendable () async -> Bool = { (try? await Task.sleep(for: .seconds(600))) != nil }
        #expect(try await runUntil(never, stopped: Self.stopped) { 7 } == 7)
        do {
            _ = try await runUntil(never, stopped: Self.stopped) { () async throws -> Int in
                throw RotoError.invalid("x", "must be y")
            }
            Issue.record("no error")
        } catch let error as RotoError {
            #expect(error.code == .invalidParameter)
        }
    }

    @Test func theBudgetIs5002() async throws {
        do {
            _ = try await withinBudget(0, "the call") { () async throws -> Int in
                try await Task.sleep(for: .seconds(600))
                return 1
            }
            Issue.record("no error")
        } catch let error as RotoError {
            #expect(error.code == .timeout && error.message.contains("the call exceeded its time budget of 0 s"))
        }
    }
}
