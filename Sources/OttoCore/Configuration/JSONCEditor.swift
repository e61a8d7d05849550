import OttoContracts

/// Changes one value of a JSONC document in place, leaving every other byte of it (comments, formatting,
/// keys Otto does not know) exactly as the operator wrote it.
public enum JSONCEditor {
    public enum EditError: Error, Equatable, Sendable {
        case syntax(JSONCSyntaxError)
        /// A key on the path holds something other than an object, so the path cannot be created.
        case notAnObject(path: String, found: String)

        public var message: String {
            switch self {
            case .syntax(let error): "not valid JSON with comments: \(error.message)"
            case .notAnObject(let path, let found): "\(path) is \(found), not an object"
            }
        }
    }

    /// Returns `bytes` with the value at `path` replaced by `literal` (JSON text), creating the member and any
    /// missing objects along the path.
    public static func setting(_ path: [String], to literal: String, in bytes: [UInt8]) throws(EditError) -> [UInt8] {
        precondition(!path.isEmpty, "a path names at least one key")
        let root: JSONCNode
        do {
            root = try JSONC.parse(bytes)
        } catch {
            throw .syntax(error)
        }
        var node = root
        for (index, key) in path.enumerated() {
            guard case .object = node.kind else {
                throw .notAnObject(path: path[..<index].joined(separator: "."), found: node.typeName)
            }
            if let child = node.member(key) {
                if index == path.count - 1 {
                    var out = bytes
                    out.replaceSubrange(child.range, with: Array(literal.utf8))
                    return out
                }
                node = child
            } else {
                return insertMember(
                    key: key,
                    remainingPath: Array(path[(index + 1)...]),
                    literal: literal,
                    into: node,
                    bytes: bytes
                )
            }
        }
        return bytes
    }

    private static func insertMember(
        key: String,
        remainingPath: [String],
        literal: String,
        into object: JSONCNode,
        bytes: [UInt8]
    ) -> [UInt8] {
        guard case .object(let members) = object.kind else { return bytes }
        let parentIndent = lineIndent(of: object.range.lowerBound, in: bytes)
        var memberIndent = parentIndent + "  "
        if let first = members.first {
            let firstLineStart = lineStart(of: first.value.range.lowerBound, in: bytes)
            if firstLineStart > object.range.lowerBound {
                memberIndent = lineIndent(of: first.value.range.lowerBound, in: bytes)
            }
        }
        let value = nestedValue(remainingPath, literal: literal, indent: memberIndent)
        let member = "\(JSONC.quote(key)): \(value)"
        var out = bytes

        guard let last = members.last else {
            let inner = bytes[(object.range.lowerBound + 1)..<(object.range.upperBound - 1)]
            if inner.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
                let text = "{\n\(memberIndent)\(member)\n\(parentIndent)}"
                out.replaceSubrange(object.range, with: Array(text.utf8))
            } else {
                // Only comments inside: keep them after the new member (a trailing comma is valid JSONC).
                out.insert(contentsOf: Array("\n\(memberIndent)\(member),".utf8), at: object.range.lowerBound + 1)
            }
            return out
        }

        var afterLast = last.value.range.upperBound
        let commaPosition = nextSignificant(from: afterLast, in: bytes)
        let hasTrailingComma = commaPosition < bytes.count && bytes[commaPosition] == UInt8(ascii: ",")
        if hasTrailingComma { afterLast = commaPosition + 1 }
        let insertion = endOfLineIfOnlyCommentFollows(afterLast, in: bytes)
        let text = "\n\(memberIndent)\(member)" + (hasTrailingComma ? "," : "")
        out.insert(contentsOf: Array(text.utf8), at: insertion)
        if !hasTrailingComma {
            out.insert(UInt8(ascii: ","), at: last.value.range.upperBound)
        }
        return out
    }

    private static func nestedValue(_ path: [String], literal: String, indent: String) -> String {
        guard let key = path.first else { return literal }
        let inner = indent + "  "
        let value = nestedValue(Array(path.dropFirst()), literal: literal, indent: inner)
        return "{\n\(inner)\(JSONC.quote(key)): \(value)\n\(indent)}"
    }

    private static func lineStart(of offset: Int, in bytes: [UInt8]) -> Int {
        var index = offset
        while index > 0 && bytes[index - 1] != 0x0A { index -= 1 }
        return index
    }

    private static func lineIndent(of offset: Int, in bytes: [UInt8]) -> String {
        var index = lineStart(of: offset, in: bytes)
        var indent = ""
        while index < offset && (bytes[index] == 0x20 || bytes[index] == 0x09) {
            indent.append(Character(UnicodeScalar(bytes[index])))
            index += 1
        }
        return indent
    }

    /// The offset of the next byte that is not white space or part of a comment.
    private static func nextSignificant(from offset: Int, in bytes: [UInt8]) -> Int {
        JSONC.skipTrivia(in: bytes, from: offset)
    }

    /// Moves an insertion point past a `// comment` that ends the line, so the comment stays with its value.
    private static func endOfLineIfOnlyCommentFollows(_ offset: Int, in bytes: [UInt8]) -> Int {
        var index = offset
        while index < bytes.count && (bytes[index] == 0x20 || bytes[index] == 0x09) { index += 1 }
        if index >= bytes.count || bytes[index] == 0x0A || bytes[index] == 0x0D { return index }
        if index + 1 < bytes.count && bytes[index] == UInt8(ascii: "/") && bytes[index + 1] == UInt8(ascii: "/") {
            while index < bytes.count && bytes[index] != 0x0A && bytes[index] != 0x0D { index += 1 }
            return index
        }
        return offset
    }
}
