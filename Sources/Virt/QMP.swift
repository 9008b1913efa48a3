import Foundation
import NIOCore
import NIOPosix
import StratusCore

/// Commands over a QEMU Machine Protocol socket, on SwiftNIO: connect, leave capability
/// negotiation, execute, answer the `return` member (events in between are kept for
/// `Session.event`). A QEMU that does not answer within `timeout` gets its connection closed.
enum QMP {
    static func execute(
        socket path: String, _ command: String, arguments: JSON? = nil, timeout: TimeAmount = .seconds(10)
    ) async throws -> JSON {
        try await session(socket: path, timeout: timeout) { try await $0.execute(command, arguments) }
    }

    /// `execute`, then the wait for QEMU's `event` whose `data` satisfies `matches`: a
    /// command such as `device_del` is answered at once, and done when the guest lets go.
    static func execute(
        socket path: String, _ command: String, arguments: JSON? = nil, awaiting event: String,
        where matches: @escaping @Sendable (JSON) -> Bool, timeout: TimeAmount = .seconds(30)
    ) async throws {
        try await session(socket: path, timeout: timeout) { session in
            try await session.execute(command, arguments)
            do {
                _ = try await session.event([event], where: matches)
            } catch {
                let seconds = timeout.nanoseconds / 1_000_000_000
                throw DriverError("QMP: no \(event) after \(command) within \(seconds) s")
            }
        }
    }

    /// Asks QEMU to quit and waits for its end: the socket closes when the process's files
    /// do (its disk locks with them). A QEMU still there after `grace` gets `forceKill`;
    /// false when even that did not end it within `timeout`.
    static func quit(
        socket path: String, grace: TimeAmount = .seconds(5), timeout: TimeAmount = .seconds(10),
        forceKill: @escaping @Sendable () -> Void
    ) async throws -> Bool {
        let channel = try await connect(path, timeout: timeout)
        let loop = channel.channel.eventLoop
        let killer = loop.scheduleTask(in: grace) { forceKill() }
        let deadline = loop.scheduleTask(in: timeout) { channel.channel.close(promise: nil) }
        defer {
            killer.cancel()
            deadline.cancel()
        }
        let start = NIODeadline.now()
        try await channel.executeThenClose { inbound, outbound in
            var lines = try await negotiated(inbound, outbound)
            try await outbound.write(line(["execute": "quit"]))
            while try await lines.next() != nil {}
        }
        return NIODeadline.now() - start < timeout
    }

    static func connect(_ path: String, timeout: TimeAmount) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw DriverError("QMP: cannot connect to \(path): \(error)")
        }
    }

    /// Past the greeting and capability negotiation: the lines that answer commands.
    static func negotiated(
        _ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws -> NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator {
        var lines = inbound.makeAsyncIterator()
        _ = try await next(&lines)
        try await outbound.write(line(["execute": "qmp_capabilities"]))
        var greetingEvents: [JSON] = []
        _ = try await reply(&lines, events: &greetingEvents)
        return lines
    }

    static func line(_ message: JSON) -> ByteBuffer { ByteBuffer(string: message.serialized() + "\n") }

    static func next(_ lines: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) async throws -> JSON {
        guard let line = try await lines.next() else { throw DriverError("QMP: the connection closed before an answer") }
        return try JSON.parse(String(buffer: line))
    }

    /// The answer to the command just sent: its `return`, or its `error` thrown; the events
    /// that came before it are added to `events`.
    static func reply(
        _ lines: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, events: inout [JSON]
    ) async throws -> JSON {
        while true {
            let message = try await next(&lines)
            if let error = message["error"] {
                throw DriverError("QMP: \(error["desc"]?.stringValue ?? error.serialized())")
            }
            if let value = message["return"] { return value }
            if message["event"] != nil { events.append(message) }
        }
    }

    /// QMP speaks one JSON document per line.
    struct LineDecoder: ByteToMessageDecoder {
        typealias InboundOut = ByteBuffer

        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return .needMoreData }
            let length = newline - buffer.readerIndex
            guard let line = buffer.readSlice(length: length) else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: 1)
            context.fireChannelRead(wrapInboundOut(line))
            return .continue
        }
    }
}
