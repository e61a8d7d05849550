#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// The external API's bodies. Optional fields are always written, as `null` when absent, so a client sees the
// same keys every time; these types are the contract the server encodes and `ottoctl` decodes.

/// `GET /external/models/catalog`.
public struct CatalogResponse: Codable, Equatable, Sendable {
    public let models: [String]
    public let updatedAt: Int64?
    public let source: CatalogSource

    public init(models: [String], updatedAt: Int64?, source: CatalogSource) {
        self.models = models
        self.updatedAt = updatedAt
        self.source = source
    }

    enum CodingKeys: String, CodingKey { case models, updatedAt, source }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(models, forKey: .models)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(source, forKey: .source)
    }
}

/// `POST /external/models/refresh`.
public struct RefreshResponse: Codable, Equatable, Sendable {
    public let status: String
    public let updatedAt: Int64
    public let count: Int

    public init(updatedAt: Int64, count: Int) {
        self.status = "ok"
        self.updatedAt = updatedAt
        self.count = count
    }
}

/// `GET` and `PUT /external/models/defaults`.
public struct FlowDefaultsBody: Codable, Equatable, Sendable {
    public let flowDefaults: FlowDefaults

    public init(flowDefaults: FlowDefaults) { self.flowDefaults = flowDefaults }
}

/// What a job will actually run on, as the shared resolver decides it now.
public struct EffectiveModel: Codable, Equatable, Sendable {
    public enum Source: String, Codable, Sendable, CaseIterable {
        case job
        case flowDefault = "flow_default"
        case globalDefault = "global_default"
        case fallbackGlobalDefault = "fallback_global_default"
        case unresolved
    }

    public let ref: String?
    public let source: Source

    public init(ref: String?, source: Source) {
        self.ref = ref
        self.source = source
    }

    enum CodingKeys: String, CodingKey { case ref, source }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ref, forKey: .ref)
        try container.encode(source, forKey: .source)
    }
}

/// A scheduled job as the API shows it.
public struct JobBody: Codable, Equatable, Sendable {
    public let id: String
    public let type: String
    public let status: String
    public let scheduleType: String
    public let profileId: String?
    public let modelRef: String?
    public let runAt: Int64?
    public let cadenceMinutes: Int?
    public let payload: JSONValue?
    public let lastRunAt: Int64?
    public let nextRunAt: Int64?
    public let terminalState: String?
    public let terminalReason: String?
    public let createdAt: Int64
    public let updatedAt: Int64
    /// `system` or `operator`.
    public let managedBy: String
    public let isMutable: Bool
    public let effectiveModel: EffectiveModel

    public init(
        id: String,
        type: String,
        status: String,
        scheduleType: String,
        profileId: String?,
        modelRef: String?,
        runAt: Int64?,
        cadenceMinutes: Int?,
        payload: JSONValue?,
        lastRunAt: Int64?,
        nextRunAt: Int64?,
        terminalState: String?,
        terminalReason: String?,
        createdAt: Int64,
        updatedAt: Int64,
        managedBy: String,
        isMutable: Bool,
        effectiveModel: EffectiveModel
    ) {
        self.id = id
        self.type = type
        self.status = status
        self.scheduleType = scheduleType
        self.profileId = profileId
        self.modelRef = modelRef
        self.runAt = runAt
        self.cadenceMinutes = cadenceMinutes
        self.payload = payload
        self.lastRunAt = lastRunAt
        self.nextRunAt = nextRunAt
        self.terminalState = terminalState
        self.terminalReason = terminalReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.managedBy = managedBy
        self.isMutable = isMutable
        self.effectiveModel = effectiveModel
    }

    enum CodingKeys: String, CodingKey {
        case id, type, status, scheduleType, profileId, modelRef, runAt, cadenceMinutes, payload, lastRunAt
        case nextRunAt, terminalState, terminalReason, createdAt, updatedAt, managedBy, isMutable, effectiveModel
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(status, forKey: .status)
        try container.encode(scheduleType, forKey: .scheduleType)
        try container.encode(profileId, forKey: .profileId)
        try container.encode(modelRef, forKey: .modelRef)
        try container.encode(runAt, forKey: .runAt)
        try container.encode(cadenceMinutes, forKey: .cadenceMinutes)
        try container.encode(payload, forKey: .payload)
        try container.encode(lastRunAt, forKey: .lastRunAt)
        try container.encode(nextRunAt, forKey: .nextRunAt)
        try container.encode(terminalState, forKey: .terminalState)
        try container.encode(terminalReason, forKey: .terminalReason)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(managedBy, forKey: .managedBy)
        try container.encode(isMutable, forKey: .isMutable)
        try container.encode(effectiveModel, forKey: .effectiveModel)
    }
}

public struct JobListResponse: Codable, Equatable, Sendable {
    public let jobs: [JobBody]
    public init(jobs: [JobBody]) { self.jobs = jobs }
}

public struct JobResponse: Codable, Equatable, Sendable {
    public let job: JobBody
    public init(job: JobBody) { self.job = job }
}

/// `{"id", "status"}` answers of job mutations; `scheduledFor` only for run-now.
public struct JobMutationResponse: Codable, Equatable, Sendable {
    public let id: String
    public let status: String
    public let scheduledFor: Int64?

    public init(id: String, status: String, scheduledFor: Int64? = nil) {
        self.id = id
        self.status = status
        self.scheduledFor = scheduledFor
    }
}

public struct TaskAuditEntryBody: Codable, Equatable, Sendable {
    public let id: Int64
    public let taskId: String
    public let action: String
    public let lane: String
    public let actor: String?
    public let before: JSONValue?
    public let after: JSONValue?
    public let metadata: JSONValue?
    public let createdAt: Int64

    public init(
        id: Int64,
        taskId: String,
        action: String,
        lane: String,
        actor: String?,
        before: JSONValue?,
        after: JSONValue?,
        metadata: JSONValue?,
        createdAt: Int64
    ) {
        self.id = id
        self.taskId = taskId
        self.action = action
        self.lane = lane
        self.actor = actor
        self.before = before
        self.after = after
        self.metadata = metadata
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey { case id, taskId, action, lane, actor, before, after, metadata, createdAt }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(taskId, forKey: .taskId)
        try container.encode(action, forKey: .action)
        try container.encode(lane, forKey: .lane)
        try container.encode(actor, forKey: .actor)
        try container.encode(before, forKey: .before)
        try container.encode(after, forKey: .after)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

public struct TaskAuditResponse: Codable, Equatable, Sendable {
    public let taskId: String
    public let entries: [TaskAuditEntryBody]
    public init(taskId: String, entries: [TaskAuditEntryBody]) {
        self.taskId = taskId
        self.entries = entries
    }
}

public struct JobRunBody: Codable, Equatable, Sendable {
    public let id: String
    public let jobId: String
    public let scheduledFor: Int64
    public let startedAt: Int64
    public let finishedAt: Int64?
    public let status: String
    public let errorCode: String?
    public let errorMessage: String?
    public let result: JSONValue?
    public let modelRef: String?
    public let modelSource: String?
    public let createdAt: Int64

    public init(
        id: String,
        jobId: String,
        scheduledFor: Int64,
        startedAt: Int64,
        finishedAt: Int64?,
        status: String,
        errorCode: String?,
        errorMessage: String?,
        result: JSONValue?,
        modelRef: String?,
        modelSource: String?,
        createdAt: Int64
    ) {
        self.id = id
        self.jobId = jobId
        self.scheduledFor = scheduledFor
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.result = result
        self.modelRef = modelRef
        self.modelSource = modelSource
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, jobId, scheduledFor, startedAt, finishedAt, status, errorCode, errorMessage, result, modelRef
        case modelSource, createdAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(jobId, forKey: .jobId)
        try container.encode(scheduledFor, forKey: .scheduledFor)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode(status, forKey: .status)
        try container.encode(errorCode, forKey: .errorCode)
        try container.encode(errorMessage, forKey: .errorMessage)
        try container.encode(result, forKey: .result)
        try container.encode(modelRef, forKey: .modelRef)
        try container.encode(modelSource, forKey: .modelSource)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

public struct JobRunsResponse: Codable, Equatable, Sendable {
    public let taskId: String
    public let total: Int
    public let limit: Int
    public let offset: Int
    public let runs: [JobRunBody]

    public init(taskId: String, total: Int, limit: Int, offset: Int, runs: [JobRunBody]) {
        self.taskId = taskId
        self.total = total
        self.limit = limit
        self.offset = offset
        self.runs = runs
    }
}

public struct JobRunResponse: Codable, Equatable, Sendable {
    public let taskId: String
    public let run: JobRunBody
    public init(taskId: String, run: JobRunBody) {
        self.taskId = taskId
        self.run = run
    }
}

public struct CommandAuditEntryBody: Codable, Equatable, Sendable {
    public let id: Int64
    public let command: String
    public let status: String
    public let errorMessage: String?
    public let metadata: JSONValue?
    public let createdAt: Int64

    public init(
        id: Int64, command: String, status: String, errorMessage: String?, metadata: JSONValue?, createdAt: Int64
    ) {
        self.id = id
        self.command = command
        self.status = status
        self.errorMessage = errorMessage
        self.metadata = metadata
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey { case id, command, status, errorMessage, metadata, createdAt }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(command, forKey: .command)
        try container.encode(status, forKey: .status)
        try container.encode(errorMessage, forKey: .errorMessage)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

public struct CommandAuditResponse: Codable, Equatable, Sendable {
    public let entries: [CommandAuditEntryBody]
    public init(entries: [CommandAuditEntryBody]) { self.entries = entries }
}

public struct HealthResponse: Codable, Equatable, Sendable {
    public struct Catalog: Codable, Equatable, Sendable {
        public let count: Int
        public let updatedAt: Int64?
        public let source: CatalogSource

        public init(count: Int, updatedAt: Int64?, source: CatalogSource) {
            self.count = count
            self.updatedAt = updatedAt
            self.source = source
        }

        enum CodingKeys: String, CodingKey { case count, updatedAt, source }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(count, forKey: .count)
            try container.encode(updatedAt, forKey: .updatedAt)
            try container.encode(source, forKey: .source)
        }
    }

    public let status: String
    public let catalog: Catalog

    public init(catalog: Catalog) {
        self.status = "ok"
        self.catalog = catalog
    }
}

/// The error codes of the external API, with their HTTP statuses.
public enum APIErrorCode: String, Codable, Sendable, CaseIterable {
    case invalidRequest = "invalid_request"
    case unauthorized
    case forbiddenMutation = "forbidden_mutation"
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case stateConflict = "state_conflict"
    case preconditionFailed = "precondition_failed"
    case payloadTooLarge = "payload_too_large"
    case unsupportedMediaType = "unsupported_media_type"
    case upstreamUnavailable = "upstream_unavailable"
    case serviceUnavailable = "service_unavailable"
    case internalError = "internal_error"

    public var httpStatus: Int {
        switch self {
        case .invalidRequest: 400
        case .unauthorized: 401
        case .forbiddenMutation: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .stateConflict: 409
        case .preconditionFailed: 412
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .upstreamUnavailable: 502
        case .serviceUnavailable: 503
        case .internalError: 500
        }
    }
}

/// `GET /external/models/effective`: what each flow runs on right now, as the shared resolver decides it, and
/// OpenCode's global default (the fallback). Lets a client warn when a chosen model has left the catalog.
public struct EffectiveModelsResponse: Codable, Equatable, Sendable {
    public let flows: [String: EffectiveModel]
    public let globalDefault: String?

    public init(flows: [String: EffectiveModel], globalDefault: String?) {
        self.flows = flows
        self.globalDefault = globalDefault
    }

    enum CodingKeys: String, CodingKey { case flows, globalDefault }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(flows, forKey: .flows)
        try container.encode(globalDefault, forKey: .globalDefault)
    }
}
