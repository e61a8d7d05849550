import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A stand-in for an OpenCode 1.x server, for development and tests only: a real HTTP server that serves the
/// fixture's catalog (real models.dev data reshaped into the bodies of `GET /config/providers` and `GET /config`; it
/// was never recorded from a server, see Tests/Fixtures/opencode/README.md) byte for byte, runs sessions and
/// prompts, can require a password as `opencode serve` does, and can be told to fail, hang or return garbage so
/// Otto's client is exercised over real HTTP.
public final class StandInOpenCode: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Serve the fixture bodies.
        case normal
        /// Answer every request with this HTTP status.
        case failing(status: Int)
        /// Never answer (until the mode changes or the server stops).
        case hanging
        /// Answer 200 with a body that is not JSON.
        case garbage
        /// Answer 200 with JSON that is not OpenCode's shape at all.
        case wrongShape

        /// Parses the control endpoint's text: `normal`, `fail` / `fail:503`, `hang`, `garbage`, `wrong-shape`.
        public init?(controlText: String) {
            let text = controlText.trimmingCharacters(in: .whitespacesAndNewlines)
            switch text {
            case "normal": self = .normal
            case "hang": self = .hanging
            case "garbage": self = .garbage
            case "wrong-shape": self = .wrongShape
            case "fail": self = .failing(status: 500)
            default:
                guard text.hasPrefix("fail:"), let status = Int(text.dropFirst(5)), (400...599).contains(status)
                else { return nil }
                self = .failing(status: status)
            }
        }
    }

    /// A prompt as the stand-in received it, for tests to check the model that was asked for.
    public struct ReceivedPrompt: Codable, Sendable, Equatable {
        public let sessionId: String
        public let sessionTitle: String
        public let providerID: String
        public let modelID: String
        public let text: String
        /// Epoch milliseconds when the prompt arrived.
        public let receivedAt: Int64
    }

    private struct Session {
        var title: String
        var aborted = false
        var prompts = 0
    }

    private struct State {
        var mode: Mode = .normal
        var providersBody: ByteBuffer
        var configBody: ByteBuffer
        var providersRequests = 0
        var stopping = false
        var sessions: [String: Session] = [:]
        var nextSession = 1
        var prompts: [ReceivedPrompt] = []
        var aborts: [String] = []
        var credentials: (username: String, password: String)?
        var authorizationHeaders: [String] = []
    }

    private let state: Mutex<State>

    public init(providersBody: Data, configBody: Data) {
        state = Mutex(State(providersBody: ByteBuffer(bytes: providersBody), configBody: ByteBuffer(bytes: configBody)))
    }

    /// Serves `config-providers.json` and `config.json` from a fixture directory.
    public convenience init(fixtureDirectory: String) throws {
        let directory = URL(fileURLWithPath: fixtureDirectory)
        self.init(
            providersBody: try Data(contentsOf: directory.appendingPathComponent("config-providers.json")),
            configBody: try Data(contentsOf: directory.appendingPathComponent("config.json"))
        )
    }

    public var mode: Mode {
        get { state.withLock { $0.mode } }
        set { state.withLock { $0.mode = newValue } }
    }

    /// How many `GET /config/providers` requests arrived so far.
    public var providersRequestCount: Int { state.withLock { $0.providersRequests } }

    /// Replaces the `/config/providers` body, e.g. to make a model vanish from the catalog.
    public func setProvidersBody(_ body: Data) {
        state.withLock { $0.providersBody = ByteBuffer(bytes: body) }
    }

    /// Replaces the `/config` body, e.g. to change OpenCode's global default model.
    public func setConfigBody(_ body: Data) {
        state.withLock { $0.configBody = ByteBuffer(bytes: body) }
    }

    /// Every prompt received so far, oldest first.
    public var receivedPrompts: [ReceivedPrompt] { state.withLock { $0.prompts } }

    /// The sessions that were asked to abort, in order.
    public var abortedSessions: [String] { state.withLock { $0.aborts } }

    /// Requires HTTP Basic auth with this password (and `username`, default `opencode`) on every route but the
    /// `/__standin/` controls, as `opencode serve` does with `OPENCODE_SERVER_PASSWORD`; nil: no password.
    public func requirePassword(_ password: String?, username: String = "opencode") {
        state.withLock { $0.credentials = password.map { (username, $0) } }
    }

    /// The `Authorization` header of every request to a non-control route, in order ("" when there was none).
    public var receivedAuthorizations: [String] { state.withLock { $0.authorizationHeaders } }

    /// Whether `request` may pass, as 1.x's `AuthMiddleware` decides (packages/opencode/src/server/middleware.ts,
    /// anomalyco/opencode): OPTIONS always; otherwise `Basic <base64 user:password>` (scheme case-insensitive)
    /// in `Authorization`, or the same base64 in the `auth_token` query parameter; the user must match exactly.
    func authorized(_ request: Request) -> Bool {
        let header = request.headers[.authorization]
        let credentials = state.withLock { state in
            // The latest 1,000 only: a stand-in left running for days must not grow without end.
            if state.authorizationHeaders.count >= 1_000 { state.authorizationHeaders.removeFirst(500) }
            state.authorizationHeaders.append(header ?? "")
            return state.credentials
        }
        guard let credentials, request.method != .options else { return true }
        let presented = request.uri.queryParameters["auth_token"].map { "Basic " + String($0) } ?? header ?? ""
        let parts = presented.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return false }
        return text[..<colon] == credentials.username && text[text.index(after: colon)...] == credentials.password
    }

    /// 1.x's answer to a request without the right credentials.
    static let unauthorizedResponse = Response(
        status: .unauthorized,
        headers: [.wwwAuthenticate: #"Basic realm="opencode""#, .contentType: "text/plain; charset=UTF-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: "Unauthorized")))

    /// Ends every hanging request, so the server can shut down promptly.
    public func stop() {
        state.withLock { $0.stopping = true }
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: StandInAuthMiddleware(standIn: self))
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
        // Development control: `curl -X PUT --data fail:503 http://127.0.0.1:4096/__standin/mode`.
        router.put("/__standin/mode") { request, _ -> Response in
            let text = String(buffer: try await request.body.collect(upTo: 1024))
            guard let mode = Mode(controlText: text) else {
                return Self.json(
                    status: .badRequest,
                    #"{"error":"expected one of normal, fail, fail:<status>, hang, garbage, wrong-shape"}"#
                )
            }
            self.mode = mode
            return Self.json(status: .ok, #"{"status":"ok"}"#)
        }
        router.post("/session") { request, _ -> Response in
            if let failure = try await self.failureResponse() { return failure }
            struct Body: Decodable { let title: String? }
            let buffer = try await request.body.collect(upTo: 1024 * 1024)
            let title = (try? JSONDecoder().decode(Body.self, from: Data(buffer: buffer)))?.title ?? ""
            let id = self.state.withLock { state in
                let id = String(format: "ses_standin%06d", state.nextSession)
                state.nextSession += 1
                state.sessions[id] = Session(title: title)
                return id
            }
            return Self.json(status: .ok, Self.encode(["id": id, "title": title]))
        }
        router.get("/session/:id") { _, context -> Response in
            if let failure = try await self.failureResponse() { return failure }
            let id = context.parameters.get("id") ?? ""
            guard let session = self.state.withLock({ $0.sessions[id] }) else { return Self.notFound(id) }
            return Self.json(status: .ok, Self.encode(["id": id, "title": session.title]))
        }
        router.post("/session/:id/abort") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            let known = self.state.withLock { state in
                guard state.sessions[id] != nil else { return false }
                state.sessions[id]?.aborted = true
                state.aborts.append(id)
                return true
            }
            return known ? Self.json(status: .ok, "true") : Self.notFound(id)
        }
        router.post("/session/:id/message") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            let buffer = try await request.body.collect(upTo: 16 * 1024 * 1024)
            return try await self.answer(session: id, body: Data(buffer: buffer))
        }
        router.get("/__standin/prompts") { _, _ -> Response in
            let prompts = self.receivedPrompts
            let data = (try? JSONEncoder().encode(prompts)) ?? Data("[]".utf8)
            return Self.json(status: .ok, String(decoding: data, as: UTF8.self))
        }
        router.put("/__standin/providers") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 * 1024 * 1024)
            self.setProvidersBody(Data(buffer: body))
            return Self.json(status: .ok, #"{"status":"ok"}"#)
        }
        return router
    }

    /// A Hummingbird application serving this stand-in on `host:port` (port 0 picks a free one, reported through
    /// `onServerRunning`).
    public func application(
        host: String = "127.0.0.1",
        port: Int,
        logger: Logger = Logger(label: "opencode-standin"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "opencode-standin"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    /// The mode's failure for session routes (`fail`, `hang`), or nil to answer normally.
    private func failureResponse() async throws -> Response? {
        switch mode {
        case .failing(let status):
            return Self.json(status: HTTPResponse.Status(code: status), Self.failureBody)
        case .hanging:
            let deadline = ContinuousClock.now + .seconds(300)
            while mode == .hanging, !state.withLock({ $0.stopping }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            return try await failureResponse()
        case .normal, .garbage, .wrongShape:
            return nil
        }
    }

    /// Answers a prompt. Markers in the text steer the answer, so tests exercise timeouts, retries and
    /// concurrency for real:
    /// - `[[sleep:MS]]` answers after MS milliseconds (sooner if the session is aborted);
    /// - `[[hang]]` answers only when the session is aborted (as OpenCode does, with `MessageAbortedError`);
    /// - `[[fail:STATUS:N]]` answers HTTP STATUS to the first N prompts of the session;
    /// - `[[size:BYTES]]` makes the answer's first text part BYTES long (up to 64 MiB).
    /// The answer names the provider and model it was asked for.
    private func answer(session id: String, body: Data) async throws -> Response {
        if let failure = try await failureResponse() { return failure }
        struct Model: Decodable {
            let providerID: String
            let modelID: String
        }
        struct Part: Decodable {
            let type: String
            let text: String?
        }
        struct Body: Decodable {
            let model: Model?
            let parts: [Part]
        }
        guard let request = try? JSONDecoder().decode(Body.self, from: body) else {
            return Self.json(status: .badRequest, #"{"error":"expected {model, parts}"}"#)
        }
        let text = request.parts.filter { $0.type == "text" }.compactMap(\.text).joined(separator: "\n")
        let model = request.model ?? Model(providerID: "opencode", modelID: "default")
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let attempt: Int? = state.withLock { state in
            guard var session = state.sessions[id] else { return nil }
            session.prompts += 1
            state.sessions[id] = session
            state.prompts.append(
                ReceivedPrompt(
                    sessionId: id, sessionTitle: session.title, providerID: model.providerID,
                    modelID: model.modelID, text: text, receivedAt: now))
            return session.prompts
        }
        guard let attempt else { return Self.notFound(id) }
        if let (status, count) = Self.failMarker(text), attempt <= count {
            return Self.json(status: HTTPResponse.Status(code: status), Self.failureBody)
        }
        var wait: Duration? = Self.sleepMarker(text).map { .milliseconds($0) }
        if text.contains("[[hang]]") { wait = .seconds(300) }
        if let wait {
            let deadline = ContinuousClock.now + wait
            while ContinuousClock.now < deadline {
                let (aborted, stopping) = state.withLock { ($0.sessions[id]?.aborted ?? true, $0.stopping) }
                if aborted || stopping {
                    return Self.json(
                        status: .ok,
                        Self.encodeMessage(
                            session: id, model: (model.providerID, model.modelID), texts: [],
                            error: ["name": "MessageAbortedError", "data": ["message": "The operation was aborted."]]))
                }
                try await Task.sleep(for: min(.milliseconds(10), deadline - ContinuousClock.now))
            }
        }
        var reply = "stand-in reply from \(model.providerID)/\(model.modelID)"
        if let size = Self.sizeMarker(text), size > reply.utf8.count {
            // A long answer, as a model writing a report gives: the reply padded to `size` bytes.
            reply += " " + String(repeating: "x", count: size - reply.utf8.count - 1)
        }
        return Self.json(
            status: .ok,
            Self.encodeMessage(
                session: id, model: (model.providerID, model.modelID), texts: [reply, "prompt: \(text.prefix(80))"],
                error: nil))
    }

    private static func encodeMessage(
        session: String, model: (provider: String, id: String), texts: [String], error: [String: Any]?
    ) -> String {
        let (provider, modelID) = model
        var info: [String: Any] = [
            "id": "msg_standin", "role": "assistant", "sessionID": session, "providerID": provider, "modelID": modelID,
        ]
        if let error { info["error"] = error }
        let parts: [[String: Any]] = [["type": "step-start"]] + texts.map { ["type": "text", "text": $0] }
        return encode(["info": info, "parts": parts])
    }

    private static func encode(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func sleepMarker(_ text: String) -> Int? {
        guard let range = text.range(of: "[[sleep:"), let end = text[range.upperBound...].range(of: "]]") else {
            return nil
        }
        return Int(text[range.upperBound..<end.lowerBound])
    }

    static func sizeMarker(_ text: String) -> Int? {
        guard let range = text.range(of: "[[size:"), let end = text[range.upperBound...].range(of: "]]"),
            let size = Int(text[range.upperBound..<end.lowerBound]), (0...64 * 1024 * 1024).contains(size)
        else { return nil }
        return size
    }

    static func failMarker(_ text: String) -> (status: Int, count: Int)? {
        guard let range = text.range(of: "[[fail:"), let end = text[range.upperBound...].range(of: "]]") else {
            return nil
        }
        let fields = text[range.upperBound..<end.lowerBound].split(separator: ":").compactMap { Int($0) }
        guard fields.count == 2, (400...599).contains(fields[0]) else { return nil }
        return (fields[0], fields[1])
    }

    /// A failure as 1.x's `ErrorMiddleware` writes one: `NamedError.Unknown(...).toObject()`.
    static let failureBody = #"{"name":"UnknownError","data":{"message":"stand-in failure"}}"#

    private static func notFound(_ id: String) -> Response {
        json(status: .notFound, encode(["name": "NotFoundError", "data": ["message": "Session not found: \(id)"]]))
    }

    private func respond(with body: ByteBuffer) async throws -> Response {
        switch mode {
        case .normal:
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: body)
            )
        case .failing(let status):
            return Self.json(status: HTTPResponse.Status(code: status), Self.failureBody)
        case .garbage:
            return Response(
                status: .ok,
                headers: [.contentType: "text/html"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "<html><body>502 Bad Gateway</body></html>"))
            )
        case .wrongShape:
            return Self.json(status: .ok, #"["this", "is", "not", "a", "provider", "list"]"#)
        case .hanging:
            let deadline = ContinuousClock.now + .seconds(300)
            while mode == .hanging, !state.withLock({ $0.stopping }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            return try await respond(with: body)
        }
    }

    private static func json(status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }
}

/// Checks Basic auth before any route but the stand-in's own controls.
struct StandInAuthMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let standIn: StandInOpenCode

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        if request.uri.path.hasPrefix("/__standin/") { return try await next(request, context) }
        guard standIn.authorized(request) else { return StandInOpenCode.unauthorizedResponse }
        return try await next(request, context)
    }
}
