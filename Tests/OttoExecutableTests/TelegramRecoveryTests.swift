import Foundation
import GRDB
import OttoContracts
import OttoTestSupport
import TelegramStandIn
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What survives: `kill -9` at the dangerous moments, Telegram's 429 and 409, the outbox across a restart, two
/// processes on one database; and what an operator brings along: the TypeScript Otto's `telegram.env` and its
/// `session_bindings`, and `ottoctl telegram setup`.
@Suite struct TelegramRecoveryTests {
    static var now: Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    @Test(arguments: openCodeProtocols) func killedAfterAcceptingAndBeforeReplyingTheMessageIsAnsweredOnce(
        protocolVersion: Int
    ) async throws {
        try await TelegramOtto.run(protocolVersion: protocolVersion) { otto in
            var process = try await otto.start()
            otto.send("hello")
            _ = await otto.replies(count: 1)
            otto.send("[[sleep:2500]] the slow one")
            // The prompt reached OpenCode; Otto dies before the answer is back.
            let deadline = ContinuousClock.now + .seconds(20)
            while otto.openCode.standIn.receivedPrompts.count < 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try #require(otto.openCode.standIn.receivedPrompts.count == 2)
            process.signal(SIGKILL)
            _ = await process.waitForExit()
            #expect(otto.telegram.sent(to: TelegramOtto.user).count == 1)

            process = try await otto.start()
            let replies = await otto.replies(count: 2)
            try await Task.sleep(for: .seconds(1))
            let all = otto.telegram.sent(to: TelegramOtto.user).map(\.text)
            #expect(all.count == 2, "exactly one reply to the message Otto was killed on: \(all)")
            #expect(replies.last?.hasSuffix("prompt: [[sleep:2500]] the slow one") == true, "\(replies)")
            #expect(
                otto.openCode.standIn.receivedPrompts.count == 2,
                "the answer was taken from OpenCode, not asked for again")
            #expect(process.isRunning)
        }
    }

    @Test func stoppedWhileAnsweringTheMessageIsFinishedAndItsReplySentOnce() async throws {
        try await TelegramOtto.run { otto in
            var process = try await otto.start()
            otto.send("[[sleep:2000]] answer me even though you are stopping")
            let deadline = ContinuousClock.now + .seconds(20)
            while otto.openCode.standIn.receivedPrompts.isEmpty, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            process.signal(SIGTERM)
            #expect(await process.waitForExit() == 0)
            #expect(otto.openCode.standIn.abortedSessions.isEmpty, "the prompt was let finish, not aborted")
            // Its reply went out before Otto stopped.
            #expect(otto.telegram.sent(to: TelegramOtto.user).count == 1)
            process = try await otto.start()
            let replies = await otto.replies(count: 1)
            try await Task.sleep(for: .milliseconds(500))
            #expect(otto.telegram.sent(to: TelegramOtto.user).count == 1)
            #expect(
                replies.first?.hasSuffix("prompt: [[sleep:2000]] answer me even though you are stopping") == true,
                "\(replies)")
            #expect(otto.openCode.standIn.receivedPrompts.count == 1)
            _ = process
        }
    }

    @Test func killedAfterReplyingAndBeforeAcknowledgingNothingIsSentTwice() async throws {
        try await TelegramOtto.run { otto in
            var process = try await otto.start()
            otto.send("warm up")
            _ = await otto.replies(count: 1)
            // Every poll after the one that brings the message fails: the message is never acknowledged.
            otto.telegram.standIn.addFault(.init(method: "getUpdates", status: 502, count: 1_000))
            otto.send("answer me once")
            let replies = await otto.replies(count: 2)
            #expect(replies.last?.hasSuffix("prompt: answer me once") == true)
            #expect(otto.telegram.standIn.unconfirmed == 1, "replied, not yet acknowledged")
            let backoff = try await otto.waitForStatus(of: process) { $0.polling == .backoff }
            #expect(backoff.polling == .backoff)
            #expect(backoff.lastError?.message == "getUpdates: Bad Gateway")
            process.signal(SIGKILL)
            _ = await process.waitForExit()

            otto.telegram.standIn.clearFaults()
            process = try await otto.start()
            let deadline = ContinuousClock.now + .seconds(20)
            while otto.telegram.standIn.unconfirmed > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(otto.telegram.standIn.unconfirmed == 0, "the restarted Otto acknowledged it")
            try await Task.sleep(for: .seconds(1))
            #expect(otto.telegram.sent(to: TelegramOtto.user).count == 2)
            #expect(otto.openCode.standIn.receivedPrompts.count == 2)
        }
    }

    @Test func tooManyRequestsWaitsAsLongAsTelegramSays() async throws {
        try await TelegramOtto.run { otto in
            let process = try await otto.start()
            otto.telegram.standIn.addFault(
                .init(
                    method: "sendMessage", status: 429, description: "Too Many Requests: retry after 2", retryAfter: 2))
            let sentAt = Self.now
            otto.send("hi")
            let replies = await otto.replies(count: 1)
            #expect(replies.count == 1)
            let reply = try #require(otto.telegram.sent(to: TelegramOtto.user).first)
            #expect(reply.at - sentAt >= 2_000, "sent \(reply.at - sentAt) ms after the message, within retry_after")
            #expect(reply.at - sentAt < 10_000)
            let status = try await otto.status(of: process)
            #expect(status.lastError?.message == "sendMessage: Too Many Requests: retry after 2")
            #expect(status.outbox.queued == 0)
        }
    }

    @Test func aConflictIsReportedAndNotRetriedInATightLoop() async throws {
        try await TelegramOtto.run { otto in
            let process = try await otto.start()
            let before = otto.telegram.standIn.calls("getUpdates")
            otto.telegram.standIn.addFault(.init(method: "getUpdates", status: 409, count: 1_000))
            // The waiting poll returns with the message; the ones after it meet the conflict.
            otto.send("one")
            let status = try await otto.waitForStatus(of: process) { $0.polling == .conflict }
            #expect(status.polling == .conflict)
            #expect(status.lastError?.message.contains("Conflict: terminated by other getUpdates request") == true)
            let shown = try await otto.ctl(["telegram", "status"], of: process)
            #expect(shown.stdout.contains("Polling:     conflict"), "\(shown.stdout)")
            try await Task.sleep(for: .seconds(3))
            #expect(otto.telegram.standIn.calls("getUpdates") - before <= 5, "backed off, not a tight loop")
            otto.telegram.standIn.clearFaults()
            _ = try await otto.waitForStatus(of: process, timeout: .seconds(70)) { $0.polling == .polling }
            otto.send("two")
            #expect(await otto.replies(count: 2).count == 2)
        }
    }

    @Test func aWatchdogAlertReachesTheChatOnceThroughTheOutboxAlsoAcrossARestart() async throws {
        let config: @Sendable (String) -> String = { telegram in
            TelegramOtto.config(telegram: telegram).replacingOccurrences(
                of: #""watchdog": {"enabled": false}"#, with: #""watchdog": {"enabled": true, "cadenceMinutes": 600}"#)
        }
        try await TelegramOtto.run(config: config) { otto in
            var process = try await otto.start()
            // The operator has talked to the bot (Telegram lets a bot write only to users who did).
            otto.send("/start")
            _ = await otto.replies(count: 1)
            // A job that fails (it has no prompt), then the watchdog.
            let token = otto.apiToken
            let url = TelegramOtto.url(of: process)
            let created = try await ChildProcess.run(
                "/usr/bin/env",
                arguments: [
                    "curl", "-s", "-X", "POST", "-H", "Authorization: Bearer \(token)", "-H",
                    "Content-Type: application/json", "-d",
                    #"{"id": "mute", "type": "report", "scheduleType": "oneshot", "runAt": 0}"#, url + "/external/jobs",
                ], environment: ProcessInfo.processInfo.environment)
            #expect(created.stdout.contains("\"mute\""), "\(created.stdout)")
            try await Task.sleep(for: .seconds(2))
            // Telegram is down when the alert is written: it waits in the outbox.
            otto.telegram.standIn.addFault(.init(method: "sendMessage", status: 500, count: 1_000))
            let run = try await otto.ctl(["task", "run-now", "system-watchdog-failures"], of: process)
            #expect(run.status == 0, "\(run.stderr)")
            let queued = try await otto.waitForStatus(of: process) { $0.outbox.queued == 1 }
            #expect(queued.outbox.queued == 1)
            #expect(otto.telegram.sent(to: TelegramOtto.user).count == 1)
            process.signal(SIGKILL)
            _ = await process.waitForExit()

            otto.telegram.standIn.clearFaults()
            process = try await otto.start()
            let alerts = await otto.replies(count: 2)
            #expect(alerts.last?.hasPrefix("Otto watchdog: failed jobs\n\nstand-in reply from") == true, "\(alerts)")
            // The watchdog again: nothing new failed, nothing new is sent.
            _ = try await otto.ctl(["task", "run-now", "system-watchdog-failures"], of: process)
            try await Task.sleep(for: .seconds(3))
            #expect(otto.telegram.sent(to: TelegramOtto.user).count == 2, "the alert was sent once")
            let status = try await otto.status(of: process)
            #expect(status.outbox == .init(queued: 0, failed: 0))
        }
    }

    @Test func twoProcessesOnOneDatabaseHaveOnePollerAndTheOtherTakesOver() async throws {
        try await TelegramOtto.run { otto in
            let first = try await otto.start()
            let second = try await otto.start()
            #expect(await second.waitForOutput("this one stands by to take over"), "\(second.stderr)")
            let standby = try await otto.status(of: second)
            #expect(standby.standby)
            #expect(standby.polling == .off)
            #expect(try await otto.status(of: first).polling == .polling)
            for index in 1...3 { otto.send("message \(index)") }
            _ = await otto.replies(count: 3)
            try await Task.sleep(for: .seconds(1))
            #expect(otto.telegram.sent(to: TelegramOtto.user).count == 3)
            #expect(otto.telegram.standIn.conflicts == 0, "never two polls at once")
            #expect(otto.openCode.standIn.receivedPrompts.count == 3)

            first.signal(SIGKILL)
            _ = await first.waitForExit()
            otto.send("after the kill")
            let replies = await otto.replies(count: 4, timeout: .seconds(30))
            #expect(replies.last?.hasSuffix("prompt: after the kill") == true, "\(replies)")
            #expect(try await otto.status(of: second).polling == .polling)
        }
    }

    @Test func theTypeScriptOttosTelegramEnvAndSessionBindingsArePickedUp() async throws {
        let chat: Int64 = 123_456
        let original = "ses_4a8d15d81d294588971c"
        try await TelegramOtto.run(
            prepare: { home, openCode in
                try home.installOriginalOttoDatabase()
                openCode.standIn.addExistingSession(id: original, title: "telegram chat")
                let directory = home.path + "/.local/share/otto/secrets"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let file = directory + "/telegram.env"
                try """
                # written by the TypeScript Otto
                TELEGRAM_BOT_TOKEN="\(TelegramOtto.token)"
                TELEGRAM_ALLOWED_USER_ID=\(chat)   # me
                """.write(toFile: file, atomically: true, encoding: .utf8)
                chmod(file, 0o600)
            }
        ) { otto in
            let process = try await otto.start(environment: otto.home.environment(openCode: otto.openCode.baseURL))
            #expect(process.stderr.contains("token=\(otto.home.path)/.local/share/otto/secrets/telegram.env"))
            #expect(!process.stderr.contains("can be read by group or others"))
            otto.telegram.standIn.inject(.init(from: chat, text: "where were we?"))
            let replies = await otto.telegram.waitForSent(to: chat, count: 1)
            #expect(replies.first?.text.hasSuffix("prompt: where were we?") == true)
            // (The adopted jobs run too: the chat's prompt is the one with its text.)
            let prompt = otto.openCode.standIn.receivedPrompts.first { $0.text == "where were we?" }
            #expect(prompt?.sessionId == original, "the conversation continued")
        }
    }

    @Test func ottoctlTelegramSetupChecksTheTokenAndWritesTheOriginalsFile() async throws {
        try await TelegramOtto.run { otto in
            let environment = otto.home.environment(apiPort: nil)
            let tokenFile = otto.home.path + "/token.txt"
            let secrets = otto.home.path + "/.local/share/otto/secrets/telegram.env"
            func ctl(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
                let result = try await ChildProcess.run(
                    BuiltProducts.executable("ottoctl"), arguments: arguments, environment: environment)
                #expect(!result.stdout.contains(TelegramOtto.secret) && !result.stderr.contains(TelegramOtto.secret))
                return result
            }
            // A token Telegram refuses: nothing is written.
            try "123456789:AAWrongTokenWrongTokenWrongToken_x\n".write(
                toFile: tokenFile, atomically: true, encoding: .utf8)
            let refused = try await ctl(["telegram", "setup", "--bot-token-file", tokenFile, "--user-id", "4242"])
            #expect(refused.status == 1)
            #expect(
                refused.stderr
                    == "ottoctl: Telegram refused this bot token (HTTP 401 Unauthorized); nothing was written\n")
            #expect(!refused.stderr.contains("WrongToken"))
            #expect(!FileManager.default.fileExists(atPath: secrets))
            // Not a token at all.
            try "my password\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            let malformed = try await ctl(["configure-telegram", "--bot-token-file", tokenFile, "--user-id", "4242"])
            #expect(malformed.status == 64)
            #expect(malformed.stderr.contains("that is not a bot token"))

            try (TelegramOtto.token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
            let setUp = try await ctl(["telegram", "setup", "--bot-token-file", tokenFile, "--user-id", "4242"])
            #expect(setUp.status == 0, "\(setUp.stderr)")
            #expect(
                setUp.stdout.hasPrefix("Telegram accepted the token of @otto_standin_bot.\nWrote \(secrets) (mode 600)")
            )
            let attributes = try FileManager.default.attributesOfItem(atPath: secrets)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let values = TelegramSecretsFile.parse(try String(contentsOfFile: secrets, encoding: .utf8))
            #expect(values == ["TELEGRAM_BOT_TOKEN": TelegramOtto.token, "TELEGRAM_ALLOWED_USER_ID": "4242"])

            // otto serve takes it from there, with no Telegram variables at all.
            let process = try await otto.start(environment: otto.home.environment(openCode: otto.openCode.baseURL))
            #expect(process.stderr.contains("token=\(secrets)"))
            otto.send("set up?")
            #expect(await otto.replies(count: 1).first?.hasSuffix("prompt: set up?") == true)
        }
    }

    @Test func aRefusedTokenIsReportedOnceAndOttoKeepsRunning() async throws {
        try await TelegramOtto.run { otto in
            var environment = otto.environment
            environment[OttoEnvironment.telegramBotToken] = "123456789:AARevokedRevokedRevokedRevoked_xyz"
            let process = try await otto.start(environment: environment, waitFor: "Telegram refused the bot token")
            try await Task.sleep(for: .seconds(2))
            #expect(otto.telegram.standIn.calls("getMe") == 1, "a refused token is not tried again and again")
            #expect(otto.telegram.standIn.calls("getUpdates") == 0)
            let status = try await otto.status(of: process)
            #expect(status.polling == .unauthorized)
            #expect(status.lastError?.message == "Telegram refused the bot token (getMe: HTTP 401); fix it and restart")
            #expect(!process.stderr.contains("Revoked"))
            #expect(process.isRunning)
        }
    }

    @Test func withoutCredentialsTelegramIsOffAndSaysWhy() async throws {
        try await TelegramOtto.run { otto in
            let off = try await otto.start(
                environment: otto.home.environment(openCode: otto.openCode.baseURL), waitFor: "Telegram is off")
            #expect(off.stderr.contains("msg=\"Telegram is off\" reason=\"no bot token"))
            let status = try await otto.status(of: off)
            #expect(!status.enabled && status.polling == .off && status.lastError == nil)
            off.signal(SIGTERM)
            _ = await off.waitForExit()

            // A token but nobody to serve: off, and status says why.
            let tokenOnly = try await otto.start(
                environment: otto.home.environment(
                    openCode: otto.openCode.baseURL, extra: [OttoEnvironment.telegramBotToken: TelegramOtto.token]),
                waitFor: "Telegram is off")
            let unusable = try await otto.status(of: tokenOnly)
            #expect(!unusable.enabled)
            #expect(unusable.lastError?.message.hasPrefix("a bot token was found but no allowed user") == true)
            #expect(otto.telegram.standIn.calls("getMe") == 0)
        }
    }
}
