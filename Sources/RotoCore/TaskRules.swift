import Foundation
import RotoAPI

/// Quality class of an edit (`mode`).
public enum TaskMode: String, Sendable, Codable, CaseIterable {
    case std, pro
}

/// A reference image as the request gave it: a URL to download, or raw base64 already decoded.
public enum ImageSource: Sendable, Equatable {
    case url(String)
    case bytes([UInt8])
}

/// A validated create-task request (spec §6.1): every rule that needs no I/O has been checked. The rules
/// that need the session (duration class, selection) or the images' bytes are checked by
/// ``checkAgainstSession(durationMillis:selectionIsEmpty:)`` and ``ImageFacts/check(_:field:limits:)``.
public struct TaskCommand: Sendable, Equatable {
    public var sessionID: String
    public var editMode: EditMode
    public var images: [ImageSource]
    public var prompt: String
    public var negativePrompt: String?
    public var modelName: String?
    public var mode: TaskMode
    /// `"5"` or `"10"`.
    public var duration: String
    public var watermark: Bool
    public var callbackURL: String?
    public var externalTaskID: String?

    /// Longest prompt and negative prompt, in characters.
    public static let maxPromptLength = 2500
    /// The only model name accepted.
    public static let modelName = "kling-v1-6"

    public init(_ r: FieldReader, limits: Limits) throws(RotoError) {
        sessionID = try r.requiredString("session_id")
        let modeText = try r.requiredString("edit_mode")
        editMode = EditMode(rawValue: modeText)
        guard EditMode.all.contains(editMode) else {
            throw .invalid("edit_mode", "must be one of addition, swap, removal", got: "\"\(modeText.prefix(100))\"")
        }

        // image_list
        let items = try r.objects("image_list") ?? []
        let allowed: ClosedRange<Int> = switch editMode {
        case .addition: 1...2
        case .swap: 1...1
        default: 0...0
        }
        guard allowed.contains(items.count) else {
            let rule = switch editMode {
            case .addition: "addition needs 1 or 2 images"
            case .swap: "swap needs exactly 1 image"
            default: "removal takes no image (leave it empty or absent)"
            }
            throw .invalid("image_list", rule, got: "\(items.count) items")
        }
        images = []
        for (i, item) in items.enumerated() {
            let field = "image_list[\(i)].image"
            let text = try item.requiredString("image")
            images.append(try Self.imageSource(text, field: field, limits: limits))
        }

        // prompt
        prompt = try r.requiredString("prompt")
        guard prompt.count <= Self.maxPromptLength else {
            throw .invalid("prompt", "must be at most \(Self.maxPromptLength) characters", got: "\(prompt.count)")
        }
        try Self.checkReferences(prompt, field: "prompt", imageCount: images.count)
        negativePrompt = try r.nonEmptyString("negative_prompt")
        if let n = negativePrompt, n.count > Self.maxPromptLength {
            throw .invalid("negative_prompt", "must be at most \(Self.maxPromptLength) characters", got: "\(n.count)")
        }
        modelName = try r.nonEmptyString("model_name")
        if let m = modelName, m != Self.modelName {
            throw .invalid("model_name", "must be \(Self.modelName) when present", got: "\"\(m.prefix(100))\"")
        }
        let modeValue = try r.nonEmptyString("mode") ?? "std"
        guard let parsedMode = TaskMode(rawValue: modeValue) else {
            throw .invalid("mode", "must be std or pro", got: "\"\(modeValue.prefix(100))\"")
        }
        mode = parsedMode
        duration = try r.nonEmptyString("duration") ?? "5"
        guard duration == "5" || duration == "10" else {
            throw .invalid("duration", "must be the string \"5\" or \"10\"", got: "\"\(duration.prefix(100))\"")
        }
        watermark = try r.nested("watermark_info")?.bool("enabled") ?? false
        callbackURL = try r.nonEmptyString("callback_url")
        if let callbackURL {
            try Self.checkHTTPURL(callbackURL, field: "callback_url")
        }
        externalTaskID = try r.nonEmptyString("external_task_id")
        if let external = externalTaskID, external.count > 256 {
            throw .invalid("external_task_id", "must be at most 256 characters", got: "\(external.count)")
        }
        if let external = externalTaskID, SelectionActions.names.contains(external) {
            throw .invalid("external_task_id", "must not be the name of a selection action (a task query by it would reach the action's route)",
                           got: "\"\(external)\"")
        }
    }

    /// The rules that need the session: the duration class (spec §6.1) and, for swap and removal, a
    /// non-empty selection.
    public func checkAgainstSession(durationMillis: Int, selectionIsEmpty: Bool) throws(RotoError) {
        let range = duration == "5" ? 2000...5500 : 7000...10500
        guard range.contains(durationMillis) else {
            let allowed = duration == "5" ? "2–5.5 s" : "7–10.5 s"
            throw .invalid("duration", "\"\(duration)\" needs a session video of \(allowed)",
                           got: "a \(Double(durationMillis) / 1000) s video")
        }
        if selectionIsEmpty && (editMode == .swap || editMode == .removal) {
            throw .invalid("session_id", "\(editMode) needs a non-empty selection; add points with add-selection first",
                           got: "a selection with no points")
        }
    }

    /// A URL is downloaded later; anything else must be raw base64 (no `data:` prefix).
    static func imageSource(_ text: String, field: String, limits: Limits) throws(RotoError) -> ImageSource {
        let lower = text.prefix(8).lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            try checkHTTPURL(text, field: field)
            return .url(text)
        }
        if lower.hasPrefix("data:") {
            throw .invalid(field, "must be raw base64 without a data: prefix (remove everything up to the comma)",
                           got: "\"\(text.prefix(40))…\"")
        }
        // Base64 of the size cap is 4/3 larger; refuse before decoding.
        guard text.utf8.count <= (limits.maxImageBytes / 3 + 1) * 4 + 4 else {
            throw .invalid(field, "must be at most \(limits.maxImageBytes) bytes", got: "about \(text.utf8.count / 4 * 3) bytes")
        }
        let compact = text.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact), !data.isEmpty else {
            throw .invalid(field, "must be an http(s) URL or raw base64 of a JPEG or PNG image",
                           got: "\"\(text.prefix(40))…\"")
        }
        return .bytes([UInt8](data))
    }

    /// `<<<video_1>>>` and `<<<image_N>>>` with 1 ≤ N ≤ `imageCount` are the only references allowed.
    /// A reference is what lies between a `>>>` and the nearest `<<<` before it, so extra brackets
    /// around it (`<<<<image_3>>>`) or an unclosed `<<<` earlier in the prompt do not hide it.
    static func checkReferences(_ prompt: String, field: String, imageCount: Int) throws(RotoError) {
        var rest = Substring(prompt)
        while let close = rest.range(of: ">>>") {
            let head = rest[..<close.lowerBound]
            rest = rest[close.upperBound...]
            guard let open = head.range(of: "<<<", options: .backwards) else { continue }
            let name = head[open.upperBound...]
            if name == "video_1" { continue }
            let digits = name.dropFirst(6)
            if name.hasPrefix("image_"), !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
                // Too many digits for an Int is as much out of range as image_3 with two images.
                guard let n = Int(digits), n >= 1, n <= imageCount else {
                    throw .invalid(field, "<<<\(name.prefix(40))>>> refers to an image that image_list does not have",
                                   got: "\(imageCount) image(s)")
                }
                continue
            }
            if name.hasPrefix("video_") {
                throw .invalid(field, "only <<<video_1>>> may be referenced", got: "<<<\(name.prefix(40))>>>")
            }
        }
    }

    static func checkHTTPURL(_ text: String, field: String) throws(RotoError) {
        let lower = text.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), text.count > 8, !text.contains(" ") else {
            throw .invalid(field, "must be an absolute http or https URL", got: "\"\(text.prefix(200))\"")
        }
    }
}

/// Format and size of an image, read from its first bytes (no decoding).
public struct ImageFacts: Sendable, Equatable {
    public enum Format: String, Sendable { case jpeg, png }
    public var format: Format
    public var width: Int
    public var height: Int

    public init(format: Format, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }

    /// Reads the PNG IHDR or the JPEG SOFn marker; nil when the bytes are neither.
    public static func sniff(_ b: [UInt8]) -> ImageFacts? {
        if b.count >= 24, b[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
           b[12..<16].elementsEqual(Array("IHDR".utf8)) {
            let w = Int(b[16]) << 24 | Int(b[17]) << 16 | Int(b[18]) << 8 | Int(b[19])
            let h = Int(b[20]) << 24 | Int(b[21]) << 16 | Int(b[22]) << 8 | Int(b[23])
            return ImageFacts(format: .png, width: w, height: h)
        }
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 else { return nil }
        var i = 2
        while i + 3 < b.count {
            guard b[i] == 0xFF else { return nil }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard length >= 2 else { return nil }
            // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard i + 8 < b.count else { return nil }
                let h = Int(b[i + 5]) << 8 | Int(b[i + 6])
                let w = Int(b[i + 7]) << 8 | Int(b[i + 8])
                return ImageFacts(format: .jpeg, width: w, height: h)
            }
            i += 2 + length
        }
        return nil
    }

    /// The image rules of spec §6.1: JPEG or PNG by content, at most `limits.maxImageBytes`, each side
    /// ≥ 300 px, aspect ratio between 1:2.5 and 2.5:1.
    public static func check(_ bytes: [UInt8], field: String, limits: Limits) throws(RotoError) -> ImageFacts {
        guard bytes.count <= limits.maxImageBytes else {
            throw .invalid(field, "must be at most \(limits.maxImageBytes) bytes", got: "\(bytes.count) bytes")
        }
        guard let facts = sniff(bytes) else {
            let head = bytes.prefix(8).map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }
            throw .invalid(field, "must be a JPEG or PNG image (checked by content)",
                           got: bytes.isEmpty ? "0 bytes" : "\(bytes.count) bytes starting \(head.joined(separator: " "))")
        }
        guard facts.width >= 300, facts.height >= 300 else {
            throw .invalid(field, "each side must be at least 300 px", got: "\(facts.width)x\(facts.height)")
        }
        let ratio = Double(facts.width) / Double(facts.height)
        guard ratio >= 1 / 2.5 - 1e-9, ratio <= 2.5 + 1e-9 else {
            throw .invalid(field, "aspect ratio must be between 1:2.5 and 2.5:1", got: "\(facts.width)x\(facts.height)")
        }
        return facts
    }
}
