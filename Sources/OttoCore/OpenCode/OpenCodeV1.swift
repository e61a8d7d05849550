import Foundation
import NIOCore
import OttoContracts

/// OpenCode 1.x: the only code that knows its routes and JSON beyond the catalog bodies (`OpenCodePayloads`).
/// Shapes from the 1.x server source, `packages/opencode/src/server/` in anomalyco/opencode:
/// - `GET /global/health` → `{"healthy": true, "version"}` (routes/global.ts);
/// - `POST /session` `{title}` → `Session.Info` (`{"id", "title", ...}`); `GET /session/:id`;
///   `POST /session/:id/abort` → `true`;
/// - `POST /session/:id/message` with `SessionPrompt.PromptInput` (`messageID?`, `model?: {providerID, modelID}`,
///   `agent?`, `tools?: {name: bool}`, `parts`) → the assistant's `MessageV2.WithParts`, `{"info", "parts"}`, whose
///   `info` has `providerID`, `modelID`, `parentID`, `time: {created, completed?}` and `error?` (a `NamedError`,
///   `{"name", "data": {"message", "isRetryable"?}}`);
/// - `GET /session/:id/message?limit=N` → `[MessageV2.WithParts]`, oldest first;
/// - `GET /permission` → `[{"id", "sessionID", "permission", "patterns", ...}]`, `POST /permission/:id/reply`
///   `{"reply": "once" | "always" | "reject", "message"?}` (httpapi/groups/permission.ts, 1.1 and later);
/// - `GET /question` → `[{"id", "sessionID", "questions": [{"question", "header", ...}]}]`,
///   `POST /question/:id/reject` (httpapi/groups/question.ts, 1.1 and later).
extension OpenCodeClient {
    enum V1 {
        static func providersURL(_ base: String) -> String { base + "/config/providers" }
        static func configURL(_ base: String) -> String { base + "/config" }
        static func healthURL(_ base: String) -> String { base + "/global/health" }
        static func sessionURL(_ base: String, _ id: String) -> String { base + "/session/" + segment(id) }

        /// The version in a `/global/health` body ("" when it has none); nil when the body is not one.
        static func serverVersion(fromHealth body: Data) -> String? {
            struct Health: Decodable {
                let healthy: Bool
                let version: String?
            }
            guard let health = try? JSONDecoder().decode(Health.self, from: body) else { return nil }
            return health.version.map { UpstreamText.scrubbed($0, limit: 64) } ?? ""
        }

        /// Whether a body is a `/config/providers` answer (an object with a `providers` array).
        static func looksLikeProviders(_ body: Data) -> Bool {
            (try? OpenCodePayloads.catalogRefs(fromProvidersBody: body)) != nil
        }

        struct ErrorData: Decodable {
            let message: String?
            let isRetryable: Bool?
        }
        struct NamedError: Decodable {
            let name: String?
            let data: ErrorData?
        }
        struct Info: Decodable {
            let id: String?
            let role: String?
            let parentID: String?
            let providerID: String?
            let modelID: String?
            let error: NamedError?
            let time: Time?
        }
        struct Time: Decodable {
            let completed: Double?
        }
        struct Part: Decodable {
            let type: String?
            let text: String?
        }
        struct Message: Decodable {
            let info: Info?
            let parts: [Part]?
        }

        /// The answer in an assistant message; a message whose `info.error` is set is a model failure.
        static func answer(from message: Message, url: String) throws(OpenCodeError) -> OpenCodeAnswer {
            guard let parts = message.parts else {
                throw OpenCodeError(url: url, cause: .badPayload("expected an assistant message with \"parts\""))
            }
            if let error = message.info?.error {
                throw OpenCodeError(
                    url: url,
                    cause: .modelError(
                        name: error.name ?? "UnknownError", message: error.data?.message ?? "no message",
                        retryable: error.data?.isRetryable ?? false))
            }
            let answeredBy = message.info.flatMap { info in
                info.providerID.flatMap { provider in
                    info.modelID.flatMap { try? ModelRef(providerId: provider, modelId: $0) }
                }
            }
            return OpenCodeAnswer(
                text: parts.filter { $0.type == "text" }.compactMap(\.text).joined(separator: "\n"),
                answeredBy: answeredBy)
        }
    }

    func fetchCatalogV1() async throws(OpenCodeError) -> OpenCodeCatalog {
        let providersURL = V1.providersURL(baseURL)
        let providers = try await get(providersURL).data
        let refs: [ModelRef]
        do {
            refs = try OpenCodePayloads.catalogRefs(fromProvidersBody: providers)
        } catch {
            throw OpenCodeError(url: providersURL, cause: .badPayload(error.reason))
        }
        let configURL = V1.configURL(baseURL)
        let config = try await get(configURL).data
        let globalDefault: ModelRef?
        do {
            globalDefault = try OpenCodePayloads.globalDefault(fromConfigBody: config)
        } catch {
            throw OpenCodeError(url: configURL, cause: .badPayload(error.reason))
        }
        return OpenCodeCatalog(refs: refs, globalDefault: globalDefault)
    }

    /// 1.x sessions have no model, agent or permissions of their own: each prompt carries them.
    func createSessionV1(_ request: OpenCodeSessionRequest, timeout: Duration) async throws(OpenCodeError) -> String {
        struct Body: Encodable { let title: String }
        let url = baseURL + "/session"
        let response = try await expectSuccess(.POST, url, Self.encoded(Body(title: request.title)), timeout: timeout)
        struct Session: Decodable { let id: String? }
        return try Self.checkedSessionId(
            (try? JSONDecoder().decode(Session.self, from: response.data))?.id, url: url)
    }

    func promptV1(sessionId: String, _ prompt: OpenCodePrompt, deadline: ContinuousClock.Instant)
        async throws(OpenCodeError) -> OpenCodeAnswer
    {
        let url = V1.sessionURL(baseURL, sessionId) + "/message"
        if prompt.mayHaveBeenDelivered,
            let answer = try await awaitDeliveredV1(
                sessionId: sessionId, messageId: prompt.messageId, deadline: deadline)
        {
            return answer
        }
        struct Model: Encodable {
            let providerID: String
            let modelID: String
        }
        // `TextPartInput` `{type: "text", text}` and `FilePartInput` `{type: "file", mime, filename?, url}`
        // (packages/opencode/src/session/prompt.ts, `PromptInput.parts`).
        struct Part: Encodable {
            var type = "text"
            var text: String? = nil
            var mime: String? = nil
            var filename: String? = nil
            var url: String? = nil
        }
        struct Body: Encodable {
            let messageID: String
            let model: Model?
            let agent: String?
            let tools: [String: Bool]
            let parts: [Part]
        }
        let body = Body(
            messageID: prompt.messageId,
            model: prompt.model.map { Model(providerID: $0.providerId, modelID: $0.modelId) }, agent: prompt.agent,
            tools: prompt.safety.v1Tools,
            parts: [Part(text: prompt.text)]
                + prompt.files.map { Part(type: "file", mime: $0.mimeType, filename: $0.name, url: $0.dataURL) })
        let response = try await expectSuccess(.POST, url, Self.encoded(body), timeout: deadline - .now)
        guard let message = try? JSONDecoder().decode(V1.Message.self, from: response.data) else {
            throw OpenCodeError(url: url, cause: .badPayload("expected an assistant message with \"parts\""))
        }
        return try V1.answer(from: message, url: url)
    }

    /// After a lost response: whether the session holds Otto's user message `messageId` (the earlier attempt
    /// reached OpenCode), and if so the answer to it, waited for until `deadline`. nil: not delivered; send it.
    func awaitDeliveredV1(sessionId: String, messageId: String, deadline: ContinuousClock.Instant)
        async throws(OpenCodeError) -> OpenCodeAnswer?
    {
        let url = V1.sessionURL(baseURL, sessionId) + "/message?limit=50"
        while true {
            let response = try await expectSuccess(.GET, url, nil, timeout: deadline - .now)
            guard let list = try? JSONDecoder().decode([Lenient<V1.Message>].self, from: response.data) else {
                throw OpenCodeError(url: url, cause: .badPayload("expected a list of messages"))
            }
            let messages = list.compactMap(\.value)
            guard messages.contains(where: { $0.info?.id == messageId && $0.info?.role == "user" }) else { return nil }
            if let reply = messages.last(where: { $0.info?.role == "assistant" && $0.info?.parentID == messageId }),
                reply.info?.time?.completed != nil || reply.info?.error != nil
            {
                return try V1.answer(from: reply, url: url)
            }
            do {
                try await Task.sleep(for: .milliseconds(500))
            } catch {
                throw OpenCodeError(url: url, cause: .timedOut(seconds: 0))
            }
            if ContinuousClock.now >= deadline { throw OpenCodeError(url: url, cause: .timedOut(seconds: 0)) }
        }
    }

    /// Refuses the session's pending permission requests and questions (1.1 and later list them; an older 1.x
    /// answers 404 and nothing is refused).
    func refuseV1(sessionId: String, log: RefusalLog) async throws(OpenCodeError) {
        struct Permission: Decodable {
            let id: String
            let sessionID: String
            let permission: String?
            let patterns: [String]?
        }
        struct Question: Decodable { let question: String? }
        struct QuestionRequest: Decodable {
            let id: String
            let sessionID: String
            let questions: [Question]?
        }
        struct Reply: Encodable {
            let reply = "reject"
            let message: String
        }
        if let body = try await pendingListing(baseURL + "/permission") {
            let pending = (try? JSONDecoder().decode([Lenient<Permission>].self, from: body)) ?? []
            for request in pending.compactMap(\.value).prefix(100) where request.sessionID == sessionId {
                guard log.claim(request.id) else { continue }
                let url = baseURL + "/permission/" + Self.segment(request.id) + "/reply"
                do {
                    _ = try await expectSuccess(
                        .POST, url, Self.encoded(Reply(message: Self.refusalMessage)), timeout: .seconds(5))
                    let what = ([request.permission ?? "permission"] + (request.patterns ?? []).prefix(5))
                    log.record(OpenCodeRefusal(kind: .permission, what: what.joined(separator: " ")))
                } catch {
                    log.release(request.id)
                }
            }
        }
        if let body = try await pendingListing(baseURL + "/question") {
            let pending = (try? JSONDecoder().decode([Lenient<QuestionRequest>].self, from: body)) ?? []
            for request in pending.compactMap(\.value).prefix(100) where request.sessionID == sessionId {
                guard log.claim(request.id) else { continue }
                let url = baseURL + "/question/" + Self.segment(request.id) + "/reject"
                do {
                    _ = try await expectSuccess(.POST, url, ByteBuffer(string: "{}"), timeout: .seconds(5))
                    let what = (request.questions ?? []).compactMap(\.question).joined(separator: " / ")
                    log.record(OpenCodeRefusal(kind: .question, what: what.isEmpty ? "a question" : what))
                } catch {
                    log.release(request.id)
                }
            }
        }
    }
}
