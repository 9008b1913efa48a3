import Foundation
import SQLKit
import StratusCore
import Synchronization

/// A token that passed validation, with everything resolved that its body shows.
struct ValidatedToken: Sendable {
    let token: String
    let payload: TokenPayload
    let grant: ScopeGrant
    let auth: AuthContext
    /// `{"token": {...}}` with and without the catalog, rendered once per validation.
    let body: String
    let bodyWithoutCatalog: String
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
    /// Validations made under `generation`; emptied when the identity data changes.
    private struct ValidationCache {
        var generation = -1
        var entries: [String: ValidatedToken] = [:]
    }
    private let cache = Mutex(ValidationCache())
    private let catalogCache = Mutex<(generation: Int, catalog: JSON)?>(nil)
    private let grantCache = Mutex<[String: (generation: Int, grant: ScopeGrant)]>([:])
    // About 3 KiB an entry (two rendered bodies), so the cache stays near 60 MiB at most.
    private static let maxCacheEntries = 20_000

    init(keys: KeyRepository, store: IdentityStore, revocations: RevocationList, lifetime: TimeInterval) {
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
        let cached: ValidatedToken? = cache.withLock { cache in
            if cache.generation != generation {
                cache.entries.removeAll(keepingCapacity: true)
                cache.generation = generation
            }
            return cache.entries[token]
        }
        if let cached {
            guard cached.payload.expiresAt > now else { throw InvalidToken(reason: "The token has expired.") }
            return cached
        }
        let payload = try decode(token)
        guard payload.expiresAt > now else { throw InvalidToken(reason: "The token has expired.") }
        let catalog = try await self.catalog()
        let validated = try await resolve(token: token, payload: payload, catalog: catalog)
        cache.withLock { cache in
            guard cache.generation == generation else { return }
            if cache.entries.count >= Self.maxCacheEntries { cache.entries.removeAll(keepingCapacity: true) }
            cache.entries[token] = validated
        }
        return validated
    }

    /// Reloads the revocation events that can still match an unexpired token.
    func reloadRevocations(in db: any SQLDatabase) async throws {
        try await revocations.load(from: db, since: Date().addingTimeInterval(-lifetime - 60))
    }

    /// Rotates the Fernet keys; cached validations are dropped so pruned keys stop working at once.
    func rotateKeys() throws {
        try keys.rotate()
        cache.withLock { $0.entries.removeAll() }
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
        let key = "\(userID)|\(scope)|\(applicationCredentialID ?? "")"
        let generation = store.generation
        if let cached = grantCache.withLock({ $0[key] }), cached.generation == generation {
            return cached.grant
        }
        let grant = try await store.read { db in
            try await self.resolveGrant(userID: userID, scope: scope, applicationCredentialID: applicationCredentialID, in: db)
        }
        grantCache.withLock { cache in
            if cache.count >= Self.maxCacheEntries { cache.removeAll(keepingCapacity: true) }
            cache[key] = (generation, grant)
        }
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

    private func resolve(token: String, payload: TokenPayload, catalog: JSON) async throws -> ValidatedToken {
        let grant = try await grant(userID: payload.userID, scope: payload.scope, applicationCredentialID: payload.applicationCredentialID)
        let (user, userDomain, project, projectDomain, domain, roles, appCred) =
            (grant.user, grant.userDomain, grant.project, grant.projectDomain, grant.domain, grant.roles, grant.applicationCredential)
        let userDomainID = userDomain["id"]?.stringValue ?? ""
        if revocations.isRevoked(payload, userDomainID: userDomainID, projectDomainID: projectDomain?["id"]?.stringValue) {
            throw InvalidToken(reason: "token has been revoked")
        }
        if let expires = appCred?["expires_at"]?.stringValue.flatMap(Timestamp.parse), expires <= Date() {
            throw InvalidToken(reason: "application credential expired")
        }
        let auth = grant.authContext(
            token: token, userID: payload.userID, systemScope: payload.scope == .system, methods: payload.methods,
            auditIDs: payload.auditIDs, issuedAt: payload.issuedAt, expiresAt: payload.expiresAt,
            applicationCredentialID: payload.applicationCredentialID)
        var body = Self.tokenBody(payload: payload, user: user, userDomain: userDomain, project: project, projectDomain: projectDomain,
            domain: domain, roles: roles, applicationCredential: appCred)
        let withoutCatalog = JSON.object(["token": .object(body)]).serialized()
        if payload.scope != .unscoped {
            body["catalog"] = Catalog.scoped(catalog, projectID: project?["id"]?.stringValue)
        }
        return ValidatedToken(
            token: token, payload: payload, grant: grant, auth: auth,
            body: JSON.object(["token": .object(body)]).serialized(), bodyWithoutCatalog: withoutCatalog)
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
