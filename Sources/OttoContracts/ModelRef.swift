#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A reference to one model of one provider, written `provider/model`.
///
/// The text is split at the first `/`. The provider part is non-empty and holds no white space or `/`;
/// the model part is non-empty and otherwise is whatever OpenCode lists: real model ids contain further
/// slashes, spaces, `:`, `@`, `~`, `+`, parentheses, dots and upper case. Control characters are never valid.
/// This type is the one place where "what is a valid model reference" is decided.
public struct ModelRef: Hashable, Sendable, CustomStringConvertible {
    public let providerId: String
    public let modelId: String
    /// The canonical text form, `provider/model`, kept so that sorting, hashing and encoding a catalog of
    /// thousands of references never rebuilds the string.
    public let description: String

    /// The longest reference accepted, in bytes of UTF-8. The longest in the models.dev catalog is under 100; the
    /// cap keeps every check and suggestion search on a rejected reference cheap.
    public static let maxLength = 512

    /// Builds a reference from its two parts, validating each.
    public init(providerId: String, modelId: String) throws(ModelRefError) {
        let given = "\(providerId)/\(modelId)"
        if given.utf8.count > Self.maxLength { throw ModelRefError(given: given, problem: .tooLong) }
        if providerId.isEmpty { throw ModelRefError(given: given, problem: .emptyProvider) }
        if modelId.isEmpty { throw ModelRefError(given: given, problem: .emptyModel) }
        if providerId.unicodeScalars.contains(where: { $0 == "/" }) {
            throw ModelRefError(given: given, problem: .slashInProvider)
        }
        try Self.checkCharacters(providerId: providerId, modelId: modelId, given: given)
        self.providerId = providerId
        self.modelId = modelId
        self.description = given
    }

    /// Parses `provider/model` text. White space around the whole reference is ignored.
    public init(parsing text: String) throws(ModelRefError) {
        let trimmed = Self.trimmed(text)
        if trimmed.isEmpty { throw ModelRefError(given: text, problem: .empty) }
        if trimmed.utf8.count > Self.maxLength { throw ModelRefError(given: trimmed, problem: .tooLong) }
        guard let slash = trimmed.firstIndex(of: "/") else {
            throw ModelRefError(given: trimmed, problem: .missingSlash)
        }
        let providerId = String(trimmed[..<slash])
        let modelId = String(trimmed[trimmed.index(after: slash)...])
        if providerId.isEmpty { throw ModelRefError(given: trimmed, problem: .emptyProvider) }
        if modelId.isEmpty { throw ModelRefError(given: trimmed, problem: .emptyModel) }
        try Self.checkCharacters(providerId: providerId, modelId: modelId, given: trimmed)
        self.providerId = providerId
        self.modelId = modelId
        self.description = trimmed
    }

    /// A reference read back from where Otto stored it after parsing it (the state database): split at the first
    /// `/` without checking every character again, which a listing of thousands of jobs would do for each one.
    /// Nil if the text has no `/` after a non-empty provider.
    package init?(storedText text: String) {
        guard let slash = text.utf8.firstIndex(of: UInt8(ascii: "/")), slash != text.utf8.startIndex else {
            return nil
        }
        self.providerId = String(text[..<slash])
        self.modelId = String(text[text.index(after: slash)...])
        self.description = text
    }

    public static func == (lhs: ModelRef, rhs: ModelRef) -> Bool { lhs.description == rhs.description }

    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    /// Trims white space around the text; most references have none, so that case costs no copy.
    private static func trimmed(_ text: String) -> String {
        let trimmed = text.trimmingWhitespace
        return trimmed.startIndex == text.startIndex && trimmed.endIndex == text.endIndex ? text : String(trimmed)
    }

    private static func checkCharacters(providerId: String, modelId: String, given: String) throws(ModelRefError) {
        if providerId.unicodeScalars.contains(where: \.properties.isWhitespace) {
            throw ModelRefError(given: given, problem: .whitespaceInProvider)
        }
        // Control characters (Unicode category Cc): U+0000-U+001F and U+007F-U+009F.
        if given.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            throw ModelRefError(given: given, problem: .controlCharacter)
        }
    }
}

extension ModelRef: Comparable {
    /// Plain code-point order of the whole reference (UTF-8 byte order equals code-point order),
    /// so every machine and locale sorts a catalog the same way.
    public static func < (lhs: ModelRef, rhs: ModelRef) -> Bool {
        lhs.description.utf8.lexicographicallyPrecedes(rhs.description.utf8)
    }
}

extension ModelRef: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Why a text is not a model reference, in words a person can act on.
public struct ModelRefError: Error, Equatable, Sendable, LocalizedError, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        case empty
        case missingSlash
        case emptyProvider
        case emptyModel
        case slashInProvider
        case whitespaceInProvider
        case controlCharacter
        case tooLong
    }

    public let given: String
    public let problem: Problem

    public init(given: String, problem: Problem) {
        self.given = given
        self.problem = problem
    }

    public static let expectedFormat = "expected \"provider/model\", e.g. \"anthropic/claude-sonnet-4-5\""

    public var message: String {
        // A long reference is shown by its start only, so the message stays short.
        let shown = jsonQuoted(given.count > 64 ? String(given.prefix(60)) + "…" : given)
        switch problem {
        case .tooLong:
            return "invalid model reference \(shown): \(given.utf8.count) bytes long; at most "
                + "\(ModelRef.maxLength) are allowed"
        case .empty:
            return "model reference is empty; \(Self.expectedFormat)"
        case .missingSlash:
            return "invalid model reference \(shown): no \"/\" between provider and model; \(Self.expectedFormat)"
        case .emptyProvider:
            return "invalid model reference \(shown): the provider part before \"/\" is empty; \(Self.expectedFormat)"
        case .emptyModel:
            return "invalid model reference \(shown): the model part after \"/\" is empty; \(Self.expectedFormat)"
        case .slashInProvider:
            return "invalid model reference \(shown): a provider id cannot contain \"/\"; \(Self.expectedFormat)"
        case .whitespaceInProvider:
            return
                "invalid model reference \(shown): the provider part cannot contain white space; \(Self.expectedFormat)"
        case .controlCharacter:
            return "invalid model reference \(shown): control characters are not allowed; \(Self.expectedFormat)"
        }
    }

    public var errorDescription: String? { message }
    public var description: String { message }
}

/// C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional embeddings,
/// overrides and isolates (U+202A–U+202E, U+2066–U+2069, which can make a terminal show text in another order
/// than it is): what must never reach a terminal or a log line raw.
public func isControlCharacter(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
        || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
}

/// `text` as a JSON string literal. Messages and log lines quote values this way, so control characters show as
/// escapes and a message stays one clean line.
public func jsonQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if isControlCharacter(scalar) {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
