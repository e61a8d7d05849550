import Foundation
import Logging
import OttoContracts

/// A change to some fields of a job: `nil` leaves a field as it is, `.some(nil)` clears it.
public struct JobPatch: Sendable {
    public var type: String?
    public var scheduleType: Job.ScheduleType?
    public var runAt: Int64??
    public var cadenceMinutes: Int??
    public var payload: JSONText??
    public var profileId: String??
    /// `.some(nil)` sets inherit; `nil` leaves the job's model as it is.
    public var modelRef: ModelRef??

    public init() {}
}

/// The rules for scheduled jobs: who may change what, and the audit trail of every change.
public struct JobsService: Sendable {
    let database: AppDatabase
    let resolver: ModelResolver
    let catalog: any CatalogSnapshotProviding
    let now: @Sendable () -> Date
    /// Told after a job was created, changed or made due, so the scheduler looks again at once.
    let jobsChanged: @Sendable () -> Void
    static let lane = "external_api"
    /// The largest page a listing hands over at once.
    public static let maxPageSize = 1_000

    public init(
        database: AppDatabase,
        resolver: ModelResolver,
        catalog: any CatalogSnapshotProviding,
        now: @escaping @Sendable () -> Date = Date.init,
        jobsChanged: @escaping @Sendable () -> Void = {}
    ) {
        self.database = database
        self.resolver = resolver
        self.catalog = catalog
        self.now = now
        self.jobsChanged = jobsChanged
    }

    var nowMilliseconds: Int64 { Int64((now().timeIntervalSince1970 * 1000).rounded()) }

    public func list(type: String? = nil) async throws -> [JobBody] {
        var bodies: [JobBody] = []
        _ = try await list(type: type, after: nil, limit: nil) { bodies += $0 }
        return bodies
    }

    /// Lists jobs in creation order after `cursor`, at most `limit` of them (nil: all), handing them to `body` a
    /// page at a time, so a caller that writes them out (10,000 jobs) never holds every job at once. All pages
    /// see the same catalog and flow defaults. Returns where the next page starts, if more jobs follow.
    public func list(
        type: String?,
        after cursor: JobCursor?,
        limit: Int?,
        _ body: ([JobBody]) async throws -> Void
    ) async throws -> JobCursor? {
        let resolver = self.resolver.pinned()
        var remaining = limit ?? Int.max
        var after = cursor
        var page = try await database.jobsPage(type: type, after: after, limit: min(remaining, Self.maxPageSize))
        while true {
            remaining -= page.jobs.count
            let next = page.jobs.last.map(JobCursor.init(after:)) ?? after
            let fetchMore = page.more && remaining > 0
            let nextLimit = min(remaining, Self.maxPageSize)
            // The next page is read while this one is handed over (and written out by the caller).
            async let following =
                fetchMore ? database.jobsPage(type: type, after: next, limit: nextLimit) : ([], false)
            try await body(page.jobs.map { JobBody(job: $0, effectiveModel: resolver.effectiveModel(for: $0)) })
            guard fetchMore else {
                _ = try await following
                return page.more ? next : nil
            }
            page = try await following
            after = next
        }
    }

    public func get(id: String) async throws -> JobBody {
        guard let job = try await database.job(id: id) else { throw DomainError.notFound(Self.notFoundMessage(id)) }
        return JobBody(job: job, effectiveModel: resolver.pinned().effectiveModel(for: job))
    }

    /// Creates a job from the fields a client chose (`id`, `type`, `scheduleType`, `runAt`, `cadenceMinutes`,
    /// `payload`, `profileId`, `modelRef`); Otto sets the rest. An empty `id` gets a new UUID; no `runAt` means now.
    public func create(_ requested: Job, actor: String?) async throws -> Job {
        let now = nowMilliseconds
        var job = requested
        if job.id.isEmpty { job.id = UUID().uuidString.lowercased() }
        job.status = .idle
        job.runAt = requested.runAt ?? now
        job.nextRunAt = job.runAt
        job.lastRunAt = nil
        job.terminalState = nil
        job.terminalReason = nil
        job.createdAt = now
        job.updatedAt = now
        if job.isSystemManaged {
            throw DomainError.forbiddenMutation(
                "jobs with an id starting \"system-\" or of type heartbeat or watchdog_failures are managed by Otto itself"
            )
        }
        var issues: [FieldIssue] = []
        if job.id.trimmingCharacters(in: .whitespaces).isEmpty {
            issues.append(FieldIssue(path: "id", message: "must not be only white space"))
        }
        issues += Self.nameIssues(job.id, path: "id", max: 256)
        issues += Self.nameIssues(job.type, path: "type", max: 128)
        issues += Self.scheduleIssues(job, runAtGiven: requested.runAt != nil)
        if let ref = requested.modelRef,
            let issue = ModelManagementService.selectabilityIssue(ref, path: "modelRef", in: catalog.snapshot)
        {
            issues.append(issue)
        }
        if !issues.isEmpty { throw DomainError.invalid(issues) }
        do {
            try await database.createJob(job, lane: Self.lane, actor: actor)
        } catch JobStoreError.duplicateId(let id) {
            throw DomainError.conflict("a job with id \"\(id)\" already exists")
        }
        jobsChanged()
        return job
    }

    /// Adds one of Otto's own jobs (heartbeat, watchdog) unless a job with its id exists; audited on the
    /// `system` lane. Returns whether it was added.
    @discardableResult
    public func ensureSystemJob(_ job: Job) async throws -> Bool {
        precondition(job.isSystemManaged, "only Otto's own jobs are added this way")
        do {
            try await database.createJob(job, lane: "system", actor: "otto")
            return true
        } catch JobStoreError.duplicateId {
            return false
        }
    }

    /// Creates one of Otto's own recurring jobs if it is enabled and missing (first run one cadence from now), or brings an
    /// existing one in line with the configuration: its cadence, and paused when disabled. Audited on the
    /// `system` lane when something changed.
    /// - Parameter firstRunFromNow: the job was just adopted from the TypeScript Otto: its schedule starts one of
    ///   our cadences from now, whatever its old one said.
    public func syncSystemJob(
        id: String, type: String, cadenceMinutes: Int, enabled: Bool, firstRunFromNow: Bool = false
    ) async throws {
        let now = nowMilliseconds
        let first = now + Int64(cadenceMinutes) * 60_000
        let job = Job(
            id: id, type: type, status: enabled ? .idle : .paused, scheduleType: .recurring, runAt: first,
            cadenceMinutes: cadenceMinutes, nextRunAt: first, createdAt: now, updatedAt: now)
        guard try await database.job(id: id) != nil else {
            // Disabled and missing: nothing to pause.
            if enabled { try await ensureSystemJob(job) }
            return
        }
        struct Unchanged: Error {}
        do {
            _ = try await database.changeJob(id: id, audit: (.update, "system", "otto"), at: now) { existing in
                // A running job is left to its run; the next start looks again.
                guard existing.status != .running else { throw Unchanged() }
                var job = existing
                if job.cadenceMinutes != cadenceMinutes || job.scheduleType != .recurring {
                    job.scheduleType = .recurring
                    job.cadenceMinutes = cadenceMinutes
                    job.nextRunAt = min(job.nextRunAt ?? first, first)
                }
                if firstRunFromNow {
                    job.type = type
                    job.runAt = first
                    job.nextRunAt = first
                    job.terminalState = nil
                    job.terminalReason = nil
                }
                job.status = enabled ? .idle : .paused
                if job.terminalState == nil, job.nextRunAt == nil { job.nextRunAt = first }
                guard job != existing else { throw Unchanged() }
                return job
            }
        } catch is Unchanged {
        }
    }

    /// Otto's own jobs of a type this Otto does not run (the TypeScript Otto's `eod_learning`, say) are kept and
    /// listed but paused, never run as a generic prompt. Returns the jobs paused now.
    public func pauseUnsupportedSystemJobs(supported: Set<String>) async throws -> [Job] {
        var paused: [Job] = []
        for job in try await database.idleSystemJobs() where !supported.contains(job.type) {
            struct Skip: Error {}
            do {
                let (_, after) = try await database.changeJob(
                    id: job.id, audit: (.update, "system", "otto"), at: nowMilliseconds
                ) { current in
                    guard current.status == .idle else { throw Skip() }
                    var changed = current
                    changed.status = .paused
                    return changed
                }
                paused.append(after)
            } catch is Skip {
            }
        }
        return paused
    }

    public func update(id: String, _ patch: JobPatch, actor: String?) async throws -> Job {
        let snapshot = catalog.snapshot
        let now = nowMilliseconds
        defer { jobsChanged() }
        return try await change(id: id, action: .update, actor: actor) { job in
            var job = job
            if let type = patch.type {
                job.type = type
                if job.isSystemManaged {
                    throw DomainError.forbiddenMutation("type \"\(type)\" is reserved for jobs managed by Otto itself")
                }
            }
            if let scheduleType = patch.scheduleType { job.scheduleType = scheduleType }
            if let runAt = patch.runAt {
                job.runAt = runAt
                if job.terminalState == nil { job.nextRunAt = runAt ?? job.nextRunAt }
            }
            if let cadence = patch.cadenceMinutes { job.cadenceMinutes = cadence }
            if let payload = patch.payload { job.payload = payload }
            if let profileId = patch.profileId { job.profileId = profileId }
            var issues = Self.scheduleIssues(job, runAtGiven: job.runAt != nil)
            // Checked only when changed: a job stored earlier (an adopted database) stays editable.
            if let type = patch.type { issues += Self.nameIssues(type, path: "type", max: 128) }
            if let modelRef = patch.modelRef {
                if let ref = modelRef, ref != job.modelRef,
                    let issue = ModelManagementService.selectabilityIssue(ref, path: "modelRef", in: snapshot)
                {
                    issues.append(issue)
                }
                job.modelRef = modelRef
            }
            if !issues.isEmpty { throw DomainError.invalid(issues) }
            if job.isPausedAsUnreadable { Self.resume(&job, now: now) }
            return job
        }
    }

    /// A job Otto paused because a stored field could not be read, once a PATCH has made it valid again: it runs
    /// at its next slot (or its `runAt`, if that is ahead).
    static func resume(_ job: inout Job, now: Int64) {
        job.status = .idle
        job.terminalReason = nil
        let origin = job.runAt ?? now
        switch job.scheduleType {
        case .recurring where origin <= now:
            job.nextRunAt = Job.nextSlot(after: origin, cadenceMinutes: job.cadenceMinutes ?? 1, now: now)
        case .recurring, .oneshot:
            job.nextRunAt = job.terminalState == nil ? origin : nil
        }
    }

    /// Cancels the job: it never runs again, and its history stays.
    public func delete(id: String, actor: String?) async throws -> Job {
        try await change(id: id, action: .delete, actor: actor) { job in
            var job = job
            job.terminalState = .cancelled
            job.terminalReason = "deleted by \(actor ?? "an operator")"
            job.nextRunAt = nil
            return job
        }
    }

    /// Makes the job due now and returns that time. Allowed on Otto's own jobs (so an operator can try the
    /// heartbeat or the watchdog), and on a one-shot that ended `completed` or `failed`, which runs once more (its
    /// terminal state is cleared until that run ends). A cancelled job stays cancelled.
    public func runNow(id: String, actor: String?) async throws -> Int64 {
        let scheduledFor = nowMilliseconds
        _ = try await change(id: id, action: .runNow, actor: actor, allowSystemJobs: true) { job in
            var job = job
            switch job.terminalState {
            case nil, .completed?, .failed?:
                job.terminalState = nil
                job.terminalReason = nil
            case .cancelled?, .expired?:
                throw DomainError.conflict(
                    "job \"\(job.id)\" is \(job.terminalState!.rawValue) and cannot run again; create a new job")
            }
            if job.status == .paused {
                throw DomainError.conflict("job \"\(job.id)\" is paused and does not run")
            }
            job.nextRunAt = scheduledFor
            return job
        }
        jobsChanged()
        return scheduledFor
    }

    public func audit(id: String, limit: Int) async throws -> [TaskAuditEntry] {
        guard try await database.job(id: id) != nil else { throw DomainError.notFound(Self.notFoundMessage(id)) }
        return try await database.taskAudit(taskId: id, limit: limit)
    }

    public func runs(id: String, limit: Int, offset: Int) async throws -> (total: Int, runs: [JobRun]) {
        guard try await database.job(id: id) != nil else { throw DomainError.notFound(Self.notFoundMessage(id)) }
        return try await database.runs(jobId: id, limit: limit, offset: offset)
    }

    public func run(id: String, runId: String) async throws -> JobRun {
        guard try await database.job(id: id) != nil else { throw DomainError.notFound(Self.notFoundMessage(id)) }
        guard let run = try await database.run(jobId: id, runId: runId) else {
            throw DomainError.notFound("job \"\(id)\" has no run \"\(runId)\"")
        }
        return run
    }

    /// The shared path of every mutation: 404, then 403 for system jobs (which wins over 409), then 409 for a
    /// running job, then the change itself, audited in the same transaction.
    private func change(
        id: String,
        action: TaskAuditEntry.Action,
        actor: String?,
        allowSystemJobs: Bool = false,
        _ transform: @escaping @Sendable (Job) throws -> Job
    ) async throws -> Job {
        do {
            return try await database.changeJob(id: id, audit: (action, Self.lane, actor), at: nowMilliseconds) { job in
                if job.isSystemManaged, !allowSystemJobs {
                    throw DomainError.forbiddenMutation("job \"\(job.id)\" is managed by Otto itself and is read-only")
                }
                if job.status == .running {
                    throw DomainError.conflict("job \"\(job.id)\" is running; try again when the run has finished")
                }
                return try transform(job)
            }.after
        } catch JobStoreError.notFound(let id) {
            throw DomainError.notFound(Self.notFoundMessage(id))
        }
    }

    static func notFoundMessage(_ id: String) -> String { "no job with id \"\(id)\"" }

    /// An id or type is shown in terminals and logs: no control characters, and a sensible length.
    static func nameIssues(_ text: String, path: String, max: Int) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        if text.utf8.count > max {
            issues.append(
                FieldIssue(path: path, message: "is \(text.utf8.count) bytes long; at most \(max) are allowed"))
        }
        if text.unicodeScalars.contains(where: isControlCharacter) {
            issues.append(FieldIssue(path: path, message: "must not contain control characters"))
        }
        return issues
    }

    static func scheduleIssues(_ job: Job, runAtGiven: Bool) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        if job.type.trimmingCharacters(in: .whitespaces).isEmpty {
            issues.append(FieldIssue(path: "type", message: "must not be empty"))
        }
        switch job.scheduleType {
        case .recurring:
            if job.cadenceMinutes == nil {
                issues.append(FieldIssue(path: "cadenceMinutes", message: "a recurring job needs cadenceMinutes >= 1"))
            }
        case .oneshot:
            if !runAtGiven {
                issues.append(FieldIssue(path: "runAt", message: "a oneshot job needs runAt (epoch milliseconds)"))
            }
        }
        let cadences = Job.cadenceMinutesRange
        if let cadence = job.cadenceMinutes, !cadences.contains(cadence) {
            issues.append(
                FieldIssue(
                    path: "cadenceMinutes",
                    message: "must be from \(cadences.lowerBound) to \(cadences.upperBound) (3650 days), got \(cadence)"
                ))
        }
        if let runAt = job.runAt, !Job.timeRange.contains(runAt) {
            issues.append(
                FieldIssue(
                    path: "runAt",
                    message: "must be from \(Job.timeRange.lowerBound) to \(Job.timeRange.upperBound) "
                        + "(epoch milliseconds up to the end of the year 9999), got \(runAt)"))
        }
        return issues
    }
}
