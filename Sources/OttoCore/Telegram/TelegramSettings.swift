import Foundation
import OttoContracts

#if canImport(Glibc)
    import Glibc
#endif

/// A Telegram bot token. It is part of every Bot API URL, so it is never printed: `description` masks it, and any
/// text that might carry it (a library's error with the URL) goes through `redacting(_:)`.
public struct TelegramBotToken: Sendable, Equatable, CustomStringConvertible {
    let value: String

    public init?(_ value: String) {
        guard TelegramSecretsFile.isValidToken(value) else { return nil }
        self.value = value
    }

    /// The bot's id: the part before the colon, which Telegram shows anyway (it is `getMe`'s `id`).
    public var botId: String { String(value.prefix { $0 != ":" }) }
    public var description: String { "\(botId):***" }

    /// `text` with the token, and its secret part alone, replaced by `***`.
    public func redacting(_ text: String) -> String {
        let secret = String(value.drop { $0 != ":" }.dropFirst())
        var result = text.replacingOccurrences(of: value, with: "\(botId):***")
        if secret.count >= 8 { result = result.replacingOccurrences(of: secret, with: "***") }
        return result
    }
}

/// Telegram's settings once the config, the environment and the TypeScript Otto's `telegram.env` were read.
public struct TelegramSettings: Sendable {
    public var token: TelegramBotToken
    public var allowedUserId: Int64
    public var apiBaseURL: String
    public var promptTimeout: Duration
    public var parseMode: String?
    /// The watchdog's alerts and the heartbeat's digest also go to the chat.
    public var notify: Bool
    /// Where the token and the user id came from, for the start-up line (a setting's name or a file's path).
    public var tokenSource: String
    public var userSource: String

    public enum Resolution: Sendable {
        /// Telegram is off; `reason` says why, for the one log line.
        case off(reason: String)
        /// A token but something else missing or wrong: Telegram is off and status says why.
        case unusable(reason: String)
        case on(TelegramSettings)
    }

    /// Each of the token and the allowed user id comes from the first of: the config (`telegram.botTokenFile`,
    /// `telegram.allowedUserId`), the environment (`TELEGRAM_BOT_TOKEN`, `TELEGRAM_ALLOWED_USER_ID`), the
    /// TypeScript Otto's `~/.local/share/otto/secrets/telegram.env`. `warn` is told of a token file that group or
    /// others can read.
    public static func resolve(
        _ configuration: OttoConfiguration, environment: [String: String], warn: (String) -> Void
    ) -> Resolution {
        let settings = configuration.telegram
        if settings.enabled == false { return .off(reason: "telegram.enabled is false") }
        let secretsPath = TelegramSecretsFile.path(environment)
        var secrets: [String: String] = [:]
        var secretsProblem: String?
        if let text = readSmallFile(secretsPath) {
            secrets = TelegramSecretsFile.parse(text)
            if let mode = fileMode(secretsPath), mode & 0o077 != 0, secrets[TelegramSecretsFile.tokenKey] != nil {
                warn("\(secretsPath) can be read by group or others: chmod 600 \(secretsPath)")
            }
        } else if FileManager.default.fileExists(atPath: secretsPath) {
            secretsProblem = "cannot read \(secretsPath)"
        }

        var tokenText: String?
        var tokenSource = ""
        if let file = settings.botTokenFile {
            do {
                tokenText = try OpenCodeCredentials.readPasswordFile(
                    file, setting: "telegram.botTokenFile", secret: "token", warn: warn)
                tokenSource = file
            } catch {
                return .unusable(reason: error.description)
            }
        } else if let value = OttoEnvironment.value(OttoEnvironment.telegramBotToken, in: environment) {
            tokenText = value
            tokenSource = OttoEnvironment.telegramBotToken
        } else if let value = secrets[TelegramSecretsFile.tokenKey], !value.isEmpty {
            tokenText = value
            tokenSource = secretsPath
        }
        guard let tokenText else {
            if settings.enabled == true {
                return .unusable(
                    reason: "telegram.enabled is true but no bot token was found: set telegram.botTokenFile, "
                        + "TELEGRAM_BOT_TOKEN, or run ottoctl telegram setup"
                        + (secretsProblem.map { " (\($0))" } ?? ""))
            }
            return .off(reason: "no bot token (telegram.botTokenFile, TELEGRAM_BOT_TOKEN or \(secretsPath))")
        }
        guard let token = TelegramBotToken(tokenText.trimmingCharacters(in: .whitespaces)) else {
            return .unusable(
                reason: "the bot token from \(tokenSource) is not a token BotFather gives (<digits>:<letters, digits, "
                    + "_ or ->)")
        }

        var userId: Int64?
        var userSource = ""
        if let id = settings.allowedUserId {
            userId = id
            userSource = "telegram.allowedUserId"
        } else if let text = OttoEnvironment.value(OttoEnvironment.telegramAllowedUserId, in: environment) {
            guard let id = TelegramSecretsFile.userId(text) else {
                return .unusable(reason: "TELEGRAM_ALLOWED_USER_ID is not a Telegram user id (a positive number)")
            }
            userId = id
            userSource = OttoEnvironment.telegramAllowedUserId
        } else if let text = secrets[TelegramSecretsFile.userKey], !text.isEmpty {
            guard let id = TelegramSecretsFile.userId(text) else {
                return .unusable(reason: "TELEGRAM_ALLOWED_USER_ID in \(secretsPath) is not a Telegram user id")
            }
            userId = id
            userSource = secretsPath
        }
        guard let userId else {
            return .unusable(
                reason: "a bot token was found but no allowed user: set telegram.allowedUserId or "
                    + "TELEGRAM_ALLOWED_USER_ID, or run ottoctl telegram setup")
        }
        return .on(
            TelegramSettings(
                token: token, allowedUserId: userId, apiBaseURL: settings.apiBaseURL,
                promptTimeout: .milliseconds(settings.promptTimeoutMs), parseMode: settings.parseMode,
                notify: configuration.notifications.telegram ?? true, tokenSource: tokenSource,
                userSource: userSource))
    }

    private static func readSmallFile(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: TelegramSecretsFile.maxBytes) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    private static func fileMode(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode
    }
}
