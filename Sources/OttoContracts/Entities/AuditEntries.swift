#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One change to a job: who did what, and the job before and after (each a `Job` in its API encoding).
public struct TaskAuditEntry: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        case create, update, delete
        case runNow = "run_now"
    }

    /// Assigned by the database when the entry is stored.
    public var id: Int64?
    public var taskId: String
    public var action: Action
    public var lane: String
    public var actor: String?
    public var before: JSONText?
    public var after: JSONText?
    public var metadata: JSONText?
    public var createdAt: Int64

    public init(
        id: Int64? = nil,
        taskId: String,
        action: Action,
        lane: String,
        actor: String?,
        before: JSONText?,
        after: JSONText?,
        metadata: JSONText?,
        createdAt: Int64
    ) {
        self.id = id
        self.taskId = taskId
        self.action = action
        self.lane = lane
        self.actor = actor
        self.before = before
        self.after = after
        self.metadata = metadata
        self.createdAt = createdAt
    }
}

/// One operator command (a catalog refresh, a defaults update) and how it ended.
public struct CommandAuditEntry: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable { case success, failed, denied }

    /// Assigned by the database when the entry is stored.
    public var id: Int64?
    public var command: String
    /// Where the command came from (`external_api`; the TypeScript Otto also wrote `interactive`, `scheduled`).
    public var lane: String?
    public var status: Status
    public var errorMessage: String?
    public var metadata: JSONText?
    public var createdAt: Int64

    public init(
        id: Int64? = nil,
        command: String,
        lane: String? = "external_api",
        status: Status,
        errorMessage: String?,
        metadata: JSONText?,
        createdAt: Int64
    ) {
        self.id = id
        self.command = command
        self.lane = lane
        self.status = status
        self.errorMessage = errorMessage
        self.metadata = metadata
        self.createdAt = createdAt
    }
}
