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
            throw Self.unauthorized("send the API token as Authorization: Bearer <token>", request)
        }
        guard let credentials = Self.bearerCredentials(header) else {
            throw Self.unauthorized("the Authorization header must be Bearer <token>", request)
        }
        guard Self.constantTimeEquals(credentials.utf8, token.value.utf8) else {
            throw Self.unauthorized(
                "the API token was rejected; use the token in <ottoHome>/secrets/internal-api.token", request
            )
        }
        return try await next(request, context)
    }

    /// The token of `Bearer <token>`: the scheme case-insensitive, then one or more spaces (RFC 7235's `1*SP`).
    static func bearerCredentials(_ header: String) -> Substring? {
        guard header.utf8.count > 7, header.prefix(6).lowercased() == "bearer" else { return nil }
        let rest = header.dropFirst(6)
        guard rest.first == " " else { return nil }
        let token = rest.drop { $0 == " " }
        return token.isEmpty ? nil : token
    }

    /// A refused request that carries a body is answered at once and its connection closed: the body (maybe a
    /// megabyte sent a byte at a time) is never read.
    static func unauthorized(_ message: String, _ request: Request) -> APIError {
        var headers: HTTPFields = [.wwwAuthenticate: "Bearer"]
        let declared = request.headers[.contentLength].flatMap { Int($0) } ?? 0
        if declared > 0 || request.headers[.transferEncoding] != nil { headers[.connection] = "close" }
        return APIError(.unauthorized, message, headers: headers)
    }

    /// Compares without an early exit, so timing does not reveal how much of a guess matched: the whole lengths,
    /// and every byte of the longer of the two (the header's length is bounded by the HTTP parser).
    static func constantTimeEquals(_ given: some Collection<UInt8>, _ expected: some Collection<UInt8>) -> Bool {
        let given = Array(given)
        let expected = Array(expected)
        var difference = given.count ^ expected.count
        for index in 0..<max(given.count, expected.count) {
            let a = index < given.count ? given[index] : 0
            let b = index < expected.count ? expected[index] : 0
            difference |= Int(a ^ b)
        }
        return difference == 0
    }
}
