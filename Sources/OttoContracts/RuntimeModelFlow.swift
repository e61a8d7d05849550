#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The runtime flows whose model the operator chooses.
public enum RuntimeModelFlow: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case interactiveAssistant
    case scheduledTasks
    case heartbeat
    case watchdogFailures

    /// Parses a flow name exactly as it is written in config files, API bodies and on the command line.
    public init(parsing text: String) throws(UnknownFlowError) {
        let trimmed = String(text.trimmingWhitespace)
        guard let flow = RuntimeModelFlow(rawValue: trimmed) else {
            throw UnknownFlowError(given: text)
        }
        self = flow
    }

    public var description: String { rawValue }

    /// The accepted names in their fixed order, for messages: `interactiveAssistant, scheduledTasks, ...`.
    public static var acceptedNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

public struct UnknownFlowError: Error, Equatable, Sendable, LocalizedError, CustomStringConvertible {
    public let given: String

    public init(given: String) { self.given = given }

    public var message: String {
        "unknown flow \(jsonQuoted(given)); expected one of \(RuntimeModelFlow.acceptedNames)"
    }
    public var errorDescription: String? { message }
    public var description: String { message }
}
