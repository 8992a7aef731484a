#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

// The helpers below run their work on threads started by the calling thread, not on a shared pool:
// a thread inherits its creator's scheduling priority (on Linux, its nice value), so the helpers of a
// long job that the server runs at a lower priority stay at that priority and never compete on equal
// terms with a click's segmentation. Starting a thread costs tens of microseconds; every caller hands
// out work by the frame or by the clip.

/// `body(i)` for every i in 0..<n on up to `threads` threads (the caller's included), results in order.
/// Items are handed out one at a time, so uneven items balance; with one thread (or one item) it is a
/// plain loop on the caller's thread.
public func parallelMap<T: Sendable>(_ n: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
    if threads <= 1 || n <= 1 { return (0..<n).map(body) }
    let shared = MapSlots<T>(n)
    withoutActuallyEscaping(body) { body in
        let work: @Sendable () -> Void = {
            while true {
                let i = shared.next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= n { break }
                let v = body(i)
                shared.slots.withLock { $0[i] = v }
            }
        }
        // Joined before `body` goes out of scope.
        let helpers = (1..<min(threads, n)).map { _ in JoinableThread(work) }
        work()
        for helper in helpers { helper.join() }
    }
    return shared.slots.withLock { $0.map { $0! } }
}

/// The results of a ``parallelMap`` and the next item to hand out, shared by its threads.
private final class MapSlots<T: Sendable>: Sendable {
    let slots: Mutex<[T?]>
    let next = Atomic<Int>(0)
    init(_ n: Int) { slots = Mutex([T?](repeating: nil, count: n)) }
}

/// A value computed on another thread (started by the caller, at its priority) from the moment it is
/// made; ``value`` waits for it.
public final class Pending<T: Sendable>: Sendable {
    private final class Slot: Sendable {
        let value = Mutex<T?>(nil)
    }
    private let slot: Slot
    private let thread: JoinableThread

    public init(_ body: @escaping @Sendable () -> T) {
        let slot = Slot()
        self.slot = slot
        thread = JoinableThread { slot.value.withLock { $0 = body() } }
    }

    /// The value, once computed (any number of calls, from any thread).
    public var value: T {
        thread.join()
        return slot.value.withLock { $0! }
    }

    deinit { thread.join() }
}

/// A POSIX thread running one closure; ``join()`` waits for it (any number of calls, from any thread).
public final class JoinableThread: Sendable {
    /// The thread until it is joined.
    private let thread: Mutex<pthread_t?>

    public init(_ body: @escaping @Sendable () -> Void) {
        final class Box: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let started = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if started != 0 {
            // No thread to be had (resource limits): run it here rather than fail.
            Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()
            self.thread = Mutex(nil)
        } else {
            self.thread = Mutex(thread)
        }
    }

    public func join() {
        thread.withLock { t in
            guard let running = t else { return }
            pthread_join(running, nil)
            t = nil
        }
    }
}

/// Values handed from one thread to another in the order they were put: ``take()`` waits for the next
/// one, and gives nil once ``finish()`` has been called and every value taken. Nothing bounds what is
/// held: the producer never waits.
public final class Handoff<T: Sendable>: Sendable {
    private struct State {
        var values: [T] = []
        var finished = false
    }
    private let state = Mutex(State())
    private let ready = DispatchSemaphore(value: 0)

    public init() {}

    public func put(_ value: T) {
        state.withLock { $0.values.append(value) }
        ready.signal()
    }

    /// No value will be put any more.
    public func finish() {
        state.withLock { $0.finished = true }
        ready.signal()
    }

    public func take() -> T? {
        while true {
            let (value, finished) = state.withLock { s -> (T?, Bool) in
                s.values.isEmpty ? (nil, s.finished) : (s.values.removeFirst(), false)
            }
            if let value { return value }
            if finished { return nil }
            ready.wait()
        }
    }
}
