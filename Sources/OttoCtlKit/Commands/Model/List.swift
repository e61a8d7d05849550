import ArgumentParser
import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension OttoCtl.Model {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the models OpenCode offers, one provider/model per line.")

        @Option(help: ArgumentHelp("Only this provider's models.", valueName: "provider"))
        var provider: String?

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                try await APIClient.with(connection) { client in
                    let (catalog, reply) = try await client.get("/external/models/catalog", as: CatalogResponse.self)
                    if output.json {
                        Output.raw(reply.body)
                        return
                    }
                    let models =
                        provider.map { provider in catalog.models.filter { $0.hasPrefix(provider + "/") } }
                        ?? catalog.models
                    let scope = provider.map { " of provider \($0)" } ?? ""
                    Output.line(
                        "\(models.count) models\(scope), from \(catalog.source.rawValue), refreshed \(Output.when(catalog.updatedAt))"
                    )
                    Output.line(models.joined(separator: "\n"))
                }
            }
        }
    }
}
