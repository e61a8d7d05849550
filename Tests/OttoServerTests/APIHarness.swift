import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OpenCodeStandIn
import OttoContracts
import OttoCore
import OttoServer
import OttoTestSupport
import ServiceLifecycle
import Testing

/// A real runtime (temporary home, real SQLite file, stand-in OpenCode over loopback) behind the real router.
struct APIHarness: Sendable {
    let home: TemporaryHome
    let runtime: OttoRuntime
    let services: ExternalAPIServices
    let server: RunningStandIn
    let client: any TestClientProtocol
    let logs: CapturedLogs
    /// The runtime's services when the test runs them.
    let serviceGroup: ServiceGroup?

    /// Stops the services as SIGTERM does.
    func stopServices() async { await serviceGroup?.triggerGracefulShutdown() }

    var token: String { runtime.apiToken.value }

    /// Without the heartbeat and watchdog, a fresh Otto has no jobs; tests of those jobs enable them.
    static let quietConfig = #"{"heartbeat": {"enabled": false}, "watchdog": {"enabled": false}}"#

    /// Runs `body` against a fresh Otto; `.router` by default, `.live` for a real socket.
    static func run(
        _ setup: TestingSetup = .router,
        openCode standIn: StandInOpenCode = fixtureStandIn(),
        config: String = quietConfig,
        runningServices: Bool = false,
        environment extra: [String: String] = [:],
        prepare: (TemporaryHome) throws -> Void = { _ in },
        _ body: @Sendable (APIHarness) async throws -> Void
    ) async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        try home.writeConfig(config)
        try prepare(home)
        try await withStandInOpenCode(standIn) { server in
            let logs = CapturedLogs()
            let logger = logs.logger()
            let runtime = try await OttoRuntime.bootstrap(
                environment: home.environment(openCode: server.baseURL, extra: extra),
                logger: logger
            )
            let services = ExternalAPIServices(runtime: runtime, logger: logger)
            let app = Application(router: buildRouter(services, logger: logger), logger: logger)
            try await app.test(setup) { client in
                // The scheduler and the other services run as in `otto serve`, and stop gracefully afterwards.
                let group = ServiceGroup(
                    configuration: .init(services: runtime.services.map { .init(service: $0) }, logger: logger))
                let harness = APIHarness(
                    home: home, runtime: runtime, services: services, server: server, client: client, logs: logs,
                    serviceGroup: runningServices ? group : nil)
                guard runningServices else { return try await body(harness) }
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    do {
                        try await body(harness)
                    } catch {
                        await group.triggerGracefulShutdown()
                        throw error
                    }
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
            }
        }
    }

    struct Reply: Sendable {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let text: String
        /// The bytes as sent (compressed, if the server compressed them).
        let body: ByteBuffer

        var json: JSONValue? { JSONValue(jsonText: text) }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONDecoder().decode(type, from: Data(text.utf8))
        }

        var error: ErrorResponse? { try? decode(ErrorResponse.self) }
    }

    /// One request; `token: nil` sends no Authorization header. Every reply is checked for the token.
    @discardableResult
    func call(
        _ method: HTTPRequest.Method,
        _ uri: String,
        json: String? = nil,
        headers extra: HTTPFields = [:],
        authorization: String? = "<token>"
    ) async throws -> Reply {
        var headers = extra
        if let authorization {
            headers[.authorization] = authorization == "<token>" ? "Bearer \(token)" : authorization
        }
        if json != nil && headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let response = try await client.execute(
            uri: uri,
            method: method,
            headers: headers,
            body: json.map { ByteBuffer(string: $0) }
        )
        let reply = Reply(
            status: response.status, headers: response.headers, text: String(buffer: response.body),
            body: response.body)
        #expect(!reply.text.contains(token), "the API token leaked in the body of \(method) \(uri)")
        for field in reply.headers {
            #expect(!field.value.contains(token), "the API token leaked in header \(field.name) of \(method) \(uri)")
        }
        if reply.status.code >= 400 {
            // Every error has the one error shape.
            let error = reply.error
            #expect(
                error != nil, "\(method) \(uri) answered \(reply.status.code) without the error shape: \(reply.text)")
            #expect(
                error.map { APIErrorCode(rawValue: $0.error)?.httpStatus == Int(reply.status.code) } ?? false,
                "\(method) \(uri): code \(error?.error ?? "-") does not match status \(reply.status.code)"
            )
        }
        return reply
    }

    @discardableResult
    func createJob(_ json: String) async throws -> Reply {
        try await call(.post, "/external/jobs", json: json)
    }

    func job(_ id: String) async throws -> JobBody {
        try await call(.get, "/external/jobs/\(id)").decode(JobResponse.self).job
    }
}
