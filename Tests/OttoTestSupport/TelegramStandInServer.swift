import Foundation
import Logging
import TelegramStandIn

/// A stand-in Telegram Bot API running in-process on a free loopback port.
public struct RunningTelegram: Sendable {
    public let standIn: StandInTelegram
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// What the bot sent to `chat`, oldest first.
    public func sent(to chat: Int64) -> [StandInTelegram.Sent] { standIn.sent.filter { $0.chatId == chat } }

    /// Waits until the bot has sent `count` messages to `chat` (or `timeout` passes) and returns them.
    public func waitForSent(to chat: Int64, count: Int, timeout: Duration = .seconds(30)) async
        -> [StandInTelegram.Sent]
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let sent = self.sent(to: chat)
            if sent.count >= count { return sent }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return sent(to: chat)
    }
}

/// Runs `body` with a real stand-in Telegram Bot API HTTP server, then stops it.
public func withTelegramStandIn<T: Sendable>(
    _ standIn: StandInTelegram = StandInTelegram(),
    _ body: @Sendable (RunningTelegram) async throws -> T
) async throws -> T {
    var logger = Logger(label: "telegram-standin")
    logger.logLevel = .warning
    return try await withLoopbackServer(
        { onRunning in standIn.application(port: 0, logger: logger, onServerRunning: onRunning) },
        logger: logger,
        stop: { standIn.stop() }
    ) { port in try await body(RunningTelegram(standIn: standIn, port: port)) }
}
