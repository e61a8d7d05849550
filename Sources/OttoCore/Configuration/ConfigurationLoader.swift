import Foundation
import OttoContracts

/// Finds, creates (on first start) and reads the config file, then applies environment overrides.
public struct ConfigurationLoader: Sendable {
    public struct Loaded: Sendable {
        public let path: String
        public let configuration: OttoConfiguration
        public let created: Bool
    }

    public let environment: [String: String]

    public init(environment: [String: String]) { self.environment = environment }

    var homeDirectory: String { OttoLocations.homeDirectory(environment) }

    /// `OTTO_CONFIG_PATH`, else `$HOME/.config/otto/config.jsonc`.
    public var configPath: String { OttoLocations.configPath(environment) }

    /// Reads the config file, creating it with defaults if it does not exist. An invalid file is never rewritten.
    public func load() throws(ConfigurationError) -> Loaded {
        let path = configPath
        var created = false
        var bytes: [UInt8]
        do {
            if let existing = try AtomicFile.readIfPresent(path) {
                bytes = existing
            } else {
                bytes = Array(Self.defaultFileText(homeDirectory: homeDirectory).utf8)
                try AtomicFile.createDirectory((path as NSString).deletingLastPathComponent, permissions: 0o700)
                try AtomicFile.write(bytes, to: path, permissions: 0o600)
                created = true
            }
        } catch {
            throw ConfigurationError(
                source: "config file \(path)",
                issues: [FieldIssue(path: "", message: "cannot be read or created: \(error.localizedDescription)")]
            )
        }
        let configuration = try OttoConfiguration.parse(bytes, file: path, homeDirectory: homeDirectory)
            .applyingEnvironment(environment)
        return Loaded(path: path, configuration: configuration, created: created)
    }

    /// The file written on first start: every key with its default, and comments that explain them.
    public static func defaultFileText(homeDirectory: String) -> String {
        let scheduler = OttoConfiguration.Scheduler()
        let heartbeat = OttoConfiguration.Heartbeat()
        return """
            // Otto configuration: JSON with // and /* */ comments; trailing commas are allowed.
            // Otto rewrites only the values it changes (flow defaults) and keeps everything else as you wrote it.
            // Environment variables override some keys; `otto --help` lists them.
            {
              "version": 1,
              // Where Otto keeps its state database, catalog cache and API token. OTTO_HOME overrides it.
              "ottoHome": \(JSONC.quote(homeDirectory + "/.otto")),
              // The OpenCode server Otto works through (`opencode serve`). OTTO_OPENCODE_BASE_URL overrides it.
              "opencode": {
                "baseUrl": "\(OttoConfiguration.defaultOpenCodeBaseURL)"
              },
              // The authenticated external API. Use "0.0.0.0" as host to reach it from your LAN.
              "externalApi": {
                "host": "\(OttoConfiguration.defaultExternalAPIHost)",
                "port": \(OttoConfiguration.defaultExternalAPIPort)
              },
              "modelManagement": {
                // The model each runtime flow uses, as "provider/model"; null inherits OpenCode's global default.
                "flowDefaults": {
                  "interactiveAssistant": null,
                  "scheduledTasks": null,
                  "heartbeat": null,
                  "watchdogFailures": null
                },
                // How often the model catalog is fetched from OpenCode, in seconds (default 24 hours).
                "catalogRefreshIntervalSeconds": \(OttoConfiguration.defaultCatalogRefreshIntervalSeconds)
              },
              // How scheduled jobs run. Durations are whole seconds (or minutes), at least 1.
              "scheduler": {
                "tickSeconds": \(scheduler.tickSeconds),          // the longest Otto goes without looking for due jobs
                "leaseSeconds": \(scheduler.leaseSeconds),        // a run's claim, renewed while it runs
                "maxConcurrentRuns": \(scheduler.maxConcurrentRuns),
                "runTimeoutSeconds": \(scheduler.runTimeoutSeconds),  // a run's model calls, retries included
                "retries": \(scheduler.retries)                // after a transient OpenCode failure (refused, 429, 5xx)
              },
              // A status note from the heartbeat flow's model every cadenceMinutes (job system-heartbeat).
              "heartbeat": {
                "enabled": true,
                "cadenceMinutes": \(heartbeat.cadenceMinutes)
                // "prompt": "..."   the instruction sent with the digest of what Otto did
              },
              // Failed job runs reported by the watchdogFailures flow's model (job system-watchdog-failures).
              "watchdog": {
                "enabled": true,
                "cadenceMinutes": \(OttoConfiguration.Watchdog().cadenceMinutes)
              },
              // Where the heartbeat and watchdog messages are POSTed as JSON (ntfy, Gotify, Home Assistant, ...).
              "notifications": {
                "webhookUrl": null
              }
            }

            """
    }
}
