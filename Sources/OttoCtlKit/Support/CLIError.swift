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

    init(_ message: String, invalidInput: Bool = false) {
        self.message = message
        self.isInvalidInput = invalidInput
    }

    var errorDescription: String? { message }
    var description: String { message }
}

extension AsyncParsableCommand {
    /// Runs `body`, printing a `CLIError` on stderr and exiting with its status.
    func reportingErrors(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as CLIError {
            Output.error(error.message)
            throw ExitCode(error.isInvalidInput ? 64 : 1)
        }
    }
}
