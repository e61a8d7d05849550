import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import OttoContracts
import OttoCore
import Synchronization

/// The outermost middleware: whatever fails below it leaves as the API's one error shape. Errors the API knows
/// keep their status; anything unexpected is logged and answered 500 `internal_error`, with no internals.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as DomainError {
            return try APIError(error).response(from: request, context: context)
        } catch let error as HTTPError {
            return try translate(error, request: request).response(from: request, context: context)
        } catch let error as HTTPParserError {
            // The body could not be read (a malformed chunk): the client's fault, and the connection is unusable.
            return try APIError(
                .invalidRequest, ConnectionGuard.explain(error), headers: [.connection: "close"]
            ).response(from: request, context: context)
        } catch is CancellationError {
            // The client went away (or Otto is stopping); nobody reads this answer.
            return try APIError(.serviceUnavailable, "the request was cancelled").response(
                from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try APIError(.payloadTooLarge, "the body is larger than 1 MiB").response(
                from: request, context: context)
        } catch {
            logger.error(
                "request failed unexpectedly",
                metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"]
            )
            return try APIError(.internalError, "the server failed to handle the request; see the Otto log")
                .response(from: request, context: context)
        }
    }

    private func translate(_ error: HTTPError, request: Request) -> APIError {
        switch error.status {
        case .notFound:
            let allowed = routes.allowedMethods(for: request.uri.path)
            if !allowed.isEmpty {
                let list = allowed.map(\.rawValue).joined(separator: ", ")
                return APIError(
                    .methodNotAllowed,
                    "\(request.method) is not allowed on \(request.uri.path); use \(list)",
                    headers: [.allow: list]
                )
            }
            return APIError(
                .notFound, "no route \(request.method) \(request.uri.path); GET /external/openapi.json lists them")
        case .contentTooLarge:
            return APIError(.payloadTooLarge, "the body is larger than 1 MiB")
        case .unsupportedMediaType:
            return APIError(.unsupportedMediaType, "send the body as JSON with Content-Type: application/json")
        case .badRequest:
            return APIError(.invalidRequest, "the request is malformed")
        default:
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "status": "\(error.status.code)"])
            return APIError(.internalError, "the server failed to handle the request; see the Otto log")
        }
    }
}

/// The API's routes as (method, path template) pairs, to tell "wrong method" (405) from "no such route" (404).
/// Filled while the routes are registered (after the error middleware that reads it is installed), then only read.
final class RouteTable: Sendable {
    private let routes = Mutex<[(method: HTTPRequest.Method, segments: [String])]>([])

    func add(_ method: HTTPRequest.Method, _ template: String) {
        routes.withLock { $0.append((method, template.split(separator: "/").map(String.init))) }
    }

    func allowedMethods(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/").map(String.init)
        var methods: [HTTPRequest.Method] = []
        for route in routes.withLock({ $0 }) where route.segments.count == segments.count {
            let matches = zip(route.segments, segments).allSatisfy { template, actual in
                template.hasPrefix(":") || template == actual
            }
            if matches && !methods.contains(route.method) { methods.append(route.method) }
        }
        return methods
    }
}

/// The API's router with `HEAD` answered as `GET` (status and headers, without the body) on every route. The
/// method is changed before routing, since the router matches the method before any middleware runs.
public struct APIRouter: HTTPResponderBuilder {
    let router: Router<OttoRequestContext>

    public func buildResponder() -> HeadAsGet<RouterResponder<OttoRequestContext>> {
        HeadAsGet(next: router.buildResponder())
    }
}

public struct HeadAsGet<Next: HTTPResponder>: HTTPResponder {
    public typealias Context = Next.Context
    let next: Next

    public func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .head else { return try await next.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        var response = try await next.respond(to: Request(head: head, body: request.body), context: context)
        let length = response.headers[.contentLength]
        response.body = ResponseBody()
        if let length { response.headers[.contentLength] = length }
        return response
    }
}
