import Dispatch
import Synchronization

/// `body(i)` for every i in 0..<n on up to `threads` threads (the caller's included), results in order.
/// Items are handed out one at a time, so uneven items balance; with one thread (or one item) it is a
/// plain loop on the caller's thread.
func parallelMap<T: Sendable>(_ n: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
    if threads <= 1 || n <= 1 { return (0..<n).map(body) }
    let slots = Mutex<[T?]>([T?](repeating: nil, count: n))
    let next = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: min(threads, n)) { _ in
        while true {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= n { break }
            let v = body(i)
            slots.withLock { $0[i] = v }
        }
    }
    return slots.withLock { $0.map { $0! } }
}

/// A value computed on another thread from the moment it is made; ``value`` waits for it. The work runs
/// on a global dispatch queue, so it takes one of the pool's threads (bounded like ``parallelMap``'s).
final class Pending<T: Sendable>: Sendable {
    private let result = Mutex<T?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () -> T) {
        DispatchQueue.global().async { [self] in
            let v = body()
            result.withLock { $0 = v }
            done.signal()
        }
    }

    /// The value, once computed (any number of calls, from any thread).
    var value: T {
        done.wait()
        done.signal()
        return result.withLock { $0! }
    }
}
