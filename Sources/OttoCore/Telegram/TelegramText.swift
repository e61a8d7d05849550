import Foundation

/// Telegram's text rules: a message is at most 4,096 UTF-16 code units ("sendMessage": "1-4096 characters after
/// entities parsing"; Telegram counts in UTF-16).
public enum TelegramText {
    public static let maxMessageUnits = 4_096
    /// A reply is at most this many messages; the rest is cut with a note.
    public static let maxParts = 12

    /// `text` in messages of at most `limit` UTF-16 code units each, split at the last paragraph break that fits,
    /// else the last line break, else the last space, else between two characters: never inside a grapheme (so
    /// never inside a surrogate pair, an emoji sequence or a letter with its combining marks).
    public static func split(_ text: String, limit: Int = maxMessageUnits, maxParts: Int = maxParts) -> [String] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [] }
        if trimmed.utf16.count <= limit { return [trimmed] }
        var parts: [String] = []
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            if parts.count == maxParts - 1, rest.utf16.count > limit {
                let note = "\n[… \(rest.count) more characters not sent]"
                let room = limit - note.utf16.count
                let (head, _) = cut(rest, limit: room)
                parts.append(String(head).trimmingCharacters(in: .whitespacesAndNewlines) + note)
                break
            }
            let (head, tail) = cut(rest, limit: limit)
            let part = head.trimmingCharacters(in: .whitespacesAndNewlines)
            if !part.isEmpty { parts.append(part) }
            rest = tail.drop { $0.isWhitespace || $0.isNewline }
        }
        return parts
    }

    /// The longest head of `text` that fits in `limit` code units, ended at the best boundary, and what follows.
    static func cut(_ text: Substring, limit: Int) -> (Substring, Substring) {
        if text.utf16.count <= limit { return (text, text[text.endIndex...]) }
        var units = 0
        var end = text.startIndex
        var paragraph: String.Index?
        var line: String.Index?
        var space: String.Index?
        var previousWasNewline = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let width = character.utf16.count
            if units + width > limit { break }
            units += width
            let next = text.index(after: index)
            if character.isNewline {
                if previousWasNewline { paragraph = next }
                line = next
                previousWasNewline = true
            } else {
                previousWasNewline = false
                if character.isWhitespace { space = next }
            }
            end = next
            index = next
        }
        // A boundary too near the start would make a tiny message: then a worse boundary further on is better.
        let minimum = limit / 4
        func usable(_ boundary: String.Index?) -> String.Index? {
            guard let boundary, text.utf16.distance(from: text.startIndex, to: boundary) >= minimum else { return nil }
            return boundary
        }
        let chosen = usable(paragraph) ?? usable(line) ?? usable(space) ?? end
        // A single grapheme wider than the limit cannot be split: it goes alone (Telegram refuses it, visibly).
        let cutAt = chosen == text.startIndex ? text.index(after: text.startIndex) : chosen
        return (text[..<cutAt], text[cutAt...])
    }

    /// The first `count` characters of `text` on one line, with "…" when cut, for telling the operator which
    /// message is meant.
    public static func excerpt(_ text: String, count: Int = 40) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count <= count ? flat : String(flat.prefix(count)) + "…"
    }
}
