import NIOCore
import NIOHTTP1

/// What the HTTP side of a connection tells `RequestDeadlines` (as outbound user events, which travel towards the
/// front of the pipeline where it sits).
enum RequestProgress: Sendable {
    /// A request's head was decoded.
    case headReceived
    /// A request arrived whole (its end was decoded).
    case requestReceived
    /// The response to it was written to its end.
    case responseSent
}

/// The first handler of every API connection, where the raw bytes arrive. A request must arrive whole within
/// `requestTimeout` of its first byte (of the connection's opening, for the first one), and its head within
/// `headTimeout`: for every request on a keep-alive connection, not only the first. A client that sends a byte
/// every few seconds (of a head, or of a body it declared as 1 MB) is closed when its time is up, so it holds a
/// descriptor for seconds, not for ever.
final class RequestDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private enum State {
        /// Between requests: the next byte starts one.
        case idle
        case receiving
        /// The request arrived whole; its response is being written.
        case responding
    }

    private let headTimeout: TimeAmount
    private let requestTimeout: TimeAmount
    private var state = State.receiving
    private var headDeadline: Scheduled<Void>?
    private var requestDeadline: Scheduled<Void>?

    init(headTimeout: TimeAmount, requestTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.requestTimeout = max(requestTimeout, headTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // The connection is open: the first request's time starts now, even if it never sends a byte.
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { cancelAll() }

    func channelInactive(context: ChannelHandlerContext) {
        cancelAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .idle = state {
            state = .receiving
            arm(context)
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let progress = event as? RequestProgress else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch progress {
        case .headReceived:
            headDeadline?.cancel()
            headDeadline = nil
        case .requestReceived:
            cancelAll()
            state = .responding
        case .responseSent:
            // A response may go out before its request is whole (a 401 sent without reading the body); the
            // request's deadline then still runs until the connection closes.
            if case .responding = state { state = .idle }
        }
        promise?.succeed(())
    }

    private func arm(_ context: ChannelHandlerContext) {
        let loop = context.eventLoop.assumeIsolated()
        if headDeadline == nil {
            headDeadline = loop.scheduleTask(in: headTimeout) { [weak self] in
                guard let self, self.headDeadline != nil else { return }
                self.headDeadline = nil
                context.close(promise: nil)
            }
        }
        if requestDeadline == nil {
            requestDeadline = loop.scheduleTask(in: requestTimeout) { [weak self] in
                guard let self, self.requestDeadline != nil else { return }
                self.requestDeadline = nil
                context.close(promise: nil)
            }
        }
    }

    private func cancelAll() {
        headDeadline?.cancel()
        headDeadline = nil
        requestDeadline?.cancel()
        requestDeadline = nil
    }
}

/// Sits between NIO's HTTP/1 decoder and the conversion to HTTP types, where the request's version is still known:
/// - a request that does not ask for keep-alive (HTTP/1.0 without `Connection: keep-alive`, or `Connection: close`)
///   gets `Connection: close` on its response, and the connection is closed after it;
/// - a response that says `Connection: close` (a 401 sent before its body was read) closes the connection once
///   written, so a body nobody will read is never waited for;
/// - tells `RequestDeadlines` where each request stands.
final class KeepAliveGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var keepAlive = true
    private var closeAfterResponse = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            context.triggerUserOutboundEvent(RequestProgress.headReceived, promise: nil)
        case .body:
            break
        case .end:
            context.triggerUserOutboundEvent(RequestProgress.requestReceived, promise: nil)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            let asksToClose = head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
            closeAfterResponse = !keepAlive || asksToClose
            if closeAfterResponse && !asksToClose { head.headers.replaceOrAdd(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            let written = promise ?? context.eventLoop.makePromise()
            let close = closeAfterResponse
            closeAfterResponse = false
            keepAlive = true
            context.triggerUserOutboundEvent(RequestProgress.responseSent, promise: nil)
            if close {
                written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                context.writeAndFlush(data, promise: written)
            } else {
                context.write(data, promise: written)
            }
        }
    }
}
