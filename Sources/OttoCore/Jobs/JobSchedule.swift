import OttoContracts

/// What a job becomes after a run: the schedule rules, apart from any I/O.
extension Job {
    /// The first slot `scheduledFor + k × cadence` (k ≥ 1) after `now`: missed slots are skipped, never caught up
    /// in a burst, and the schedule never drifts by how long a run took.
    static func nextSlot(after scheduledFor: Int64, cadenceMinutes: Int, now: Int64) -> Int64 {
        let cadence = Int64(max(1, cadenceMinutes)) * 60_000
        guard scheduledFor + cadence <= now else { return scheduledFor + cadence }
        let k = (now - scheduledFor) / cadence + 1
        return scheduledFor + k * cadence
    }

    /// The job after a run scheduled for `scheduledFor` ended at `now`. A recurring job waits for its next slot;
    /// a one-shot ends `completed` after a success (or a skip) and `failed`, with `failure` as the reason, after a
    /// failure.
    func finished(scheduledFor: Int64, failure: String?, at now: Int64) -> Job {
        var job = self
        job.status = .idle
        job.lastRunAt = now
        job.updatedAt = now
        switch scheduleType {
        case .recurring:
            job.nextRunAt = Self.nextSlot(after: scheduledFor, cadenceMinutes: cadenceMinutes ?? 1, now: now)
        case .oneshot:
            job.nextRunAt = nil
            job.terminalState = failure == nil ? .completed : .failed
            job.terminalReason = failure.map { String($0.prefix(1_000)) }
        }
        return job
    }

    /// The job after its run was interrupted (Otto died, or lost the lease). The interrupted slot is not retried
    /// at once, because the prompt may be what brought the process down: a recurring job waits for its next slot,
    /// a one-shot ends `failed` (run-now runs it again).
    func interrupted(scheduledFor: Int64?, reason: String, at now: Int64) -> Job {
        var job = self
        job.status = .idle
        job.updatedAt = now
        switch scheduleType {
        case .recurring:
            job.nextRunAt = Self.nextSlot(
                after: scheduledFor ?? nextRunAt ?? now, cadenceMinutes: cadenceMinutes ?? 1, now: now)
        case .oneshot:
            job.nextRunAt = nil
            job.terminalState = .failed
            job.terminalReason = reason
        }
        return job
    }
}

extension JobRun {
    /// The run closed as interrupted at `now`.
    func interrupted(_ message: String, at now: Int64) -> JobRun {
        var run = self
        run.status = .failed
        run.finishedAt = now
        run.errorCode = "interrupted"
        run.errorMessage = message
        return run
    }
}
