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

    /// The one-line summary of an error body: `path: message` for one issue, `N fields are invalid: ...` for more.
    public var summary: String {
        issues.count == 1 ? issues[0].description : "\(issues.count) fields are invalid: " + message
    }
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

    enum CodingKeys: String, CodingKey { case error, message, details }

    /// `details` is left out, not null, when there are none.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(error, forKey: .error)
        try container.encode(message, forKey: .message)
        if let details { try container.encode(details, forKey: .details) }
    }
}
