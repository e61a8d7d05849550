#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where Otto's files are, decided in one place for `otto` and `ottoctl`, so both always agree:
/// the config file (`OTTO_CONFIG_PATH`, else `$HOME/.config/otto/config.jsonc`), Otto's home (`OTTO_HOME`, else the
/// config's `ottoHome`, else `$HOME/.otto`) and the files under it.
public enum OttoLocations {
    /// The user's home: `$HOME`, else the account's home directory.
    public static func homeDirectory(_ environment: [String: String]) -> String {
        OttoEnvironment.value("HOME", in: environment) ?? FileManager.default.homeDirectoryForCurrentUser.path
    }

    /// `~` and `~/...` expanded against `homeDirectory`; anything else as it is.
    public static func expandingTilde(_ path: String, homeDirectory: String) -> String {
        if path == "~" { return homeDirectory }
        if path.hasPrefix("~/") { return homeDirectory + path.dropFirst(1) }
        return path
    }

    public static func configPath(_ environment: [String: String]) -> String {
        let home = homeDirectory(environment)
        if let path = OttoEnvironment.value(OttoEnvironment.configPath, in: environment) {
            return expandingTilde(path, homeDirectory: home)
        }
        return home + "/.config/otto/config.jsonc"
    }

    /// The default `ottoHome` when neither the environment nor the config names one.
    public static func defaultOttoHome(_ environment: [String: String]) -> String {
        homeDirectory(environment) + "/.otto"
    }

    /// `OTTO_HOME` if set, else `configured` (the config file's `ottoHome`), else the default; `~` expanded.
    public static func ottoHome(configured: String?, environment: [String: String]) -> String {
        let home = homeDirectory(environment)
        let chosen = OttoEnvironment.value(OttoEnvironment.home, in: environment) ?? configured
        return chosen.map { expandingTilde($0, homeDirectory: home) } ?? defaultOttoHome(environment)
    }
}

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
