import Foundation
import GRDB

/// What the status API reads from the database: small, indexed queries, so a status call stays cheap however
/// large the history is.
struct StatusFacts: Sendable {
    var nextDue: (jobId: String, at: Int64)?
    var pastLease = 0
    var runsLast24h: [String: Int] = [:]
    /// `system-heartbeat` and `system-watchdog-failures`: whether they run, their next time and last run.
    var systemJobs: [String: (enabled: Bool, nextRunAt: Int64?, lastRun: (at: Int64, status: String)?)] = [:]
    var notificationFailures: (lastDay: Int, lastHour: Int) = (0, 0)
    var schemaVersion: String?
    var adopted = false
}

extension AppDatabase {
    func statusFacts(now: Int64) async throws -> StatusFacts {
        try await writer.read { db in
            var facts = StatusFacts()
            if let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT id, next_run_at FROM jobs
                    WHERE terminal_state IS NULL AND status = 'idle' AND next_run_at IS NOT NULL
                    ORDER BY next_run_at LIMIT 1
                    """)
            {
                facts.nextDue = (row["id"], row["next_run_at"])
            }
            facts.pastLease =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM jobs
                        WHERE status = 'running' AND (lock_expires_at IS NULL OR lock_expires_at < ?)
                        """, arguments: [now]) ?? 0
            let dayAgo = now - 24 * 3600 * 1000
            for row in try Row.fetchAll(
                db, sql: "SELECT status, COUNT(*) AS n FROM job_runs WHERE created_at >= ? GROUP BY status",
                arguments: [dayAgo])
            {
                facts.runsLast24h[row["status"]] = row["n"]
            }
            for id in ["system-heartbeat", "system-watchdog-failures"] {
                guard
                    let job = try Row.fetchOne(
                        db, sql: "SELECT status, next_run_at, terminal_state FROM jobs WHERE id = ?", arguments: [id])
                else { continue }
                let last = try Row.fetchOne(
                    db,
                    sql: "SELECT started_at, status FROM job_runs WHERE job_id = ? ORDER BY created_at DESC LIMIT 1",
                    arguments: [id])
                let status: String = job["status"]
                let terminal: String? = job["terminal_state"]
                facts.systemJobs[id] = (
                    status != "paused" && terminal == nil, job["next_run_at"],
                    last.map { ($0["started_at"], $0["status"]) }
                )
            }
            func failures(since: Int64) throws -> Int {
                let webhook =
                    try Int.fetchOne(
                        db,
                        sql: """
                            SELECT COUNT(*) FROM job_runs WHERE created_at >= ? AND result_json IS NOT NULL
                              AND json_extract(result_json, '$.notification.delivered') = 0
                            """, arguments: [since]) ?? 0
                let telegram =
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM telegram_outbox WHERE status = 'failed' AND created_at >= ?",
                        arguments: [since]) ?? 0
                return webhook + telegram
            }
            facts.notificationFailures = (try failures(since: dayAgo), try failures(since: now - 3600 * 1000))
            facts.schemaVersion = try String.fetchOne(
                db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid DESC LIMIT 1")
            facts.adopted = try db.tableExists("otto_adoption")
            return facts
        }
    }

    /// Whether a write transaction can be taken and committed now (a full disk or a read-only file system says no).
    func canWrite() async -> Bool {
        do {
            try await writer.write { db in
                try db.execute(sql: "UPDATE telegram_poller SET next_offset = next_offset WHERE id = 1")
            }
            return true
        } catch {
            return false
        }
    }
}
