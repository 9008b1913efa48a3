import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// How far a response body's producer is ahead of its connection's event loop. NIO's async
/// writer stops a producer only when the socket is full; when the event loop itself is the
/// bottleneck (encrypting TLS), every chunk a fast producer yields waits as a task on the loop,
/// and a large download would hold hundreds of megabytes. Response bodies therefore wait here
/// while more than `limit` bytes are yielded but not yet taken by the connection's pipeline.
public final class OutboundBacklog: Sendable {
    private struct State {
        var ahead = 0
        var closed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())
    static let limit = 1 << 20
    var limit: Int { Self.limit }

    /// Whether `body` may be long enough to pace (small known bodies never are).
    static func needsPacing(_ body: ResponseBody) -> Bool {
        guard let length = body.contentLength else { return true }
        return length > limit
    }

    /// Waits until the connection has room, then counts `bytes` as yielded.
    func reserve(_ bytes: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { state in
                guard !state.closed, state.ahead > limit else { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
        state.withLockedValue { $0.ahead += bytes }
    }

    /// The pipeline took `bytes` of a body; waiters go on below half the limit.
    func taken(_ bytes: Int) {
        let ready = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.ahead -= bytes
            guard state.ahead <= limit / 2 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in ready { waiter.resume() }
    }

    /// The connection is gone: nobody waits any more (their next write fails).
    func close() {
        let waiting = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiting { waiter.resume() }
    }

    /// `body`, writing each buffer only when the connection has room for it, with its length
    /// kept (Hummingbird's `map` forgets it: the response would go chunked).
    func pace(_ body: ResponseBody) -> ResponseBody {
        ResponseBody(contentLength: body.contentLength) { [self] writer in
            try await body.write(
                writer.map { buffer in
                    await self.reserve(buffer.readableBytes)
                    return buffer
                })
        }
    }
}

/// The backlog of each open connection, for the requests that arrive on it.
enum ConnectionBacklogs {
    private static let open = NIOLockedValueBox<[ObjectIdentifier: OutboundBacklog]>([:])

    static func register(_ backlog: OutboundBacklog, for channel: any Channel) {
        open.withLockedValue { $0[ObjectIdentifier(channel)] = backlog }
    }

    static func remove(_ channel: any Channel) {
        open.withLockedValue { $0[ObjectIdentifier(channel)] = nil }
    }

    static func backlog(of connection: ObjectIdentifier) -> OutboundBacklog? {
        open.withLockedValue { $0[connection] }
    }
}
