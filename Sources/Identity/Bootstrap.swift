import Foundation
import SQLKit
import StratusCore

/// What `stratus manage bootstrap` (keystone-manage bootstrap) creates.
public struct BootstrapOptions: Sendable {
    public var adminUsername = "admin"
    public var adminPassword: String?
    public var adminProjectName = "admin"
    public var adminRoleName = "admin"
    public var serviceProjectName = "service"
    public var regionID = "RegionOne"
    public var publicURL: String?
    public var internalURL: String?
    public var adminURL: String?

    public init() {}
}

/// Idempotent creation of the cloud's first objects. Existing objects are kept; a given
/// admin password replaces the stored one.
struct Bootstrap {
    let store: IdentityStore

    /// Returns the admin project's id.
    func run(_ options: BootstrapOptions) async throws -> String {
        let passwordHash = try options.adminPassword.map { try store.hasher.hash($0) }
        return try await store.write { db in
            try await ensure(Kinds.domain, id: "default", in: db, [
                "name": "Default", "description": "The default domain", "enabled": true, "is_domain": true,
                "domain_id": .string(Kinds.rootDomain),
            ])
            let adminProject = try await ensureNamed(Kinds.project, name: options.adminProjectName, domain: "default", in: db, [
                "description": "Bootstrap project for initializing the cloud.", "enabled": true, "is_domain": false,
            ])
            _ = try await ensureNamed(Kinds.project, name: options.serviceProjectName, domain: "default", in: db, [
                "description": "Project for the cloud's service users.", "enabled": true, "is_domain": false,
            ])
            var roleIDs: [String: String] = [:]
            // Keystone's default roles (2024.2): admin implies manager implies member implies reader.
            // ResellerAdmin: Object Storage's role that reaches every account (Swift's keystoneauth).
            let roles = [options.adminRoleName, "admin", "manager", "member", "reader", "service", "ResellerAdmin"]
            for name in Set(roles) {
                roleIDs[name] = try await ensureNamed(Kinds.role, name: name, domain: Kinds.globalRole, in: db, ["options": [:]])
            }
            for (prior, implied) in [("admin", "manager"), ("manager", "member"), ("member", "reader")] {
                let exists = try await db.select().column("prior_role_id").from("implied_roles")
                    .where("prior_role_id", .equal, SQLBind(roleIDs[prior] ?? ""))
                    .where("implied_role_id", .equal, SQLBind(roleIDs[implied] ?? "")).first() != nil
                if !exists {
                    try await db.insert(into: "implied_roles").columns("prior_role_id", "implied_role_id")
                        .values(SQLBind(roleIDs[prior] ?? ""), SQLBind(roleIDs[implied] ?? "")).run()
                }
            }
            let userID = try await ensureNamed(Kinds.user, name: options.adminUsername, domain: "default", in: db, [
                "enabled": true, "options": [:], "created_at": .double(Date().timeIntervalSince1970),
                "password_hash": JSON(passwordHash),
            ])
            if let passwordHash {
                try await Kinds.user.update(id: userID, changes: ["password_hash": .string(passwordHash)], in: db)
            }
            let adminRole = roleIDs[options.adminRoleName] ?? ""
            try await store.addAssignment(
                Assignment(kind: .userProject, actorID: userID, targetID: adminProject, roleID: adminRole, inherited: false), in: db)
            try await store.addAssignment(
                Assignment(kind: .userSystem, actorID: userID, targetID: "system", roleID: adminRole, inherited: false), in: db)
            try await ensure(Kinds.region, id: options.regionID, in: db, ["description": ""])
            if let publicURL = options.publicURL {
                let serviceID = try await ensureService(type: "identity", name: "keystone", in: db)
                for (interface, url) in [("public", publicURL), ("internal", options.internalURL ?? publicURL), ("admin", options.adminURL ?? publicURL)] {
                    try await ensureEndpoint(serviceID: serviceID, interface: interface, url: url, region: options.regionID, in: db)
                }
            }
            return adminProject
        }
    }

    /// A service user (nova, neutron, ...) in the service project with the `admin` and
    /// `service` roles, its password set to `password`.
    func ensureServiceUser(name: String, password: String, projectName: String = "service") async throws {
        let hash = try store.hasher.hash(password)
        try await store.write { db in
            let project = try await ensureNamed(Kinds.project, name: projectName, domain: "default", in: db, [
                "description": "Project for the cloud's service users.", "enabled": true, "is_domain": false,
            ])
            let userID = try await ensureNamed(Kinds.user, name: name, domain: "default", in: db, [
                "enabled": true, "options": [:], "created_at": .double(Date().timeIntervalSince1970), "password_hash": .string(hash),
            ])
            try await Kinds.user.update(id: userID, changes: ["password_hash": .string(hash)], in: db)
            for role in ["admin", "service"] {
                let roleID = try await ensureNamed(Kinds.role, name: role, domain: Kinds.globalRole, in: db, ["options": [:]])
                try await store.addAssignment(
                    Assignment(kind: .userProject, actorID: userID, targetID: project, roleID: roleID, inherited: false), in: db)
            }
        }
    }

    /// Registers another service's endpoints (compute, image, ...) in the catalog.
    func registerService(type: String, name: String, url: String, region: String) async throws {
        try await store.write { db in
            let serviceID = try await ensureService(type: type, name: name, in: db)
            for interface in ["public", "internal", "admin"] {
                try await ensureEndpoint(serviceID: serviceID, interface: interface, url: url, region: region, in: db)
            }
        }
    }

    private func ensure(_ kind: ResourceKind, id: String, in db: any SQLDatabase, _ fields: Record) async throws {
        guard try await kind.fetch(id: id, from: db) == nil else { return }
        var record = fields
        record["id"] = .string(id)
        try await kind.insert(record, into: db)
    }

    private func ensureNamed(_ kind: ResourceKind, name: String, domain: String, in db: any SQLDatabase, _ fields: Record) async throws -> String {
        if let existing = try await kind.list(from: db, filters: [("name", .string(name)), ("domain_id", .string(domain))]).first {
            return existing["id"]?.stringValue ?? ""
        }
        var record = fields
        record["id"] = .string(newID())
        record["name"] = .string(name)
        record["domain_id"] = .string(domain)
        try await kind.insert(record, into: db)
        return record["id"]?.stringValue ?? ""
    }

    private func ensureService(type: String, name: String, in db: any SQLDatabase) async throws -> String {
        if let existing = try await Kinds.service.list(from: db, filters: [("type", .string(type))]).first {
            return existing["id"]?.stringValue ?? ""
        }
        let id = newID()
        try await Kinds.service.insert(["id": .string(id), "type": .string(type), "enabled": true, "extra": ["name": .string(name)]], into: db)
        return id
    }

    private func ensureEndpoint(serviceID: String, interface: String, url: String, region: String, in db: any SQLDatabase) async throws {
        let existing = try await Kinds.endpoint.list(from: db, filters: [("service_id", .string(serviceID)), ("interface", .string(interface))])
        if let endpoint = existing.first {
            if endpoint["url"]?.stringValue != url {
                try await Kinds.endpoint.update(id: endpoint["id"]?.stringValue ?? "", changes: ["url": .string(url)], in: db)
            }
            return
        }
        try await Kinds.endpoint.insert(
            ["id": .string(newID()), "service_id": .string(serviceID), "interface": .string(interface), "region_id": .string(region),
             "url": .string(url), "enabled": true], into: db)
    }
}
