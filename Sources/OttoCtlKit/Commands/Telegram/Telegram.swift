import ArgumentParser
import AsyncHTTPClient
import NIOCore
import NIOPosix
import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

extension OttoCtl {
    struct Telegram: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "telegram",
            abstract: "Set up the Telegram bot, and see how it is doing.",
            subcommands: [Setup.self, Status.self]
        )
    }

    /// The TypeScript Otto's name for `telegram setup`.
    struct ConfigureTelegram: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "configure-telegram", abstract: "The same as ottoctl telegram setup.")

        @OptionGroup var options: TelegramSetupOptions

        func run() async throws {
            let status = await options.execute(environment: ProcessInfo.processInfo.environment, output: .standard)
            if status != 0 { throw ExitCode(status) }
        }
    }
}

struct TelegramSetupOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A file whose first line is the bot token (otherwise it is asked for, not echoed).", valueName: "file"))
    var botTokenFile: String?

    @Option(help: ArgumentHelp("Your Telegram user id: the one user Otto answers.", valueName: "id"))
    var userId: Int64?

    /// Checks the token with `getMe`, then writes the secrets file; a token Telegram refuses writes nothing.
    func execute(environment: [String: String], output: Output) async -> Int32 {
        await CLIError.exitStatus(reportingTo: output) { try await setUp(environment: environment, output: output) }
    }

    private func setUp(environment: [String: String], output: Output) async throws {
        let token: String
        if let botTokenFile {
            guard let data = FileManager.default.contents(atPath: botTokenFile) else {
                throw CLIError("cannot read --bot-token-file \(botTokenFile)", invalidInput: true)
            }
            token = String(
                String(decoding: data.prefix(4096).prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
                    .trimmingWhitespace)
        } else {
            token = Self.ask("Bot token from @BotFather (not shown): ", secret: true)
        }
        guard TelegramSecretsFile.isValidToken(token) else {
            throw CLIError(
                "that is not a bot token: BotFather's look like 123456789:AA... (digits, a colon, then letters, digits, "
                    + "_ or -)", invalidInput: true)
        }
        let userId: Int64
        if let id = self.userId {
            guard id > 0 else { throw CLIError("--user-id must be a positive number", invalidInput: true) }
            userId = id
        } else {
            guard
                let id = TelegramSecretsFile.userId(
                    Self.ask("Your Telegram user id (a number; @userinfobot tells it): ", secret: false))
            else { throw CLIError("a Telegram user id is a positive number", invalidInput: true) }
            userId = id
        }
        var base = ConfigFile(environment: environment).telegramAPIBaseURL ?? "https://api.telegram.org"
        while base.hasSuffix("/") { base.removeLast() }
        let username = try await Self.checkToken(token, base: base)
        let path = TelegramSecretsFile.path(environment)
        try Self.writeSecrets(TelegramSecretsFile.render(token: token, userId: userId), to: path)
        output.line("Telegram accepted the token of @\(username).")
        output.line("Wrote \(path) (mode 600): Otto answers user \(userId) only.")
        output.line("Restart otto serve to start the bot; ottoctl telegram status shows how it is doing.")
    }

    /// Reads one line from the terminal, without echo for a secret.
    static func ask(_ prompt: String, secret: Bool) -> String {
        writeToStandardError(prompt)
        var original = termios()
        let isTerminal = isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &original) == 0
        if secret, isTerminal {
            var silent = original
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSANOW, &silent)
        }
        let line = readLine(strippingNewline: true) ?? ""
        if secret, isTerminal {
            tcsetattr(STDIN_FILENO, TCSANOW, &original)
            writeToStandardError("\n")
        }
        return String(String(line.prefix(4096)).trimmingWhitespace)
    }

    private static func writeToStandardError(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// `getMe` at `base`: the bot's username, or an error that never holds the token.
    static func checkToken(_ token: String, base: String) async throws -> String {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        configuration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        do {
            let username = try await getMe(http, token: token, base: base)
            try? await http.shutdown()
            return username
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private static func getMe(_ http: HTTPClient, token: String, base: String) async throws -> String {
        struct Envelope: Decodable {
            struct User: Decodable { let username: String? }
            let ok: Bool
            let result: User?
            let error_code: Int?
            let description: String?
        }
        let reply: (status: UInt, body: ByteBuffer)
        do {
            var request = HTTPClientRequest(url: "\(base)/bot\(token)/getMe")
            request.method = .POST
            let response = try await http.execute(request, timeout: .seconds(15))
            reply = (response.status.code, try await response.body.collect(upTo: 64 * 1024))
        } catch {
            // The library's words may hold the URL, and the URL holds the token: none of them are printed.
            throw CLIError("cannot reach Telegram at \(base) to check the token; nothing was written")
        }
        let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(reply.body.readableBytesView))
        if reply.status == 401 || envelope?.error_code == 401 {
            throw CLIError("Telegram refused this bot token (HTTP 401 Unauthorized); nothing was written")
        }
        guard let envelope, envelope.ok, let user = envelope.result else {
            let words = envelope?.description.map { ": \(Output.escapingControls(String($0.prefix(200))))" } ?? ""
            throw CLIError("Telegram at \(base) answered HTTP \(reply.status)\(words); nothing was written")
        }
        return user.username ?? "(no username)"
    }

    /// Writes the file with `mode` (0600 by default; its folder 0700), whole or not at all.
    static func writeSecrets(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIError("cannot create \(directory): \(error)")
        }
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CLIError("cannot write \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CLIError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        chmod(path, mode)
    }
}

extension OttoCtl.Telegram {
    struct Setup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "setup",
            abstract: "Store the bot token and your user id, after Telegram has accepted the token.",
            discussion: """
                Asks for the bot token (not echoed) and your Telegram user id, checks the token with getMe at \
                telegram.apiBaseUrl (default https://api.telegram.org), and writes \
                ~/.local/share/otto/secrets/telegram.env (mode 600) in the TypeScript Otto's format. A token \
                Telegram refuses writes nothing. Non-interactive: --bot-token-file F --user-id N.
                """)

        @OptionGroup var options: TelegramSetupOptions

        func run() async throws {
            let status = await options.execute(environment: ProcessInfo.processInfo.environment, output: .standard)
            if status != 0 { throw ExitCode(status) }
        }
    }

    struct Status: APICommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Whether the bot polls, its outbox, and the last error.")

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run(in context: CommandContext) async throws {
            let answer = try await context.client.telegramStatus()
            if output.json { return context.output.raw(answer.body) }
            let status = answer.value
            let bot = status.botUsername.map { ", bot @\($0)" } ?? ""
            context.output.line("Telegram:    \(status.enabled ? "on" : "off")\(bot)")
            var polling = status.polling.rawValue
            if status.standby { polling += " (standby: another otto serve polls)" }
            if status.polling == .conflict || status.polling == .unauthorized {
                polling = context.output.styled(polling, .red)
            }
            context.output.line(
                "Polling:     \(polling)"
                    + (status.lastUpdateAt.map { ", last message \(Output.when($0))" } ?? ""))
            let failed =
                status.outbox.failed > 0
                ? context.output.styled("\(status.outbox.failed) failed", .red) : "0 failed"
            context.output.line("Outbox:      \(status.outbox.queued) queued, \(failed)")
            if let error = status.lastError {
                context.output.line(
                    "Last error:  \(Output.when(error.at)): \(Output.escapingControls(error.message))")
            } else {
                context.output.line("Last error:  none")
            }
        }
    }
}
