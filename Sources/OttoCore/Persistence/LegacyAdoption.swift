import Foundation
import GRDB
import OttoContracts

/// What adopting a TypeScript Otto state database brought over.
public struct AdoptionReport: Sendable, Equatable {
    public let jobs: Int
    public let runs: Int
    public let taskAuditEntries: Int
    public let commandAuditEntries: Int
    /// The consistent copy of the database made before anything changed.
    public let backupPath: String
    /// Jobs whose stored rows could not be read (or were out of range): paused, the reason in `terminalReason`.
    public var pausedJobs: [String] = []
}

/// Adopts the state database of the TypeScript Otto (its tables, recorded in its own `schema_migrations`, and no
/// migrations of ours) in place, so an operator who switches keeps every job, run and audit entry, and can go back.
///
/// Adoption only adds: columns our runs need on `job_runs`, our audit tables (with the original entries copied in,
/// in their order), indexes, and our migration records. None of the original's tables, columns or
/// `schema_migrations` rows is dropped, renamed or rebuilt; the tables Otto does not use are not touched. Before
/// anything changes, `VACUUM INTO` writes a consistent copy beside the file (a hot WAL included); the adoption
/// itself is one transaction, so a crash leaves the original as it was and the next start tries again.
enum LegacyAdoption {
    /// Our migrations that the adopted schema stands for once adoption has added what they would have.
    static let coveredMigrations = [
        "v1-jobs-runs-audit", "v2-jobs-by-creation", "v3-execution", "v4-audit-lane-and-origin",
    ]

    /// Whether the database was written by the TypeScript Otto and not yet adopted.
    static func needsAdoption(_ db: Database) throws -> Bool {
        guard try db.tableExists("schema_migrations"), try db.tableExists("jobs") else { return false }
        guard try db.tableExists("grdb_migrations") else { return true }
        return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM grdb_migrations") == 0
    }

    /// Why a database file is not opened: one sentence naming the problem, never SQL. The file was not changed.
    struct Refusal: Error, CustomStringConvertible {
        let path: String
        let problem: String
        var description: String { "refusing the state database \(path): \(problem); the file was not changed" }
    }

    /// What a read-only look at the file found.
    enum Kind: Equatable {
        /// No file, an empty one, or a database without tables: Otto creates its own.
        case new
        /// Otto's own database (our migration records).
        case ours
        /// The TypeScript Otto's, whole, with every table and column adoption needs.
        case original
    }

    /// The columns adoption reads from each of the original's tables; a table in `optional` may be missing.
    static let neededColumns: [(table: String, columns: [String], optional: Bool)] = [
        ("jobs", ["id", "type", "status", "payload", "last_run_at", "next_run_at", "created_at", "updated_at"], false),
        (
            "job_runs",
            [
                "id", "job_id", "started_at", "finished_at", "status", "error_code", "error_message",
                "result_json", "created_at",
            ], false
        ),
        (
            "task_audit_log",
            [
                "id", "task_id", "action", "lane", "actor", "before_json", "after_json", "metadata_json",
                "created_at",
            ], true
        ),
        (
            "command_audit_log", ["id", "command", "lane", "status", "error_message", "metadata_json", "created_at"],
            true
        ),
    ]

    /// Decides, from a read-only look and before anything is written (not even the journal mode), what the file is.
    /// Throws `Refusal` for a file Otto must not touch: damaged, not a database, neither ours nor the original's,
    /// or the original's without what adoption needs.
    static func inspect(path: String) throws(Refusal) -> Kind {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
        guard let size, size > 0 else { return .new }
        var configuration = Configuration()
        configuration.readonly = true
        do {
            if FileManager.default.fileExists(atPath: path + "-journal") {
                // A start killed during the adoption left its rollback journal: SQLite's own recovery puts the
                // original back exactly as it was, which a read-only connection cannot do.
                let recovery = try DatabaseQueue(path: path)
                try recovery.read { db in _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master") }
                try recovery.close()
            }
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db throws -> Kind in
                let tables = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
                if tables.isEmpty { return .new }
                if tables.contains("grdb_migrations"),
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM grdb_migrations") ?? 0 > 0
                {
                    return .ours
                }
                guard tables.contains("schema_migrations") else {
                    throw Refusal(
                        path: path,
                        problem: "it is neither Otto's state database nor the TypeScript Otto's (it has no "
                            + "schema_migrations table)")
                }
                let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                guard check == ["ok"] else {
                    throw Refusal(path: path, problem: "its integrity check failed (the file is damaged)")
                }
                for needed in neededColumns {
                    guard tables.contains(needed.table) else {
                        if needed.optional { continue }
                        throw Refusal(
                            path: path,
                            problem: "it looks like the TypeScript Otto's but has no \(needed.table) table, so it "
                                + "cannot be adopted")
                    }
                    let present = Set(try db.columns(in: needed.table).map { $0.name.lowercased() })
                    if let missing = needed.columns.first(where: { !present.contains($0) }) {
                        throw Refusal(
                            path: path,
                            problem: "its \(needed.table) table has no \(missing) column, so it cannot be adopted")
                    }
                }
                for ours in ["task_audit", "command_audit", "otto_adoption"] where tables.contains(ours) {
                    throw Refusal(
                        path: path,
                        problem: "it is the TypeScript Otto's but already has a \(ours) table that Otto did not "
                            + "write, so adopting it could mix two histories")
                }
                return .original
            }
        } catch let refusal as Refusal {
            throw refusal
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB:
                throw Refusal(path: path, problem: "it is not an SQLite database")
            case .SQLITE_CORRUPT:
                throw Refusal(path: path, problem: "it is damaged (SQLite reports corruption)")
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY:
                throw Refusal(path: path, problem: "it cannot be opened (check its permissions)")
            default:
                throw Refusal(path: path, problem: "it cannot be read (SQLite error \(error.resultCode.rawValue))")
            }
        } catch {
            throw Refusal(path: path, problem: "it cannot be read")
        }
    }

    /// Adopts the TypeScript Otto's database, which `inspect` found whole: a verified backup first (an earlier
    /// one of the same original is reused), then one transaction in the file's own journal mode, so a `kill -9`
    /// in the middle leaves the original as it was and the next start tries again with the same backup.
    /// - Parameter duringAdoption: called inside the adoption transaction (tests stop the process there).
    static func adopt(path: String, now: Date = Date(), duringAdoption: (() -> Void)? = nil) throws -> AdoptionReport? {
        let backup = try verifiedBackup(of: path, at: now)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try adopt(queue, backup: backup, now: now, duringAdoption: duringAdoption)
    }

    /// The backup of the original beside it: an existing complete one (from a start that was killed during the
    /// adoption, which left the original unchanged), or a new one written under a temporary name by
    /// `VACUUM INTO`, checked to open with the original's row counts, then renamed into place.
    static func verifiedBackup(of path: String, at now: Date) throws -> String {
        let counts = try rowCounts(path)
        let directory = (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + ".before-swift-"
        let existing = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix(prefix) && !$0.contains(".partial") }.sorted()
        for name in existing.reversed() {
            let candidate = directory + "/" + name
            if (try? rowCounts(candidate)) == counts { return candidate }
        }
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        where name.hasPrefix(prefix) && name.contains(".partial") {
            // A killed VACUUM INTO leaves its file and its journal (".partial-journal").
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
        let backup = backupPath(for: path, at: now)
        let partial = backup + ".partial"
        var configuration = Configuration()
        configuration.readonly = true
        let source = try DatabaseQueue(path: path, configuration: configuration)
        try source.inDatabase { db in try db.execute(sql: "VACUUM INTO ?", arguments: [partial]) }
        try source.close()
        guard (try? rowCounts(partial)) == counts else {
            try? FileManager.default.removeItem(atPath: partial)
            throw Refusal(path: path, problem: "its backup did not read back with the same rows")
        }
        try AtomicFile.syncFile(partial)
        guard rename(partial, backup) == 0 else {
            try? FileManager.default.removeItem(atPath: partial)
            throw Refusal(path: path, problem: "its backup could not be put in place (errno \(errno))")
        }
        return backup
    }

    /// The number of rows of each table adoption reads, by a read-only connection.
    static func rowCounts(_ path: String) throws -> [String: Int] {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in
            var counts: [String: Int] = [:]
            for needed in neededColumns where try db.tableExists(needed.table) {
                counts[needed.table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(needed.table)") ?? 0
            }
            return counts
        }
    }

    /// The adoption transaction itself; nil if another process adopted the file meanwhile.
    static func adopt(
        _ writer: any DatabaseWriter, backup: String, now: Date, duringAdoption: (() -> Void)?
    ) throws -> AdoptionReport? {
        let adoptedAt = Int64((now.timeIntervalSince1970 * 1000).rounded())
        return try writer.write { db in
            // Another process may have adopted it meanwhile (write transactions are IMMEDIATE: one at a time).
            guard try needsAdoption(db) else { return nil }
            try addMissingColumns(db)
            try createOurTablesAndIndexes(db)
            let taskAudit = try copyTaskAudit(db)
            let commandAudit = try copyCommandAudit(db)
            try fillValuesOurRowsNeed(db)
            let paused = try pauseUnreadableJobs(db)
            let report = AdoptionReport(
                jobs: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs") ?? 0,
                runs: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job_runs") ?? 0,
                taskAuditEntries: taskAudit,
                commandAuditEntries: commandAudit,
                backupPath: backup,
                pausedJobs: paused)
            try db.execute(
                sql: """
                    CREATE TABLE otto_adoption (
                      adopted_at INTEGER NOT NULL, backup_path TEXT NOT NULL, jobs INTEGER NOT NULL,
                      runs INTEGER NOT NULL, task_audit INTEGER NOT NULL, command_audit INTEGER NOT NULL)
                    """)
            try db.execute(
                sql: "INSERT INTO otto_adoption VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    adoptedAt, backup, report.jobs, report.runs, report.taskAuditEntries, report.commandAuditEntries,
                ])
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            for migration in coveredMigrations {
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [migration])
            }
            duringAdoption?()
            return report
        }
    }

    /// Every job row is read as Otto reads it (`Job.reading`); one that cannot be read, or is out of range, is
    /// stored paused with the reason. Returns the ids of the jobs paused.
    static func pauseUnreadableJobs(_ db: Database) throws -> [String] {
        var paused: [String] = []
        for job in try db.fetchRecords(Job.self, SQLRequest<Job>(sql: "SELECT * FROM jobs"))
        where job.isPausedAsUnreadable && !job.id.isEmpty {
            try db.storePausedAsUnreadable(job)
            paused.append(job.id)
        }
        return paused
    }

    /// `otto-state.db.before-swift-20261126T181500Z`, with a counter if two starts fall in one second.
    static func backupPath(for path: String, at date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        let stamp = "\(c.year ?? 0)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z"
        var candidate = "\(path).before-swift-\(stamp)"
        var counter = 2
        while FileManager.default.fileExists(atPath: candidate) {
            candidate = "\(path).before-swift-\(stamp)-\(counter)"
            counter += 1
        }
        return candidate
    }

    /// Columns of ours that the original's tables lack (an older TypeScript Otto may lack some of `jobs` too).
    static func addMissingColumns(_ db: Database) throws {
        let wanted: [(table: String, column: String, definition: String)] = [
            ("jobs", "schedule_type", "TEXT"), ("jobs", "run_at", "INTEGER"), ("jobs", "cadence_minutes", "INTEGER"),
            ("jobs", "terminal_state", "TEXT"), ("jobs", "terminal_reason", "TEXT"), ("jobs", "profile_id", "TEXT"),
            ("jobs", "model_ref", "TEXT"), ("jobs", "lock_token", "TEXT"), ("jobs", "lock_expires_at", "INTEGER"),
            ("job_runs", "scheduled_for", "INTEGER"),
            ("job_runs", "model_ref", "TEXT"), ("job_runs", "model_source", "TEXT"), ("job_runs", "session_id", "TEXT"),
            ("job_runs", "attempts", "INTEGER NOT NULL DEFAULT 0"), ("job_runs", "reported_by", "TEXT"),
            ("job_runs", "answered_by", "TEXT"),
        ]
        for (table, column, definition) in wanted {
            let existing = Set(try db.columns(in: table).map(\.name))
            if !existing.contains(column) {
                try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN \(column) \(definition)")
            }
        }
    }

    /// Our audit tables in their current shape, and our indexes (the original's have other names).
    static func createOurTablesAndIndexes(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS task_audit (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  task_id TEXT NOT NULL,
                  action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete', 'run_now')),
                  lane TEXT NOT NULL,
                  actor TEXT,
                  before_json TEXT CHECK (before_json IS NULL OR json_valid(before_json)),
                  after_json TEXT CHECK (after_json IS NULL OR json_valid(after_json)),
                  metadata_json TEXT CHECK (metadata_json IS NULL OR json_valid(metadata_json)),
                  created_at INTEGER NOT NULL,
                  original_id TEXT
                );
                CREATE INDEX IF NOT EXISTS task_audit_by_task ON task_audit(task_id, id DESC);
                CREATE TABLE IF NOT EXISTS command_audit (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  command TEXT NOT NULL,
                  status TEXT NOT NULL CHECK (status IN ('success', 'failed', 'denied')),
                  error_message TEXT,
                  metadata_json TEXT CHECK (metadata_json IS NULL OR json_valid(metadata_json)),
                  created_at INTEGER NOT NULL,
                  lane TEXT,
                  original_id TEXT
                );
                CREATE INDEX IF NOT EXISTS command_audit_by_command ON command_audit(command, id DESC);
                CREATE INDEX IF NOT EXISTS jobs_type ON jobs(type);
                CREATE INDEX IF NOT EXISTS jobs_due ON jobs(next_run_at) WHERE terminal_state IS NULL;
                CREATE INDEX IF NOT EXISTS jobs_by_creation ON jobs(created_at, id);
                CREATE INDEX IF NOT EXISTS jobs_leases ON jobs(lock_expires_at) WHERE status = 'running';
                CREATE INDEX IF NOT EXISTS job_runs_by_job ON job_runs(job_id, created_at DESC);
                CREATE INDEX IF NOT EXISTS job_runs_by_time ON job_runs(created_at);
                CREATE INDEX IF NOT EXISTS job_runs_unfinished ON job_runs(job_id) WHERE finished_at IS NULL;
                CREATE INDEX IF NOT EXISTS job_runs_unreported_failures ON job_runs(created_at)
                  WHERE status = 'failed' AND reported_by IS NULL;
                """)
    }

    /// JSON text as our columns hold it: valid JSON as it is, anything else kept as a JSON string.
    static func json(_ column: String) -> String {
        "CASE WHEN \(column) IS NULL THEN NULL WHEN json_valid(\(column)) THEN \(column) ELSE json_quote(\(column)) END"
    }

    /// The original's task audit (`task_audit_log`, UUID ids) copied into ours in its order; returns how many.
    static func copyTaskAudit(_ db: Database) throws -> Int {
        guard try db.tableExists("task_audit_log") else { return 0 }
        try db.execute(
            sql: """
                INSERT INTO task_audit (task_id, action, lane, actor, before_json, after_json, metadata_json,
                                        created_at, original_id)
                SELECT task_id,
                       CASE WHEN action IN ('create', 'update', 'delete', 'run_now') THEN action ELSE 'update' END,
                       COALESCE(lane, 'unknown'), actor, \(json("before_json")), \(json("after_json")),
                       CASE WHEN action IN ('create', 'update', 'delete', 'run_now') THEN \(json("metadata_json"))
                            ELSE json_object('originalAction', action, 'metadata', json(\(json("metadata_json")))) END,
                       created_at, id
                FROM task_audit_log ORDER BY created_at, rowid
                """)
        return db.changesCount
    }

    /// The original's command audit (`command_audit_log`) copied into ours in its order; returns how many.
    static func copyCommandAudit(_ db: Database) throws -> Int {
        guard try db.tableExists("command_audit_log") else { return 0 }
        try db.execute(
            sql: """
                INSERT INTO command_audit (command, lane, status, error_message, metadata_json, created_at,
                                           original_id)
                SELECT command, lane,
                       CASE WHEN status IN ('success', 'failed', 'denied') THEN status ELSE 'failed' END,
                       error_message, \(json("metadata_json")), created_at, id
                FROM command_audit_log ORDER BY created_at, rowid
                """)
        return db.changesCount
    }

    /// Values our rows need that the original may have left empty, and the watchdog's starting point: failures
    /// the TypeScript Otto already had count as reported, so the first watchdog run does not alert about months
    /// of history. A payload or result that is not valid JSON (the original's columns have no check) is kept as a
    /// JSON string, so the API never sends invalid JSON.
    static func fillValuesOurRowsNeed(_ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE jobs SET payload = json_quote(payload) WHERE payload IS NOT NULL AND NOT json_valid(payload);
                UPDATE job_runs SET result_json = json_quote(result_json)
                  WHERE result_json IS NOT NULL AND NOT json_valid(result_json);
                UPDATE jobs SET schedule_type = CASE WHEN cadence_minutes IS NULL THEN 'oneshot' ELSE 'recurring' END
                  WHERE schedule_type IS NULL OR schedule_type NOT IN ('recurring', 'oneshot');
                UPDATE job_runs SET scheduled_for = started_at WHERE scheduled_for IS NULL;
                UPDATE job_runs SET reported_by = 'adopted' WHERE status = 'failed';
                """)
    }
}
