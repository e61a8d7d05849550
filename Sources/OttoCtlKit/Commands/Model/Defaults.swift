import ArgumentParser
import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension OttoCtl.Model.Defaults {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show the model of each runtime flow.")

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                try await APIClient.with(connection) { client in
                    let (body, reply) = try await client.get("/external/models/defaults", as: FlowDefaultsBody.self)
                    if output.json {
                        Output.raw(reply.body)
                    } else {
                        Self.print(body.flowDefaults)
                    }
                }
            }
        }

        static func print(_ defaults: FlowDefaults) {
            let width = RuntimeModelFlow.allCases.map(\.rawValue.count).max() ?? 0
            for flow in RuntimeModelFlow.allCases {
                let name = Output.padded(flow.rawValue, to: width)
                Output.line("\(name)  \(Output.modelRef(defaults[flow]?.description))")
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set one flow's model.",
            discussion: """
                Changes only this flow: the current defaults are read with their ETag and written back with \
                If-Match, and a concurrent change to another flow makes it read again and retry.
                """
        )

        @Argument(
            help: ArgumentHelp(
                "interactiveAssistant, scheduledTasks, heartbeat or watchdogFailures.", valueName: "flow"))
        var flow: String

        @Argument(help: ArgumentHelp("provider/model, or inherit for OpenCode's global default.", valueName: "model"))
        var model: String

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        static let attempts = 8

        func validate() throws {
            _ = try parsed()
        }

        func parsed() throws -> (RuntimeModelFlow, ModelRef?) {
            let flow: RuntimeModelFlow
            do {
                flow = try RuntimeModelFlow(parsing: self.flow)
            } catch {
                throw ValidationError(error.message)
            }
            return (flow, try OttoCtl.parseModel(model))
        }

        func run() async throws {
            let (flow, ref) = try parsed()
            try await reportingErrors {
                try await APIClient.with(connection) { client in
                    for _ in 1...Self.attempts {
                        let (current, reply) = try await client.get(
                            "/external/models/defaults", as: FlowDefaultsBody.self)
                        var defaults = current.flowDefaults
                        defaults[flow] = ref
                        let body = try JSONEncoder().encode(FlowDefaultsBody(flowDefaults: defaults))
                        let put = try await client.send(
                            .PUT,
                            "/external/models/defaults",
                            json: body,
                            ifMatch: reply.etag,
                            accept: [412]
                        )
                        if put.status == 412 { continue }
                        let stored = try client.decode(FlowDefaultsBody.self, put)
                        if output.json {
                            Output.raw(put.body)
                        } else {
                            Show.print(stored.flowDefaults)
                        }
                        return
                    }
                    throw CLIError(
                        "the flow defaults kept changing while ottoctl tried to set \(flow) (\(Self.attempts) attempts); try again"
                    )
                }
            }
        }
    }
}

extension OttoCtl {
    /// `provider/model`, or `inherit` for nil; anything else is a usage error that shows the format.
    static func parseModel(_ text: String) throws -> ModelRef? {
        if text.trimmingWhitespace == "inherit" { return nil }
        do {
            return try ModelRef(parsing: text)
        } catch {
            throw ValidationError(error.message + ", or inherit")
        }
    }
}
