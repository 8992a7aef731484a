import Foundation

/// Wall time of the phases of one blocking job, for its log line ("decode 120 ms, track 2,300 ms").
struct PhaseTimer {
    private let clock = ContinuousClock()
    private var mark: ContinuousClock.Instant
    private var phases: [String] = []

    init() { mark = clock.now }

    /// Ends the phase named `name` (it began at the previous lap, or at `init`).
    mutating func lap(_ name: String) {
        let now = clock.now
        phases.append("\(name) \((now - mark).formatted(.units(allowed: [.milliseconds])))")
        mark = now
    }

    /// The phases so far, comma-separated.
    var summary: String { phases.joined(separator: ", ") }
}
