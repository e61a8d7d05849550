import ArgumentParser
import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension OttoCtl {
    /// The checks need Otto's own code (config validation, the database), which ottoctl does not link: it runs
    /// `otto doctor`, found beside ottoctl or on PATH, with the same output and exit status.
    struct Doctor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every part of Otto and say how to fix what is not right (runs otto doctor).",
            discussion: "Exit status: 0 all ok, 1 warnings, 2 failures; 127 when no otto binary is found.")

        @Flag(help: "Print the report as JSON.") var json = false
        @Flag(help: "Also a one-line prompt to each flow's model and a test notification to each channel.")
        var deep = false

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            guard let otto = ServiceUnit.ottoExecutable(environment) else {
                Output.standard.error(
                    "cannot find the otto binary beside ottoctl or on PATH: install it to run the checks")
                throw ExitCode(127)
            }
            let result = Spawn.run(
                [otto, "doctor"] + (json ? ["--json"] : []) + (deep ? ["--deep"] : []), environment: environment,
                capture: false)
            if result.status != 0 { throw ExitCode(result.status) }
        }
    }
}
