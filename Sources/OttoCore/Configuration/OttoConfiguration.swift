import Foundation
import OttoContracts

/// Otto's settings, after the config file was read and the environment overrides were applied.
public struct OttoConfiguration: Sendable, Equatable {
    public struct OpenCode: Sendable, Equatable {
        /// Base URL without a trailing slash, e.g. `http://127.0.0.1:4096`.
        public var baseURL: String
        /// Every OpenCode request gives up after this many seconds.
        public var requestTimeoutSeconds: Int
        /// The user name for OpenCode's Basic auth (`opencode.username`); nil: `OPENCODE_SERVER_USERNAME`, else
        /// `opencode`, as OpenCode itself does.
        public var username: String? = nil
        /// A file whose first line is OpenCode's password (`opencode.passwordFile`, an absolute path).
        public var passwordFile: String? = nil
        /// `opencode.protocol`: `"1"` or `"2"` pins the server protocol; nil (`"auto"`, the default) detects it.
        public var pinnedProtocol: OpenCodeProtocolVersion? = nil
        /// `opencode.agent`, `opencode.allowTools`, `opencode.allowedAgents`: what Otto's prompts may do.
        public var safety = OpenCodeSafety()
    }

    public struct ExternalAPI: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// A connection that has not sent a complete request head this long after opening is closed (slowloris).
        public var requestHeadTimeoutSeconds = 10
        /// A keep-alive connection with no request for this long is closed.
        public var idleTimeoutSeconds = 60
        /// A request must arrive whole, head and body, this long after its first byte (at least the head's).
        public var requestTimeoutSeconds = 30

        public init(host: String, port: Int, requestHeadTimeoutSeconds: Int = 10, idleTimeoutSeconds: Int = 60) {
            self.host = host
            self.port = port
            self.requestHeadTimeoutSeconds = requestHeadTimeoutSeconds
            self.idleTimeoutSeconds = idleTimeoutSeconds
        }
    }

    /// How jobs are claimed and run (`scheduler.*`).
    public struct Scheduler: Sendable, Equatable {
        /// The longest the scheduler sleeps without looking at the database (it wakes earlier for due jobs).
        public var tickSeconds = 30
        /// How long a claim holds without renewal; a run renews it every third of this.
        public var leaseSeconds = 30
        public var maxConcurrentRuns = 4
        /// The bound on one run's prompt calls, retries included.
        public var runTimeoutSeconds = 600
        /// Extra attempts after a transient OpenCode failure (refused, reset, HTTP 429 or 5xx).
        public var retries = 2
    }

    /// The `system-heartbeat` job (`heartbeat.*`).
    public struct Heartbeat: Sendable, Equatable {
        public var enabled = true
        public var cadenceMinutes = 240
        public var prompt = Self.defaultPrompt

        public static let defaultPrompt = """
            You are Otto's heartbeat. Below is a digest of what Otto did since the previous heartbeat. \
            Write a short status note for the operator: say whether all is well, name anything that failed \
            and what to look at first, and what is coming up. Be brief; plain text.
            """
    }

    /// The `system-watchdog-failures` job (`watchdog.*`).
    public struct Watchdog: Sendable, Equatable {
        public var enabled = true
        public var cadenceMinutes = 30
    }

    /// Where the heartbeat's digest and the watchdog's alerts are sent (`notifications.*`).
    public struct Notifications: Sendable, Equatable {
        /// An http(s) URL that receives a JSON POST per message, or nil for none.
        public var webhookURL: String?
        /// `notifications.telegram`: also to the Telegram chat; nil: yes when Telegram is configured.
        public var telegram: Bool? = nil
    }

    /// `telegram.*`. The token and the user id may also come from the environment or the TypeScript Otto's
    /// `telegram.env` (see `TelegramSettings.resolve`).
    public struct Telegram: Sendable, Equatable {
        /// nil: on when a bot token is found.
        public var enabled: Bool? = nil
        /// A file whose first line is the bot token (an absolute path).
        public var botTokenFile: String? = nil
        public var allowedUserId: Int64? = nil
        /// Without a trailing slash.
        public var apiBaseURL = "https://api.telegram.org"
        /// The longest one message's prompt may take (the TypeScript Otto's key and default).
        public var promptTimeoutMs = 300_000
        /// `MarkdownV2` or `HTML`; nil: plain text.
        public var parseMode: String? = nil
    }

    public var ottoHome: String
    public var openCode: OpenCode
    public var externalAPI: ExternalAPI
    public var flowDefaults: FlowDefaults
    public var catalogRefreshIntervalSeconds: Int
    public var scheduler = Scheduler()
    public var heartbeat = Heartbeat()
    public var watchdog = Watchdog()
    public var notifications = Notifications()
    public var assistant = Assistant()
    public var telegram = Telegram()

    /// The interactive assistant (`assistant.*`).
    public struct Assistant: Sendable, Equatable {
        /// Assistant messages in flight at once; beyond this a new one is answered 429 with Retry-After.
        public var maxConcurrent = 8
    }

    public static let defaultOpenCodeBaseURL = "http://127.0.0.1:4096"
    public static let defaultRequestTimeoutSeconds = 10
    public static let defaultExternalAPIHost = "127.0.0.1"
    public static let defaultExternalAPIPort = 4190
    public static let defaultCatalogRefreshIntervalSeconds = 86_400

    /// The key path of the flow defaults in the config file.
    public static let flowDefaultsPath = ["modelManagement", "flowDefaults"]
}

/// A config file or environment variable that Otto cannot use, with every problem found in it.
public struct ConfigurationError: Error, LocalizedError, Sendable, Equatable, CustomStringConvertible {
    /// "config file /home/me/.config/otto/config.jsonc" or "environment variable OTTO_EXTERNAL_API_PORT".
    public let source: String
    public let issues: [FieldIssue]

    public init(source: String, issues: [FieldIssue]) {
        self.source = source
        self.issues = issues
    }

    public var message: String {
        let problems = issues.map { $0.path.isEmpty ? $0.message : "\($0.path): \($0.message)" }
        return "invalid \(source): " + problems.joined(separator: "; ")
    }
    public var errorDescription: String? { message }
    public var description: String { message }
}

extension OttoConfiguration {
    /// Reads the settings from config file text. Every invalid value is reported with its key path.
    /// - Parameter homeDirectory: the user's home, for the default `ottoHome` and `~` expansion.
    public static func parse(
        _ bytes: [UInt8],
        file: String,
        homeDirectory: String
    ) throws(ConfigurationError) -> OttoConfiguration {
        try read(bytes, file: file) { reader, root in reader.read(root, homeDirectory: homeDirectory) }
    }

    /// Reads only `modelManagement.flowDefaults`, for the live flow defaults store.
    static func parseFlowDefaults(_ bytes: [UInt8], file: String) throws(ConfigurationError) -> FlowDefaults {
        try read(bytes, file: file) { reader, root in reader.flowDefaults(in: root) }
    }

    /// Parses the file and runs `body` over it, turning syntax errors and every collected issue into one error.
    private static func read<T>(
        _ bytes: [UInt8],
        file: String,
        _ body: (inout Reader, JSONCNode) -> T
    ) throws(ConfigurationError) -> T {
        let root: JSONCNode
        do {
            root = try JSONC.parse(bytes)
        } catch {
            throw ConfigurationError(
                source: "config file \(file)",
                issues: [FieldIssue(path: "", message: "not valid JSON with comments: \(error.message)")]
            )
        }
        var reader = Reader()
        let value = body(&reader, root)
        if !reader.issues.isEmpty {
            throw ConfigurationError(source: "config file \(file)", issues: reader.issues)
        }
        return value
    }

    /// Applies `OTTO_HOME`, `OTTO_OPENCODE_BASE_URL`, `OTTO_EXTERNAL_API_HOST` and `OTTO_EXTERNAL_API_PORT`.
    /// An empty variable counts as unset.
    public func applyingEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> OttoConfiguration {
        var result = self
        if let home = OttoEnvironment.value(OttoEnvironment.home, in: environment) {
            let path = OttoLocations.expandingTilde(home, homeDirectory: OttoLocations.homeDirectory(environment))
            guard path.hasPrefix("/") else {
                throw Self.environmentError(OttoEnvironment.home, "expected an absolute path, got \"\(home)\"")
            }
            result.ottoHome = path
        }
        if let url = OttoEnvironment.value(OttoEnvironment.openCodeBaseURL, in: environment) {
            switch Self.normalizedBaseURL(url) {
            case .success(let normalized): result.openCode.baseURL = normalized
            case .failure(let invalid): throw Self.environmentError(OttoEnvironment.openCodeBaseURL, invalid.reason)
            }
        }
        if let host = OttoEnvironment.value(OttoEnvironment.externalAPIHost, in: environment) {
            result.externalAPI.host = host
        }
        if let portText = OttoEnvironment.value(OttoEnvironment.externalAPIPort, in: environment) {
            // 0 asks the system for a free port (logged at start-up); scripts and tests use it.
            guard let port = Int(portText), (0...65_535).contains(port) else {
                throw Self.environmentError(
                    OttoEnvironment.externalAPIPort,
                    "expected a port number from 1 to 65535 (or 0 for any free port), got \"\(portText)\""
                )
            }
            result.externalAPI.port = port
        }
        return result
    }

    private static func environmentError(_ name: String, _ message: String) -> ConfigurationError {
        ConfigurationError(source: "environment variable \(name)", issues: [FieldIssue(path: "", message: message)])
    }

    struct InvalidValue: Error {
        let reason: String
    }

    /// Checks that `text` is an absolute http(s) URL with a host and returns it without a trailing slash.
    static func normalizedBaseURL(_ text: String) -> Result<String, InvalidValue> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else {
            return .failure(
                InvalidValue(
                    reason: "expected an http:// or https:// URL such as \"http://127.0.0.1:4096\", got \"\(text)\""))
        }
        if components.query != nil || components.fragment != nil {
            return .failure(InvalidValue(reason: "a base URL cannot have a query or fragment, got \"\(text)\""))
        }
        var normalized = trimmed
        while normalized.hasSuffix("/") { normalized.removeLast() }
        return .success(normalized)
    }

    /// Walks the parsed file, collecting every problem with its key path instead of stopping at the first.
    struct Reader {
        var issues: [FieldIssue] = []

        mutating func problem(_ path: String, _ message: String) {
            issues.append(FieldIssue(path: path, message: message))
        }

        mutating func object(_ node: JSONCNode?, _ path: String) -> JSONCNode? {
            guard let node else { return nil }
            if case .null = node.kind { return nil }
            guard case .object = node.kind else {
                problem(path, "expected an object, got \(node.typeName)")
                return nil
            }
            return node
        }

        mutating func string(_ node: JSONCNode?, _ path: String) -> String? {
            guard let node else { return nil }
            guard case .string(let value) = node.kind else {
                problem(path, "expected a string, got \(node.typeName)")
                return nil
            }
            if value.trimmingCharacters(in: .whitespaces).isEmpty {
                problem(path, "must not be empty")
                return nil
            }
            return value
        }

        mutating func bool(_ node: JSONCNode?, _ path: String) -> Bool? {
            guard let node else { return nil }
            guard case .bool(let value) = node.kind else {
                problem(path, "expected true or false, got \(node.typeName)")
                return nil
            }
            return value
        }

        mutating func integer(_ node: JSONCNode?, _ path: String, in range: ClosedRange<Int>, unit: String) -> Int? {
            guard let node else { return nil }
            guard case .number(let value, let isInteger) = node.kind, isInteger, value.magnitude < 1e15 else {
                problem(path, "expected a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound)")
                return nil
            }
            let integer = Int(value)
            guard range.contains(integer) else {
                problem(
                    path, "\(integer) is out of range; expected \(unit) from \(range.lowerBound) to \(range.upperBound)"
                )
                return nil
            }
            return integer
        }

        /// `opencode.protocol`, `opencode.agent`, `opencode.allowTools` and `opencode.allowedAgents`.
        mutating func readOpenCodeProtocolAndSafety(
            _ openCode: JSONCNode, into settings: inout OttoConfiguration.OpenCode
        ) {
            if let text = string(openCode.member("protocol"), "opencode.protocol") {
                switch text {
                case "auto": settings.pinnedProtocol = nil
                case "1": settings.pinnedProtocol = .v1
                case "2": settings.pinnedProtocol = .v2
                default:
                    problem(
                        "opencode.protocol",
                        "expected \"auto\", \"1\" or \"2\", got \"\(UpstreamText.scrubbed(text, limit: 40))\"")
                }
            }
            if let agent = string(openCode.member("agent"), "opencode.agent") {
                if OpenCodeSafety.isValidAgentName(agent) {
                    settings.safety.agent = agent
                } else {
                    problem("opencode.agent", "expected an agent name: 1 to 64 letters, digits, \"_\", \"-\" or \".\"")
                }
            }
            if let tools = stringArray(openCode.member("allowTools"), "opencode.allowTools") {
                for tool in tools where !OpenCodeSafety.restrictedTools.contains(tool) {
                    problem(
                        "opencode.allowTools",
                        "\"\(UpstreamText.scrubbed(tool, limit: 40))\" is not one of the tools Otto turns off ("
                            + OpenCodeSafety.restrictedTools.joined(separator: ", ") + ")")
                }
                settings.safety.allowTools = tools.filter(OpenCodeSafety.restrictedTools.contains)
            }
            if let agents = stringArray(openCode.member("allowedAgents"), "opencode.allowedAgents") {
                for agent in agents where !OpenCodeSafety.isValidAgentName(agent) {
                    problem(
                        "opencode.allowedAgents",
                        "\"\(UpstreamText.scrubbed(agent, limit: 40))\" is not an agent name: 1 to 64 letters, digits, "
                            + "\"_\", \"-\" or \".\"")
                }
                settings.safety.allowedAgents = agents.filter(OpenCodeSafety.isValidAgentName)
            }
        }

        /// An array of at most `OpenCodeSafety.maxListLength` strings.
        mutating func stringArray(_ node: JSONCNode?, _ path: String) -> [String]? {
            guard let node else { return nil }
            guard case .array(let items) = node.kind else {
                problem(path, "expected an array of strings, got \(node.typeName)")
                return nil
            }
            guard items.count <= OpenCodeSafety.maxListLength else {
                problem(path, "lists \(items.count) entries; at most \(OpenCodeSafety.maxListLength) are allowed")
                return nil
            }
            var strings: [String] = []
            for (index, item) in items.enumerated() {
                guard case .string(let value) = item.kind else {
                    problem("\(path)[\(index)]", "expected a string, got \(item.typeName)")
                    continue
                }
                strings.append(value)
            }
            return strings
        }

        mutating func read(_ root: JSONCNode, homeDirectory: String) -> OttoConfiguration {
            var configuration = OttoConfiguration(
                ottoHome: homeDirectory + "/.otto",
                openCode: .init(baseURL: OttoConfiguration.defaultOpenCodeBaseURL, requestTimeoutSeconds: 10),
                externalAPI: .init(
                    host: OttoConfiguration.defaultExternalAPIHost,
                    port: OttoConfiguration.defaultExternalAPIPort
                ),
                flowDefaults: FlowDefaults(),
                catalogRefreshIntervalSeconds: OttoConfiguration.defaultCatalogRefreshIntervalSeconds
            )
            guard case .object = root.kind else {
                problem("", "the top level must be an object ({ ... }), got \(root.typeName)")
                return configuration
            }
            if let version = root.member("version") {
                if case .number(let value, true) = version.kind, value == 1 {
                } else {
                    problem("version", "this Otto understands config version 1 only")
                }
            }
            if let home = string(root.member("ottoHome"), "ottoHome") {
                let expanded = OttoLocations.expandingTilde(home, homeDirectory: homeDirectory)
                if expanded.hasPrefix("/") {
                    configuration.ottoHome = expanded
                } else {
                    problem("ottoHome", "expected an absolute path, got \"\(home)\"")
                }
            }
            if let openCode = object(root.member("opencode"), "opencode") {
                if let baseURL = string(openCode.member("baseUrl"), "opencode.baseUrl") {
                    switch OttoConfiguration.normalizedBaseURL(baseURL) {
                    case .success(let normalized): configuration.openCode.baseURL = normalized
                    case .failure(let invalid): problem("opencode.baseUrl", invalid.reason)
                    }
                } else if openCode.member("baseUrl") == nil,
                    openCode.member("hostname") != nil || openCode.member("port") != nil
                {
                    // The original TypeScript Otto's form: { "hostname": ..., "port": ... }.
                    let hostname = string(openCode.member("hostname"), "opencode.hostname") ?? "127.0.0.1"
                    let port = integer(openCode.member("port"), "opencode.port", in: 1...65_535, unit: "port") ?? 4096
                    let host = hostname.contains(":") && !hostname.hasPrefix("[") ? "[\(hostname)]" : hostname
                    configuration.openCode.baseURL = "http://\(host):\(port)"
                }
                if let timeout = integer(
                    openCode.member("requestTimeoutSeconds"),
                    "opencode.requestTimeoutSeconds",
                    in: 1...3_600,
                    unit: "seconds"
                ) {
                    configuration.openCode.requestTimeoutSeconds = timeout
                }
                if let username = string(openCode.member("username"), "opencode.username") {
                    // RFC 7617: the user-id of Basic auth cannot hold a colon.
                    if username.isEmpty || username.utf8.count > 256 || username.contains(":")
                        || username.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
                    {
                        problem(
                            "opencode.username", "expected 1 to 256 characters without a colon or control characters")
                    } else {
                        configuration.openCode.username = username
                    }
                }
                if let file = string(openCode.member("passwordFile"), "opencode.passwordFile") {
                    let expanded = OttoLocations.expandingTilde(file, homeDirectory: homeDirectory)
                    if expanded.hasPrefix("/") {
                        configuration.openCode.passwordFile = expanded
                    } else {
                        problem("opencode.passwordFile", "expected an absolute path, got \"\(file)\"")
                    }
                }
            }
            if let openCode = object(root.member("opencode"), "opencode") {
                readOpenCodeProtocolAndSafety(openCode, into: &configuration.openCode)
            }
            if let api = object(root.member("externalApi"), "externalApi") {
                if let host = string(api.member("host"), "externalApi.host") {
                    configuration.externalAPI.host = host
                }
                if let port = integer(api.member("port"), "externalApi.port", in: 1...65_535, unit: "port") {
                    configuration.externalAPI.port = port
                }
                if let seconds = integer(
                    api.member("requestHeadTimeoutSeconds"), "externalApi.requestHeadTimeoutSeconds", in: 1...3_600,
                    unit: "seconds")
                {
                    configuration.externalAPI.requestHeadTimeoutSeconds = seconds
                }
                if let seconds = integer(
                    api.member("idleTimeoutSeconds"), "externalApi.idleTimeoutSeconds", in: 1...86_400,
                    unit: "seconds")
                {
                    configuration.externalAPI.idleTimeoutSeconds = seconds
                }
                if let seconds = integer(
                    api.member("requestTimeoutSeconds"), "externalApi.requestTimeoutSeconds", in: 1...3_600,
                    unit: "seconds")
                {
                    if seconds < configuration.externalAPI.requestHeadTimeoutSeconds {
                        problem(
                            "externalApi.requestTimeoutSeconds",
                            "\(seconds) is less than externalApi.requestHeadTimeoutSeconds "
                                + "(\(configuration.externalAPI.requestHeadTimeoutSeconds)); a whole request cannot "
                                + "take less time than its head")
                    } else {
                        configuration.externalAPI.requestTimeoutSeconds = seconds
                    }
                } else {
                    configuration.externalAPI.requestTimeoutSeconds = max(
                        configuration.externalAPI.requestTimeoutSeconds,
                        configuration.externalAPI.requestHeadTimeoutSeconds)
                }
            }
            // modelManagement is looked at once here: a value of the wrong type is one problem, reported once.
            let management = object(root.member("modelManagement"), "modelManagement")
            if let management { configuration.flowDefaults = flowDefaults(inManagement: management) }
            if let management,
                let interval = integer(
                    management.member("catalogRefreshIntervalSeconds"),
                    "modelManagement.catalogRefreshIntervalSeconds",
                    in: 1...31_536_000,
                    unit: "seconds"
                )
            {
                configuration.catalogRefreshIntervalSeconds = interval
            }
            readExecution(root, into: &configuration)
            readTelegram(root, homeDirectory: homeDirectory, into: &configuration)
            return configuration
        }

        /// `<name>.enabled` and `<name>.cadenceMinutes` (1 minute to a week) of one of Otto's own jobs.
        mutating func systemJob(_ node: JSONCNode, _ name: String, _ enabled: inout Bool, _ cadence: inout Int) {
            if let value = bool(node.member("enabled"), "\(name).enabled") { enabled = value }
            if let value = integer(
                node.member("cadenceMinutes"), "\(name).cadenceMinutes", in: 1...(7 * 24 * 60), unit: "minutes")
            {
                cadence = value
            }
        }

        /// `scheduler`, `heartbeat`, `watchdog` and `notifications`: durations are whole seconds or minutes, at
        /// least 1, so tests can use small ones.
        mutating func readExecution(_ root: JSONCNode, into configuration: inout OttoConfiguration) {
            if let node = object(root.member("scheduler"), "scheduler") {
                var scheduler = configuration.scheduler
                let seconds: [(String, WritableKeyPath<Scheduler, Int>, ClosedRange<Int>, String)] = [
                    ("tickSeconds", \.tickSeconds, 1...3_600, "seconds"),
                    ("leaseSeconds", \.leaseSeconds, 1...3_600, "seconds"),
                    ("runTimeoutSeconds", \.runTimeoutSeconds, 1...86_400, "seconds"),
                    ("maxConcurrentRuns", \.maxConcurrentRuns, 1...64, "runs"),
                    ("retries", \.retries, 0...10, "retries"),
                ]
                for (key, field, range, unit) in seconds {
                    if let value = integer(node.member(key), "scheduler.\(key)", in: range, unit: unit) {
                        scheduler[keyPath: field] = value
                    }
                }
                configuration.scheduler = scheduler
            }
            if let node = object(root.member("heartbeat"), "heartbeat") {
                systemJob(node, "heartbeat", &configuration.heartbeat.enabled, &configuration.heartbeat.cadenceMinutes)
                if let value = string(node.member("prompt"), "heartbeat.prompt") {
                    if value.utf8.count > 16_384 {
                        problem("heartbeat.prompt", "is longer than 16384 bytes")
                    } else {
                        configuration.heartbeat.prompt = value
                    }
                }
            }
            if let node = object(root.member("assistant"), "assistant"),
                let value = integer(
                    node.member("maxConcurrent"), "assistant.maxConcurrent", in: 1...64, unit: "messages")
            {
                configuration.assistant.maxConcurrent = value
            }
            if let node = object(root.member("watchdog"), "watchdog") {
                systemJob(node, "watchdog", &configuration.watchdog.enabled, &configuration.watchdog.cadenceMinutes)
            }
            if let node = object(root.member("notifications"), "notifications"),
                let url = node.member("webhookUrl")
            {
                if case .null = url.kind {
                } else if let text = string(url, "notifications.webhookUrl") {
                    // A query is fine here: ntfy and Gotify carry their token in it.
                    let trimmed = text.trimmingCharacters(in: .whitespaces)
                    if let components = URLComponents(string: trimmed),
                        components.user != nil || components.password != nil
                    {
                        // Refused rather than sent: the URL is logged by scheme and host, but a user:password@
                        // part is easily copied into a bug report with the config, and ntfy and Gotify take
                        // their token in the query anyway.
                        problem(
                            "notifications.webhookUrl",
                            "must not contain a user name or password (user:password@); put the receiver's token "
                                + "in the query instead, e.g. \"https://ntfy.example/my-otto?auth=<token>\"")
                    } else if let components = URLComponents(string: trimmed),
                        ["http", "https"].contains(components.scheme?.lowercased() ?? ""),
                        !(components.host ?? "").isEmpty, trimmed.utf8.count <= 4_096
                    {
                        configuration.notifications.webhookURL = trimmed
                    } else {
                        problem(
                            "notifications.webhookUrl",
                            "expected an http:// or https:// URL such as \"https://ntfy.sh/my-otto\"")
                    }
                }
            }
        }

        mutating func flowDefaults(in root: JSONCNode) -> FlowDefaults {
            guard case .object = root.kind, let management = object(root.member("modelManagement"), "modelManagement")
            else { return FlowDefaults() }
            return flowDefaults(inManagement: management)
        }

        mutating func flowDefaults(inManagement management: JSONCNode) -> FlowDefaults {
            guard let node = object(management.member("flowDefaults"), "modelManagement.flowDefaults"),
                case .object(let members) = node.kind
            else { return FlowDefaults() }
            switch FlowDefaults.validate(members, requireAll: false, pathPrefix: "modelManagement.flowDefaults") {
            case .success(let defaults):
                return defaults
            case .failure(let failure):
                issues.append(contentsOf: failure.issues)
                return FlowDefaults()
            }
        }
    }
}
