import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// Connection limits of one listener: `[DEFAULT] client_header_timeout` seconds for a
/// connection to deliver a complete request head after it opens or after its last response
/// (a client sending a byte a second, or an idle kept-alive connection, is closed), and at most
/// `max_connections_per_client` connections open from one address.
public struct ConnectionLimits: Sendable {
    public static let headerTimeout = ConfigOption(
        "DEFAULT", "client_header_timeout", default: 75,
        help: "Seconds a connection may take to send a request head (also the keep-alive idle time).")
    public static let perClient = ConfigOption(
        "DEFAULT", "max_connections_per_client", default: 256,
        help: "Most connections one client address may hold open on one API port.")

    public var headerTimeout: TimeAmount
    public var perClient: Int

    /// 75 s: longer than AsyncHTTPClient's 60 s pool idle time, so the services' pooled
    /// connections to each other are closed by their client, never under a request being sent.
    public init(headerTimeout: TimeAmount = .seconds(75), perClient: Int = 256) {
        self.headerTimeout = headerTimeout
        self.perClient = perClient
    }

    public init(config: Config) {
        self.init(headerTimeout: .seconds(Int64(config[Self.headerTimeout])), perClient: config[Self.perClient])
    }
}

/// The open connections of one listener by client address.
final class ClientConnections: Sendable {
    private let counts = NIOLockedValueBox<[String: Int]>([:])
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts a new connection from `address`, or refuses it when the address has `limit` open.
    func open(_ address: String) -> Bool {
        counts.withLockedValue { counts in
            let open = counts[address, default: 0]
            guard open < limit else { return false }
            counts[address] = open + 1
            return true
        }
    }

    func close(_ address: String) {
        counts.withLockedValue { counts in
            let open = counts[address, default: 1] - 1
            counts[address] = open > 0 ? open : nil
        }
    }
}

/// Applies `ConnectionLimits` to one connection (after HTTP decoding, so it sees request heads
/// and response ends), and tells the connection's `OutboundBacklog` what the pipeline took.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let connections: ClientConnections
    private let headerTimeout: TimeAmount
    private var address: String?
    private var started = false
    private var deadline: Scheduled<Void>?
    private let backlog = OutboundBacklog()

    init(connections: ClientConnections, headerTimeout: TimeAmount) {
        self.connections = connections
        self.headerTimeout = headerTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        ConnectionBacklogs.register(backlog, for: context.channel)
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        ConnectionBacklogs.remove(context.channel)
        backlog.close()
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        backlog.close()
        if let address { connections.close(address) }
        address = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .body(let buffer): backlog.taken(buffer.readableBytes)
        case .end: arm(context)
        case .head: break
        }
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let remote = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard connections.open(remote) else {
            context.close(promise: nil)
            return
        }
        address = remote
        arm(context)
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: headerTimeout) { bound.value.close(promise: nil) }
    }
}
