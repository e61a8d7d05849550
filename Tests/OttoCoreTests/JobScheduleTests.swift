import OttoContracts
import Testing

@testable import OttoCore

@Suite struct JobScheduleTests {
    static let minute: Int64 = 60_000

    /// (scheduledFor, now, next): the first slot scheduledFor + k × cadence (k ≥ 1) after now, cadence 1 minute.
    static let slots: [(Int64, Int64, Int64)] = [
        (0, 1, 60_000),  // a quick run: the next slot
        (0, 59_999, 60_000),
        (0, 60_000, 120_000),  // exactly on a slot: that slot has begun, the next one is due
        (0, 630_000, 660_000),  // ten slots missed: skipped, no catch-up burst
        (1_000, 181_500, 241_000),  // never drifts off the original grid
    ]

    @Test func theNextSlotSkipsMissedSlotsWithoutDrift() {
        for (scheduledFor, now, next) in Self.slots {
            #expect(Job.nextSlot(after: scheduledFor, cadenceMinutes: 1, now: now) == next, "\(scheduledFor), \(now)")
        }
    }

    static let recurring = Job(
        id: "r", type: "report", status: .running, scheduleType: .recurring, cadenceMinutes: 5, nextRunAt: 0,
        createdAt: 0, updatedAt: 0)
    static let oneShot = Job(
        id: "o", type: "report", status: .running, scheduleType: .oneshot, runAt: 0, nextRunAt: 0, createdAt: 0,
        updatedAt: 0)

    @Test func aOneShotEndsCompletedAfterSuccessAndFailedWithItsCauseAfterFailure() {
        let done = Self.oneShot.finished(scheduledFor: 0, failure: nil, at: 10)
        #expect(done.terminalState == .completed && done.nextRunAt == nil && done.status == .idle)
        #expect(done.lastRunAt == 10)
        let failed = Self.oneShot.finished(scheduledFor: 0, failure: "timeout: too slow", at: 10)
        #expect(failed.terminalState == .failed)
        #expect(failed.terminalReason == "timeout: too slow")
        let recurring = Self.recurring.finished(scheduledFor: 0, failure: "timeout: too slow", at: 10)
        #expect(recurring.terminalState == nil && recurring.nextRunAt == 5 * Self.minute && recurring.status == .idle)
    }

    @Test func anInterruptedRunIsNotRetriedAtOnce() {
        let recurring = Self.recurring.interrupted(scheduledFor: 0, reason: "interrupted", at: 7 * Self.minute)
        #expect(recurring.nextRunAt == 10 * Self.minute)
        #expect(recurring.status == .idle && recurring.terminalState == nil)
        let oneShot = Self.oneShot.interrupted(scheduledFor: 0, reason: "interrupted: Otto stopped", at: 1)
        #expect(oneShot.terminalState == .failed && oneShot.terminalReason == "interrupted: Otto stopped")
        #expect(oneShot.nextRunAt == nil)
    }
}
