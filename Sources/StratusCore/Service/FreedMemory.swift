import ServiceLifecycle
import Synchronization

#if canImport(CMalloc)
    import CMalloc
#endif

/// Gives the memory freed after large responses back to the system. glibc's malloc keeps what
/// is freed in its arenas for reuse, so one burst of large lists would leave a server at its
/// peak size for good (fewer arenas, `MALLOC_ARENA_MAX=2`, changed that by a few MiB only).
/// `malloc_trim` returns the free pages once a second passes without responses of `threshold`
/// bytes or more after one with them: not during a burst, where it took 5% of the throughput.
public final class FreedMemory: Sendable {
    public static let shared = FreedMemory()
    static let threshold = 256 << 10
    private let largeResponses = Atomic<Int>(0)

    /// Counts a response body of `bytes`.
    func noteResponse(bytes: Int) {
        guard bytes >= Self.threshold else { return }
        largeResponses.add(1, ordering: .relaxed)
    }

    /// The large responses counted since the last call.
    fileprivate func takeCount() -> Int { largeResponses.exchange(0, ordering: .relaxed) }

    static func trim() {
        #if canImport(CMalloc)
            _ = malloc_trim(0)
        #endif
    }
}

/// The once-a-second loop of `FreedMemory`, a service of every `ServiceHost`.
struct FreedMemoryTrimmer: Service {
    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var servedBefore = false
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                let served = FreedMemory.shared.takeCount() > 0
                if servedBefore && !served { FreedMemory.trim() }
                servedBefore = served
            }
        }
    }
}
