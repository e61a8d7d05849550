import Foundation
import Hummingbird
import NIOCore
import OttoContracts
import OttoCore

/// Reading request bodies and query parameters strictly: every problem becomes a 400 (or 413/415) that names
/// the field, never a 500.
enum RequestReading {
    static let maxBodyBytes = 1024 * 1024

    /// A parsed JSON object body and its bytes (for copying nested values verbatim).
    struct Body {
        let node: JSONCNode
        let bytes: [UInt8]
    }

    /// The body as a JSON object, after checking its media type and size.
    static func jsonObject(_ request: Request) async throws -> Body {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            throw APIError(
                .unsupportedMediaType,
                "send the body as JSON with the header Content-Type: application/json"
            )
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.payloadTooLarge, "the body is larger than 1 MiB")
        }
        let node: JSONCNode
        let bytes = Array(buffer.readableBytesView)
        do {
            node = try JSONC.parse(bytes, strict: true)
        } catch {
            throw APIError(.invalidRequest, "the body is not valid JSON: \(error.message)")
        }
        guard case .object = node.kind else {
            throw APIError(.invalidRequest, "the body must be a JSON object, got \(node.typeName)")
        }
        return Body(node: node, bytes: bytes)
    }

    /// An integer query parameter within `range`, or `defaultValue` when absent.
    static func integer(
        _ request: Request,
        _ name: String,
        in range: ClosedRange<Int>,
        default defaultValue: Int
    ) throws -> Int {
        try optionalInteger(request, name, in: range) ?? defaultValue
    }

    /// An integer query parameter within `range`, or nil when absent.
    static func optionalInteger(_ request: Request, _ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            let bound =
                range.upperBound == Int.max
                ? "at least \(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
            throw APIError.invalid([
                FieldIssue(path: name, message: "expected a whole number \(bound), got \"\(text)\"")
            ])
        }
        return value
    }
}

/// A JSON object being read field by field: unknown fields and wrong types are collected with their paths.
struct ObjectReader {
    enum Field<Value> {
        case absent
        case null
        case value(Value)
    }

    private let members: [String: JSONCNode]
    private let bytes: [UInt8]
    private(set) var issues: [FieldIssue] = []

    init(_ body: RequestReading.Body, allowed: [String]) {
        bytes = body.bytes
        guard case .object(let list) = body.node.kind else {
            members = [:]
            return
        }
        var members: [String: JSONCNode] = [:]
        for member in list { members[member.key] = member.value }
        self.members = members
        for member in list where !allowed.contains(member.key) {
            issues.append(
                FieldIssue(
                    path: member.key,
                    message: "unknown field; the accepted fields are \(allowed.joined(separator: ", "))"
                )
            )
        }
    }

    mutating func fail(_ path: String, _ message: String) {
        issues.append(FieldIssue(path: path, message: message))
    }

    func node(_ key: String) -> JSONCNode? { members[key] }

    mutating func string(_ key: String) -> Field<String> {
        guard let node = members[key] else { return .absent }
        switch node.kind {
        case .null: return .null
        case .string(let value): return .value(value)
        default:
            fail(key, "expected a string, got \(node.typeName)")
            return .absent
        }
    }

    mutating func integer(_ key: String) -> Field<Int64> {
        guard let node = members[key] else { return .absent }
        switch node.kind {
        case .null: return .null
        case .number(let value, true) where value.magnitude <= 9_007_199_254_740_991:
            return .value(Int64(value))
        default:
            fail(key, "expected a whole number, got \(node.typeName)")
            return .absent
        }
    }

    /// A JSON object, returned as its text (already validated by the parse of the whole body).
    mutating func object(_ key: String) -> Field<JSONText> {
        guard let node = members[key] else { return .absent }
        switch node.kind {
        case .null: return .null
        case .object: return .value(JSONText(validated: String(decoding: bytes[node.range], as: UTF8.self)))
        default:
            fail(key, "expected an object, got \(node.typeName)")
            return .absent
        }
    }

    mutating func modelRef(_ key: String) -> Field<ModelRef> {
        switch string(key) {
        case .absent: return .absent
        case .null: return .null
        case .value(let text):
            do {
                return .value(try ModelRef(parsing: text))
            } catch {
                fail(key, error.message + ", or null to inherit")
                return .absent
            }
        }
    }

    mutating func enumValue<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) -> Field<T>
    where T.RawValue == String {
        switch string(key) {
        case .absent: return .absent
        case .null: return .null
        case .value(let text):
            guard let value = T(rawValue: text) else {
                fail(key, "expected one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
                return .absent
            }
            return .value(value)
        }
    }
}
