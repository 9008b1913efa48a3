import Synchronization

/// Writes of concurrent requests done together: while one transaction runs, the requests that
/// arrive wait, and the next transaction takes all of them (up to `limit`), so the database's
/// single writer runs one transaction per burst instead of one per request. The writer answers
/// each request of a batch, in order; one request's failure must not become the others'.
public final class WriteBatcher<Request: Sendable, Output: Sendable>: Sendable {
    public typealias Writer = @Sendable ([Request]) async -> [Result<Output, any Error>]

    private struct Waiting: Sendable {
        var request: Request
        var reply: CheckedContinuation<Output, any Error>
    }

    private struct Queue: Sendable {
        var waiting: [Waiting] = []
        var writing = false
    }

    public let limit: Int
    private let queue = Mutex(Queue())

    public init(limit: Int = 64) {
        self.limit = limit
    }

    /// Returns once `request` is written with the requests queued beside it, with its own answer.
    public func submit(_ request: Request, write: @escaping Writer) async throws -> Output {
        try await withCheckedThrowingContinuation { (reply: CheckedContinuation<Output, any Error>) in
            let lead = queue.withLock { queue in
                queue.waiting.append(Waiting(request: request, reply: reply))
                defer { queue.writing = true }
                return !queue.writing
            }
            if lead { Task { await self.drain(write) } }
        }
    }

    private func drain(_ write: Writer) async {
        while true {
            let batch = queue.withLock { queue in
                let batch = Array(queue.waiting.prefix(limit))
                queue.waiting.removeFirst(batch.count)
                if batch.isEmpty { queue.writing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let results = await write(batch.map(\.request))
            for (waiting, result) in zip(batch, results) { waiting.reply.resume(with: result) }
        }
    }
}
