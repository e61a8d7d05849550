import GRDB

/// One row of `jobs`. Stays inside OttoCore; other modules see `Job`.
struct JobRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "jobs"

    var id: String
    var type: String
    var status: String
    var scheduleType: String
    var profileId: String?
    var modelRef: String?
    var runAt: Int64?
    var cadenceMinutes: Int?
    var payload: String?
    var lastRunAt: Int64?
    var nextRunAt: Int64?
    var terminalState: String?
    var terminalReason: String?
    var lockToken: String?
    var lockExpiresAt: Int64?
    var createdAt: Int64
    var updatedAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, type, status
        case scheduleType = "schedule_type"
        case profileId = "profile_id"
        case modelRef = "model_ref"
        case runAt = "run_at"
        case cadenceMinutes = "cadence_minutes"
        case payload
        case lastRunAt = "last_run_at"
        case nextRunAt = "next_run_at"
        case terminalState = "terminal_state"
        case terminalReason = "terminal_reason"
        case lockToken = "lock_token"
        case lockExpiresAt = "lock_expires_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let type = Column(CodingKeys.type)
        static let modelRef = Column(CodingKeys.modelRef)
        static let updatedAt = Column(CodingKeys.updatedAt)
        static let createdAt = Column(CodingKeys.createdAt)
    }
}

struct JobRunRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "job_runs"

    var id: String
    var jobId: String
    var scheduledFor: Int64
    var startedAt: Int64
    var finishedAt: Int64?
    var status: String
    var errorCode: String?
    var errorMessage: String?
    var resultJson: String?
    var modelRef: String?
    var modelSource: String?
    var createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case id
        case jobId = "job_id"
        case scheduledFor = "scheduled_for"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case status
        case errorCode = "error_code"
        case errorMessage = "error_message"
        case resultJson = "result_json"
        case modelRef = "model_ref"
        case modelSource = "model_source"
        case createdAt = "created_at"
    }

    enum Columns {
        static let jobId = Column(CodingKeys.jobId)
        static let createdAt = Column(CodingKeys.createdAt)
        static let id = Column(CodingKeys.id)
    }
}

struct TaskAuditRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "task_audit"

    var id: Int64?
    var taskId: String
    var action: String
    var lane: String
    var actor: String?
    var beforeJson: String?
    var afterJson: String?
    var metadataJson: String?
    var createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case id
        case taskId = "task_id"
        case action, lane, actor
        case beforeJson = "before_json"
        case afterJson = "after_json"
        case metadataJson = "metadata_json"
        case createdAt = "created_at"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let taskId = Column(CodingKeys.taskId)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

struct CommandAuditRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "command_audit"

    var id: Int64?
    var command: String
    var status: String
    var errorMessage: String?
    var metadataJson: String?
    var createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, command, status
        case errorMessage = "error_message"
        case metadataJson = "metadata_json"
        case createdAt = "created_at"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let command = Column(CodingKeys.command)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
