import Hummingbird
import OttoCore

/// Requires `Authorization: Bearer <token>` on every request, unknown routes included, so nobody without the
/// token can probe which routes exist. Only `GET /external/openapi.json` is public. The token is compared in
/// constant time and never written anywhere.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: APIToken
    static var publicPaths: Set<String> { ["/external/openapi.json"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if request.method == .get && Self.publicPaths.contains(request.uri.path) {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization] else {
            throw Self.unauthorized("send the API token as Authorization: Bearer <token>")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Self.unauthorized("the Authorization header must be Bearer <token>")
        }
        guard Self.constantTimeEquals(parts[1].utf8, token.value.utf8) else {
            throw Self.unauthorized(
                "the API token was rejected; use the token in <ottoHome>/secrets/internal-api.token"
            )
        }
        return try await next(request, context)
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, message, headers: [.wwwAuthenticate: "Bearer"])
    }

    /// Compares without an early exit, so timing does not reveal how much of a guess matched.
    static func constantTimeEquals(_ given: Substring.UTF8View, _ expected: String.UTF8View) -> Bool {
        var difference = UInt8(truncatingIfNeeded: given.count ^ expected.count)
        var givenIndex = given.startIndex
        for byte in expected {
            var other: UInt8 = 0
            if givenIndex != given.endIndex {
                other = given[givenIndex]
                givenIndex = given.index(after: givenIndex)
            }
            difference |= byte ^ other
        }
        return difference == 0
    }
}
