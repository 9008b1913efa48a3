import Foundation
import HTTPTypes
import Hummingbird
import SQLKit
import StratusCore

/// Who authenticated and how, before the scope is applied.
private struct Authenticated: Sendable {
    var userID: String
    var methods: [String]
    var expiresAt: Date?
    var parentAuditIDs: [String] = []
    var applicationCredential: Record?
    /// Scope inherited from a token being rescoped without a new scope.
    var inheritedScope: TokenPayload.Scope?
}

extension IdentityAPI {
    func registerAuth(on router: Router<StratusContext>) {
        router.post("/v3/auth/tokens") { request, context in
            let body = try await request.jsonObject(context: context)
            guard let auth = body["auth"]?.objectValue else {
                throw APIError.badRequest("Invalid input for field 'auth': 'auth' is a required property.")
            }
            let token = try await issueToken(auth: auth)
            let validated: ValidatedToken
            do {
                validated = try await tokens.validate(token)
            } catch is InvalidToken {
                throw APIError.unauthorized()
            }
            let text = try await tokens.body(of: validated, catalog: !request.flag("nocatalog"))
            return Response.json(text: text, status: .created, headers: [.subjectToken: token])
        }
        router.get("/v3/auth/tokens") { request, context in
            let validated = try await subjectToken(request, context, rule: "identity:validate_token")
            let text = try await tokens.body(of: validated, catalog: !request.flag("nocatalog"))
            return Response.json(text: text, headers: [.subjectToken: validated.token])
        }
        router.head("/v3/auth/tokens") { request, context in
            let validated = try await subjectToken(request, context, rule: "identity:check_token")
            return Response(status: .ok, headers: [.subjectToken: validated.token])
        }
        router.delete("/v3/auth/tokens") { request, context in
            let validated = try await subjectToken(request, context, rule: "identity:revoke_token")
            try await store.write { db in
                try await tokens.revocations.add(
                    RevocationEvent(auditID: validated.payload.auditIDs.first, issuedBefore: Date()), in: db)
            }
            return Response.noContent()
        }
        router.get("/v3/auth/catalog") { request, context in
            let auth = try context.requireAuth()
            guard auth.projectID != nil || auth.domainID != nil || auth.systemScope else {
                throw APIError.forbidden("A scoped token is required to list the catalog.")
            }
            let catalog = Catalog.scoped(try await tokens.catalog(), projectID: auth.projectID)
            return Response.json(["catalog": catalog, "links": ["self": .string("\(baseURL(request))/v3/auth/catalog")]])
        }
        router.get("/v3/auth/projects") { request, context in
            let auth = try context.requireAuth()
            let projects = try await store.read { db in try await projectsWithRoles(userID: auth.userID, in: db) }
            return Kinds.project.collection(projects, request: request)
        }
        router.get("/v3/auth/domains") { request, context in
            let auth = try context.requireAuth()
            let domains = try await store.read { db in try await domainsWithRoles(userID: auth.userID, in: db) }
            return Kinds.domain.collection(domains, request: request)
        }
        router.get("/v3/auth/system") { request, context in
            let auth = try context.requireAuth()
            let roles = try await store.read { db in try await store.effectiveRoles(userID: auth.userID, scope: .system, in: db) }
            let system: JSON = roles.isEmpty ? [] : [["all": true]]
            return Response.json(["system": system, "links": ["self": .string("\(baseURL(request))/v3/auth/system")]])
        }
    }

    /// Validates `X-Subject-Token` for the caller; 404 when the subject is not a valid token.
    private func subjectToken(_ request: Request, _ context: StratusContext, rule: String) async throws -> ValidatedToken {
        let auth = try context.requireAuth()
        guard let subject = request.headers[.subjectToken], !subject.isEmpty else {
            throw APIError.notFound("No token in the request")
        }
        let validated: ValidatedToken
        do {
            validated = try await tokens.validate(subject)
        } catch is InvalidToken {
            throw APIError.notFound("Failed to validate token")
        }
        try policy.enforce(rule, auth: auth, target: ["target.token.user_id": validated.payload.userID])
        return validated
    }

    /// Authenticates the `auth` object and seals a token for the requested scope.
    private func issueToken(auth: [String: JSON]) async throws -> String {
        guard let identity = auth["identity"]?.objectValue else {
            throw APIError.badRequest("Invalid input for field 'identity': 'identity' is a required property.")
        }
        guard let methods = identity["methods"]?.arrayValue?.compactMap(\.stringValue), !methods.isEmpty else {
            throw APIError.badRequest("Invalid input for field 'methods': 'methods' must be a non-empty list of strings.")
        }
        var who: Authenticated
        if methods.contains("application_credential") {
            who = try await authenticateApplicationCredential(identity["application_credential"]?.objectValue)
        } else if methods.contains("password") {
            who = try await authenticatePassword(identity["password"]?.objectValue)
        } else if methods.contains("token") {
            who = try await authenticateToken(identity["token"]?.objectValue)
        } else {
            throw APIError.unauthorized("Attempted to authenticate with an unsupported method.")
        }
        if methods.contains("token") && !who.methods.contains("token") { who.methods.append("token") }
        let scope = try await resolveScope(auth["scope"], who: who)
        let now = Date()
        var expires = now.addingTimeInterval(tokens.lifetime)
        if let limit = who.expiresAt, limit < expires { expires = limit }
        if let credentialExpiry = who.applicationCredential?["expires_at"]?.stringValue.flatMap(Timestamp.parse), credentialExpiry < expires {
            expires = credentialExpiry
        }
        let payload = TokenPayload(
            userID: who.userID, methods: who.methods, scope: scope, issuedAt: now, expiresAt: expires,
            auditIDs: [TokenPayload.newAuditID()] + who.parentAuditIDs.suffix(1),
            applicationCredentialID: who.applicationCredential?["id"]?.stringValue)
        return try tokens.seal(payload)
    }

    private func authenticatePassword(_ password: [String: JSON]?) async throws -> Authenticated {
        guard let userRef = password?["user"]?.objectValue else {
            throw APIError.badRequest("Invalid input for field 'password': 'user' is a required property.")
        }
        guard let secret = userRef["password"]?.stringValue else {
            throw APIError.badRequest("Invalid input for field 'user': 'password' is a required property.")
        }
        let user = try await store.read { db in try await findUser(userRef, in: db) }
        let userID = user?["id"]?.stringValue ?? ""
        if user != nil, try await store.isLockedOut(userID: userID, rules: compliance) {
            throw APIError.unauthorized("The account is locked for user: \(userID).")
        }
        guard let user, user["enabled"]?.boolValue == true, let hash = user["password_hash"]?.stringValue,
            store.hasher.verify(secret, against: hash)
        else {
            if user != nil { try await store.recordAuthFailure(userID: userID, rules: compliance) }
            throw APIError.unauthorized("The request you have made requires authentication.")
        }
        try await store.clearAuthFailures(userID: userID, rules: compliance)
        if let expires = user["password_expires_at"]?.stringValue.flatMap(Timestamp.parse), expires <= Date() {
            throw APIError.unauthorized("The password is expired and needs to be changed for user: \(user["id"]?.stringValue ?? "").")
        }
        return Authenticated(userID: user["id"]?.stringValue ?? "", methods: ["password"])
    }

    private func authenticateToken(_ token: [String: JSON]?) async throws -> Authenticated {
        guard let id = token?["id"]?.stringValue else {
            throw APIError.badRequest("Invalid input for field 'token': 'id' is a required property.")
        }
        let validated: ValidatedToken
        do {
            validated = try await tokens.validate(id)
        } catch is InvalidToken {
            throw APIError.notFound("Could not find token: \(id.prefix(8))...")
        }
        if validated.payload.applicationCredentialID != nil {
            throw APIError.forbidden("Tokens made from application credentials cannot be rescoped.")
        }
        return Authenticated(
            userID: validated.payload.userID, methods: validated.payload.methods, expiresAt: validated.payload.expiresAt,
            parentAuditIDs: validated.payload.auditIDs, inheritedScope: validated.payload.scope)
    }

    private func authenticateApplicationCredential(_ body: [String: JSON]?) async throws -> Authenticated {
        guard let body, let secret = body["secret"]?.stringValue else {
            throw APIError.badRequest("Invalid input for field 'application_credential': 'secret' is a required property.")
        }
        let credential: Record? = try await store.read { db in
            if let id = body["id"]?.stringValue { return try await Kinds.applicationCredential.fetch(id: id, from: db) }
            guard let name = body["name"]?.stringValue, let userRef = body["user"]?.objectValue,
                let user = try await findUser(userRef, in: db), let userID = user["id"]?.stringValue
            else { return nil }
            return try await Kinds.applicationCredential.list(from: db, filters: [("user_id", .string(userID)), ("name", .string(name))]).first
        }
        guard let credential, let hash = credential["secret_hash"]?.stringValue, store.hasher.verify(secret, against: hash) else {
            throw APIError.unauthorized("The request you have made requires authentication.")
        }
        if let expires = credential["expires_at"]?.stringValue.flatMap(Timestamp.parse), expires <= Date() {
            throw APIError.unauthorized("The application credential has expired.")
        }
        return Authenticated(userID: credential["user_id"]?.stringValue ?? "", methods: ["application_credential"], applicationCredential: credential)
    }

    /// A user by `id`, or by `name` with `domain` `{id}` or `{name}`.
    func findUser(_ ref: [String: JSON], in db: any SQLDatabase) async throws -> Record? {
        if let id = ref["id"]?.stringValue { return try await Kinds.user.fetch(id: id, from: db) }
        guard let name = ref["name"]?.stringValue, let domainRef = ref["domain"]?.objectValue else {
            throw APIError.badRequest("Invalid input for field 'user': either 'id', or 'name' and 'domain', are required.")
        }
        guard let domainID = try await findDomainID(domainRef, in: db) else { return nil }
        return try await Kinds.user.list(from: db, filters: [("name", .string(name)), ("domain_id", .string(domainID))]).first
    }

    func findDomainID(_ ref: [String: JSON], in db: any SQLDatabase) async throws -> String? {
        if let id = ref["id"]?.stringValue { return id }
        guard let name = ref["name"]?.stringValue else {
            throw APIError.badRequest("Invalid input for field 'domain': either 'id' or 'name' is required.")
        }
        return try await Kinds.domain.list(from: db, filters: [("name", .string(name)), ("is_domain", true)]).first?["id"]?.stringValue
    }

    private func resolveScope(_ scope: JSON?, who: Authenticated) async throws -> TokenPayload.Scope {
        if let credential = who.applicationCredential {
            if scope != nil && scope?.stringValue != "unscoped" {
                throw APIError.unauthorized("Application credentials cannot request a scope.")
            }
            return .project(credential["project_id"]?.stringValue ?? "")
        }
        guard let scope else {
            if let inherited = who.inheritedScope, inherited != .unscoped { return inherited }
            return try await defaultProjectScope(userID: who.userID)
        }
        if scope.stringValue == "unscoped" { return .unscoped }
        guard let object = scope.objectValue else { throw APIError.badRequest("Invalid input for field 'scope': must be an object.") }
        let requested = try await store.read { db -> TokenPayload.Scope in
            if let project = object["project"]?.objectValue {
                var projectID = project["id"]?.stringValue
                if projectID == nil, let name = project["name"]?.stringValue {
                    guard let domainRef = project["domain"]?.objectValue else {
                        throw APIError.badRequest("Invalid input for field 'project': 'domain' is required with 'name'.")
                    }
                    if let domainID = try await findDomainID(domainRef, in: db) {
                        projectID = try await Kinds.project.list(
                            from: db, filters: [("name", .string(name)), ("domain_id", .string(domainID)), ("is_domain", false)]
                        ).first?["id"]?.stringValue
                    }
                }
                guard let projectID else { throw APIError.unauthorized("Could not find the requested project.") }
                return .project(projectID)
            }
            if let domain = object["domain"]?.objectValue {
                guard let domainID = try await findDomainID(domain, in: db) else {
                    throw APIError.unauthorized("Could not find the requested domain.")
                }
                return .domain(domainID)
            }
            if let system = object["system"]?.objectValue {
                guard system["all"]?.boolValue == true else { throw APIError.badRequest("Invalid input for field 'system': only 'all' is supported.") }
                return .system
            }
            if object["OS-TRUST:trust"] != nil {
                throw APIError(.notImplemented, "Trusts are not supported.")
            }
            throw APIError.badRequest("Invalid input for field 'scope': expected 'project', 'domain' or 'system'.")
        }
        try await requireRoles(userID: who.userID, scope: requested)
        return requested
    }

    private func requireRoles(userID: String, scope: TokenPayload.Scope) async throws {
        do {
            _ = try await tokens.grant(userID: userID, scope: scope, applicationCredentialID: nil)
        } catch is InvalidToken {
            throw APIError.unauthorized()
        }
    }

    /// With no scope requested, Keystone scopes to the user's default project when the user has a role there.
    private func defaultProjectScope(userID: String) async throws -> TokenPayload.Scope {
        let projectID = try await store.read { db in try await Kinds.user.fetch(id: userID, from: db)?["default_project_id"]?.stringValue }
        guard let projectID,
            (try? await tokens.grant(userID: userID, scope: .project(projectID), applicationCredentialID: nil)) != nil
        else { return .unscoped }
        return .project(projectID)
    }

    /// Enabled projects on which the user has any role: direct or through a group, on the
    /// project, or inherited from an ancestor or the domain. One pass over the assignments.
    func projectsWithRoles(userID: String, in db: any SQLDatabase) async throws -> [Record] {
        let actors = [userID] + (try await store.groupIDs(ofUser: userID, in: db))
        let grants = try await store.assignments(in: db, actorIDs: actors, kinds: [.userProject, .groupProject, .userDomain, .groupDomain])
        guard !grants.isEmpty else { return [] }
        let projects = try await Kinds.project.list(from: db, filters: [("is_domain", false), ("enabled", true)])
        let direct = Set(grants.filter { !$0.inherited && ($0.kind == .userProject || $0.kind == .groupProject) }.map(\.targetID))
        let inheritedDomains = Set(grants.filter { $0.inherited && ($0.kind == .userDomain || $0.kind == .groupDomain) }.map(\.targetID))
        let inheritedProjects = Set(grants.filter { $0.inherited && ($0.kind == .userProject || $0.kind == .groupProject) }.map(\.targetID))
        let parents = Dictionary(projects.map { ($0["id"]?.stringValue ?? "", $0["parent_id"]?.stringValue) }, uniquingKeysWith: { a, _ in a })
        func underInherited(_ id: String) -> Bool {
            var cursor = parents[id] ?? nil
            var hops = 0
            while let parent = cursor, hops < 64 {
                if inheritedProjects.contains(parent) { return true }
                cursor = parents[parent] ?? nil
                hops += 1
            }
            return false
        }
        return projects.filter { project in
            let id = project["id"]?.stringValue ?? ""
            return direct.contains(id) || inheritedDomains.contains(project["domain_id"]?.stringValue ?? "") || underInherited(id)
        }
    }

    func domainsWithRoles(userID: String, in db: any SQLDatabase) async throws -> [Record] {
        let actors = [userID] + (try await store.groupIDs(ofUser: userID, in: db))
        let ids = try await store.assignments(in: db, actorIDs: actors, kinds: [.userDomain, .groupDomain]).filter { !$0.inherited }.map(\.targetID)
        return try await Kinds.domain.list(from: db, filters: [("is_domain", true), ("enabled", true)], idIn: Array(Set(ids)))
    }
}
