import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import OttoContracts

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
    private let httpClient: HTTPClient

    /// Bodies larger than this are refused; the full models.dev catalog is about 3 MiB.
    static let maxBodyBytes = 64 * 1024 * 1024

    /// One client for all OpenCode calls, alive as long as the process. Connection attempts are not retried: a
    /// refused connection should be reported at once as "connection refused", not as a timeout 10 s later.
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(baseURL: String, timeout: Duration = .seconds(10), httpClient: HTTPClient = Self.sharedHTTPClient) {
        self.baseURL = baseURL
        self.timeout = timeout
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

    /// One GET with the whole exchange, body included, bounded by `timeout`.
    func get(_ url: String) async throws(OpenCodeError) -> ByteBuffer {
        let timeout = self.timeout
        let seconds = Int(timeout.components.seconds)
        do {
            return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask {
                    var request = HTTPClientRequest(url: url)
                    request.method = .GET
                    request.headers.add(name: "Accept", value: "application/json")
                    let response = try await httpClient.execute(
                        request, timeout: .nanoseconds(Self.nanoseconds(timeout)))
                    guard response.status == .ok else {
                        throw OpenCodeError(url: url, cause: .httpStatus(Int(response.status.code)))
                    }
                    return try await response.body.collect(upTo: Self.maxBodyBytes)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let body = first else {
                    throw OpenCodeError(url: url, cause: .timedOut(seconds: seconds))
                }
                return body
            }
        } catch let error as OpenCodeError {
            throw error
        } catch {
            throw OpenCodeError(url: url, cause: Self.cause(of: error, timeoutSeconds: seconds))
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    static func cause(of error: any Error, timeoutSeconds: Int) -> OpenCodeError.Cause {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .getConnectionFromPoolTimeout:
                return .timedOut(seconds: timeoutSeconds)
            case .remoteConnectionClosed:
                return .unreachable("the connection was closed before a response arrived")
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
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED {
            return .connectionRefused
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
