import ArgumentParser

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A failure `ottoctl` reports in one message a person can act on. `isInvalidInput` failures exit with 64
/// like usage errors; the rest with 1.
struct CLIError: Error, LocalizedError, CustomStringConvertible {
    let message: String
    let isInvalidInput: Bool
    /// Otto's API could not be reached at all (refused, timed out).
    let isUnreachable: Bool

    init(_ message: String, invalidInput: Bool = false, unreachable: Bool = false) {
        self.message = message
        self.isInvalidInput = invalidInput
        self.isUnreachable = unreachable
    }

    var errorDescription: String? { message }
    var description: String { message }
}

/// What a command works with: the API client and where its output goes.
struct CommandContext {
    let client: APIClient
    let output: Output
}

/// A command that talks to the API. Its `run(in:)` does the work; the default `run()` builds the real context
/// (client from the connection options and the environment, standard output), reports a failure once and sets
/// the exit status. Tests call `execute(environment:output:)` with captured output.
protocol APICommand: AsyncParsableCommand {
    var connection: ConnectionOptions { get }
    func run(in context: CommandContext) async throws
}

extension APICommand {
    func run() async throws {
        let status = await execute(environment: ProcessInfo.processInfo.environment, output: .standard)
        if status != 0 { throw ExitCode(status) }
    }

    /// Runs the command and returns its exit status: 0, 64 for input the server rejects as invalid, else 1.
    func execute(environment: [String: String], output: Output) async -> Int32 {
        await CLIError.exitStatus(reportingTo: output) {
            try await APIClient.with(connection, environment: environment, output: output) { client in
                try await run(in: CommandContext(client: client, output: output))
            }
        }
    }
}

extension CLIError {
    /// Runs `work`, reports a failure once on `output`, and returns the exit status: 0, 64 for invalid input, else 1.
    static func exitStatus(reportingTo output: Output, _ work: () async throws -> Void) async -> Int32 {
        do {
            try await work()
            return 0
        } catch let error as CLIError {
            output.error(error.message)
            return error.isInvalidInput ? 64 : 1
        } catch {
            output.error(String(describing: error))
            return 1
        }
    }
}
