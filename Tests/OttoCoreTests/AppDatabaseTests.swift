import Foundation
import GRDB
import OttoContracts
import OttoTestSupport
import Synchronization
import Testing

@testable import OttoCore

/// A state database in a temporary home with the jobs service over it, on a clock the test moves.
struct JobsFixture {
    static let models = [
        "openai/gpt-5", "nano-gpt/NousResearch 2/hermes-4-405b", "cloudflare-ai-gateway/workers-ai/@cf/baai/bge-m3",
    ]

    let home: TemporaryHome
    let database: AppDatabase
    let service: JobsService
    let clock: TestClock

    init() throws {
        home = try TemporaryHome()
        database = try AppDatabase.open(path: home.stateDatabasePath)
        let catalog = FixedCatalog(Self.models, globalDefault: "openai/gpt-5")
        let defaults = FlowDefaultsStore(
            path: home.configPath, initial: FlowDefaults(), logger: CapturedLogs().logger())
        let clock = TestClock()
        self.clock = clock
        service = JobsService(
            database: database,
            resolver: ModelResolver(catalog: catalog, flowDefaults: defaults, logger: CapturedLogs().logger()),
            catalog: catalog,
            now: { Date(timeIntervalSince1970: Double(clock.milliseconds.withLock { $0 }) / 1000) }
        )
    }

    func at(_ milliseconds: Int64) { clock.milliseconds.withLock { $0 = milliseconds } }

    @discardableResult
    func create(_ id: String, type: String = "report", modelRef: String? = nil) async throws -> Job {
        try await service.create(
            Job(
                id: id, type: type, scheduleType: .recurring,
                modelRef: modelRef.map { try ModelRef(parsing: $0) }, cadenceMinutes: 60,
                payload: JSONText(parsing: #"{"prompt": "summarise my inbox", "tags": ["a", 1.5, null]}"#),
                createdAt: 0, updatedAt: 0),
            actor: "test")
    }

    func setModel(_ id: String, _ ref: String?) async throws -> Job {
        var patch = JobPatch()
        patch.modelRef = .some(try ref.map { try ModelRef(parsing: $0) })
        return try await service.update(id: id, patch, actor: "test")
    }
}

final class TestClock: Sendable {
    let milliseconds = Mutex<Int64>(1_000)
}

@Suite struct AppDatabaseTests {
    @Test func migrationsAreAppliedOnceAndRecorded() async throws {
        let fixture = try JobsFixture()
        defer { fixture.home.remove() }
        #expect(
            try fixture.database.appliedMigrations() == [
                "v1-jobs-runs-audit", "v2-jobs-by-creation", "v3-execution", "v4-audit-lane-and-origin",
                "v5-answered-by-and-opencode-default", "v6-telegram",
            ])
        try await fixture.create("kept")

        // Opening the same file again migrates nothing and keeps the data.
        let second = try AppDatabase.open(path: fixture.home.stateDatabasePath)
        #expect(
            try second.appliedMigrations() == [
                "v1-jobs-runs-audit", "v2-jobs-by-creation", "v3-execution", "v4-audit-lane-and-origin",
                "v5-answered-by-and-opencode-default", "v6-telegram",
            ])
        #expect(try await second.job(id: "kept") != nil)
        let rows = try await second.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations")
        }
        #expect(rows == 6)
        let journal = try await second.writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        let tables = try await second.writer.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        }
        #expect(
            Set(tables).isSuperset(of: [
                "jobs", "job_runs", "task_audit", "command_audit", "telegram_updates", "telegram_outbox",
                "telegram_poller", "session_bindings",
            ]))
    }

    @Test func everyJobFieldRoundTripsThroughItsColumn() async throws {
        let fixture = try JobsFixture()
        defer { fixture.home.remove() }
        let job = Job(
            id: "weekly/report ü", type: "report", status: .paused, scheduleType: .oneshot, profileId: "me",
            modelRef: try ModelRef(parsing: "nano-gpt/NousResearch 2/hermes-4-405b"), runAt: 5, cadenceMinutes: 7,
            payload: JSONText(validated: #"{"prompt": "a \"quoted\"\nline"}"#), lastRunAt: 3, nextRunAt: 9,
            terminalState: .expired, terminalReason: "too late", createdAt: 11, updatedAt: 13)
        try await fixture.database.createJob(job, lane: "test", actor: nil)
        #expect(try await fixture.database.job(id: job.id) == job)
        let row = try fixture.database.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [job.id])
        }
        #expect(row?["schedule_type"] == "oneshot")
        #expect(row?["model_ref"] == "nano-gpt/NousResearch 2/hermes-4-405b")
        #expect(row?["payload"] == #"{"prompt": "a \"quoted\"\nline"}"#)
        #expect(row?["terminal_state"] == "expired")
    }

    @Test func modelRefRoundTripsExactlyAndEachChangeIsAuditedAsTheAPIShowsTheJob() async throws {
        let fixture = try JobsFixture()
        defer { fixture.home.remove() }
        try await fixture.create("j1")
        #expect(try await fixture.database.job(id: "j1")?.modelRef == nil)

        fixture.at(2_000)
        let set = try await fixture.setModel("j1", "nano-gpt/NousResearch 2/hermes-4-405b")
        #expect(set.modelRef?.description == "nano-gpt/NousResearch 2/hermes-4-405b")
        let stored = try #require(try await fixture.database.job(id: "j1"))
        #expect(stored.modelRef?.description == "nano-gpt/NousResearch 2/hermes-4-405b")
        #expect(stored.updatedAt == 2_000)

        let audit = try await fixture.service.audit(id: "j1", limit: 10)
        #expect(audit.map(\.action) == [.update, .create])
        // The audit's snapshots are the job's API encoding, byte for byte.
        #expect(audit[0].after?.text == String(decoding: try CompactJSONEncoder().encode(stored), as: UTF8.self))
        #expect(audit[0].before?.value?["modelRef"] == .null)
        #expect(audit[0].after?.value?["modelRef"] == .string("nano-gpt/NousResearch 2/hermes-4-405b"))

        _ = try await fixture.setModel("j1", "cloudflare-ai-gateway/workers-ai/@cf/baai/bge-m3")
        #expect(
            try await fixture.database.job(id: "j1")?.modelRef?.description
                == "cloudflare-ai-gateway/workers-ai/@cf/baai/bge-m3")
        _ = try await fixture.setModel("j1", nil)
        #expect(try await fixture.database.job(id: "j1")?.modelRef == nil)
        let raw = try fixture.database.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT model_ref IS NULL AS modelRefIsNull FROM jobs WHERE id = 'j1'")
        }
        #expect(raw?["modelRefIsNull"] == true)
        await #expect(throws: DomainError.notFound("no job with id \"nope\"")) {
            try await fixture.setModel("nope", nil)
        }
    }

    @Test func theSchemaRejectsInvalidRows() async throws {
        let fixture = try JobsFixture()
        defer { fixture.home.remove() }
        try await fixture.create("j1")
        await #expect(throws: DomainError.conflict("a job with id \"j1\" already exists")) {
            try await fixture.create("j1")
        }
        let columns = "id, type, schedule_type, cadence_minutes, model_ref, payload, created_at, updated_at"
        for values in [
            "'j2', 'report', 'recurring', 60, 'no-slash', NULL, 1, 1",
            "'j3', '', 'recurring', 60, NULL, NULL, 1, 1",
            "'j4', 'report', 'recurring', NULL, NULL, NULL, 1, 1",
            "'j5', 'report', 'recurring', 60, NULL, '{not json', 1, 1",
        ] {
            await #expect(throws: DatabaseError.self) {
                try await fixture.database.writer.write { db in
                    try db.execute(sql: "INSERT INTO jobs (\(columns)) VALUES (\(values))")
                }
            }
        }
        #expect(try await fixture.service.list().map(\.job.id) == ["j1"])
    }

    @Test func runsAndAuditsAreStoredAndListedNewestFirst() async throws {
        let fixture = try JobsFixture()
        defer { fixture.home.remove() }
        let database = fixture.database
        try await fixture.create("a", type: "report")
        try await fixture.create("b", type: "digest")
        #expect(try await fixture.service.list(type: "digest").map(\.job.id) == ["b"])

        for index in 0..<5 {
            // No service records runs yet (the scheduler will); the database primitive stands in for it.
            try await database.insertRun(
                JobRun(
                    id: "run-\(index)",
                    jobId: "a",
                    scheduledFor: Int64(index),
                    startedAt: Int64(index),
                    finishedAt: Int64(index) + 1,
                    status: index == 3 ? .failed : .success,
                    errorCode: index == 3 ? "model_unavailable" : nil,
                    result: JSONText(validated: #"{"ok":true}"#),
                    modelRef: try ModelRef(parsing: "openai/gpt-5"),
                    modelSource: .fallbackGlobalDefault,
                    createdAt: Int64(index)
                )
            )
        }
        let page = try await fixture.service.runs(id: "a", limit: 2, offset: 1)
        #expect(page.total == 5)
        #expect(page.runs.map(\.id) == ["run-3", "run-2"])
        #expect(page.runs[0].status == .failed)
        #expect(page.runs[0].modelSource == .fallbackGlobalDefault)
        #expect(page.runs[0].result?.text == #"{"ok":true}"#)

        _ = try await fixture.setModel("a", "openai/gpt-5")
        _ = try await fixture.service.runNow(id: "a", actor: "test")
        #expect(try await fixture.service.audit(id: "a", limit: 2).map(\.action) == [.runNow, .update])

        try await database.appendCommandAudit(
            CommandAuditEntry(
                command: "external_models_refresh", status: .success, errorMessage: nil, metadata: nil, createdAt: 1)
        )
        let stored = try await database.appendCommandAudit(
            CommandAuditEntry(
                command: "external_models_defaults_update",
                status: .failed,
                errorMessage: "stale",
                metadata: JSONText(validated: #"{"before":{}}"#),
                createdAt: 2
            )
        )
        #expect(stored.id != nil)
        #expect(
            try await database.commandAudit(limit: 10).map(\.command) == [
                "external_models_defaults_update", "external_models_refresh",
            ])
        #expect(try await database.commandAudit(limit: 10, command: "external_models_refresh").count == 1)
    }
}

@Suite struct JobListingTests {
    @Test func pagesCoverEveryJobOnceInCreationOrderEvenWithEqualTimes() async throws {
        let fixture = try JobsFixture()
        defer { fixture.home.remove() }
        // Seven jobs, most created in the same millisecond, so the page cursor must break ties by id.
        let ids = ["g", "c", "a", "f", "b", "e", "d"]
        for (index, id) in ids.enumerated() {
            fixture.at(index == 0 ? 500 : 1_000)
            try await fixture.create(id, type: index == 0 ? "digest" : "report")
        }
        var pages: [[String]] = []
        var cursor: JobCursor?
        repeat {
            cursor = try await fixture.service.list(type: nil, after: cursor, limit: 2) { page in
                pages.append(page.map(\.job.id))
            }
        } while cursor != nil
        #expect(pages == [["g", "a"], ["b", "c"], ["d", "e"], ["f"]])
        var reports: [String] = []
        let end = try await fixture.service.list(type: "report", after: nil, limit: nil) { reports += $0.map(\.job.id) }
        #expect(end == nil)
        #expect(reports == ["a", "b", "c", "d", "e", "f"])
        #expect(
            try await fixture.service.list().map(\.effectiveModel.ref?.description)
                == Array(repeating: "openai/gpt-5", count: 7))
    }
}
