import ArgumentParser
import Foundation
import OttoContracts
import OttoCore

extension Otto {
    struct DoctorCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "doctor",
            abstract: "Check every part of Otto and say how to fix what is not right.",
            discussion: """
                Reads the config, the token and the state database directly (read-only: it changes nothing), asks \
                OpenCode for its catalog, and asks a running Otto for its version. When a check fails, the report \
                is also written to <ottoHome>/logs/doctor/. Exit status: 0 all ok, 1 warnings, 2 failures. \
                `ottoctl doctor` runs this.
                """)

        @Flag(help: "Print the report as JSON.") var json = false
        @Flag(help: "Also a one-line prompt to each flow's model and a test notification to each channel.")
        var deep = false
        @Option(help: "Config file to use (default: $OTTO_CONFIG_PATH, else $HOME/.config/otto/config.jsonc).")
        var config: String?

        func run() async throws {
            var environment = ProcessInfo.processInfo.environment
            if let config { environment[OttoEnvironment.configPath] = config }
            let report = await Doctor.run(environment: environment, deep: deep)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                FileHandle.standardOutput.write((try? encoder.encode(report)) ?? Data())
                FileHandle.standardOutput.write(Data("\n".utf8))
            } else {
                var lines: [String] = []
                for check in report.checks {
                    let mark =
                        switch check.result {
                        case .ok: "ok  "
                        case .warn: "WARN"
                        case .fail: "FAIL"
                        }
                    lines.append("\(mark)  \(check.name): \(check.evidence)")
                    if let fix = check.fix, check.result != .ok { lines.append("      fix: \(fix)") }
                }
                if let incident = report.incident { lines.append("incident report: \(incident)") }
                FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            }
            if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
        }
    }
}
