import ArgumentParser
import Foundation
import Hummingbird
import TelegramStandIn

@main
struct TelegramStandInCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "telegram-standin",
        abstract: "A stand-in Telegram Bot API server (development and tests only).",
        discussion: """
            Serves getMe, getUpdates (long polling), sendMessage, sendChatAction, setMyCommands, deleteWebhook, \
            getFile and file downloads at /bot<token>/<method>, with the Bot API's envelope and limits. Point Otto at \
            it with telegram.apiBaseUrl. Control it while it runs:
              curl -X POST -d '{"from": 42, "text": "hello"}' http://127.0.0.1:8081/control/updates
              curl http://127.0.0.1:8081/control/sent
              curl -X POST -d '{"method": "sendMessage", "status": 429, "retryAfter": 2}' http://127.0.0.1:8081/control/faults
            """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free port, printed on stdout).")
    var port = 8081

    @Option(help: "The bot token it accepts (anything else is 401).")
    var token = "123456789:AAStandInTokenForOttoTests_abcdefghij"

    @Option(help: "The bot's username, as getMe reports it.")
    var username = "otto_standin_bot"

    func run() async throws {
        let standIn = StandInTelegram(token: token, username: username)
        let host = self.host
        let app = standIn.application(host: host, port: port) { port in
            FileHandle.standardOutput.write(Data("telegram-standin listening on http://\(host):\(port)\n".utf8))
        }
        try await app.runService()
    }
}
