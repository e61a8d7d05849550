import Foundation
import Logging
import OttoContracts

/// A new job as a client asks for it; fields already have their JSON types checked by the transport.
public struct JobDraft: Sendable {
    public var id: String?
    public var type: String
    public var scheduleType: Job.ScheduleType
    public var runAt: Int64?
    public var cadenceMinutes: Int?
    /// JSON text of an object.
    public var payload: String?
    public var profileId: String?
    public var modelRef: ModelRef?

    public init(
        id: String? = nil,
        type: String,
        scheduleType: Job.ScheduleType,
        runAt: Int64? = nil,
        cadenceMinutes: Int? = nil,
        payload: String? = nil,
        profileId: String? = nil,
        modelRef: ModelRef? = nil
    ) {
        self.id = id
        self.type = type
        self.scheduleType = scheduleType
        self.runAt = runAt
        self.cadenceMinutes = cadenceMinutes
        self.payload = payload
        self.profileId = profileId
        self.modelRef = modelRef
    }
}

/// A change to some fields of a job: `nil` leaves a field as it is, `.some(nil)` clears it.
public struct JobPatch: Sendable {
    public var type: String?
    public var scheduleType: Job.ScheduleType?
    public var runAt: Int64??
    public var cadenceMinutes: Int??
    public var payload: String??
    public var profileId: String??
    /// `.some(nil)` sets inherit; `nil` leaves the job's model as it is.
    public var modelRef: ModelRef??

    public init() {}
}

/// A job with what the API shows about it beyond its stored fields.
public struct JobView: Sendable {
    public let job: Job
    public let isSystemManaged: Bool
    public let effectiveModel: EffectiveModel
}

/// The rules for scheduled jobs: who may change what, and the audit trail of every change.
public struct JobsService: Sendable {
    let database: AppDatabase
    let resolver: ModelResolver
    let catalog: any CatalogSnapshotProviding
    let now: @Sendable () -> Date
    static let lane = "external_api"

    public init(
        database: AppDatabase,
        resolver: ModelResolver,
        catalog: any CatalogSnapshotProviding,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.database = database
        self.resolver = resolver
        self.catalog = catalog
        self.now = now
    }

    var nowMilliseconds: Int64 { Int64((now().timeIntervalSince1970 * 1000).rounded()) }

    /// System jobs (ids starting `system-`, heartbeat and watchdog jobs) are read-only through the API.
    public static func isSystemManaged(id: String, type: String) -> Bool {
        id.hasPrefix("system-") || type == "heartbeat" || type == "watchdog_failures"
    }

    /// The runtime flow whose default a job inherits.
    public static func flow(forJobType type: String) -> RuntimeModelFlow {
        switch type {
        case "heartbeat": .heartbeat
        case "watchdog_failures": .watchdogFailures
        default: .scheduledTasks
        }
    }

    public func list(type: String?) async throws -> [JobView] {
        var views: [JobView] = []
        try await list(type: type) { views += $0 }
        return views
    }

    /// Lists jobs in pages of `pageSize`, handing each page to `body`, so a caller that writes them out (the API
    /// listing 10,000 jobs) never holds every job at once. All pages see the same catalog and flow defaults.
    public func list(type: String?, pageSize: Int = 1_000, _ body: ([JobView]) async throws -> Void) async throws {
        let resolver = self.resolver.pinned()
        var cursor: Job?
        while true {
            let page = try await database.jobsPage(type: type, after: cursor, limit: pageSize)
            try await body(page.map { view($0, resolver: resolver) })
            guard page.count == pageSize else { return }
            cursor = page.last
        }
    }

    public func get(id: String) async throws -> JobView {
        guard let job = try await database.job(id: id) else { throw DomainError.notFound(Self.notFoundMessage(id)) }
        return view(job, resolver: resolver.pinned())
    }

    func view(_ job: Job, resolver: ModelResolver) -> JobView {
        let effective: EffectiveModel
        let jobRef = job.modelRef.flatMap { try? ModelRef(parsing: $0) }
        do {
            let resolved = try resolver.resolve(
                flow: Self.flow(forJobType: job.type),
                jobModelRef: jobRef,
                logFallback: false
            )
            effective = EffectiveModel(
                ref: resolved.ref.description,
                source: EffectiveModel.Source(rawValue: resolved.source.rawValue) ?? .unresolved
            )
        } catch {
            effective = EffectiveModel(ref: nil, source: .unresolved)
        }
        return JobView(
            job: job,
            isSystemManaged: Self.isSystemManaged(id: job.id, type: job.type),
            effectiveModel: effective
        )
    }

    public func create(_ draft: JobDraft, actor: String?) async throws -> Job {
        let id = draft.id ?? UUID().uuidString.lowercased()
        if Self.isSystemManaged(id: id, type: draft.type) {
            throw DomainError.forbiddenMutation(
                "jobs with an id starting \"system-\" or of type heartbeat or watchdog_failures are managed by Otto itself and cannot be created through the API"
            )
        }
        var issues: [FieldIssue] = []
        if id.trimmingCharacters(in: .whitespaces).isEmpty {
            issues.append(FieldIssue(path: "id", message: "must not be empty"))
        }
        let now = nowMilliseconds
        let job = Job(
            id: id,
            type: draft.type,
            scheduleType: draft.scheduleType,
            profileId: draft.profileId,
            modelRef: draft.modelRef?.description,
            runAt: draft.runAt ?? now,
            cadenceMinutes: draft.cadenceMinutes,
            payload: draft.payload,
            nextRunAt: draft.runAt ?? now,
            createdAt: now,
            updatedAt: now
        )
        issues += Self.scheduleIssues(job, runAtGiven: draft.runAt != nil)
        if let ref = draft.modelRef,
            let issue = ModelManagementService.selectabilityIssue(ref, path: "modelRef", in: catalog.snapshot)
        {
            issues.append(issue)
        }
        try Self.throwIfInvalid(issues)
        do {
            try await database.createJob(job, lane: Self.lane, actor: actor)
        } catch JobStoreError.duplicateId(let id) {
            throw DomainError.conflict("a job with id \"\(id)\" already exists; choose another id or PATCH that job")
        }
        return job
    }

    public func update(id: String, _ patch: JobPatch, actor: String?) async throws -> Job {
        let snapshot = catalog.snapshot
        return try await change(id: id, action: .update, actor: actor) { job in
            var job = job
            if let type = patch.type {
                if Self.isSystemManaged(id: job.id, type: type) {
                    throw DomainError.forbiddenMutation(
                        "type \"\(type)\" is reserved for jobs managed by Otto itself"
                    )
                }
                job.type = type
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
            if let modelRef = patch.modelRef {
                if let ref = modelRef, ref.description != job.modelRef,
                    let issue = ModelManagementService.selectabilityIssue(ref, path: "modelRef", in: snapshot)
                {
                    issues.append(issue)
                }
                job.modelRef = modelRef?.description
            }
            try Self.throwIfInvalid(issues)
            return job
        }
    }

    /// Cancels the job: it never runs again, and its history stays.
    public func delete(id: String, actor: String?) async throws -> Job {
        try await change(id: id, action: .delete, actor: actor) { job in
            var job = job
            job.terminalState = .cancelled
            job.terminalReason = "deleted through the external API"
            job.nextRunAt = nil
            return job
        }
    }

    /// Schedules the job to run as soon as the scheduler next looks, and returns that time.
    public func runNow(id: String, actor: String?) async throws -> Int64 {
        let scheduledFor = nowMilliseconds
        _ = try await change(id: id, action: .runNow, actor: actor) { job in
            if let terminal = job.terminalState {
                throw DomainError.conflict("job \"\(job.id)\" is \(terminal.rawValue) and cannot run again")
            }
            var job = job
            job.nextRunAt = scheduledFor
            return job
        }
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
        _ transform: @escaping @Sendable (Job) throws -> Job
    ) async throws -> Job {
        do {
            return try await database.changeJob(id: id, audit: (action, Self.lane, actor), at: nowMilliseconds) { job in
                if Self.isSystemManaged(id: job.id, type: job.type) {
                    throw DomainError.forbiddenMutation(
                        "job \"\(job.id)\" is managed by Otto itself and is read-only"
                    )
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

    static func notFoundMessage(_ id: String) -> String {
        "no job with id \"\(id)\"; GET /external/jobs lists them"
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
        if let cadence = job.cadenceMinutes, cadence < 1 {
            issues.append(FieldIssue(path: "cadenceMinutes", message: "must be at least 1, got \(cadence)"))
        }
        return issues
    }

    static func throwIfInvalid(_ issues: [FieldIssue]) throws {
        guard !issues.isEmpty else { return }
        throw DomainError.invalid(
            message: issues.count == 1
                ? "\(issues[0].path): \(issues[0].message)"
                : "\(issues.count) fields are invalid: " + issues.map(\.description).joined(separator: "; "),
            details: issues
        )
    }
}
