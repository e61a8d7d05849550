import Foundation
import Hummingbird
import NIOCore
import OttoContracts
import OttoCore
import Synchronization

/// `/external/models/...`: the catalog, its refresh, and the flow defaults.
struct ModelsController<Context: RequestContext>: Sendable {
    let models: ModelManagementService
    let catalogBody = CatalogBodyCache()

    func register(on routes: RouteRegistrar<Context>) {
        routes.on(.get, "/external/models/catalog") { _, _ in self.catalog() }
        routes.on(.post, "/external/models/refresh") { _, _ in try await self.refresh() }
        routes.on(.get, "/external/models/defaults") { _, _ in try await self.defaults() }
        routes.on(.put, "/external/models/defaults") { request, _ in try await self.updateDefaults(request) }
        routes.on(.get, "/external/models/effective") { _, _ in try await self.effective() }
    }

    func catalog() -> Response {
        JSONResponse.bytes(catalogBody.body(for: models.catalog.snapshot))
    }

    func refresh() async throws -> Response {
        let snapshot = try await models.refresh()
        return try JSONResponse.make(RefreshResponse(updatedAt: snapshot.updatedAt ?? 0, count: snapshot.count))
    }

    func defaults() async throws -> Response {
        let current = models.flowDefaults.current()
        return try JSONResponse.make(FlowDefaultsBody(flowDefaults: current.defaults), headers: [.eTag: current.etag])
    }

    func effective() async throws -> Response {
        try JSONResponse.make(models.effectiveModels())
    }

    func updateDefaults(_ request: Request) async throws -> Response {
        let requested: FlowDefaults
        do {
            requested = try await Self.readDefaults(request)
        } catch let error as APIError {
            await models.recordRejectedDefaultsUpdate(error.message)
            throw error
        }
        let updated = try await models.updateDefaults(requested, ifMatch: request.headers[.ifMatch])
        return try JSONResponse.make(FlowDefaultsBody(flowDefaults: updated.defaults), headers: [.eTag: updated.etag])
    }

    static func readDefaults(_ request: Request) async throws -> FlowDefaults {
        let body = try await RequestReading.jsonObject(request)
        var reader = ObjectReader(body, allowed: ["flowDefaults"])
        guard let node = reader.node("flowDefaults") else {
            reader.fail("flowDefaults", "missing; send {\"flowDefaults\": {\"interactiveAssistant\": ..., ...}}")
            throw APIError.invalid(reader.issues)
        }
        guard case .object(let members) = node.kind else {
            reader.fail("flowDefaults", "expected an object, got \(node.typeName)")
            throw APIError.invalid(reader.issues)
        }
        switch FlowDefaults.validate(members, requireAll: true, pathPrefix: "flowDefaults") {
        case .success(let defaults):
            guard reader.issues.isEmpty else { throw APIError.invalid(reader.issues) }
            return defaults
        case .failure(let failure):
            throw APIError.invalid(reader.issues + failure.issues)
        }
    }
}

/// The catalog response encoded once per catalog snapshot, not once per request: it is about 170 KB.
final class CatalogBodyCache: Sendable {
    private struct Entry {
        let updatedAt: Int64?
        let source: CatalogSource
        let count: Int
        let body: ByteBuffer
    }

    private let entry = Mutex<Entry?>(nil)

    func body(for snapshot: ModelCatalogSnapshot) -> ByteBuffer {
        if let cached = entry.withLock({ $0 }), cached.updatedAt == snapshot.updatedAt,
            cached.source == snapshot.source, cached.count == snapshot.count
        {
            return cached.body
        }
        let response = CatalogResponse(
            models: snapshot.refs.map(\.description),
            updatedAt: snapshot.updatedAt,
            source: snapshot.source
        )
        let body = (try? JSONResponse.buffer(response)) ?? ByteBuffer()
        entry.withLock {
            $0 = Entry(updatedAt: snapshot.updatedAt, source: snapshot.source, count: snapshot.count, body: body)
        }
        return body
    }
}
