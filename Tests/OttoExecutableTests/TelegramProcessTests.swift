import Foundation
import GRDB
import OttoContracts
import OttoTestSupport
import TelegramStandIn
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Telegram through `otto serve` as a process, the stand-in Bot API and the stand-in OpenCode over real HTTP, and a
/// real SQLite file: who is answered, on which model, in which session, in what order, and what survives a kill.
@Suite struct TelegramProcessTests {
    @Test(arguments: openCodeProtocols) func theAllowedUserIsAnsweredOnTheAssistantModelAndEveryoneElseIsIgnored(
        protocolVersion: Int
    ) async throws {
        try await TelegramOtto.run(protocolVersion: protocolVersion) { otto in
            let process = try await otto.start()
            let updateId = otto.send("[[sleep:1200]] What is on today?")
            let replies = await otto.replies(count: 1)
            #expect(replies.first?.hasPrefix("stand-in reply from openai/gpt-5") == true, "\(replies)")
            let prompt = try #require(otto.openCode.standIn.receivedPrompts.last)
            #expect(prompt.modelID == "gpt-5")
            #expect(prompt.text == "[[sleep:1200]] What is on today?")
            // The typing indicator while the model worked.
            let typing = otto.telegram.standIn.actions.filter { $0.chatId == TelegramOtto.user }
            #expect(typing.first?.action == "typing")
            #expect(otto.telegram.standIn.commands.map { $0["command"] ?? "" } == ["new", "model", "status", "help"])
            #expect(otto.telegram.standIn.webhookDeletions == 1)
            #expect(
                process.stderr.contains(
                    "msg=\"Telegram message answered\" answeredBy=openai/gpt-5 model=openai/gpt-5 source=flow_default update=\(updateId)"
                ), "\(process.stderr)")
            #expect(!process.stderr.contains("What is on today"), "a message's text was logged")

            // Another user, twice; the allowed user in a group; a channel post; someone else's edit.
            let standIn = otto.telegram.standIn
            standIn.inject(.init(from: 777, text: "stranger danger secret words"))
            standIn.inject(.init(from: 777, text: "stranger again"))
            standIn.inject(.init(from: TelegramOtto.user, chat: .init(id: -1001, type: "group"), text: "in a group"))
            var post = StandInTelegram.Injection(from: 0, chat: .init(id: -2002, type: "channel"), text: "a post")
            post.channelPost = true
            standIn.inject(post)
            var edit = StandInTelegram.Injection(from: 888, text: "edited by someone")
            edit.edited = true
            standIn.inject(edit)
            otto.send("and now?")
            let after = await otto.replies(count: 2)
            #expect(after.count == 2)
            #expect(after.last?.contains("and now?") == true)
            try await Task.sleep(for: .milliseconds(300))
            #expect(standIn.sent.count == 2, "only the allowed user's private messages are answered")
            #expect(standIn.sent.allSatisfy { $0.chatId == TelegramOtto.user })
            let ignored = process.stderr.split(separator: "\n").filter { $0.contains("ignored a Telegram update") }
            #expect(ignored.filter { $0.contains("sender=777") }.count == 1, "at most one line a minute per sender")
            #expect(ignored.contains { $0.contains("reason=\"not the allowed user\"") && $0.contains("sender=777") })
            #expect(
                ignored.contains {
                    $0.contains("not a private chat (group)") && $0.contains("sender=\(TelegramOtto.user)")
                })
            #expect(ignored.contains { $0.contains("reason=\"a channel post\"") && $0.contains("sender=-2002") })
            #expect(ignored.contains { $0.contains("reason=\"an edited message\"") && $0.contains("sender=888") })
            #expect(!process.stderr.contains("stranger"), "an ignored message's text was logged")

            let status = try await otto.status(of: process)
            #expect(status.enabled)
            #expect(status.botUsername == "otto_standin_bot")
            #expect(status.polling == .polling)
            #expect(status.outbox == .init(queued: 0, failed: 0))
            #expect(status.lastUpdateAt != nil)
            #expect(status.lastError == nil)
            let shown = try await otto.ctl(["telegram", "status"], of: process)
            #expect(shown.status == 0, "\(shown.stderr)")
            #expect(shown.stdout.contains("Telegram:    on, bot @otto_standin_bot\n"), "\(shown.stdout)")
            #expect(shown.stdout.contains("Outbox:      0 queued, 0 failed\n"))
            #expect(shown.stdout.contains("Last error:  none\n"))
        }
    }

    @Test func theConversationContinuesAcrossMessagesAndRestartsAndNewStartsAFreshOne() async throws {
        try await TelegramOtto.run { otto in
            var process = try await otto.start()
            otto.send("one")
            otto.send("two")
            _ = await otto.replies(count: 2)
            process.signal(SIGTERM)
            _ = await process.waitForExit()
            process = try await otto.start()
            otto.send("three")
            _ = await otto.replies(count: 3)
            let sessions = otto.openCode.standIn.receivedPrompts.map(\.sessionId)
            try #require(sessions.count == 3)
            #expect(Set(sessions).count == 1, "one session for the chat, across a restart: \(sessions)")

            otto.send("/new")
            let fresh = await otto.replies(count: 4)
            #expect(fresh.last == "Started a fresh conversation: the next message begins a new OpenCode session.")
            otto.send("four")
            _ = await otto.replies(count: 5)
            let fourth = try #require(otto.openCode.standIn.receivedPrompts.last)
            #expect(fourth.text == "four")
            #expect(fourth.sessionId != sessions[0])

            // A session OpenCode no longer knows: a new one, and the operator is told once.
            process.signal(SIGTERM)
            _ = await process.waitForExit()
            let database = try DatabaseQueue(path: otto.home.stateDatabasePath)
            try await database.write { db in
                try db.execute(
                    sql: "UPDATE session_bindings SET session_id = 'ses_forgotten' WHERE binding_key = ?",
                    arguments: ["telegram:chat:\(TelegramOtto.user):assistant"])
            }
            try database.close()
            process = try await otto.start()
            otto.send("five")
            otto.send("six")
            let replies = await otto.replies(count: 8)
            try #require(replies.count == 8, "\(replies)")
            #expect(replies[5] == "OpenCode no longer knows our earlier conversation, so this starts a new one.")
            #expect(replies[6].hasSuffix("prompt: five"))
            #expect(replies[7].hasSuffix("prompt: six"), "the notice comes once: \(replies)")
            let last = otto.openCode.standIn.receivedPrompts.suffix(2).map(\.sessionId)
            try #require(last.count == 2)
            #expect(last[0] == last[1] && last[0] != fourth.sessionId && last[0] != "ses_forgotten")
        }
    }

    @Test func modelStatusHelpAndUnknownCommands() async throws {
        try await TelegramOtto.run { otto in
            _ = try await otto.start()
            for command in ["/model", "/status", "/help", "/whatever", "/model@otto_standin_bot"] { otto.send(command) }
            let replies = await otto.replies(count: 5)
            try #require(replies.count == 5, "\(replies)")
            #expect(replies[0] == "Model: openai/gpt-5 (the interactiveAssistant flow default).")
            #expect(
                replies[1].hasPrefix("OpenCode: reachable, OpenCode 1.1.53 at \(otto.openCode.baseURL) (protocol 1)"))
            #expect(replies[1].contains("Runs in the last 24 h: none"))
            #expect(replies[2].contains("/new starts a fresh conversation"))
            #expect(replies[3] == "Unknown command /whatever. Try /help.")
            #expect(replies[4] == replies[0])
            #expect(otto.openCode.standIn.receivedPrompts.isEmpty, "commands never reach the model")
        }
    }

    @Test func aLongReplyIsSplitIntoMessagesTelegramTakes() async throws {
        try await TelegramOtto.run { otto in
            _ = try await otto.start()
            otto.send("[[size:10000]] write a lot")
            let replies = await otto.replies(count: 3)
            #expect(replies.count == 3)
            #expect(replies.allSatisfy { $0.utf16.count <= 4096 })
            #expect(replies.joined().filter { $0 == "x" }.count >= 9_900)
            try await Task.sleep(for: .milliseconds(300))
            #expect(otto.telegram.sent(to: TelegramOtto.user).count == 3)
        }
    }

    @Test func aFormattedReplyTelegramCannotParseIsSentAgainAsPlainTextOnce() async throws {
        let config: @Sendable (String) -> String = { telegram in
            TelegramOtto.config(telegram: telegram).replacingOccurrences(
                of: #""telegram": {"#, with: #""telegram": {"parseMode": "MarkdownV2", "#)
        }
        try await TelegramOtto.run(config: config) { otto in
            let process = try await otto.start()
            // The stand-in's answer has a "." and a "/", which MarkdownV2 wants escaped.
            otto.send("format this")
            let replies = await otto.replies(count: 1)
            try await Task.sleep(for: .milliseconds(500))
            let sent = otto.telegram.sent(to: TelegramOtto.user)
            #expect(sent.count == 1, "\(sent)")
            #expect(sent.first?.parseMode == nil)
            #expect(replies.first?.hasSuffix("prompt: format this") == true)
            #expect(otto.telegram.standIn.calls("sendMessage") == 2, "refused once as MarkdownV2, then plain")
            #expect(process.stderr.contains("Telegram could not parse a formatted message; sending it as plain text"))
        }
    }

    @Test func messagesWaitTheirTurnAndAFullQueueIsSaidSo() async throws {
        try await TelegramOtto.run { otto in
            _ = try await otto.start()
            otto.send("[[sleep:2500]] first")
            try await Task.sleep(for: .milliseconds(400))
            for index in 2...12 { otto.send("message \(index)") }
            let replies = await otto.replies(count: 12)
            try #require(replies.count == 12, "\(replies)")
            // The 12th arrived with one message answered and ten waiting: told at once, before the others.
            #expect(
                replies[0]
                    == "I am still working on 11 messages; this one was not queued. Send it again once I have answered."
            )
            #expect(replies[1].hasSuffix("prompt: [[sleep:2500]] first"))
            for index in 2...11 { #expect(replies[index].hasSuffix("prompt: message \(index)"), "\(replies)") }
            let prompts = otto.openCode.standIn.receivedPrompts
            try #require(prompts.count == 11)
            #expect(prompts.map(\.text) == ["[[sleep:2500]] first"] + (2...11).map { "message \($0)" })
            // One at a time: the second prompt reached OpenCode after the first was answered.
            #expect(prompts[1].receivedAt >= prompts[0].receivedAt + 2_500)
            let typing = otto.telegram.standIn.actions.filter { $0.chatId == TelegramOtto.user }
            #expect(typing.count >= 1)
        }
    }

    @Test(arguments: openCodeProtocols) func photosAndDocumentsReachOpenCodeAsAttachmentsWithinTheirLimits(
        protocolVersion: Int
    ) async throws {
        try await TelegramOtto.run(protocolVersion: protocolVersion) { otto in
            _ = try await otto.start()
            let standIn = otto.telegram.standIn
            var photo = StandInTelegram.Injection(from: TelegramOtto.user)
            photo.caption = "what is in this picture?"
            photo.photo = .init(bytes: 40_000)
            standIn.inject(photo)
            var document = StandInTelegram.Injection(from: TelegramOtto.user)
            document.caption = "summarise"
            document.document = .init(name: "notes.md", mime: "text/markdown", content: "# Groceries\n- milk\n")
            standIn.inject(document)
            var stated = StandInTelegram.Injection(from: TelegramOtto.user)
            stated.document = .init(name: "huge.pdf", mime: "application/pdf", bytes: 16 * 1024 * 1024)
            standIn.inject(stated)
            var unstated = StandInTelegram.Injection(from: TelegramOtto.user)
            unstated.document = .init(
                name: "sneaky.pdf", mime: "application/pdf", bytes: 17 * 1024 * 1024, statedSize: false)
            standIn.inject(unstated)
            var zip = StandInTelegram.Injection(from: TelegramOtto.user)
            zip.document = .init(name: "archive.zip", mime: "application/zip", bytes: 100)
            standIn.inject(zip)
            var voice = StandInTelegram.Injection(from: TelegramOtto.user)
            voice.voice = true
            standIn.inject(voice)

            let replies = await otto.replies(count: 6)
            try #require(replies.count == 6, "\(replies)")
            #expect(replies[0].hasSuffix("prompt: what is in this picture?"))
            #expect(replies[1].hasSuffix("prompt: summarise"))
            #expect(replies[2] == "huge.pdf is larger than 15 MiB, the most I take. Send a smaller file.")
            #expect(replies[3] == "sneaky.pdf is larger than 15 MiB, the most I take. Send a smaller file.")
            #expect(
                replies[4] == "I cannot read archive.zip: I take PDF, plain text, CSV, JSON and Markdown documents.")
            #expect(replies[5].contains("voice messages, videos and stickers are not supported yet"))
            let prompts = otto.openCode.standIn.receivedPrompts
            #expect(prompts.count == 2, "refused files never reach the model")
            let image = try #require(prompts.first?.files?.first)
            #expect(image.mime == "image/jpeg")
            #expect(image.bytes == 40_000)
            #expect(image.name == "photo.jpg")
            let notes = try #require(prompts.last?.files?.first)
            #expect(notes.name == "notes.md" && notes.mime == "text/markdown" && notes.bytes == 19)
            #expect(notes.head == "# Groceries\n- milk\n")
        }
    }
}

/// Issue 17's "done when", every part a real process: the `telegram-standin` and `opencode-standin` binaries,
/// `otto serve`, `ottoctl`.
@Suite struct TelegramDoneWhenTests {
    static func post(_ url: String, _ body: String) async throws -> String {
        try await ChildProcess.run(
            "/usr/bin/env", arguments: ["curl", "-s", "-X", "POST", "-d", body, url],
            environment: ProcessInfo.processInfo.environment
        ).stdout
    }

    static func sent(_ telegram: String) async throws -> [StandInTelegram.Sent] {
        let body = try await ChildProcess.run(
            "/usr/bin/env", arguments: ["curl", "-s", telegram + "/control/sent"],
            environment: ProcessInfo.processInfo.environment
        ).stdout
        return (try? JSONDecoder().decode([StandInTelegram.Sent].self, from: Data(body.utf8))) ?? []
    }

    @Test func ottoServeAnswersInTelegramOnTheAssistantModelWithBothStandInsAsProcesses() async throws {
        let telegramProcess = try ChildProcess(
            BuiltProducts.executable("telegram-standin"), arguments: ["--port", "0"],
            environment: ProcessInfo.processInfo.environment)
        defer { telegramProcess.signal(SIGTERM) }
        #expect(await telegramProcess.waitForOutput("listening on http://127.0.0.1:"))
        let telegram = String(
            telegramProcess.stdout.split(separator: "\n").first { $0.contains("listening") }?.split(separator: " ")
                .last ?? "")
        let openCodeProcess = try ChildProcess(
            BuiltProducts.executable("opencode-standin"),
            arguments: ["--port", "0", "--fixture", Fixtures.openCodeDirectory, "--protocol", "2"],
            environment: ProcessInfo.processInfo.environment)
        defer { openCodeProcess.signal(SIGTERM) }
        #expect(await openCodeProcess.waitForOutput("listening on http://127.0.0.1:"))
        let openCode = String(
            openCodeProcess.stdout.split(separator: "\n").first { $0.contains("listening") }?.split(separator: " ")
                .last ?? "")

        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(TelegramOtto.config(telegram: telegram))
        let otto = try ChildProcess(
            BuiltProducts.executable("otto"), arguments: ["serve"],
            environment: home.environment(
                openCode: openCode,
                extra: ["TELEGRAM_BOT_TOKEN": TelegramOtto.token, "TELEGRAM_ALLOWED_USER_ID": "\(TelegramOtto.user)"]))
        defer { otto.signal(SIGTERM) }
        #expect(await otto.waitForOutput("msg=\"Telegram bot\""), "\(otto.stderr)")

        _ = try await Self.post(telegram + "/control/updates", #"{"from": 4242, "text": "good morning"}"#)
        _ = try await Self.post(telegram + "/control/updates", #"{"from": 99, "text": "let me in"}"#)
        var sent: [StandInTelegram.Sent] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while sent.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            sent = try await Self.sent(telegram)
        }
        try await Task.sleep(for: .milliseconds(500))
        sent = try await Self.sent(telegram)
        #expect(sent.count == 1, "\(sent)")
        #expect(sent.first?.chatId == TelegramOtto.user)
        #expect(sent.first?.text == "stand-in reply from openai/gpt-5\nprompt: good morning")

        var environment = home.environment(apiPort: nil)
        environment["OTTO_EXTERNAL_API_URL"] = TelegramOtto.url(of: otto)
        let status = try await ChildProcess.run(
            BuiltProducts.executable("ottoctl"), arguments: ["telegram", "status"], environment: environment)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("Polling:     polling, last message "), "\(status.stdout)")
        otto.signal(SIGTERM)
        #expect(await otto.waitForExit() == 0)
        #expect(!otto.stderr.contains(TelegramOtto.secret) && !otto.stdout.contains(TelegramOtto.secret))
        #expect(!status.stdout.contains(TelegramOtto.secret))
    }
}
