import ArgumentParser
import NIOCore

/// `ottoctl`: operate a running Otto through its external API.
public struct OttoCtl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ottoctl",
        abstract: "Operate a running Otto through its external API.",
        discussion: """
            CONNECTION (an empty variable counts as unset)
              URL:   --url, else OTTO_EXTERNAL_API_URL, else
                     http://$OTTO_EXTERNAL_API_HOST:$OTTO_EXTERNAL_API_PORT, else externalApi
                     in the config file ($OTTO_CONFIG_PATH or ~/.config/otto/config.jsonc),
                     else http://127.0.0.1:4190
              Token: OTTO_EXTERNAL_API_TOKEN, else the file named by --token-file or
                     OTTO_EXTERNAL_API_TOKEN_FILE, else
                     <ottoHome>/secrets/internal-api.token, ottoHome being
                     OTTO_HOME, else ottoHome in the config file, else ~/.otto

            EXIT STATUS
              0 success, 64 invalid input (usage, flow name, model reference, or a
              value the server rejects as invalid), 1 any other failure.
            """,
        subcommands: [
            Model.self, Tasks.self, Ask.self, Audit.self, Status.self, Doctor.self, Telegram.self,
            ConfigureTelegram.self,
            Service.self, Start.self, Stop.self, Restart.self, Reload.self, Logs.self,
        ]
    )

    public init() {}

    /// Refuses an argument longer than any real one (task ids are UUIDs or short names), as invalid input
    /// (exit 64), before it is sent anywhere.
    static func checkLength(_ value: String, _ name: String, max: Int = 1_024) throws {
        guard value.utf8.count <= max else {
            throw ValidationError("\(name) is \(value.utf8.count) bytes long; at most \(max) are accepted")
        }
    }

    /// Runs ottoctl as a process: with one event loop, which is plenty for a command that makes a request or two
    /// and starts faster than one per core. (NIO takes this setting once, before first use, so it lives here and
    /// not in the client, which tests create many times in one process.)
    public static func runAsProcess() async {
        NIOSingletons.groupLoopCountSuggestion = 1
        await main()
    }
}
