import Foundation
import GRDB
import OttoContracts

/// A job the scheduler claimed: the job as it was claimed, the lock token that fences every later write about
/// this run, and the run's row (written at the claim, `running` until the run ends).
struct ClaimedRun: Sendable {
    let job: Job
    let run: JobRun
    let lockToken: String
}

/// A failed run of an operator's job, as the watchdog reports it.
struct FailedRun: Sendable, Equatable {
    let run: JobRun
    let jobType: String
}

/// What Otto did in a time window, for the heartbeat.
struct ActivityDigest: Sendable, Equatable {
    var runsByStatus: [JobRun.Status: Int] = [:]
    var failures: [FailedRun] = []
    var upcoming: [Job] = []
}

// The scheduler's transactions. Each is one write transaction (IMMEDIATE, so two processes on one database take
// turns), and every write about a claimed run is fenced on its lock token.
extension AppDatabase {
    /// Claims up to `limit` due jobs (idle, not terminal, `nextRunAt <= now`), earliest first: marks each running
    /// under a fresh lock that expires at `leaseUntil`, and inserts its run row as `start` describes it.
    func claimDueJobs(
        now: Int64,
        limit: Int,
        leaseUntil: Int64,
        start: @escaping @Sendable (Job) -> JobRun
    ) async throws -> (claimed: [ClaimedRun], paused: [Job]) {
        try await writer.write { db in
            let due = try db.fetchRecords(
                Job.self,
                SQLRequest<Job>(
                    sql: """
                        SELECT * FROM jobs
                        WHERE next_run_at <= ? AND terminal_state IS NULL AND status = 'idle'
                        ORDER BY next_run_at, id LIMIT ?
                        """,
                    arguments: [now, limit]))
            var claimed: [ClaimedRun] = []
            var paused: [Job] = []
            for var job in due {
                if job.isPausedAsUnreadable {
                    // A row Otto cannot read (or out of range) is paused, so it is neither run nor due again.
                    try db.storePausedAsUnreadable(job)
                    paused.append(job)
                    continue
                }
                let token = UUID().uuidString.lowercased()
                try db.execute(
                    sql: """
                        UPDATE jobs SET status = 'running', lock_token = ?, lock_expires_at = ?
                        WHERE id = ? AND status = 'idle'
                        """,
                    arguments: [token, leaseUntil, job.id])
                guard db.changesCount == 1 else { continue }
                job.status = .running
                let run = start(job)
                try db.insertRecord(run)
                claimed.append(ClaimedRun(job: job, run: run, lockToken: token))
            }
            return (claimed, paused)
        }
    }

    /// Stores the OpenCode session of a run that is still in progress.
    func recordSession(runId: String, sessionId: String) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE job_runs SET session_id = ? WHERE id = ? AND finished_at IS NULL",
                arguments: [sessionId, runId])
        }
    }

    /// Extends a claim; false if the lock is no longer ours (taken back after it expired).
    func renewLease(jobId: String, lockToken: String, until: Int64) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE jobs SET lock_expires_at = ? WHERE id = ? AND lock_token = ? AND status = 'running'",
                arguments: [until, jobId, lockToken])
            return db.changesCount == 1
        }
    }

    /// Ends a claimed run: stores the job's state after it (`after`, lock released) and the finished run, and marks
    /// the runs it reported, in one transaction, only if the lock is still ours. Returns false (and changes
    /// nothing) if it is not.
    /// - Parameter notify: Telegram messages the run produced, queued in the same transaction (so an alert is
    ///   queued exactly when its run is recorded, once).
    func finishRun(
        _ run: JobRun, job after: Job, lockToken: String, reporting reported: [String],
        notify: [TelegramOutgoing] = []
    ) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE jobs SET status = ?, last_run_at = ?, next_run_at = ?, terminal_state = ?,
                      terminal_reason = ?, updated_at = ?, lock_token = NULL, lock_expires_at = NULL
                    WHERE id = ? AND lock_token = ?
                    """,
                arguments: [
                    after.status, after.lastRunAt, after.nextRunAt, after.terminalState, after.terminalReason,
                    after.updatedAt, after.id, lockToken,
                ])
            guard db.changesCount == 1 else { return false }
            guard try db.updateRecord(run) else { throw DatabaseError(message: "run \(run.id) vanished") }
            for runId in reported {
                try db.execute(
                    sql: "UPDATE job_runs SET reported_by = ? WHERE id = ? AND reported_by IS NULL",
                    arguments: [run.id, runId])
            }
            try Self.enqueue(notify, db, now: run.finishedAt ?? after.updatedAt)
            return true
        }
    }

    /// Whether `recoverExpiredClaims` has anything to do: a read, so the scheduler's frequent check never takes the
    /// write lock for nothing.
    func hasExpiredClaims(now: Int64) async throws -> Bool {
        try await writer.read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 'running'
                                   AND (lock_expires_at IS NULL OR lock_expires_at < ?))
                        OR EXISTS (SELECT 1 FROM job_runs WHERE finished_at IS NULL
                                   AND job_id NOT IN (SELECT id FROM jobs WHERE status = 'running'))
                    """,
                arguments: [now]) ?? false
        }
    }

    /// Takes back every claim whose lease expired before `now` (or that has no lease at all): each unfinished run
    /// of the job is closed by `closeRun`, and the job becomes `recover(job, its unfinished run)`. Unfinished runs
    /// of jobs that are not running at all are closed too. Returns the jobs taken back.
    func recoverExpiredClaims(
        now: Int64,
        closeRun: @escaping @Sendable (JobRun) -> JobRun,
        recover: @escaping @Sendable (Job, JobRun?) -> Job
    ) async throws -> (jobs: [Job], sessions: [String]) {
        try await writer.write { db in
            var sessions: [String] = []
            let expired = try db.fetchRecords(
                Job.self,
                SQLRequest<Job>(
                    sql: """
                        SELECT * FROM jobs
                        WHERE status = 'running' AND (lock_expires_at IS NULL OR lock_expires_at < ?)
                        """,
                    arguments: [now]))
            var recovered: [Job] = []
            for job in expired {
                let open = try db.fetchRecords(
                    JobRun.self,
                    SQLRequest<JobRun>(
                        sql: "SELECT * FROM job_runs WHERE job_id = ? AND finished_at IS NULL ORDER BY created_at",
                        arguments: [job.id]))
                for run in open {
                    try db.updateRecord(closeRun(run))
                    if let session = run.sessionId { sessions.append(session) }
                }
                let after = recover(job, open.last)
                try db.execute(
                    sql: """
                        UPDATE jobs SET status = ?, next_run_at = ?, terminal_state = ?, terminal_reason = ?,
                          updated_at = ?, lock_token = NULL, lock_expires_at = NULL
                        WHERE id = ? AND status = 'running'
                        """,
                    arguments: [
                        after.status, after.nextRunAt, after.terminalState, after.terminalReason, after.updatedAt,
                        job.id,
                    ])
                recovered.append(after)
            }
            let orphans = try db.fetchRecords(
                JobRun.self,
                SQLRequest<JobRun>(
                    sql: """
                        SELECT * FROM job_runs WHERE finished_at IS NULL
                        AND job_id NOT IN (SELECT id FROM jobs WHERE status = 'running')
                        """))
            for run in orphans {
                try db.updateRecord(closeRun(run))
                if let session = run.sessionId { sessions.append(session) }
            }
            return (recovered, sessions)
        }
    }

    /// Pulls back every recurring job whose next run lies further ahead than one cadence plus `slack` (the wall
    /// clock jumped forward and back since it was computed) to the first slot of its grid after `now`. Returns the
    /// jobs moved.
    func pullBackFarFutureRuns(now: Int64, slack: Int64) async throws -> [Job] {
        try await writer.write { db in
            let ahead = try db.fetchRecords(
                Job.self,
                SQLRequest<Job>(
                    sql: """
                        SELECT * FROM jobs WHERE schedule_type = 'recurring' AND terminal_state IS NULL
                        AND status = 'idle' AND next_run_at > ?
                        """,
                    arguments: [now]))
            var moved: [Job] = []
            for var job in ahead where !job.isPausedAsUnreadable {
                guard let next = job.pulledBackNextRun(now: now, slack: slack) else { continue }
                try db.execute(
                    sql: "UPDATE jobs SET next_run_at = ? WHERE id = ? AND status = 'idle'", arguments: [next, job.id])
                job.nextRunAt = next
                moved.append(job)
            }
            return moved
        }
    }

    /// When the scheduler next has something to do: the earliest `nextRunAt` of a job that can run, or the
    /// earliest expiry of a claim (another process's, which may die).
    func nextSchedulerEvent() async throws -> Int64? {
        try await writer.read { db in
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT MIN(t) FROM (
                      SELECT MIN(next_run_at) AS t FROM jobs WHERE terminal_state IS NULL AND status = 'idle'
                      UNION ALL
                      SELECT MIN(lock_expires_at) AS t FROM jobs WHERE status = 'running'
                    )
                    """)
        }
    }

    /// Failed runs of operators' jobs that no watchdog run has reported yet, oldest first.
    func unreportedFailures(limit: Int) async throws -> [FailedRun] {
        try await writer.read { db in try Self.failures(db, since: nil, unreportedOnly: true, limit: limit) }
    }

    /// What happened since `since` (runs of every job but `excludingJob`), and the next jobs due.
    func activity(since: Int64, excludingJob: String, failureLimit: Int, upcomingLimit: Int) async throws
        -> ActivityDigest
    {
        try await writer.read { db in
            var digest = ActivityDigest()
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT status, COUNT(*) AS n FROM job_runs
                    WHERE created_at > ? AND job_id <> ? GROUP BY status
                    """,
                arguments: [since, excludingJob])
            for row in rows {
                if let status = JobRun.Status(rawValue: row["status"]) { digest.runsByStatus[status] = row["n"] }
            }
            digest.failures = try Self.failures(db, since: since, unreportedOnly: false, limit: failureLimit)
            digest.upcoming = try db.fetchRecords(
                Job.self,
                SQLRequest<Job>(
                    sql: """
                        SELECT * FROM jobs WHERE terminal_state IS NULL AND next_run_at IS NOT NULL AND status <> 'paused'
                        ORDER BY next_run_at LIMIT ?
                        """,
                    arguments: [upcomingLimit]))
            return digest
        }
    }

    private static func failures(_ db: Database, since: Int64?, unreportedOnly: Bool, limit: Int) throws
        -> [FailedRun]
    {
        var sql = """
            SELECT r.*, j.type AS job_type FROM job_runs r JOIN jobs j ON j.id = r.job_id
            WHERE r.status = 'failed' AND j.id NOT LIKE 'system-%'
              AND j.type NOT IN ('heartbeat', 'watchdog_failures')
            """
        var arguments: StatementArguments = []
        if unreportedOnly { sql += " AND r.reported_by IS NULL" }
        if let since {
            sql += " AND r.created_at > ?"
            arguments += [since]
        }
        sql += " ORDER BY r.created_at, r.id LIMIT ?"
        arguments += [limit]
        let statement = try db.cachedStatement(sql: sql)
        let layout = ColumnLayout(columnNames: statement.columnNames)
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        var failures: [FailedRun] = []
        while let row = try rows.next() {
            failures.append(
                FailedRun(run: try JobRun(from: RowFieldsDecoder(row: row, layout: layout)), jobType: row["job_type"]))
        }
        return failures
    }
}
