import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A stand-in for an OpenCode server, for development and tests only: a real HTTP server that serves recorded
/// real catalog data (`GET /config/providers`, `GET /config`) byte for byte, and can be told to fail, hang or
/// return garbage so the catalog client is exercised over real HTTP.
public final class StandInOpenCode: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Serve the recorded bodies.
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

    private struct State {
        var mode: Mode = .normal
        var providersBody: ByteBuffer
        var configBody: ByteBuffer
        var providersRequests = 0
        var stopping = false
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

    /// Ends every hanging request, so the server can shut down promptly.
    public func stop() {
        state.withLock { $0.stopping = true }
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
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

    private func respond(with body: ByteBuffer) async throws -> Response {
        switch mode {
        case .normal:
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: body)
            )
        case .failing(let status):
            return Self.json(status: HTTPResponse.Status(code: status), #"{"error":"stand-in failure"}"#)
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
