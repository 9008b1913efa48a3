import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Marks every request that arrived over TLS as `https`: Hummingbird's HTTP/1 channel calls
/// every request `http`, and links in responses repeat the scheme the client used.
final class HTTPSSchemeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        head.scheme = "https"
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }
}
