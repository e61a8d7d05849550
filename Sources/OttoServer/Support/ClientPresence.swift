import Hummingbird
import NIOCore
import Synchronization

/// Tells a request handler when its client went away: the connection closed, or the client closed its side
/// (the server allows half-closure, so a client that hangs up is an `inputClosed` event, not a closed channel).
/// Work done only for that client (an assistant prompt) is then cancelled instead of running on for minutes.
final class ClientPresence: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny

    /// Succeeded once the client is gone; always completed (at removal at the latest), never leaked.
    private(set) var gone: EventLoopPromise<Void>?

    func handlerAdded(context: ChannelHandlerContext) {
        gone = context.eventLoop.makePromise()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        gone?.succeed(())
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent { gone?.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        gone?.succeed(())
        context.fireChannelInactive()
    }

    /// Returns when the client of `channel` is gone, or never (until cancelled) if the channel has no presence
    /// handler (the in-process test client).
    static func untilGone(_ channel: (any Channel)?) async {
        if let channel,
            let future = try? await channel.pipeline.handler(type: ClientPresence.self)
                .flatMapThrowing({ handler -> EventLoopFuture<Void> in
                    guard let gone = handler.gone else { throw ChannelError.ioOnClosedChannel }
                    return gone.futureResult
                }).get()
        {
            await waitCancellably(for: future)
            return
        }
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }

    /// Waits for `future`, or until the task is cancelled (`EventLoopFuture.get()` alone ignores cancellation,
    /// which would keep a finished request's task group waiting for its client to hang up).
    private static func waitCancellably(for future: EventLoopFuture<Void>) async {
        let waiting = Mutex<CheckedContinuation<Void, Never>?>(nil)
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiting.withLock { $0 = continuation }
                future.whenComplete { _ in waiting.withLock { $0.take() }?.resume() }
                if Task.isCancelled { waiting.withLock { $0.take() }?.resume() }
            }
        } onCancel: {
            waiting.withLock { $0.take() }?.resume()
        }
    }
}

/// The API's request context: Hummingbird's basic one, plus the channel the request came on (for `ClientPresence`).
public struct OttoRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
