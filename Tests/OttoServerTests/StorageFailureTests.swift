import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import OttoContracts
import OttoServer
import OttoTestSupport
import Testing

@testable import OttoCore

#if canImport(Glibc)
    import Glibc
#endif

/// A config write that the storage refuses (a full disk) is a 503 that changes nothing, not a 409.
@Suite struct StorageFailureTests {
    /// Makes the state database full, as a full disk does for SQLite (SQLITE_FULL): it may not grow past its
    /// current pages, and the free space left in them is taken by a filler table.
    static func fill(_ database: AppDatabase) async throws {
        try await database.writer.writeWithoutTransaction { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS test_filler (x BLOB)")
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(pages + 2)")
            for size in [4_000, 1_000, 200, 20, 1] {
                while true {
                    do {
                        try db.execute(sql: "INSERT INTO test_filler VALUES (zeroblob(?))", arguments: [size])
                    } catch {
                        break
                    }
                }
            }
        }
    }

    static func free(_ database: AppDatabase) async throws {
        try await database.writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA max_page_count = 1073741823")
            try db.execute(sql: "DELETE FROM test_filler")
        }
    }

    @Test func jobWritesOnAFullDiskAre503AndChangeNothing() async throws {
        try await APIHarness.run { api in
            // Its audit entries (the job before and after) need new pages.
            try await api.createJob(
                #"{"id": "inbox", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 60, "payload": {"prompt": "\#(String(repeating: "s", count: 30_000))"}}"#
            )
            try await Self.fill(api.runtime.database)
            let created = try await api.createJob(
                #"{"id": "more", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 5, "payload": {"prompt": "\#(String(repeating: "p", count: 20_000))"}}"#
            )
            #expect(created.status == .serviceUnavailable, "\(created.text.prefix(300))")
            #expect(created.error?.error == "storage_unavailable")
            #expect(created.error?.message.contains(api.home.stateDatabasePath) == true)
            #expect(created.error?.message.contains("disk is full") == true)
            #expect(try await api.call(.get, "/external/jobs/more").status == .notFound)
            let before = try await api.job("inbox")
            let runNow = try await api.call(.post, "/external/jobs/inbox/run-now")
            #expect(runNow.status == .serviceUnavailable, "\(runNow.text.prefix(300))")
            #expect(runNow.error?.error == "storage_unavailable")
            #expect(try await api.job("inbox").nextRunAt == before.nextRunAt)
            try await Self.free(api.runtime.database)
            #expect(try await api.call(.post, "/external/jobs/inbox/run-now").status == .ok)
        }
    }

    @Test func aRunThatEndsOnAFullDiskKeepsItsRealOutcome() async throws {
        let config =
            #"{"heartbeat": {"enabled": false}, "watchdog": {"enabled": false}, "scheduler": {"tickSeconds": 1, "leaseSeconds": 3}}"#
        try await APIHarness.run(config: config, runningServices: true) { api in
            try await api.createJob(
                #"{"id": "slow", "type": "report", "scheduleType": "oneshot", "runAt": 0, "payload": {"prompt": "[[sleep:1500]] [[size:100000]] hi"}}"#
            )
            for _ in 0..<200 where api.server.standIn.receivedPrompts.isEmpty {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Self.fill(api.runtime.database)
            // The run ends (after 1.5 s) while the disk is full, and its end cannot be written for 3 s more.
            try await Task.sleep(for: .seconds(4))
            #expect(api.logs.all.contains { $0.message.contains("could not record the end of a run; trying again") })
            try await Self.free(api.runtime.database)
            var run: JobRun?
            for _ in 0..<200 {
                run = try await api.call(.get, "/external/jobs/slow/runs").decode(JobRunsResponse.self).runs.first
                if run?.finishedAt != nil { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(run?.status == .success, "\(String(describing: run))")
            #expect(run?.errorCode == nil)
        }
    }

    @Test func aConfigWriteOnAFullDiskIs503AndChangesNothing() async throws {
        try await APIHarness.run { api in
            let path = api.home.configPath
            let directory = (path as NSString).deletingLastPathComponent
            let logs = CapturedLogs()
            // Exactly what AtomicFile.write reports on a full disk: writing its temporary file fails with ENOSPC.
            // (A full file system cannot be made here without mounting one.)
            let fullDisk = FlowDefaultsStore(
                path: path, initial: FlowDefaults(), logger: logs.logger(),
                writeFile: { _, _, _ throws(AtomicFile.WriteError) in
                    throw AtomicFile.WriteError(
                        path: directory + "/.config.jsonc.tmp-\(getpid())-42", operation: "write", errnoCode: ENOSPC)
                })
            let models = ModelManagementService(
                catalog: api.runtime.catalog, flowDefaults: fullDisk, resolver: api.runtime.resolver,
                database: api.runtime.database, logger: logs.logger())
            let services = ExternalAPIServices(models: models, jobs: api.runtime.jobs, token: api.runtime.apiToken)
            let before = try api.home.readConfig()
            let app = Application(router: buildRouter(services, logger: logs.logger()), logger: logs.logger())
            try await app.test(.router) { client in
                let response = try await client.execute(
                    uri: "/external/models/defaults", method: .put,
                    headers: [.authorization: "Bearer \(api.token)", .contentType: "application/json"],
                    body: ByteBuffer(string: ModelsRoutesTests.defaultsJSON(["heartbeat": "openai/gpt-5"])))
                #expect(response.status == .serviceUnavailable)
                let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(buffer: response.body))
                #expect(error.error == "storage_unavailable")
                #expect(error.message.contains(path))
                #expect(error.message.contains("No space left on device"))
                #expect(error.message.contains("nothing was changed"))
                #expect(!error.message.contains(".tmp-"), "the temporary file is no business of the client")
            }
            #expect(try api.home.readConfig() == before)
            #expect(fullDisk.current().defaults == FlowDefaults())
            let audit = try await api.runtime.database.commandAudit(limit: 1)
            #expect(audit.first?.status == .failed)
        }
    }
}
