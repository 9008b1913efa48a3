import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import StratusCore

/// Identity options, `[identity]`, `[token]` and `[fernet_tokens]` in the config file.
public enum IdentityOptions {
    public static let port = CoreOptions.port("identity", default: 5000)
    public static let connection = CoreOptions.connection("identity")
    public static let tokenExpiration = ConfigOption(
        "token", "expiration", default: 3600, help: "Seconds a token stays valid.")
    public static let keyRepository = ConfigOption(
        "fernet_tokens", "key_repository", default: "", help: "Directory of Fernet keys (default <data_dir>/fernet-keys).")
    public static let maxActiveKeys = ConfigOption(
        "fernet_tokens", "max_active_keys", default: 3, help: "Keys kept by rotation, staged and primary included.")
    public static let lockoutFailureAttempts = ConfigOption(
        "security_compliance", "lockout_failure_attempts", default: 0, help: "Failed logins before a user is locked out (0: never).")
    public static let lockoutDuration = ConfigOption(
        "security_compliance", "lockout_duration", default: 1800, help: "Seconds a locked-out user stays locked.")
    public static let uniqueLastPasswordCount = ConfigOption(
        "security_compliance", "unique_last_password_count", default: 0, help: "A new password must differ from this many previous ones.")
    public static let passwordHashRounds = ConfigOption(
        "identity", "password_hash_rounds", default: 100_000, help: "PBKDF2-SHA512 iterations for password hashes.")
}

/// Keystone v3: the service entry the executable runs.
public final class IdentityService: StratusService {
    public let name = "identity"
    public let port: Int
    let api: IdentityAPI
    let logger: Logger

    public var validator: any TokenValidator { api.tokens }
    /// Checks S3 requests signed with EC2 credentials (Object Storage's S3 API).
    public var s3Credentials: any S3CredentialVerifier { EC2Signatures(store: api.store, tokens: api.tokens) }

    /// Opens the database (migrating it), the key repository and the revocation list.
    public static func open(config: Config, dataDir: String, logger: Logger) async throws -> IdentityService {
        let connection = CoreOptions.databaseURL(config, service: "identity", dataDir: dataDir)
        let db = try await Database.open(connection: connection, logger: logger)
        do {
            try await db.migrate(IdentitySchema.migrations, logger: logger)
            var keyDir = config[IdentityOptions.keyRepository]
            if keyDir.isEmpty { keyDir = "\(dataDir)/fernet-keys" }
            let keys = try KeyRepository(directory: keyDir, maxActiveKeys: config[IdentityOptions.maxActiveKeys])
            let store = IdentityStore(db: db, hasher: PasswordHasher(rounds: config[IdentityOptions.passwordHashRounds]))
            let revocations = RevocationList()
            let lifetime = TimeInterval(config[IdentityOptions.tokenExpiration])
            let tokens = TokenProvider(keys: keys, store: store, revocations: revocations, lifetime: lifetime)
            try await db.read { sql in try await tokens.reloadRevocations(in: sql) }
            let policy = try PolicyEngine(
                defaults: IdentityPolicies.defaults, overrides: PolicyEngine.loadOverrides(path: config[CoreOptions.policyFile]))
            let compliance = SecurityCompliance(
                lockoutFailureAttempts: config[IdentityOptions.lockoutFailureAttempts],
                lockoutDuration: TimeInterval(config[IdentityOptions.lockoutDuration]),
                uniqueLastPasswordCount: config[IdentityOptions.uniqueLastPasswordCount])
            return IdentityService(
                api: IdentityAPI(store: store, tokens: tokens, policy: policy, compliance: compliance), port: config[IdentityOptions.port], logger: logger)
        } catch {
            await db.close()  // a half-opened service closes its database: SQLite asserts otherwise
            throw error
        }
    }

    init(api: IdentityAPI, port: Int, logger: Logger) {
        self.api = api
        self.port = port
        self.logger = logger
    }

    public var workers: [any Service] { [CoherenceWorker(api: api, logger: logger)] }

    public func makeRouter() -> Router<StratusContext> {
        let router = Router(context: StratusContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: FaultMiddleware(style: .identity, unauthorizedHeaders: [HTTPField.Name("WWW-Authenticate")!: "Keystone uri=\"/v3\""]))
        router.add(middleware: AuthMiddleware(validator: api.tokens))
        api.register(on: router)
        return router
    }

    /// Creates the admin project, user, roles, region and identity endpoints if missing;
    /// returns the admin project's id.
    @discardableResult
    public func bootstrap(_ options: BootstrapOptions) async throws -> String {
        try await Bootstrap(store: api.store).run(options)
    }

    /// Registers another service's endpoints (image, compute, ...) in the catalog.
    public func registerEndpoint(type: String, name: String, url: String, region: String = "RegionOne") async throws {
        try await Bootstrap(store: api.store).registerService(type: type, name: name, url: url, region: region)
    }

    /// Creates (or resets the password of) a service user such as `nova`.
    public func ensureServiceUser(name: String, password: String) async throws {
        try await Bootstrap(store: api.store).ensureServiceUser(name: name, password: password)
    }

    public func rotateKeys() throws {
        try api.tokens.rotateKeys()
    }

    public func close() async {
        await api.store.db.close()
    }
}

/// The routes of the identity API and what they share.
struct IdentityAPI: Sendable {
    let store: IdentityStore
    let tokens: TokenProvider
    let policy: PolicyEngine
    let compliance: SecurityCompliance

    func register(on router: Router<StratusContext>) {
        registerVersions(on: router)
        registerAuth(on: router)
        registerDomains(on: router)
        registerProjects(on: router)
        registerUsers(on: router)
        registerGroups(on: router)
        registerRoles(on: router)
        registerAssignments(on: router)
        registerCatalog(on: router)
        registerCredentials(on: router)
        registerApplicationCredentials(on: router)
        registerLimits(on: router)
        registerExtensions(on: router)
        registerTrusts(on: router)
        registerEC2Credentials(on: router)
    }
}
