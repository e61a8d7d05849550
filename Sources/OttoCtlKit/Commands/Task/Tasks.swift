import ArgumentParser
import OttoContracts

extension OttoCtl {
    /// `ottoctl task ...` (named `Tasks` in Swift, where `Task` is the concurrency type).
    struct Tasks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "task",
            abstract: "Scheduled tasks (jobs) and the model each one uses.",
            subcommands: [List.self, Show.self, SetModel.self, Runs.self, RunNow.self]
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
            switch model.source {
            case .openCodeDefault: return "the model chosen by OpenCode (\(model.source.rawValue))"
            case .unresolved: return output.styled("nothing (no model available) (\(model.source.rawValue))", .red)
            case .fallbackGlobalDefault:
                return output.styled("\(model.ref?.description ?? "?") (\(model.source.rawValue))", .yellow)
            case .job, .flowDefault, .globalDefault:
                return "\(model.ref?.description ?? "?") (\(model.source.rawValue))"
            }
        }
    }

    struct Show: APICommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one task.")

        @Argument(help: ArgumentHelp("The task's id.", valueName: "task-id"))
        var taskId: String

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { try OttoCtl.checkLength(taskId, "task-id") }

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
            try OttoCtl.checkLength(taskId, "task-id")
            _ = try OttoCtl.parseModel(model)
        }

        func run(in context: CommandContext) async throws {
            _ = try await context.client.setJobModel(id: taskId, to: try OttoCtl.parseModel(model))
            // Like every --json, the resource itself: the job as it is now.
            let answer = try await context.client.job(id: taskId)
            if output.json { return context.output.raw(answer.body) }
            let body = answer.value.job
            context.output.line("\(body.job.id): modelRef \(context.output.modelRef(body.job.modelRef))")
            context.output.line("effective model: \(List.describe(body.effectiveModel, context.output))")
        }
    }
}

extension OttoCtl.Tasks {
    struct Runs: APICommand {
        static let configuration = CommandConfiguration(
            commandName: "runs",
            abstract: "A task's runs, newest first: when, status, the model used and why, and any error.")

        @Argument(help: ArgumentHelp("The task's id.", valueName: "task-id"))
        var taskId: String

        @Option(help: "How many runs to show (1-200).")
        var limit = 20

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            try OttoCtl.checkLength(taskId, "task-id")
            guard (1...200).contains(limit) else { throw ValidationError("--limit must be from 1 to 200") }
        }

        func run(in context: CommandContext) async throws {
            let answer = try await context.client.runs(jobId: taskId, limit: limit)
            if output.json { return context.output.raw(answer.body) }
            let lines = answer.value.runs.map { run in
                var line = Output.localTime(run.startedAt) + "  " + Self.status(run, context.output)
                if let source = run.modelSource {
                    let named =
                        source == .fallbackGlobalDefault
                        ? context.output.styled(source.rawValue, .yellow) : source.rawValue
                    line += "  \(run.modelRef?.description ?? "chosen by OpenCode") (\(named))"
                }
                if let answeredBy = run.answeredBy, answeredBy != run.modelRef {
                    // OpenCode substituted a model (yellow), or chose one itself.
                    let text = "answered by \(answeredBy)"
                    line += "  " + (run.modelRef == nil ? text : context.output.styled(text, .yellow))
                }
                if run.attempts > 1 { line += "  \(run.attempts) attempts" }
                if let code = run.errorCode { line += "  \(code): \(run.errorMessage ?? "")" }
                return line
            }
            context.output.lines(lines, none: "no runs yet")
            if answer.value.total > answer.value.runs.count {
                context.output.trace("(\(answer.value.runs.count) of \(answer.value.total) runs; --limit shows more)")
            }
        }

        static func status(_ run: JobRun, _ output: Output) -> String {
            let text = Output.padded(run.status.rawValue, to: 7)
            switch run.status {
            case .failed: return output.styled(text, .red)
            case .skipped, .running: return output.styled(text, .dim)
            case .success: return text
            }
        }
    }

    struct RunNow: APICommand {
        static let configuration = CommandConfiguration(
            commandName: "run-now",
            abstract: "Run a task now (also Otto's own heartbeat and watchdog, or a finished one-shot once more).")

        @Argument(help: ArgumentHelp("The task's id.", valueName: "task-id"))
        var taskId: String

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws { try OttoCtl.checkLength(taskId, "task-id") }

        func run(in context: CommandContext) async throws {
            let answer = try await context.client.runNow(jobId: taskId)
            if output.json { return context.output.raw(answer.body) }
            context.output.line(
                "\(answer.value.id): due now; see its run with `ottoctl task runs \(answer.value.id)`")
        }
    }
}
