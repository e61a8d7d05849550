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

/// Memory per request is bounded: stored answers are capped, and pages of runs and jobs end by bytes as well as
/// by count, so 200 large rows never sit in memory for one request.
@Suite struct ResponseSizeTests {
    @Test func aRunsStoredAnswerIsCappedWithAMarkerSayingHowLongItWas() async throws {
        let config =
            #"{"heartbeat": {"enabled": false}, "watchdog": {"enabled": false}, "scheduler": {"tickSeconds": 1}}"#
        try await APIHarness.run(config: config, runningServices: true) { api in
            try await api.createJob(
                #"{"id": "long", "type": "report", "scheduleType": "oneshot", "runAt": 0, "payload": {"prompt": "[[size:3000000]] report"}}"#
            )
            var run: JobRun?
            for _ in 0..<300 {
                run = try await api.call(.get, "/external/jobs/long/runs").decode(JobRunsResponse.self).runs.first
                if run?.finishedAt != nil { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(run?.status == .success)
            guard case .string(let text)? = run?.result?.value?["text"] else {
                Issue.record("no text in \(String(describing: run?.result))")
                return
            }
            #expect(text.utf8.count <= 1024 * 1024)
            #expect(text.utf8.count > 1024 * 1024 - 200)
            // The stand-in's answer: the 3,000,000-byte part and a short second one.
            guard case .number(let full)? = run?.result?.value?["fullTextBytes"] else {
                Issue.record("no fullTextBytes")
                return
            }
            #expect(full > 3_000_000 && full < 3_000_200)
            #expect(text.hasSuffix("[… cut at 1 MiB: the full answer was \(Int(full)) bytes]"))
        }
    }

    @Test func aPageOfRunsEndsByBytesAndTheRestFollowAtTheNextOffset() async throws {
        try await APIHarness.run { api in
            try await api.createJob(JobsRoutesTests.recurring)
            let megabyte = String(repeating: "r", count: 1024 * 1024)
            for index in 0..<12 {
                try await api.runtime.database.insertRun(
                    JobRun(
                        id: "run-\(index)", jobId: "inbox", scheduledFor: Int64(index), startedAt: Int64(index),
                        finishedAt: Int64(index) + 1, status: .success,
                        result: JSONText(.object(["text": .string(megabyte)])), createdAt: Int64(index)))
            }
            var seen: [String] = []
            while seen.count < 12 {
                let reply = try await api.call(.get, "/external/jobs/inbox/runs?limit=200&offset=\(seen.count)")
                let page = try reply.decode(JobRunsResponse.self)
                #expect(page.total == 12)
                #expect(page.offset == seen.count)
                // 4 MiB of texts: three runs of 1 MiB and their JSON (and the last page the rest).
                #expect(page.runs.count == min(3, 12 - seen.count))
                // Streamed run by run, the body is exactly what the contract type encodes to.
                #expect(reply.text == String(decoding: try CompactJSONEncoder().encode(page), as: UTF8.self))
                guard !page.runs.isEmpty else { break }
                seen += page.runs.map(\.id)
            }
            #expect(Set(seen).count == 12)
        }
    }

    @Test func aPageOfJobsEndsByBytesAndTheListingIsStillWhole() async throws {
        try await APIHarness.run { api in
            let prompt = String(repeating: "j", count: 1_000_000)
            for index in 0..<10 {
                try await api.createJob(
                    #"{"id": "big-\#(index)", "type": "report", "scheduleType": "recurring", "cadenceMinutes": 5, "payload": {"prompt": "\#(prompt)"}}"#
                )
            }
            let page = try await api.runtime.database.jobsPage(type: nil, after: nil, limit: 1_000)
            // 2 MiB of payloads: two prompts of a million characters and their JSON.
            #expect(page.jobs.count == 2 && page.more, "\(page.jobs.count)")
            let all = try await api.call(.get, "/external/jobs").decode(JobListResponse.self)
            #expect(all.jobs.map(\.id) == (0..<10).map { "big-\($0)" })
            let limited = try await api.call(.get, "/external/jobs?limit=6").decode(JobListResponse.self)
            #expect(limited.jobs.count == 6 && limited.nextCursor != nil)
        }
    }
}
