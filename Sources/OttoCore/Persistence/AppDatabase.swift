import Foundation
import GRDB

/// Otto's state database (`<ottoHome>/data/otto-state.db`). The only type outside `Persistence/` that other code
/// sees; every method is one transaction.
public struct AppDatabase: Sendable {
    let writer: any DatabaseWriter
    /// Job mutations from the API go through here, so concurrent ones commit together.
    let batcher: WriteBatcher
    /// What this open adopted from a TypeScript Otto database, if it was one.
    public private(set) var adoption: AdoptionReport?

    /// Opens (creating if needed) the database file in WAL mode, adopts it if the TypeScript Otto wrote it, and
    /// applies pending migrations.
    /// - Parameter duringAdoption: called inside the adoption transaction; tests stop the process there.
    public static func open(path: String, duringAdoption: (() -> Void)? = nil) throws -> AppDatabase {
        do {
            return try openOrThrow(path: path, duringAdoption: duringAdoption)
        } catch let error as DatabaseError {
            // GRDB's description carries the SQL; the operator needs SQLite's own words only.
            throw OpenError(description: error.message ?? "SQLite error \(error.resultCode.rawValue)")
        }
    }

    /// A database error at open, in SQLite's words (never the statement).
    public struct OpenError: Error, CustomStringConvertible {
        public let description: String
    }

    private static func openOrThrow(path: String, duringAdoption: (() -> Void)?) throws -> AppDatabase {
        try AtomicFile.createDirectory((path as NSString).deletingLastPathComponent, permissions: 0o700)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        // A few readers are plenty for one operator's API on a small machine; each keeps its own page cache.
        configuration.maximumReaderCount = 2
        configuration.prepareDatabase { db in
            // In WAL mode NORMAL never corrupts the database; a power cut may lose the last commits, an application
            // crash loses nothing. FULL would fsync on every commit and cap writes at the disk's fsync rate.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        // Decided from a read-only look before anything is written: a file that must not be touched is refused
        // as it is, and the original is adopted in its own journal mode before the pool switches it to WAL.
        var adoption: AdoptionReport?
        if try LegacyAdoption.inspect(path: path) == .original {
            adoption = try LegacyAdoption.adopt(path: path, duringAdoption: duringAdoption)
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        var database = try AppDatabase(pool)
        database.adoption = adoption
        return database
    }

    /// Wraps any GRDB writer (tests may pass an in-memory queue) and migrates it.
    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        self.batcher = WriteBatcher(writer: writer)
        try Self.migrator.migrate(writer)
    }

    /// The identifiers of the migrations recorded as applied, oldest first.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try Self.migrator.appliedMigrations(db) }
    }

    /// Migrations are never edited once shipped and never use application types: raw SQL only, constraints in
    /// the schema.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-jobs-runs-audit") { db in
            try db.execute(
                sql: """
                    CREATE TABLE jobs (
                      id TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
                      type TEXT NOT NULL CHECK (type <> ''),
                      status TEXT NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'running', 'paused')),
                      schedule_type TEXT NOT NULL CHECK (schedule_type IN ('recurring', 'oneshot')),
                      profile_id TEXT,
                      model_ref TEXT CHECK (model_ref IS NULL OR instr(model_ref, '/') > 1),
                      run_at INTEGER,
                      cadence_minutes INTEGER CHECK (cadence_minutes IS NULL OR cadence_minutes >= 1),
                      payload TEXT CHECK (payload IS NULL OR json_valid(payload)),
                      last_run_at INTEGER,
                      next_run_at INTEGER,
                      terminal_state TEXT CHECK (terminal_state IN ('completed', 'expired', 'cancelled')),
                      terminal_reason TEXT,
                      lock_token TEXT,
                      lock_expires_at INTEGER,
                      created_at INTEGER NOT NULL,
                      updated_at INTEGER NOT NULL,
                      CHECK (schedule_type <> 'recurring' OR cadence_minutes IS NOT NULL)
                    );
                    CREATE INDEX jobs_type ON jobs(type);
                    CREATE INDEX jobs_due ON jobs(next_run_at) WHERE terminal_state IS NULL;

                    CREATE TABLE job_runs (
                      id TEXT PRIMARY KEY NOT NULL,
                      job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                      scheduled_for INTEGER NOT NULL,
                      started_at INTEGER NOT NULL,
                      finished_at INTEGER,
                      status TEXT NOT NULL CHECK (status IN ('success', 'failed', 'skipped')),
                      error_code TEXT,
                      error_message TEXT,
                      result_json TEXT CHECK (result_json IS NULL OR json_valid(result_json)),
                      model_ref TEXT,
                      model_source TEXT CHECK (model_source IS NULL OR model_source IN
                        ('job', 'flow_default', 'global_default', 'fallback_global_default')),
                      created_at INTEGER NOT NULL
                    );
                    CREATE INDEX job_runs_by_job ON job_runs(job_id, created_at DESC);

                    CREATE TABLE task_audit (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,
                      task_id TEXT NOT NULL,
                      action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete', 'run_now')),
                      lane TEXT NOT NULL,
                      actor TEXT,
                      before_json TEXT CHECK (before_json IS NULL OR json_valid(before_json)),
                      after_json TEXT CHECK (after_json IS NULL OR json_valid(after_json)),
                      metadata_json TEXT CHECK (metadata_json IS NULL OR json_valid(metadata_json)),
                      created_at INTEGER NOT NULL
                    );
                    CREATE INDEX task_audit_by_task ON task_audit(task_id, id DESC);

                    CREATE TABLE command_audit (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,
                      command TEXT NOT NULL,
                      status TEXT NOT NULL CHECK (status IN ('success', 'failed', 'denied')),
                      error_message TEXT,
                      metadata_json TEXT CHECK (metadata_json IS NULL OR json_valid(metadata_json)),
                      created_at INTEGER NOT NULL
                    );
                    CREATE INDEX command_audit_by_command ON command_audit(command, id DESC);
                    """
            )
        }
        migrator.registerMigration("v2-jobs-by-creation") { db in
            // Job listings page through jobs in creation order.
            try db.execute(sql: "CREATE INDEX jobs_by_creation ON jobs(created_at, id)")
        }
        migrator.registerMigration("v3-execution") { db in
            // The scheduler's states: a one-shot may end `failed`, a run is `running` until it ends. SQLite cannot
            // change a CHECK constraint, so both tables are rebuilt (GRDB defers foreign key checks to the end).
            try db.execute(
                sql: """
                    CREATE TABLE jobs_v3 (
                      id TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
                      type TEXT NOT NULL CHECK (type <> ''),
                      status TEXT NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'running', 'paused')),
                      schedule_type TEXT NOT NULL CHECK (schedule_type IN ('recurring', 'oneshot')),
                      profile_id TEXT,
                      model_ref TEXT CHECK (model_ref IS NULL OR instr(model_ref, '/') > 1),
                      run_at INTEGER,
                      cadence_minutes INTEGER CHECK (cadence_minutes IS NULL OR cadence_minutes >= 1),
                      payload TEXT CHECK (payload IS NULL OR json_valid(payload)),
                      last_run_at INTEGER,
                      next_run_at INTEGER,
                      terminal_state TEXT CHECK (terminal_state IN ('completed', 'failed', 'expired', 'cancelled')),
                      terminal_reason TEXT,
                      lock_token TEXT,
                      lock_expires_at INTEGER,
                      created_at INTEGER NOT NULL,
                      updated_at INTEGER NOT NULL,
                      CHECK (schedule_type <> 'recurring' OR cadence_minutes IS NOT NULL),
                      CHECK (status <> 'running' OR (lock_token IS NOT NULL AND lock_expires_at IS NOT NULL))
                    );
                    INSERT INTO jobs_v3 SELECT * FROM jobs;
                    DROP TABLE jobs;
                    ALTER TABLE jobs_v3 RENAME TO jobs;
                    CREATE INDEX jobs_type ON jobs(type);
                    CREATE INDEX jobs_due ON jobs(next_run_at) WHERE terminal_state IS NULL;
                    CREATE INDEX jobs_by_creation ON jobs(created_at, id);
                    CREATE INDEX jobs_leases ON jobs(lock_expires_at) WHERE status = 'running';

                    CREATE TABLE job_runs_v3 (
                      id TEXT PRIMARY KEY NOT NULL,
                      job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                      scheduled_for INTEGER NOT NULL,
                      started_at INTEGER NOT NULL,
                      finished_at INTEGER,
                      status TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed', 'skipped')),
                      error_code TEXT,
                      error_message TEXT,
                      result_json TEXT CHECK (result_json IS NULL OR json_valid(result_json)),
                      model_ref TEXT,
                      model_source TEXT CHECK (model_source IS NULL OR model_source IN
                        ('job', 'flow_default', 'global_default', 'fallback_global_default')),
                      created_at INTEGER NOT NULL,
                      session_id TEXT,
                      attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                      -- the watchdog run that reported this failure; each failure is reported once
                      reported_by TEXT
                    );
                    INSERT INTO job_runs_v3 (id, job_id, scheduled_for, started_at, finished_at, status, error_code,
                      error_message, result_json, model_ref, model_source, created_at)
                    SELECT id, job_id, scheduled_for, started_at, finished_at, status, error_code, error_message,
                      result_json, model_ref, model_source, created_at FROM job_runs;
                    DROP TABLE job_runs;
                    ALTER TABLE job_runs_v3 RENAME TO job_runs;
                    CREATE INDEX job_runs_by_job ON job_runs(job_id, created_at DESC);
                    CREATE INDEX job_runs_by_time ON job_runs(created_at);
                    CREATE INDEX job_runs_unfinished ON job_runs(job_id) WHERE finished_at IS NULL;
                    CREATE INDEX job_runs_unreported_failures ON job_runs(created_at)
                      WHERE status = 'failed' AND reported_by IS NULL;
                    """
            )
        }
        migrator.registerMigration("v4-audit-lane-and-origin") { db in
            // The lane a command came from (the TypeScript Otto recorded it), and the id an audit entry had in an
            // adopted TypeScript Otto database.
            try db.execute(
                sql: """
                    ALTER TABLE command_audit ADD COLUMN lane TEXT;
                    UPDATE command_audit SET lane = 'external_api';
                    ALTER TABLE command_audit ADD COLUMN original_id TEXT;
                    ALTER TABLE task_audit ADD COLUMN original_id TEXT;
                    """
            )
        }
        migrator.registerMigration("v5-answered-by-and-opencode-default") { db in
            // The model that answered each run, and `opencode_default` as a model source. Our own job_runs has a
            // CHECK on model_source, which SQLite cannot change: that table is rebuilt. An adopted TypeScript Otto
            // table has no such CHECK and is never rebuilt: it only gains the column.
            let sql =
                try String.fetchOne(
                    db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'job_runs'") ?? ""
            if sql.contains("'fallback_global_default')") {
                try db.execute(
                    sql: """
                        CREATE TABLE job_runs_v5 (
                          id TEXT PRIMARY KEY NOT NULL,
                          job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                          scheduled_for INTEGER NOT NULL,
                          started_at INTEGER NOT NULL,
                          finished_at INTEGER,
                          status TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed', 'skipped')),
                          error_code TEXT,
                          error_message TEXT,
                          result_json TEXT CHECK (result_json IS NULL OR json_valid(result_json)),
                          model_ref TEXT,
                          model_source TEXT CHECK (model_source IS NULL OR model_source IN
                            ('job', 'flow_default', 'global_default', 'fallback_global_default', 'opencode_default')),
                          created_at INTEGER NOT NULL,
                          session_id TEXT,
                          attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                          reported_by TEXT,
                          answered_by TEXT
                        );
                        INSERT INTO job_runs_v5 (id, job_id, scheduled_for, started_at, finished_at, status, error_code,
                          error_message, result_json, model_ref, model_source, created_at, session_id, attempts,
                          reported_by)
                        SELECT id, job_id, scheduled_for, started_at, finished_at, status, error_code, error_message,
                          result_json, model_ref, model_source, created_at, session_id, attempts, reported_by
                        FROM job_runs;
                        DROP TABLE job_runs;
                        ALTER TABLE job_runs_v5 RENAME TO job_runs;
                        CREATE INDEX job_runs_by_job ON job_runs(job_id, created_at DESC);
                        CREATE INDEX job_runs_by_time ON job_runs(created_at);
                        CREATE INDEX job_runs_unfinished ON job_runs(job_id) WHERE finished_at IS NULL;
                        CREATE INDEX job_runs_unreported_failures ON job_runs(created_at)
                          WHERE status = 'failed' AND reported_by IS NULL;
                        """
                )
            } else if !(try db.columns(in: "job_runs").contains { $0.name == "answered_by" }) {
                try db.execute(sql: "ALTER TABLE job_runs ADD COLUMN answered_by TEXT")
            }
        }
        registerTelegramMigration(&migrator)
        return migrator
    }
}
