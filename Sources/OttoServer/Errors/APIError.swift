import Foundation
import Hummingbird
import OttoContracts
import OttoCore

/// An error as the external API reports it: `{"error", "message", "details"?}` with the matching status.
/// Every failure a client can see becomes one of these, here or in `ErrorMiddleware`, and nowhere else.
public struct APIError: HTTPResponseError, Sendable {
    public let code: APIErrorCode
    public let message: String
    public let details: [FieldIssue]?
    public var headers: HTTPFields

    public init(_ code: APIErrorCode, _ message: String, details: [FieldIssue]? = nil, headers: HTTPFields = [:]) {
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    public var status: HTTPResponse.Status { HTTPResponse.Status(code: code.httpStatus) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse.make(
            ErrorResponse(error: code.rawValue, message: message, details: details),
            status: status
        )
        for field in headers { response.headers.append(field) }
        return response
    }

    /// The one mapping from domain errors to statuses and codes.
    public init(_ error: DomainError) {
        switch error {
        case .invalid(let message, let details): self.init(.invalidRequest, message, details: details)
        case .notFound(let message): self.init(.notFound, message)
        case .forbiddenMutation(let message): self.init(.forbiddenMutation, message)
        case .conflict(let message): self.init(.stateConflict, message)
        case .preconditionFailed(let message): self.init(.preconditionFailed, message)
        case .upstreamUnavailable(let message): self.init(.upstreamUnavailable, message)
        case .storageUnavailable(let message): self.init(.storageUnavailable, message)
        case .busy(let message, let seconds):
            self.init(.tooManyRequests, message, headers: [.retryAfter: String(seconds)])
        }
    }

    static func invalid(_ issues: [FieldIssue]) -> APIError {
        APIError(.invalidRequest, FieldIssues(issues).summary, details: issues)
    }
}
