import ArgumentParser
import OttoContracts

extension OttoCtl {
    struct Audit: APICommand {
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
            if let command { try OttoCtl.checkLength(command, "--command", max: 256) }
            guard (1...200).contains(limit) else {
                throw ValidationError("--limit must be from 1 to 200, got \(limit)")
            }
        }

        func run(in context: CommandContext) async throws {
            let audit = try await context.client.commandAudit(limit: limit, command: command)
            if output.json { return context.output.raw(audit.body) }
            let lines = audit.value.entries.map { entry in
                let status =
                    entry.status == .success
                    ? entry.status.rawValue : context.output.styled(entry.status.rawValue, .red)
                return "\(Output.when(entry.createdAt))  \(entry.command)  \(status)"
                    + (entry.errorMessage.map { "  \($0)" } ?? "")
            }
            context.output.lines(lines, none: "no audit entries")
        }
    }
}
