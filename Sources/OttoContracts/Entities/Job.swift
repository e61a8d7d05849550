#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A scheduled job: the one definition. Its `Codable` form is the API's (camelCase keys); the state database stores
/// it column for column (snake_case, see `Persistence/Records.swift`), and the audit trail's before/after snapshots
/// are this same encoding. A new field is added here and in a migration, and nowhere else.
/// Scheduler internals (the lock) are columns of `jobs` but not fields of a job.
public struct Job: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable { case idle, running, paused }
    public enum ScheduleType: String, Codable, Sendable, CaseIterable { case recurring, oneshot }
    /// `failed`: a one-shot whose run failed (the cause is in `terminalReason`); run-now may run it again.
    public enum TerminalState: String, Codable, Sendable, CaseIterable { case completed, failed, expired, cancelled }

    public var id: String
    public var type: String
    public var status: Status
    public var scheduleType: ScheduleType
    public var profileId: String?
    /// The job's own model, or nil to inherit its flow's default.
    public var modelRef: ModelRef?
    /// First (or only) run, epoch milliseconds.
    public var runAt: Int64?
    public var cadenceMinutes: Int?
    /// A JSON object, or nil.
    public var payload: JSONText?
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
        modelRef: ModelRef? = nil,
        runAt: Int64? = nil,
        cadenceMinutes: Int? = nil,
        payload: JSONText? = nil,
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

    /// Jobs Otto manages itself (ids starting `system-`, heartbeat and watchdog jobs) are read-only to operators.
    public var isSystemManaged: Bool {
        id.hasPrefix("system-") || type == "heartbeat" || type == "watchdog_failures"
    }

    /// Whether an operator may change the job now: not Otto's own, and not in the middle of a run.
    public var isMutable: Bool { !isSystemManaged && status != .running }

    /// The runtime flow whose default the job inherits.
    public var flow: RuntimeModelFlow {
        switch type {
        case "heartbeat": .heartbeat
        case "watchdog_failures": .watchdogFailures
        default: .scheduledTasks
        }
    }
}

/// One execution of a job, with the model it ran on and the rule that chose it.
public struct JobRun: Codable, Sendable, Equatable {
    /// `running` until the run ends (`finishedAt` nil); then `success`, `failed` or `skipped`.
    public enum Status: String, Codable, Sendable, CaseIterable { case running, success, failed, skipped }

    public var id: String
    public var jobId: String
    public var scheduledFor: Int64
    public var startedAt: Int64
    public var finishedAt: Int64?
    public var status: Status
    public var errorCode: String?
    public var errorMessage: String?
    public var result: JSONText?
    public var modelRef: ModelRef?
    public var modelSource: ModelSource?
    /// The model that actually answered, as OpenCode reported it (it may differ from `modelRef` when OpenCode
    /// substituted one, and is OpenCode's own choice when `modelSource` is `opencode_default`); nil when no answer
    /// came.
    public var answeredBy: ModelRef?
    /// The OpenCode session the run prompted, if it got that far.
    public var sessionId: String?
    /// How many times the prompt was sent (retries of transient OpenCode failures included); 0 if it never was.
    public var attempts: Int
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
        result: JSONText? = nil,
        modelRef: ModelRef? = nil,
        modelSource: ModelSource? = nil,
        answeredBy: ModelRef? = nil,
        sessionId: String? = nil,
        attempts: Int = 0,
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
        self.answeredBy = answeredBy
        self.sessionId = sessionId
        self.attempts = attempts
        self.createdAt = createdAt
    }
}

/// The bounds of a schedule. Every value Otto stores or sends stays inside them, so no schedule computation can
/// overflow and no number Otto sends is above 2^53 (which JavaScript clients cannot read exactly).
extension Job {
    /// 3,650 days.
    public static let cadenceMinutesRange: ClosedRange<Int> = 1...5_256_000
    /// Epoch milliseconds from 1970 to the end of the year 9999.
    public static let timeRange: ClosedRange<Int64> = 0...253_402_300_799_999

    /// `time` inside `timeRange`.
    public static func clampedTime(_ time: Int64) -> Int64 {
        min(max(time, timeRange.lowerBound), timeRange.upperBound)
    }
}
