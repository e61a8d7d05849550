import Foundation

/// A throw-away `$HOME` for one test: Otto's config, home and files all live under it.
public struct TemporaryHome: Sendable {
    public let path: String

    public init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("otto-tests")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.appendingPathComponent(UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public var configPath: String { path + "/.config/otto/config.jsonc" }
    public var ottoHome: String { path + "/.otto" }
    public var catalogCachePath: String { ottoHome + "/data/model-catalog-cache.json" }
    public var stateDatabasePath: String { ottoHome + "/data/otto-state.db" }
    public var tokenPath: String { ottoHome + "/secrets/internal-api.token" }

    /// An environment for Otto with this home and, if given, an OpenCode base URL. The external API listens on
    /// a free port (tests run in parallel), which `otto serve` logs in its "otto is running" line.
    /// `apiPort: nil` leaves the port to the config file.
    public func environment(
        openCode: String? = nil,
        apiPort: String? = "0",
        extra: [String: String] = [:]
    ) -> [String: String] {
        var environment = ["HOME": path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        if let apiPort { environment["OTTO_EXTERNAL_API_PORT"] = apiPort }
        if let openCode { environment["OTTO_OPENCODE_BASE_URL"] = openCode }
        return environment.merging(extra) { _, new in new }
    }

    /// Puts a writable copy of the TypeScript Otto's state database where Otto looks for its own.
    public func installOriginalOttoDatabase() throws {
        try FileManager.default.createDirectory(
            atPath: ottoHome + "/data", withIntermediateDirectories: true)
        try Data(contentsOf: URL(fileURLWithPath: Fixtures.originalOttoDatabase))
            .write(to: URL(fileURLWithPath: stateDatabasePath))
    }

    /// Writes the config file (creating its directory).
    public func writeConfig(_ text: String) throws {
        try FileManager.default.createDirectory(
            atPath: (configPath as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    public func readConfig() throws -> String {
        try String(contentsOfFile: configPath, encoding: .utf8)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
