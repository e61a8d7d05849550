import Foundation
import NIOCore
import OttoContracts

/// OpenCode 2.x: the only code that knows its routes and JSON. Every shape is the OpenCode 2.1 contract as the PyPI
/// package opencode-python-sdk 0.2.3 has it (routes and bodies in `opencode/resources/*.py`, responses in
/// `opencode/types/_generated.py`, running a prompt to completion in `opencode/lib/_session.py`):
/// - `GET /api/info` → `ServerInfo` `{"version", "pid", "urls", ...}` (resources/server.py);
/// - `GET /api/model` → `ModelListResponse` `{"location", "data": [ModelInfo]}`, `ModelInfo` with `id`,
///   `providerID`, `modelID`, `enabled`, `status`; `GET /api/model/default` → `{"location", "data": ModelInfo | null}`
///   (resources/model.py);
/// - `POST /api/session` `{title, agent?, model?: {id, providerID}, permissions?: [{action, resource, effect}]}` →
///   `{"data": SessionInfo}`; `GET /api/session/:id`; `POST .../model` `{model}`, `POST .../agent` `{agent}`,
///   `PATCH /api/session/:id` `{permissions}`; `POST .../interrupt` (resources/session.py);
/// - `POST /api/session/:id/prompt` `{id?, text}` admits the input durably and returns at once, 409 when that
///   message id was admitted already; `POST /api/experimental/session/:id/wait` returns when the session is idle;
/// - `GET /api/session/:id/message?order=desc&limit=N&cursor=C` → `{"data": [SessionMessageInfo], "cursor":
///   {"previous", "next"}}` (resources/message.py): `user` `{id, text}`, `assistant` `{id, model: {id, providerID},
///   content: [{type: "text", text}, ...], error?: SessionStructuredError}`, `idle` `{id, outcome: "succeeded" |
///   "failed" | "interrupted", error?}`; `SessionStructuredError` is `{type, message, status?, retryAfterMs?}`;
/// - `GET /api/session/:id/permission` → `{"data": [PermissionRequest]}` (`{id, sessionID, action, resources,
///   message?}`), `POST .../permission/:requestID/reply` `{"decision": "once" | "always" | "reject", "message"?}`
///   (resources/permission.py); `GET /api/session/:id/form` → `{"location", "data": [FormInfo]}` (`{id, sessionID,
///   title, fields}`), `DELETE .../form/:formID?message=...` cancels one (resources/session.py, `form.cancel`).
extension OpenCodeClient {
    enum V2 {
        static func infoURL(_ base: String) -> String { base + "/api/info" }
        static func modelsURL(_ base: String) -> String { base + "/api/model" }
        static func defaultModelURL(_ base: String) -> String { base + "/api/model/default" }
        static func sessionURL(_ base: String, _ id: String) -> String { base + "/api/session/" + segment(id) }
        /// The most message pages read to find one prompt's turn (50 messages each).
        static let maxPages = 20

        /// The version in a `ServerInfo` body; nil when the body is not one.
        static func serverVersion(fromInfo body: Data) -> String? {
            struct Info: Decodable { let version: String }
            guard let info = try? JSONDecoder().decode(Info.self, from: body), !info.version.isEmpty else { return nil }
            return UpstreamText.scrubbed(info.version, limit: 64)
        }

        struct Model: Codable {
            let id: String
            let providerID: String
        }
        struct ModelInfo: Decodable {
            let id: String
            let providerID: String
            let enabled: Bool?
        }
        struct Wrapped<T: Decodable>: Decodable { let data: T }

        static func catalogRefs(fromModels body: Data) throws(OpenCodePayloads.PayloadError) -> [ModelRef] {
            guard let list = try? JSONDecoder().decode(Wrapped<[Lenient<ModelInfo>]>.self, from: body) else {
                throw OpenCodePayloads.PayloadError(reason: "expected {\"data\": [ModelInfo]} from GET /api/model")
            }
            guard list.data.count <= OpenCodePayloads.maxCatalogModels else {
                throw OpenCodePayloads.PayloadError(
                    reason: "the catalog lists \(list.data.count) models, more than the "
                        + "\(OpenCodePayloads.maxCatalogModels) Otto accepts")
            }
            let refs = list.data.compactMap(\.value).filter { $0.enabled ?? false }.compactMap {
                try? ModelRef(providerId: $0.providerID, modelId: $0.id)
            }
            return Set(refs).sorted()
        }

        static func globalDefault(fromDefault body: Data) throws(OpenCodePayloads.PayloadError) -> ModelRef? {
            struct Body: Decodable { let data: Lenient<ModelInfo>? }
            guard let decoded = try? JSONDecoder().decode(Body.self, from: body) else {
                throw OpenCodePayloads.PayloadError(reason: "expected {\"data\": ModelInfo | null}")
            }
            guard let model = decoded.data?.value else { return nil }
            return try? ModelRef(providerId: model.providerID, modelId: model.id)
        }

        struct StructuredError: Decodable {
            let type: String?
            let message: String?
            let status: Int?
            let retryAfterMs: Int?
        }
        struct Content: Decodable {
            let type: String?
            let text: String?
        }
        struct Message: Decodable {
            let id: String?
            let type: String?
            let model: Model?
            let content: [Content]?
            let error: StructuredError?
            let outcome: String?
        }
        struct Page: Decodable {
            struct Cursor: Decodable { let next: String? }
            let data: [Lenient<Message>]
            let cursor: Cursor?
        }

        /// The answer to one turn, from its messages after the prompt (oldest first) ending with an `idle` marker,
        /// as `RunResult` in lib/_session.py reads them.
        static func answer(fromTurn turn: [Message], url: String) throws(OpenCodeError) -> OpenCodeAnswer {
            let assistants = turn.filter { $0.type == "assistant" }
            let idle = turn.last { $0.type == "idle" }
            let error = idle?.error ?? assistants.last?.error
            if let error {
                let status = error.status ?? 0
                throw OpenCodeError(
                    url: url,
                    cause: .modelError(
                        name: error.type ?? "UnknownError", message: error.message ?? "no message",
                        retryable: status == 429 || (500...599).contains(status) || error.retryAfterMs != nil,
                        retryAfterMs: error.retryAfterMs))
            }
            switch idle?.outcome {
            case "failed":
                throw OpenCodeError(
                    url: url,
                    cause: .modelError(
                        name: "SessionFailed", message: "the turn failed without an error", retryable: false))
            case "interrupted":
                throw OpenCodeError(
                    url: url,
                    cause: .modelError(
                        name: "SessionInterrupted", message: "the turn was interrupted", retryable: false))
            default: break
            }
            let texts = assistants.last { ($0.content ?? []).contains { $0.type == "text" } }
            let text = (texts?.content ?? []).filter { $0.type == "text" }.compactMap(\.text).joined()
            let answeredBy = assistants.last.flatMap(\.model).flatMap {
                try? ModelRef(providerId: $0.providerID, modelId: $0.id)
            }
            return OpenCodeAnswer(text: text, answeredBy: answeredBy)
        }
    }

    func fetchCatalogV2() async throws(OpenCodeError) -> OpenCodeCatalog {
        let modelsURL = V2.modelsURL(baseURL)
        let models = try await get(modelsURL).data
        let refs: [ModelRef]
        do {
            refs = try V2.catalogRefs(fromModels: models)
        } catch {
            throw OpenCodeError(url: modelsURL, cause: .badPayload(error.reason))
        }
        let defaultURL = V2.defaultModelURL(baseURL)
        let body = try await get(defaultURL).data
        let globalDefault: ModelRef?
        do {
            globalDefault = try V2.globalDefault(fromDefault: body)
        } catch {
            throw OpenCodeError(url: defaultURL, cause: .badPayload(error.reason))
        }
        return OpenCodeCatalog(refs: refs, globalDefault: globalDefault)
    }

    struct PermissionRule: Encodable {
        let action: String
        let resource: String
        let effect: String
    }

    static func permissionRules(_ safety: OpenCodeSafety) -> [PermissionRule] {
        safety.v2Permissions.map { PermissionRule(action: $0.action, resource: $0.resource, effect: $0.effect) }
    }

    func createSessionV2(_ request: OpenCodeSessionRequest, timeout: Duration) async throws(OpenCodeError) -> String {
        struct Body: Encodable {
            let title: String
            let agent: String?
            let model: V2.Model?
            let permissions: [PermissionRule]
        }
        let url = baseURL + "/api/session"
        let body = Body(
            title: request.title, agent: request.agent,
            model: request.model.map { V2.Model(id: $0.modelId, providerID: $0.providerId) },
            permissions: Self.permissionRules(request.safety))
        let response = try await expectSuccess(.POST, url, Self.encoded(body), timeout: timeout)
        struct Session: Decodable { let id: String? }
        return try Self.checkedSessionId(
            (try? JSONDecoder().decode(V2.Wrapped<Session>.self, from: response.data))?.data.id, url: url)
    }

    func promptV2(sessionId: String, _ prompt: OpenCodePrompt, deadline: ContinuousClock.Instant)
        async throws(OpenCodeError) -> OpenCodeAnswer
    {
        let session = V2.sessionURL(baseURL, sessionId)
        if !prompt.sessionIsNew {
            // A continued session: its model, agent and permissions as this prompt wants them (`session.run` in
            // lib/_session.py switches agent and model the same way).
            struct ModelBody: Encodable { let model: V2.Model }
            struct AgentBody: Encodable { let agent: String }
            struct PermissionsBody: Encodable { let permissions: [PermissionRule] }
            if let model = prompt.model {
                _ = try await expectSuccess(
                    .POST, session + "/model",
                    Self.encoded(ModelBody(model: V2.Model(id: model.modelId, providerID: model.providerId))),
                    timeout: deadline - .now)
            }
            if let agent = prompt.agent {
                _ = try await expectSuccess(
                    .POST, session + "/agent", Self.encoded(AgentBody(agent: agent)), timeout: deadline - .now)
            }
            _ = try await expectSuccess(
                .PATCH, session, Self.encoded(PermissionsBody(permissions: Self.permissionRules(prompt.safety))),
                timeout: deadline - .now)
        }
        // `files: [PromptInputFileAttachment]` (`{uri, name?}`, resources/session.py `prompt`).
        struct File: Encodable {
            let uri: String
            let name: String
        }
        struct PromptBody: Encodable {
            let id: String
            let text: String
            let files: [File]?
        }
        let promptURL = session + "/prompt"
        let admitted = try await exchange(
            .POST, promptURL,
            body: Self.encoded(
                PromptBody(
                    id: prompt.messageId, text: prompt.text,
                    files: prompt.files.isEmpty ? nil : prompt.files.map { File(uri: $0.dataURL, name: $0.name) })),
            timeout: deadline - .now, maxBody: Self.maxAnswerBytes)
        // 409: an earlier attempt whose response was lost already admitted this message; wait for its answer.
        guard admitted.isSuccess || admitted.status == 409 else {
            throw OpenCodeError.http(url: promptURL, status: admitted.status, body: admitted.body)
        }
        let waitURL = baseURL + "/api/experimental/session/" + Self.segment(sessionId) + "/wait"
        while true {
            let waited = try await exchange(
                .POST, waitURL, body: ByteBuffer(string: "{}"), timeout: deadline - .now, maxBody: 64 * 1024)
            // 503: the wait was cut short; anything else but success is OpenCode's error.
            guard waited.isSuccess || waited.status == 503 else {
                throw OpenCodeError.http(url: waitURL, status: waited.status, body: waited.body)
            }
            if let turn = try await turnV2(sessionId: sessionId, after: prompt.messageId, deadline: deadline) {
                return try V2.answer(fromTurn: turn, url: session + "/message")
            }
            do {
                try await Task.sleep(for: .milliseconds(200))
            } catch {
                throw OpenCodeError(url: waitURL, cause: .timedOut(seconds: 0))
            }
            if ContinuousClock.now >= deadline { throw OpenCodeError(url: waitURL, cause: .timedOut(seconds: 0)) }
        }
    }

    /// The messages after Otto's user message `messageId`, oldest first, when they end the turn (an `idle` marker
    /// follows); nil while the turn is still running.
    func turnV2(sessionId: String, after messageId: String, deadline: ContinuousClock.Instant)
        async throws(OpenCodeError) -> [V2.Message]?
    {
        let base = V2.sessionURL(baseURL, sessionId) + "/message?order=desc&limit=50"
        var newerFirst: [V2.Message] = []
        var cursor: String?
        for _ in 0..<V2.maxPages {
            let url = base + (cursor.map { "&cursor=" + Self.segment($0) } ?? "")
            let response = try await expectSuccess(.GET, url, nil, timeout: deadline - .now)
            guard let page = try? JSONDecoder().decode(V2.Page.self, from: response.data) else {
                throw OpenCodeError(
                    url: url, cause: .badPayload("expected {\"data\": [SessionMessageInfo], \"cursor\"}"))
            }
            for message in page.data.compactMap(\.value) {
                if message.id == messageId {
                    let turn = Array(newerFirst.reversed())
                    return turn.contains { $0.type == "idle" } ? turn : nil
                }
                newerFirst.append(message)
            }
            guard let next = page.cursor?.next, !next.isEmpty, !page.data.isEmpty else { break }
            cursor = next
        }
        throw OpenCodeError(
            url: base,
            cause: .badPayload("the session does not list the prompt Otto sent (message \(messageId))"))
    }

    /// Refuses the session's pending permission requests and cancels its pending forms (2.x's questions).
    func refuseV2(sessionId: String, log: RefusalLog) async throws(OpenCodeError) {
        struct Permission: Decodable {
            let id: String
            let action: String?
            let resources: [String]?
            let message: String?
        }
        struct Form: Decodable {
            let id: String
            let title: String?
        }
        struct Reply: Encodable {
            let decision = "reject"
            let message: String
        }
        let session = V2.sessionURL(baseURL, sessionId)
        if let body = try await pendingListing(session + "/permission") {
            let pending = (try? JSONDecoder().decode(V2.Wrapped<[Lenient<Permission>]>.self, from: body))?.data ?? []
            for request in pending.compactMap(\.value).prefix(100) {
                guard log.claim(request.id) else { continue }
                let url = session + "/permission/" + Self.segment(request.id) + "/reply"
                do {
                    _ = try await expectSuccess(
                        .POST, url, Self.encoded(Reply(message: Self.refusalMessage)), timeout: .seconds(5))
                    let what = ([request.action ?? "permission"] + (request.resources ?? []).prefix(5))
                    log.record(OpenCodeRefusal(kind: .permission, what: what.joined(separator: " ")))
                } catch {
                    log.release(request.id)
                }
            }
        }
        if let body = try await pendingListing(session + "/form") {
            let pending = (try? JSONDecoder().decode(V2.Wrapped<[Lenient<Form>]>.self, from: body))?.data ?? []
            let message = Self.refusalMessage.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            for form in pending.compactMap(\.value).prefix(100) {
                guard log.claim(form.id) else { continue }
                let url = session + "/form/" + Self.segment(form.id) + "?message=" + message
                do {
                    _ = try await expectSuccess(.DELETE, url, nil, timeout: .seconds(5))
                    log.record(OpenCodeRefusal(kind: .question, what: form.title ?? "a form"))
                } catch {
                    log.release(form.id)
                }
            }
        }
    }
}
