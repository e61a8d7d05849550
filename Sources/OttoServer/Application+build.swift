import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import OttoContracts
import OttoCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the external API serves: the domain services and the token that guards them.
public struct ExternalAPIServices: Sendable {
    public let models: ModelManagementService
    public let jobs: JobsService
    public let assistant: AssistantService?
    public let telegram: TelegramSurface?
    public let systemStatus: SystemStatusService?
    public let token: APIToken

    public init(
        models: ModelManagementService, jobs: JobsService, assistant: AssistantService? = nil,
        telegram: TelegramSurface? = nil, systemStatus: SystemStatusService? = nil, token: APIToken
    ) {
        self.systemStatus = systemStatus
        self.models = models
        self.jobs = jobs
        self.assistant = assistant
        self.telegram = telegram
        self.token = token
    }

    /// The services of a bootstrapped runtime.
    public init(runtime: OttoRuntime, logger: Logger) {
        let models = ModelManagementService(
            catalog: runtime.catalog,
            flowDefaults: runtime.flowDefaults,
            resolver: runtime.resolver,
            database: runtime.database,
            logger: logger
        )
        self.init(
            models: models,
            jobs: runtime.jobs,
            assistant: runtime.assistant,
            telegram: runtime.telegram,
            systemStatus: runtime.systemStatus,
            token: runtime.apiToken
        )
    }
}

/// The router: the error middleware outermost, then bearer auth (also in front of unknown routes), then the
/// controllers.
public func buildRouter(_ services: ExternalAPIServices, logger: Logger) -> APIRouter {
    let router = Router(context: OttoRequestContext.self)
    let table = RouteTable()
    // Middlewares apply to the routes added after them, and to requests that match no route.
    router.add(middleware: ErrorMiddleware(routes: table, logger: logger))
    router.add(middleware: BearerAuthMiddleware(token: services.token))
    let routes = RouteRegistrar(router: router, table: table)
    let openAPI = ByteBuffer(string: OpenAPIDocument.json)
    routes.on(.get, "/external/openapi.json") { _, _ in JSONResponse.bytes(openAPI) }
    ModelsController(models: services.models).register(on: routes)
    JobsController(jobs: services.jobs).register(on: routes)
    StatusController(models: services.models).register(on: routes)
    if let assistant = services.assistant { AssistantController(assistant: assistant).register(on: routes) }
    if let status = services.systemStatus {
        routes.on(.get, "/external/system/status") { _, _ in try JSONResponse.make(await status.status()) }
    }
    if let telegram = services.telegram {
        routes.on(.get, "/external/telegram/status") { _, _ in try JSONResponse.make(await telegram.status()) }
    }
    return APIRouter(router: router)
}

/// The external API application, bound to `host:port`.
public func buildApplication(
    _ services: ExternalAPIServices,
    host: String,
    port: Int,
    requestHeadTimeout: Duration = .seconds(10),
    requestTimeout: Duration = .seconds(30),
    idleTimeout: Duration = .seconds(60),
    maxConnections: Int? = nil,
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let headTimeout = TimeAmount(requestHeadTimeout)
    let wholeTimeout = TimeAmount(requestTimeout)
    return Application(
        router: buildRouter(services, logger: logger),
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [ConnectionGuard(headTimeout: headTimeout, requestTimeout: wholeTimeout)],
                idleTimeout: TimeAmount(idleTimeout))),
        configuration: .init(
            address: .hostname(host, port: port), serverName: "otto",
            availableConnectionsDelegate: maxConnections.map { MaximumAvailableConnections($0, logger: logger) }),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger
    )
}

/// How many connections the external API holds at once under a descriptor limit: all but a reserve for what Otto
/// itself opens (the database and its journal, connections to OpenCode and the webhook receiver, the config and
/// catalog files, the event loops' own descriptors). Connections beyond it wait in the listen backlog until one
/// closes: accepting never fails with EMFILE, which NIO would retry in a busy loop (the listening socket stays
/// readable), and a run or a catalog refresh can always open what it needs.
public func connectionLimit(descriptorLimit: Int) -> Int {
    max(16, descriptorLimit - max(128, descriptorLimit / 8))
}

/// One line for an operator when the external API cannot serve, e.g. because the port is taken.
public func explainServerFailure(_ error: any Error, host: String, port: Int) -> String {
    if let error = error as? IOError {
        switch error.errnoCode {
        case EADDRINUSE:
            return "cannot listen on \(host):\(port): the address is already in use (is another otto running?); "
                + "choose another port with externalApi.port or OTTO_EXTERNAL_API_PORT"
        case EACCES:
            return "cannot listen on \(host):\(port): permission denied; choose a port above 1023"
        case EADDRNOTAVAIL:
            return "cannot listen on \(host):\(port): no such local address; check externalApi.host"
        default:
            return "cannot listen on \(host):\(port): \(error)"
        }
    }
    return "the external API on \(host):\(port) stopped with an error: \(error)"
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
