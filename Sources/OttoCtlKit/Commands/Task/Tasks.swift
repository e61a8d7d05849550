import ArgumentParser
import OttoContracts

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
    struct List: APICommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the tasks with their model and what they will run on.")

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run(in context: CommandContext) async throws {
            // Fetched a page at a time, so a large listing never asks the server for everything at once.
            let jobs = try await context.client.allJobs()
            if output.json {
                return context.output.raw(try CompactJSONEncoder().encode(JobListResponse(jobs: jobs)))
            }
            let lines = jobs.map { body in
                let job = body.job
                let state = job.terminalState?.rawValue ?? job.status.rawValue
                return "\(job.id)  \(job.type)  \(state)  model \(context.output.modelRef(job.modelRef))  "
                    + "runs on \(Self.describe(body.effectiveModel, context.output))"
            }
            context.output.lines(lines, none: "no tasks")
        }

        /// `openai/gpt-5 (job)`; a fallback stands out in yellow and no model at all in red on a terminal.
        static func describe(_ model: EffectiveModel, _ output: Output) -> String {
            let text = "\(model.ref?.description ?? "nothing (no model available)") (\(model.source.rawValue))"
            switch model.source {
            case .fallbackGlobalDefault: return output.styled(text, .yellow)
            case .unresolved: return output.styled(text, .red)
            case .job, .flowDefault, .globalDefault: return text
            }
        }
    }

    struct Show: APICommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one task.")

        @Argument(help: ArgumentHelp("The task's id.", valueName: "task-id"))
        var taskId: String

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run(in context: CommandContext) async throws {
            let answer = try await context.client.job(id: taskId)
            if output.json { return context.output.raw(answer.body) }
            let body = answer.value.job
            let job = body.job
            let rows: [(String, String)] = [
                ("id", job.id), ("type", job.type), ("status", job.status.rawValue),
                ("schedule", job.scheduleType.rawValue + (job.cadenceMinutes.map { ", every \($0) min" } ?? "")),
                ("modelRef", context.output.modelRef(job.modelRef)),
                ("effective model", List.describe(body.effectiveModel, context.output)),
                ("managed by", body.managedBy.rawValue + (body.isMutable ? "" : " (read-only)")),
                ("next run", Output.when(job.nextRunAt)), ("last run", Output.when(job.lastRunAt)),
                ("terminal", job.terminalState.map { "\($0.rawValue) (\(job.terminalReason ?? ""))" } ?? "no"),
            ]
            context.output.lines(rows.map { Output.padded($0.0, to: 16) + $0.1 }, none: "")
        }
    }

    struct SetModel: APICommand {
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

        func run(in context: CommandContext) async throws {
            let patched = try await context.client.setJobModel(id: taskId, to: try OttoCtl.parseModel(model))
            if output.json { return context.output.raw(patched.body) }
            let body = try await context.client.job(id: taskId).value.job
            context.output.line("\(body.job.id): modelRef \(context.output.modelRef(body.job.modelRef))")
            context.output.line("effective model: \(List.describe(body.effectiveModel, context.output))")
        }
    }
}
