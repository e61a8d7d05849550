import OttoContracts

/// What went wrong in a domain operation, in terms a client can act on. The server maps each case to an HTTP
/// status and error code in one place; nothing here knows about HTTP.
public enum DomainError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input is invalid; `details` locate each problem.
    case invalid(message: String, details: [FieldIssue])
    case notFound(String)
    /// The target is managed by the system and read-only.
    case forbiddenMutation(String)
    /// The target's current state does not allow the operation (a running job, a duplicate id).
    case conflict(String)
    /// The caller's version is stale.
    case preconditionFailed(String)
    /// OpenCode failed.
    case upstreamUnavailable(String)
    /// Too much of this work is in flight; try again after `retryAfterSeconds`.
    case busy(String, retryAfterSeconds: Int)
    /// Otto's own storage (the config file, the state database) could not be written; nothing changed.
    case storageUnavailable(String)

    public var message: String {
        switch self {
        case .invalid(let message, _), .notFound(let message), .forbiddenMutation(let message),
            .conflict(let message), .preconditionFailed(let message), .upstreamUnavailable(let message),
            .storageUnavailable(let message), .busy(let message, _):
            message
        }
    }

    public var description: String { message }

    /// Invalid input, summarised in one line (`FieldIssues.summary`) with every issue in `details`.
    public static func invalid(_ issues: [FieldIssue]) -> DomainError {
        .invalid(message: FieldIssues(issues).summary, details: issues)
    }
}
