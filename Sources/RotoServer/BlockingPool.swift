#if canImport(Glibc)
import Glibc
#endif
import NIOPosix
import ServiceLifecycle

/// Runs blocking C work (FFmpeg, the vision engine, DNS) on a fixed set of threads, off Swift's
/// cooperative pool: concurrency is bounded by the number of threads.
struct BlockingPool: Sendable {
    let threads: NIOThreadPool
    /// The nice value of the pool's threads (Linux; 0 elsewhere): work on them, and every thread it
    /// starts (FFmpeg's, the tracker's), gets the CPU after work at a lower nice value.
    let niceness: Int32

    init(threads count: Int, niceness: Int32 = 0) {
        threads = NIOThreadPool(numberOfThreads: max(1, count))
        self.niceness = niceness
        threads.start()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let niceness = niceness
        return try await threads.runIfActive {
            if niceness != 0 { Self.setNiceness(niceness) }
            return try body()
        }
    }

    /// The calling thread's nice value (on Linux nice is per thread, and `who` 0 is the calling thread;
    /// threads it starts inherit it). A thread may only raise its own: the pool's threads keep theirs.
    static func setNiceness(_ value: Int32) {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, value)
        #endif
    }

    /// The calling thread's nice value (0 where it is not per thread).
    static func niceness() -> Int32 {
        #if os(Linux)
        errno = 0
        return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        #else
        return 0
        #endif
    }
}

/// The server's two blocking pools. Short work that someone is waiting on at once runs on `interactive`
/// (a click's segmentation, reading a file to serve it, DNS, probing an upload); long jobs run on `jobs`
/// (normalising a video, building its proxy, a preview, an edit task) at a higher nice value. A click is
/// then never queued behind a preview or a removal, and gets the cores first while they run.
struct ServerPools: Sendable {
    /// Nice value of the job threads: under CFS a nice-5 thread gets about a third of the weight of a
    /// nice-0 one, so a click competing with two job threads gets most of a core.
    static let jobNiceness: Int32 = 5

    let interactive: BlockingPool
    let jobs: BlockingPool

    init(threads: Int) {
        interactive = BlockingPool(threads: threads)
        jobs = BlockingPool(threads: threads, niceness: Self.jobNiceness)
    }
}

/// Owns the pool's lifetime inside the service group: shuts the threads down after every other service.
struct BlockingPoolService: Service {
    let pool: BlockingPool

    func run() async throws {
        try? await gracefulShutdown()
        try await pool.threads.shutdownGracefully()
    }
}
