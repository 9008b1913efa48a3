import Hummingbird
import Logging
import ServiceLifecycle

/// What a service module (Identity, Compute, ...) gives the executable: its HTTP API and
/// the background work it needs. The executable decides which services run in a process.
public protocol StratusService: Sendable {
    /// The config section and catalog name, e.g. `identity`.
    var name: String { get }
    var port: Int { get }
    func makeRouter() -> Router<StratusContext>
    /// Long-running workers (RPC servers, periodic reconcilers).
    var workers: [any Service] { get }
}

extension StratusService {
    public var workers: [any Service] { [] }
}

/// Runs several services, each on its own port, in one process until SIGTERM/SIGINT.
public struct ServiceHost {
    let services: [any StratusService]
    let bindHost: String
    let logger: Logger

    public init(services: [any StratusService], bindHost: String, logger: Logger) {
        self.services = services
        self.bindHost = bindHost
        self.logger = logger
    }

    public func run(onReady: @escaping @Sendable () async -> Void = {}) async throws {
        var runnables: [any Service] = []
        for service in services {
            let app = Application(
                router: service.makeRouter(),
                server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])),
                configuration: .init(address: .hostname(bindHost, port: service.port), serverName: "stratus-\(service.name)"),
                onServerRunning: { _ in },
                logger: logger
            )
            runnables.append(app)
            runnables.append(contentsOf: service.workers)
        }
        runnables.append(ReadyNotifier(onReady: onReady))
        let group = ServiceGroup(
            configuration: .init(services: runnables.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Calls `onReady` once, then waits for shutdown.
private struct ReadyNotifier: Service {
    let onReady: @Sendable () async -> Void

    func run() async throws {
        await onReady()
        try? await gracefulShutdown()
    }
}
