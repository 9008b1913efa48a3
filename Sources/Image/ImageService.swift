import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import StratusCore

/// Image options, `[image]` in the config file.
public enum ImageOptions {
    public static let port = CoreOptions.port("image", default: 9292)
    public static let enabledBackends = ConfigOption(
        "image", "enabled_backends", default: "file:file",
        help: "Stores as id:type pairs, comma-separated (type: file). The first is the default unless default_backend says otherwise.")
    public static let defaultBackend = ConfigOption(
        "image", "default_backend", default: "", help: "Store id new image data goes to (default: the first enabled backend).")
    public static let storeWeights = ConfigOption(
        "image", "store_weights", default: "", help: "Store weights as id:weight pairs; images list heavier stores first.")
    public static let showMultipleLocations = ConfigOption(
        "image", "show_multiple_locations", default: false, help: "Show where image data is stored (file paths) in image details.")
    public static let dataDir = ConfigOption(
        "image", "filesystem_store_datadir", default: "", help: "Directory of the file stores, one subdirectory per store (default <data_dir>/images).")
    public static let imageSizeCap = ConfigOption(
        "image", "image_size_cap", default: 1_099_511_627_776, help: "Largest image in bytes.")
    public static let userStorageQuota = ConfigOption(
        "image", "user_storage_quota", default: 0, help: "Bytes of image data one project may keep (0: unlimited).")
    public static let limitDefault = ConfigOption(
        "image", "limit_param_default", default: 25, help: "Page size of image lists when the client gives no limit.")
    public static let limitMax = ConfigOption(
        "image", "api_limit_max", default: 1000, help: "Largest page size of image lists.")
    public static let memberQuota = ConfigOption("image", "image_member_quota", default: 128, help: "Members per image.")
    public static let tagQuota = ConfigOption("image", "image_tag_quota", default: 128, help: "Tags per image.")
    public static let propertyQuota = ConfigOption("image", "image_property_quota", default: 128, help: "Extra properties per image.")
    public static let importMethods = ConfigOption(
        "image", "enabled_import_methods", default: "glance-direct,web-download,copy-image,glance-download", help: "Interoperable import methods offered.")
    public static let requireFormatMatch = ConfigOption(
        "image", "require_image_format_match", default: true,
        help: "Refuse image data whose format differs from its disk_format (unsafe images are refused always).")
    public static let allowedPorts = ConfigOption(
        "image", "web_download_allowed_ports", default: "80,443", help: "Ports web-download may fetch from (empty: any).")
}

/// Glance v2: the service entry the executable runs.
public final class ImageService: StratusService {
    public let name = "image"
    public let port: Int
    let api: ImageAPI
    let logger: Logger

    /// Opens the database (migrating it) and the stores, and repairs uploads a crash cut off.
    /// `identityURL` (ending in /v3) is where glance-download finds other Image services.
    /// `objectStore`: Object Storage for `swift` stores, as the Image service user.
    public static func open(
        config: Config, dataDir: String, validator: any TokenValidator, identityURL: String,
        objectStore: (any ObjectStoreClient)? = nil, logger: Logger
    ) async throws -> ImageService {
        let connection = CoreOptions.databaseURL(config, service: "image", dataDir: dataDir)
        let db = try await Database.open(connection: connection, logger: logger)
        do {
            try await db.migrate(ImageMigrations.all, logger: logger)
            var storeDir = config[ImageOptions.dataDir]
            if storeDir.isEmpty { storeDir = "\(dataDir)/images" }
            let stores = try StoreSet.parse(
                config[ImageOptions.enabledBackends], defaultID: config[ImageOptions.defaultBackend],
                weights: config[ImageOptions.storeWeights], directory: storeDir, objectStore: objectStore)
            let policy = try PolicyEngine(
                defaults: ImagePolicies.defaults.merging(MetadefPolicies.defaults) { own, _ in own }, overrides: PolicyEngine.loadOverrides(path: config[CoreOptions.policyFile]))
            let limits = ImageLimits(
                sizeCap: Int64(config[ImageOptions.imageSizeCap]), userStorageQuota: Int64(config[ImageOptions.userStorageQuota]),
                pageDefault: config[ImageOptions.limitDefault], pageMax: config[ImageOptions.limitMax],
                members: config[ImageOptions.memberQuota], tags: config[ImageOptions.tagQuota], properties: config[ImageOptions.propertyQuota])
            let methods = config[ImageOptions.importMethods].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            let ports = config[ImageOptions.allowedPorts].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            var api = ImageAPI(
                db: db, policy: policy, stores: stores, staging: try FileStore(id: "staging", directory: "\(storeDir)/staging"),
                cache: try FileStore(id: "cache", directory: "\(storeDir)/cache"),
                limits: limits, importMethods: methods, allowedPorts: ports, identityURL: identityURL, logger: logger)
            api.showLocations = config[ImageOptions.showMultipleLocations]
            api.formats.requireMatch = config[ImageOptions.requireFormatMatch]
            try await api.recoverInterruptedWork()
            return ImageService(api: api, port: config[ImageOptions.port], validator: validator, logger: logger)
        } catch {
            await db.close()  // a half-opened service closes its database: SQLite asserts otherwise
            throw error
        }
    }

    let validator: any TokenValidator

    init(api: ImageAPI, port: Int, validator: any TokenValidator, logger: Logger) {
        self.api = api
        self.port = port
        self.validator = validator
        self.logger = logger
    }

    public var workers: [any Service] { [ImportRunner(api: api)] }

    public func makeRouter() -> Router<StratusContext> {
        let router = Router(context: StratusContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: FaultMiddleware(style: .plain))
        router.add(middleware: AuthMiddleware(validator: validator))
        api.register(on: router)
        return router
    }

    public func close() async {
        await api.db.close()
    }
}

/// Size and count limits of the image API.
struct ImageLimits: Sendable {
    var sizeCap: Int64
    var userStorageQuota: Int64
    var pageDefault: Int
    var pageMax: Int
    var members: Int
    var tags: Int
    var properties: Int
}

/// The routes of the image API and what they share.
struct ImageAPI: Sendable {
    let db: Database
    let repository = ImageRepository()
    let policy: PolicyEngine
    let stores: StoreSet
    let staging: FileStore
    /// Cached copies of image data (ImageCacheAPI).
    let cache: FileStore
    let limits: ImageLimits
    let importMethods: [String]
    /// Ports web-download may fetch from; empty allows any.
    let allowedPorts: [Int]
    let identityURL: String
    var showLocations = false
    /// What new data must be for its declared formats (`require_image_format_match`).
    var formats = FormatEnforcement()
    let queue = ImportQueue()
    let logger: Logger

    init(
        db: Database, policy: PolicyEngine, stores: StoreSet, staging: FileStore, cache: FileStore, limits: ImageLimits, importMethods: [String],
        allowedPorts: [Int], identityURL: String, logger: Logger
    ) {
        self.identityURL = identityURL
        self.db = db
        self.policy = policy
        self.stores = stores
        self.staging = staging
        self.cache = cache
        self.limits = limits
        self.importMethods = importMethods
        self.allowedPorts = allowedPorts
        self.logger = logger
    }

    func register(on router: Router<StratusContext>) {
        registerVersions(on: router)
        registerSchemas(on: router)
        registerImages(on: router)
        registerImageData(on: router)
        registerImport(on: router)
        registerMembers(on: router)
        registerTags(on: router)
        registerTasks(on: router)
        registerCache(on: router)
        registerMetadefs(on: router)
    }
}
