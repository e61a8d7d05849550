import ArgumentParser
import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension OttoCtl {
    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "Show recent catalog refreshes and flow default changes, newest first.")

        @Option(help: ArgumentHelp("How many entries, 1 to 200.", valueName: "n"))
        var limit = 20

        @Option(help: ArgumentHelp("Only this command, e.g. external_models_refresh.", valueName: "name"))
        var command: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            guard (1...200).contains(limit) else {
                throw ValidationError("--limit must be from 1 to 200, got \(limit)")
            }
        }

        func run() async throws {
            try await reportingErrors {
                try await APIClient.with(connection) { client in
                    var path = "/external/audit?limit=\(limit)"
                    if let command {
                        path += "&command=" + PercentEncoding.queryValue(command)
                    }
                    let (audit, reply) = try await client.get(path, as: CommandAuditResponse.self)
                    if output.json {
                        Output.raw(reply.body)
                        return
                    }
                    let lines = audit.entries.map { entry in
                        let status = entry.status == "success" ? entry.status : Output.styled(entry.status, .red)
                        return "\(Output.when(entry.createdAt))  \(entry.command)  \(status)"
                            + (entry.errorMessage.map { "  \($0)" } ?? "")
                    }
                    Output.lines(lines, none: "no audit entries")
                }
            }
        }
    }
}
