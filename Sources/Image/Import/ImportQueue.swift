import Synchronization
import ServiceLifecycle

/// Background work the image API hands off: an import task, or filling the cache for an image.
enum ImageJob: Sendable {
    case task(String)
    case cache(imageID: String)
}

/// Jobs waiting to run. The API submits; `ImportRunner` runs them.
final class ImportQueue: Sendable {
    let stream: AsyncStream<ImageJob>
    private let continuation: AsyncStream<ImageJob>.Continuation

    /// Callers' tokens for tasks that act as the caller elsewhere (glance-download), kept in
    /// memory only: a task that outlives its process fails instead of storing a credential.
    private let tokens = Mutex<[String: String]>([:])

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: ImageJob.self)
    }

    func keepToken(_ token: String, for taskID: String) {
        tokens.withLock { $0[taskID] = token }
    }

    func takeToken(for taskID: String) -> String? {
        tokens.withLock { $0.removeValue(forKey: taskID) }
    }

    func submit(_ job: ImageJob) {
        continuation.yield(job)
    }
}

/// Runs queued jobs, several at once, until shutdown.
struct ImportRunner: Service {
    let api: ImageAPI

    func run() async throws {
        await withDiscardingTaskGroup { group in
            for await job in api.queue.stream.cancelOnGracefulShutdown() {
                switch job {
                case .task(let id): group.addTask { await api.runTask(id) }
                case .cache(let imageID): group.addTask { await api.fillCache(imageID) }
                }
            }
        }
    }
}
