import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import OttoContracts

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// A typed client of the external API. Every failure becomes a `CLIError` that says what happened and what to do.
struct APIClient {
    struct Reply {
        let status: Int
        let body: Data
        let etag: String?
    }

    let connection: Connection
    let verbose: Bool
    private let http: HTTPClient

    init(connection: Connection, verbose: Bool) {
        self.connection = connection
        self.verbose = verbose
        var configuration = HTTPClient.Configuration()
        // A refused connection should be reported at once, not retried until a timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        // One event loop is plenty for a command that makes a request or two, and starts faster than one per core.
        NIOSingletons.groupLoopCountSuggestion = 1
        self.http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    /// Runs `body` with a client and shuts it down afterwards.
    static func with<T>(
        _ options: ConnectionOptions,
        _ body: (APIClient) async throws -> T
    ) async throws -> T {
        let connection = try Connection.resolve(options, environment: ProcessInfo.processInfo.environment)
        let client = APIClient(connection: connection, verbose: options.verbose)
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
        accept statuses: Set<Int> = []
    ) async throws -> Reply {
        let url = connection.baseURL + path
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(connection.token)")
        request.headers.add(name: "Accept", value: "application/json")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        if let ifMatch { request.headers.add(name: "If-Match", value: ifMatch) }
        if verbose { Output.trace("> \(method.rawValue) \(url)") }
        let started = ContinuousClock.now
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .seconds(60))
            body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        } catch {
            throw CLIError(
                "cannot reach the Otto API at \(connection.baseURL): \(Self.describe(error)); is `otto serve` running there?"
            )
        }
        let status = Int(response.status.code)
        if verbose {
            let elapsed = ContinuousClock.now - started
            let milliseconds =
                elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            Output.trace("< \(status) \(response.status.reasonPhrase) (\(milliseconds) ms)")
        }
        let reply = Reply(
            status: status, body: Data(body.readableBytesView), etag: response.headers.first(name: "ETag"))
        if status >= 400 && !statuses.contains(status) {
            throw failure(reply)
        }
        return reply
    }

    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> (T, Reply) {
        let reply = try await send(.GET, path)
        return (try decode(type, reply), reply)
    }

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

    static func describe(_ error: any Error) -> String {
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
        return String(describing: error)
    }
}
