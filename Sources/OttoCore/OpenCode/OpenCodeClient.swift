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
    /// The server's URL, for messages.
    var baseURL: String { get }
    /// The URL catalog fetches go to, for messages.
    var providersURL: String { get }
    func fetchCatalog() async throws(OpenCodeError) -> OpenCodeCatalog
}

/// One fetch's result: the model references and OpenCode's global default model, and the server that gave them.
public struct OpenCodeCatalog: Sendable, Equatable {
    public let refs: [ModelRef]
    public let globalDefault: ModelRef?
    /// What the server said it is, when the source detects it.
    public var server: OpenCodeServerIdentity? = nil
    /// True when `server` differs from what the previous fetch found (the first fetch included).
    public var serverChanged = false

    public init(
        refs: [ModelRef], globalDefault: ModelRef?, server: OpenCodeServerIdentity? = nil, serverChanged: Bool = false
    ) {
        self.refs = refs
        self.globalDefault = globalDefault
        self.server = server
        self.serverChanged = serverChanged
    }
}

/// One answer from OpenCode, whole.
struct OpenCodeResponse: Sendable {
    let status: Int
    let contentType: String?
    let body: ByteBuffer

    var data: Data { Data(body.readableBytesView) }
    var isSuccess: Bool { (200..<300).contains(status) }

    /// `HTTP 200 text/html "<html>..."`: the status, the content type and at most the first 200 bytes of the
    /// body, control characters escaped, for errors about a server that is not what Otto expected.
    var summary: String {
        let bytes = body.readableBytesView.prefix(200)
        var text = ""
        for byte in bytes {
            switch byte {
            case 0x0A: text += "\\n"
            case 0x0D: text += "\\r"
            case 0x09: text += "\\t"
            case 0x22: text += "\\\""
            case 0x5C: text += "\\\\"
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += String(format: "\\x%02x", byte)
            }
        }
        let more = body.readableBytes > 200 ? "…" : ""
        return "HTTP \(status) \(contentType.map { UpstreamText.scrubbed($0, limit: 100) } ?? "(no content type)") "
            + (body.readableBytes == 0 ? "(empty body)" : "\"\(text)\"\(more)")
    }
}

public struct OpenCodeClient: OpenCodeCatalogSource {
    public let baseURL: String
    public let timeout: Duration
    /// Sent as Basic auth on every call; nil for an OpenCode without a password. Shared by every copy of the
    /// client (`using(httpClient:)`), so a reload that changes them reaches the scheduler, the assistant and
    /// Telegram at once.
    public var credentials: OpenCodeCredentials? { sharedCredentials.value.withLock { $0 } }
    private let sharedCredentials: SharedCredentials
    /// Which protocol to speak, shared by all of one Otto's clients.
    public let dialect: OpenCodeDialect
    let httpClient: HTTPClient

    private final class SharedCredentials: Sendable {
        let value: Mutex<OpenCodeCredentials?>
        init(_ credentials: OpenCodeCredentials?) { value = Mutex(credentials) }
    }

    /// Replaces the credentials of this client and of every copy of it.
    public func replaceCredentials(_ credentials: OpenCodeCredentials?) {
        sharedCredentials.value.withLock { $0 = credentials }
    }

    /// Bodies larger than this are refused; the full models.dev catalog is about 3 MiB.
    static let maxBodyBytes = 64 * 1024 * 1024

    /// One client for all OpenCode calls, alive as long as the process. Connection attempts are not retried: a
    /// refused connection should be reported at once as "connection refused", not as a timeout 10 s later.
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        // As many connections to OpenCode as runs at once (scheduler.maxConcurrentRuns, up to 64), each with its
        // refusal watcher, plus the assistant, catalog fetches and aborts: a hung prompt must never make an abort or
        // a refresh wait.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 160
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The assistant's own connections: per message in flight one for the prompt and one for its refusal watcher,
    /// and one for its abort.
    static func assistantHTTPClient(maxConcurrent: Int) -> HTTPClient {
        let key = max(1, maxConcurrent)
        return assistantClients.withLock { clients in
            if let existing = clients[key] { return existing }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.redirectConfiguration = .disallow
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 3 * key + 2
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            clients[key] = client
            return client
        }
    }

    /// Alive as long as the process, like the shared client; one per configured size (tests start several Ottos).
    private static let assistantClients = Mutex<[Int: HTTPClient]>([:])

    public init(
        baseURL: String, timeout: Duration = .seconds(10), credentials: OpenCodeCredentials? = nil,
        dialect: OpenCodeDialect = OpenCodeDialect(), httpClient: HTTPClient = Self.sharedHTTPClient
    ) {
        self.baseURL = baseURL
        self.timeout = timeout
        self.sharedCredentials = SharedCredentials(credentials)
        self.dialect = dialect
        self.httpClient = httpClient
    }

    private init(copying client: OpenCodeClient, httpClient: HTTPClient) {
        baseURL = client.baseURL
        timeout = client.timeout
        sharedCredentials = client.sharedCredentials
        dialect = client.dialect
        self.httpClient = httpClient
    }

    /// The same client (URL, credentials, dialect) on other connections.
    public func using(httpClient: HTTPClient) -> OpenCodeClient {
        OpenCodeClient(copying: self, httpClient: httpClient)
    }

    public var providersURL: String {
        switch dialect.protocolVersion {
        case .v1: V1.providersURL(baseURL)
        case .v2: V2.modelsURL(baseURL)
        }
    }

    /// Asks OpenCode what it is (see `detect()`), then fetches the catalog and global default in its protocol.
    public func fetchCatalog() async throws(OpenCodeError) -> OpenCodeCatalog {
        let identity = try await detect()
        let changed = dialect.update(identity)
        var catalog =
            switch identity.protocolVersion {
            case .v1: try await fetchCatalogV1()
            case .v2: try await fetchCatalogV2()
            }
        catalog.server = identity
        catalog.serverChanged = changed
        return catalog
    }

    /// Which OpenCode answers at `baseURL`: 2.x's `GET /api/info` (`ServerInfo`, `{"version", ...}`), else 1.x's
    /// `GET /global/health` (`{"healthy", "version"}`), else, for a 1.x older than that route, 1.x's catalog route.
    /// `opencode.protocol` skips the other protocol's probes; a server that answers none of them is an error that
    /// says what answered.
    func detect() async throws(OpenCodeError) -> OpenCodeServerIdentity {
        let pinned = dialect.pinned
        var first: (url: String, response: OpenCodeResponse)?
        // A 5xx or 429 is an OpenCode (or its proxy) in trouble, and an error in OpenCode's own shape is OpenCode
        // refusing: neither is a server of another kind, and the first is reported as it is.
        var answered: OpenCodeError?
        func probe(_ url: String, maxBody: Int = 64 * 1024) async throws(OpenCodeError) -> OpenCodeResponse {
            let response: OpenCodeResponse
            do {
                response = try await exchange(.GET, url, body: nil, timeout: timeout, maxBody: maxBody)
            } catch {
                // Nothing answered at all, or the server refused Otto's credentials: about the server, not the route
                // (which may be the other protocol's).
                switch error.cause {
                case .connectionRefused, .timedOut, .unreachable, .connectionLost, .unauthorized:
                    throw OpenCodeError(url: baseURL, cause: error.cause, detail: error.detail)
                default: throw error
                }
            }
            if first == nil { first = (url, response) }
            if answered == nil, !response.isSuccess,
                response.status == 429 || (500...599).contains(response.status)
                    || Self.isOpenCodeErrorBody(response.data)
            {
                answered = OpenCodeError.http(url: url, status: response.status, body: response.body)
            }
            return response
        }
        if pinned != .v1 {
            let url = V2.infoURL(baseURL)
            let response = try await probe(url)
            if response.status == 200, let version = V2.serverVersion(fromInfo: response.data) {
                return OpenCodeServerIdentity(version: version, protocolVersion: .v2)
            }
        }
        if pinned != .v2 {
            let health = try await probe(V1.healthURL(baseURL))
            if health.status == 200, let version = V1.serverVersion(fromHealth: health.data) {
                return OpenCodeServerIdentity(version: version.isEmpty ? nil : version, protocolVersion: .v1)
            }
            let providers = try await probe(V1.providersURL(baseURL), maxBody: Self.maxBodyBytes)
            if providers.status == 200, V1.looksLikeProviders(providers.data) {
                return OpenCodeServerIdentity(version: nil, protocolVersion: .v1)
            }
        }
        if let answered { throw answered }
        let what = first.map { "GET \($0.url) answered \($0.response.summary)" } ?? "nothing answered"
        if let pinned {
            throw OpenCodeError(url: baseURL, cause: .protocolMismatch(pinned: pinned.rawValue, answered: what))
        }
        throw OpenCodeError(url: baseURL, cause: .notOpenCode(answered: what))
    }

    /// An error body as OpenCode writes one: 1.x's `NamedError` `{"name", "data"}` or 2.x's `{"_tag", "message"}`.
    static func isOpenCodeErrorBody(_ body: Data) -> Bool {
        guard body.count <= 64 * 1024,
            let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        else { return false }
        return (object["name"] is String && object["data"] is [String: Any]) || object["_tag"] is String
    }

    /// One GET with the whole exchange, body included, bounded by `timeout`; anything but 2xx is an error.
    func get(_ url: String) async throws(OpenCodeError) -> OpenCodeResponse {
        let response = try await exchange(.GET, url, body: nil, timeout: timeout, maxBody: Self.maxBodyBytes)
        guard response.isSuccess else {
            throw OpenCodeError.http(url: url, status: response.status, body: response.body)
        }
        return response
    }

    /// One request and its whole response, bounded by `timeout` from the first byte sent to the last received.
    func exchange(
        _ method: HTTPMethod,
        _ url: String,
        body: ByteBuffer?,
        timeout: Duration,
        maxBody: Int
    ) async throws(OpenCodeError) -> OpenCodeResponse {
        let seconds = max(1, Int(timeout.components.seconds))
        guard timeout > .zero else { throw OpenCodeError(url: url, cause: .timedOut(seconds: seconds)) }
        do {
            let httpClient = self.httpClient
            let authorization = credentials?.authorization
            let exchanged = try await withDeadline(timeout) { () async throws -> OpenCodeResponse in
                var request = HTTPClientRequest(url: url)
                request.method = method
                request.headers.add(name: "Accept", value: "application/json")
                if let authorization { request.headers.add(name: "Authorization", value: authorization) }
                if let body {
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(body)
                }
                let response = try await httpClient.execute(request, timeout: .nanoseconds(Self.nanoseconds(timeout)))
                return OpenCodeResponse(
                    status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
                    body: try await response.body.collect(upTo: maxBody))
            }
            guard let exchanged else {
                let error = OpenCodeError(url: url, cause: .timedOut(seconds: seconds))
                dialect.recordCall(reachable: false, error: error.message)
                throw error
            }
            // No route Otto calls answers 401 or 403 for any other reason: it is always about credentials.
            if exchanged.status == 401 || exchanged.status == 403 {
                let error = OpenCodeError(
                    url: url, cause: .unauthorized(status: exchanged.status, sentCredentials: authorization != nil))
                dialect.recordCall(reachable: true, error: error.message)
                throw error
            }
            dialect.recordCall(
                reachable: true, error: exchanged.status >= 500 ? "HTTP \(exchanged.status) from \(url)" : nil)
            return exchanged
        } catch let error as OpenCodeError {
            throw error
        } catch {
            let failure = OpenCodeError(
                url: url, cause: Self.cause(of: error, timeoutSeconds: seconds).redacted(by: credentials))
            // A call this process cancelled (a client went away, Otto stops) says nothing about OpenCode.
            if !Task.isCancelled { dialect.recordCall(reachable: false, error: failure.message) }
            throw failure
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
        if let error = error as? HTTPParserError, error == .invalidEOFState {
            // The connection closed mid-response: OpenCode may have acted on the request.
            return .connectionLost("the connection closed before the response was complete")
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
