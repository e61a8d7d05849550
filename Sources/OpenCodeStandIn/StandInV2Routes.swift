import Foundation
import Hummingbird
import NIOCore

/// OpenCode 2.x's routes, under `/api/`. Each shape is the OpenCode 2.1 contract as the PyPI package
/// opencode-python-sdk 0.2.3 has it: the route and request body in `opencode/resources/<name>.py`, the response in
/// `opencode/types/_generated.py` (named on each route), how a prompt runs to completion in `opencode/lib/_session.py`.
/// Errors are the contract's tagged bodies, `{"_tag", "message", ...}` (`opencode/_errors.py`). Only the fields Otto
/// or an operator would look at are filled in; the others have the contract's type.
extension StandInOpenCode {
    func addV2Routes(to router: Router<BasicRequestContext>) {
        // resources/server.py `info`: `GET /api/info` → `ServerInfo` `{"version", "pid", "urls", "paths"}`.
        router.get("/api/info") { _, _ -> Response in
            if let failure = try await self.failureResponse() { return failure }
            return Self.json(
                status: .ok,
                Self.encode([
                    "version": self.version, "pid": Int(ProcessInfo.processInfo.processIdentifier),
                    "urls": [String](), "paths": ["home": "/", "data": "/", "config": "/", "state": "/"],
                ]))
        }
        // resources/model.py `list`: `GET /api/model` → `ModelListResponse` `{"location", "data": [ModelInfo]}`; the
        // fixture's models, a deprecated one listed as `enabled: false`.
        router.get("/api/model") { _, _ -> Response in
            let providers = self.state.withLock { state in
                state.providersRequests += 1
                return state.providersBody
            }
            let models = Self.catalogEntries(providers).map(Self.modelInfo)
            return try await self.respond(
                with: ByteBuffer(string: Self.encode(["location": Self.location, "data": models])))
        }
        // resources/model.py `default`: `GET /api/model/default` → `ModelDefaultResponse` `{"location", "data":
        // ModelInfo | null}`.
        router.get("/api/model/default") { _, _ -> Response in
            struct Config: Decodable { let model: String? }
            let (config, providers) = self.state.withLock { ($0.configBody, $0.providersBody) }
            let configured = (try? JSONDecoder().decode(Config.self, from: Data(buffer: config)))?.model
            let model = Self.catalogEntries(providers).first { "\($0.provider)/\($0.id)" == configured }
            return try await self.respond(
                with: ByteBuffer(
                    string: Self.encode([
                        "location": Self.location, "data": model.map { Self.modelInfo($0) as Any } ?? NSNull(),
                    ])))
        }
        // resources/session.py `create`: `POST /api/session` `{title?, agent?, model?: ModelRef, permissions?:
        // PermissionRuleset}` → `{"data": SessionInfo}`.
        router.post("/api/session") { request, _ -> Response in
            if let failure = try await self.failureResponse() { return failure }
            let buffer = try await request.body.collect(upTo: 1024 * 1024)
            guard let body = try? JSONDecoder().decode(SessionBody.self, from: Data(buffer: buffer)) else {
                return Self.tagged(.badRequest, "InvalidRequestError", "expected a session body")
            }
            let id = self.createSession(title: body.title ?? "") { session in
                session.agent = body.agent
                session.model = body.model.map { ($0.providerID, $0.id) }
                session.permissions = (body.permissions ?? []).map { "\($0.action):\($0.resource):\($0.effect)" }
            }
            return Self.json(status: .ok, Self.encode(["data": self.v2Session(id)]))
        }
        // resources/session.py `get`: `GET /api/session/:sessionID` → `{"data": SessionInfo}`.
        router.get("/api/session/:id") { _, context -> Response in
            if let failure = try await self.failureResponse() { return failure }
            let id = context.parameters.get("id") ?? ""
            guard self.session(id) != nil else { return Self.sessionNotFound(id) }
            return Self.json(status: .ok, Self.encode(["data": self.v2Session(id)]))
        }
        // resources/session.py `update`: `PATCH /api/session/:sessionID` `{title?, permissions?, ...}` → no content.
        router.patch("/api/session/:id") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            let buffer = try await request.body.collect(upTo: 1024 * 1024)
            guard let body = try? JSONDecoder().decode(SessionBody.self, from: Data(buffer: buffer)) else {
                return Self.tagged(.badRequest, "InvalidRequestError", "expected a session update")
            }
            let known = self.updateSession(id) { session in
                if let title = body.title { session.title = title }
                if let rules = body.permissions {
                    session.permissions = rules.map { "\($0.action):\($0.resource):\($0.effect)" }
                }
            }
            return known ? Response(status: .noContent) : Self.sessionNotFound(id)
        }
        // resources/session.py `switch_model` / `switch_agent`: `POST .../model` `{model: ModelRef}`, `POST .../agent`
        // `{agent}` → no content.
        router.post("/api/session/:id/model") { request, context -> Response in
            struct Body: Decodable { let model: ModelRef }
            let id = context.parameters.get("id") ?? ""
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            guard let body = try? JSONDecoder().decode(Body.self, from: Data(buffer: buffer)) else {
                return Self.tagged(.badRequest, "InvalidRequestError", "expected {\"model\": {\"id\", \"providerID\"}}")
            }
            let known = self.updateSession(id) { $0.model = (body.model.providerID, body.model.id) }
            return known ? Response(status: .noContent) : Self.sessionNotFound(id)
        }
        router.post("/api/session/:id/agent") { request, context -> Response in
            struct Body: Decodable { let agent: String }
            let id = context.parameters.get("id") ?? ""
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            guard let body = try? JSONDecoder().decode(Body.self, from: Data(buffer: buffer)) else {
                return Self.tagged(.badRequest, "InvalidRequestError", "expected {\"agent\"}")
            }
            let known = self.updateSession(id) { $0.agent = body.agent }
            return known ? Response(status: .noContent) : Self.sessionNotFound(id)
        }
        // resources/session.py `prompt`: `POST /api/session/:sessionID/prompt` `{id?, text, ...}` admits the input
        // durably and returns at once with `{"data": SessionInboxUser}`; 409 `ConflictError` when a message with that
        // id was admitted already. The turn runs in the background.
        router.post("/api/session/:id/prompt") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            let buffer = try await request.body.collect(upTo: 16 * 1024 * 1024)
            return try await self.promptV2(session: id, body: Data(buffer: buffer))
        }
        // resources/session.py `wait` (experimental): `POST /api/experimental/session/:sessionID/wait` returns when
        // the session's agent loop is idle.
        router.post("/api/experimental/session/:id/wait") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            guard self.session(id) != nil else { return Self.sessionNotFound(id) }
            let deadline = ContinuousClock.now + .seconds(300)
            while ContinuousClock.now < deadline {
                let (queued, stopping) = self.state.withLock { ($0.sessions[id]?.queued ?? 0, $0.stopping) }
                if queued == 0 || stopping { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            return Response(status: .noContent)
        }
        // resources/session.py `interrupt`: `POST /api/session/:sessionID/interrupt` → no content.
        router.post("/api/session/:id/interrupt") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            return self.abortSession(id) ? Response(status: .noContent) : Self.sessionNotFound(id)
        }
        // resources/message.py `list`: `GET /api/session/:sessionID/message?order=&limit=&cursor=` →
        // `SessionMessagesResponse` `{"data": [SessionMessageInfo], "cursor": {"previous", "next"}}`.
        router.get("/api/session/:id/message") { request, context -> Response in
            if let failure = try await self.failureResponse() { return failure }
            let id = context.parameters.get("id") ?? ""
            guard let session = self.session(id) else { return Self.sessionNotFound(id) }
            let query = request.uri.queryParameters
            let limit = min(max(query["limit"].flatMap { Int(String($0)) } ?? 50, 1), 200)
            let offset = query["cursor"].flatMap { Int(String($0).dropFirst(2)) } ?? 0
            var messages = session.messages
            if query["order"].map(String.init) != "asc" { messages.reverse() }
            let page = messages.dropFirst(offset).prefix(limit)
            let next = offset + page.count < messages.count ? "c_\(offset + page.count)" : nil
            return Self.json(
                status: .ok,
                Self.encode([
                    "data": page.map(self.v2Message),
                    "cursor": [
                        "previous": offset > 0 ? "c_\(max(0, offset - limit))" as Any : NSNull(),
                        "next": next.map { $0 as Any } ?? NSNull(),
                    ],
                ]))
        }
        // resources/permission.py (session permissions): `GET /api/session/:sessionID/permission` →
        // `{"data": [PermissionRequest]}` (`{id, sessionID, action, resources, message?}`);
        // `POST .../permission/:requestID/reply` `{"decision": "once" | "always" | "reject", "message"?}` → no content.
        router.get("/api/session/:id/permission") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            guard self.session(id) != nil else { return Self.sessionNotFound(id) }
            let pending = self.pendingRequests(.permission, session: id).map { request -> [String: Any] in
                [
                    "id": request.id, "sessionID": request.sessionID, "action": request.action,
                    "resources": [request.resource], "message": "edit \(request.resource)",
                ]
            }
            return Self.json(status: .ok, Self.encode(["data": pending]))
        }
        router.post("/api/session/:id/permission/:requestID/reply") { request, context -> Response in
            struct Body: Decodable {
                let decision: String
                let message: String?
            }
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            guard let body = try? JSONDecoder().decode(Body.self, from: Data(buffer: buffer)),
                ["once", "always", "reject"].contains(body.decision)
            else {
                return Self.tagged(
                    .badRequest, "InvalidRequestError", "expected {\"decision\": \"once\" | \"always\" | \"reject\"}")
            }
            let requestId = context.parameters.get("requestID") ?? ""
            guard self.answer(requestId, kind: .permission, with: body.decision) else {
                return Self.tagged(.notFound, "PermissionNotFoundError", "Permission not found: \(requestId)")
            }
            return Response(status: .noContent)
        }
        // resources/session.py `form.list` / `form.cancel`: `GET /api/session/:sessionID/form` → `FormListResponse`
        // `{"location", "data": [FormInfo]}` (`{id, sessionID, title, fields}`); `DELETE .../form/:formID?message=`
        // cancels a pending form → no content.
        router.get("/api/session/:id/form") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            guard self.session(id) != nil else { return Self.sessionNotFound(id) }
            let pending = self.pendingRequests(.question, session: id).map { request -> [String: Any] in
                [
                    "id": request.id, "sessionID": request.sessionID, "title": request.action,
                    "fields": ["file": ["type": "string", "title": "File"]],
                ]
            }
            return Self.json(status: .ok, Self.encode(["location": Self.location, "data": pending]))
        }
        router.delete("/api/session/:id/form/:formID") { _, context -> Response in
            let formId = context.parameters.get("formID") ?? ""
            guard self.answer(formId, kind: .question, with: "rejected") else {
                return Self.tagged(.notFound, "FormNotFoundError", "Form not found: \(formId)")
            }
            return Response(status: .noContent)
        }
    }

    private struct ModelRef: Decodable {
        let id: String
        let providerID: String
    }
    private struct Rule: Decodable {
        let action: String
        let resource: String
        let effect: String
    }
    private struct SessionBody: Decodable {
        let title: String?
        let agent: String?
        let model: ModelRef?
        let permissions: [Rule]?
    }

    private func promptV2(session id: String, body: Data) async throws -> Response {
        if let failure = try await failureResponse() { return failure }
        // `PromptInputFileAttachment`: `{uri, name?, description?, mention?}`.
        struct File: Decodable {
            let uri: String
            let name: String?
        }
        struct Body: Decodable {
            let id: String?
            let text: String
            let files: [File]?
        }
        guard let request = try? JSONDecoder().decode(Body.self, from: body) else {
            return Self.tagged(.badRequest, "InvalidRequestError", "expected {\"text\", \"id\"?, \"files\"?}")
        }
        var files: [ReceivedFile] = []
        for file in request.files ?? [] {
            guard let decoded = ReceivedFile.decode(url: file.uri, name: file.name) else {
                return Self.tagged(.badRequest, "InvalidRequestError", "files[].uri: expected a data: URL")
            }
            files.append(decoded)
        }
        guard let session = self.session(id) else { return Self.sessionNotFound(id) }
        if let messageId = request.id, session.messages.contains(where: { $0.id == messageId }) {
            return Self.json(
                status: .conflict,
                Self.encode([
                    "_tag": "ConflictError", "message": "Message \(messageId) was already admitted",
                    "resource": messageId,
                ]))
        }
        guard
            let attempt = record(
                session: id, messageID: request.id, text: request.text, model: session.model, agent: session.agent,
                tools: nil, permissions: session.permissions, files: files.isEmpty ? nil : files)
        else { return Self.sessionNotFound(id) }
        if let (status, count) = Self.failMarker(request.text), attempt <= count {
            return Self.tagged(HTTPResponse.Status(code: status), "UnknownError", "stand-in failure")
        }
        let userId = request.id ?? newId("msg")
        let now = Self.now()
        _ = updateSession(id) { session in
            session.messages.append(StoredMessage(id: userId, role: .user, created: now, text: request.text))
            session.queued += 1
        }
        Task { await self.runTurnV2(session: id, text: request.text, attempt: attempt) }
        if shouldDrop(request.text, session: id) { return Self.droppedResponse() }
        return Self.json(
            status: .ok,
            Self.encode([
                "data": [
                    "id": userId, "sessionID": id, "time": ["created": now], "type": "user",
                    "payload": ["text": request.text], "delivery": "queue",
                ]
            ]))
    }

    /// One background turn: after the turns before it, an assistant message and the idle marker that ends it.
    private func runTurnV2(session id: String, text: String, attempt: Int) async {
        while true {
            let started = state.withLock { state -> Bool in
                guard state.sessions[id]?.running == false || state.stopping else { return false }
                state.sessions[id]?.running = true
                return true
            }
            if started { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        let session = self.session(id)
        let turn =
            (try? await runTurn(session: id, text: text, model: session?.model, attempt: attempt))
            ?? ([], defaultModel(), Self.aborted)
        let now = Self.now()
        let reply = StoredMessage(
            id: newId("msg"), role: .assistant, created: now, completed: now,
            text: turn.texts.joined(separator: "\n"), model: turn.model, agent: session?.agent ?? "build",
            error: turn.error)
        let outcome = turn.error == nil ? "succeeded" : turn.error?.name == Self.aborted.name ? "interrupted" : "failed"
        let idle = StoredMessage(
            id: newId("msg"), role: .idle, created: now, text: "", error: turn.error, outcome: outcome)
        _ = updateSession(id) { session in
            session.messages += [reply, idle]
            session.queued = max(0, session.queued - 1)
            session.running = false
            session.aborted = false
        }
    }

    static var location: [String: Any] { ["directory": "/"] }

    /// `ModelInfo`, from one of the fixture's models.
    static func modelInfo(_ entry: (provider: String, id: String, model: [String: Any])) -> [String: Any] {
        let model = entry.model
        let status = model["status"] as? String ?? "active"
        let limit = model["limit"] as? [String: Any] ?? [:]
        let cost = model["cost"] as? [String: Any] ?? [:]
        let modalities = model["modalities"] as? [String: Any] ?? [:]
        var info: [String: Any] = [
            "id": entry.id, "modelID": model["id"] as? String ?? entry.id, "providerID": entry.provider,
            "name": model["name"] as? String ?? entry.id,
            "capabilities": [
                "tools": model["tool_call"] as? Bool ?? false, "input": modalities["input"] ?? ["text"],
                "output": modalities["output"] ?? ["text"],
            ],
            "variants": [Any](), "time": ["released": 0],
            "cost": [
                [
                    "input": cost["input"] ?? 0, "output": cost["output"] ?? 0,
                    "cache": ["read": cost["cache_read"] ?? 0, "write": cost["cache_write"] ?? 0],
                ]
            ],
            "status": status, "enabled": status != "deprecated",
            "limit": ["context": limit["context"] ?? 0, "output": limit["output"] ?? 0],
        ]
        if let family = model["family"] as? String { info["family"] = family }
        return info
    }

    /// `SessionInfo`.
    func v2Session(_ id: String) -> [String: Any] {
        let session = self.session(id)
        var info: [String: Any] = [
            "id": id, "projectID": "standin", "cost": 0,
            "tokens": ["input": 0, "output": 0, "reasoning": 0, "cache": ["read": 0, "write": 0]],
            "time": ["created": session?.created ?? 0, "updated": session?.created ?? 0],
            "title": session?.title ?? "",
            "permissions": (session?.permissions ?? []).map { rule -> [String: String] in
                let fields = rule.split(separator: ":", maxSplits: 2).map(String.init)
                return [
                    "action": fields.first ?? "", "resource": fields.dropFirst().first ?? "",
                    "effect": fields.last ?? "",
                ]
            },
        ]
        if let agent = session?.agent { info["agent"] = agent }
        if let model = session?.model { info["model"] = ["id": model.id, "providerID": model.provider] }
        return info
    }

    /// `SessionMessageUser`, `SessionMessageAssistant` or `SessionMessageIdle`.
    func v2Message(_ message: StoredMessage) -> [String: Any] {
        func structured(_ error: TurnError) -> [String: Any] {
            var body: [String: Any] = ["type": error.name, "message": error.message]
            if let status = error.status { body["status"] = status }
            if let retryAfterMs = error.retryAfterMs { body["retryAfterMs"] = retryAfterMs }
            return body
        }
        switch message.role {
        case .user:
            return ["id": message.id, "type": "user", "text": message.text, "time": ["created": message.created]]
        case .assistant:
            // One text item, as a model's answer streams into one.
            let texts = message.text.isEmpty ? [] : [message.text]
            var body: [String: Any] = [
                "id": message.id, "type": "assistant", "agent": message.agent ?? "build",
                "model": ["id": message.model?.id ?? "", "providerID": message.model?.provider ?? ""],
                "content": texts.map { ["type": "text", "text": $0] },
                "time": ["created": message.created, "completed": message.completed ?? message.created],
                "finish": message.error == nil ? "stop" : "error",
            ]
            if let error = message.error { body["error"] = structured(error) }
            return body
        case .idle:
            var body: [String: Any] = [
                "id": message.id, "type": "idle", "outcome": message.outcome ?? "succeeded",
                "time": ["created": message.created],
            ]
            if let error = message.error { body["error"] = structured(error) }
            return body
        }
    }

    static func tagged(_ status: HTTPResponse.Status, _ tag: String, _ message: String) -> Response {
        json(status: status, encode(["_tag": tag, "message": message]))
    }

    static func sessionNotFound(_ id: String) -> Response {
        json(
            status: .notFound,
            encode(["_tag": "SessionNotFoundError", "sessionID": id, "message": "Session not found: \(id)"]))
    }
}
