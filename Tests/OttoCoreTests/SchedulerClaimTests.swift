import Foundation
import OttoContracts
import Testing

@testable import OttoCore

/// The scheduler's transactions on a real SQLite file: claims, leases and the fence on every write that ends a run.
@Suite struct SchedulerClaimTests {
    static func start(_ job: Job) -> JobRun {
        JobRun(
            id: "run-\(job.id)", jobId: job.id, scheduledFor: job.nextRunAt ?? 0, startedAt: 2_000, status: .running,
            createdAt: 2_000)
    }

    static func reschedule(_ fixture: JobsFixture, _ id: String, runAt: Int64) async throws {
        var patch = JobPatch()
        patch.runAt = .some(runAt)
        _ = try await fixture.service.update(id: id, patch, actor: nil)
    }

    @Test func aClaimTakesOnlyDueIdleJobsOnceEarliestFirst() async throws {
        let fixture = try JobsFixture()
        fixture.at(1_000)
        try await fixture.create("a")
        try await fixture.create("b")
        try await Self.reschedule(fixture, "b", runAt: 500)
        try await fixture.create("later")
        try await Self.reschedule(fixture, "later", runAt: 99_000)

        let claimed = try await fixture.database.claimDueJobs(
            now: 2_000, limit: 10, leaseUntil: 5_000, start: Self.start
        ).claimed
        #expect(claimed.map(\.job.id) == ["b", "a"])
        #expect(Set(claimed.map(\.lockToken)).count == 2)
        #expect(try await fixture.database.job(id: "a")?.status == .running)
        #expect(try await fixture.database.runs(jobId: "a", limit: 5, offset: 0).runs.map(\.status) == [.running])
        // Claimed jobs are not claimed again.
        #expect(
            try await fixture.database.claimDueJobs(now: 3_000, limit: 10, leaseUntil: 6_000, start: Self.start).claimed
                .isEmpty
        )
    }

    @Test func aRunWhoseLeaseWasTakenBackCannotRecordItsEnd() async throws {
        let fixture = try JobsFixture()
        fixture.at(1_000)
        try await fixture.create("a")
        let claim = try #require(
            try await fixture.database.claimDueJobs(now: 2_000, limit: 1, leaseUntil: 5_000, start: Self.start).claimed
                .first)
        #expect(try await fixture.database.renewLease(jobId: "a", lockToken: claim.lockToken, until: 6_000))
        #expect(!(try await fixture.database.hasExpiredClaims(now: 5_999)))
        #expect(try await fixture.database.hasExpiredClaims(now: 6_001))

        // Another process takes the expired claim back.
        let recovered = try await fixture.database.recoverExpiredClaims(
            now: 6_001, closeRun: { $0.interrupted("lost", at: 6_001) },
            recover: { job, run in job.interrupted(scheduledFor: run?.scheduledFor, reason: "lost", at: 6_001) })
        #expect(recovered.jobs.map(\.id) == ["a"])

        // The original run comes back late: its lease is gone, so nothing it writes lands.
        #expect(!(try await fixture.database.renewLease(jobId: "a", lockToken: claim.lockToken, until: 9_000)))
        var late = claim.run
        late.status = .success
        late.finishedAt = 7_000
        let after = claim.job.finished(scheduledFor: late.scheduledFor, failure: nil, at: 7_000)
        #expect(!(try await fixture.database.finishRun(late, job: after, lockToken: claim.lockToken, reporting: [])))
        let run = try #require(try await fixture.database.run(jobId: "a", runId: claim.run.id))
        #expect(run.status == .failed)
        #expect(run.errorCode == "interrupted")
        let job = try #require(try await fixture.database.job(id: "a"))
        #expect(job.status == .idle)
        #expect(job.lastRunAt == nil)
        #expect(job.nextRunAt == Int64(3_601_000))
    }
}
