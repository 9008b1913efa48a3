import Foundation
import NIOCore
import NIOPosix
import StratusCore

/// Several commands and the events between them over one QMP connection (a block job's
/// life: its start, the events it sends while it runs, the commands that end it). One
/// connection, because QEMU's monitor takes one client at a time and events reach only the
/// client connected when they happen.
extension QMP {
    struct Session {
        var lines: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        /// Events that came while a command's answer was awaited.
        var events: [JSON] = []

        /// Runs `command` and answers its `return`; its `error` is thrown.
        @discardableResult
        mutating func execute(_ command: String, _ arguments: JSON? = nil) async throws -> JSON {
            var message: [String: JSON] = ["execute": .string(command)]
            if let arguments { message["arguments"] = arguments }
            try await outbound.write(QMP.line(.object(message)))
            return try await QMP.reply(&lines, events: &events)
        }

        /// The next event named one of `names` whose data satisfies `matches`: its name and data.
        mutating func event(
            _ names: Set<String>, where matches: (JSON) -> Bool
        ) async throws -> (name: String, data: JSON) {
            func wanted(_ message: JSON) -> Bool {
                names.contains(message["event"]?.stringValue ?? "") && matches(message["data"] ?? .null)
            }
            if let index = events.firstIndex(where: wanted) {
                let message = events.remove(at: index)
                return (message["event"]?.stringValue ?? "", message["data"] ?? .null)
            }
            while true {
                let message = try await QMP.next(&lines)
                if wanted(message) { return (message["event"]?.stringValue ?? "", message["data"] ?? .null) }
            }
        }
    }

    /// Runs `body` on one negotiated connection, closed after `timeout` whatever it does.
    static func session<T: Sendable>(
        socket path: String, timeout: TimeAmount, _ body: @Sendable (inout Session) async throws -> T
    ) async throws -> T {
        let channel = try await connect(path, timeout: timeout)
        let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            var session = Session(lines: try await negotiated(inbound, outbound), outbound: outbound)
            return try await body(&session)
        }
    }

    /// Mirrors one block node onto another and pivots the device onto the copy
    /// (`blockdev-mirror` with `mirror`'s arguments, `BLOCK_JOB_READY`, `block-job-complete`,
    /// `BLOCK_JOB_COMPLETED`). A job that fails or does not finish in `timeout` is cancelled
    /// and the device stays on its old node.
    static func mirror(socket path: String, _ arguments: JSON, timeout: TimeAmount = .minutes(30)) async throws {
        let job = arguments["job-id"]?.stringValue ?? ""
        let ofJob: @Sendable (JSON) -> Bool = { $0["device"]?.stringValue == job }
        try await session(socket: path, timeout: timeout) { session in
            try await session.execute("blockdev-mirror", arguments)
            do {
                let ready = try await session.event(["BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED"], where: ofJob)
                if ready.name == "BLOCK_JOB_COMPLETED" {
                    throw DriverError("mirror \(job) ended before it was ready: \(ready.data.serialized())")
                }
                try await session.execute("block-job-complete", ["device": .string(job)])
                let done = try await session.event(["BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED"], where: ofJob)
                if done.name == "BLOCK_JOB_CANCELLED" || done.data["error"] != nil {
                    throw DriverError("mirror \(job) failed: \(done.data.serialized())")
                }
            } catch {
                // A job that ended in error is gone already: its cancel has nothing to find.
                _ = try? await session.execute("block-job-cancel", ["device": .string(job), "force": true])
                throw error
            }
        }
    }
}
