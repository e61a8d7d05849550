import CompressNIO
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
        routes.on(.get, "/external/models/catalog") { request, _ in self.catalog(request) }
        routes.on(.post, "/external/models/refresh") { _, _ in try await self.refresh() }
        routes.on(.get, "/external/models/defaults") { _, _ in try await self.defaults() }
        routes.on(.put, "/external/models/defaults") { request, _ in try await self.updateDefaults(request) }
        routes.on(.get, "/external/models/effective") { _, _ in try await self.effective() }
    }

    /// The catalog body (about 165 KB), encoded and gzip-compressed once per catalog; a client that accepts gzip
    /// gets the compressed bytes (about a sixth).
    func catalog(_ request: Request) -> Response {
        let bodies = catalogBody.bodies(for: models.catalog.snapshot)
        if let gzip = bodies.gzip, Self.acceptsGzip(request.headers[.acceptEncoding]) {
            return JSONResponse.bytes(gzip, headers: [.contentEncoding: "gzip", .vary: "Accept-Encoding"])
        }
        return JSONResponse.bytes(bodies.plain, headers: [.vary: "Accept-Encoding"])
    }

    /// Whether an `Accept-Encoding` value accepts gzip: named (or `*`), unless with `q=0`.
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = parts.first, ["gzip", "x-gzip", "*"].contains(coding) else { continue }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return quality > 0
        }
        return false
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
        let requested: (defaults: FlowDefaults, flows: Set<RuntimeModelFlow>)
        do {
            requested = try await Self.readDefaults(request)
        } catch let error as APIError {
            await models.recordRejectedDefaultsUpdate(error.message)
            throw error
        }
        let updated = try await models.updateDefaults(
            requested.defaults, flows: requested.flows, ifMatch: request.headers[.ifMatch])
        return try JSONResponse.make(FlowDefaultsBody(flowDefaults: updated.defaults), headers: [.eTag: updated.etag])
    }

    /// The flows a body sets. All four are required, except that `heartbeat` may be left out, as the TypeScript
    /// Otto's clients (which know three flows) do: it then stays as it is.
    static func readDefaults(_ request: Request) async throws -> (FlowDefaults, Set<RuntimeModelFlow>) {
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
        let given = Set(members.compactMap { try? RuntimeModelFlow(parsing: $0.key) })
        for flow in RuntimeModelFlow.allCases where flow != .heartbeat && !given.contains(flow) {
            reader.fail(
                "flowDefaults.\(flow)", "missing; give a \"provider/model\" string or null to inherit")
        }
        switch FlowDefaults.validate(members, requireAll: false, pathPrefix: "flowDefaults") {
        case .success(let defaults):
            guard reader.issues.isEmpty else { throw APIError.invalid(reader.issues) }
            return (defaults, given)
        case .failure(let failure):
            throw APIError.invalid(reader.issues + failure.issues)
        }
    }
}

/// The catalog response encoded (and gzip-compressed) once per catalog snapshot, not once per request.
final class CatalogBodyCache: Sendable {
    struct Bodies: Sendable {
        let plain: ByteBuffer
        /// Nil if compression failed; the plain body is then served to everyone.
        let gzip: ByteBuffer?
    }

    private struct Entry {
        let updatedAt: Int64?
        let source: CatalogSource
        let count: Int
        let bodies: Bodies
    }

    private let entry = Mutex<Entry?>(nil)

    func bodies(for snapshot: ModelCatalogSnapshot) -> Bodies {
        if let cached = entry.withLock({ $0 }), cached.updatedAt == snapshot.updatedAt,
            cached.source == snapshot.source, cached.count == snapshot.count
        {
            return cached.bodies
        }
        let response = CatalogResponse(
            models: snapshot.refs.map(\.description),
            updatedAt: snapshot.updatedAt,
            source: snapshot.source
        )
        var plain = (try? JSONResponse.buffer(response)) ?? ByteBuffer()
        let gzip = try? plain.compress(with: .gzip())
        plain.moveReaderIndex(to: 0)
        let bodies = Bodies(plain: plain, gzip: gzip)
        entry.withLock {
            $0 = Entry(updatedAt: snapshot.updatedAt, source: snapshot.source, count: snapshot.count, bodies: bodies)
        }
        return bodies
    }
}
