import Foundation
import NIOCore
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
        /// OpenCode answered, but the model call behind it failed (1.x's `info.error`, 2.x's structured error):
        /// its name or type, its message, whether OpenCode says to try again, and after how long.
        case modelError(name: String, message: String, retryable: Bool, retryAfterMs: Int? = nil)
        /// Something answers at the URL, but neither OpenCode protocol: what answered the first probe.
        case notOpenCode(answered: String)
        /// `opencode.protocol` pins a protocol the server does not speak.
        case protocolMismatch(pinned: String, answered: String)
        /// OpenCode answered 401 or 403: it wants credentials Otto did not send, or refused the ones it sent.
        case unauthorized(status: Int, sentCredentials: Bool)
    }

    public let url: String
    public let cause: Cause
    /// OpenCode's own words about the failure (the message of its error body), already bounded and escaped.
    public let detail: String?

    public init(url: String, cause: Cause, detail: String? = nil) {
        self.url = url
        self.cause = cause
        self.detail = detail
    }

    /// An answer with an unexpected status, with what OpenCode said about it. 1.x error bodies are its
    /// `NamedError` objects, `{"name", "data": {"message", ...}}` (`ErrorMiddleware` in
    /// `packages/opencode/src/server/middleware.ts`); 2.x ones `{"type", "message", "status"?, "retryAfterMs"?}`
    /// (`opencode/types/_generated.py` in opencode-python-sdk 0.2.3); anything else is quoted as text. At most
    /// 4 KiB of the body is looked at.
    static func http(url: String, status: Int, body: ByteBuffer) -> OpenCodeError {
        OpenCodeError(url: url, cause: .httpStatus(status), detail: detail(of: body))
    }

    static func detail(of body: ByteBuffer) -> String? {
        let bytes = Data(body.readableBytesView.prefix(4096))
        guard !bytes.isEmpty else { return nil }
        if let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any] {
            let data = object["data"] as? [String: Any]
            let error = object["error"] as? [String: Any]
            if let message = (data?["message"] ?? object["message"] ?? error?["message"]) as? String, !message.isEmpty {
                return UpstreamText.scrubbed(message)
            }
            // A NamedError without a message (ProviderModelNotFoundError has providerID and modelID): its name and
            // its data.
            if let name = object["name"] as? String {
                let fields = (data ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                return UpstreamText.scrubbed(([name] + fields).joined(separator: " "))
            }
            if let error = object["error"] as? String { return UpstreamText.scrubbed(error) }
        }
        return UpstreamText.scrubbed(String(decoding: bytes, as: UTF8.self))
    }

    public var message: String {
        switch cause {
        case .connectionRefused:
            "cannot reach OpenCode at \(url): connection refused (is `opencode serve` running there?)"
        case .timedOut(let seconds):
            "OpenCode at \(url) did not answer within \(seconds) s"
        case .httpStatus(let status):
            "OpenCode at \(url) answered HTTP \(status)" + (detail.map { ": " + $0 } ?? "")
        case .unauthorized(let status, true):
            "OpenCode at \(url) refused Otto's credentials (HTTP \(status)): set opencode.passwordFile or "
                + "\(OttoEnvironment.openCodePassword) to the password of `opencode serve`"
        case .unauthorized(let status, false):
            "OpenCode at \(url) asks for a password and Otto sent none (HTTP \(status)): set opencode.passwordFile or "
                + "\(OttoEnvironment.openCodePassword) to the value of OPENCODE_SERVER_PASSWORD"
        case .badPayload(let reason):
            "OpenCode at \(url) returned an unexpected body: \(UpstreamText.scrubbed(reason))"
        case .unreachable(let reason), .connectionLost(let reason):
            "cannot reach OpenCode at \(url): \(UpstreamText.scrubbed(reason))"
        case .notOpenCode(let answered):
            "the server at \(url) is not an OpenCode that this Otto speaks: \(answered); this Otto supports "
                + OpenCodeProtocolVersion.supportedVersions
        case .protocolMismatch(let pinned, let answered):
            "opencode.protocol is \"\(pinned)\", but the server at \(url) does not speak OpenCode's protocol "
                + "\(pinned): \(answered); set opencode.protocol to \"auto\" to detect it"
        case .modelError(let name, let message, _, _):
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
        case .modelError(_, _, let retryable, _): retryable
        case .timedOut, .badPayload, .unreachable, .unauthorized, .notOpenCode, .protocolMismatch: false
        }
    }

    /// The request may have reached OpenCode although no answer came back (the connection broke, or a 5xx that a
    /// proxy may have written after OpenCode stored it): a retry must check before it sends the prompt again.
    public var mayHaveDelivered: Bool {
        switch cause {
        case .connectionLost: true
        case .httpStatus(let status): (500...599).contains(status)
        default: false
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
        case .unauthorized: "opencode_unauthorized"
        case .notOpenCode, .protocolMismatch: "opencode_unsupported"
        }
    }

    public var errorDescription: String? { message }
    public var description: String { message }
}

extension OpenCodeError.Cause {
    /// The cause with `credentials`' secrets removed from its text (a library's error may echo a header).
    func redacted(by credentials: OpenCodeCredentials?) -> Self {
        guard let credentials else { return self }
        switch self {
        case .badPayload(let text): return .badPayload(credentials.redacting(text))
        case .unreachable(let text): return .unreachable(credentials.redacting(text))
        case .connectionLost(let text): return .connectionLost(credentials.redacting(text))
        default: return self
        }
    }
}
