import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import SQLKit
import StratusCore
import Virt

/// Nova v2.1: the API, conductor, scheduler and compute hosts of one process.
public final class ComputeService: StratusService {
    public let name = "compute"
    public let port: Int
    let api: ComputeAPI
    let validator: any TokenValidator
    let hostWorkers: [HostWorker]
    let conductor: Conductor
    public let metadata: MetadataService

    /// Opens (and migrates) the database, then starts the conductor, the scheduler and the
    /// compute hosts on `bus`. Compute reaches Placement, Network and Image through the
    /// catalog as the service user of `serviceAuth`.
    /// Whether the local compute host runs real guests (QEMU), as `[compute] driver` and
    /// `fake_hosts` decide: what the Network service's `auto` dataplane wires.
    public static func runsLocalGuests(config: Config, dataDir: String) -> Bool {
        ComputeSettings(config: config, dataDir: dataDir).usesQemu
    }

    public static func open(
        config: Config, dataDir: String, validator: any TokenValidator, bus: any BusTransport, serviceAuth: ServiceAuth, logger: Logger,
        driverFactory: (@Sendable (String) -> any HypervisorDriver)? = nil
    ) async throws -> ComputeService {
        try await open(
            config: config, dataDir: dataDir, validator: validator, bus: bus, clients: ServiceClients(auth: serviceAuth), logger: logger,
            driverFactory: driverFactory)
    }

    /// `open` with the peers' clients given (in-process fakes in tests).
    static func open(
        config: Config, dataDir: String, validator: any TokenValidator, bus: any BusTransport, clients: ServiceClients, logger: Logger,
        driverFactory: (@Sendable (String) -> any HypervisorDriver)? = nil
    ) async throws -> ComputeService {
        let connection = CoreOptions.databaseURL(config, service: "compute", dataDir: dataDir)
        let db = try await Database.open(connection: connection, logger: logger)
        do {
            try await db.migrate(ComputeMigrations.all, logger: logger)
            var settings = ComputeSettings(config: config, dataDir: dataDir)
            if settings.metadataSecret.isEmpty {
                settings.metadataSecret = try DataDirSecret.load("\(dataDir)/metadata-secret", bytes: 32)
            }
            let policy = try PolicyEngine(defaults: ComputePolicies.defaults, overrides: PolicyEngine.loadOverrides(path: config[CoreOptions.policyFile]))
            let instances = InstanceStore(db: db, notifications: bus)
            let actions = InstanceActions(db: db)
            let api = ComputeAPI(
                db: db, instances: instances, policy: policy, settings: settings, bus: bus, clients: clients, actions: actions, logger: logger)
            let conductor = Conductor(instances: instances, actions: actions, bus: bus, clients: clients, settings: settings, logger: logger)
            try await conductor.listen()
            try await Scheduler(db: db, bus: bus, clients: clients, settings: settings, logger: logger).listen()
            let records = ServiceRecords(db: db, settings: settings)
            for binary in ["nova-conductor", "nova-scheduler"] { try await records.heartbeat(host: settings.host, binary: binary) }
            let cache = ImageCache(directory: "\(dataDir)/compute/_base", clients: clients, logger: logger)
            let events = EventWaiter()
            if settings.fakeHosts == 0, driverFactory == nil {
                logger.info("compute host \(settings.host) runs guests with the \(settings.usesQemu ? "qemu" : "fake") driver")
            }
            var workers: [HostWorker] = []
            for host in settings.hostNames {
                let driver: any HypervisorDriver
                if let driverFactory {
                    driver = driverFactory(host)
                } else if settings.usesQemu {
                    driver = QemuDriver(
                        directory: "\(dataDir)/compute/instances", virtType: settings.virtType,
                        keys: try FixedKeyManager(config: config, dataDir: dataDir), logger: logger)
                } else {
                    driver = FakeDriver()
                }
                let manager = ComputeManager(
                    host: host, driver: driver, db: db, instances: instances, actions: actions, bus: bus, clients: clients, cache: cache,
                    events: events, settings: settings, waitsForNetwork: settings.fakeHosts == 0, logger: logger)
                let worker = HostWorker(
                    manager: manager, tracker: ResourceTracker(host: host, driver: driver, records: records, clients: clients, settings: settings, logger: logger),
                    records: records)
                try await worker.start()
                workers.append(worker)
            }
            let metadata = MetadataService(db: db, instances: instances, clients: clients, settings: settings, port: config[ComputeOptions.metadataPort], logger: logger)
            return ComputeService(api: api, port: config[ComputeOptions.port], validator: validator, hostWorkers: workers, conductor: conductor, metadata: metadata)
        } catch {
            await db.close()
            throw error
        }
    }

    init(api: ComputeAPI, port: Int, validator: any TokenValidator, hostWorkers: [HostWorker], conductor: Conductor, metadata: MetadataService) {
        self.api = api
        self.port = port
        self.validator = validator
        self.hostWorkers = hostWorkers
        self.conductor = conductor
        self.metadata = metadata
    }

    public var workers: [any Service] {
        hostWorkers.map { $0 as any Service } + [HeartbeatWorker(service: self, records: api.records, host: api.settings.host, interval: api.settings.reportInterval)]
    }

    public func makeRouter() -> Router<StratusContext> {
        let router = Router(context: StratusContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ComputeRequestIDMiddleware())
        router.add(middleware: FaultMiddleware(style: .compute))
        router.add(middleware: AuthMiddleware(validator: validator))
        api.register(on: router)
        return router
    }

    let startedAt = Date()

    /// Builds the API accepted whose scheduling a restart interrupted start over (those a
    /// host's recovery requeued since this process started are already on their way).
    func resumeScheduling() async {
        let before = startedAt.timeIntervalSince1970
        let waiting = await api.logger.bestEffort("reading the builds to resume") {
            try await api.db.read { db in
                try await self.api.instances.select(
                    where: """
                        vm_state = \(bind: VMState.building.rawValue) AND host IS NULL AND deleted = \(bind: false) \
                        AND updated_at < \(bind: before)
                        """, in: db)
            }
        } ?? []
        for instance in waiting {
            await ComputeCleanup(clients: api.clients, instances: api.instances, logger: api.logger).releaseAllocation(instance.uuid)
            if instance.taskState == .deleting {
                await api.logger.bestEffort("finishing the delete of \(instance.uuid)") {
                    try await ComputeCleanup(clients: api.clients, instances: api.instances, logger: api.logger).finishDelete(instance.uuid)
                }
                continue
            }
            Task { await self.conductor.schedule(instance.uuid) }
        }
    }

    /// DevStack's flavors, created once.
    public func bootstrap() async throws {
        try await api.db.transaction { db in
            for flavor in Flavor.defaults where try await Flavor.get(flavor.id, in: db) == nil {
                let named = try await db.select().column("flavorid").from("flavors").where("name", .equal, SQLBind(flavor.name)).first()
                if named == nil { try await flavor.insert(in: db) }
            }
        }
    }

    public func close() async {
        await api.db.close()
    }
}

/// Nova also names the request id `X-Compute-Request-Id`.
struct ComputeRequestIDMiddleware: RouterMiddleware {
    typealias Context = StratusContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.computeRequestID] = context.requestID
        return response
    }
}

/// Resumes interrupted scheduling once the services answer, then keeps the conductor's
/// and scheduler's heartbeats.
struct HeartbeatWorker: Service {
    let service: ComputeService
    let records: ServiceRecords
    let host: String
    let interval: Int

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            try await Task.sleep(for: .seconds(2))
            await service.resumeScheduling()
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                for binary in ["nova-conductor", "nova-scheduler"] {
                    await service.api.logger.bestEffort("the heartbeat of \(binary) on \(host)") {
                        try await records.heartbeat(host: host, binary: binary)
                    }
                }
            }
        }
    }
}
