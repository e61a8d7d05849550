import Foundation
import GRDB

/// What `otto doctor` learns from the state database without changing it: opened read-only, no migration, no
/// adoption, no journal-mode switch.
public struct DatabaseInspection: Sendable {
    public var exists: Bool
    /// `PRAGMA quick_check`: "ok", or its first complaint.
    public var quickCheck: String
    /// Migrations recorded that this Otto does not know (the file was written by a newer Otto).
    public var unknownMigrations: [String]
    public var jobModelRefs: [(jobId: String, modelRef: String)]
    public var pastLease: Int
    public var walBytes: Int64

    public static func inspect(path: String, now: Int64) -> Result<DatabaseInspection, InspectionError> {
        guard FileManager.default.fileExists(atPath: path) else {
            return .success(
                DatabaseInspection(
                    exists: false, quickCheck: "ok", unknownMigrations: [], jobModelRefs: [], pastLease: 0, walBytes: 0)
            )
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(2)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return .success(
                try queue.read { db in
                    let check = try String.fetchOne(db, sql: "PRAGMA quick_check(1)") ?? "no answer"
                    var known = Set<String>()
                    var unknown: [String] = []
                    if try db.tableExists("grdb_migrations") {
                        known = Set(AppDatabase.migrator.migrations)
                        unknown = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
                            .filter { !known.contains($0) }
                    }
                    var refs: [(String, String)] = []
                    var pastLease = 0
                    if try db.tableExists("jobs") {
                        let columns = try db.columns(in: "jobs").map(\.name)
                        if columns.contains("model_ref") {
                            refs = try Row.fetchAll(
                                db,
                                sql: """
                                    SELECT id, model_ref FROM jobs
                                    WHERE model_ref IS NOT NULL AND terminal_state IS NULL LIMIT 10000
                                    """
                            ).map { ($0["id"], $0["model_ref"]) }
                        }
                        if columns.contains("lock_expires_at") {
                            pastLease =
                                try Int.fetchOne(
                                    db,
                                    sql: """
                                        SELECT COUNT(*) FROM jobs WHERE status = 'running'
                                          AND (lock_expires_at IS NULL OR lock_expires_at < ?)
                                        """, arguments: [now]) ?? 0
                        }
                    }
                    let wal =
                        ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber)?
                        .int64Value ?? 0
                    return DatabaseInspection(
                        exists: true, quickCheck: check, unknownMigrations: unknown, jobModelRefs: refs,
                        pastLease: pastLease, walBytes: wal)
                })
        } catch let error as DatabaseError {
            return .failure(InspectionError(description: error.message ?? "SQLite error \(error.resultCode.rawValue)"))
        } catch {
            return .failure(InspectionError(description: "\(error)"))
        }
    }

    public struct InspectionError: Error, CustomStringConvertible {
        public let description: String
    }
}
