import ArgumentParser

/// Flags every command takes: where the API is, where the token is, and whether to trace requests.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Base URL of the Otto external API, e.g. http://127.0.0.1:4190.", valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("File holding the API token.", valueName: "path"))
    var tokenFile: String?

    @Flag(help: "Show each request's method, URL and status on stderr (never the token).")
    var verbose = false
}

/// `--json` for commands that read.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the API's JSON payload exactly, for scripts.")
    var json = false
}
