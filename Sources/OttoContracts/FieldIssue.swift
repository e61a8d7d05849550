#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One problem with one field of some input, located by its dotted path (`flowDefaults.heartbeat`).
/// This is also the `details` entry of the API's error body.
public struct FieldIssue: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// A non-empty list of field problems, thrown or returned as one error.
public struct FieldIssues: Error, Equatable, Sendable, LocalizedError, CustomStringConvertible {
    public let issues: [FieldIssue]

    public init(_ issues: [FieldIssue]) { self.issues = issues }

    public var message: String { issues.map(\.description).joined(separator: "; ") }
    public var errorDescription: String? { message }
    public var description: String { message }
}

/// The one error body of the external API: `{"error", "message", "details"?}`.
public struct ErrorResponse: Codable, Equatable, Sendable {
    public let error: String
    public let message: String
    public let details: [FieldIssue]?

    public init(error: String, message: String, details: [FieldIssue]? = nil) {
        self.error = error
        self.message = message
        self.details = details
    }
}
