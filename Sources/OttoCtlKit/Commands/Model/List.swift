import ArgumentParser
import OttoContracts

extension OttoCtl.Model {
    struct List: APICommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the models OpenCode offers, one provider/model per line.")

        @Option(help: ArgumentHelp("Only this provider's models.", valueName: "provider"))
        var provider: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run(in context: CommandContext) async throws {
            let answer = try await context.client.catalog()
            if output.json { return context.output.raw(answer.body) }
            let catalog = answer.value
            let models =
                provider.map { provider in catalog.models.filter { $0.hasPrefix(provider + "/") } } ?? catalog.models
            let scope = provider.map { " of provider \($0)" } ?? ""
            context.output.line(
                "\(models.count) models\(scope), from \(catalog.source.rawValue), refreshed \(Output.when(catalog.updatedAt))"
            )
            context.output.line(models.joined(separator: "\n"))
        }
    }
}
