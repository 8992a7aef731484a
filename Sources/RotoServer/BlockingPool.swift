import NIOPosix
import ServiceLifecycle

/// Runs blocking C work (FFmpeg, the vision engine, DNS) on a fixed set of threads, off Swift's
/// cooperative pool: concurrency is bounded by the number of threads.
struct BlockingPool: Sendable {
    let threads: NIOThreadPool

    init(threads count: Int) {
        threads = NIOThreadPool(numberOfThreads: max(1, count))
        threads.start()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await threads.runIfActive(body)
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
