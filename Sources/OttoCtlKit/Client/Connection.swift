import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where the API is and which token to send, each with where it came from (for messages).
struct Connection {
    let baseURL: String
    let token: String
    /// "environment variable OTTO_EXTERNAL_API_TOKEN" or "file /home/me/.otto/secrets/internal-api.token".
    let tokenOrigin: String

    static func resolve(_ options: ConnectionOptions, environment: [String: String]) throws -> Connection {
        // Both may need the config file; it is read at most once.
        let config = ConfigFile(environment: environment)
        let baseURL = try resolveURL(options, environment: environment, config: config)
        let (token, origin) = try resolveToken(options, environment: environment, config: config)
        return Connection(baseURL: baseURL, token: token, tokenOrigin: origin)
    }

    /// The largest token file ottoctl reads; Otto's own token is 64 characters.
    static let maxTokenFileBytes = 4_096

    /// The size of the file at `path` in bytes, or 0 if it cannot be read (reading it will then say why).
    static func fileSize(_ path: String) -> Int {
        let attribute: Any? = (try? FileManager.default.attributesOfItem(atPath: path))?[.size]
        if let size = attribute as? Int { return size }
        if let size = attribute as? UInt { return Int(clamping: size) }
        if let size = attribute as? UInt64 { return Int(clamping: size) }
        return 0
    }

    /// The token as HTTP can carry it: printable ASCII without spaces. A token with anything else (a second
    /// line, a NUL) is refused here, naming where it came from and never what it holds.
    static func validatedToken(_ text: String, origin: String) throws -> String {
        let token = String(text.trimmingWhitespace)
        guard !token.isEmpty else { throw CLIError("the API token in \(origin) is empty") }
        guard token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw CLIError(
                "the API token in \(origin) holds characters a token cannot have (a second line, a space or a "
                    + "control character); it should hold only the token of the running otto, as in "
                    + "<ottoHome>/secrets/internal-api.token"
            )
        }
        return token
    }

    static func resolveURL(
        _ options: ConnectionOptions, environment: [String: String], config: ConfigFile? = nil
    ) throws -> String {
        if let url = options.url.flatMap({ $0.isEmpty ? nil : $0 }) {
            return try normalized(url, origin: "--url")
        }
        if let url = OttoEnvironment.value(OttoEnvironment.externalAPIURL, in: environment) {
            return try normalized(url, origin: OttoEnvironment.externalAPIURL)
        }
        let envHost = OttoEnvironment.value(OttoEnvironment.externalAPIHost, in: environment)
        let envPort = OttoEnvironment.value(OttoEnvironment.externalAPIPort, in: environment)
        var host = envHost
        var port = envPort
        var portOrigin = OttoEnvironment.externalAPIPort
        if host == nil || port == nil {
            let fromConfig = (config ?? ConfigFile(environment: environment)).values
            host = host ?? fromConfig.host
            if port == nil, let configured = fromConfig.port {
                port = configured
                portOrigin = "externalApi.port in \(OttoLocations.configPath(environment))"
            }
        }
        var hostText = host ?? "127.0.0.1"
        // 0.0.0.0 is where the server listens, not an address to connect to.
        if hostText == "0.0.0.0" { hostText = "127.0.0.1" }
        if hostText == "::" { hostText = "::1" }
        if hostText.contains(":") && !hostText.hasPrefix("[") { hostText = "[\(hostText)]" }
        let portText = port ?? "4190"
        guard let portNumber = Int(portText), (1...65_535).contains(portNumber) else {
            let shown = Output.escapingControls(String(portText.prefix(40)))
            throw CLIError(
                "invalid API port \"\(shown)\" from \(portOrigin); expected 1 to 65535", invalidInput: true)
        }
        return "http://\(hostText):\(portNumber)"
    }

    static func normalized(_ url: String, origin: String) throws -> String {
        let shown = Output.escapingControls(url.count > 100 ? String(url.prefix(100)) + "…" : url)
        guard url.utf8.count <= 2_048, let components = URLComponents(string: url),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            components.host?.isEmpty == false
        else {
            throw CLIError(
                "invalid API URL \"\(shown)\" from \(origin); expected e.g. http://127.0.0.1:4190",
                invalidInput: true
            )
        }
        // A port outside 1-65535 would crash the HTTP client; it is invalid input like any other.
        if let port = components.port, !(1...65_535).contains(port) {
            throw CLIError(
                "invalid API URL \"\(shown)\" from \(origin): port \(port) is not from 1 to 65535", invalidInput: true)
        }
        if components.port == nil,
            let authority = url.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first,
            let hostAndPort = authority.split(separator: "@").last, hostAndPort.last != "]", hostAndPort.contains(":")
        {
            // A port URLComponents could not read (too large for an integer, or not a number).
            throw CLIError(
                "invalid API URL \"\(shown)\" from \(origin): the port is not a number from 1 to 65535",
                invalidInput: true)
        }
        var text = url
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    static func resolveToken(
        _ options: ConnectionOptions,
        environment: [String: String],
        config: ConfigFile? = nil
    ) throws -> (token: String, origin: String) {
        if let token = OttoEnvironment.value(OttoEnvironment.externalAPIToken, in: environment) {
            let origin = "environment variable \(OttoEnvironment.externalAPIToken)"
            return (try validatedToken(token, origin: origin), origin)
        }
        let path: String
        if let file = options.tokenFile.flatMap({ $0.isEmpty ? nil : $0 }) {
            path = file
        } else if let file = OttoEnvironment.value(OttoEnvironment.externalAPITokenFile, in: environment) {
            path = file
        } else {
            // The same token file `otto serve` writes: under OTTO_HOME, else the config's ottoHome, else ~/.otto.
            let configured = (config ?? ConfigFile(environment: environment)).values.ottoHome
            let home = OttoLocations.ottoHome(configured: configured, environment: environment)
            path = OttoPaths(home: home).apiToken
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError(
                "no API token file at \(path); start `otto serve` once to create it, or set --token-file, "
                    + "\(OttoEnvironment.externalAPITokenFile) or \(OttoEnvironment.externalAPIToken)"
            )
        }
        let size = fileSize(path)
        guard size <= maxTokenFileBytes else {
            throw CLIError("the API token file \(path) is \(size) bytes, too large for a token; is it the right file?")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read the API token file \(path) (check its permissions)")
        }
        let origin = "file \(path)"
        return (try validatedToken(String(decoding: data, as: UTF8.self), origin: origin), origin)
    }
}

/// `externalApi.host`, `.port` and `ottoHome` from the config file, read the first time they are asked for (if the
/// file exists and parses).
final class ConfigFile {
    private let environment: [String: String]

    init(environment: [String: String]) { self.environment = environment }

    /// The port as its text: a number the config holds that is no port (too large, a fraction) is reported as
    /// invalid input by `resolveURL`, never converted (a Double too large for Int traps).
    lazy var values: (host: String?, port: String?, ottoHome: String?) = {
        guard let data = FileManager.default.contents(atPath: OttoLocations.configPath(environment)),
            let root = try? JSONC.parse(Array(data))
        else { return (nil, nil, nil) }
        var host: String?
        var port: String?
        var ottoHome: String?
        if case .string(let value) = root.member("externalApi")?.member("host")?.kind { host = value }
        if let node = root.member("externalApi")?.member("port") {
            switch node.kind {
            case .number(let value, _):
                port = Int(exactly: value).map(String.init) ?? "\(value)"
            case .string(let value): port = value
            default: port = node.typeName
            }
        }
        if case .string(let value) = root.member("ottoHome")?.kind { ottoHome = value }
        return (host, port, ottoHome)
    }()

    /// `telegram.apiBaseUrl`, for `ottoctl telegram setup`.
    lazy var telegramAPIBaseURL: String? = {
        guard let data = FileManager.default.contents(atPath: OttoLocations.configPath(environment)),
            let root = try? JSONC.parse(Array(data)),
            case .string(let value) = root.member("telegram")?.member("apiBaseUrl")?.kind
        else { return nil }
        return value
    }()
}
