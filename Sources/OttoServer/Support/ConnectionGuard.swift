import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import OttoContracts

/// Sits behind the HTTP decoder on every connection of the external API:
/// - closes a connection that has not sent a complete request head within `headTimeout` of opening (a slowloris
///   sends its head a byte at a time and never finishes; Hummingbird's idle timeout only starts counting once
///   the first request head arrived or a response was written);
/// - answers a request the HTTP parser rejects (a NUL or CR in a header, a head over 80 KiB, an unknown method)
///   with a 400 in the API's error shape, instead of Hummingbird's empty one, and closes the connection.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headTimeout: TimeAmount
    private var headDeadline: Scheduled<Void>?
    /// A request was read whose response has not ended: a parser error now belongs to Hummingbird's handling.
    private var requestInFlight = false

    init(headTimeout: TimeAmount) {
        self.headTimeout = headTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armHeadDeadline(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armHeadDeadline(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headDeadline?.cancel()
        headDeadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            headDeadline?.cancel()
            headDeadline = nil
            requestInFlight = true
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { requestInFlight = false }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !requestInFlight else {
            context.fireErrorCaught(error)
            return
        }
        headDeadline?.cancel()
        headDeadline = nil
        let body = ByteBuffer(
            bytes: (try? CompactJSONEncoder().encode(
                ErrorResponse(error: "invalid_request", message: Self.explain(parserError), details: nil))) ?? [])
        var fields = HTTPFields()
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.contentLength] = String(body.readableBytes)
        fields[.connection] = "close"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .badRequest, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func armHeadDeadline(_ context: ChannelHandlerContext) {
        guard headDeadline == nil else { return }
        headDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: headTimeout) { [weak self] in
            guard self?.headDeadline != nil else { return }
            self?.headDeadline = nil
            context.close(promise: nil)
        }
    }

    /// What was wrong, without repeating any of the request (a header could hold a token).
    static func explain(_ error: HTTPParserError) -> String {
        let what: String
        switch error {
        case .headerOverflow: what = "the request head is larger than 80 KiB"
        case .invalidMethod: what = "the method is not an HTTP method"
        case .invalidHeaderToken, .invalidConstant, .invalidChunkSize, .lfExpected:
            what = "a header holds a character that is not allowed (a NUL, CR or other control character)"
        case .invalidURL: what = "the request target is not a valid URL"
        case .invalidVersion: what = "the HTTP version is not valid"
        default: what = "it is not well-formed HTTP/1.1"
        }
        return "the request could not be read: \(what)"
    }
}
