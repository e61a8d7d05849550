import Foundation

/// Why a request to OpenCode failed, naming the URL, so an operator knows where to look.
public struct OpenCodeError: Error, LocalizedError, Sendable, Equatable, CustomStringConvertible {
    public enum Cause: Sendable, Equatable {
        case connectionRefused
        case timedOut(seconds: Int)
        case httpStatus(Int)
        case badPayload(String)
        case unreachable(String)
    }

    public let url: String
    public let cause: Cause

    public init(url: String, cause: Cause) {
        self.url = url
        self.cause = cause
    }

    public var message: String {
        switch cause {
        case .connectionRefused:
            "cannot reach OpenCode at \(url): connection refused (is `opencode serve` running there?)"
        case .timedOut(let seconds):
            "OpenCode at \(url) did not answer within \(seconds) s"
        case .httpStatus(let status):
            "OpenCode at \(url) answered HTTP \(status)"
        case .badPayload(let reason):
            "OpenCode at \(url) returned an unexpected body: \(reason)"
        case .unreachable(let reason):
            "cannot reach OpenCode at \(url): \(reason)"
        }
    }

    public var errorDescription: String? { message }
    public var description: String { message }
}
