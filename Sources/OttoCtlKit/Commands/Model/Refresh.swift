import ArgumentParser
import OttoContracts

extension OttoCtl.Model {
    struct Refresh: APICommand {
        static let configuration = CommandConfiguration(
            commandName: "refresh",
            abstract: "Fetch the catalog from OpenCode now.",
            discussion: """
                Afterwards, warns on stderr about every flow default and job whose model is no longer in the \
                catalog, naming the model the runtime will use instead.
                """
        )

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run(in context: CommandContext) async throws {
            let answer = try await context.client.refreshCatalog()
            if output.json {
                context.output.raw(answer.body)
            } else {
                context.output.line(
                    "refreshed: \(answer.value.count) models, \(Output.when(answer.value.updatedAt))")
            }
            try await warnAboutVanishedModels(context)
        }

        /// An operator should learn that a model vanished when refreshing, not when a job quietly runs on another.
        func warnAboutVanishedModels(_ context: CommandContext) async throws {
            let defaults = try await context.client.defaults().value
            let effective = try await context.client.effectiveModels().value
            for flow in RuntimeModelFlow.allCases {
                guard let chosen = defaults.flowDefaults[flow], let now = effective.flows[flow.rawValue],
                    now.source == .fallbackGlobalDefault || now.source == .unresolved
                else { continue }
                context.output.warning(
                    "flow \(flow) is set to \(chosen), which is no longer in the catalog; " + Self.fallback(now))
            }
            for body in try await context.client.allJobs() where body.job.terminalState == nil {
                let source = body.effectiveModel.source
                guard source == .fallbackGlobalDefault || source == .unresolved else { continue }
                let wanted = body.job.modelRef.map { "its model \($0)" } ?? "its flow's default model"
                context.output.warning(
                    "job \(body.job.id): \(wanted) is no longer in the catalog; " + Self.fallback(body.effectiveModel))
            }
        }

        static func fallback(_ model: EffectiveModel) -> String {
            if let ref = model.ref {
                return "it will run on \(ref) (OpenCode's global default) until you choose another"
            }
            return "no fallback is available (OpenCode's global default is not in the catalog either)"
        }
    }
}
