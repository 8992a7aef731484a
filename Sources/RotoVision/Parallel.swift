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
