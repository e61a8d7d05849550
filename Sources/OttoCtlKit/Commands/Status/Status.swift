import ArgumentParser
import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension OttoCtl {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "The state of every part of the running Otto.",
            discussion: """
                Exit status: 0 when Otto reports ok, 1 when it is degraded or failing (the reasons are listed), \
                2 when Otto cannot be reached.
                """)

        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let status = await execute(environment: ProcessInfo.processInfo.environment, output: .standard)
            if status != 0 { throw ExitCode(status) }
        }

        func execute(environment: [String: String], output: Output) async -> Int32 {
            var level: SystemStatus.Level = .ok
            var unreachable = false
            let status = await CLIError.exitStatus(reportingTo: output) {
                do {
                    try await APIClient.with(connection, environment: environment, output: output) { client in
                        let answer = try await client.systemStatus()
                        level = answer.value.status
                        if self.output.json {
                            output.raw(answer.body)
                        } else {
                            Self.show(answer.value, on: output)
                        }
                    }
                } catch let error as CLIError where error.isUnreachable {
                    unreachable = true
                    throw CLIError(
                        error.message
                            + "\nStart it with `ottoctl start` (the user service) or `otto serve` in a terminal.",
                        unreachable: true)
                }
            }
            if status != 0 { return unreachable ? 2 : status }
            return level == .ok ? 0 : 1
        }

        static func show(_ status: SystemStatus, on output: Output) {
            let level: String =
                switch status.status {
                case .ok: output.styled("ok", .green)
                case .degraded: output.styled("degraded", .yellow)
                case .failing: output.styled("failing", .red)
                }
            output.line(
                "Otto \(status.otto.version): \(level), up \(Self.span(status.otto.uptimeSeconds)), pid \(status.otto.pid), listening on \(status.otto.listen)"
            )
            for reason in status.reasons { output.line("  - " + Output.escapingControls(reason)) }
            let openCode = status.opencode
            let reach: String =
                switch openCode.reachable {
                case true?: "reachable"
                case false?: output.styled("unreachable", .red)
                case nil: "not called yet"
                }
            let version = openCode.version.map { " \($0)" } ?? ""
            let proto = openCode.protocol.map { " (protocol \($0))" } ?? ""
            output.line(
                "OpenCode\(version) at \(openCode.url)\(proto): \(reach)"
                    + (openCode.checkedAt.map { ", last call \(Output.when($0))" } ?? ""))
            if let error = openCode.lastError { output.line("  last error: " + Output.escapingControls(error)) }
            output.line(
                "Catalog:     \(openCode.catalog.count) models from \(openCode.catalog.source.rawValue), "
                    + "fetched \(Output.when(openCode.catalog.fetchedAt))")
            let scheduler = status.scheduler
            let next = scheduler.nextDue.map { "\($0.jobId) \(Output.when($0.at))" } ?? "none"
            output.line(
                "Scheduler:   \(scheduler.runningRuns) running, next \(next), last pass \(Output.when(scheduler.lastPassAt))"
            )
            let runs = scheduler.runsLast24h
            output.line(
                "Runs (24 h): \(runs.success) success, "
                    + (runs.failed > 0 ? output.styled("\(runs.failed) failed", .red) : "0 failed")
                    + ", \(runs.skipped) skipped; \(scheduler.pastLease) past their lease, "
                    + "\(scheduler.recoveredLeases) taken back since start")
            for (name, job) in [("Heartbeat", status.heartbeat), ("Watchdog", status.watchdog)] {
                let last = job.lastRun.map { "last \($0.status) \(Output.when($0.at))" } ?? "never run"
                output.line(
                    Output.padded(name + ":", to: 13) + (job.enabled ? "on" : "off") + ", \(last), next "
                        + Output.when(job.nextRunAt))
            }
            output.line(
                "Notify:      webhook \(status.notifications.webhook ?? "none"), "
                    + "\(status.notifications.failedLast24h) failed in 24 h")
            let database = status.database
            output.line(
                "Database:    \(database.path), \(database.sizeBytes / 1024) KiB + \(database.walBytes / 1024) KiB WAL, "
                    + "schema \(database.schemaVersion ?? "unknown")\(database.adopted ? ", adopted" : "")")
        }

        static func span(_ seconds: Int64) -> String {
            if seconds < 120 { return "\(seconds) s" }
            if seconds < 7200 { return "\(seconds / 60) min" }
            if seconds < 172_800 { return "\(seconds / 3600) h" }
            return "\(seconds / 86_400) days"
        }
    }
}
