import Foundation
import OttoContracts
import OttoTestSupport
import Synchronization
import TelegramStandIn
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `otto serve` processes on one temporary home, against the in-process stand-in OpenCode and stand-in Telegram
/// Bot API. Every process's output is checked for the bot token when the test ends.
final class TelegramOtto: Sendable {
    static let user: Int64 = 4242
    static let token = StandInTelegram().token
    /// The token's secret part: it must not show up even without the bot id in front.
    static let secret = String(token.drop { $0 != ":" }.dropFirst())

    let home: TemporaryHome
    let openCode: RunningStandIn
    let telegram: RunningTelegram
    private let processes = Mutex<[ChildProcess]>([])

    init(home: TemporaryHome, openCode: RunningStandIn, telegram: RunningTelegram) {
        self.home = home
        self.openCode = openCode
        self.telegram = telegram
    }

    static func config(telegram: String, extra: String = "") -> String {
        """
        {"telegram": {"apiBaseUrl": "\(telegram)"}, "heartbeat": {"enabled": false}, "watchdog": {"enabled": false},
         "scheduler": {"tickSeconds": 1, "leaseSeconds": 5, "runTimeoutSeconds": 60},
         "modelManagement": {"flowDefaults": {"interactiveAssistant": "openai/gpt-5"}}\(extra.isEmpty ? "" : ", " + extra)}
        """
    }

    /// - Parameters:
    ///   - config: the config file, given the stand-in Telegram's URL; by default `config(telegram:)`.
    ///   - credentials: the environment's Telegram variables (the token and the allowed user by default).
    static func run(
        protocolVersion: Int = 1, config: (@Sendable (String) -> String)? = nil,
        prepare: @Sendable (TemporaryHome, RunningStandIn) throws -> Void = { _, _ in },
        _ body: @Sendable (TelegramOtto) async throws -> Void
    ) async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try await withStandInOpenCode(fixtureStandIn(protocolVersion: protocolVersion)) { openCode in
            try await withTelegramStandIn { telegram in
                try home.writeConfig(config?(telegram.baseURL) ?? Self.config(telegram: telegram.baseURL))
                try prepare(home, openCode)
                let otto = TelegramOtto(home: home, openCode: openCode, telegram: telegram)
                do {
                    try await body(otto)
                } catch {
                    await otto.stopAll()
                    throw error
                }
                await otto.stopAll()
                otto.expectNoToken()
            }
        }
    }

    var environment: [String: String] {
        home.environment(
            openCode: openCode.baseURL,
            extra: [
                OttoEnvironment.telegramBotToken: Self.token,
                OttoEnvironment.telegramAllowedUserId: "\(Self.user)",
            ])
    }

    /// Starts `otto serve` and waits until it runs (and, when Telegram is on, knows its bot).
    @discardableResult
    func start(environment: [String: String]? = nil, waitFor: String = "msg=\"Telegram bot\"") async throws
        -> ChildProcess
    {
        let otto = try ChildProcess(
            BuiltProducts.executable("otto"), arguments: ["serve"], environment: environment ?? self.environment)
        processes.withLock { $0.append(otto) }
        #expect(await otto.waitForOutput("msg=\"otto is running\""), "\(otto.stderr)")
        #expect(await otto.waitForOutput(waitFor), "\(otto.stderr)")
        return otto
    }

    /// The external API's URL of a running `otto serve`.
    static func url(of otto: ChildProcess) -> String {
        let line = otto.stderr.split(separator: "\n").first { $0.contains("otto is running") } ?? ""
        return line.split(separator: " ").first { $0.hasPrefix("externalApi=") }.map { String($0.dropFirst(12)) } ?? ""
    }

    var apiToken: String {
        (try? String(contentsOfFile: home.tokenPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            ?? ""
    }

    /// `ottoctl` against `otto`.
    func ctl(_ arguments: [String], of otto: ChildProcess) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        var environment = home.environment(apiPort: nil)
        environment["OTTO_EXTERNAL_API_URL"] = Self.url(of: otto)
        let result = try await ChildProcess.run(
            BuiltProducts.executable("ottoctl"), arguments: arguments, environment: environment)
        #expect(!result.stdout.contains(Self.secret) && !result.stderr.contains(Self.secret))
        return result
    }

    /// `GET /external/telegram/status` of `otto`.
    func status(of otto: ChildProcess) async throws -> TelegramStatus {
        let json = try await ctl(["telegram", "status", "--json"], of: otto)
        return try JSONDecoder().decode(TelegramStatus.self, from: Data(json.stdout.utf8))
    }

    /// Waits until `otto`'s Telegram status satisfies `condition`.
    func waitForStatus(of otto: ChildProcess, timeout: Duration = .seconds(30), _ condition: (TelegramStatus) -> Bool)
        async throws -> TelegramStatus
    {
        let deadline = ContinuousClock.now + timeout
        var status = try await self.status(of: otto)
        while !condition(status), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            status = try await self.status(of: otto)
        }
        return status
    }

    /// The allowed user writes `text` in the private chat.
    @discardableResult
    func send(_ text: String) -> Int64 {
        telegram.standIn.inject(.init(from: Self.user, text: text))
    }

    func replies(count: Int, timeout: Duration = .seconds(30)) async -> [String] {
        await telegram.waitForSent(to: Self.user, count: count, timeout: timeout).map(\.text)
    }

    func stopAll() async {
        for process in processes.withLock({ $0 }) where process.isRunning { process.signal(SIGTERM) }
        for process in processes.withLock({ $0 }) { _ = await process.waitForExit() }
    }

    /// Every process's output, checked for the token (whole, or its secret part alone).
    func expectNoToken() {
        for process in processes.withLock({ $0 }) {
            #expect(!process.stderr.contains(Self.secret), "otto logged the bot token")
            #expect(!process.stdout.contains(Self.secret), "otto printed the bot token")
        }
    }
}
