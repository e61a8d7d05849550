#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The TypeScript Otto's Telegram secrets file, `~/.local/share/otto/secrets/telegram.env`: `KEY=value` lines,
/// values optionally in single or double quotes, `#` comments and blank lines. `otto` reads it and
/// `ottoctl telegram setup` writes it, in the same format, so either Otto can use the other's file.
public enum TelegramSecretsFile {
    public static let tokenKey = OttoEnvironment.telegramBotToken
    public static let userKey = OttoEnvironment.telegramAllowedUserId
    /// Read at most this much: the file holds two short lines.
    public static let maxBytes = 64 * 1024

    /// `$HOME/.local/share/otto/secrets/telegram.env`, where the TypeScript Otto keeps it.
    public static func path(_ environment: [String: String]) -> String {
        OttoLocations.homeDirectory(environment) + "/.local/share/otto/secrets/telegram.env"
    }

    /// The file's keys and values; a later line wins, as when the file is sourced by a shell.
    public static func parse(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = String(String(rawLine).trimmingWhitespace)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(String(line.dropFirst(7)).trimmingWhitespace) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = String(String(line[..<equals]).trimmingWhitespace)
            var value = String(String(line[line.index(after: equals)...]).trimmingWhitespace)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.indices.first(where: {
                value[$0] == "#" && $0 > value.startIndex && value[value.index(before: $0)] == " "
            }) {
                // An unquoted value ends at a comment.
                value = String(String(value[..<hash]).trimmingWhitespace)
            }
            guard !key.isEmpty else { continue }
            values[key] = value
        }
        return values
    }

    /// The file's text for a token and a user id.
    public static func render(token: String, userId: Int64) -> String {
        "# Telegram bot for Otto (written by ottoctl telegram setup)\n\(tokenKey)=\(token)\n\(userKey)=\(userId)\n"
    }

    /// Whether `token` has the shape BotFather gives (`<bot id>:<secret>`), so it can go into a URL path as it is.
    public static func isValidToken(_ token: String) -> Bool {
        guard token.utf8.count <= 256, let colon = token.firstIndex(of: ":") else { return false }
        let id = token[..<colon]
        let secret = token[token.index(after: colon)...]
        let secretCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        return !id.isEmpty && id.allSatisfy { $0.isASCII && $0.isNumber } && !secret.isEmpty
            && secret.allSatisfy(secretCharacters.contains)
    }

    /// Whether `text` is a Telegram user id: a positive whole number.
    public static func userId(_ text: String) -> Int64? {
        guard let value = Int64(String(text.trimmingWhitespace)), value > 0 else { return nil }
        return value
    }
}

/// `GET /external/telegram/status` and `ottoctl telegram status --json`. Times are epoch milliseconds.
public struct TelegramStatus: Codable, Sendable, Equatable {
    public enum Polling: String, Codable, Sendable {
        /// Telegram is not configured, or this process does not poll (`standby`).
        case off
        case polling
        /// The last call failed; the next is after a back-off.
        case backoff
        /// Telegram said another client is polling this bot (HTTP 409).
        case conflict
        /// Telegram refused the bot token (HTTP 401); nothing is retried until the token is changed.
        case unauthorized
    }

    public struct Outbox: Codable, Sendable, Equatable {
        public var queued: Int
        public var failed: Int

        public init(queued: Int, failed: Int) {
            self.queued = queued
            self.failed = failed
        }
    }

    public struct LastError: Codable, Sendable, Equatable {
        public var at: Int64
        public var message: String

        public init(at: Int64, message: String) {
            self.at = at
            self.message = message
        }
    }

    public var enabled: Bool
    public var botUsername: String?
    public var polling: Polling
    /// Another `otto serve` on the same database holds the poller's lease; this one waits to take over.
    public var standby: Bool
    public var lastUpdateAt: Int64?
    public var outbox: Outbox
    public var lastError: LastError?

    public init(
        enabled: Bool, botUsername: String?, polling: Polling, standby: Bool = false, lastUpdateAt: Int64?,
        outbox: Outbox, lastError: LastError?
    ) {
        self.enabled = enabled
        self.botUsername = botUsername
        self.polling = polling
        self.standby = standby
        self.lastUpdateAt = lastUpdateAt
        self.outbox = outbox
        self.lastError = lastError
    }

    enum CodingKeys: String, CodingKey {
        case enabled, botUsername, polling, standby, lastUpdateAt, outbox, lastError
    }

    /// Every key is always present; an unknown value is `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(botUsername, forKey: .botUsername)
        try container.encode(polling, forKey: .polling)
        try container.encode(standby, forKey: .standby)
        try container.encode(lastUpdateAt, forKey: .lastUpdateAt)
        try container.encode(outbox, forKey: .outbox)
        try container.encode(lastError, forKey: .lastError)
    }
}
