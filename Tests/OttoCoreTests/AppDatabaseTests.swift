import Foundation
import GRDB
import OttoContracts
import OttoTestSupport
import Testing

@testable import OttoCore

@Suite struct AppDatabaseTests {
    static func job(_ id: String, modelRef: String? = nil, type: String = "report") -> Job {
        Job(
            id: id,
            type: type,
            scheduleType: .recurring,
            modelRef: modelRef,
            runAt: 1_000,
            cadenceMinutes: 60,
            payload: #"{"prompt":"summarise my inbox"}"#,
            nextRunAt: 1_000,
            createdAt: 1_000,
            updatedAt: 1_000
        )
    }

    @Test func migrationsAreAppliedOnceAndRecorded() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let first = try AppDatabase.open(path: home.stateDatabasePath)
        #expect(try first.appliedMigrations() == ["v1-jobs-runs-audit", "v2-jobs-by-creation"])
        try await first.insertJob(Self.job("kept"))

        // Opening the same file again migrates nothing and keeps the data.
        let second = try AppDatabase.open(path: home.stateDatabasePath)
        #expect(try second.appliedMigrations() == ["v1-jobs-runs-audit", "v2-jobs-by-creation"])
        #expect(try await second.job(id: "kept") != nil)
        let rows = try await second.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations")
        }
        #expect(rows == 2)
        let journal = try await second.writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        let tables = try await second.writer.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        }
        #expect(Set(tables).isSuperset(of: ["jobs", "job_runs", "task_audit", "command_audit"]))
    }

    @Test func modelRefRoundTripsExactly() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let database = try AppDatabase.open(path: home.stateDatabasePath)
        try await database.insertJob(Self.job("j1"))
        #expect(try await database.job(id: "j1")?.modelRef == nil)

        let set = try await database.updateJobModelRef(
            id: "j1", modelRef: "nano-gpt/NousResearch 2/hermes-4-405b", at: 2_000)
        #expect(set.before.modelRef == nil)
        #expect(set.after.modelRef == "nano-gpt/NousResearch 2/hermes-4-405b")
        #expect(try await database.job(id: "j1")?.modelRef == "nano-gpt/NousResearch 2/hermes-4-405b")
        #expect(try await database.job(id: "j1")?.updatedAt == 2_000)

        try await database.updateJobModelRef(
            id: "j1", modelRef: "cloudflare-ai-gateway/workers-ai/@cf/baai/bge-m3", at: 3_000)
        #expect(try await database.job(id: "j1")?.modelRef == "cloudflare-ai-gateway/workers-ai/@cf/baai/bge-m3")

        try await database.updateJobModelRef(id: "j1", modelRef: nil, at: 4_000)
        #expect(try await database.job(id: "j1")?.modelRef == nil)
        let raw = try database.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT model_ref IS NULL AS modelRefIsNull FROM jobs WHERE id = 'j1'")
        }
        #expect(raw?["modelRefIsNull"] == true)
        await #expect(throws: JobStoreError.notFound("nope")) {
            try await database.updateJobModelRef(id: "nope", modelRef: nil, at: 1)
        }
    }

    @Test func theSchemaRejectsInvalidRows() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let database = try AppDatabase.open(path: home.stateDatabasePath)
        try await database.insertJob(Self.job("j1"))
        await #expect(throws: JobStoreError.duplicateId("j1")) { try await database.insertJob(Self.job("j1")) }
        await #expect(throws: DatabaseError.self) { try await database.insertJob(Self.job("j2", modelRef: "no-slash")) }
        await #expect(throws: DatabaseError.self) { try await database.insertJob(Self.job("j3", type: "")) }
        var recurringWithoutCadence = Self.job("j4")
        recurringWithoutCadence.cadenceMinutes = nil
        await #expect(throws: DatabaseError.self) { try await database.insertJob(recurringWithoutCadence) }
        var badPayload = Self.job("j5")
        badPayload.payload = "{not json"
        await #expect(throws: DatabaseError.self) { try await database.insertJob(badPayload) }
        #expect(try await database.jobs().map(\.id) == ["j1"])
    }

    @Test func jobsRunsAndAuditsAreStoredAndListedNewestFirst() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let database = try AppDatabase.open(path: home.stateDatabasePath)
        try await database.insertJob(Self.job("a", type: "report"))
        try await database.insertJob(Self.job("b", type: "digest"))
        #expect(try await database.jobs(type: "digest").map(\.id) == ["b"])
        #expect(try await database.jobs().count == 2)

        for index in 0..<5 {
            try await database.insertRun(
                JobRun(
                    id: "run-\(index)",
                    jobId: "a",
                    scheduledFor: Int64(index),
                    startedAt: Int64(index),
                    finishedAt: Int64(index) + 1,
                    status: index == 3 ? .failed : .success,
                    errorCode: index == 3 ? "model_unavailable" : nil,
                    result: #"{"ok":true}"#,
                    modelRef: "openai/gpt-5",
                    modelSource: .fallbackGlobalDefault,
                    createdAt: Int64(index)
                )
            )
        }
        let page = try await database.runs(jobId: "a", limit: 2, offset: 1)
        #expect(page.total == 5)
        #expect(page.runs.map(\.id) == ["run-3", "run-2"])
        #expect(page.runs[0].status == .failed)
        #expect(page.runs[0].modelSource == .fallbackGlobalDefault)

        for action in [TaskAuditEntry.Action.create, .update, .runNow] {
            try await database.appendTaskAudit(
                TaskAuditEntry(
                    taskId: "a",
                    action: action,
                    lane: "external",
                    actor: "operator",
                    before: nil,
                    after: #"{"modelRef":null}"#,
                    metadata: nil,
                    createdAt: 5
                )
            )
        }
        #expect(try await database.taskAudit(taskId: "a", limit: 2).map(\.action) == [.runNow, .update])

        try await database.appendCommandAudit(
            CommandAuditEntry(
                command: "external_models_refresh", status: .success, errorMessage: nil, metadata: nil, createdAt: 1)
        )
        try await database.appendCommandAudit(
            CommandAuditEntry(
                command: "external_models_defaults_update",
                status: .failed,
                errorMessage: "stale",
                metadata: #"{"before":{}}"#,
                createdAt: 2
            )
        )
        #expect(
            try await database.commandAudit(limit: 10).map(\.command) == [
                "external_models_defaults_update", "external_models_refresh",
            ])
        #expect(try await database.commandAudit(limit: 10, command: "external_models_refresh").count == 1)
    }
}

@Suite struct JobListingTests {
    @Test func pagesCoverEveryJobOnceInCreationOrderEvenWithEqualTimes() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let database = try AppDatabase.open(path: home.stateDatabasePath)
        // Seven jobs, most created in the same millisecond, so the page cursor must break ties by id.
        let ids = ["g", "c", "a", "f", "b", "e", "d"]
        for (index, id) in ids.enumerated() {
            var job = AppDatabaseTests.job(id, type: index == 0 ? "digest" : "report")
            job.createdAt = index == 0 ? 500 : 1_000
            try await database.insertJob(job)
        }
        let catalog = FixedCatalog(["openai/gpt-5"], globalDefault: "openai/gpt-5")
        let defaults = FlowDefaultsStore(
            path: home.configPath, initial: FlowDefaults(), logger: CapturedLogs().logger())
        let service = JobsService(
            database: database,
            resolver: ModelResolver(catalog: catalog, flowDefaults: defaults, logger: CapturedLogs().logger()),
            catalog: catalog
        )
        var pages: [[String]] = []
        try await service.list(type: nil, pageSize: 2) { page in pages.append(page.map(\.job.id)) }
        #expect(pages == [["g", "a"], ["b", "c"], ["d", "e"], ["f"]])
        var reports: [String] = []
        try await service.list(type: "report", pageSize: 4) { page in reports += page.map(\.job.id) }
        #expect(reports == ["a", "b", "c", "d", "e", "f"])
        #expect(
            try await service.list(type: nil).map(\.effectiveModel.ref) == Array(repeating: "openai/gpt-5", count: 7))
    }
}
