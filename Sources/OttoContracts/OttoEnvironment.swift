/// The environment variables Otto reads, with the names the original TypeScript Otto used.
public enum OttoEnvironment {
    /// Path of the config file; default `$HOME/.config/otto/config.jsonc`.
    public static let configPath = "OTTO_CONFIG_PATH"
    /// Otto's home directory; overrides the config's `ottoHome` (default `$HOME/.otto`).
    public static let home = "OTTO_HOME"
    /// Base URL of the OpenCode server; overrides `opencode.baseUrl`.
    public static let openCodeBaseURL = "OTTO_OPENCODE_BASE_URL"
    /// OpenCode's password, for Basic auth; before `opencode.passwordFile` and `OPENCODE_SERVER_PASSWORD`.
    public static let openCodePassword = "OTTO_OPENCODE_PASSWORD"
    /// The password `opencode serve` itself reads; Otto uses it when neither of its own settings names one.
    public static let openCodeServerPassword = "OPENCODE_SERVER_PASSWORD"
    /// The user name `opencode serve` itself reads (default `opencode`); `opencode.username` comes first.
    public static let openCodeServerUsername = "OPENCODE_SERVER_USERNAME"
    /// Telegram's bot token (after `telegram.botTokenFile`, before the TypeScript Otto's `telegram.env`).
    public static let telegramBotToken = "TELEGRAM_BOT_TOKEN"
    /// The one Telegram user Otto serves (after `telegram.allowedUserId`, before `telegram.env`).
    public static let telegramAllowedUserId = "TELEGRAM_ALLOWED_USER_ID"
    /// Host the external API binds to; overrides `externalApi.host`.
    public static let externalAPIHost = "OTTO_EXTERNAL_API_HOST"
    /// Port the external API binds to; overrides `externalApi.port`.
    public static let externalAPIPort = "OTTO_EXTERNAL_API_PORT"
    /// Full base URL `ottoctl` talks to.
    public static let externalAPIURL = "OTTO_EXTERNAL_API_URL"
    /// The API token itself, for `ottoctl`.
    public static let externalAPIToken = "OTTO_EXTERNAL_API_TOKEN"
    /// A file holding the API token, for `ottoctl`.
    public static let externalAPITokenFile = "OTTO_EXTERNAL_API_TOKEN_FILE"

    /// The value of `name` in `environment`, where an empty value counts as unset.
    public static func value(_ name: String, in environment: [String: String]) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }
}

/// Which rule chose the model a piece of work runs on.
public enum ModelSource: String, Codable, Sendable, CaseIterable {
    /// The job's own `modelRef`.
    case job
    /// The default of the job's flow.
    case flowDefault = "flow_default"
    /// OpenCode's global default, because neither the job nor the flow chose a model.
    case globalDefault = "global_default"
    /// OpenCode's global default, because the chosen model is not in the catalog.
    case fallbackGlobalDefault = "fallback_global_default"
    /// Nothing chose a model and OpenCode names no global default: the prompt went without one and OpenCode chose
    /// (the run's `answeredBy` says which).
    case openCodeDefault = "opencode_default"
}

/// Where the catalog currently served came from.
public enum CatalogSource: String, Codable, Sendable {
    case network
    case cache
}
