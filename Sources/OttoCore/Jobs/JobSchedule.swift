import OttoContracts

/// What a job becomes after a run: the schedule rules, apart from any I/O.
extension Job {
    /// The first slot `scheduledFor + k × cadence` (k ≥ 1) after `now`: missed slots are skipped, never caught up
    /// in a burst, and the schedule never drifts by how long a run took. Saturating: every input is brought inside
    /// `Job.timeRange` and `Job.cadenceMinutesRange` first (a stored row may hold anything), so nothing can
    /// overflow, and the slot is never after the end of `Job.timeRange`.
    static func nextSlot(after scheduledFor: Int64, cadenceMinutes: Int, now: Int64) -> Int64 {
        let minutes = min(max(cadenceMinutes, Job.cadenceMinutesRange.lowerBound), Job.cadenceMinutesRange.upperBound)
        // At most 3.2e11 ms, and both times at most 2.6e14: every sum and product below stays under 2^53.
        let cadence = Int64(minutes) * 60_000
        let start = Job.clampedTime(scheduledFor)
        let now = Job.clampedTime(now)
        guard start + cadence <= now else { return Job.clampedTime(start + cadence) }
        let k = (now - start) / cadence + 1
        return Job.clampedTime(start + k * cadence)
    }

    /// Where a recurring job's next run belongs when its `nextRunAt` lies further ahead than it can (more than one
    /// cadence plus `slack` after now, and after its first run): the wall clock jumped forward and back since it
    /// was computed. The first slot of its grid `runAt + k × cadence` after now (or `runAt`, if that is still
    /// ahead). Nil when the next run is where it should be.
    func pulledBackNextRun(now: Int64, slack: Int64) -> Int64? {
        guard scheduleType == .recurring, terminalState == nil, let next = nextRunAt, let minutes = cadenceMinutes,
            Job.cadenceMinutesRange.contains(minutes)
        else { return nil }
        let cadence = Int64(minutes) * 60_000
        let now = Job.clampedTime(now)
        let origin = Job.clampedTime(runAt ?? next)
        guard next > origin, next - now > cadence + max(0, slack) else { return nil }
        return origin > now ? origin : Self.nextSlot(after: origin, cadenceMinutes: minutes, now: now)
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
