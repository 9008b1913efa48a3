import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StratusCore

/// Object Storage options, `[object_storage]` in the config file.
public enum ObjectStorageOptions {
    public static let port = CoreOptions.port("object_storage", default: 8080)
    public static let devices = ConfigOption(
        "object_storage", "devices", default: "",
        help: "Devices holding objects, comma-separated path[:zone[:weight]] (default <data_dir>/objects/d0).")
    public static let replicas = ConfigOption(
        "object_storage", "replicas", default: 3, help: "Copies of each object (fewer when there are fewer devices).")
    public static let partPower = ConfigOption(
        "object_storage", "part_power", default: 10, help: "The ring has 2^part_power partitions.")
    public static let expirerInterval = ConfigOption(
        "object_storage", "expirer_interval", default: 30, help: "Seconds between passes removing expired objects.")
    public static let replicatorInterval = ConfigOption(
        "object_storage", "replicator_interval", default: 60,
        help: "Seconds between replication passes (0: none).")
    public static let auditorInterval = ConfigOption(
        "object_storage", "auditor_interval", default: 3600, help: "Seconds between audit passes (0: none).")
    public static let auditorRate = ConfigOption(
        "object_storage", "auditor_bytes_per_second", default: 10_485_760,
        help: "How fast the auditor reads objects (0: unpaced).")
    public static let operatorRoles = ConfigOption(
        "object_storage", "operator_roles", default: "admin,member,swiftoperator",
        help: "Roles that own a project's account, comma-separated.")
    public static let resellerAdminRole = ConfigOption(
        "object_storage", "reseller_admin_role", default: "ResellerAdmin",
        help: "The role that reaches every account and sets account quotas.")
}

/// Swift v1 on port 8080 (and S3 on the same port, for paths outside `/v1/`): the proxy API
/// over the ring's devices, listings in the database.
public final class ObjectStorageService: StratusService {
    public let name = "object-storage"
    public let port: Int
    let api: SwiftAPI
    let s3: S3API?
    let db: Database
    let validator: any TokenValidator
    let passes: Passes

    /// Seconds between the background passes, and the auditor's pace.
    struct Passes: Sendable {
        var expirer: Int
        var replicator: Int
        var auditor: Int
        var auditorBytesPerSecond: Int64
    }

    /// `s3Credentials`: Identity's check of EC2-signed requests; without it there is no S3 API.
    public static func open(
        config: Config, dataDir: String, validator: any TokenValidator,
        s3Credentials: (any S3CredentialVerifier)? = nil, logger: Logger
    ) async throws -> ObjectStorageService {
        let ring = try RingFile(path: "\(dataDir)/object.ring.json").load(
            devices: try devices(config[ObjectStorageOptions.devices], dataDir: dataDir),
            builder: RingBuilder(
                partPower: config[ObjectStorageOptions.partPower], replicas: config[ObjectStorageOptions.replicas]))
        for device in ring.devices {
            try FileManager.default.createDirectory(atPath: device.path, withIntermediateDirectories: true)
        }
        // Listings read beside the writer (`Database.snapshot`).
        let db = try await Database.open(
            connection: CoreOptions.databaseURL(config, service: "object_storage", dataDir: dataDir), readers: 4,
            logger: logger)
        do {
            try await db.migrate(ObjectStorageMigrations.all, logger: logger)
        } catch {
            await db.close()
            throw error
        }
        let access = AccessControl(
            operatorRoles: config[ObjectStorageOptions.operatorRoles].split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) },
            resellerRole: config[ObjectStorageOptions.resellerAdminRole])
        let api = SwiftAPI(
            listings: ListingStore(db: db), replicas: ObjectReplicas(ring: ring, logger: logger), access: access,
            settings: SwiftSettings(), logger: logger)
        return ObjectStorageService(
            api: api, s3: s3Credentials.map { S3API(swift: api, credentials: $0) }, db: db,
            port: config[ObjectStorageOptions.port], validator: validator,
            passes: Passes(
                expirer: config[ObjectStorageOptions.expirerInterval],
                replicator: config[ObjectStorageOptions.replicatorInterval],
                auditor: config[ObjectStorageOptions.auditorInterval],
                auditorBytesPerSecond: Int64(config[ObjectStorageOptions.auditorRate])))
    }

    /// `path[:zone[:weight]]` entries; one device under the data directory when none are configured.
    static func devices(_ text: String, dataDir: String) throws -> [Ring.Device] {
        let entries = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !entries.isEmpty else { return [Ring.Device(id: 0, zone: 0, weight: 1, path: "\(dataDir)/objects/d0")] }
        return try entries.enumerated().map { index, entry in
            let parts = entry.split(separator: ":").map(String.init)
            guard let path = parts.first, path.hasPrefix("/"), parts.count <= 3,
                let zone = parts.count > 1 ? Int(parts[1]) : index,
                let weight = parts.count > 2 ? Double(parts[2]) : 1
            else { throw ConfigError(message: "[object_storage] devices: '\(entry)' is not /path[:zone[:weight]]") }
            return Ring.Device(id: index, zone: zone, weight: weight, path: path)
        }
    }

    init(api: SwiftAPI, s3: S3API?, db: Database, port: Int, validator: any TokenValidator, passes: Passes) {
        self.api = api
        self.s3 = s3
        self.db = db
        self.port = port
        self.validator = validator
        self.passes = passes
    }

    public var workers: [any Service] {
        let api = api
        let replicator = Replicator(replicas: api.replicas)
        let auditor = Auditor(
            disks: Array(api.replicas.disks.values), bytesPerSecond: passes.auditorBytesPerSecond, logger: api.logger)
        return [
            PeriodicPass(name: "expirer", interval: passes.expirer, logger: api.logger) {
                try await api.removeExpired(
                    try await api.listings.expired(before: Date().timeIntervalSince1970, limit: 1000))
            },
            PeriodicPass(name: "replicator", interval: passes.replicator, logger: api.logger) {
                _ = try await replicator.pass()
            },
            PeriodicPass(name: "auditor", interval: passes.auditor, logger: api.logger) {
                _ = try await auditor.pass()
            },
        ]
    }

    public func makeRouter() -> Router<StratusContext> {
        let router = Router(context: StratusContext.self)
        router.add(middleware: SwiftResponseMiddleware())
        router.add(middleware: AuthMiddleware(validator: validator))
        api.register(on: router)
        s3?.register(on: router)
        return router
    }

    public func close() async { await db.close() }
}

/// One of the service's background passes (expirer, replicator, auditor), every `interval` seconds.
struct PeriodicPass: Service {
    let name: String
    let interval: Int
    let logger: Logger
    let work: @Sendable () async throws -> Void

    func run() async throws {
        // A service group stops when one of its services returns: a pass turned off waits too.
        guard interval > 0 else { return try await gracefulShutdown() }
        // Cancellation (the process stopping) ends the loop: nothing left to do then.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                await logger.bestEffort("the \(name) pass") { try await work() }
            }
        }
    }
}

extension SwiftAPI {
    /// Removes objects past their `X-Delete-At`.
    func removeExpired(_ due: [(account: String, container: String, entry: ObjectEntry)]) async throws {
        for (account, container, entry) in due {
            let location = replicas.locate(account: account, container: container, object: entry.name)
            switch await replicas.newest(location).state {
            case .object(let metadata, _, _) where metadata.timestamp == entry.timestamp:
                try await remove(account, container, entry.name)
            case .object(let metadata, _, _) where metadata.timestamp > entry.timestamp:
                continue  // a newer write owns the name now
            default:
                // Gone from the disks already: only the row is left (a timestamp just above its own).
                try await listings.removeObject(account, container, entry.name, timestamp: entry.timestamp + "0")
            }
        }
    }
}
