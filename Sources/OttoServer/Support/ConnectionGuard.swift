import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import OttoContracts

/// Sits behind the HTTP decoder on every connection of the external API:
/// - installs `RequestDeadlines` at the front of the pipeline (a request must arrive whole, head within
///   `headTimeout`, head and body within `requestTimeout`; a slowloris sends a byte at a time and never finishes)
///   and `KeepAliveGuard` before the conversion to HTTP types (HTTP/1.0 and `Connection: close`);
/// - answers a request the HTTP parser rejects (a NUL or CR in a header, a head over 80 KiB, an unknown method)
///   with a 400 in the API's error shape, instead of Hummingbird's empty one, and closes the connection.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headTimeout: TimeAmount
    private let requestTimeout: TimeAmount
    /// A request was read whose response has not ended: a parser error now belongs to Hummingbird's handling.
    private var requestInFlight = false

    init(headTimeout: TimeAmount, requestTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.requestTimeout = requestTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        do {
            try pipeline.addHandler(
                RequestDeadlines(headTimeout: headTimeout, requestTimeout: requestTimeout), position: .first)
            let codec = try pipeline.handler(type: HTTP1ToHTTPServerCodec.self)
            try pipeline.addHandler(KeepAliveGuard(), position: .before(codec))
            try pipeline.addHandler(ClientPresence(), position: .first)
        } catch {
            // Without its deadlines a connection must not be served.
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { requestInFlight = true }
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

    /// What was wrong, without repeating any of the request (a header could hold a token).
    static func explain(_ error: HTTPParserError) -> String {
        let what: String
        switch error {
        case .headerOverflow: what = "the request head is larger than 80 KiB"
        case .invalidMethod: what = "the method is not an HTTP method"
        case .invalidChunkSize: what = "a chunk of the body is malformed"
        case .invalidHeaderToken, .invalidConstant, .lfExpected:
            what = "a header holds a character that is not allowed (a NUL, CR or other control character)"
        case .invalidURL: what = "the request target is not a valid URL"
        case .invalidVersion: what = "the HTTP version is not valid"
        default: what = "it is not well-formed HTTP/1.1"
        }
        return "the request could not be read: \(what)"
    }
}
