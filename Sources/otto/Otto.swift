import ArgumentParser
import Foundation
import Logging
import OttoContracts
import OttoCore
import OttoServer
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

@main
struct Otto: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "otto",
        abstract: "Otto, a self-hosted personal-assistant runtime that works through an OpenCode server.",
        discussion: """
            Running `otto` with no subcommand is the same as `otto serve`.

            ENVIRONMENT (an empty variable counts as unset)
              OTTO_CONFIG_PATH        config file
                                      (default: $HOME/.config/otto/config.jsonc)
              OTTO_HOME               Otto's home; overrides the config's ottoHome
                                      (default: $HOME/.otto)
              OTTO_OPENCODE_BASE_URL  OpenCode server; overrides opencode.baseUrl
                                      (default: http://127.0.0.1:4096)
              OTTO_OPENCODE_PASSWORD  OpenCode's password (Basic auth); before
                                      opencode.passwordFile and OPENCODE_SERVER_PASSWORD
              OPENCODE_SERVER_USERNAME  the user with it, after opencode.username
                                      (default: opencode)
              OTTO_EXTERNAL_API_HOST  external API host; overrides externalApi.host
                                      (default: 127.0.0.1)
              OTTO_EXTERNAL_API_PORT  external API port; overrides externalApi.port
                                      (default: 4190)

            FILES
              $HOME/.config/otto/config.jsonc
                  config, JSON with comments; created with defaults on first start
              <ottoHome>/data/otto-state.db
                  state database (SQLite, WAL)
              <ottoHome>/data/model-catalog-cache.json
                  the last model catalog fetched from OpenCode
              <ottoHome>/secrets/internal-api.token
                  external API bearer token (created once, mode 0600)
            """,
        subcommands: [Serve.self, DoctorCommand.self],
        defaultSubcommand: Serve.self
    )
}

extension Otto {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start the runtime in the foreground; SIGINT or SIGTERM stops it cleanly.",
            discussion: """
                Start-up reads the config file, opens the state database, loads the cached model catalog and then \
                fetches the catalog from OpenCode. If that first fetch fails, otto exits with status 1 and does \
                not start. While running, the catalog is refreshed every \
                modelManagement.catalogRefreshIntervalSeconds, and edits to the flow defaults in the config file \
                take effect without a restart. Logs are structured lines (logfmt) on stderr.

                Exit status: 0 after a clean stop, 1 if start-up fails (invalid config, OpenCode unreachable).
                """
        )

        @Option(
            name: .long, help: "Config file to use (default: $OTTO_CONFIG_PATH, else $HOME/.config/otto/config.jsonc).")
        var config: String?

        @Option(name: .long, help: ArgumentHelp("Least severe log level written to stderr.", valueName: "level"))
        var logLevel: LogLevel = .info

        func run() async throws {
            let level = logLevel.level
            LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, level: level) }
            let logger = Logger(label: "otto")

            var environment = ProcessInfo.processInfo.environment
            if let config { environment[OttoEnvironment.configPath] = config }

            let runtime: OttoRuntime
            do {
                runtime = try await OttoRuntime.bootstrap(environment: environment, logger: logger)
            } catch {
                FileHandle.standardError.write(Data("otto: \(error.message)\n".utf8))
                throw ExitCode(1)
            }

            let descriptors = Otto.raiseFileDescriptorLimit(logger: logger)
            let services = ExternalAPIServices(runtime: runtime, logger: logger)
            let host = runtime.configuration.externalAPI.host
            let api = buildApplication(
                services,
                host: host,
                port: runtime.configuration.externalAPI.port,
                requestHeadTimeout: .seconds(runtime.configuration.externalAPI.requestHeadTimeoutSeconds),
                requestTimeout: .seconds(runtime.configuration.externalAPI.requestTimeoutSeconds),
                idleTimeout: .seconds(runtime.configuration.externalAPI.idleTimeoutSeconds),
                maxConnections: connectionLimit(descriptorLimit: descriptors),
                logger: logger
            ) { port in
                // Logged once the API is listening, inside the service group, whose shutdown signals are trapped
                // by then: whoever waits for this line can use the API and stop Otto cleanly.
                logger.notice(
                    "otto is running",
                    metadata: [
                        "externalApi": "http://\(host.contains(":") ? "[\(host)]" : host):\(port)",
                        "config": "\(runtime.configurationPath)",
                        "ottoHome": "\(runtime.paths.home)",
                        "opencode": "\(runtime.configuration.openCode.baseURL)",
                        "catalogCount": "\(runtime.catalog.snapshot.count)",
                        "pid": "\(getpid())",
                    ]
                )
                runtime.systemStatus.listening(on: "\(host):\(port)")
                // systemd (Type=notify): ready once the API listens and the catalog is loaded.
                runtime.systemd.notify(
                    "READY=1\nSTATUS=serving on \(host):\(port), \(runtime.catalog.snapshot.count) models")
            }
            // Dependencies first, the HTTP app last: shutdown runs in reverse, so the API stops taking requests
            // before the services behind it stop.
            var configuration = ServiceGroupConfiguration(
                services: runtime.services.map { .init(service: $0) } + [.init(service: api)]
                    + (runtime.systemd.isActive
                        ? [.init(service: SystemdStoppingNotifier(notifier: runtime.systemd))] : []),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
            // A stop is bounded: what has not finished 25 s after SIGTERM (an assistant message that hangs, say) is
            // cancelled (its OpenCode session aborted, a run recorded as interrupted), with 5 s for that. The unit's
            // TimeoutStopSec=45 is longer.
            configuration.maximumGracefulShutdownDuration = .seconds(25)
            configuration.maximumCancellationDuration = .seconds(5)
            let group = ServiceGroup(configuration: configuration)
            do {
                try await group.run()
            } catch {
                let line = explainServerFailure(error, host: host, port: runtime.configuration.externalAPI.port)
                FileHandle.standardError.write(Data("otto: \(line)\n".utf8))
                throw ExitCode(1)
            }
            logger.notice("otto stopped")
        }
    }

    /// Every connection holds a descriptor: the soft limit (often 1,024) is raised to the hard one, so idle or
    /// slow clients cannot use up what the API needs before the timeouts close them. Returns the soft limit, from
    /// which the API's connection limit follows (both are logged).
    static func raiseFileDescriptorLimit(logger: Logger) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let before = limit.rlim_cur
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 { limit.rlim_cur = before }
        }
        // RLIM_INFINITY and other huge values: as many as an Int holds (the connection limit is then no limit).
        let soft = Int(clamping: limit.rlim_cur)
        logger.info(
            "file descriptor limit",
            metadata: [
                "soft": "\(limit.rlim_cur)", "hard": "\(limit.rlim_max)", "was": "\(before)",
                "maxConnections": "\(connectionLimit(descriptorLimit: soft))",
            ])
        return soft
    }

    enum LogLevel: String, ExpressibleByArgument, CaseIterable {
        case trace, debug, info, notice, warning, error

        var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
    }
}
