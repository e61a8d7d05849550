import Foundation
import Hummingbird
import NIOCore
import OttoContracts
import OttoCore

/// `/external/jobs/...`: scheduled jobs, their audit trail and their runs. Parses and maps; `JobsService`
/// decides.
struct JobsController<Context: RequestContext>: Sendable {
    let jobs: JobsService
    static var actor: String { "operator" }
    static var fields: [String] {
        ["id", "type", "scheduleType", "runAt", "cadenceMinutes", "payload", "profileId", "modelRef"]
    }

    func register(on routes: RouteRegistrar<Context>) {
        routes.on(.get, "/external/jobs") { request, _ in try await self.list(request) }
        routes.on(.post, "/external/jobs") { request, _ in try await self.create(request) }
        routes.on(.get, "/external/jobs/:id") { _, context in try await self.get(context) }
        routes.on(.patch, "/external/jobs/:id") { request, context in try await self.update(request, context) }
        routes.on(.delete, "/external/jobs/:id") { _, context in try await self.delete(context) }
        routes.on(.post, "/external/jobs/:id/run-now") { _, context in try await self.runNow(context) }
        routes.on(.get, "/external/jobs/:id/audit") { request, context in try await self.audit(request, context) }
        routes.on(.get, "/external/jobs/:id/runs") { request, context in try await self.runs(request, context) }
        routes.on(.get, "/external/jobs/:id/runs/:runId") { _, context in try await self.run(context) }
    }

    /// Every job (no parameters), or a page of `limit` jobs after `cursor`. Streamed page by page as the service
    /// hands the pages over, so listing 10,000 jobs never holds the whole body (about 5 MB) in memory.
    func list(_ request: Request) async throws -> Response {
        let type = request.uri.queryParameters["type"].map(String.init)
        let limit = try RequestReading.optionalInteger(request, "limit", in: 1...JobsService.maxPageSize)
        let cursor = try request.uri.queryParameters["cursor"].map { try JobListCursor.decode(String($0)) }
        let jobs = self.jobs
        let body = ResponseBody { writer in
            var json = StreamedJSON("{\"jobs\":[")
            var first = true
            let next = try await jobs.list(type: type, after: cursor, limit: limit) { page in
                for job in page {
                    if !first { json.raw(",") }
                    first = false
                    try await json.value(job, to: &writer)
                }
                try await json.flush(to: &writer)
            }
            json.raw("],\"nextCursor\":")
            try await json.value(next.map(JobListCursor.encode), to: &writer)
            try await json.finish("}", to: &writer)
        }
        return Response(status: .ok, headers: [.contentType: JSONResponse.contentType], body: body)
    }

    func get(_ context: Context) async throws -> Response {
        try JSONResponse.make(JobResponse(job: try await jobs.get(id: try Self.id(context))))
    }

    func create(_ request: Request) async throws -> Response {
        var reader = ObjectReader(try await RequestReading.jsonObject(request), allowed: Self.fields)
        // The fields a client may choose; JobsService sets the rest. An empty id lets Otto choose one.
        var draft = Job(id: "", type: "", scheduleType: .oneshot, createdAt: 0, updatedAt: 0)
        switch reader.string("id") {
        case .value(let id) where id.isEmpty:
            reader.fail("id", "must not be empty; leave it out for Otto to choose one")
        case .value(let id): draft.id = id
        case .absent, .null: break
        }
        switch reader.string("type") {
        case .value(let type): draft.type = type
        case .absent: reader.fail("type", "missing; give the job's type, e.g. \"report\"")
        case .null: reader.fail("type", "must not be null")
        }
        switch reader.enumValue("scheduleType", Job.ScheduleType.self) {
        case .value(let scheduleType): draft.scheduleType = scheduleType
        case .absent where reader.node("scheduleType") == nil:
            reader.fail("scheduleType", "missing; expected recurring or oneshot")
        case .null: reader.fail("scheduleType", "must not be null; expected recurring or oneshot")
        case .absent: break
        }
        if case .value(let runAt) = reader.integer("runAt") { draft.runAt = runAt }
        if case .value(let cadence) = reader.integer("cadenceMinutes") { draft.cadenceMinutes = Int(cadence) }
        if case .value(let payload) = reader.object("payload") { draft.payload = payload }
        if case .value(let profileId) = reader.string("profileId") { draft.profileId = profileId }
        if case .value(let modelRef) = reader.modelRef("modelRef") { draft.modelRef = modelRef }
        guard reader.issues.isEmpty else { throw APIError.invalid(reader.issues) }
        let job = try await jobs.create(draft, actor: Self.actor)
        return try JSONResponse.make(JobMutationResponse(id: job.id, status: "created"), status: .created)
    }

    func update(_ request: Request, _ context: Context) async throws -> Response {
        let id = try Self.id(context)
        var reader = ObjectReader(try await RequestReading.jsonObject(request), allowed: Self.fields)
        var patch = JobPatch()
        switch reader.string("id") {
        case .value(let newId) where newId != id: reader.fail("id", "a job's id cannot be changed")
        case .null: reader.fail("id", "a job's id cannot be changed")
        default: break
        }
        switch reader.string("type") {
        case .value(let type): patch.type = type
        case .null: reader.fail("type", "must not be null")
        case .absent: break
        }
        switch reader.enumValue("scheduleType", Job.ScheduleType.self) {
        case .value(let scheduleType): patch.scheduleType = scheduleType
        case .null: reader.fail("scheduleType", "must not be null; expected recurring or oneshot")
        case .absent: break
        }
        switch reader.integer("runAt") {
        case .value(let runAt): patch.runAt = .some(runAt)
        case .null: patch.runAt = .some(nil)
        case .absent: break
        }
        switch reader.integer("cadenceMinutes") {
        case .value(let cadence): patch.cadenceMinutes = .some(Int(cadence))
        case .null: patch.cadenceMinutes = .some(nil)
        case .absent: break
        }
        switch reader.object("payload") {
        case .value(let payload): patch.payload = .some(payload)
        case .null: patch.payload = .some(nil)
        case .absent: break
        }
        switch reader.string("profileId") {
        case .value(let profileId): patch.profileId = .some(profileId)
        case .null: patch.profileId = .some(nil)
        case .absent: break
        }
        switch reader.modelRef("modelRef") {
        case .value(let ref): patch.modelRef = .some(ref)
        case .null: patch.modelRef = .some(nil)
        case .absent: break
        }
        guard reader.issues.isEmpty else { throw APIError.invalid(reader.issues) }
        let job = try await jobs.update(id: id, patch, actor: Self.actor)
        return try JSONResponse.make(JobMutationResponse(id: job.id, status: "updated"))
    }

    func delete(_ context: Context) async throws -> Response {
        let job = try await jobs.delete(id: try Self.id(context), actor: Self.actor)
        return try JSONResponse.make(JobMutationResponse(id: job.id, status: "deleted"))
    }

    func runNow(_ context: Context) async throws -> Response {
        let id = try Self.id(context)
        let scheduledFor = try await jobs.runNow(id: id, actor: Self.actor)
        return try JSONResponse.make(
            JobMutationResponse(id: id, status: "run_now_scheduled", scheduledFor: scheduledFor))
    }

    func audit(_ request: Request, _ context: Context) async throws -> Response {
        let id = try Self.id(context)
        let limit = try RequestReading.integer(request, "limit", in: 1...200, default: 20)
        let entries = try await jobs.audit(id: id, limit: limit)
        return try JSONResponse.make(TaskAuditResponse(taskId: id, entries: entries))
    }

    func runs(_ request: Request, _ context: Context) async throws -> Response {
        let id = try Self.id(context)
        let limit = try RequestReading.integer(request, "limit", in: 1...200, default: 20)
        let offset = try RequestReading.integer(request, "offset", in: 0...Int.max, default: 0)
        let page = try await jobs.runs(id: id, limit: limit, offset: offset)
        // JobRunsResponse's shape, written run by run: a page of megabyte answers is never held twice (decoded and
        // encoded), and a client that does not read holds one chunk of it.
        let body = ResponseBody { writer in
            var json = StreamedJSON("{\"taskId\":")
            try await json.value(id, to: &writer)
            json.raw(",\"total\":\(page.total),\"limit\":\(limit),\"offset\":\(offset),\"runs\":[")
            for (index, run) in page.runs.enumerated() {
                if index > 0 { json.raw(",") }
                try await json.value(run, to: &writer)
            }
            try await json.finish("]}", to: &writer)
        }
        return Response(status: .ok, headers: [.contentType: JSONResponse.contentType], body: body)
    }

    func run(_ context: Context) async throws -> Response {
        let id = try Self.id(context)
        let runId = try Self.pathParameter("runId", context)
        return try JSONResponse.make(
            JobRunResponse(taskId: id, run: try await jobs.run(id: id, runId: runId)))
    }

    static func id(_ context: Context) throws -> String {
        try pathParameter("id", context)
    }

    /// A path segment as the client meant it: `/external/jobs/weekly%2Freport` addresses the job `weekly/report`.
    static func pathParameter(_ name: String, _ context: Context) throws -> String {
        let raw = try context.parameters.require(name)
        guard raw.contains("%") else { return raw }
        guard let decoded = raw.removingPercentEncoding else {
            throw DomainError.invalid(
                message: "the \(name) in the path is not valid percent-encoding: \(raw)",
                details: [FieldIssue(path: name, message: "encode each byte outside A-Z a-z 0-9 - . _ ~ as %XX")])
        }
        return decoded
    }
}

/// The `cursor` of a job listing: where the previous page ended, as `<createdAt>-<id as hex>`. Opaque to clients.
enum JobListCursor {
    static let maxLength = 2_048

    static func encode(_ cursor: JobCursor) -> String {
        "\(cursor.createdAt)-"
            + cursor.id.utf8.map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
    }

    static func decode(_ text: String) throws -> JobCursor {
        let invalid = APIError.invalid([
            FieldIssue(
                path: "cursor", message: "not a cursor this API handed out; pass nextCursor of the previous page")
        ])
        guard text.utf8.count <= maxLength, let dash = text.firstIndex(of: "-"),
            let createdAt = Int64(text[..<dash])
        else { throw invalid }
        let hex = Array(text[text.index(after: dash)...].utf8)
        guard hex.count % 2 == 0 else { throw invalid }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.count / 2)
        for index in stride(from: 0, to: hex.count, by: 2) {
            guard let byte = UInt8(String(decoding: hex[index...index + 1], as: UTF8.self), radix: 16) else {
                throw invalid
            }
            bytes.append(byte)
        }
        guard let id = String(validating: bytes, as: UTF8.self), !id.isEmpty else { throw invalid }
        return JobCursor(createdAt: createdAt, id: id)
    }
}
