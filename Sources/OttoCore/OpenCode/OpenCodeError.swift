import Foundation
import OttoContracts

/// Why a request to OpenCode failed, naming the URL, so an operator knows where to look.
public struct OpenCodeError: Error, LocalizedError, Sendable, Equatable, CustomStringConvertible {
    public enum Cause: Sendable, Equatable {
        case connectionRefused
        case timedOut(seconds: Int)
        case httpStatus(Int)
        case badPayload(String)
        case unreachable(String)
        /// The connection broke mid-exchange (reset, or closed before the response).
        case connectionLost(String)
        /// OpenCode answered, but the model call behind it failed (OpenCode's `info.error`).
        case modelError(name: String, message: String, retryable: Bool)
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
            "OpenCode at \(url) returned an unexpected body: \(UpstreamText.scrubbed(reason))"
        case .unreachable(let reason), .connectionLost(let reason):
            "cannot reach OpenCode at \(url): \(UpstreamText.scrubbed(reason))"
        case .modelError(let name, let message, _):
            // OpenCode's words (and the provider's behind them): bounded, escaped, credentials masked.
            "OpenCode at \(url) reported a model failure: \(UpstreamText.scrubbed(name, limit: 100)): "
                + UpstreamText.scrubbed(message)
        }
    }

    /// Worth trying again: the connection was refused or lost, or OpenCode answered 429 or 5xx (or said the model
    /// failure is retryable). Timeouts are not: the run's time is spent.
    public var isTransient: Bool {
        switch cause {
        case .connectionRefused, .connectionLost: true
        case .httpStatus(let status): status == 429 || (500...599).contains(status)
        case .modelError(_, _, let retryable): retryable
        case .timedOut, .badPayload, .unreachable: false
        }
    }

    /// A short machine-readable name for a run's `errorCode`.
    public var code: String {
        switch cause {
        case .connectionRefused, .connectionLost, .unreachable: "opencode_unreachable"
        case .timedOut: "timeout"
        case .httpStatus: "opencode_http_error"
        case .badPayload: "opencode_bad_response"
        case .modelError: "model_error"
        }
    }

    public var errorDescription: String? { message }
    public var description: String { message }
}
