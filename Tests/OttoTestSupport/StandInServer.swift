import Foundation
import Hummingbird
import Logging
import OpenCodeStandIn
import ServiceLifecycle

/// A stand-in OpenCode server running in-process on a free loopback port.
public struct RunningStandIn: Sendable {
    public let standIn: StandInOpenCode
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }
}

/// The OpenCode protocols every execution and assistant test runs against.
public let openCodeProtocols = [1, 2]

/// A stand-in serving the fixture in `protocolVersion` (1 or 2).
public func fixtureStandIn(protocolVersion: Int = 1, noDefaultModel: Bool = false) -> StandInOpenCode {
    StandInOpenCode(
        providersBody: Fixtures.providersBody, configBody: Fixtures.configBody, protocolVersion: protocolVersion,
        noDefaultModel: noDefaultModel)
}

/// Runs `body` with a real stand-in OpenCode HTTP server (serving the fixture unless told otherwise), then stops it.
public func withStandInOpenCode<T: Sendable>(
    _ standIn: StandInOpenCode = fixtureStandIn(),
    _ body: @Sendable (RunningStandIn) async throws -> T
) async throws -> T {
    var logger = Logger(label: "opencode-standin")
    logger.logLevel = .warning
    return try await withLoopbackServer(
        { onRunning in standIn.application(port: 0, logger: logger, onServerRunning: onRunning) },
        logger: logger,
        stop: { standIn.stop() }
    ) { port in try await body(RunningStandIn(standIn: standIn, port: port)) }
}

/// Runs an application on a free loopback port for the duration of `body`, which gets the port; then stops it
/// gracefully (`stop` first ends anything the server holds open).
public func withLoopbackServer<T: Sendable, App: ApplicationProtocol>(
    _ makeApplication: (@escaping @Sendable (Int) async -> Void) -> App,
    logger: Logger,
    stop: @escaping @Sendable () -> Void = {},
    _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let (ports, portContinuation) = AsyncStream<Int>.makeStream()
    let app = makeApplication { port in portContinuation.yield(port) }
    let group = ServiceGroup(services: [app], logger: logger)
    return try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask {
            try await group.run()
            return nil
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        do {
            let result = try await body(port)
            stop()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            stop()
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// A loopback port with nothing listening on it, for "OpenCode is down" tests.
public func closedLoopbackPort() -> Int {
    // Bind to port 0 to get a free port, then close the socket: nothing listens there afterwards.
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            _ = bind(fd, socketAddress, length)
            _ = getsockname(fd, socketAddress, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
