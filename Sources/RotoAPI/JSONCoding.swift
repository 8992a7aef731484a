import Foundation

/// The JSON coders used on the wire: keys are spelled explicitly by each type's `CodingKeys`.
public enum JSONCoding {
    public static var decoder: JSONDecoder { JSONDecoder() }
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
