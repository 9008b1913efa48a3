import Foundation
import Logging
import ServiceLifecycle

/// Keeps a process's token caches and revocation list in step with the others that share
/// its database (split deployments): once a second it compares the database's generation
/// with the last one seen, and on a change drops the caches and reloads revocations.
struct CoherenceWorker: Service {
    let api: IdentityAPI
    let logger: Logger
    var interval: Duration = .seconds(1)

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastSeen = -1
            while !Task.isCancelled {
                do {
                    try await api.sync(lastSeen: &lastSeen)
                } catch {
                    logger.warning("identity cache sync failed: \(error)")
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}

extension IdentityAPI {
    func sync(lastSeen: inout Int) async throws {
        guard try await store.syncGeneration(lastSeen: &lastSeen) else { return }
        try await store.read { db in try await tokens.reloadRevocations(in: db) }
    }
}
