import RotoAPI
/// The acceptance rules of init-selection (spec §2), as pure functions over probed facts.
public enum IngestRules {
    /// Facts of a probed video that the rules look at.
    public struct Facts: Sendable, Equatable {
        public var container: String
        public var durationMillis: Int
        public var displayWidth: Int
        public var displayHeight: Int
        public var frameRate: Double

        public init(container: String, durationMillis: Int, displayWidth: Int, displayHeight: Int,
                    frameRate: Double) {
            self.container = container
            self.durationMillis = durationMillis
            self.displayWidth = displayWidth
            self.displayHeight = displayHeight
            self.frameRate = frameRate
        }
    }

    /// The two duration classes, in milliseconds, inclusive.
    public static let shortClass = 2000...5500
    public static let longClass = 7000...10500
    public static let sideRange = 720...2160

    /// Checks every rule; returns the normalised frame rate (24, 30 or 60).
    public static func check(_ f: Facts) throws(RotoError) -> Int {
        guard f.container == "mp4" || f.container == "mov" else {
            throw .invalid("video", "container must be MP4 or QuickTime MOV", got: f.container)
        }
        guard shortClass.contains(f.durationMillis) || longClass.contains(f.durationMillis) else {
            throw .invalid("video", "duration must be 2–5.5 s or 7–10.5 s",
                           got: formatSeconds(f.durationMillis))
        }
        guard sideRange.contains(f.displayWidth), sideRange.contains(f.displayHeight) else {
            throw .invalid("video", "width and height (as displayed) must each be within 720–2160 px",
                           got: "\(f.displayWidth)x\(f.displayHeight)")
        }
        guard let fps = normalizedFrameRate(f.frameRate) else {
            throw .invalid("video", "frame rate must be 24, 30 or 60 fps (23.976, 29.97, 59.94 accepted)",
                           got: formatRate(f.frameRate))
        }
        return fps
    }

    /// 24/30/60 for a rate within tolerance of one of them or of its NTSC variant; nil otherwise.
    public static func normalizedFrameRate(_ rate: Double) -> Int? {
        guard rate.isFinite, rate > 0 else { return nil }
        for nominal in [24.0, 30.0, 60.0] {
            let ntsc = nominal * 1000 / 1001
            // 0.3 % tolerance: covers timestamp rounding but not 25 fps or 50 fps.
            if abs(rate - nominal) <= nominal * 0.003 || abs(rate - ntsc) <= nominal * 0.003 {
                return Int(nominal)
            }
        }
        return nil
    }

    /// The duration class of a video, for matching an edit task's `duration`.
    public static func durationClass(millis: Int) -> String? {
        if shortClass.contains(millis) { return "5" }
        if longClass.contains(millis) { return "10" }
        return nil
    }

    static func formatSeconds(_ millis: Int) -> String {
        let s = Double(millis) / 1000
        return "\((s * 1000).rounded() / 1000) s"
    }

    static func formatRate(_ r: Double) -> String {
        r.isFinite ? "\((r * 1000).rounded() / 1000) fps" : "unknown"
    }
}
