import Foundation
import Hummingbird
import NIOCore

/// OpenCode 1.x's routes, at the root. Each shape is from the 1.x server source, `packages/opencode/src/server/` in
/// anomalyco/opencode (the search tool's code corpus), as named on each route; only the fields Otto or an operator
/// would look at are filled in.
extension StandInOpenCode {
    func addV1Routes(to router: Router<BasicRequestContext>) {
        // routes/global.ts: `GET /global/health` → `{"healthy": true, "version": Installation.VERSION}`.
        router.get("/global/health") { _, _ -> Response in
            if let failure = try await self.failureResponse() { return failure }
            return Self.json(status: .ok, Self.encode(["healthy": true, "version": self.version]))
        }
        // routes/config.ts: `GET /config/providers` → `{"providers": [Provider.Info], "default": {...}}`, and
        // `GET /config` → `Config.Info` (`model` is the global default, when set); served from the fixture.
        router.get("/config/providers") { _, _ in
            let body = self.state.withLock { state in
                state.providersRequests += 1
                return state.providersBody
            }
            return try await self.respond(with: body)
        }
        router.get("/config") { _, _ in
            try await self.respond(with: self.state.withLock { $0.configBody })
        }
        // routes/session.ts: `POST /session` `{parentID?, title?}` → `Session.Info` `{"id", "title", "time", ...}`.
        router.post("/session") { request, _ -> Response in
            if let failure = try await self.failureResponse() { return failure }
            struct Body: Decodable { let title: String? }
            let buffer = try await request.body.collect(upTo: 1024 * 1024)
            let title = (try? JSONDecoder().decode(Body.self, from: Data(buffer: buffer)))?.title ?? ""
            let id = self.createSession(title: title)
            return Self.json(status: .ok, self.v1Session(id))
        }
        // `GET /session/:sessionID` → `Session.Info`, or 404 with `NotFoundError`.
        router.get("/session/:id") { _, context -> Response in
            if let failure = try await self.failureResponse() { return failure }
            let id = context.parameters.get("id") ?? ""
            guard self.session(id) != nil else { return Self.notFound(id) }
            return Self.json(status: .ok, self.v1Session(id))
        }
        // `POST /session/:sessionID/abort` → `true`.
        router.post("/session/:id/abort") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            return self.abortSession(id) ? Self.json(status: .ok, "true") : Self.notFound(id)
        }
        // `GET /session/:sessionID/message?limit=N` → `[MessageV2.WithParts]`, oldest first, the latest N.
        router.get("/session/:id/message") { request, context -> Response in
            if let failure = try await self.failureResponse() { return failure }
            let id = context.parameters.get("id") ?? ""
            guard let session = self.session(id) else { return Self.notFound(id) }
            let limit = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? session.messages.count
            let messages = session.messages.suffix(max(0, limit)).map { self.v1Message($0, session: id) }
            return Self.json(status: .ok, Self.encode(messages))
        }
        // `POST /session/:sessionID/message` with `SessionPrompt.PromptInput` (session/prompt.ts): `messageID?`,
        // `model?: {providerID, modelID}`, `agent?`, `tools?: {[name]: boolean}`, `parts` → the assistant's
        // `MessageV2.WithParts` once the turn is done; a failed turn is still 200, with `info.error` set.
        router.post("/session/:id/message") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            let buffer = try await request.body.collect(upTo: 16 * 1024 * 1024)
            return try await self.promptV1(session: id, body: Data(buffer: buffer))
        }
        // httpapi/groups/permission.ts (1.1 and later): `GET /permission` → every pending `PermissionV1.Request`
        // (`{"id", "sessionID", "permission", "patterns", "metadata", "always"}`); `POST /permission/:requestID/reply`
        // `{"reply": "once" | "always" | "reject", "message"?}` → `true`.
        router.get("/permission") { _, _ -> Response in
            let pending = self.pendingRequests(.permission).map { request -> [String: Any] in
                [
                    "id": request.id, "sessionID": request.sessionID, "permission": request.action,
                    "patterns": [request.resource], "metadata": [String: Any](), "always": [String](),
                ]
            }
            return Self.json(status: .ok, Self.encode(pending))
        }
        router.post("/permission/:requestID/reply") { request, context -> Response in
            struct Body: Decodable {
                let reply: String
                let message: String?
            }
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            guard let body = try? JSONDecoder().decode(Body.self, from: Data(buffer: buffer)),
                ["once", "always", "reject"].contains(body.reply)
            else { return Self.badRequest("expected {\"reply\": \"once\" | \"always\" | \"reject\", \"message\"?}") }
            let id = context.parameters.get("requestID") ?? ""
            guard self.answer(id, kind: .permission, with: body.reply) else {
                return Self.json(
                    status: .notFound,
                    Self.encode(["name": "NotFoundError", "data": ["message": "Permission not found: \(id)"]]))
            }
            return Self.json(status: .ok, "true")
        }
        // httpapi/groups/question.ts (1.1 and later): `GET /question` → every pending `Question.Request`
        // (`{"id", "sessionID", "questions": [{"question", "header", "options"}]}`); `POST /question/:requestID/reject`
        // → `true`.
        router.get("/question") { _, _ -> Response in
            let pending = self.pendingRequests(.question).map { request -> [String: Any] in
                [
                    "id": request.id, "sessionID": request.sessionID,
                    "questions": [
                        [
                            "question": request.action, "header": "File",
                            "options": [["label": "notes.txt", "description": "the notes"]],
                        ]
                    ],
                ]
            }
            return Self.json(status: .ok, Self.encode(pending))
        }
        router.post("/question/:requestID/reject") { _, context -> Response in
            let id = context.parameters.get("requestID") ?? ""
            guard self.answer(id, kind: .question, with: "rejected") else {
                return Self.json(
                    status: .notFound,
                    Self.encode(["name": "NotFoundError", "data": ["message": "Question not found: \(id)"]]))
            }
            return Self.json(status: .ok, "true")
        }
    }

    private func promptV1(session id: String, body: Data) async throws -> Response {
        if let failure = try await failureResponse() { return failure }
        struct Model: Decodable {
            let providerID: String
            let modelID: String
        }
        // `TextPartInput` and `FilePartInput` (`{type: "file", mime, filename?, url}`).
        struct Part: Decodable {
            let type: String
            let text: String?
            let mime: String?
            let filename: String?
            let url: String?
        }
        struct Body: Decodable {
            let messageID: String?
            let model: Model?
            let agent: String?
            let tools: [String: Bool]?
            let parts: [Part]
        }
        guard let request = try? JSONDecoder().decode(Body.self, from: body) else {
            return Self.badRequest("expected {parts: [...], model?, agent?, tools?, messageID?}")
        }
        let text = request.parts.filter { $0.type == "text" }.compactMap(\.text).joined(separator: "\n")
        let model = request.model.map { (provider: $0.providerID, id: $0.modelID) }
        var files: [ReceivedFile] = []
        for part in request.parts where part.type == "file" {
            guard let url = part.url, part.mime != nil, let file = ReceivedFile.decode(url: url, name: part.filename)
            else { return Self.badRequest("a file part needs mime and url") }
            files.append(file)
        }
        guard
            let attempt = record(
                session: id, messageID: request.messageID, text: text, model: model, agent: request.agent,
                tools: request.tools, permissions: nil, files: files.isEmpty ? nil : files)
        else { return Self.notFound(id) }
        if let (status, count) = Self.failMarker(text), attempt <= count {
            return Self.json(status: HTTPResponse.Status(code: status), Self.failureBody)
        }
        let userId = request.messageID ?? newId("msg")
        let now = Self.now()
        _ = updateSession(id) { session in
            session.messages.append(StoredMessage(id: userId, role: .user, created: now, text: text))
        }
        let turn = try await runTurn(session: id, text: text, model: model, attempt: attempt)
        var reply = StoredMessage(
            id: newId("msg"), role: .assistant, created: now, completed: Self.now(),
            text: turn.texts.joined(separator: "\u{0}"), parentID: userId, model: turn.model, agent: request.agent,
            error: turn.error)
        if turn.texts.isEmpty { reply.text = "" }
        _ = updateSession(id) { $0.messages.append(reply) }
        if shouldDrop(text, session: id) { return Self.droppedResponse() }
        return Self.json(status: .ok, Self.encode(v1Message(reply, session: id)))
    }

    /// `Session.Info` (session/index.ts).
    func v1Session(_ id: String) -> String {
        let session = self.session(id)
        let created = session?.created ?? 0
        return Self.encode([
            "id": id, "title": session?.title ?? "", "projectID": "standin", "directory": "/",
            "version": version, "time": ["created": created, "updated": created],
        ])
    }

    /// `MessageV2.WithParts` (session/message-v2.ts): `info` is a `User` or an `Assistant` (with `parentID`,
    /// `providerID`, `modelID`, `time.completed` and, for a failed turn, `error` as a `NamedError`).
    func v1Message(_ message: StoredMessage, session: String) -> [String: Any] {
        var info: [String: Any] = ["id": message.id, "sessionID": session]
        var time: [String: Any] = ["created": message.created]
        switch message.role {
        case .user, .idle:
            info["role"] = "user"
        case .assistant:
            info["role"] = "assistant"
            info["parentID"] = message.parentID ?? ""
            info["providerID"] = message.model?.provider ?? ""
            info["modelID"] = message.model?.id ?? ""
            info["mode"] = message.agent ?? "build"
            if let completed = message.completed { time["completed"] = completed }
            if let error = message.error {
                var data: [String: Any] = ["message": error.message, "isRetryable": error.retryable]
                if let status = error.status { data["statusCode"] = status }
                info["error"] = ["name": error.name, "data": data]
            }
        }
        info["time"] = time
        let texts = message.text.isEmpty ? [] : message.text.split(separator: "\u{0}", omittingEmptySubsequences: false)
        var parts: [[String: Any]] = message.role == .assistant ? [["type": "step-start"]] : []
        parts += texts.map { ["type": "text", "text": String($0)] }
        return ["info": info, "parts": parts]
    }

    static func badRequest(_ message: String) -> Response {
        json(status: .badRequest, encode(["name": "BadRequestError", "data": ["message": message]]))
    }
}
