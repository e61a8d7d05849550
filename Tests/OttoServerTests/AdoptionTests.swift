import Foundation
import GRDB
import OttoContracts
import OttoCore
import OttoTestSupport
import Testing

/// Starting on the TypeScript Otto's state database (a copy of the fixture with its exact schema): everything is
/// adopted and readable through the API, nothing of the original is changed or lost, and going back stays possible.
@Suite struct AdoptionTests {
    /// The fixture, opened read-only, for what the TypeScript Otto stored.
    static func original() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: Fixtures.originalOttoDatabase, configuration: configuration)
    }

    static func json(_ text: String?) -> JSONValue? { text.flatMap { JSONValue(jsonText: $0) } }

    /// A row as plain values, which can cross into the API harness's closures.
    struct Values: Sendable, Equatable {
        let columns: [String: DatabaseValue]
        init(_ row: Row) { columns = Dictionary(row, uniquingKeysWith: { first, _ in first }) }
        subscript<T: DatabaseValueConvertible>(_ column: String) -> T? {
            columns[column].flatMap { T.fromDatabaseValue($0) }
        }
    }

    /// A read on the calling thread (the queue is a test's own file).
    static func sync<T>(_ queue: DatabaseQueue, _ body: (Database) throws -> T) throws -> T { try queue.read(body) }

    static func fetch(_ db: Database, _ sql: String) throws -> [Values] {
        try Row.fetchAll(db, sql: sql).map(Values.init)
    }

    static let systemJobs: Set<String> = ["system-heartbeat", "system-watchdog-failures", "system-daily-eod-learning"]
    static let interruptedJob = "8c7e134f-5dfb-43d1-ac4a-3698aa2ca1af"
    static let interruptedRun = "976699cc-6ed5-41bf-a585-552fac954ab5"

    @Test func everyJobRunAndAuditEntryIsAdoptedAndReadableThroughTheAPI() async throws {
        let original = try Self.original()
        let jobs = try Self.sync(original) { try Self.fetch($0, "SELECT * FROM jobs") }
        let runs = try Self.sync(original) { try Self.fetch($0, "SELECT * FROM job_runs") }
        let taskAudit = try Self.sync(original) {
            try Self.fetch($0, "SELECT * FROM task_audit_log ORDER BY created_at, rowid")
        }
        let commandAudit = try Self.sync(original) {
            try Self.fetch($0, "SELECT * FROM command_audit_log ORDER BY created_at, rowid")
        }
        #expect(jobs.count == 14 && runs.count == 26 && taskAudit.count == 10 && commandAudit.count == 4)

        try await APIHarness.run(config: "{}", prepare: { try $0.installOriginalOttoDatabase() }) { api in
            let report = try #require(api.runtime.database.adoption)
            #expect(report.jobs == 14 && report.runs == 26)
            #expect(report.taskAuditEntries == 10 && report.commandAuditEntries == 4)
            let adoptedLog = api.logs.all.first { $0.message == "adopted the TypeScript Otto's state database" }
            #expect(adoptedLog?.metadata["backup"] == report.backupPath)
            #expect(adoptedLog?.metadata["jobs"] == "14")

            let listed = try await api.call(.get, "/external/jobs").decode(JobListResponse.self).jobs
            #expect(listed.count == jobs.count)
            let byId = Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0) })
            for row in jobs {
                let id: String = row["id"] ?? ""
                let job = try #require(byId[id], "job \(id) was not adopted")
                #expect(job.type == row["type"])
                #expect(job.scheduleType.rawValue == row["schedule_type"])
                #expect(job.profileId == row["profile_id"])
                #expect(job.modelRef?.description == row["model_ref"])
                #expect(job.payload?.value == Self.json(row["payload"]), "payload of \(id)")
                #expect(job.createdAt == row["created_at"])
                #expect(job.terminalState?.rawValue == row["terminal_state"])
                #expect(job.terminalReason == row["terminal_reason"])
                guard !Self.systemJobs.contains(id), id != Self.interruptedJob else { continue }
                // Untouched by start-up: every field as the original stored it.
                #expect(job.runAt == row["run_at"])
                #expect(job.cadenceMinutes == row["cadence_minutes"])
                #expect(job.nextRunAt == row["next_run_at"])
                #expect(job.lastRunAt == row["last_run_at"])
                #expect(job.updatedAt == row["updated_at"])
                #expect(job.status.rawValue == row["status"])
            }
            // A model id with a space came through, and is what the job resolves to.
            let spaced = try #require(listed.first { $0.modelRef?.modelId == "NousResearch 2/hermes-4-405b" })
            #expect(spaced.effectiveModel.source == .job)

            for row in runs {
                let jobId: String = row["job_id"] ?? ""
                let id: String = row["id"] ?? ""
                let run = try await api.call(.get, "/external/jobs/\(jobId)/runs/\(id)").decode(JobRunResponse.self).run
                #expect(run.scheduledFor == row["scheduled_for"])
                #expect(run.startedAt == row["started_at"])
                #expect(run.createdAt == row["created_at"])
                #expect(run.result?.value == Self.json(row["result_json"]), "result of \(id)")
                if id == Self.interruptedRun { continue }
                #expect(run.finishedAt == row["finished_at"])
                #expect(run.status.rawValue == row["status"])
                #expect(run.errorCode == row["error_code"])
                #expect(run.errorMessage == row["error_message"])
            }
            let total = try await api.call(.get, "/external/jobs/\(Self.interruptedJob)/runs").decode(
                JobRunsResponse.self)
            #expect(total.total == runs.filter { $0["job_id"] == Self.interruptedJob as String? }.count)

            // Task audit: per job, newest first, content and time as the original's.
            for (taskId, entries) in Dictionary(grouping: taskAudit, by: { $0["task_id"] ?? "" }) {
                let adopted = try await api.call(.get, "/external/jobs/\(taskId)/audit?limit=200")
                    .decode(TaskAuditResponse.self).entries.filter { $0.lane != "system" }
                #expect(adopted.count == entries.count)
                for (entry, row) in zip(adopted, entries.reversed()) {
                    #expect(entry.action.rawValue == row["action"])
                    #expect(entry.lane == row["lane"])
                    #expect(entry.actor == row["actor"])
                    #expect(entry.before?.value == Self.json(row["before_json"]))
                    #expect(entry.after?.value == Self.json(row["after_json"]))
                    #expect(entry.metadata?.value == Self.json(row["metadata_json"]))
                    #expect(entry.createdAt == row["created_at"])
                }
            }
            let commands = try await api.call(.get, "/external/audit?limit=200").decode(CommandAuditResponse.self)
                .entries
            #expect(commands.count == commandAudit.count)
            for (entry, row) in zip(commands, commandAudit.reversed()) {
                #expect(entry.command == row["command"])
                #expect(entry.lane == row["lane"])
                #expect(entry.status.rawValue == row["status"])
                #expect(entry.errorMessage == row["error_message"])
                #expect(entry.metadata?.value == Self.json(row["metadata_json"]))
                #expect(entry.createdAt == row["created_at"])
            }
        }
    }

    @Test func startUpRecoversTheInterruptedRunAndTakesOverTheSystemJobs() async throws {
        try await APIHarness.run(config: "{}", prepare: { try $0.installOriginalOttoDatabase() }) { api in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let run = try await api.call(.get, "/external/jobs/\(Self.interruptedJob)/runs/\(Self.interruptedRun)")
                .decode(JobRunResponse.self).run
            #expect(run.status == .failed)
            #expect(run.errorCode == "interrupted")
            #expect(run.finishedAt != nil)
            let job = try await api.job(Self.interruptedJob)
            #expect(job.status == .idle)
            #expect(job.nextRunAt! > now, "scheduled again, at its next slot")

            let heartbeat = try await api.job("system-heartbeat")
            #expect(heartbeat.cadenceMinutes == 240, "our cadence, not the original's 1 minute")
            #expect(heartbeat.nextRunAt! >= now + 239 * 60_000, "first run one cadence after adoption")
            #expect(heartbeat.status == .idle)
            let watchdog = try await api.job("system-watchdog-failures")
            #expect(watchdog.cadenceMinutes == 30)
            #expect(watchdog.nextRunAt! >= now + 29 * 60_000)

            let learning = try await api.job("system-daily-eod-learning")
            #expect(learning.status == .paused)
            #expect(learning.managedBy == .system)
            #expect(
                api.logs.all.contains {
                    $0.level == .warning && $0.metadata["job"] == "system-daily-eod-learning"
                        && $0.message.contains("no runner for its type")
                })
            let runNow = try await api.call(.post, "/external/jobs/system-daily-eod-learning/run-now")
            #expect(runNow.status == .conflict)
        }
    }

    @Test func theOriginalIsLeftAsItWasAndTheBackupOpens() async throws {
        try await APIHarness.run(config: "{}", prepare: { try $0.installOriginalOttoDatabase() }) { api in
            let report = try #require(api.runtime.database.adoption)
            let original = try Self.original()
            var readOnly = Configuration()
            readOnly.readonly = true
            let adopted = try DatabaseQueue(path: api.home.stateDatabasePath, configuration: readOnly)
            let originalTables = try Self.sync(original) {
                try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            }
            // Every table but the two Otto runs on is row for row as it was; the two keep every column.
            for table in originalTables {
                let columns = try Self.sync(original) { try $0.columns(in: table).map(\.name) }
                let adoptedColumns = try Self.sync(adopted) { try $0.columns(in: table).map(\.name) }
                #expect(Array(adoptedColumns.prefix(columns.count)) == columns, "\(table) kept its columns in order")
                guard table != "jobs", table != "job_runs" else { continue }
                let list = columns.map { $0.quotedDatabaseIdentifier }.joined(separator: ", ")
                let before = try Self.sync(original) {
                    try Row.fetchAll($0, sql: "SELECT \(list) FROM \(table) ORDER BY rowid")
                }
                let after = try Self.sync(adopted) {
                    try Row.fetchAll($0, sql: "SELECT \(list) FROM \(table) ORDER BY rowid")
                }
                #expect(before == after, "\(table) changed")
            }
            let migrations = try Self.sync(adopted) {
                try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM schema_migrations")
            }
            #expect(migrations == 22)
            // Rows of the original's job_runs keep their values (but for the interrupted run, now closed).
            let originalRuns = try Self.sync(original) {
                try Row.fetchAll(
                    $0, sql: "SELECT * FROM job_runs WHERE id <> ? ORDER BY rowid", arguments: [Self.interruptedRun])
            }
            let columns = try Self.sync(original) { try $0.columns(in: "job_runs").map(\.name) }
            let adoptedRuns = try Self.sync(adopted) {
                try Row.fetchAll(
                    $0, sql: "SELECT \(columns.joined(separator: ", ")) FROM job_runs WHERE id <> ? ORDER BY rowid",
                    arguments: [Self.interruptedRun])
            }
            #expect(originalRuns == adoptedRuns)

            // The backup is a complete copy of the original, without anything of ours.
            #expect(report.backupPath.hasPrefix(api.home.stateDatabasePath + ".before-swift-"))
            let backup = try DatabaseQueue(path: report.backupPath, configuration: readOnly)
            #expect(try Self.sync(backup) { try $0.tableExists("grdb_migrations") } == false)
            #expect(try Self.sync(backup) { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM jobs") } == 14)
            #expect(try Self.sync(backup) { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM schema_migrations") } == 22)

            // A second start finds nothing to adopt and makes no new backup.
            let again = try await OttoRuntime.bootstrap(
                environment: api.home.environment(openCode: api.server.baseURL), logger: CapturedLogs().logger())
            #expect(again.database.adoption == nil)
            let backups = try FileManager.default.contentsOfDirectory(atPath: api.home.ottoHome + "/data")
                .filter { $0.contains(".before-swift-") }
            #expect(backups.count == 1)
            #expect(try await api.call(.get, "/external/jobs").decode(JobListResponse.self).jobs.count == 14)
        }
    }

    @Test func thePausedSystemJobIsNeverPromptedWhileTheOthersRun() async throws {
        try await APIHarness.run(
            config: #"{"scheduler": {"tickSeconds": 1}}"#, runningServices: true,
            prepare: { try $0.installOriginalOttoDatabase() }
        ) { api in
            // The adopted operator jobs are overdue: each runs once, on the model it chose.
            _ = try await api.finishedRuns("a6cecc1b-78e5-4061-b311-d8a3c2ce6f44", count: 1)
            try await Task.sleep(for: .milliseconds(500))
            let prompts = api.server.standIn.receivedPrompts
            #expect(!prompts.isEmpty)
            #expect(!prompts.contains { $0.sessionTitle.contains("system-daily-eod-learning") })
            let runs = try await api.call(.get, "/external/jobs/system-daily-eod-learning/runs")
                .decode(JobRunsResponse.self)
            #expect(runs.runs.allSatisfy { $0.createdAt < 1_800_000_000_000 }, "no run of ours")
            let chosen = try #require(prompts.first { $0.sessionTitle.contains("a6cecc1b") })
            #expect(chosen.providerID == "openai" && chosen.modelID == "gpt-5")
        }
    }

    @Test func aPayloadThatIsNotJSONIsKeptAsAStringAndTheAPIStaysValidJSON() async throws {
        let prepare: (TemporaryHome) throws -> Void = { home in
            try home.installOriginalOttoDatabase()
            let queue = try DatabaseQueue(path: home.stateDatabasePath)
            try queue.write { db in
                try db.execute(
                    sql: "UPDATE jobs SET payload = ? WHERE id = ?",
                    arguments: [#"{"prompt": "cut off"#, "51431193-e6c3-4339-9a2b-8f1ff1fd42a2"])
            }
        }
        try await APIHarness.run(config: "{}", prepare: prepare) { api in
            let listing = try await api.call(.get, "/external/jobs")
            #expect(listing.json != nil, "the listing is valid JSON")
            let job = try await api.job("51431193-e6c3-4339-9a2b-8f1ff1fd42a2")
            #expect(job.payload?.value == .string(#"{"prompt": "cut off"#))
        }
    }

    @Test func theOriginalConfigStartsAndKeepsWhatOttoDoesNotKnow() async throws {
        let telegram =
            #""telegram": {"botToken": "123456:ABC-secret", "allowedChatIds": [42, 43], "quietHours": {"from": "22:00", "to": "07:00"}}"#
        try await withStandInOpenCode { server in
            let home = try TemporaryHome()
            defer { home.remove() }
            let text = """
                {
                  "ottoHome": "\(home.ottoHome)",
                  "opencode": {"hostname": "127.0.0.1", "port": \(server.port)},
                  \(telegram),
                  "modelManagement": {"flowDefaults": {"interactiveAssistant": null, "scheduledTasks": "openai/gpt-5", "watchdogFailures": null}}
                }
                """
            try home.writeConfig(text)
            let runtime = try await OttoRuntime.bootstrap(
                environment: home.environment(openCode: nil), logger: CapturedLogs().logger())
            #expect(runtime.flowDefaults.current().defaults.heartbeat == nil)
            #expect(runtime.flowDefaults.current().defaults.scheduledTasks == "openai/gpt-5")
            let models = ModelManagementService(
                catalog: runtime.catalog, flowDefaults: runtime.flowDefaults, resolver: runtime.resolver,
                database: runtime.database, logger: CapturedLogs().logger())
            var heartbeat = FlowDefaults()
            heartbeat.heartbeat = "openai/gpt-5"
            _ = try await models.updateDefaults(heartbeat, flows: [.heartbeat], ifMatch: nil)
            let written = try home.readConfig()
            #expect(written.contains(telegram), "the telegram section is kept byte for byte")
            #expect(written.contains(#""heartbeat": "openai/gpt-5""#))
            #expect(written.contains(#""scheduledTasks": "openai/gpt-5""#))
            #expect(JSONValue(jsonText: written) != nil, "still strict JSON")
        }
    }

    @Test func aThreeFlowPutLeavesTheHeartbeatAsItIs() async throws {
        try await APIHarness.run { api in
            let four = ModelsRoutesTests.defaultsJSON(["heartbeat": "openai/gpt-5"])
            #expect(try await api.call(.put, "/external/models/defaults", json: four).status == .ok)
            let three =
                #"{"flowDefaults": {"interactiveAssistant": "openai/gpt-5", "scheduledTasks": null, "watchdogFailures": null}}"#
            let reply = try await api.call(.put, "/external/models/defaults", json: three)
            #expect(reply.status == .ok, "\(reply.text)")
            let stored = try reply.decode(FlowDefaultsBody.self).flowDefaults
            #expect(stored.heartbeat == "openai/gpt-5")
            #expect(stored.interactiveAssistant == "openai/gpt-5")
            let missingOther = try await api.call(
                .put, "/external/models/defaults",
                json: #"{"flowDefaults": {"interactiveAssistant": null, "heartbeat": null, "watchdogFailures": null}}"#)
            #expect(missingOther.status == .badRequest)
            #expect(missingOther.error?.details?.map(\.path) == ["flowDefaults.scheduledTasks"])
        }
    }
}
