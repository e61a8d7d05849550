import OttoContracts

/// A scheduled job, as the rest of Otto sees it (lock fields stay inside the database layer).
public struct Job: Sendable, Equatable {
    public enum Status: String, Sendable, Codable { case idle, running, paused }
    public enum ScheduleType: String, Sendable, Codable { case recurring, oneshot }
    public enum TerminalState: String, Sendable, Codable { case completed, expired, cancelled }

    public var id: String
    public var type: String
    public var status: Status
    public var scheduleType: ScheduleType
    public var profileId: String?
    /// `provider/model`, or nil to inherit the `scheduledTasks` flow default.
    public var modelRef: String?
    public var runAt: Int64?
    public var cadenceMinutes: Int?
    /// JSON text of an object, or nil.
    public var payload: String?
    public var lastRunAt: Int64?
    public var nextRunAt: Int64?
    public var terminalState: TerminalState?
    public var terminalReason: String?
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        id: String,
        type: String,
        status: Status = .idle,
        scheduleType: ScheduleType,
        profileId: String? = nil,
        modelRef: String? = nil,
        runAt: Int64? = nil,
        cadenceMinutes: Int? = nil,
        payload: String? = nil,
        lastRunAt: Int64? = nil,
        nextRunAt: Int64? = nil,
        terminalState: TerminalState? = nil,
        terminalReason: String? = nil,
        createdAt: Int64,
        updatedAt: Int64
    ) {
        self.id = id
        self.type = type
        self.status = status
        self.scheduleType = scheduleType
        self.profileId = profileId
        self.modelRef = modelRef
        self.runAt = runAt
        self.cadenceMinutes = cadenceMinutes
        self.payload = payload
        self.lastRunAt = lastRunAt
        self.nextRunAt = nextRunAt
        self.terminalState = terminalState
        self.terminalReason = terminalReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One execution of a job, with the model it ran on and the rule that chose it.
public struct JobRun: Sendable, Equatable {
    public enum Status: String, Sendable, Codable { case success, failed, skipped }

    public var id: String
    public var jobId: String
    public var scheduledFor: Int64
    public var startedAt: Int64
    public var finishedAt: Int64?
    public var status: Status
    public var errorCode: String?
    public var errorMessage: String?
    /// JSON text, or nil.
    public var result: String?
    public var modelRef: String?
    public var modelSource: ModelSource?
    public var createdAt: Int64

    public init(
        id: String,
        jobId: String,
        scheduledFor: Int64,
        startedAt: Int64,
        finishedAt: Int64? = nil,
        status: Status,
        errorCode: String? = nil,
        errorMessage: String? = nil,
        result: String? = nil,
        modelRef: String? = nil,
        modelSource: ModelSource? = nil,
        createdAt: Int64
    ) {
        self.id = id
        self.jobId = jobId
        self.scheduledFor = scheduledFor
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.result = result
        self.modelRef = modelRef
        self.modelSource = modelSource
        self.createdAt = createdAt
    }
}

/// One change to a job: who did what, and the job before and after (JSON text).
public struct TaskAuditEntry: Sendable, Equatable {
    public enum Action: String, Sendable, Codable {
        case create, update, delete
        case runNow = "run_now"
    }

    public var id: Int64?
    public var taskId: String
    public var action: Action
    public var lane: String
    public var actor: String?
    public var before: String?
    public var after: String?
    public var metadata: String?
    public var createdAt: Int64

    public init(
        id: Int64? = nil,
        taskId: String,
        action: Action,
        lane: String,
        actor: String?,
        before: String?,
        after: String?,
        metadata: String?,
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
public struct CommandAuditEntry: Sendable, Equatable {
    public enum Status: String, Sendable, Codable { case success, failed, denied }

    public var id: Int64?
    public var command: String
    public var status: Status
    public var errorMessage: String?
    /// JSON text, or nil.
    public var metadata: String?
    public var createdAt: Int64

    public init(
        id: Int64? = nil,
        command: String,
        status: Status,
        errorMessage: String?,
        metadata: String?,
        createdAt: Int64
    ) {
        self.id = id
        self.command = command
        self.status = status
        self.errorMessage = errorMessage
        self.metadata = metadata
        self.createdAt = createdAt
    }
}
