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
            text = d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
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
            throw RotoError(.invalidBody, "request body is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw RotoError(.invalidBody, "request body must be a JSON object, got \(value.quoted)")
        }
        self.init(object)
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
        guard let s = try string(key), !s.isEmpty else {
            throw .invalid(name(key), "is required and must be a non-empty string")
        }
        return s
    }

    /// An optional integer (a JSON number with no fractional part).
    public func int(_ key: String) throws(RotoError) -> Int? {
        guard let v = value(key) else { return nil }
        guard case .number(let d) = v, d.isFinite, d == d.rounded(), abs(d) <= 9_007_199_254_740_991 else {
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
