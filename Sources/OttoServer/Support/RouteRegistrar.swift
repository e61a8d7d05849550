import Hummingbird

/// Adds routes to the router and records them in the route table (for 405 answers), in one call, so the two
/// can never disagree.
struct RouteRegistrar<Context: RequestContext> {
    let router: Router<Context>
    let table: RouteTable

    typealias Handler = @Sendable (Request, Context) async throws -> Response

    func on(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        table.add(method, path)
        router.on(RouterPath(path), method: method) { request, context in try await handler(request, context) }
    }
}
