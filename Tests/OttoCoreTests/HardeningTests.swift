import AsyncHTTPClient
import Foundation
import GRDB
import OttoContracts
import OttoTestSupport
import Testing

@testable import OttoCore

/// The second hardening pass, below the API: schedule arithmetic that cannot overflow, rows that cannot be read,
/// clock jumps, bounded outgoing exchanges and scrubbed upstream text.
@Suite struct HardeningTests {
    static let minute: Int64 = 60_000
    static let endOf9999 = Job.timeRange.upperBound

    // MARK: Item 1: schedule arithmetic

    @Test func theNextSlotSaturatesInsteadOfTrappingOnAnyStoredValue() {
        // Each of these trapped with "arithmetic overflow" before: values an adopted row or an old API could hold.
        let extremes: [(Int64, Int, Int64)] = [
            (0, 9_007_199_254_740_991, 1_000),
            (Int64.max - 5, 1, Int64.max),
            (Int64.min, Int.max, Int64.max),
            (-1, Int.min, 0),
            (1_700_000_000_000, 5_256_000, 1_700_000_000_000),
        ]
        for (scheduledFor, cadence, now) in extremes {
            let next = Job.nextSlot(after: scheduledFor, cadenceMinutes: cadence, now: now)
            #expect(Job.timeRange.contains(next), "\(scheduledFor) \(cadence) \(now) -> \(next)")
            #expect(next < 9_007_199_254_740_992)
        }
        // A cadence beyond the bound counts as the bound (3650 days), not as what it says.
        #expect(
            Job.nextSlot(after: 0, cadenceMinutes: 9_007_199_254_740_991, now: 1) == 5_256_000 * Self.minute)
        // Near the end of the year 9999, the slot stays there.
        #expect(Job.nextSlot(after: Self.endOf9999 - 10, cadenceMinutes: 60, now: Self.endOf9999) == Self.endOf9999)
        // Ordinary values are unchanged.
        #expect(Job.nextSlot(after: 1_000, cadenceMinutes: 1, now: 181_500) == 241_000)
    }

    @Test func aRunOfAJobWithAHugeStoredCadenceEndsWithoutTrapping() {
        let job = Job(
            id: "big", type: "report", status: .running, scheduleType: .recurring, runAt: 0,
            cadenceMinutes: 9_007_199_254_740_991, nextRunAt: 0, createdAt: 0, updatedAt: 0)
        let finished = job.finished(scheduledFor: 0, failure: nil, at: 10)
        #expect(finished.nextRunAt == 5_256_000 * Self.minute)
        let interrupted = job.interrupted(scheduledFor: Int64.max, reason: "x", at: Int64.max)
        #expect(interrupted.nextRunAt == Self.endOf9999)
    }

    // MARK: Item 6: rows that cannot be read

    /// A database of ours with one job row changed behind Otto's back, as `sqlite3` or an adopted file can.
    static func database(withBadRow sql: String) async throws -> (JobsFixture, AppDatabase) {
        let fixture = try JobsFixture()
        fixture.at(1_000)
        try await fixture.create("good")
        try await fixture.create("bad")
        // Our schema's checks would refuse these values; the original's has none, so drop them for this row.
        try await fixture.database.writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: sql)
            try db.execute(sql: "PRAGMA ignore_check_constraints = OFF")
        }
        return (fixture, fixture.database)
    }

    @Test(arguments: [
        ("UPDATE jobs SET cadence_minutes = 'abc' WHERE id = 'bad'", "cadenceMinutes is \"abc\""),
        ("UPDATE jobs SET cadence_minutes = 9007199254740991 WHERE id = 'bad'", "cadenceMinutes is 9007199254740991"),
        ("UPDATE jobs SET next_run_at = -5 WHERE id = 'bad'", "nextRunAt is -5"),
        ("UPDATE jobs SET status = 'exploded' WHERE id = 'bad'", "status is \"exploded\""),
        ("UPDATE jobs SET model_ref = 'no slash' WHERE id = 'bad'", "modelRef is \"no slash\""),
    ])
    func anUnreadableRowIsReadAsAPausedJobNamingTheFieldAndTheRestStillRun(sql: String, reason: String) async throws {
        let (fixture, database) = try await Self.database(withBadRow: sql)
        let bad = try #require(try await database.job(id: "bad"))
        #expect(bad.status == .paused)
        #expect(bad.terminalReason?.contains(reason) == true, "\(bad.terminalReason ?? "nil")")
        #expect(bad.terminalReason?.hasPrefix(Job.unreadablePrefix) == true)
        let listed = try await fixture.service.list()
        #expect(listed.map(\.id) == ["bad", "good"])

        // The scheduler's pass claims the good job and pauses the bad one for good, so it is never due again.
        let (claimed, paused) = try await database.claimDueJobs(
            now: 2_000, limit: 10, leaseUntil: 5_000, start: SchedulerClaimTests.start)
        #expect(claimed.map(\.job.id) == ["good"])
        // (A status the schema does not know is not 'idle', so that row is not even due.)
        #expect(paused.map(\.id) == (sql.contains("status") ? [] : ["bad"]))
        let again = try await database.claimDueJobs(
            now: 3_000, limit: 10, leaseUntil: 6_000, start: SchedulerClaimTests.start)
        #expect(again.claimed.isEmpty && again.paused.isEmpty)
        #expect(try await database.job(id: "bad")?.status == .paused)
    }

    @Test func aPatchThatMendsAPausedUnreadableJobResumesIt() async throws {
        let (fixture, database) = try await Self.database(
            withBadRow: "UPDATE jobs SET cadence_minutes = 'abc', schedule_type = 'recurring' WHERE id = 'bad'")
        fixture.at(10 * Self.minute + 1)
        var patch = JobPatch()
        patch.cadenceMinutes = .some(5)
        let mended = try await fixture.service.update(id: "bad", patch, actor: "test")
        #expect(mended.status == .idle)
        #expect(mended.terminalReason == nil)
        #expect(mended.cadenceMinutes == 5)
        #expect(mended.nextRunAt == 1_000 + 2 * 5 * Self.minute)
        let stored = try #require(try await database.job(id: "bad"))
        #expect(stored == mended)
    }

    @Test func aCadenceOrRunAtOutOfRangeIsRefusedNamingTheBound() async throws {
        let fixture = try JobsFixture()
        fixture.at(1_000)
        for (cadence, runAt, path, words) in [
            (9_007_199_254_740_991, nil, "cadenceMinutes", "from 1 to 5256000"),
            (5_256_001, nil, "cadenceMinutes", "from 1 to 5256000"),
            (5, Int64(253_402_300_800_000), "runAt", "to 253402300799999"),
            (5, Int64(-1), "runAt", "from 0 to"),
        ] as [(Int, Int64?, String, String)] {
            let job = Job(
                id: "j", type: "report", scheduleType: .recurring, runAt: runAt, cadenceMinutes: cadence,
                createdAt: 0, updatedAt: 0)
            do {
                _ = try await fixture.service.create(job, actor: "test")
                Issue.record("\(path) \(cadence) \(String(describing: runAt)) was accepted")
            } catch let error as DomainError {
                #expect(error.message.contains(path) && error.message.contains(words), "\(error.message)")
            }
        }
        let ok = Job(
            id: "max", type: "report", scheduleType: .recurring, runAt: Job.timeRange.upperBound,
            cadenceMinutes: 5_256_000, createdAt: 0, updatedAt: 0)
        _ = try await fixture.service.create(ok, actor: "test")
    }

    // MARK: Item 8: clock jumps

    @Test func aNextRunComputedWhileTheClockWasAheadIsPulledBackOntoTheGrid() async throws {
        let fixture = try JobsFixture()
        fixture.at(0)
        let job = Job(
            id: "minutely", type: "report", scheduleType: .recurring, runAt: 0, cadenceMinutes: 1,
            createdAt: 0, updatedAt: 0)
        _ = try await fixture.service.create(job, actor: "test")
        // The clock was 10 days ahead when its run ended.
        let tenDays: Int64 = 10 * 24 * 60 * Self.minute
        let (claimed, _) = try await fixture.database.claimDueJobs(
            now: tenDays, limit: 1, leaseUntil: tenDays + 30_000, start: SchedulerClaimTests.start)
        let claim = try #require(claimed.first)
        var run = claim.run
        run.status = .success
        run.finishedAt = tenDays
        let after = claim.job.finished(scheduledFor: claim.run.scheduledFor, failure: nil, at: tenDays)
        #expect(try await fixture.database.finishRun(run, job: after, lockToken: claim.lockToken, reporting: []))
        #expect(try await fixture.database.job(id: "minutely")?.nextRunAt == tenDays + Self.minute)

        // Back to the real time (2.5 minutes in): the next run goes back to the grid's next slot, 3 minutes.
        let moved = try await fixture.database.pullBackFarFutureRuns(now: 150_000, slack: 30_000)
        #expect(moved.map(\.id) == ["minutely"])
        #expect(try await fixture.database.job(id: "minutely")?.nextRunAt == 3 * Self.minute)
        // Where it belongs now, nothing moves again.
        #expect(try await fixture.database.pullBackFarFutureRuns(now: 150_000, slack: 30_000).isEmpty)
    }

    @Test func aJobWhoseFirstRunIsInTheFutureIsNotPulledBack() {
        let job = Job(
            id: "later", type: "report", scheduleType: .recurring, runAt: 100 * Self.minute, cadenceMinutes: 1,
            nextRunAt: 100 * Self.minute, createdAt: 0, updatedAt: 0)
        #expect(job.pulledBackNextRun(now: 0, slack: 30_000) == nil)
        var ahead = job
        ahead.nextRunAt = 500 * Self.minute
        #expect(ahead.pulledBackNextRun(now: 0, slack: 30_000) == 100 * Self.minute)
    }

    // MARK: Item 2: every outgoing exchange has a deadline, body included

    @Test func aWebhookReceiverThatStallsMidBodyIsAFailedAttemptNotAHang() async throws {
        let server = try StallingServer()
        defer { server.stop() }
        var notifier = WebhookNotifier(
            url: server.url, httpClient: HTTPClient.shared, logger: CapturedLogs().logger())
        notifier.timeout = .seconds(1)
        notifier.backoff = .milliseconds(10)
        let started = ContinuousClock.now
        let delivery = await notifier.deliver(
            .init(kind: "heartbeat", jobId: "j", runId: "r", text: "t", createdAt: 0), within: .seconds(60))
        #expect(!delivery.delivered)
        #expect(delivery.attempts == 3)
        #expect(delivery.error?.contains("did not complete its answer within 1 s") == true, "\(delivery.error ?? "")")
        #expect(server.accepted == 3)
        // Three attempts of one second each, not the receiver's "for ever".
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func aWebhookDeliveryStopsAtTheRunsOwnTimeLimit() async throws {
        let server = try StallingServer()
        defer { server.stop() }
        let notifier = WebhookNotifier(
            url: server.url, httpClient: HTTPClient.shared, logger: CapturedLogs().logger())
        let started = ContinuousClock.now
        let delivery = await notifier.deliver(
            .init(kind: "heartbeat", jobId: "j", runId: "r", text: "t", createdAt: 0), within: .milliseconds(1_500))
        #expect(!delivery.delivered)
        #expect(delivery.attempts == 1)
        #expect(ContinuousClock.now - started < .seconds(8))
        let none = await notifier.deliver(
            .init(kind: "heartbeat", jobId: "j", runId: "r", text: "t", createdAt: 0), within: .zero)
        #expect(!none.delivered && none.attempts == 0)
        #expect(none.error?.contains("time limit") == true)
    }

    @Test func anOpenCodeThatStallsMidBodyTimesOut() async throws {
        let server = try StallingServer()
        defer { server.stop() }
        let client = OpenCodeClient(baseURL: "http://127.0.0.1:\(server.port)", timeout: .seconds(1))
        await #expect(throws: OpenCodeError.self) { _ = try await client.fetchCatalog() }
        do {
            _ = try await client.fetchCatalog()
        } catch {
            #expect(error.cause == .timedOut(seconds: 1))
        }
    }

    // MARK: Item 12: upstream text

    @Test func upstreamTextIsCutEscapedAndMasked() {
        let long = String(repeating: "x ", count: 2_000)
        let cut = UpstreamText.scrubbed(long)
        #expect(cut.count == 501 && cut.hasSuffix("…"))
        let hostile = "bad\u{1B}[31mred\u{202E}txt.exe\n"
        #expect(UpstreamText.scrubbed(hostile) == "bad\\u001b[31mred\\u202etxt.exe\\u000a")
        let secrets =
            "key sk-proj-AbCdEf123456 rejected; Authorization: Bearer abc.def-ghi and token "
            + String(repeating: "a1B2", count: 10)
        let masked = UpstreamText.scrubbed(secrets)
        #expect(!masked.contains("AbCdEf123456"))
        #expect(!masked.contains("abc.def-ghi"))
        #expect(!masked.contains("a1B2a1B2a1B2a1B2"))
        #expect(masked.contains("sk-[masked]") && masked.contains("Bearer [masked]") && masked.contains("[masked]"))
        // Otto's own words around an OpenCode error come on top of the 500 characters.
        let error = OpenCodeError(
            url: "http://127.0.0.1:4096/session/x/message",
            cause: .modelError(name: "APIError", message: long, retryable: false))
        #expect(error.message.count < 700 && error.message.hasPrefix("OpenCode at http://127.0.0.1:4096"))
    }

    @Test func aSessionIdFromOpenCodeIsCheckedLikeAClients() throws {
        for bad in ["../../config", "a b", String(repeating: "a", count: 129), "", "ses\u{202E}"] {
            let error = #expect(throws: OpenCodeError.self) {
                _ = try OpenCodeClient.checkedSessionId(bad, url: "http://127.0.0.1:4096/session")
            }
            #expect(error?.code == "opencode_bad_response")
            #expect(error?.message.contains(bad.isEmpty ? "\"id\"" : "letters, digits") == true)
            if bad.count > 3 { #expect(error?.message.contains(bad) == false, "never echoed") }
        }
        #expect(try OpenCodeClient.checkedSessionId("ses_01HZX-abc", url: "u") == "ses_01HZX-abc")
    }
}
