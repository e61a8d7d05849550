import Hummingbird
import OttoContracts
import OttoCore

/// `/external/health` and `/external/audit`.
struct StatusController<Context: RequestContext>: Sendable {
    let models: ModelManagementService

    func register(on routes: RouteRegistrar<Context>) {
        routes.on(.get, "/external/health") { _, _ in try await self.health() }
        routes.on(.get, "/external/audit") { request, _ in try await self.audit(request) }
    }

    func health() async throws -> Response {
        let snapshot = models.catalog.snapshot
        return try JSONResponse.make(
            HealthResponse(
                catalog: .init(count: snapshot.count, updatedAt: snapshot.updatedAt, source: snapshot.source))
        )
    }

    func audit(_ request: Request) async throws -> Response {
        let limit = try RequestReading.integer(request, "limit", in: 1...200, default: 20)
        let command = request.uri.queryParameters["command"].map(String.init)
        let entries = try await models.auditEntries(limit: limit, command: command)
        return try JSONResponse.make(CommandAuditResponse(entries: entries))
    }
}
