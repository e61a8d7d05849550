import Foundation
import Hummingbird
import Logging
import OttoContracts
import ServiceLifecycle

/// A real HTTP server that receives webhook POSTs, for notification tests.
public final class WebhookReceiver: Sendable {
    public let url: String
    private let stream: AsyncStream<JSONValue>

    init(url: String, stream: AsyncStream<JSONValue>) {
        self.url = url
        self.stream = stream
    }

    /// The next JSON body received, or nil if none arrives within `limit`.
    public func next(within limit: Duration = .seconds(10)) async -> JSONValue? {
        let stream = self.stream
        return await withTaskGroup(of: JSONValue?.self) { group in
            group.addTask {
                var iterator = stream.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
    }
}

/// Runs `body` with a webhook receiver listening on a free loopback port at `/hook`.
public func withWebhookReceiver<T: Sendable>(_ body: @Sendable (WebhookReceiver) async throws -> T) async throws -> T {
    var logger = Logger(label: "webhook-receiver")
    logger.logLevel = .warning
    let (received, sink) = AsyncStream<JSONValue>.makeStream()
    let router = Router()
    router.post("/hook") { request, _ -> HTTPResponse.Status in
        let buffer = try await request.body.collect(upTo: 1024 * 1024)
        if let value = JSONValue(jsonText: String(buffer: buffer)) { sink.yield(value) }
        return .ok
    }
    return try await withLoopbackServer(
        { onRunning in
            Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
        },
        logger: logger
    ) { port in try await body(WebhookReceiver(url: "http://127.0.0.1:\(port)/hook", stream: received)) }
}
