import ArgumentParser
import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension OttoCtl.Model {
    struct Refresh: AsyncParsableCommand {
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

        func run() async throws {
            try await reportingErrors {
                try await APIClient.with(connection) { client in
                    let reply = try await client.send(.POST, "/external/models/refresh")
                    let result = try client.decode(RefreshResponse.self, reply)
                    if output.json {
                        Output.raw(reply.body)
                    } else {
                        Output.line("refreshed: \(result.count) models, \(Output.when(result.updatedAt))")
                    }
                    try await warnAboutVanishedModels(client)
                }
            }
        }

        /// An operator should learn that a model vanished when refreshing, not when a job quietly runs on another.
        func warnAboutVanishedModels(_ client: APIClient) async throws {
            let (defaults, _) = try await client.get("/external/models/defaults", as: FlowDefaultsBody.self)
            let (effective, _) = try await client.get("/external/models/effective", as: EffectiveModelsResponse.self)
            for flow in RuntimeModelFlow.allCases {
                guard let chosen = defaults.flowDefaults[flow], let now = effective.flows[flow.rawValue],
                    now.source == .fallbackGlobalDefault || now.source == .unresolved
                else { continue }
                Output.warning(
                    "flow \(flow) is set to \(chosen), which is no longer in the catalog; "
                        + Self.fallback(now)
                )
            }
            let (jobs, _) = try await client.get("/external/jobs", as: JobListResponse.self)
            for job in jobs.jobs where job.terminalState == nil {
                let source = job.effectiveModel.source
                guard source == .fallbackGlobalDefault || source == .unresolved else { continue }
                let wanted = job.modelRef.map { "its model \($0)" } ?? "its flow's default model"
                Output.warning(
                    "job \(job.id): \(wanted) is no longer in the catalog; " + Self.fallback(job.effectiveModel))
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
