#if canImport(Glibc)
import Glibc
#endif
import NIOPosix
import RotoThreads
import ServiceLifecycle
import Synchronization

/// Runs blocking C work (FFmpeg, the vision engine, DNS) on a fixed set of threads, off Swift's
/// cooperative pool: concurrency is bounded by the number of threads.
struct BlockingPool: Sendable {
    let threads: NIOThreadPool
    /// The nice value of the pool's threads (Linux; 0 elsewhere): work on them, and every thread it
    /// starts (FFmpeg's, the tracker's), gets the CPU after work at a lower nice value.
    let niceness: Int32
    private let queue = Queue()

    private final class Queue: Sendable {
        let waiting = Atomic<Int>(0)
        let running = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
    }

    init(threads count: Int, niceness: Int32 = 0) {
        threads = NIOThreadPool(numberOfThreads: max(1, count))
        self.niceness = niceness
        threads.start()
    }

    /// How many calls to ``run(_:)`` are waiting for a thread: submitted, not yet started. (Work the pool
    /// drops unrun when it shuts down stays counted.)
    var waiting: Int { queue.waiting.load(ordering: .relaxed) }

    /// How many calls to ``run(_:)`` are running on a thread now.
    var running: Int { queue.running.load(ordering: .relaxed) }

    /// Whether calls to ``run(_:)`` are running or waiting.
    var isBusy: Bool { running > 0 || waiting > 0 }

    /// How many calls to ``run(_:)`` have ended since the pool started: a change says it has worked.
    var finished: Int { queue.finished.load(ordering: .relaxed) }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let niceness = niceness
        let queue = queue
        queue.waiting.add(1, ordering: .relaxed)
        return try await threads.runIfActive {
            queue.waiting.subtract(1, ordering: .relaxed)
            queue.running.add(1, ordering: .relaxed)
            defer {
                queue.running.subtract(1, ordering: .relaxed)
                queue.finished.add(1, ordering: .relaxed)
            }
            if niceness != 0 { Self.setNiceness(niceness) }
            return try body()
        }
    }

    /// Stops the threads once the work queued on them has run.
    func shutdown() async throws {
        try await threads.shutdownGracefully()
    }

    /// ``run(_:)`` for work that polls a ``CancellationFlag``: cancelling the calling task raises the
    /// flag, so the work stops at its next check instead of running to its end on the pool's thread
    /// (which `Task.isCancelled` there would never tell it).
    func run<T: Sendable>(cancellable body: @escaping @Sendable (CancellationFlag) throws -> T) async throws -> T {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await run { try body(flag) }
        } onCancel: {
            flag.raise()
        }
    }

    /// Sets the calling thread's nice value (on Linux nice is per thread, `who` 0 is the calling thread,
    /// and threads it starts inherit it). A thread may only raise its own: the pool's threads keep theirs.
    static func setNiceness(_ value: Int32) {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, value)
        #endif
    }

    /// The calling thread's nice value (0 where it is not per thread).
    static func niceness() -> Int32 {
        #if os(Linux)
        return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        #else
        return 0
        #endif
    }
}

/// The server's blocking pools, one per kind of wait. Short work that someone is waiting on at once runs
/// on `interactive` (a click's segmentation, reading a file to serve it, DNS, probing an upload); long
/// work that someone is waiting on runs on `jobs` (normalising a video, building its proxy, a preview);
/// edit tasks, which nobody watches run, on `tasks`; previews made ahead of their call (nobody is waiting
/// on them yet, see ``Previews``) on `ahead`, one at a time. Each lane runs at a higher nice value than
/// the one before, so a click is never queued behind a preview or a removal and gets the cores first, and a
/// preview or an init-selection is never queued behind an edit task and gets most of the cores from it.
struct ServerPools: Sendable {
    /// Nice value of the job threads: under CFS a nice-5 thread weighs about a third of a nice-0 one.
    static let jobNiceness: Int32 = 5
    /// Nice value of the edit-task threads: a nice-10 thread weighs about a third of a nice-5 one.
    static let taskNiceness: Int32 = 10
    /// Nice value of the thread that makes previews ahead: below everything else, edit tasks included.
    static let aheadNiceness: Int32 = 15

    let interactive: BlockingPool
    let jobs: BlockingPool
    let tasks: BlockingPool
    let ahead: BlockingPool

    /// `threads` for each of the interactive and job pools, `taskThreads` (the task worker's
    /// concurrency: a task holds its thread from start to end) for edit tasks, one thread for previews
    /// made ahead.
    /// (Tests that run beside many others give `aheadNiceness` the job threads' value, so that a render
    /// made ahead is not starved for minutes.)
    init(threads: Int, taskThreads: Int, aheadNiceness: Int32 = Self.aheadNiceness) {
        interactive = BlockingPool(threads: threads)
        jobs = BlockingPool(threads: threads, niceness: Self.jobNiceness)
        tasks = BlockingPool(threads: taskThreads, niceness: Self.taskNiceness)
        ahead = BlockingPool(threads: 1, niceness: aheadNiceness)
    }

    private var all: [BlockingPool] { [interactive, jobs, tasks, ahead] }

    /// Whether any pool has work running or waiting.
    var busy: Bool { all.contains(where: \.isBusy) }

    /// Whether jobs or edit tasks have work running or waiting.
    var jobsOrTasksBusy: Bool { jobs.isBusy || tasks.isBusy }

    /// Whether the pools of long work (jobs, edit tasks, previews made ahead) have nothing running or
    /// waiting: a preview made ahead would take no core from anyone.
    var longWorkIdle: Bool { !jobsOrTasksBusy && !ahead.isBusy }

    /// How many calls have ended on all the pools together.
    var finished: Int { all.reduce(0) { $0 + $1.finished } }

    /// The pools `configuration` asks for: `workerThreads` each for interactive work and jobs,
    /// `taskConcurrency` for edit tasks.
    init(_ configuration: ServerConfiguration) {
        self.init(threads: configuration.workerThreads, taskThreads: configuration.taskConcurrency)
    }
}

/// Owns the pool's lifetime inside the service group: shuts the threads down after every other service.
struct BlockingPoolService: Service {
    let pool: BlockingPool

    func run() async throws {
        try? await gracefulShutdown()
        try await pool.shutdown()
    }
}
