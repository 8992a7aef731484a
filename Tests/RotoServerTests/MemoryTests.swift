@testable import RotoServer
import Testing

/// When the server returns freed memory: once per burst of work, after a whole quiet interval.
struct IdleTrimPolicyTests {
    /// The policy's answer to each (busy, finished) look in turn.
    func answers(_ looks: [(busy: Bool, finished: Int)]) -> [Bool] {
        var policy = IdleTrimPolicy()
        return looks.map { policy.shouldTrim(busy: $0.busy, finished: $0.finished) }
    }

    @Test func trimsOnceAfterAQuietIntervalFollowingWork() {
        let looks = [(false, 0), (false, 0),  // nothing has run yet
                     (true, 0),  // a preview runs
                     (false, 1),  // it has just ended: wait a whole interval
                     (false, 1),  // still quiet: trim
                     (false, 1), (false, 1)]  // once only
        #expect(answers(looks.map { (busy: $0.0, finished: $0.1) }) == [false, false, false, false, true, false, false])
    }

    @Test func workInTheIntervalPostponesTheTrim() {
        let looks = [(false, 3), (false, 5),  // two clicks ended since the last look
                     (true, 5),  // then a preview started
                     (false, 6), (false, 6),  // it ended; a whole quiet interval later: trim
                     (false, 7), (false, 7)]  // more work: a new burst, a new wait
        #expect(answers(looks.map { (busy: $0.0, finished: $0.1) }) == [false, false, false, false, true, false, true])
    }

    @Test func poolsCountTheirRunningAndFinishedCalls() async throws {
        let pools = ServerPools(threads: 1, taskThreads: 1)
        #expect(!pools.busy && pools.finished == 0)
        let seenBusy = try await pools.jobs.run { pools.busy && pools.jobs.running == 1 }
        #expect(seenBusy)
        #expect(!pools.busy && pools.finished == 1)
        await #expect(throws: CancellationError.self) { try await pools.tasks.run { throw CancellationError() } }
        #expect(!pools.busy && pools.finished == 2)
        for pool in [pools.interactive, pools.jobs, pools.tasks] { try await pool.shutdown() }
    }
}
