import ArgumentParser
import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension OttoCtl {
    /// `ottoctl task ...` (named `Tasks` in Swift, where `Task` is the concurrency type).
    struct Tasks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "task",
            abstract: "Scheduled tasks (jobs) and the model each one uses.",
            subcommands: [List.self, Show.self, SetModel.self]
        )
    }
}

extension OttoCtl.Tasks {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the tasks with their model and what they will run on.")

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                try await APIClient.with(connection) { client in
                    let (list, reply) = try await client.get("/external/jobs", as: JobListResponse.self)
                    if output.json {
                        Output.raw(reply.body)
                        return
                    }
                    let lines = list.jobs.map { job in
                        let state = job.terminalState ?? job.status
                        return "\(job.id)  \(job.type)  \(state)  model \(Output.modelRef(job.modelRef))  "
                            + "runs on \(Self.describe(job.effectiveModel))"
                    }
                    Output.lines(lines, none: "no tasks")
                }
            }
        }

        /// `openai/gpt-5 (job)`; a fallback stands out in yellow and no model at all in red on a terminal.
        static func describe(_ model: EffectiveModel) -> String {
            let text = "\(model.ref ?? "nothing (no model available)") (\(model.source.rawValue))"
            switch model.source {
            case .fallbackGlobalDefault: return Output.styled(text, .yellow)
            case .unresolved: return Output.styled(text, .red)
            case .job, .flowDefault, .globalDefault: return text
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one task.")

        @Argument(help: ArgumentHelp("The task's id.", valueName: "task-id"))
        var taskId: String

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                try await APIClient.with(connection) { client in
                    let (body, reply) = try await client.get(
                        "/external/jobs/\(PercentEncoding.pathSegment(taskId))",
                        as: JobResponse.self
                    )
                    if output.json {
                        Output.raw(reply.body)
                        return
                    }
                    let job = body.job
                    let rows: [(String, String)] = [
                        ("id", job.id), ("type", job.type), ("status", job.status),
                        ("schedule", job.scheduleType + (job.cadenceMinutes.map { ", every \($0) min" } ?? "")),
                        ("modelRef", Output.modelRef(job.modelRef)),
                        ("effective model", List.describe(job.effectiveModel)),
                        ("managed by", job.managedBy + (job.isMutable ? "" : " (read-only)")),
                        ("next run", Output.when(job.nextRunAt)), ("last run", Output.when(job.lastRunAt)),
                        ("terminal", job.terminalState.map { "\($0) (\(job.terminalReason ?? ""))" } ?? "no"),
                    ]
                    for (name, value) in rows {
                        Output.line(Output.padded(name, to: 16) + value)
                    }
                }
            }
        }
    }

    struct SetModel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-model",
            abstract: "Choose the model one task runs on, or inherit the scheduledTasks default.")

        @Argument(help: ArgumentHelp("The task's id.", valueName: "task-id"))
        var taskId: String

        @Argument(help: ArgumentHelp("provider/model, or inherit.", valueName: "model"))
        var model: String

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            _ = try OttoCtl.parseModel(model)
        }

        func run() async throws {
            let ref = try OttoCtl.parseModel(model)
            try await reportingErrors {
                try await APIClient.with(connection) { client in
                    let path = "/external/jobs/\(PercentEncoding.pathSegment(taskId))"
                    let body = ref.map { #"{"modelRef": \#(jsonQuoted($0.description))}"# } ?? #"{"modelRef": null}"#
                    let patched = try await client.send(.PATCH, path, json: Data(body.utf8))
                    let (job, reply) = try await client.get(path, as: JobResponse.self)
                    if output.json {
                        Output.raw(patched.body)
                        _ = reply
                        return
                    }
                    Output.line("\(job.job.id): modelRef \(Output.modelRef(job.job.modelRef))")
                    Output.line("effective model: \(List.describe(job.job.effectiveModel))")
                }
            }
        }
    }
}
