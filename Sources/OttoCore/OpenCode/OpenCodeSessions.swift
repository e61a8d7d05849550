import Foundation
import NIOCore
import NIOHTTP1
import OttoContracts

/// What execution needs from OpenCode: sessions and prompts. `OpenCodeClient` speaks it over HTTP; tests run the
/// same client against the stand-in OpenCode server.
public protocol OpenCodePrompting: Sendable {
    /// Creates a session and returns its id.
    func createSession(title: String, timeout: Duration) async throws(OpenCodeError) -> String
    /// Whether OpenCode knows the session.
    func sessionExists(_ id: String, timeout: Duration) async throws(OpenCodeError) -> Bool
    /// Sends one text prompt to `model` in the session and returns the answer's text parts, joined.
    func prompt(sessionId: String, model: ModelRef, text: String, timeout: Duration) async throws(OpenCodeError)
        -> String
    /// Asks OpenCode to stop whatever the session is doing.
    func abort(sessionId: String, timeout: Duration) async throws(OpenCodeError)
}

extension OpenCodeClient: OpenCodePrompting {
    /// An answer larger than this is refused.
    static let maxAnswerBytes = 8 * 1024 * 1024

    public func createSession(title: String, timeout: Duration) async throws(OpenCodeError) -> String {
        let url = baseURL + "/session"
        let body = try await expectOK(.POST, url, OpenCodePayloads.sessionRequest(title: title), timeout: timeout)
        do {
            return try OpenCodePayloads.sessionId(fromSessionBody: Data(body.readableBytesView))
        } catch {
            throw OpenCodeError(url: url, cause: .badPayload(error.reason))
        }
    }

    public func sessionExists(_ id: String, timeout: Duration) async throws(OpenCodeError) -> Bool {
        let url = sessionURL(id)
        let (status, _) = try await exchange(.GET, url, body: nil, timeout: timeout, maxBody: Self.maxAnswerBytes)
        switch status {
        case 200: return true
        case 404: return false
        default: throw OpenCodeError(url: url, cause: .httpStatus(status))  // a HEAD-like check: no body to quote
        }
    }

    public func prompt(sessionId: String, model: ModelRef, text: String, timeout: Duration)
        async throws(OpenCodeError) -> String
    {
        let url = sessionURL(sessionId) + "/message"
        let request = OpenCodePayloads.promptRequest(model: model, text: text)
        let body = try await expectOK(.POST, url, request, timeout: timeout)
        do {
            return try OpenCodePayloads.answerText(fromMessageBody: Data(body.readableBytesView))
        } catch let failure as OpenCodePayloads.ModelFailure {
            throw OpenCodeError(
                url: url, cause: .modelError(name: failure.name, message: failure.message, retryable: failure.retryable)
            )
        } catch let error as OpenCodePayloads.PayloadError {
            throw OpenCodeError(url: url, cause: .badPayload(error.reason))
        } catch {
            throw OpenCodeError(url: url, cause: .badPayload("\(error)"))
        }
    }

    public func abort(sessionId: String, timeout: Duration) async throws(OpenCodeError) {
        _ = try await expectOK(.POST, sessionURL(sessionId) + "/abort", ByteBuffer(string: "{}"), timeout: timeout)
    }

    /// `<base>/session/<id>`, the id percent-encoded so that it can never name another path.
    func sessionURL(_ id: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        return baseURL + "/session/" + (id.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
    }

    private func expectOK(_ method: HTTPMethod, _ url: String, _ body: ByteBuffer, timeout: Duration)
        async throws(OpenCodeError) -> ByteBuffer
    {
        let (status, answer) = try await exchange(
            method, url, body: body, timeout: timeout, maxBody: Self.maxAnswerBytes)
        guard status == 200 else { throw OpenCodeError.http(url: url, status: status, body: answer) }
        return answer
    }
}

extension OpenCodePayloads {
    /// OpenCode answered a prompt with a failed assistant message (`info.error`).
    public struct ModelFailure: Error, Sendable {
        public let name: String
        public let message: String
        public let retryable: Bool
    }

    static func sessionRequest(title: String) -> ByteBuffer {
        struct Body: Encodable { let title: String }
        return encoded(Body(title: title))
    }

    /// `{"model": {"providerID", "modelID"}, "parts": [{"type": "text", "text"}]}`.
    static func promptRequest(model: ModelRef, text: String) -> ByteBuffer {
        struct Model: Encodable {
            let providerID: String
            let modelID: String
        }
        struct Part: Encodable {
            let type = "text"
            let text: String
        }
        struct Body: Encodable {
            let model: Model
            let parts: [Part]
        }
        let body = Body(model: Model(providerID: model.providerId, modelID: model.modelId), parts: [Part(text: text)])
        return encoded(body)
    }

    /// These bodies are strings and plain structs, which always encode.
    private static func encoded(_ value: some Encodable) -> ByteBuffer {
        let data = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        return ByteBuffer(bytes: data)
    }

    static func sessionId(fromSessionBody body: Data) throws(PayloadError) -> String {
        struct Session: Decodable { let id: String }
        guard let session = try? JSONDecoder().decode(Session.self, from: body), !session.id.isEmpty else {
            throw PayloadError(reason: "expected a session object with an \"id\"")
        }
        // Checked like a client's: the id goes into URLs, runs and logs. Never echoed when it is not an id.
        guard AssistantMessageRequest.isValidSessionId(session.id) else {
            throw PayloadError(
                reason: "the session id is not 1 to \(AssistantMessageRequest.maxSessionIdLength) letters, digits, "
                    + "\"_\" or \"-\"")
        }
        return session.id
    }

    /// The text parts of an assistant message (`{"info": {...}, "parts": [...]}`), joined by newlines; a message
    /// whose `info.error` is set is a `ModelFailure`.
    static func answerText(fromMessageBody body: Data) throws -> String {
        struct ErrorData: Decodable {
            let message: String?
            let isRetryable: Bool?
        }
        struct MessageError: Decodable {
            let name: String?
            let data: ErrorData?
        }
        struct Info: Decodable { let error: MessageError? }
        struct Part: Decodable {
            let type: String?
            let text: String?
        }
        struct Message: Decodable {
            let info: Info?
            let parts: [Part]?
        }
        guard let message = try? JSONDecoder().decode(Message.self, from: body), let parts = message.parts else {
            throw PayloadError(reason: "expected an assistant message with \"parts\"")
        }
        if let error = message.info?.error {
            throw ModelFailure(
                name: error.name ?? "UnknownError", message: error.data?.message ?? "no message",
                retryable: error.data?.isRetryable ?? false)
        }
        return parts.filter { $0.type == "text" }.compactMap(\.text).joined(separator: "\n")
    }
}
