/// Every configurable limit of spec §7, with its default.
public struct Limits: Sendable, Equatable {
    /// How long a session lives (milliseconds).
    public var sessionLifetimeMillis: Int64 = 24 * 3600 * 1000
    /// How long task results live (milliseconds).
    public var resultLifetimeMillis: Int64 = 30 * 24 * 3600 * 1000
    /// How long an upload stays usable (milliseconds).
    public var uploadLifetimeMillis: Int64 = 24 * 3600 * 1000
    /// Distinct marked frames per session.
    public var maxMarkedFrames = 10
    /// Points per frame per object.
    public var maxPointsPerFrameObject = 10
    /// JSON request body (bytes).
    public var maxJSONBody = 1 << 20
    /// Downloaded or uploaded video (bytes).
    public var maxVideoBytes = 300 * 1000 * 1000
    /// Downloaded or uploaded image (bytes).
    public var maxImageBytes = 10 * 1000 * 1000
    /// Unfinished tasks per account.
    public var maxUnfinishedTasks = 4
    /// Requests per second per account (token bucket refill), and the bucket size.
    public var requestsPerSecond: Double = 20
    public var requestBurst: Double = 60

    public init() {}
}
