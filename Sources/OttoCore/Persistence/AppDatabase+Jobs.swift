import GRDB
import OttoContracts

/// Why a job could not be stored.
public enum JobStoreError: Error, Equatable, Sendable {
    case duplicateId(String)
    case notFound(String)
}

// Reads are public; every write that changes a job goes through `JobsService`, which applies its rules and
// writes the audit entry in the same transaction (`changeJob`, `createJob`). The primitives below stay internal.
extension AppDatabase {
    public func job(id: String) async throws -> Job? {
        try await writer.read { db in try db.fetchRecord(Job.self, equals: id) }
    }

    /// The most payload text one page of jobs holds; a page ends early rather than exceed it.
    public static let maxJobsPageBytes = 2 * 1024 * 1024

    /// One page of jobs in creation order, starting after `cursor` (the last job of the previous page), so a
    /// listing of many jobs never holds them all in memory at once: at most `limit` jobs, fewer once their payloads
    /// pass `maxJobsPageBytes` (always at least one). `more` tells whether jobs follow.
    public func jobsPage(type: String?, after cursor: JobCursor?, limit: Int) async throws -> (jobs: [Job], more: Bool)
    {
        try await writer.read { db in
            // One row more than asked for tells whether another page follows, without a second query.
            var request = Job.order(Job.Columns.createdAt, Job.Columns.id).limit(limit + 1)
            if let type { request = request.filter(Job.Columns.type == type) }
            if let cursor {
                // A row-value comparison, which SQLite answers from the jobs_by_creation index.
                request = request.filter(sql: "(created_at, id) > (?, ?)", arguments: [cursor.createdAt, cursor.id])
            }
            let page = try db.fetchRecords(
                request, limit: limit, budget: Self.maxJobsPageBytes, size: { $0.payload?.text.utf8.count ?? 0 },
                decode: Job.reading)
            return (page.records, page.more)
        }
    }

    /// Otto's own jobs (ids starting `system-`) that are idle, read from the primary key's range: start-up looks
    /// at these without reading every operator job.
    func idleSystemJobs() async throws -> [Job] {
        try await writer.read { db in
            try db.fetchRecords(
                Job.self,
                SQLRequest<Job>(
                    sql: "SELECT * FROM jobs WHERE id >= 'system-' AND id < 'system.' AND status = 'idle' ORDER BY id"))
        }
    }

    /// The most result and error text one page of runs holds; a page ends early rather than exceed it.
    public static let maxRunsPageBytes = 4 * 1024 * 1024

    /// A page of a job's runs, newest first, and how many runs the job has in all. The page ends after `limit`
    /// runs, or earlier once their stored texts pass `maxRunsPageBytes` (always at least one run): 200 runs of a
    /// megabyte each never sit in memory at once. The next page starts at `offset + runs.count`.
    public func runs(jobId: String, limit: Int, offset: Int) async throws -> (total: Int, runs: [JobRun]) {
        try await writer.read { db in
            let all = JobRun.filter(JobRun.Columns.jobId == jobId)
            let total = try all.fetchCount(db)
            let page = all.order(JobRun.Columns.createdAt.desc, JobRun.Columns.id.desc).limit(limit, offset: offset)
            let runs = try db.fetchRecords(
                page, limit: limit, budget: Self.maxRunsPageBytes,
                size: { ($0.result?.text.utf8.count ?? 0) + ($0.errorMessage?.utf8.count ?? 0) },
                decode: { row, layout in try JobRun(from: RowFieldsDecoder(row: row, layout: layout)) })
            return (total, runs.records)
        }
    }

    public func run(jobId: String, runId: String) async throws -> JobRun? {
        try await writer.read { db in
            try JobRun.filter(JobRun.Columns.jobId == jobId).filter(JobRun.Columns.id == runId).fetchOne(db)
        }
    }

    /// A job's audit entries, newest first.
    public func taskAudit(taskId: String, limit: Int) async throws -> [TaskAuditEntry] {
        try await writer.read { db in
            try db.fetchRecords(
                TaskAuditEntry.self,
                TaskAuditEntry.filter(TaskAuditEntry.Columns.taskId == taskId)
                    .order(TaskAuditEntry.Columns.id.desc)
                    .limit(limit))
        }
    }

    @discardableResult
    func appendCommandAudit(_ entry: CommandAuditEntry) async throws -> CommandAuditEntry {
        try await writer.write { db in
            var stored = entry
            stored.id = try db.insertRecord(entry)
            return stored
        }
    }

    /// Command audit entries, newest first, optionally for one command.
    public func commandAudit(limit: Int, command: String? = nil) async throws -> [CommandAuditEntry] {
        try await writer.read { db in
            var request = CommandAuditEntry.order(CommandAuditEntry.Columns.id.desc).limit(limit)
            if let command { request = request.filter(CommandAuditEntry.Columns.command == command) }
            return try db.fetchRecords(CommandAuditEntry.self, request)
        }
    }
}

/// Where a job listing continues: after the job created at `createdAt` with id `id`.
public struct JobCursor: Sendable, Equatable {
    public let createdAt: Int64
    public let id: String

    public init(createdAt: Int64, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    public init(after job: Job) { self.init(createdAt: job.createdAt, id: job.id) }
}

extension AppDatabase {
    /// Reads a job, lets `change` decide its new state (or throw to refuse), stores it and appends one audit
    /// entry with the job before and after, all in one transaction.
    func changeJob(
        id: String,
        audit: (action: TaskAuditEntry.Action, lane: String, actor: String?),
        at now: Int64,
        _ change: @escaping @Sendable (Job) throws -> Job
    ) async throws -> (before: Job, after: Job) {
        try await storing {
            try await batcher.write { db in
                guard let before = try db.fetchRecord(Job.self, equals: id) else { throw JobStoreError.notFound(id) }
                var after = try change(before)
                after.updatedAt = now
                try db.updateRecord(after)
                try db.insertRecord(
                    TaskAuditEntry(
                        taskId: id, action: audit.action, lane: audit.lane, actor: audit.actor,
                        before: try Self.snapshot(before), after: try Self.snapshot(after), metadata: nil,
                        createdAt: now))
                return (before, after)
            }
        }
    }

    /// Runs a write for the API; a database that cannot be written (a full disk, a read-only file system) is
    /// `storageUnavailable` naming the file, not an internal error. The transaction rolled back: nothing changed.
    func storing<T>(_ write: () async throws -> T) async throws -> T {
        do {
            return try await write()
        } catch let error as DatabaseError {
            let reason: String
            switch error.resultCode {
            case .SQLITE_FULL: reason = "the disk is full"
            case .SQLITE_IOERR: reason = "an I/O error"
            case .SQLITE_READONLY: reason = "it is read-only"
            case .SQLITE_CANTOPEN: reason = "it cannot be opened"
            default: throw error
            }
            throw DomainError.storageUnavailable(
                "the state database \(writer.path) could not be written (\(reason)); nothing was changed")
        }
    }

    /// Inserts a job and its `create` audit entry in one transaction.
    func createJob(_ job: Job, lane: String, actor: String?) async throws {
        do {
            try await storing {
                try await batcher.write { db in
                    try db.insertRecord(job)
                    try db.insertRecord(
                        TaskAuditEntry(
                            taskId: job.id, action: .create, lane: lane, actor: actor,
                            before: nil, after: try Self.snapshot(job), metadata: nil, createdAt: job.createdAt))
                }
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw JobStoreError.duplicateId(job.id)
        }
    }

    /// A job as an audit entry records it: its API encoding.
    static func snapshot(_ job: Job) throws -> JSONText {
        JSONText(validated: String(decoding: try CompactJSONEncoder().encode(job), as: UTF8.self))
    }

    func insertRun(_ run: JobRun) async throws {
        try await writer.write { db in try run.insert(db) }
    }

    /// Marks an idle job as running under a lock that expires at `until`, for the scheduler executing it.
    /// Returns false if the job is not idle (already running, paused) or does not exist.
    func claimJob(id: String, lockToken: String, until: Int64) async throws -> Bool {
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
    func releaseJob(id: String, lockToken: String) async throws {
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
