#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Encodes any `Encodable` as compact JSON straight into bytes: the one way the external API writes its bodies.
///
/// It differs from `JSONEncoder` in three ways, each on purpose:
/// - an absent optional is written as `null` (`encodeIfPresent` writes the key), so a client sees the same keys
///   every time; a type that must leave a key out does so in its own `encode(to:)`;
/// - keys come in declaration order, and no intermediate tree is built: listing 10,000 jobs writes the bytes once;
/// - a `JSONText` is copied verbatim instead of being parsed and encoded again.
/// Its output parses to the same value as `JSONEncoder`'s (a test checks that on the API's types).
public struct CompactJSONEncoder: Sendable {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(value, appendingTo: &bytes)
        return bytes
    }

    /// Appends the encoding of `value` to `bytes` (which is left as it was if encoding fails).
    public func encode<T: Encodable>(_ value: T, appendingTo bytes: inout [UInt8]) throws {
        let sink = JSONSink()
        swap(&sink.bytes, &bytes)
        let start = sink.bytes.count
        defer { swap(&sink.bytes, &bytes) }
        do {
            try sink.value(value, parent: nil, key: nil)
        } catch {
            sink.bytes.removeSubrange(start...)
            throw error
        }
    }
}

/// The bytes being written, shared by every container of one encoding.
final class JSONSink {
    // One encoding runs on one thread; the exclusivity checks on every append were a tenth of the time.
    @exclusivity(unchecked) var bytes: [UInt8] = []

    /// Writes `value`, whose coding path is `parent`'s plus `key` (built only if an error needs it).
    func value<T: Encodable>(_ value: T, parent: EncodingState?, key: (any CodingKey)?) throws {
        // Metatype comparisons are a pointer compare; a dynamic cast per value would cost more than the writing.
        if T.self == String.self {
            string(unsafeBitCast(value, to: String.self))
        } else if T.self == JSONText.self {
            bytes.append(contentsOf: unsafeBitCast(value, to: JSONText.self).text.utf8)
        } else if T.self == ModelRef.self {
            string(unsafeBitCast(value, to: ModelRef.self).description)
        } else {
            let state = EncodingState(sink: self, parent: parent, key: key)
            try value.encode(to: ValueEncoder(state: state))
            try state.finish()
        }
    }

    func string(_ text: String) {
        var text = text
        let escaped: Bool = text.withUTF8 { utf8 in
            for byte in utf8
            where byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return true
            }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: utf8)
            bytes.append(UInt8(ascii: "\""))
            return false
        }
        if escaped { bytes.append(contentsOf: jsonQuoted(text).utf8) }
    }

    func integer<T: BinaryInteger>(_ value: T) {
        if let small = Int64(exactly: value) {
            int64(small)
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
    }

    /// Decimal digits written straight into the bytes, without making a String.
    private func int64(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for the 20 digits of the largest magnitude
        withUnsafeMutableBytes(of: &digits) { buffer in
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: buffer[index...])
        }
    }

    func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: T, _ codingPath: [any CodingKey])
        throws
    {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: codingPath, debugDescription: "JSON has no \(value)"))
        }
        // The shortest text that reads back as the same number; whole numbers without ".0", as JSONEncoder does.
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
    }

    func bool(_ value: Bool) { bytes.append(contentsOf: value ? "true".utf8 : "false".utf8) }
    func null() { bytes.append(contentsOf: "null".utf8) }
}

/// What one value opened: nothing yet, an object, an array or a single value. A nested container handed out
/// (`nestedContainer`, `superEncoder`) is closed before its parent writes again, so the bytes stay in order.
final class EncodingState {
    enum Kind { case none, object, array, single }

    let sink: JSONSink
    let parent: EncodingState?
    let key: (any CodingKey)?
    @exclusivity(unchecked) var kind = Kind.none
    @exclusivity(unchecked) var count = 0
    @exclusivity(unchecked) var pending: EncodingState?

    init(sink: JSONSink, parent: EncodingState?, key: (any CodingKey)?) {
        self.sink = sink
        self.parent = parent
        self.key = key
    }

    var codingPath: [any CodingKey] {
        var path = parent?.codingPath ?? []
        if let key { path.append(key) }
        return path
    }

    func open(_ wanted: Kind) {
        if kind == wanted { return }
        precondition(kind == .none, "a value opened a second, different container")
        kind = wanted
        switch wanted {
        case .object: sink.bytes.append(UInt8(ascii: "{"))
        case .array: sink.bytes.append(UInt8(ascii: "["))
        case .none, .single: break
        }
    }

    func closePending() throws {
        if let child = pending {
            pending = nil
            try child.finish()
        }
    }

    func finish() throws {
        try closePending()
        switch kind {
        case .object: sink.bytes.append(UInt8(ascii: "}"))
        case .array: sink.bytes.append(UInt8(ascii: "]"))
        // A value that encodes nothing is an empty object, as with JSONEncoder.
        case .none: sink.bytes.append(contentsOf: "{}".utf8)
        case .single: break
        }
    }

    /// Starts the next element: closes a pending nested container and writes the separator (and key).
    func element(key: String?) throws {
        try closePending()
        if count > 0 { sink.bytes.append(UInt8(ascii: ",")) }
        count += 1
        if let key {
            sink.string(key)
            sink.bytes.append(UInt8(ascii: ":"))
        }
    }

    func nested(_ kind: Kind, key: (any CodingKey)?) -> EncodingState {
        let child = EncodingState(sink: sink, parent: self, key: key)
        child.open(kind)
        pending = child
        return child
    }
}

struct ValueEncoder: Encoder {
    let state: EncodingState
    var codingPath: [any CodingKey] { state.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        state.open(.object)
        return KeyedEncodingContainer(ObjectContainer<Key>(state: state))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        state.open(.array)
        return ArrayContainer(state: state)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        state.open(.single)
        return SingleContainer(state: state)
    }
}

struct ObjectContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: EncodingState
    var codingPath: [any CodingKey] { state.codingPath }
    var sink: JSONSink { state.sink }

    mutating func encodeNil(forKey key: Key) throws {
        try state.element(key: key.stringValue)
        sink.null()
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try state.element(key: key.stringValue)
        sink.bool(value)
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        try state.element(key: key.stringValue)
        sink.string(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        try state.element(key: key.stringValue)
        try sink.floatingPoint(value, codingPath + [key])
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        try state.element(key: key.stringValue)
        try sink.floatingPoint(value, codingPath + [key])
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try integer(value, key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try state.element(key: key.stringValue)
        try sink.value(value, parent: state, key: key)
    }

    // An absent optional is written as null, not left out (see CompactJSONEncoder).
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try optional(value, key) }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try optional(value, key) }

    private mutating func integer<T: BinaryInteger>(_ value: T, _ key: Key) throws {
        try state.element(key: key.stringValue)
        sink.integer(value)
    }

    private mutating func optional<T: Encodable>(_ value: T?, _ key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        // Only a thrown error from closing an earlier nested container could fail here; it cannot, as those
        // write brackets only.
        try? state.element(key: key.stringValue)
        return KeyedEncodingContainer(ObjectContainer<NestedKey>(state: state.nested(.object, key: key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        try? state.element(key: key.stringValue)
        return ArrayContainer(state: state.nested(.array, key: key))
    }

    mutating func superEncoder() -> any Encoder {
        try? state.element(key: "super")
        return ValueEncoder(state: state.nested(.none, key: nil))
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        try? state.element(key: key.stringValue)
        return ValueEncoder(state: state.nested(.none, key: key))
    }
}

struct ArrayContainer: UnkeyedEncodingContainer {
    let state: EncodingState
    var codingPath: [any CodingKey] { state.codingPath }
    var count: Int { state.count }
    var sink: JSONSink { state.sink }

    mutating func encodeNil() throws {
        try state.element(key: nil)
        sink.null()
    }
    mutating func encode(_ value: Bool) throws {
        try state.element(key: nil)
        sink.bool(value)
    }
    mutating func encode(_ value: String) throws {
        try state.element(key: nil)
        sink.string(value)
    }
    mutating func encode(_ value: Double) throws {
        try state.element(key: nil)
        try sink.floatingPoint(value, codingPath)
    }
    mutating func encode(_ value: Float) throws {
        try state.element(key: nil)
        try sink.floatingPoint(value, codingPath)
    }
    mutating func encode(_ value: Int) throws { try integer(value) }
    mutating func encode(_ value: Int8) throws { try integer(value) }
    mutating func encode(_ value: Int16) throws { try integer(value) }
    mutating func encode(_ value: Int32) throws { try integer(value) }
    mutating func encode(_ value: Int64) throws { try integer(value) }
    mutating func encode(_ value: UInt) throws { try integer(value) }
    mutating func encode(_ value: UInt8) throws { try integer(value) }
    mutating func encode(_ value: UInt16) throws { try integer(value) }
    mutating func encode(_ value: UInt32) throws { try integer(value) }
    mutating func encode(_ value: UInt64) throws { try integer(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try state.element(key: nil)
        try sink.value(value, parent: state, key: nil)
    }

    private mutating func integer<T: BinaryInteger>(_ value: T) throws {
        try state.element(key: nil)
        sink.integer(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        try? state.element(key: nil)
        return KeyedEncodingContainer(ObjectContainer<NestedKey>(state: state.nested(.object, key: nil)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        try? state.element(key: nil)
        return ArrayContainer(state: state.nested(.array, key: nil))
    }

    mutating func superEncoder() -> any Encoder {
        try? state.element(key: nil)
        return ValueEncoder(state: state.nested(.none, key: nil))
    }
}

struct SingleContainer: SingleValueEncodingContainer {
    let state: EncodingState
    var codingPath: [any CodingKey] { state.codingPath }
    var sink: JSONSink { state.sink }

    mutating func encodeNil() throws { sink.null() }
    mutating func encode(_ value: Bool) throws { sink.bool(value) }
    mutating func encode(_ value: String) throws { sink.string(value) }
    mutating func encode(_ value: Double) throws { try sink.floatingPoint(value, codingPath) }
    mutating func encode(_ value: Float) throws { try sink.floatingPoint(value, codingPath) }
    mutating func encode(_ value: Int) throws { sink.integer(value) }
    mutating func encode(_ value: Int8) throws { sink.integer(value) }
    mutating func encode(_ value: Int16) throws { sink.integer(value) }
    mutating func encode(_ value: Int32) throws { sink.integer(value) }
    mutating func encode(_ value: Int64) throws { sink.integer(value) }
    mutating func encode(_ value: UInt) throws { sink.integer(value) }
    mutating func encode(_ value: UInt8) throws { sink.integer(value) }
    mutating func encode(_ value: UInt16) throws { sink.integer(value) }
    mutating func encode(_ value: UInt32) throws { sink.integer(value) }
    mutating func encode(_ value: UInt64) throws { sink.integer(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try sink.value(value, parent: state.parent, key: state.key)
    }
}
