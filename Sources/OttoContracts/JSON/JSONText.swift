#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A JSON value kept as its text: a job's payload, a run's result, an audit snapshot. Otto stores these as
/// validated text (the schema checks `json_valid`) and hands them on unchanged, so listing thousands of jobs never
/// parses and re-encodes their payloads. `CompactJSONEncoder` copies the text verbatim; any other encoder gets the
/// parsed value.
public struct JSONText: Hashable, Sendable, CustomStringConvertible {
    public let text: String

    /// Wraps text already known to be valid JSON (read back from a column whose schema checks it).
    public init(validated text: String) { self.text = text }

    /// Checks that `text` is one JSON value (strict JSON: no comments or trailing commas).
    public init?(parsing text: String) {
        guard (try? JSONC.parse(Array(text.utf8), strict: true)) != nil else { return nil }
        self.text = text
    }

    /// The compact text of `value`.
    public init(_ value: JSONValue) { self.text = value.jsonText }

    public var value: JSONValue? { JSONValue(jsonText: text) }

    /// A member of the object this text holds.
    public subscript(key: String) -> JSONValue? { value?[key] }

    public var description: String { text }
}

extension JSONText: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try JSONValue(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        guard let value else {
            throw EncodingError.invalidValue(
                text, .init(codingPath: encoder.codingPath, debugDescription: "not valid JSON text"))
        }
        try value.encode(to: encoder)
    }
}
