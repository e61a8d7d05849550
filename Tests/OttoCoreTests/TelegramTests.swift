import Foundation
import OttoContracts
import OttoTestSupport
import Testing

@testable import OttoCore

/// Telegram's pieces on their own: splitting replies, the secrets file, where the token and the user come from,
/// the config keys, and the database's exactly-once bookkeeping.
@Suite struct TelegramTests {
    // MARK: Splitting

    @Test func aReplyWithinTheLimitIsOneMessageAndALongOneSplitsAtParagraphsThenLinesThenWords() {
        #expect(TelegramText.split("  short  ") == ["short"])
        #expect(TelegramText.split(" \n ") == [])
        let paragraph = String(repeating: "a", count: 3000)
        let parts = TelegramText.split(paragraph + "\n\n" + paragraph + "\nline two")
        #expect(parts == [paragraph, paragraph + "\nline two"])
        let lines = TelegramText.split(paragraph + "\n" + paragraph)
        #expect(lines == [paragraph, paragraph])
        let words = TelegramText.split(String(repeating: "word ", count: 2000))
        #expect(words.count == 3)
        #expect(words.allSatisfy { $0.utf16.count <= 4096 && !$0.hasSuffix(" ") && !$0.hasPrefix(" ") })
        #expect(
            words.joined(separator: " ") == String(repeating: "word ", count: 2000).trimmingCharacters(in: .whitespaces)
        )
    }

    @Test func splittingNeverCutsASurrogatePairOrAGrapheme() {
        // 😀 is two UTF-16 units; 👩‍👩‍👧 a family of 8 units in one grapheme; 語 one unit; é as e + combining mark.
        for (unit, name) in [("😀", "emoji"), ("👩‍👩‍👧", "family"), ("語", "CJK"), ("e\u{301}", "combining")] {
            for shift in 0..<3 {
                let text = String(repeating: "x", count: 4095 - shift) + String(repeating: unit, count: 3000)
                let parts = TelegramText.split(text)
                #expect(parts.joined() == text, "\(name): nothing lost or changed")
                for part in parts { #expect(part.utf16.count <= 4096, "\(name): within the limit") }
                // A cut inside a grapheme would leave a piece of it on each side: two characters where there was
                // one, so the parts would hold more characters than the text.
                #expect(parts.map(\.count).reduce(0, +) == text.count, "\(name): no grapheme cut")
                #expect(parts.dropFirst().allSatisfy { $0.hasPrefix(unit) }, "\(name): parts start on a whole one")
            }
        }
    }

    @Test func aRunawayReplyStopsAtTwelveMessagesAndSaysHowMuchWasLeft() {
        let parts = TelegramText.split(String(repeating: "y", count: 100_000))
        #expect(parts.count == 12)
        #expect(parts.allSatisfy { $0.utf16.count <= 4096 })
        #expect(parts.last?.hasSuffix("more characters not sent]") == true)
    }

    // MARK: The secrets file and the settings

    @Test func theOriginalsSecretsFileIsReadWithQuotesCommentsAndExport() {
        let values = TelegramSecretsFile.parse(
            """
            # Otto's Telegram bot
            TELEGRAM_BOT_TOKEN="123:abc_DEF-1"

            export TELEGRAM_ALLOWED_USER_ID=42   # me
            OTHER='quoted # not a comment'
            broken line
            """)
        #expect(
            values == [
                "TELEGRAM_BOT_TOKEN": "123:abc_DEF-1", "TELEGRAM_ALLOWED_USER_ID": "42",
                "OTHER": "quoted # not a comment",
            ])
        let rendered = TelegramSecretsFile.render(token: "123:abc", userId: 42)
        #expect(
            TelegramSecretsFile.parse(rendered) == ["TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_ALLOWED_USER_ID": "42"])
        #expect(TelegramSecretsFile.isValidToken("123456:AA-b_c"))
        for bad in ["", "123456", ":abc", "abc:def", "123:ab/c", "123:ab?c", "123:a b", "123:"] {
            #expect(!TelegramSecretsFile.isValidToken(bad), "\(bad)")
        }
    }

    static func configuration(_ json: String, home: TemporaryHome) throws -> OttoConfiguration {
        try OttoConfiguration.parse(Array(json.utf8), file: home.configPath, homeDirectory: home.path)
    }

    @Test func eachValueComesFromTheConfigThenTheEnvironmentThenTheOriginalsFile() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let secrets = home.path + "/.local/share/otto/secrets"
        try FileManager.default.createDirectory(atPath: secrets, withIntermediateDirectories: true)
        try "TELEGRAM_BOT_TOKEN=111:fromFile\nTELEGRAM_ALLOWED_USER_ID=1\n".write(
            toFile: secrets + "/telegram.env", atomically: true, encoding: .utf8)
        chmod(secrets + "/telegram.env", 0o644)
        let tokenFile = home.path + "/bot.token"
        try "333:fromConfig\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        chmod(tokenFile, 0o600)
        var warnings: [String] = []
        func resolve(_ json: String, _ environment: [String: String]) throws -> TelegramSettings.Resolution {
            TelegramSettings.resolve(
                try Self.configuration(json, home: home), environment: ["HOME": home.path].merging(environment) { $1 }
            ) { warnings.append($0) }
        }
        guard case .on(let fromFile) = try resolve("{}", [:]) else {
            Issue.record("not on")
            return
        }
        #expect(fromFile.token.value == "111:fromFile" && fromFile.allowedUserId == 1)
        #expect(fromFile.tokenSource == secrets + "/telegram.env")
        #expect(
            warnings == ["\(secrets)/telegram.env can be read by group or others: chmod 600 \(secrets)/telegram.env"])
        guard
            case .on(let fromEnvironment) = try resolve(
                "{}", ["TELEGRAM_BOT_TOKEN": "222:fromEnv", "TELEGRAM_ALLOWED_USER_ID": "2"])
        else {
            Issue.record("not on")
            return
        }
        #expect(fromEnvironment.token.value == "222:fromEnv" && fromEnvironment.allowedUserId == 2)
        guard
            case .on(let fromConfig) = try resolve(
                #"{"telegram": {"botTokenFile": "~/bot.token", "allowedUserId": 3, "parseMode": "HTML", "promptTimeoutMs": 5000}, "notifications": {"telegram": false}}"#,
                ["TELEGRAM_BOT_TOKEN": "222:fromEnv", "TELEGRAM_ALLOWED_USER_ID": "2"])
        else {
            Issue.record("not on")
            return
        }
        #expect(fromConfig.token.value == "333:fromConfig" && fromConfig.allowedUserId == 3)
        #expect(fromConfig.tokenSource == tokenFile && fromConfig.userSource == "telegram.allowedUserId")
        #expect(fromConfig.parseMode == "HTML" && fromConfig.promptTimeout == .seconds(5) && !fromConfig.notify)
        #expect(fromConfig.apiBaseURL == "https://api.telegram.org")

        guard case .off(let reason) = try resolve(#"{"telegram": {"enabled": false}}"#, [:]) else {
            Issue.record("not off")
            return
        }
        #expect(reason == "telegram.enabled is false")
        guard case .unusable(let bad) = try resolve("{}", ["TELEGRAM_BOT_TOKEN": "not a token"]) else {
            Issue.record("not unusable")
            return
        }
        #expect(bad.hasPrefix("the bot token from TELEGRAM_BOT_TOKEN is not a token BotFather gives"))
        #expect(!bad.contains("not a token\""))
    }

    @Test func invalidTelegramSettingsAreReportedWithTheirKeys() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let error = #expect(throws: ConfigurationError.self) {
            _ = try Self.configuration(
                #"{"telegram": {"allowedUserId": "me", "parseMode": "Markdown", "apiBaseUrl": "ftp://x", "botTokenFile": "relative", "promptTimeoutMs": 1}}"#,
                home: home)
        }
        if let error {
            let paths = error.issues.map(\.path)
            #expect(
                Set(paths) == [
                    "telegram.allowedUserId", "telegram.parseMode", "telegram.apiBaseUrl", "telegram.botTokenFile",
                    "telegram.promptTimeoutMs",
                ])
        }
    }

    @Test func theTokenIsMaskedInEveryTextThatMightCarryIt() throws {
        let token = try #require(TelegramBotToken("123456789:AAsecretSECRETsecret_-x"))
        #expect("\(token)" == "123456789:***")
        #expect(
            token.redacting(
                "GET http://api/bot123456789:AAsecretSECRETsecret_-x/getMe failed (AAsecretSECRETsecret_-x)")
                == "GET http://api/bot123456789:***/getMe failed (***)")
    }

    // MARK: The database

    static func inbound(_ id: Int64, chat: Int64 = 7, text: String = "hi") -> TelegramInbound {
        TelegramInbound(updateId: id, chatId: chat, userId: chat, kind: .text, text: text, receivedAt: 1)
    }

    @Test func anUpdateRecordedTwiceIsQueuedOnceAndAFullQueueIsAnsweredAtOnce() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let database = try AppDatabase.open(path: home.stateDatabasePath)
        let holder = "here:1:a"
        #expect(try await database.claimTelegramPoller(holder: holder, until: 1_000, now: 0) { _ in false })
        #expect(try await !database.claimTelegramPoller(holder: "there:2:b", until: 2_000, now: 500) { _ in false })
        #expect(
            try await database.claimTelegramPoller(holder: "there:2:b", until: 2_000, now: 500) { $0 == holder },
            "a holder that is gone loses its lease at once")
        #expect(try await database.claimTelegramPoller(holder: holder, until: 3_000, now: 2_001) { _ in false })

        let overflow: @Sendable (TelegramInbound, Int) -> TelegramOutgoing = { inbound, pending in
            TelegramOutgoing(chatId: inbound.chatId, text: "full (\(pending))", kind: "notice")
        }
        let first = try await database.recordTelegramUpdates(
            [Self.inbound(10), Self.inbound(11)], nextOffset: 12, holder: holder, now: 5, maxPending: 3,
            overflow: overflow)
        #expect(first.map(\.updateId) == [10, 11])
        // Telegram sends them again (the acknowledgement was lost) with a new one: only the new one is queued.
        let again = try await database.recordTelegramUpdates(
            [Self.inbound(10), Self.inbound(11), Self.inbound(12)], nextOffset: 13, holder: holder, now: 6,
            maxPending: 3, overflow: overflow)
        #expect(again.map(\.updateId) == [12])
        let full = try await database.recordTelegramUpdates(
            [Self.inbound(13)], nextOffset: 14, holder: holder, now: 7, maxPending: 3, overflow: overflow)
        #expect(full.isEmpty)
        #expect(try await database.nextTelegramOutbox()?.message.text == "full (3)")
        #expect(try await database.telegramPollerState().offset == 14)
        await #expect(throws: AppDatabase.LostTelegramLease.self) {
            _ = try await database.recordTelegramUpdates(
                [Self.inbound(14)], nextOffset: 15, holder: "someone:3:c", now: 8, maxPending: 3, overflow: overflow)
        }

        #expect(try await database.nextTelegramInbound()?.updateId == 10)
        try await database.finishTelegramInbound(
            updateId: 10, answeredBy: "a/b", errorCode: nil,
            replies: [TelegramOutgoing(chatId: 7, text: "answer", kind: "reply")], now: 9)
        // Finishing it again (a retry after a lost write) queues nothing more.
        try await database.finishTelegramInbound(
            updateId: 10, answeredBy: "a/b", errorCode: nil,
            replies: [TelegramOutgoing(chatId: 7, text: "answer", kind: "reply")], now: 10)
        #expect(try await database.nextTelegramInbound()?.updateId == 11)
        #expect(try await database.telegramOutboxCounts() == (2, 0))
        // A keyed message (a run's alert) is queued once however often it is written.
        let alert = TelegramOutgoing(dedupeKey: "run:r1:0", chatId: 7, text: "alert", kind: "watchdog")
        try await database.enqueueTelegram([alert], now: 11)
        try await database.enqueueTelegram([alert], now: 12)
        #expect(try await database.telegramOutboxCounts() == (3, 0))
    }
}
