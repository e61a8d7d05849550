import GRDB
import OttoContracts

/// Why a job could not be stored.
public enum JobStoreError: Error, Equatable, Sendable {
    case duplicateId(String)
    case notFound(String)
}

extension AppDatabase {
    public func insertJob(_ job: Job) async throws {
        do {
            try await writer.write { db in try JobRecord(job).insert(db) }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw JobStoreError.duplicateId(job.id)
        }
    }

    public func job(id: String) async throws -> Job? {
        try await writer.read { db in try JobRecord.fetchOne(db, key: id).map(Job.init) }
    }

    /// All jobs, optionally of one type, oldest first.
    public func jobs(type: String? = nil) async throws -> [Job] {
        try await writer.read { db in
            var request = JobRecord.order(JobRecord.Columns.createdAt, JobRecord.Columns.id)
            if let type { request = request.filter(JobRecord.Columns.type == type) }
            return try request.fetchAll(db).map(Job.init)
        }
    }

    /// One page of jobs in creation order, starting after `cursor` (the last job of the previous page), so a
    /// listing of many jobs never holds them all in memory at once.
    public func jobsPage(type: String?, after cursor: Job?, limit: Int) async throws -> [Job] {
        try await writer.read { db in
            var request = JobRecord.order(JobRecord.Columns.createdAt, JobRecord.Columns.id).limit(limit)
            if let type { request = request.filter(JobRecord.Columns.type == type) }
            if let cursor {
                // A row-value comparison, which SQLite answers from the jobs_by_creation index.
                request = request.filter(sql: "(created_at, id) > (?, ?)", arguments: [cursor.createdAt, cursor.id])
            }
            return try request.fetchAll(db).map(Job.init)
        }
    }

    /// Sets a job's `modelRef` (nil = inherit) and returns the job before and after the change.
    @discardableResult
    public func updateJobModelRef(id: String, modelRef: String?, at now: Int64) async throws -> (
        before: Job, after: Job
    ) {
        try await writer.write { db in
            guard var record = try JobRecord.fetchOne(db, key: id) else { throw JobStoreError.notFound(id) }
            let before = Job(record)
            record.modelRef = modelRef
            record.updatedAt = now
            try record.update(db)
            return (before, Job(record))
        }
    }

    public func insertRun(_ run: JobRun) async throws {
        try await writer.write { db in try JobRunRecord(run).insert(db) }
    }

    /// A page of a job's runs, newest first, and how many runs the job has in all.
    public func runs(jobId: String, limit: Int, offset: Int) async throws -> (total: Int, runs: [JobRun]) {
        try await writer.read { db in
            let all = JobRunRecord.filter(JobRunRecord.Columns.jobId == jobId)
            let total = try all.fetchCount(db)
            let page = try all.order(JobRunRecord.Columns.createdAt.desc, JobRunRecord.Columns.id.desc)
                .limit(limit, offset: offset)
                .fetchAll(db)
            return (total, page.map(JobRun.init))
        }
    }

    @discardableResult
    public func appendTaskAudit(_ entry: TaskAuditEntry) async throws -> TaskAuditEntry {
        try await writer.write { db in
            var record = TaskAuditRecord(entry)
            try record.insert(db)
            return TaskAuditEntry(record)
        }
    }

    /// A job's audit entries, newest first.
    public func taskAudit(taskId: String, limit: Int) async throws -> [TaskAuditEntry] {
        try await writer.read { db in
            try TaskAuditRecord.filter(TaskAuditRecord.Columns.taskId == taskId)
                .order(TaskAuditRecord.Columns.id.desc)
                .limit(limit)
                .fetchAll(db)
                .map(TaskAuditEntry.init)
        }
    }

    @discardableResult
    public func appendCommandAudit(_ entry: CommandAuditEntry) async throws -> CommandAuditEntry {
        try await writer.write { db in
            var record = CommandAuditRecord(entry)
            try record.insert(db)
            return CommandAuditEntry(record)
        }
    }

    /// Command audit entries, newest first, optionally for one command.
    public func commandAudit(limit: Int, command: String? = nil) async throws -> [CommandAuditEntry] {
        try await writer.read { db in
            var request = CommandAuditRecord.order(CommandAuditRecord.Columns.id.desc).limit(limit)
            if let command { request = request.filter(CommandAuditRecord.Columns.command == command) }
            return try request.fetchAll(db).map(CommandAuditEntry.init)
        }
    }
}

extension JobRecord {
    init(_ job: Job) {
        self.init(
            id: job.id,
            type: job.type,
            status: job.status.rawValue,
            scheduleType: job.scheduleType.rawValue,
            profileId: job.profileId,
            modelRef: job.modelRef,
            runAt: job.runAt,
            cadenceMinutes: job.cadenceMinutes,
            payload: job.payload,
            lastRunAt: job.lastRunAt,
            nextRunAt: job.nextRunAt,
            terminalState: job.terminalState?.rawValue,
            terminalReason: job.terminalReason,
            lockToken: nil,
            lockExpiresAt: nil,
            createdAt: job.createdAt,
            updatedAt: job.updatedAt
        )
    }
}

extension Job {
    init(_ record: JobRecord) {
        self.init(
            id: record.id,
            type: record.type,
            // The schema's CHECK constraints guarantee these values.
            status: Status(rawValue: record.status) ?? .idle,
            scheduleType: ScheduleType(rawValue: record.scheduleType) ?? .oneshot,
            profileId: record.profileId,
            modelRef: record.modelRef,
            runAt: record.runAt,
            cadenceMinutes: record.cadenceMinutes,
            payload: record.payload,
            lastRunAt: record.lastRunAt,
            nextRunAt: record.nextRunAt,
            terminalState: record.terminalState.flatMap(TerminalState.init(rawValue:)),
            terminalReason: record.terminalReason,
            createdAt: record.createdAt,
            updatedAt: record.updatedAt
        )
    }
}

extension JobRunRecord {
    init(_ run: JobRun) {
        self.init(
            id: run.id,
            jobId: run.jobId,
            scheduledFor: run.scheduledFor,
            startedAt: run.startedAt,
            finishedAt: run.finishedAt,
            status: run.status.rawValue,
            errorCode: run.errorCode,
            errorMessage: run.errorMessage,
            resultJson: run.result,
            modelRef: run.modelRef,
            modelSource: run.modelSource?.rawValue,
            createdAt: run.createdAt
        )
    }
}

extension JobRun {
    init(_ record: JobRunRecord) {
        self.init(
            id: record.id,
            jobId: record.jobId,
            scheduledFor: record.scheduledFor,
            startedAt: record.startedAt,
            finishedAt: record.finishedAt,
            status: Status(rawValue: record.status) ?? .failed,
            errorCode: record.errorCode,
            errorMessage: record.errorMessage,
            result: record.resultJson,
            modelRef: record.modelRef,
            modelSource: record.modelSource.flatMap(ModelSource.init(rawValue:)),
            createdAt: record.createdAt
        )
    }
}

extension TaskAuditRecord {
    init(_ entry: TaskAuditEntry) {
        self.init(
            id: entry.id,
            taskId: entry.taskId,
            action: entry.action.rawValue,
            lane: entry.lane,
            actor: entry.actor,
            beforeJson: entry.before,
            afterJson: entry.after,
            metadataJson: entry.metadata,
            createdAt: entry.createdAt
        )
    }
}

extension TaskAuditEntry {
    init(_ record: TaskAuditRecord) {
        self.init(
            id: record.id,
            taskId: record.taskId,
            action: Action(rawValue: record.action) ?? .update,
            lane: record.lane,
            actor: record.actor,
            before: record.beforeJson,
            after: record.afterJson,
            metadata: record.metadataJson,
            createdAt: record.createdAt
        )
    }
}

extension CommandAuditRecord {
    init(_ entry: CommandAuditEntry) {
        self.init(
            id: entry.id,
            command: entry.command,
            status: entry.status.rawValue,
            errorMessage: entry.errorMessage,
            metadataJson: entry.metadata,
            createdAt: entry.createdAt
        )
    }
}

extension CommandAuditEntry {
    init(_ record: CommandAuditRecord) {
        self.init(
            id: record.id,
            command: record.command,
            status: Status(rawValue: record.status) ?? .failed,
            errorMessage: record.errorMessage,
            metadata: record.metadataJson,
            createdAt: record.createdAt
        )
    }
}

extension AppDatabase {
    /// Reads a job, lets `change` decide its new state (or throw to refuse), stores it and appends one audit
    /// entry with the job before and after, all in one transaction.
    public func changeJob(
        id: String,
        audit: (action: TaskAuditEntry.Action, lane: String, actor: String?),
        at now: Int64,
        _ change: @escaping @Sendable (Job) throws -> Job
    ) async throws -> (before: Job, after: Job) {
        try await batcher.write { db in
            // Cached statements: this runs for every job change, and building the query each time (SQL generation
            // plus an SQLite prepare) was most of the writer's work.
            let select = try db.cachedStatement(sql: "SELECT * FROM jobs WHERE id = ?")
            guard let record = try JobRecord.fetchOne(select, arguments: [id]) else {
                throw JobStoreError.notFound(id)
            }
            let before = Job(record)
            var after = try change(before)
            after.updatedAt = now
            try db.cachedStatement(
                sql: """
                    UPDATE jobs SET type = ?, status = ?, schedule_type = ?, profile_id = ?, model_ref = ?, run_at = ?,
                      cadence_minutes = ?, payload = ?, last_run_at = ?, next_run_at = ?, terminal_state = ?,
                      terminal_reason = ?, updated_at = ?
                    WHERE id = ?
                    """
            ).execute(arguments: [
                after.type, after.status.rawValue, after.scheduleType.rawValue, after.profileId, after.modelRef,
                after.runAt, after.cadenceMinutes, after.payload, after.lastRunAt, after.nextRunAt,
                after.terminalState?.rawValue, after.terminalReason, after.updatedAt, id,
            ])
            try db.cachedStatement(
                sql: """
                    INSERT INTO task_audit (task_id, action, lane, actor, before_json, after_json, metadata_json, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
                    """
            ).execute(arguments: [
                id, audit.action.rawValue, audit.lane, audit.actor, before.auditJSONText, after.auditJSONText, now,
            ])
            return (before, after)
        }
    }

    /// Inserts a job and its `create` audit entry in one transaction.
    public func createJob(_ job: Job, lane: String, actor: String?) async throws {
        do {
            try await batcher.write { db in
                try JobRecord(job).insert(db)
                var entry = TaskAuditRecord(
                    TaskAuditEntry(
                        taskId: job.id,
                        action: .create,
                        lane: lane,
                        actor: actor,
                        before: nil,
                        after: job.auditJSONText,
                        metadata: nil,
                        createdAt: job.createdAt
                    )
                )
                try entry.insert(db)
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw JobStoreError.duplicateId(job.id)
        }
    }

    public func run(jobId: String, runId: String) async throws -> JobRun? {
        try await writer.read { db in
            try JobRunRecord.filter(JobRunRecord.Columns.jobId == jobId).filter(Column("id") == runId).fetchOne(db)
                .map(JobRun.init)
        }
    }
}

extension Job {
    /// The job as audit entries record it, as JSON text: the API's field names, no lock internals. Written by
    /// hand because it runs inside every job write transaction, where JSONEncoder was a third of the cost.
    public var auditJSONText: String {
        func text(_ value: String?) -> String { value.map(JSONC.quote) ?? "null" }
        func number(_ value: Int64?) -> String { value.map { String($0) } ?? "null" }
        var out = "{\"id\":\(JSONC.quote(id)),\"type\":\(JSONC.quote(type))"
        out += ",\"status\":\"\(status.rawValue)\",\"scheduleType\":\"\(scheduleType.rawValue)\""
        out += ",\"profileId\":\(text(profileId)),\"modelRef\":\(text(modelRef))"
        out += ",\"runAt\":\(number(runAt)),\"cadenceMinutes\":\(number(cadenceMinutes.map(Int64.init)))"
        // The payload is JSON text already (the schema checks json_valid).
        out += ",\"payload\":\(payload ?? "null")"
        out += ",\"lastRunAt\":\(number(lastRunAt)),\"nextRunAt\":\(number(nextRunAt))"
        out += ",\"terminalState\":\(text(terminalState?.rawValue)),\"terminalReason\":\(text(terminalReason))"
        out += ",\"createdAt\":\(createdAt),\"updatedAt\":\(updatedAt)}"
        return out
    }
}

extension AppDatabase {
    /// Marks an idle job as running under a lock that expires at `until`, for the scheduler executing it.
    /// Returns false if the job is not idle (already running, paused) or does not exist.
    public func claimJob(id: String, lockToken: String, until: Int64) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE jobs SET status = 'running', lock_token = ?, lock_expires_at = ?
                    WHERE id = ? AND status = 'idle' AND terminal_state IS NULL
                    """,
                arguments: [lockToken, until, id]
            )
            return db.changesCount == 1
        }
    }

    /// Releases a claimed job back to idle.
    public func releaseJob(id: String, lockToken: String) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE jobs SET status = 'idle', lock_token = NULL, lock_expires_at = NULL
                    WHERE id = ? AND lock_token = ?
                    """,
                arguments: [id, lockToken]
            )
        }
    }
}
