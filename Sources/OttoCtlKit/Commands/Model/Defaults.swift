import ArgumentParser
import OttoContracts

extension OttoCtl.Model.Defaults {
    struct Show: APICommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show the model of each runtime flow.")

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run(in context: CommandContext) async throws {
            let answer = try await context.client.defaults()
            if output.json { return context.output.raw(answer.body) }
            // What an unset flow runs on: OpenCode's global default, or OpenCode's own choice.
            let effective = try? await context.client.effectiveModels().value
            Self.print(answer.value.flowDefaults, effective: effective, to: context.output)
        }

        static func print(_ defaults: FlowDefaults, effective: EffectiveModelsResponse? = nil, to output: Output) {
            let width = RuntimeModelFlow.allCases.map(\.rawValue.count).max() ?? 0
            output.lines(
                RuntimeModelFlow.allCases.map { flow in
                    var line = "\(Output.padded(flow.rawValue, to: width))  \(output.modelRef(defaults[flow]))"
                    if defaults[flow] == nil, let model = effective?.flows[flow.rawValue] {
                        switch model.source {
                        case .openCodeDefault: line += output.styled(" (chosen by OpenCode)", .dim)
                        case .globalDefault:
                            line += output.styled(
                                " (\(model.ref?.description ?? "?"), OpenCode's global default)", .dim)
                        case .unresolved: line += output.styled(" (no model available)", .red)
                        case .job, .flowDefault, .fallbackGlobalDefault: break
                        }
                    }
                    return line
                },
                none: "")
        }
    }

    struct Set: APICommand {
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

        func run(in context: CommandContext) async throws {
            let (flow, ref) = try parsed()
            for _ in 1...Self.attempts {
                let current = try await context.client.defaults()
                var defaults = current.value.flowDefaults
                defaults[flow] = ref
                // Another flow changed since the read: read again, so that change is kept.
                guard let stored = try await context.client.putDefaults(defaults, ifMatch: current.etag) else {
                    continue
                }
                if output.json { return context.output.raw(stored.body) }
                return Show.print(stored.value.flowDefaults, to: context.output)
            }
            throw CLIError(
                "the flow defaults kept changing while ottoctl tried to set \(flow) (\(Self.attempts) attempts); try again"
            )
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
