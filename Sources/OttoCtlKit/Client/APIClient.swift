import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A typed client of the external API: one method per operation, the only code in ottoctl that knows a path.
/// Every failure becomes a `CLIError` that says what happened and what to do.
struct APIClient {
    struct Reply {
        let status: Int
        let body: Data
        let etag: String?
    }

    /// A decoded answer with the bytes it came from (printed as they are for `--json`).
    struct Answer<Value> {
        let value: Value
        let body: Data
        let etag: String?
    }

    let connection: Connection
    let verbose: Bool
    let output: Output
    private let http: HTTPClient

    init(connection: Connection, verbose: Bool, output: Output) {
        self.connection = connection
        self.verbose = verbose
        self.output = output
        var configuration = HTTPClient.Configuration()
        // A refused connection should be reported at once, not retried until a timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        // The catalog comes gzip-compressed (about a sixth of its size); a body that inflates past 64 MiB is refused.
        configuration.decompression = .enabled(limit: .size(64 * 1024 * 1024))
        self.http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    /// Runs `body` with a client and shuts it down afterwards.
    static func with<T>(
        _ options: ConnectionOptions,
        environment: [String: String],
        output: Output,
        _ body: (APIClient) async throws -> T
    ) async throws -> T {
        let connection = try Connection.resolve(options, environment: environment)
        let client = APIClient(connection: connection, verbose: options.verbose, output: output)
        do {
            let result = try await body(client)
            try? await client.http.shutdown()
            return result
        } catch {
            try? await client.http.shutdown()
            throw error
        }
    }

    func send(
        _ method: HTTPMethod,
        _ path: String,
        json: Data? = nil,
        ifMatch: String? = nil,
        accept statuses: Set<Int> = [],
        timeout: TimeAmount = .seconds(60)
    ) async throws -> Reply {
        let url = connection.baseURL + path
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(connection.token)")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Accept-Encoding", value: "gzip")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        if let ifMatch { request.headers.add(name: "If-Match", value: ifMatch) }
        if verbose { output.trace("> \(method.rawValue) \(url)") }
        let started = ContinuousClock.now
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            // The whole exchange, body included, within the timeout: a server that stalls mid-body is an error.
            let http = self.http
            let request = request
            guard
                let exchanged = try await withDeadline(
                    .nanoseconds(timeout.nanoseconds),
                    {
                        () async throws -> (HTTPClientResponse, ByteBuffer) in
                        let response = try await http.execute(request, timeout: timeout)
                        return (response, try await response.body.collect(upTo: 64 * 1024 * 1024))
                    })
            else {
                throw CLIError(
                    "the Otto API at \(connection.baseURL) did not answer within \(timeout.nanoseconds / 1_000_000_000) s",
                    unreachable: true)
            }
            (response, body) = exchanged
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(
                "cannot reach the Otto API at \(connection.baseURL): \(Self.describe(error, token: connection.token)); "
                    + "is `otto serve` running there?", unreachable: true)
        }
        let status = Int(response.status.code)
        if verbose {
            let elapsed = ContinuousClock.now - started
            let milliseconds =
                elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            let encoding = response.headers.first(name: "Content-Encoding").map { ", \($0)" } ?? ""
            output.trace("< \(status) \(response.status.reasonPhrase) (\(milliseconds) ms\(encoding))")
        }
        let reply = Reply(
            status: status, body: Data(body.readableBytesView), etag: response.headers.first(name: "ETag"))
        if status >= 400 && !statuses.contains(status) {
            throw failure(reply)
        }
        return reply
    }

    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> Answer<T> {
        try answer(try await send(.GET, path), as: type)
    }

    func answer<T: Decodable>(_ reply: Reply, as type: T.Type) throws -> Answer<T> {
        Answer(value: try decode(type, reply), body: reply.body, etag: reply.etag)
    }

    // The operations.

    func catalog() async throws -> Answer<CatalogResponse> {
        try await get("/external/models/catalog", as: CatalogResponse.self)
    }

    func systemStatus() async throws -> Answer<SystemStatus> {
        try await get("/external/system/status", as: SystemStatus.self)
    }

    func telegramStatus() async throws -> Answer<TelegramStatus> {
        try await get("/external/telegram/status", as: TelegramStatus.self)
    }

    func refreshCatalog() async throws -> Answer<RefreshResponse> {
        try answer(try await send(.POST, "/external/models/refresh"), as: RefreshResponse.self)
    }

    func defaults() async throws -> Answer<FlowDefaultsBody> {
        try await get("/external/models/defaults", as: FlowDefaultsBody.self)
    }

    /// Replaces the flow defaults if they are still at version `ifMatch`; nil if they changed meanwhile (412).
    func putDefaults(_ defaults: FlowDefaults, ifMatch: String?) async throws -> Answer<FlowDefaultsBody>? {
        let body = try JSONEncoder().encode(FlowDefaultsBody(flowDefaults: defaults))
        let reply = try await send(.PUT, "/external/models/defaults", json: body, ifMatch: ifMatch, accept: [412])
        return reply.status == 412 ? nil : try answer(reply, as: FlowDefaultsBody.self)
    }

    func effectiveModels() async throws -> Answer<EffectiveModelsResponse> {
        try await get("/external/models/effective", as: EffectiveModelsResponse.self)
    }

    /// One page of jobs: `limit` of them after `cursor`.
    func jobs(limit: Int, cursor: String?) async throws -> Answer<JobListResponse> {
        var path = "/external/jobs?limit=\(limit)"
        if let cursor { path += "&cursor=" + PercentEncoding.queryValue(cursor) }
        return try await get(path, as: JobListResponse.self)
    }

    /// Every job, fetched a page at a time.
    func allJobs(pageSize: Int = 500) async throws -> [JobBody] {
        var jobs: [JobBody] = []
        var cursor: String?
        repeat {
            let page = try await self.jobs(limit: pageSize, cursor: cursor).value
            jobs += page.jobs
            cursor = page.nextCursor
        } while cursor != nil
        return jobs
    }

    func job(id: String) async throws -> Answer<JobResponse> {
        try await get(Self.jobPath(id), as: JobResponse.self)
    }

    /// Sets a job's model, or inherit for nil.
    func setJobModel(id: String, to ref: ModelRef?) async throws -> Answer<JobMutationResponse> {
        let body = ref.map { #"{"modelRef": \#(jsonQuoted($0.description))}"# } ?? #"{"modelRef": null}"#
        return try answer(
            try await send(.PATCH, Self.jobPath(id), json: Data(body.utf8)), as: JobMutationResponse.self)
    }

    /// A page of a job's runs, newest first.
    func runs(jobId: String, limit: Int) async throws -> Answer<JobRunsResponse> {
        try await get(Self.jobPath(jobId) + "/runs?limit=\(limit)", as: JobRunsResponse.self)
    }

    func runNow(jobId: String) async throws -> Answer<JobMutationResponse> {
        try answer(try await send(.POST, Self.jobPath(jobId) + "/run-now"), as: JobMutationResponse.self)
    }

    /// A message to the assistant. The server bounds the model's time (scheduler.runTimeoutSeconds); the wait
    /// here is longer than any such bound that makes sense.
    func ask(_ request: AssistantMessageRequest) async throws -> Answer<AssistantMessageResponse> {
        let body = try JSONEncoder().encode(request)
        return try answer(
            try await send(.POST, "/external/assistant/messages", json: body, timeout: .hours(2)),
            as: AssistantMessageResponse.self)
    }

    func commandAudit(limit: Int, command: String?) async throws -> Answer<CommandAuditResponse> {
        var path = "/external/audit?limit=\(limit)"
        if let command { path += "&command=" + PercentEncoding.queryValue(command) }
        return try await get(path, as: CommandAuditResponse.self)
    }

    static func jobPath(_ id: String) -> String { "/external/jobs/" + PercentEncoding.pathSegment(id) }

    func decode<T: Decodable>(_ type: T.Type, _ reply: Reply) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: reply.body)
        } catch {
            throw CLIError(
                "the Otto API at \(connection.baseURL) answered something this ottoctl does not understand; are both the same version?"
            )
        }
    }

    private func failure(_ reply: Reply) -> CLIError {
        let error = try? JSONDecoder().decode(ErrorResponse.self, from: reply.body)
        if reply.status == 401 {
            return CLIError(
                "the Otto API rejected the token from \(connection.tokenOrigin); use the token of the running otto (<ottoHome>/secrets/internal-api.token)"
            )
        }
        guard let error else {
            return CLIError("the Otto API at \(connection.baseURL) answered HTTP \(reply.status)")
        }
        var message = error.message
        if let details = error.details, details.count > 1 || details.first?.message != error.message {
            for detail in details where !message.contains(detail.message) {
                message += "\n  \(detail.path): \(detail.message)"
            }
        }
        return CLIError(message, invalidInput: error.error == APIErrorCode.invalidRequest.rawValue)
    }

    /// The error in words, never with a header value or the token in them.
    static func describe(_ error: any Error, token: String) -> String {
        if let error = error as? NIOConnectionError {
            if error.connectionErrors.contains(where: { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }) {
                return "connection refused"
            }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "the host name could not be resolved" }
        }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return "connection refused" }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "it did not answer in time"
            case .remoteConnectionClosed: return "the connection was closed"
            default: break
            }
        }
        // A library's description may quote what it was given; the token never leaves this process.
        return String(describing: error).replacing(token, with: "<token>")
    }
}
