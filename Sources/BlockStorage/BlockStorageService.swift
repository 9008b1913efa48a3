import Foundation
import Hummingbird
import Logging
import SQLKit
import ServiceLifecycle
import StratusCore

/// Block Storage options, `[block_storage]` in the config file; each backend named in
/// `enabled_backends` has a section of its own (`[file]`, `[lvm]`).
public enum BlockStorageOptions {
    public static let port = CoreOptions.port("block_storage", default: 8776)
    public static let host = ConfigOption(
        "block_storage", "host", default: "", help: "Name of this volume host (default: this machine's name).")
    public static let enabledBackends = ConfigOption(
        "block_storage", "enabled_backends", default: "file",
        help: "Backends this host serves, comma-separated; each is a config section.")
    public static let zone = ConfigOption(
        "block_storage", "storage_availability_zone", default: "nova",
        help: "Availability zone of this host's backends.")
    public static let serviceDownTime = ConfigOption(
        "block_storage", "service_down_time", default: 60,
        help: "Seconds without a heartbeat after which a service is down.")
    public static let backupEnabled = ConfigOption(
        "block_storage", "backup_enabled", default: true, help: "Run the backup service (posix driver) on this host.")
    public static let backupPath = ConfigOption(
        "block_storage", "backup_posix_path", default: "", help: "Directory of backups (default <data_dir>/backups).")
    public static let backupDriver = ConfigOption(
        "block_storage", "backup_driver", default: "posix",
        help: "Where backups go: posix (backup_posix_path) or swift (Object Storage).")
    public static let backupSwiftContainer = ConfigOption(
        "block_storage", "backup_swift_container", default: "volumebackups",
        help: "The Object Storage container of backups that name none (swift driver).")
    public static let backupCompression = ConfigOption(
        "block_storage", "backup_compression_algorithm", default: "zlib",
        help: "How backup chunks are compressed: zlib or none.")
    public static let backupChunkMB = ConfigOption(
        "block_storage", "backup_chunk_size_mb", default: 32, help: "Size of the chunks backups are kept in, MiB.")
    public static let reportInterval = ConfigOption(
        "block_storage", "report_interval", default: 10, help: "Seconds between volume services' capability reports.")

    /// Per-backend options, in the backend's own section.
    static func driver(_ backend: String) -> ConfigOption<String> {
        ConfigOption(backend, "volume_driver", default: backend == "lvm" ? "lvm" : "file", help: "file or lvm.")
    }
    static func backendName(_ backend: String) -> ConfigOption<String> {
        ConfigOption(
            backend, "volume_backend_name", default: backend, help: "Name volume types choose the backend by.")
    }
    static func volumesDir(_ backend: String) -> ConfigOption<String> {
        ConfigOption(
            backend, "volumes_dir", default: "",
            help: "Directory of the file driver (default <data_dir>/volumes/<backend>).")
    }
    static func volumeFormat(_ backend: String) -> ConfigOption<String> {
        ConfigOption(backend, "volume_format", default: "qcow2", help: "qcow2 (thin) or raw files.")
    }
    static func overSubscription(_ backend: String) -> ConfigOption<Double> {
        ConfigOption(
            backend, "max_over_subscription_ratio", default: 20.0, help: "Thin provisioning over-subscription.")
    }
    static func reserved(_ backend: String) -> ConfigOption<Int> {
        ConfigOption(backend, "reserved_percentage", default: 0, help: "Percent of the backend kept free.")
    }
}

/// Cinder v3: the API, the scheduler and one volume service per enabled backend, on one bus.
public final class BlockStorageService: StratusService {
    public let name = "block-storage"
    public let port: Int
    let api: BlockStorageAPI
    let scheduler: VolumeScheduler
    let managers: [VolumeManager]
    let validator: any TokenValidator
    let reportInterval: Int
    /// The scheduler and backup service of this process, for their heartbeats.
    let others: [(host: String, binary: String, zone: String)]
    let logger: Logger

    /// `objectStore`: Object Storage as the Block Storage service user, for the swift backup driver.
    public static func open(
        config: Config, dataDir: String, validator: any TokenValidator, bus: any BusTransport, images: any ImageClient,
        compute: (any ComputeClient)? = nil, objectStore: (any ObjectStoreClient)? = nil, logger: Logger
    ) async throws -> BlockStorageService {
        let db = try await Database.open(
            connection: CoreOptions.databaseURL(config, service: "block_storage", dataDir: dataDir), logger: logger)
        do {
            try await db.migrate(BlockStorageMigrations.all, logger: logger)
            _ = try await db.transaction { try await VolumeTypes.ensureDefault(in: $0) }
            let policy = try PolicyEngine(
                defaults: BlockStoragePolicies.defaults,
                overrides: PolicyEngine.loadOverrides(path: config[CoreOptions.policyFile]))
            let configuredHost = config[BlockStorageOptions.host]
            let host = configuredHost.isEmpty ? ProcessInfo.processInfo.hostName : configuredHost
            let zone = config[BlockStorageOptions.zone]
            let keys = try FixedKeyManager(config: config, dataDir: dataDir)
            var managers: [VolumeManager] = []
            for name in config[BlockStorageOptions.enabledBackends].split(separator: ",") {
                let backendName = name.trimmingCharacters(in: .whitespaces)
                guard !backendName.isEmpty else { continue }
                let backend = try makeBackend(backendName, host: host, zone: zone, config: config, dataDir: dataDir)
                managers.append(
                    VolumeManager(
                        db: db, backend: backend, bus: bus, images: images, compute: compute, keys: keys,
                        logger: logger))
            }
            let settings = BlockStorageSettings(defaultZone: zone)
            let scheduler = VolumeScheduler(
                db: db, bus: bus, serviceDownTime: TimeInterval(config[BlockStorageOptions.serviceDownTime]),
                logger: logger)
            var backupManager: BackupManager?
            if config[BlockStorageOptions.backupEnabled] {
                var root = config[BlockStorageOptions.backupPath]
                if root.isEmpty { root = "\(dataDir)/backups" }
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                let algorithm = config[BlockStorageOptions.backupCompression]
                guard let compression = BackupCompression(rawValue: algorithm) else {
                    throw VolumeDriverError("backup_compression_algorithm must be zlib or none, not \(algorithm)")
                }
                let chunkSize = config[BlockStorageOptions.backupChunkMB] << 20
                let target: any BackupTarget
                var defaultContainer = "backups"
                switch config[BlockStorageOptions.backupDriver] {
                case "posix":
                    target = PosixBackupTarget(root: root)
                case "swift":
                    guard let objectStore else {
                        throw VolumeDriverError("backup_driver swift needs Object Storage, and there is none")
                    }
                    target = SwiftBackupTarget(client: objectStore)
                    defaultContainer = config[BlockStorageOptions.backupSwiftContainer]
                case let other:
                    throw VolumeDriverError("backup_driver must be posix or swift, not \(other)")
                }
                backupManager = BackupManager(
                    db: db, host: host,
                    store: ChunkStore(target: target, chunkSize: chunkSize, compression: compression),
                    backends: Dictionary(uniqueKeysWithValues: managers.map { ($0.backend.host, $0.backend) }),
                    keys: keys, logger: logger, scratch: "\(root)/.scratch", defaultContainer: defaultContainer)
            }
            let api = BlockStorageAPI(
                db: db, policy: policy, bus: bus, images: images, settings: settings, scheduler: scheduler,
                backups: backupManager?.host, validator: validator, logger: logger)
            for manager in managers {
                try await manager.recover()
                try await manager.report()
                try await bus.listen(manager.handlers(), server: manager.backend.host)
            }
            try await bus.listen(scheduler.handlers(), server: host)
            var others = [(host: host, binary: ServiceRecord.schedulerBinary, zone: zone)]
            if let backupManager {
                others.append((host: host, binary: ServiceRecord.backupBinary, zone: zone))
                try await backupManager.recover()
                try await bus.listen(backupManager.handlers(), server: host)
            }
            let heartbeats = others
            try await db.transaction { db in
                for other in heartbeats {
                    try await ServiceRecord.heartbeat(
                        host: other.host, binary: other.binary, zone: other.zone, capabilities: nil, in: db)
                }
            }
            try await requeueUnscheduled(db: db, bus: bus)
            return BlockStorageService(
                api: api, scheduler: scheduler, managers: managers, port: config[BlockStorageOptions.port],
                validator: validator, reportInterval: config[BlockStorageOptions.reportInterval], others: others,
                logger: logger)
        } catch {
            await db.close()
            throw error
        }
    }

    static func makeBackend(
        _ name: String, host: String, zone: String, config: Config, dataDir: String
    ) throws -> Backend {
        let driverName = config[BlockStorageOptions.driver(name)]
        var directory = config[BlockStorageOptions.volumesDir(name)]
        if directory.isEmpty { directory = "\(dataDir)/volumes/\(name)" }
        let driver: any VolumeDriver
        switch driverName {
        case "file":
            driver = try FileVolumeDriver(directory: directory, format: config[BlockStorageOptions.volumeFormat(name)])
        default:
            throw VolumeDriverError("[\(name)] volume_driver: unknown driver \(driverName) (file)")
        }
        return Backend(
            name: name, backendName: config[BlockStorageOptions.backendName(name)], host: "\(host)@\(name)",
            zone: zone,
            driver: driver, maxOverSubscriptionRatio: config[BlockStorageOptions.overSubscription(name)],
            reservedPercentage: config[BlockStorageOptions.reserved(name)], scratchDirectory: directory)
    }

    /// Volumes the API recorded but no scheduler placed before a stop go to the scheduler again.
    static func requeueUnscheduled(db: Database, bus: any BusTransport) async throws {
        let waiting = try await db.read { db in
            try await Volume.select(where: "status = \(bind: VolumeStatus.creating.rawValue) AND host IS NULL", in: db)
        }
        for volume in waiting {
            try await bus.cast(SchedulerRPC.createVolume, ScheduleVolumeArgs(volumeID: volume.id))
        }
    }

    init(
        api: BlockStorageAPI, scheduler: VolumeScheduler, managers: [VolumeManager], port: Int,
        validator: any TokenValidator, reportInterval: Int, others: [(host: String, binary: String, zone: String)],
        logger: Logger
    ) {
        self.api = api
        self.scheduler = scheduler
        self.managers = managers
        self.port = port
        self.validator = validator
        self.reportInterval = reportInterval
        self.others = others
        self.logger = logger
    }

    public var workers: [any Service] {
        [CapabilityReporter(db: api.db, managers: managers, others: others, interval: reportInterval, logger: logger)]
    }

    public func makeRouter() -> Router<StratusContext> {
        let router = Router(context: StratusContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: FaultMiddleware(style: .compute))
        router.add(middleware: AuthMiddleware(validator: validator))
        api.register(on: router)
        return router
    }

    public func close() async { await api.db.close() }
}

/// Each volume service's heartbeat and capability report, and the scheduler's and backup
/// service's heartbeats, every `interval` seconds.
struct CapabilityReporter: Service {
    let db: Database
    let managers: [VolumeManager]
    /// The other services of this process: (host, binary, zone).
    let others: [(host: String, binary: String, zone: String)]
    let interval: Int
    let logger: Logger

    func run() async throws {
        // Cancellation (the process stopping) ends the loop: nothing to report then.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                for manager in managers {
                    await logger.bestEffort("reporting \(manager.backend.host)") { try await manager.report() }
                }
                for other in others {
                    await logger.bestEffort("the heartbeat of \(other.binary)") {
                        try await db.transaction { db in
                            try await ServiceRecord.heartbeat(
                                host: other.host, binary: other.binary, zone: other.zone, capabilities: nil, in: db)
                        }
                    }
                }
            }
        }
    }
}
