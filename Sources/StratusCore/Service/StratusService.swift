import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
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
    /// Whether the listener serves HTTPS when the cloud has a certificate (not the metadata
    /// service, which guests reach over plain HTTP).
    var servesTLS: Bool { get }
}

extension StratusService {
    public var workers: [any Service] { [] }
    public var servesTLS: Bool { true }
}

/// Runs several services, each on its own port, in one process until SIGTERM/SIGINT.
public struct ServiceHost {
    let services: [any StratusService]
    let bindHost: String
    let logger: Logger

    /// Where to list every route served (`<service> <port> <METHOD> <path>` a line), for tools
    /// such as the fuzz step that must reach all of them.
    let routesFile: String?
    let tls: ListenerTLS?
    let requestLimits: RequestLimits
    let connectionLimits: ConnectionLimits

    public init(
        services: [any StratusService], bindHost: String, tls: ListenerTLS? = nil,
        requestLimits: RequestLimits = .init(), connectionLimits: ConnectionLimits = .init(),
        routesFile: String? = nil,
        logger: Logger
    ) {
        self.services = services
        self.bindHost = bindHost
        self.tls = tls
        self.requestLimits = requestLimits
        self.connectionLimits = connectionLimits
        self.routesFile = routesFile
        self.logger = logger
    }

    public func run(onReady: @escaping @Sendable () async -> Void = {}) async throws {
        var runnables: [any Service] = []
        var routes: [String] = []
        for service in services {
            let router = service.makeRouter()
            routes += router.routes.map { "\(service.name) \(service.port) \($0.method) \($0.path)" }
            let app = Application(
                responder: LimitedResponder(base: router.buildResponder(), limits: requestLimits),
                server: try server(for: service),
                configuration: .init(
                    address: .hostname(bindHost, port: service.port), serverName: "stratus-\(service.name)"),
                onServerRunning: { _ in },
                logger: logger
            )
            runnables.append(app)
            runnables.append(contentsOf: service.workers)
        }
        if let routesFile {
            try FileManager.default.removeItemIfPresent(atPath: routesFile)
            _ = FileManager.default.createFile(atPath: routesFile, contents: Data(routes.joined(separator: "\n").utf8))
        }
        runnables.append(FreedMemoryTrimmer())
        runnables.append(ReadyNotifier(onReady: onReady))
        let group = ServiceGroup(
            configuration: .init(
                services: runnables.map { .init(service: NamedService($0)) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    /// HTTP/1, over TLS where the service serves it and the cloud has a certificate.
    private func server(for service: any StratusService) throws -> HTTPServerBuilder {
        let connections = ClientConnections(limit: connectionLimits.perClient)
        let timeout = connectionLimits.headerTimeout
        guard service.servesTLS, let configuration = try tls?.serverConfiguration(service: service.name) else {
            return .http1(
                configuration: .init(additionalChannelHandlers: [
                    ConnectionGuard(connections: connections, headerTimeout: timeout), ExpectContinueHandler(),
                ]))
        }
        let http = HTTP1Channel.Configuration(additionalChannelHandlers: [
            ConnectionGuard(connections: connections, headerTimeout: timeout), HTTPSSchemeHandler(),
            ExpectContinueHandler(),
        ])
        return try .tls(.http1(configuration: http), tlsConfiguration: configuration)
    }
}

/// A service as ServiceLifecycle logs it: by its type's name only. Its default description
/// would print every stored property at debug level, settings and secrets among them.
private struct NamedService: Service, CustomStringConvertible {
    let base: any Service
    let description: String

    init(_ base: any Service) {
        self.base = base
        self.description = String(describing: type(of: base))
    }

    func run() async throws {
        try await base.run()
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
