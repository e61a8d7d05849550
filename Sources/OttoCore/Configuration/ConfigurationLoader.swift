import Foundation
import OttoContracts

/// Where Otto keeps its files, all derived from one home directory (`ottoHome`).
public struct OttoPaths: Sendable, Equatable {
    public let home: String

    public init(home: String) { self.home = home }

    public var dataDirectory: String { home + "/data" }
    public var stateDatabase: String { dataDirectory + "/otto-state.db" }
    public var catalogCache: String { dataDirectory + "/model-catalog-cache.json" }
    public var secretsDirectory: String { home + "/secrets" }
    public var apiToken: String { secretsDirectory + "/internal-api.token" }
}

/// Finds, creates (on first start) and reads the config file, then applies environment overrides.
public struct ConfigurationLoader: Sendable {
    public struct Loaded: Sendable {
        public let path: String
        public let configuration: OttoConfiguration
        public let created: Bool
    }

    public let environment: [String: String]

    public init(environment: [String: String]) { self.environment = environment }

    var homeDirectory: String { OttoEnvironment.value("HOME", in: environment) ?? NSHomeDirectory() }

    /// `OTTO_CONFIG_PATH`, else `$HOME/.config/otto/config.jsonc`.
    public var configPath: String {
        if let path = OttoEnvironment.value(OttoEnvironment.configPath, in: environment) {
            return OttoConfiguration.expandTilde(path, homeDirectory: homeDirectory)
        }
        return homeDirectory + "/.config/otto/config.jsonc"
    }

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
        """
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
          }
        }

        """
    }
}
