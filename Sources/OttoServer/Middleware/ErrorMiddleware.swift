import Hummingbird
import Logging
import NIOCore
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
