/// A JSON-with-comments document: JSON plus `//` and `/* */` comments and trailing commas.
///
/// The parser keeps the byte range of every value so that `JSONCEditor` can change one value in place and
/// leave the rest of the operator's file (comments, formatting, unknown keys) exactly as it was.
public struct JSONCNode: Sendable {
    public enum Kind: Sendable {
        case null
        case bool(Bool)
        case number(Double, isInteger: Bool)
        case string(String)
        case array([JSONCNode])
        case object([Member])
    }

    public struct Member: Sendable {
        public let key: String
        public let value: JSONCNode
    }

    public let kind: Kind
    /// Byte offsets of the value in the parsed UTF-8 text.
    public let range: Range<Int>

    /// The member `key` of an object, the last one if the key is repeated (as JSON.parse does).
    public func member(_ key: String) -> JSONCNode? {
        guard case .object(let members) = kind else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    /// How the value reads in an error message: "a string", "an object".
    public var typeName: String {
        switch kind {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

public struct JSONCSyntaxError: Error, Equatable, Sendable {
    public let line: Int
    public let column: Int
    public let reason: String

    public var message: String { "line \(line), column \(column): \(reason)" }
}

public enum JSONC {
    /// Parses a whole document; anything but white space and comments after the value is an error.
    /// - Parameter strict: plain JSON only (no comments, no trailing commas), for API request bodies.
    public static func parse(_ bytes: [UInt8], strict: Bool = false) throws(JSONCSyntaxError) -> JSONCNode {
        var parser = Parser(bytes: bytes)
        parser.allowsExtensions = !strict
        parser.skipTrivia()
        let value = try parser.parseValue(depth: 0)
        parser.skipTrivia()
        if parser.position < bytes.count {
            throw parser.error("unexpected \(parser.describeCurrent()) after the end of the document")
        }
        if let unterminated = parser.unterminatedComment {
            throw unterminated
        }
        return value
    }

    public static func parse(_ text: String) throws(JSONCSyntaxError) -> JSONCNode {
        try parse(Array(text.utf8))
    }

    /// The offset of the first byte at or after `offset` that is not white space or part of a comment.
    public static func skipTrivia(in bytes: [UInt8], from offset: Int) -> Int {
        var parser = Parser(bytes: bytes)
        parser.position = offset
        parser.skipTrivia()
        return parser.position
    }

    /// Encodes a string as a JSON string literal.
    public static func quote(_ text: String) -> String { jsonQuoted(text) }

    struct Parser {
        let bytes: [UInt8]
        var position = 0
        var unterminatedComment: JSONCSyntaxError?
        var allowsExtensions = true

        static let maxDepth = 256

        init(bytes: [UInt8]) {
            self.bytes = bytes
            // A UTF-8 byte order mark is allowed and ignored.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        }

        func error(_ reason: String, at offset: Int? = nil) -> JSONCSyntaxError {
            let end = min(offset ?? position, bytes.count)
            var line = 1
            var column = 1
            var index = 0
            while index < end {
                if bytes[index] == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else if bytes[index] & 0xC0 != 0x80 {
                    column += 1
                }
                index += 1
            }
            return JSONCSyntaxError(line: line, column: column, reason: reason)
        }

        /// The end of the file inside a container: an unclosed comment, if that is what swallowed it, is the real cause.
        func unclosed(_ container: String, at start: Int) -> JSONCSyntaxError {
            unterminatedComment ?? error("\(container) opened here is never closed", at: start)
        }

        func describeCurrent() -> String {
            guard position < bytes.count else { return "end of file" }
            let byte = bytes[position]
            if byte >= 0x21 && byte < 0x7F { return "\"\(Character(UnicodeScalar(byte)))\"" }
            return "character (byte 0x\(String(byte, radix: 16)))"
        }

        mutating func skipTrivia() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D:
                    position += 1
                case UInt8(ascii: "/") where !allowsExtensions:
                    return
                case UInt8(ascii: "/") where position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "/"):
                    while position < bytes.count && bytes[position] != 0x0A { position += 1 }
                case UInt8(ascii: "/") where position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "*"):
                    let start = position
                    position += 2
                    var closed = false
                    while position + 1 < bytes.count {
                        if bytes[position] == UInt8(ascii: "*") && bytes[position + 1] == UInt8(ascii: "/") {
                            position += 2
                            closed = true
                            break
                        }
                        position += 1
                    }
                    if !closed {
                        unterminatedComment = error("a /* comment is never closed", at: start)
                        position = bytes.count
                    }
                default:
                    return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(JSONCSyntaxError) -> JSONCNode {
            if depth > Self.maxDepth { throw error("nesting is deeper than \(Self.maxDepth) levels") }
            guard position < bytes.count else {
                if let unterminatedComment { throw unterminatedComment }
                throw error("expected a value, found the end of the file")
            }
            let start = position
            switch bytes[position] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""):
                let text = try parseString()
                return JSONCNode(kind: .string(text), range: start..<position)
            case UInt8(ascii: "t"):
                try expectWord("true")
                return JSONCNode(kind: .bool(true), range: start..<position)
            case UInt8(ascii: "f"):
                try expectWord("false")
                return JSONCNode(kind: .bool(false), range: start..<position)
            case UInt8(ascii: "n"):
                try expectWord("null")
                return JSONCNode(kind: .null, range: start..<position)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try parseNumber()
            default:
                throw error("expected a value, found \(describeCurrent())")
            }
        }

        mutating func expectWord(_ word: String) throws(JSONCSyntaxError) {
            let utf8 = Array(word.utf8)
            guard position + utf8.count <= bytes.count, Array(bytes[position..<position + utf8.count]) == utf8
            else {
                throw error("expected a value, found \(describeCurrent())")
            }
            position += utf8.count
        }

        mutating func parseNumber() throws(JSONCSyntaxError) -> JSONCNode {
            let start = position
            var isInteger = true
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            func isDigit(_ index: Int) -> Bool {
                index < bytes.count && bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9")
            }
            guard isDigit(position) else { throw error("a number needs digits after \"-\"") }
            while isDigit(position) { position += 1 }
            if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
                isInteger = false
                position += 1
                guard isDigit(position) else { throw error("a number needs digits after \".\"") }
                while isDigit(position) { position += 1 }
            }
            if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E"))
            {
                isInteger = false
                position += 1
                if position < bytes.count
                    && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-"))
                {
                    position += 1
                }
                guard isDigit(position) else { throw error("a number needs digits in its exponent") }
                while isDigit(position) { position += 1 }
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            guard let value = Double(text) else { throw error("\(text) is not a number", at: start) }
            return JSONCNode(kind: .number(value, isInteger: isInteger), range: start..<position)
        }

        mutating func parseString() throws(JSONCSyntaxError) -> String {
            let start = position
            position += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var runStart = position
            func flushRun(_ end: Int, into scalars: inout String.UnicodeScalarView) {
                if end > runStart {
                    scalars.append(contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self).unicodeScalars)
                }
            }
            while true {
                guard position < bytes.count else { throw error("a string is never closed", at: start) }
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    flushRun(position, into: &scalars)
                    position += 1
                    return String(scalars)
                }
                if byte < 0x20 {
                    throw error("a string contains a raw control character; write it as an escape such as \\n")
                }
                if byte != UInt8(ascii: "\\") {
                    position += 1
                    continue
                }
                flushRun(position, into: &scalars)
                position += 1
                guard position < bytes.count else { throw error("a string is never closed", at: start) }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800..<0xDC00).contains(code) {
                        // A surrogate pair: the low half must follow as another \u escape.
                        if position + 1 < bytes.count && bytes[position] == UInt8(ascii: "\\")
                            && bytes[position + 1] == UInt8(ascii: "u")
                        {
                            position += 2
                            let low = try parseHex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            throw error("invalid surrogate pair")
                        }
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                    scalars.append(scalar)
                default:
                    throw error("invalid escape \\\(Character(UnicodeScalar(escape))) in a string", at: position - 2)
                }
                runStart = position
            }
        }

        mutating func parseHex4() throws(JSONCSyntaxError) -> UInt32 {
            guard position + 4 <= bytes.count,
                let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
            else { throw error("a \\u escape needs four hex digits") }
            position += 4
            return value
        }

        mutating func parseArray(depth: Int) throws(JSONCSyntaxError) -> JSONCNode {
            let start = position
            position += 1
            var elements: [JSONCNode] = []
            var afterComma = false
            while true {
                skipTrivia()
                guard position < bytes.count else {
                    throw unclosed("an array", at: start)
                }
                if bytes[position] == UInt8(ascii: "]") {
                    if !allowsExtensions && afterComma { throw error("a trailing comma is not allowed in JSON") }
                    position += 1
                    return JSONCNode(kind: .array(elements), range: start..<position)
                }
                elements.append(try parseValue(depth: depth + 1))
                skipTrivia()
                guard position < bytes.count else {
                    throw unclosed("an array", at: start)
                }
                afterComma = bytes[position] == UInt8(ascii: ",")
                if afterComma {
                    position += 1
                } else if bytes[position] != UInt8(ascii: "]") {
                    throw error("expected \",\" or \"]\" in an array, found \(describeCurrent())")
                }
            }
        }

        mutating func parseObject(depth: Int) throws(JSONCSyntaxError) -> JSONCNode {
            let start = position
            position += 1
            var members: [JSONCNode.Member] = []
            var afterComma = false
            while true {
                skipTrivia()
                guard position < bytes.count else {
                    throw unclosed("an object", at: start)
                }
                if bytes[position] == UInt8(ascii: "}") {
                    if !allowsExtensions && afterComma { throw error("a trailing comma is not allowed in JSON") }
                    position += 1
                    return JSONCNode(kind: .object(members), range: start..<position)
                }
                guard bytes[position] == UInt8(ascii: "\"") else {
                    throw error("expected a quoted key or \"}\", found \(describeCurrent())")
                }
                let key = try parseString()
                skipTrivia()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                    throw error("expected \":\" after the key \"\(key)\", found \(describeCurrent())")
                }
                position += 1
                skipTrivia()
                let value = try parseValue(depth: depth + 1)
                members.append(JSONCNode.Member(key: key, value: value))
                skipTrivia()
                guard position < bytes.count else {
                    throw unclosed("an object", at: start)
                }
                afterComma = bytes[position] == UInt8(ascii: ",")
                if afterComma {
                    position += 1
                } else if bytes[position] != UInt8(ascii: "}") {
                    throw error("expected \",\" or \"}\" after the value of \"\(key)\", found \(describeCurrent())")
                }
            }
        }
    }
}
