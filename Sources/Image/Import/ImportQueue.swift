import Synchronization
import ServiceLifecycle

/// Task ids waiting to run. The API submits; `ImportRunner` runs them.
final class ImportQueue: Sendable {
    let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    /// Callers' tokens for tasks that act as the caller elsewhere (glance-download), kept in
    /// memory only: a task that outlives its process fails instead of storing a credential.
    private let tokens = Mutex<[String: String]>([:])

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: String.self)
    }

    func keepToken(_ token: String, for taskID: String) {
        tokens.withLock { $0[taskID] = token }
    }

    func takeToken(for taskID: String) -> String? {
        tokens.withLock { $0.removeValue(forKey: taskID) }
    }

    func submit(_ taskID: String) {
        continuation.yield(taskID)
    }
}

/// Runs queued import tasks, several at once, until shutdown.
struct ImportRunner: Service {
    let api: ImageAPI

    func run() async throws {
        await withDiscardingTaskGroup { group in
            for await taskID in api.queue.stream.cancelOnGracefulShutdown() {
                group.addTask { await api.runTask(taskID) }
            }
        }
    }
}
