import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import OttoContracts
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the catalog needs from OpenCode. The real client speaks HTTP; tests use the same client against the
/// stand-in OpenCode server over loopback.
public protocol OpenCodeCatalogSource: Sendable {
    /// The URL catalog fetches go to, for messages.
    var providersURL: String { get }
    func fetchCatalog() async throws(OpenCodeError) -> OpenCodeCatalog
}

/// One fetch's result: the model references and OpenCode's global default model.
public struct OpenCodeCatalog: Sendable, Equatable {
    public let refs: [ModelRef]
    public let globalDefault: ModelRef?
}

public struct OpenCodeClient: OpenCodeCatalogSource {
    public let baseURL: String
    public let timeout: Duration
    /// Sent as Basic auth on every call; nil for an OpenCode without a password.
    public let credentials: OpenCodeCredentials?
    private let httpClient: HTTPClient

    /// Bodies larger than this are refused; the full models.dev catalog is about 3 MiB.
    static let maxBodyBytes = 64 * 1024 * 1024

    /// One client for all OpenCode calls, alive as long as the process. Connection attempts are not retried: a
    /// refused connection should be reported at once as "connection refused", not as a timeout 10 s later.
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        // As many connections to OpenCode as runs at once (scheduler.maxConcurrentRuns, up to 64), plus the
        // assistant, catalog fetches and aborts: a hung prompt must never make an abort or a refresh wait.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 80
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The assistant's own connections: one per message in flight and one for its abort.
    static func assistantHTTPClient(maxConcurrent: Int) -> HTTPClient {
        let key = max(1, maxConcurrent)
        return assistantClients.withLock { clients in
            if let existing = clients[key] { return existing }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.redirectConfiguration = .disallow
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 2 * key + 2
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            clients[key] = client
            return client
        }
    }

    /// Alive as long as the process, like the shared client; one per configured size (tests start several Ottos).
    private static let assistantClients = Mutex<[Int: HTTPClient]>([:])

    public init(
        baseURL: String, timeout: Duration = .seconds(10), credentials: OpenCodeCredentials? = nil,
        httpClient: HTTPClient = Self.sharedHTTPClient
    ) {
        self.baseURL = baseURL
        self.timeout = timeout
        self.credentials = credentials
        self.httpClient = httpClient
    }

    public var providersURL: String { baseURL + "/config/providers" }
    public var configURL: String { baseURL + "/config" }

    public func fetchCatalog() async throws(OpenCodeError) -> OpenCodeCatalog {
        let providersBody = try await get(providersURL)
        let refs: [ModelRef]
        do {
            refs = try OpenCodePayloads.catalogRefs(fromProvidersBody: Data(providersBody.readableBytesView))
        } catch let error {
            throw OpenCodeError(url: providersURL, cause: .badPayload(error.reason))
        }
        let configBody = try await get(configURL)
        let globalDefault: ModelRef?
        do {
            globalDefault = try OpenCodePayloads.globalDefault(fromConfigBody: Data(configBody.readableBytesView))
        } catch {
            throw OpenCodeError(url: configURL, cause: .badPayload(error.reason))
        }
        return OpenCodeCatalog(refs: refs, globalDefault: globalDefault)
    }

    /// One GET with the whole exchange, body included, bounded by `timeout`; anything but 200 is an error.
    func get(_ url: String) async throws(OpenCodeError) -> ByteBuffer {
        let (status, body) = try await exchange(.GET, url, body: nil, timeout: timeout, maxBody: Self.maxBodyBytes)
        guard status == 200 else { throw OpenCodeError.http(url: url, status: status, body: body) }
        return body
    }

    /// One request and its whole response, bounded by `timeout` from the first byte sent to the last received.
    func exchange(
        _ method: HTTPMethod,
        _ url: String,
        body: ByteBuffer?,
        timeout: Duration,
        maxBody: Int
    ) async throws(OpenCodeError) -> (status: Int, body: ByteBuffer) {
        let seconds = max(1, Int(timeout.components.seconds))
        guard timeout > .zero else { throw OpenCodeError(url: url, cause: .timedOut(seconds: seconds)) }
        do {
            let httpClient = self.httpClient
            let authorization = credentials?.authorization
            let exchanged = try await withDeadline(timeout) { () async throws -> (status: Int, body: ByteBuffer) in
                var request = HTTPClientRequest(url: url)
                request.method = method
                request.headers.add(name: "Accept", value: "application/json")
                if let authorization { request.headers.add(name: "Authorization", value: authorization) }
                if let body {
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(body)
                }
                let response = try await httpClient.execute(request, timeout: .nanoseconds(Self.nanoseconds(timeout)))
                return (Int(response.status.code), try await response.body.collect(upTo: maxBody))
            }
            guard let exchanged else { throw OpenCodeError(url: url, cause: .timedOut(seconds: seconds)) }
            // No route Otto calls answers 401 or 403 for any other reason: it is always about credentials.
            if exchanged.status == 401 || exchanged.status == 403 {
                throw OpenCodeError(
                    url: url, cause: .unauthorized(status: exchanged.status, sentCredentials: authorization != nil))
            }
            return exchanged
        } catch let error as OpenCodeError {
            throw error
        } catch {
            throw OpenCodeError(
                url: url, cause: Self.cause(of: error, timeoutSeconds: seconds).redacted(by: credentials))
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    static func cause(of error: any Error, timeoutSeconds: Int) -> OpenCodeError.Cause {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout:
                return .timedOut(seconds: timeoutSeconds)
            case .getConnectionFromPoolTimeout:
                return .unreachable("no free connection to OpenCode: every one of Otto's connections is in use")
            case .remoteConnectionClosed:
                return .connectionLost("the connection was closed before a response arrived")
            case .invalidURL, .emptyHost, .emptyScheme:
                return .unreachable("the URL is not valid")
            default:
                return .unreachable(String(describing: error))
            }
        }
        if let error = error as? NIOConnectionError {
            let errors = error.connectionErrors.map(\.error)
            if errors.contains(where: { ($0 as? IOError)?.errnoCode == ECONNREFUSED }) {
                return .connectionRefused
            }
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return .unreachable("the host name could not be resolved")
            }
            return .unreachable(errors.first.map { String(describing: $0) } ?? String(describing: error))
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return .connectionRefused
            case ECONNRESET, EPIPE: return .connectionLost("the connection was reset")
            default: break
            }
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return .timedOut(seconds: timeoutSeconds)
        }
        if error is NIOTooManyBytesError {
            return .badPayload("the body is larger than \(maxBodyBytes / 1024 / 1024) MiB")
        }
        if error is DecodingError {
            return .badPayload("not JSON")
        }
        return .unreachable(String(describing: error))
    }
}
