import Foundation
import GRDB
import OttoContracts
import OttoCore
import OttoTestSupport
import Testing

/// Adopting a TypeScript Otto database that is damaged or holds rows Otto cannot read: a file Otto must not take
/// is refused untouched, and one bad row is a problem of that job only.
@Suite struct AdoptionHardeningTests {
    /// Changes the installed copy of the original before Otto sees it.
    static func alter(_ home: TemporaryHome, _ sql: String) throws {
        let queue = try DatabaseQueue(path: home.stateDatabasePath)
        try queue.writeWithoutTransaction { db in try db.execute(sql: sql) }
        try queue.close()
    }

    static func files(_ home: TemporaryHome) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: home.ottoHome + "/data").sorted()
    }

    static let reminder = "b9d179e0-6c0f-44f5-b813-0c4237730edf"

    @Test(arguments: [
        ("DROP TABLE jobs", "has no jobs table"),
        ("DROP TABLE job_runs", "has no job_runs table"),
        ("DROP TABLE schema_migrations", "neither Otto's state database nor the TypeScript Otto's"),
        ("CREATE TABLE task_audit (x TEXT)", "already has a task_audit table"),
        ("ALTER TABLE job_runs DROP COLUMN result_json", "job_runs table has no result_json column"),
    ])
    func aCopyThatCannotBeAdoptedIsRefusedAndLeftByteForByte(sql: String, problem: String) async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.installOriginalOttoDatabase()
        // With foreign keys off, as the original's tables reference each other.
        try Self.alter(home, "PRAGMA foreign_keys = OFF; " + sql)
        let before = try Data(contentsOf: URL(fileURLWithPath: home.stateDatabasePath))
        let filesBefore = try Self.files(home)
        for _ in 0..<2 {
            do {
                _ = try AppDatabase.open(path: home.stateDatabasePath)
                Issue.record("\(sql): the copy was opened")
            } catch {
                let message = "\(error)"
                #expect(message.contains(home.stateDatabasePath) && message.contains(problem), "\(message)")
                #expect(!message.contains("\n") && !message.uppercased().contains("SELECT"), "\(message)")
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: home.stateDatabasePath)) == before, "\(sql) changed it")
        #expect(try Self.files(home) == filesBefore, "no backup, journal or WAL file is written")
    }

    @Test func aCorruptedCopyIsRefusedWithoutBackups() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.installOriginalOttoDatabase()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: home.stateDatabasePath))
        #expect(bytes.count > 8 * 4096)
        // The page headers of the jobs and job_runs tables' roots (pages 13 and 22 of 4 KiB) overwritten, the
        // file header intact: a damaged database, not a different file.
        for page in [13, 22] {
            let start = (page - 1) * 4096
            bytes.replaceSubrange(start..<start + 12, with: Data([0x0D] + Array(repeating: 0xFF, count: 11)))
        }
        try bytes.write(to: URL(fileURLWithPath: home.stateDatabasePath))
        for _ in 0..<2 {
            #expect {
                _ = try AppDatabase.open(path: home.stateDatabasePath)
            } throws: { error in
                let message = "\(error)"
                return message.contains(home.stateDatabasePath) && !message.contains("\n")
                    && (message.contains("damaged") || message.contains("not an SQLite database"))
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: home.stateDatabasePath)) == bytes)
        #expect(try Self.files(home) == ["otto-state.db"])
    }

    @Test func aRowThatCannotBeReadIsPausedNamingItsFieldAndEverythingElseWorks() async throws {
        try await APIHarness.run(
            config: "{}", runningServices: true,
            prepare: { home in
                try home.installOriginalOttoDatabase()
                try Self.alter(
                    home,
                    "UPDATE jobs SET cadence_minutes = 'abc', schedule_type = 'recurring' WHERE id = '\(Self.reminder)'"
                )
            }
        ) { api in
            let report = try #require(api.runtime.database.adoption)
            #expect(report.pausedJobs == [Self.reminder])
            #expect(
                api.logs.all.contains {
                    $0.metadata["job"] == Self.reminder && $0.message.contains("cannot be read")
                        && !$0.message.contains("abc")
                })

            // The listing is whole and valid, and the job shows what is wrong with it.
            let listing = try await api.call(.get, "/external/jobs")
            #expect(listing.status == .ok)
            let jobs = try listing.decode(JobListResponse.self).jobs
            #expect(jobs.count == 14)
            let job = try await api.job(Self.reminder)
            #expect(job.status == .paused)
            #expect(job.cadenceMinutes == nil)
            let reason = try #require(job.terminalReason)
            #expect(reason.contains(#"cadenceMinutes is "abc""#) && reason.count < 400, "\(reason)")

            // The scheduler still runs everything else: a job created now runs.
            try await api.createJob(
                #"{"id": "after", "type": "report", "scheduleType": "oneshot", "runAt": 0, "payload": {"prompt": "hi"}}"#
            )
            var status: String?
            for _ in 0..<200 {
                let runs = try await api.call(.get, "/external/jobs/after/runs").decode(JobRunsResponse.self)
                status = runs.runs.first?.status.rawValue
                if status == "success" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status == "success")

            // Mending the field through the API resumes the job.
            let patched = try await api.call(
                .patch, "/external/jobs/\(Self.reminder)", json: #"{"cadenceMinutes": 60}"#)
            #expect(patched.status == .ok)
            let mended = try await api.job(Self.reminder)
            #expect(mended.status == .idle && mended.terminalReason == nil && mended.cadenceMinutes == 60)
        }
    }

    @Test func anAdoptedHugeCadenceIsPausedAndNoNumberSentExceedsTwoToTheFiftyThree() async throws {
        try await APIHarness.run(
            config: "{}",
            prepare: { home in
                try home.installOriginalOttoDatabase()
                try Self.alter(
                    home,
                    "UPDATE jobs SET cadence_minutes = 9007199254740991, schedule_type = 'recurring', "
                        + "next_run_at = 9223372036854775807 WHERE id = '\(Self.reminder)'")
            }
        ) { api in
            let reply = try await api.call(.get, "/external/jobs/\(Self.reminder)")
            #expect(reply.status == .ok)
            let job = try reply.decode(JobResponse.self).job
            // Out of range, so not sent as numbers (the reason names them as text).
            #expect(job.cadenceMinutes == nil && job.nextRunAt == nil)
            #expect(job.status == .paused)
            #expect(job.terminalReason?.contains("cadenceMinutes is 9007199254740991") == true)
        }
    }
}
