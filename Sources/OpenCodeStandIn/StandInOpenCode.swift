import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A stand-in for an OpenCode server, for development and tests only: a real HTTP server that speaks either of
/// OpenCode's protocols (1.x at the root, 2.x under `/api/`; see StandInV1Routes.swift and StandInV2Routes.swift for
/// where each route's shape comes from), serves the fixture's catalog (real models.dev data reshaped into the bodies
/// of 1.x's `GET /config/providers` and `GET /config`, and mapped to 2.x's `ModelInfo`; it was never recorded from a
/// server, see Tests/Fixtures/opencode/README.md), runs sessions and prompts, can require a password as
/// `opencode serve` does, and can be told to fail, hang, return garbage, raise permission requests and questions,
/// substitute models, report model errors or drop responses, so Otto's client is exercised over real HTTP.
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

    /// A prompt as the stand-in received it, for tests to check what Otto sent.
    public struct ReceivedPrompt: Codable, Sendable, Equatable {
        public let sessionId: String
        public let sessionTitle: String
        /// The model the prompt asked for (1.x: the prompt's `model`; 2.x: the session's); nil: none.
        public let providerID: String?
        public let modelID: String?
        /// The agent (1.x: the prompt's; 2.x: the session's), nil when none was named.
        public let agent: String?
        /// 1.x: the prompt's `tools` map.
        public let tools: [String: Bool]?
        /// 2.x: the session's permission rules, as `action:resource:effect`.
        public let permissions: [String]?
        /// The message id Otto chose (1.x `messageID`, 2.x `id`).
        public let messageID: String?
        public let text: String
        /// Epoch milliseconds when the prompt arrived.
        public let receivedAt: Int64
        /// Files attached to the prompt (1.x `file` parts, 2.x `files`), nil when none.
        public var files: [ReceivedFile]? = nil
    }

    /// A file attached to a prompt, as a `data:` URL decoded.
    public struct ReceivedFile: Codable, Sendable, Equatable {
        public let name: String?
        public let mime: String
        public let bytes: Int
        /// The SHA-less check a test needs: the first bytes, as text.
        public let head: String

        /// Decodes `data:<mime>;base64,<data>`; nil for anything else (a real server would try to fetch it).
        public static func decode(url: String, name: String?) -> ReceivedFile? {
            guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ","),
                url[..<comma].hasSuffix(";base64")
            else { return nil }
            let mime = String(url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(7))
            guard let data = Data(base64Encoded: String(url[url.index(after: comma)...])) else { return nil }
            return ReceivedFile(
                name: name, mime: mime, bytes: data.count, head: String(decoding: data.prefix(32), as: UTF8.self))
        }
    }

    /// A permission request or question raised during a turn, pending until answered.
    struct Pending: Sendable {
        enum Kind: Sendable { case permission, question }
        let id: String
        let sessionID: String
        let kind: Kind
        /// Permission: the action and its resource; question: the question.
        let action: String
        let resource: String
        var answer: String?
    }

    /// A message of a session, in the stand-in's own terms; each protocol's routes give it its shape.
    struct StoredMessage: Sendable {
        enum Role: Sendable { case user, assistant, idle }
        let id: String
        let role: Role
        let created: Int64
        var completed: Int64?
        var text: String
        var parentID: String?
        var model: (provider: String, id: String)?
        var agent: String?
        var error: TurnError?
        /// idle: `succeeded`, `failed` or `interrupted`.
        var outcome: String?
    }

    /// A failed turn as the stand-in reports it.
    struct TurnError: Sendable {
        let name: String
        let message: String
        let retryable: Bool
        let status: Int?
        let retryAfterMs: Int?
    }

    struct Session {
        var title: String
        var aborted = false
        var prompts = 0
        var messages: [StoredMessage] = []
        /// 2.x: the session's own model, agent and permission rules.
        var model: (provider: String, id: String)?
        var agent: String?
        var permissions: [String] = []
        /// 2.x: turns admitted and not yet finished, and whether one is running (they run one at a time).
        var queued = 0
        var running = false
        /// `[[drop]]` drops only the first response.
        var dropped = false
        let created: Int64
    }

    struct State {
        var mode: Mode = .normal
        var providersBody: ByteBuffer
        var configBody: ByteBuffer
        var providersRequests = 0
        var stopping = false
        var sessions: [String: Session] = [:]
        var nextSession = 1
        var nextId = 1
        var prompts: [ReceivedPrompt] = []
        var aborts: [String] = []
        var credentials: (username: String, password: String)?
        var authorizationHeaders: [String] = []
        var pending: [Pending] = []
        /// Every refusal received, as `kind id answer`, for tests.
        var answers: [String] = []
    }

    let state: Mutex<State>

    /// Which protocol the routes speak, and the version the server reports.
    public let protocolVersion: Int
    public let version: String

    /// - Parameters:
    ///   - protocolVersion: 1 (routes at the root, as OpenCode 1.x) or 2 (under `/api/`, as OpenCode 2.1).
    ///   - noDefaultModel: serve a configuration without a default model, as a stock install does.
    public init(providersBody: Data, configBody: Data, protocolVersion: Int = 1, noDefaultModel: Bool = false) {
        self.protocolVersion = protocolVersion == 2 ? 2 : 1
        self.version = protocolVersion == 2 ? "2.1.2" : "1.1.53"
        let config = noDefaultModel ? Data("{}".utf8) : configBody
        state = Mutex(State(providersBody: ByteBuffer(bytes: providersBody), configBody: ByteBuffer(bytes: config)))
    }

    /// Serves `config-providers.json` and `config.json` from a fixture directory.
    public convenience init(fixtureDirectory: String, protocolVersion: Int = 1, noDefaultModel: Bool = false) throws {
        let directory = URL(fileURLWithPath: fixtureDirectory)
        self.init(
            providersBody: try Data(contentsOf: directory.appendingPathComponent("config-providers.json")),
            configBody: try Data(contentsOf: directory.appendingPathComponent("config.json")),
            protocolVersion: protocolVersion, noDefaultModel: noDefaultModel
        )
    }

    /// How each refused request was answered, in order (`permission <id> reject`, `question <id> rejected`).
    public var receivedAnswers: [String] { state.withLock { $0.answers } }

    /// The requests still waiting for an answer.
    public var pendingRequestCount: Int { state.withLock { $0.pending.filter { $0.answer == nil }.count } }

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
        if protocolVersion == 2 { addV2Routes(to: router) } else { addV1Routes(to: router) }
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
    func failureResponse() async throws -> Response? {
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

    /// Runs one turn of a session. Markers in the text steer it, so tests exercise timeouts, retries, refusals
    /// and concurrency for real:
    /// - `[[sleep:MS]]` answers after MS milliseconds (sooner if the session is aborted);
    /// - `[[hang]]` answers only when the session is aborted (as OpenCode does, with `MessageAbortedError`);
    /// - `[[size:BYTES]]` makes the answer's first text part BYTES long (up to 64 MiB);
    /// - `[[permission]]` raises a permission request (`edit` of `notes.txt`) and waits for its answer;
    /// - `[[question]]` raises a question and waits for its answer;
    /// - `[[substitute:PROVIDER/MODEL]]` answers with that model instead of the one asked for;
    /// - `[[model-error]]` fails the turn with a provider error inside a successful response;
    /// - `[[model-error-once]]` fails the session's first turn with a retryable one (retry after 200 ms).
    /// (`[[fail:STATUS:N]]` and `[[drop]]` act on the HTTP exchange; each protocol's routes handle them.)
    /// The answer names the provider and model that answered.
    func runTurn(session id: String, text: String, model requested: (provider: String, id: String)?, attempt: Int)
        async throws -> (texts: [String], model: (provider: String, id: String), error: TurnError?)
    {
        var model = requested ?? defaultModel()
        if let substitute = Self.marker("substitute", in: text), let slash = substitute.firstIndex(of: "/") {
            model = (String(substitute[..<slash]), String(substitute[substitute.index(after: slash)...]))
        }
        var wait: Duration? = Self.sleepMarker(text).map { .milliseconds($0) }
        if text.contains("[[hang]]") { wait = .seconds(300) }
        if let wait, try await !waitUnlessAborted(id, for: wait) {
            return ([], model, Self.aborted)
        }
        var notes: [String] = []
        for (marker, kind) in [("[[permission]]", Pending.Kind.permission), ("[[question]]", .question)]
        where text.contains(marker) {
            let requestId = raise(kind, in: id)
            guard let answer = try await waitForAnswer(requestId, session: id) else { return ([], model, Self.aborted) }
            notes.append("\(kind == .permission ? "permission" : "question") \(answer)")
        }
        if text.contains("[[model-error]]") {
            return (
                [], model,
                TurnError(
                    name: "APIError", message: "stand-in provider error: the model is overloaded", retryable: false,
                    status: 400, retryAfterMs: nil)
            )
        }
        if text.contains("[[model-error-once]]"), attempt == 1 {
            return (
                [], model,
                TurnError(
                    name: "APIError", message: "stand-in provider error: rate limited", retryable: true, status: 429,
                    retryAfterMs: 200)
            )
        }
        var reply = "stand-in reply from \(model.provider)/\(model.id)"
        if let size = Self.sizeMarker(text), size > reply.utf8.count {
            // A long answer, as a model writing a report gives: the reply padded to `size` bytes.
            reply += " " + String(repeating: "x", count: size - reply.utf8.count - 1)
        }
        return ([reply] + notes + ["prompt: \(text.prefix(80))"], model, nil)
    }

    static let aborted = TurnError(
        name: "MessageAbortedError", message: "The operation was aborted.", retryable: false, status: nil,
        retryAfterMs: nil)

    /// The model a prompt without one runs on: the configured default, else the catalog's first model (real
    /// OpenCode also picks one itself).
    func defaultModel() -> (provider: String, id: String) {
        struct Config: Decodable { let model: String? }
        let (config, providers) = state.withLock { ($0.configBody, $0.providersBody) }
        if let model = (try? JSONDecoder().decode(Config.self, from: Data(buffer: config)))?.model,
            let slash = model.firstIndex(of: "/")
        {
            return (String(model[..<slash]), String(model[model.index(after: slash)...]))
        }
        return Self.catalog(providers).first ?? ("opencode", "default")
    }

    /// The fixture's models as `(provider, model, status)`, in the body's order.
    static func catalog(_ providers: ByteBuffer) -> [(provider: String, id: String)] {
        catalogEntries(providers).map { ($0.provider, $0.id) }
    }

    static func catalogEntries(_ providers: ByteBuffer) -> [(provider: String, id: String, model: [String: Any])] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: providers)) as? [String: Any],
            let list = object["providers"] as? [[String: Any]]
        else { return [] }
        var entries: [(String, String, [String: Any])] = []
        for provider in list {
            guard let id = provider["id"] as? String, let models = provider["models"] as? [String: Any] else {
                continue
            }
            for key in models.keys.sorted() {
                if let model = models[key] as? [String: Any] { entries.append((id, key, model)) }
            }
        }
        return entries
    }

    /// Waits `duration`; false when the session was aborted (or the server stops) first.
    func waitUnlessAborted(_ id: String, for duration: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            let (aborted, stopping) = state.withLock { ($0.sessions[id]?.aborted ?? true, $0.stopping) }
            if aborted || stopping { return false }
            try await Task.sleep(for: min(.milliseconds(10), deadline - ContinuousClock.now))
        }
        return true
    }

    /// Raises a pending permission request or question for the session; returns its id.
    func raise(_ kind: Pending.Kind, in session: String) -> String {
        state.withLock { state in
            let id = String(format: kind == .permission ? "per_standin%06d" : "que_standin%06d", state.nextId)
            state.nextId += 1
            let request =
                kind == .permission
                ? Pending(id: id, sessionID: session, kind: kind, action: "edit", resource: "notes.txt")
                : Pending(id: id, sessionID: session, kind: kind, action: "Which file should I change?", resource: "")
            state.pending.append(request)
            return id
        }
    }

    /// Waits up to 300 s for the request's answer; nil when the session was aborted first.
    func waitForAnswer(_ requestId: String, session: String) async throws -> String? {
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            let (answer, aborted, stopping) = state.withLock { state in
                (
                    state.pending.first { $0.id == requestId }?.answer, state.sessions[session]?.aborted ?? true,
                    state.stopping
                )
            }
            if let answer { return answer }
            if aborted || stopping { return nil }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Answers a pending request; false when there is none with that id (or it was answered already).
    func answer(_ requestId: String, kind: Pending.Kind, with answer: String) -> Bool {
        state.withLock { state in
            guard let index = state.pending.firstIndex(where: { $0.id == requestId && $0.kind == kind }),
                state.pending[index].answer == nil
            else { return false }
            state.pending[index].answer = answer
            state.answers.append("\(kind == .permission ? "permission" : "question") \(requestId) \(answer)")
            return true
        }
    }

    /// The requests still waiting, optionally of one session.
    func pendingRequests(_ kind: Pending.Kind, session: String? = nil) -> [Pending] {
        state.withLock { state in
            state.pending.filter { $0.kind == kind && $0.answer == nil && (session == nil || $0.sessionID == session) }
        }
    }

    /// A new id in OpenCode's style for this server's own objects.
    func newId(_ prefix: String) -> String {
        state.withLock { state in
            defer { state.nextId += 1 }
            return String(format: "\(prefix)_standin%08d", state.nextId)
        }
    }

    /// Records a prompt as received and counts it for its session; nil when the session does not exist.
    func record(
        session id: String, messageID: String?, text: String, model: (provider: String, id: String)?, agent: String?,
        tools: [String: Bool]?, permissions: [String]?, files: [ReceivedFile]? = nil
    ) -> Int? {
        let now = Self.now()
        return state.withLock { state in
            guard var session = state.sessions[id] else { return nil }
            session.prompts += 1
            state.sessions[id] = session
            state.prompts.append(
                ReceivedPrompt(
                    sessionId: id, sessionTitle: session.title, providerID: model?.provider, modelID: model?.id,
                    agent: agent, tools: tools, permissions: permissions, messageID: messageID, text: text,
                    receivedAt: now, files: files))
            return session.prompts
        }
    }

    /// Adds a session OpenCode already has (one a TypeScript Otto started, say), under its own id.
    public func addExistingSession(id: String, title: String) {
        let now = Self.now()
        state.withLock { $0.sessions[id] = Session(title: title, created: now) }
    }

    /// Creates a session; returns its id.
    func createSession(title: String, configure: (inout Session) -> Void = { _ in }) -> String {
        let now = Self.now()
        return state.withLock { state in
            let id = String(format: "ses_standin%06d", state.nextSession)
            state.nextSession += 1
            var session = Session(title: title, created: now)
            configure(&session)
            state.sessions[id] = session
            return id
        }
    }

    func session(_ id: String) -> Session? { state.withLock { $0.sessions[id] } }

    func updateSession(_ id: String, _ change: (inout Session) -> Void) -> Bool {
        state.withLock { state in
            guard var session = state.sessions[id] else { return false }
            change(&session)
            state.sessions[id] = session
            return true
        }
    }

    /// Marks the session aborted; false when it does not exist.
    func abortSession(_ id: String) -> Bool {
        state.withLock { state in
            guard state.sessions[id] != nil else { return false }
            state.sessions[id]?.aborted = true
            state.aborts.append(id)
            return true
        }
    }

    /// Whether the response to this prompt is to be dropped (`[[drop]]`, the session's first time only).
    func shouldDrop(_ text: String, session id: String) -> Bool {
        guard text.contains("[[drop]]") else { return false }
        return state.withLock { state in
            guard state.sessions[id]?.dropped == false else { return false }
            state.sessions[id]?.dropped = true
            return true
        }
    }

    /// A response whose head may go out but whose body never completes: the connection is cut, as when a proxy or
    /// the network loses an answer the server already acted on.
    static func droppedResponse() -> Response {
        struct Dropped: Error {}
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody { _ in throw Dropped() })
    }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    static func marker(_ name: String, in text: String) -> String? {
        guard let range = text.range(of: "[[\(name):"), let end = text[range.upperBound...].range(of: "]]") else {
            return nil
        }
        return String(text[range.upperBound..<end.lowerBound])
    }

    static func encode(_ object: Any) -> String {
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

    static func notFound(_ id: String) -> Response {
        json(status: .notFound, encode(["name": "NotFoundError", "data": ["message": "Session not found: \(id)"]]))
    }

    func respond(with body: ByteBuffer) async throws -> Response {
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

    static func json(status: HTTPResponse.Status, _ text: String) -> Response {
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
