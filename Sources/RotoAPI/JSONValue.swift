import Foundation

/// A parsed JSON value. Requests are read through it so that every type error can name the field and
/// quote the value received, which `Decodable`'s errors cannot.
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// A short rendering of the value for error messages (truncated).
    public var quoted: String {
        let text: String
        switch self {
        case .null: text = "null"
        case .bool(let b): text = String(b)
        case .number(let d):
            // Whole numbers in full (an 18-digit id sent as a number reads as itself, not 1.5e+18).
            text = d != d.rounded() || abs(d) >= 1e21 ? String(d)
                : abs(d) < 1e15 ? String(Int64(d)) : String(format: "%.0f", d)
        case .string(let s): text = "\"\(s)\""
        case .array(let a): text = "an array of \(a.count)"
        case .object: text = "an object"
        }
        return text.count > 80 ? String(text.prefix(77)) + "..." : text
    }
}

/// Reads typed fields out of a JSON object, throwing 1201 errors that name the field, the rule and the
/// value received.
public struct FieldReader: Sendable {
    public let object: [String: JSONValue]
    /// Prefix for field names in messages (for nested objects, e.g. `points[2].`).
    public let path: String

    public init(_ object: [String: JSONValue], path: String = "") {
        self.object = object
        self.path = path
    }

    /// Parses a request body: 1200 unless it is a JSON object.
    public init(body: [UInt8]) throws(RotoError) {
        let value: JSONValue
        do {
            value = try JSONCoding.decoder.decode(JSONValue.self, from: Data(body))
        } catch {
            throw RotoError(.invalidBody, "request body is not valid JSON" + Self.syntaxError(in: body))
        }
        guard case .object(let object) = value else {
            throw RotoError(.invalidBody, "request body must be a JSON object, got \(value.quoted)")
        }
        self.init(object)
    }

    /// Where and why `body` fails to parse, as " (reason)", or "" when that cannot be told. The decoder's
    /// errors say only "not valid JSON"; `JSONSerialization`'s name the place (a character offset) or
    /// the number that does not fit a 64-bit float (`1e400`: valid JSON grammar, but no such double).
    static func syntaxError(in body: [UInt8]) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
            return ""
        } catch {
            guard var reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String, !reason.isEmpty else {
                return ""
            }
            reason = reason.replacingOccurrences(of: " is not representable in Swift", with: " does not fit a 64-bit float")
            if reason.hasSuffix(".") { reason.removeLast() }
            return " (" + reason.prefix(1).lowercased() + reason.dropFirst() + ")"
        }
    }

    func name(_ key: String) -> String { path + key }

    /// The raw value, treating `null` as absent.
    public func value(_ key: String) -> JSONValue? {
        switch object[key] {
        case .none, .null?: nil
        case let v?: v
        }
    }

    /// An optional string; an empty string is returned as is (callers decide if empty counts as absent).
    public func string(_ key: String) throws(RotoError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else {
            if case .number(let d) = v, d == d.rounded(), abs(d) > 9_007_199_254_740_991 {
                throw .invalid(name(key), "must be a string (a whole number this long loses its last digits in JSON; "
                               + "send ids as strings)", got: v.quoted)
            }
            throw .invalid(name(key), "must be a string", got: v.quoted)
        }
        return s
    }

    /// An optional string where an empty string counts as absent (clients that send unset fields as `""`).
    public func nonEmptyString(_ key: String) throws(RotoError) -> String? {
        guard let s = try string(key), !s.isEmpty else { return nil }
        return s
    }

    /// A required, non-empty string.
    public func requiredString(_ key: String) throws(RotoError) -> String {
        guard let s = try string(key) else { throw .invalid(name(key), "is required and must be a non-empty string") }
        guard !s.isEmpty else { throw .invalid(name(key), "is required and must be a non-empty string", got: "\"\"") }
        return s
    }

    /// An optional integer (a JSON number with no fractional part).
    public func int(_ key: String) throws(RotoError) -> Int? {
        guard let v = value(key) else { return nil }
        guard case .number(let d) = v, d.isFinite, d == d.rounded(), abs(d) <= 9_007_199_254_740_991 else {
            // Past 2^53 a JSON number is no longer read exactly: quoting its nearest double's digits
            // would name a value the caller never sent.
            if case .number(let d) = v, d.isFinite, abs(d) > 9_007_199_254_740_991 {
                throw .invalid(name(key), "must be an integer", got: "about \(d), beyond the 2^53 that JSON numbers hold exactly")
            }
            throw .invalid(name(key), "must be an integer", got: v.quoted)
        }
        return Int(d)
    }

    /// A required integer.
    public func requiredInt(_ key: String) throws(RotoError) -> Int {
        guard let i = try int(key) else { throw .invalid(name(key), "is required and must be an integer") }
        return i
    }

    /// An optional finite number.
    public func number(_ key: String) throws(RotoError) -> Double? {
        guard let v = value(key) else { return nil }
        guard case .number(let d) = v, d.isFinite else {
            throw .invalid(name(key), "must be a finite number", got: v.quoted)
        }
        return d
    }

    /// An optional boolean.
    public func bool(_ key: String) throws(RotoError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw .invalid(name(key), "must be a boolean", got: v.quoted) }
        return b
    }

    /// An optional array of objects, each returned as a reader whose messages name `key[i].`.
    public func objects(_ key: String) throws(RotoError) -> [FieldReader]? {
        guard let v = value(key) else { return nil }
        guard case .array(let items) = v else { throw .invalid(name(key), "must be an array", got: v.quoted) }
        var readers: [FieldReader] = []
        for (i, item) in items.enumerated() {
            guard case .object(let o) = item else {
                throw .invalid("\(name(key))[\(i)]", "must be an object", got: item.quoted)
            }
            readers.append(FieldReader(o, path: "\(name(key))[\(i)]."))
        }
        return readers
    }

    /// An optional nested object.
    public func nested(_ key: String) throws(RotoError) -> FieldReader? {
        guard let v = value(key) else { return nil }
        guard case .object(let o) = v else { throw .invalid(name(key), "must be an object", got: v.quoted) }
        return FieldReader(o, path: "\(name(key)).")
    }
}
