import Foundation
import SQLKit
import StratusCore
import Synchronization

/// A token that passed validation, with everything resolved that its body shows. Its body is
/// rendered when asked for (`TokenProvider.body(of:catalog:)`), so a cached validation stays small.
struct ValidatedToken: Sendable {
    let token: String
    let payload: TokenPayload
    let grant: ScopeGrant

    /// The caller holding the token, as services see it (made anew each time: a cached
    /// validation stays small).
    var auth: AuthContext {
        grant.authContext(
            token: token, userID: payload.userID, systemScope: payload.scope == .system, methods: payload.methods,
            auditIDs: payload.auditIDs, issuedAt: payload.issuedAt, expiresAt: payload.expiresAt,
            applicationCredentialID: payload.applicationCredentialID)
    }

    /// About what a cached validation holds: the token, the payload's small strings and arrays,
    /// the grant's references and the cache's own bookkeeping. The grant's records are shared
    /// with the grant cache and every token of that scope.
    var estimatedBytes: Int { 1024 + 2 * token.utf8.count }
}

/// A user's standing on one scope: the records a token body shows and the roles it carries.
struct ScopeGrant: Sendable {
    let user: Record
    let userDomain: Record
    let project: Record?
    let projectDomain: Record?
    let domain: Record?
    let roles: [RoleRef]
    let applicationCredential: Record?
}

extension ScopeGrant {
    /// About what the grant's records hold in memory, for the grant cache's byte bound.
    var estimatedBytes: Int {
        let records = [user, userDomain] + [project, projectDomain, domain, applicationCredential].compactMap { $0 }
        return 512 + records.reduce(0) { $0 + 2 * JSON.object($1).serializedBytes().count } + roles.count * 128
    }

    /// The caller holding this grant, as services see it.
    func authContext(
        token: String, userID: String, systemScope: Bool, methods: [String], auditIDs: [String], issuedAt: Date,
        expiresAt: Date, applicationCredentialID: String?
    ) -> AuthContext {
        AuthContext(
            token: token, userID: userID, userName: user["name"]?.stringValue ?? "",
            userDomainID: userDomain["id"]?.stringValue ?? "", userDomainName: userDomain["name"]?.stringValue ?? "",
            projectID: project?["id"]?.stringValue, projectName: project?["name"]?.stringValue,
            projectDomainID: projectDomain?["id"]?.stringValue, projectDomainName: projectDomain?["name"]?.stringValue,
            domainID: domain?["id"]?.stringValue, domainName: domain?["name"]?.stringValue, systemScope: systemScope,
            roles: roles.map(\.name), roleIDs: roles.map(\.id), methods: methods, auditIDs: auditIDs,
            issuedAt: issuedAt, expiresAt: expiresAt, applicationCredentialID: applicationCredentialID,
            isAdminProject: project?["name"]?.stringValue == "admin" && projectDomain?["id"]?.stringValue == "default")
    }
}

/// Why a token is not valid. The API answers 401 for the caller's own token and 404 for a
/// subject token, as Keystone does.
struct InvalidToken: Error {
    let reason: String
}

/// Issues and validates Fernet tokens; caches validations until the next identity write.
final class TokenProvider: Sendable {
    let keys: KeyRepository
    let store: IdentityStore
    let revocations: RevocationList
    let lifetime: TimeInterval
    /// Entries made under `generation`, the least recently used forgotten past a byte bound;
    /// emptied when the identity data changes.
    struct GenerationCache<Value> {
        var generation = -1
        var entries: LRUCache<String, Value>

        init(byteLimit: Int) { entries = LRUCache(byteLimit: byteLimit) }

        /// The entry for `key`, after emptying the cache if `generation` is newer than its entries.
        mutating func value(for key: String, at generation: Int) -> Value? {
            if generation > self.generation {
                entries.removeAll()
                self.generation = generation
            }
            return entries.value(for: key)
        }

        /// Keeps `value` unless it was made under another generation than the entries'.
        mutating func set(_ value: Value, for key: String, cost: Int, at generation: Int) {
            guard generation == self.generation else { return }
            entries.set(value, for: key, cost: cost)
        }
    }
    /// About 6,000 validations of typical tokens.
    static let validationCacheBytes = 8 << 20
    /// A user's standing on a scope is shared by all their tokens for it, so few are needed.
    static let grantCacheBytes = 8 << 20
    /// The catalog as each project's tokens show it, rendered.
    static let catalogTextCacheBytes = 4 << 20
    let validations: Mutex<GenerationCache<ValidatedToken>>
    let grants = Mutex(GenerationCache<ScopeGrant>(byteLimit: grantCacheBytes))
    let catalogTexts = Mutex(GenerationCache<String>(byteLimit: catalogTextCacheBytes))
    private let catalogCache = Mutex<(generation: Int, catalog: JSON)?>(nil)

    init(
        keys: KeyRepository, store: IdentityStore, revocations: RevocationList, lifetime: TimeInterval,
        validationCacheBytes: Int = TokenProvider.validationCacheBytes
    ) {
        validations = Mutex(GenerationCache(byteLimit: validationCacheBytes))
        self.keys = keys
        self.store = store
        self.revocations = revocations
        self.lifetime = lifetime
    }

    func seal(_ payload: TokenPayload) throws -> String {
        guard let primary = keys.activeKeys.first else { throw InvalidToken(reason: "no Fernet keys") }
        return try primary.seal(payload.encoded(), timestamp: UInt64(payload.issuedAt.timeIntervalSince1970))
    }

    func decode(_ token: String) throws -> TokenPayload {
        guard token.count < 1024, let data = Base64URL.decode(token) else { throw InvalidToken(reason: "malformed token") }
        if let payload = open(data) { return payload }
        if keys.reloadIfStale(), let payload = open(data) { return payload }
        throw InvalidToken(reason: "token was not issued here")
    }

    private func open(_ data: Data) -> TokenPayload? {
        for key in keys.activeKeys {
            if let (plaintext, _) = key.open(data) { return TokenPayload.decode(plaintext) }
        }
        return nil
    }

    /// Validates `token`; throws `InvalidToken` when it is malformed, expired, revoked, or
    /// its user, project or domain is gone, disabled or no longer has a role on the scope.
    func validate(_ token: String) async throws -> ValidatedToken {
        let generation = store.generation
        let now = Date()
        let cached = validations.withLock { $0.value(for: token, at: generation) }
        if let cached {
            guard cached.payload.expiresAt > now else { throw InvalidToken(reason: "The token has expired.") }
            return cached
        }
        let payload = try decode(token)
        guard payload.expiresAt > now else { throw InvalidToken(reason: "The token has expired.") }
        let validated = try await resolve(token: token, payload: payload)
        validations.withLock { $0.set(validated, for: token, cost: validated.estimatedBytes, at: generation) }
        return validated
    }

    /// `{"token": {...}}` for a validated token, with its scope's catalog unless `catalog` is false.
    func body(of validated: ValidatedToken, catalog: Bool) async throws -> String {
        let grant = validated.grant
        let fields = Self.tokenBody(
            payload: validated.payload, user: grant.user, userDomain: grant.userDomain, project: grant.project,
            projectDomain: grant.projectDomain, domain: grant.domain, roles: grant.roles,
            applicationCredential: grant.applicationCredential)
        let text = JSON.object(["token": .object(fields)]).serialized()
        guard catalog, validated.payload.scope != .unscoped else { return text }
        // The catalog, rendered once per project, goes in before the two closing braces.
        let catalogText = try await scopedCatalogText(projectID: grant.project?["id"]?.stringValue)
        return String(text.dropLast(2)) + ", \"catalog\": " + catalogText + "}}"
    }

    private func scopedCatalogText(projectID: String?) async throws -> String {
        let generation = store.generation
        let key = projectID ?? ""
        let cached = catalogTexts.withLock { $0.value(for: key, at: generation) }
        if let cached { return cached }
        let text = Catalog.scoped(try await catalog(), projectID: projectID).serialized()
        catalogTexts.withLock { $0.set(text, for: key, cost: 128 + text.utf8.count, at: generation) }
        return text
    }

    /// Reloads the revocation events that can still match an unexpired token.
    func reloadRevocations(in db: any SQLDatabase) async throws {
        try await revocations.load(from: db, since: Date().addingTimeInterval(-lifetime - 60))
    }

    /// Rotates the Fernet keys; cached validations are dropped so pruned keys stop working at once.
    func rotateKeys() throws {
        try keys.rotate()
        validations.withLock { $0.entries.removeAll() }
    }

    func catalog() async throws -> JSON {
        let generation = store.generation
        if let cached = catalogCache.withLock({ $0 }), cached.generation == generation { return cached.catalog }
        let catalog = try await store.read { db in try await Catalog.build(in: db) }
        catalogCache.withLock { $0 = (generation, catalog) }
        return catalog
    }

    /// What a user holds on a scope, cached until the next identity write: the same answer
    /// serves every token of that user and scope, and the role checks of token issue.
    func grant(userID: String, scope: TokenPayload.Scope, applicationCredentialID: String?) async throws -> ScopeGrant {
        let key = userID + "|" + scope.cacheKey + "|" + (applicationCredentialID ?? "")
        let generation = store.generation
        let cached = grants.withLock { $0.value(for: key, at: generation) }
        if let cached { return cached }
        let grant = try await store.read { db in
            try await self.resolveGrant(userID: userID, scope: scope, applicationCredentialID: applicationCredentialID, in: db)
        }
        grants.withLock { $0.set(grant, for: key, cost: grant.estimatedBytes, at: generation) }
        return grant
    }

    private func resolveGrant(userID: String, scope: TokenPayload.Scope, applicationCredentialID: String?, in db: any SQLDatabase) async throws -> ScopeGrant {
        guard let user = try await Kinds.user.fetch(id: userID, from: db), user["enabled"]?.boolValue == true else {
            throw InvalidToken(reason: "user not found or disabled")
        }
        let userDomainID = user["domain_id"]?.stringValue ?? ""
        guard let userDomain = try await Kinds.domain.fetch(id: userDomainID, from: db), userDomain["enabled"]?.boolValue == true else {
            throw InvalidToken(reason: "user's domain is disabled")
        }
        var project: Record?
        var projectDomain: Record?
        var domain: Record?
        switch scope {
        case .project(let id):
            guard let p = try await Kinds.project.fetch(id: id, from: db), p["enabled"]?.boolValue == true,
                p["is_domain"]?.boolValue != true
            else { throw InvalidToken(reason: "project not found or disabled") }
            guard let d = try await Kinds.domain.fetch(id: p["domain_id"]?.stringValue ?? "", from: db), d["enabled"]?.boolValue == true
            else { throw InvalidToken(reason: "project's domain is disabled") }
            project = p
            projectDomain = d
        case .domain(let id):
            guard let d = try await Kinds.domain.fetch(id: id, from: db), d["enabled"]?.boolValue == true, d["is_domain"]?.boolValue == true
            else { throw InvalidToken(reason: "domain not found or disabled") }
            domain = d
        case .system, .unscoped:
            break
        }
        var roles = try await store.effectiveRoles(userID: userID, scope: scope, in: db)
        var appCred: Record?
        if let applicationCredentialID {
            guard let credential = try await Kinds.applicationCredential.fetch(id: applicationCredentialID, from: db) else {
                throw InvalidToken(reason: "application credential deleted")
            }
            let allowed = Set((credential["roles"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            let allowedWithImplied = try await store.expandImplied(allowed, in: db)
            roles = roles.filter { allowedWithImplied.contains($0.id) }
            appCred = credential
        }
        if scope != .unscoped && roles.isEmpty {
            throw InvalidToken(reason: "user has no role on the token's scope")
        }
        return ScopeGrant(user: user, userDomain: userDomain, project: project, projectDomain: projectDomain, domain: domain, roles: roles,
            applicationCredential: appCred)
    }

    private func resolve(token: String, payload: TokenPayload) async throws -> ValidatedToken {
        let grant = try await grant(userID: payload.userID, scope: payload.scope, applicationCredentialID: payload.applicationCredentialID)
        let userDomainID = grant.userDomain["id"]?.stringValue ?? ""
        let projectDomainID = grant.projectDomain?["id"]?.stringValue
        if revocations.isRevoked(payload, userDomainID: userDomainID, projectDomainID: projectDomainID) {
            throw InvalidToken(reason: "token has been revoked")
        }
        let credentialExpiry = grant.applicationCredential?["expires_at"]?.stringValue.flatMap(Timestamp.parse)
        if let expires = credentialExpiry, expires <= Date() {
            throw InvalidToken(reason: "application credential expired")
        }
        return ValidatedToken(token: token, payload: payload, grant: grant)
    }

    static func tokenBody(
        payload: TokenPayload, user: Record, userDomain: Record, project: Record?, projectDomain: Record?, domain: Record?,
        roles: [RoleRef], applicationCredential: Record?
    ) -> [String: JSON] {
        func ref(_ record: Record?) -> JSON {
            ["id": record?["id"] ?? .null, "name": record?["name"] ?? .null]
        }
        var body: [String: JSON] = [
            "methods": JSON(payload.methods),
            "user": [
                "id": user["id"] ?? .null, "name": user["name"] ?? .null, "domain": ref(userDomain),
                "password_expires_at": user["password_expires_at"] ?? .null,
            ],
            "audit_ids": JSON(payload.auditIDs),
            "expires_at": .string(Timestamp.iso8601(payload.expiresAt, fractional: true)),
            "issued_at": .string(Timestamp.iso8601(payload.issuedAt, fractional: true)),
        ]
        if let project {
            body["project"] = ["id": project["id"] ?? .null, "name": project["name"] ?? .null, "domain": ref(projectDomain)]
            body["is_domain"] = false
        }
        if let domain { body["domain"] = ref(domain) }
        if payload.scope == .system { body["system"] = ["all": true] }
        if payload.scope != .unscoped {
            body["roles"] = .array(roles.map { ["id": .string($0.id), "name": .string($0.name)] })
        }
        if let applicationCredential {
            body["application_credential"] = [
                "id": applicationCredential["id"] ?? .null, "name": applicationCredential["name"] ?? .null,
                "restricted": .bool(applicationCredential["unrestricted"]?.boolValue != true),
            ]
        }
        return body
    }
}

extension TokenProvider: TokenValidator {
    func validate(token: String) async throws -> AuthContext {
        do {
            return try await validate(token).auth
        } catch is InvalidToken {
            // The reason stays out of the response, as Keystone does without insecure_debug.
            throw APIError.unauthorized()
        }
    }
}
