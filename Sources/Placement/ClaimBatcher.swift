import Synchronization

/// Claims of concurrent requests written together: while one transaction runs, the claims
/// that arrive wait, and the next transaction takes all of them (up to `limit` requests), so
/// the database's single writer runs one transaction per burst instead of one per claim.
final class ClaimBatcher: Sendable {
    typealias Group = [PlacementAPI.Claim]
    typealias Writer = @Sendable ([Group]) async -> [Result<Void, any Error>]

    private struct Waiting: Sendable {
        var claims: Group
        var reply: CheckedContinuation<Void, any Error>
    }

    private struct Queue: Sendable {
        var waiting: [Waiting] = []
        var writing = false
    }

    static let limit = 64
    private let queue = Mutex(Queue())

    /// Returns once `claims` are written with the groups queued beside them, or throws their
    /// own error; `write` answers each group of a batch in order.
    func submit(_ claims: Group, write: @escaping Writer) async throws {
        try await withCheckedThrowingContinuation { (reply: CheckedContinuation<Void, any Error>) in
            let lead = queue.withLock { queue in
                queue.waiting.append(Waiting(claims: claims, reply: reply))
                defer { queue.writing = true }
                return !queue.writing
            }
            if lead { Task { await self.drain(write) } }
        }
    }

    private func drain(_ write: Writer) async {
        while true {
            let batch = queue.withLock { queue in
                let batch = Array(queue.waiting.prefix(Self.limit))
                queue.waiting.removeFirst(batch.count)
                if batch.isEmpty { queue.writing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let results = await write(batch.map(\.claims))
            for (waiting, result) in zip(batch, results) { waiting.reply.resume(with: result) }
        }
    }
}
