import Synchronization

/// A flag that blocking work polls to stop early. Work on a thread of its own cannot see Swift task
/// cancellation (`Task.isCancelled` is false off a task), so whoever starts it raises this instead: on
/// the caller's task cancellation (`BlockingPool.run(cancellable:)` in the server), at shutdown (the
/// task worker). Raising is permanent.
public final class CancellationFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    public init() {}

    public func raise() { raised.store(true, ordering: .relaxed) }

    public var isRaised: Bool { raised.load(ordering: .relaxed) }

    /// Throws `CancellationError` once raised.
    public func check() throws(CancellationError) {
        if isRaised { throw CancellationError() }
    }
}
