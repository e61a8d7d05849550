#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// The external API's bodies: the contract the server encodes (with `CompactJSONEncoder`, which writes an absent
// optional as `null`, so a client sees the same keys every time) and `ottoctl` decodes.

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

/// What a job or flow will actually run on, as the shared resolver decides it now.
public struct EffectiveModel: Codable, Equatable, Sendable {
    /// The rule that chose the model (`ModelSource`), or `unresolved` when no model is available at all.
    public enum Source: String, Codable, Sendable, CaseIterable {
        case job
        case flowDefault = "flow_default"
        case globalDefault = "global_default"
        case fallbackGlobalDefault = "fallback_global_default"
        /// No model is chosen anywhere: OpenCode picks one itself.
        case openCodeDefault = "opencode_default"
        case unresolved

        public init(_ source: ModelSource) {
            switch source {
            case .job: self = .job
            case .flowDefault: self = .flowDefault
            case .globalDefault: self = .globalDefault
            case .fallbackGlobalDefault: self = .fallbackGlobalDefault
            case .openCodeDefault: self = .openCodeDefault
            }
        }
    }

    public let ref: ModelRef?
    public let source: Source

    public init(ref: ModelRef?, source: Source) {
        self.ref = ref
        self.source = source
    }

    public static let unresolved = EffectiveModel(ref: nil, source: .unresolved)
}

/// A job as the API shows it: the job's own fields, then what Otto decides about it now. The job's fields come
/// from `Job`'s own coding, so a field added to `Job` appears here with no change. `body.modelRef` reads the job's.
@dynamicMemberLookup
public struct JobBody: Codable, Equatable, Sendable {
    public enum ManagedBy: String, Codable, Sendable { case system, `operator` }

    public let job: Job
    public let managedBy: ManagedBy
    public let isMutable: Bool
    public let effectiveModel: EffectiveModel

    public init(job: Job, effectiveModel: EffectiveModel) {
        self.job = job
        self.managedBy = job.isSystemManaged ? .system : .operator
        self.isMutable = job.isMutable
        self.effectiveModel = effectiveModel
    }

    public subscript<Value>(dynamicMember field: KeyPath<Job, Value>) -> Value { job[keyPath: field] }

    enum CodingKeys: String, CodingKey { case managedBy, isMutable, effectiveModel }

    public init(from decoder: any Decoder) throws {
        job = try Job(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        managedBy = try container.decode(ManagedBy.self, forKey: .managedBy)
        isMutable = try container.decode(Bool.self, forKey: .isMutable)
        effectiveModel = try container.decode(EffectiveModel.self, forKey: .effectiveModel)
    }

    public func encode(to encoder: any Encoder) throws {
        try job.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(managedBy, forKey: .managedBy)
        try container.encode(isMutable, forKey: .isMutable)
        try container.encode(effectiveModel, forKey: .effectiveModel)
    }
}

/// `GET /external/jobs`: every job, or one page of them when the client asked for `limit`; `nextCursor` (else
/// null) fetches the page after.
public struct JobListResponse: Codable, Equatable, Sendable {
    public let jobs: [JobBody]
    public let nextCursor: String?
    public init(jobs: [JobBody], nextCursor: String? = nil) {
        self.jobs = jobs
        self.nextCursor = nextCursor
    }
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

    enum CodingKeys: String, CodingKey { case id, status, scheduledFor }

    /// `scheduledFor` is left out, not null, when absent.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(status, forKey: .status)
        if let scheduledFor { try container.encode(scheduledFor, forKey: .scheduledFor) }
    }
}

public struct TaskAuditResponse: Codable, Equatable, Sendable {
    public let taskId: String
    public let entries: [TaskAuditEntry]
    public init(taskId: String, entries: [TaskAuditEntry]) {
        self.taskId = taskId
        self.entries = entries
    }
}

public struct JobRunsResponse: Codable, Equatable, Sendable {
    public let taskId: String
    public let total: Int
    public let limit: Int
    public let offset: Int
    public let runs: [JobRun]

    public init(taskId: String, total: Int, limit: Int, offset: Int, runs: [JobRun]) {
        self.taskId = taskId
        self.total = total
        self.limit = limit
        self.offset = offset
        self.runs = runs
    }
}

public struct JobRunResponse: Codable, Equatable, Sendable {
    public let taskId: String
    public let run: JobRun
    public init(taskId: String, run: JobRun) {
        self.taskId = taskId
        self.run = run
    }
}

public struct CommandAuditResponse: Codable, Equatable, Sendable {
    public let entries: [CommandAuditEntry]
    public init(entries: [CommandAuditEntry]) { self.entries = entries }
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
    case tooManyRequests = "too_many_requests"
    case upstreamUnavailable = "upstream_unavailable"
    case serviceUnavailable = "service_unavailable"
    case storageUnavailable = "storage_unavailable"
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
        case .tooManyRequests: 429
        case .upstreamUnavailable: 502
        case .serviceUnavailable, .storageUnavailable: 503
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

}

/// `POST /external/assistant/messages`: a message to the assistant, in a new session or a given one.
public struct AssistantMessageRequest: Codable, Equatable, Sendable {
    public let message: String
    public let sessionId: String?

    public init(message: String, sessionId: String? = nil) {
        self.message = message
        self.sessionId = sessionId
    }

    /// The longest message accepted, in bytes of UTF-8.
    public static let maxMessageBytes = 100_000
    /// The longest session id accepted; OpenCode's are about 30 characters.
    public static let maxSessionIdLength = 128

    /// An OpenCode session id as Otto accepts one, from a client or from OpenCode: 1 to 128 of
    /// `[A-Za-z0-9_-]`, so it can never name another path in a URL or break a log line.
    public static func isValidSessionId(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= maxSessionIdLength
            && id.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
    }
}

/// The assistant's answer, the session to continue with, and the model that answered.
public struct AssistantMessageResponse: Codable, Equatable, Sendable {
    public struct Model: Codable, Equatable, Sendable {
        /// The model Otto asked for; null when OpenCode chose (`source` `opencode_default`).
        public let ref: ModelRef?
        public let source: ModelSource
        /// The model that answered, as OpenCode reported it.
        public let answeredBy: ModelRef?

        public init(ref: ModelRef?, source: ModelSource, answeredBy: ModelRef? = nil) {
            self.ref = ref
            self.source = source
            self.answeredBy = answeredBy
        }

        private enum CodingKeys: String, CodingKey { case ref, source, answeredBy }

        /// Every key, null included: a client reads `model.ref` and `model.answeredBy` without guessing.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(ref, forKey: .ref)
            try container.encode(source, forKey: .source)
            try container.encode(answeredBy, forKey: .answeredBy)
        }
    }

    public let sessionId: String
    public let reply: String
    public let model: Model

    public init(sessionId: String, reply: String, model: Model) {
        self.sessionId = sessionId
        self.reply = reply
        self.model = model
    }
}
