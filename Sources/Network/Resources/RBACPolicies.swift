import Foundation
import SQLKit
import StratusCore

extension ResourceKind {
    /// RBAC policies: share a network (or QoS policy, subnet pool, address scope) with a
    /// project or everyone (`*`), or make a network usable as external by one project.
    static let rbacPolicy = ResourceKind(
        collection: "rbac-policies", member: "rbac_policy", table: "rbac_policies", displayName: "RBAC policy",
        attributes: [
            StandardAttributes.id, StandardAttributes.projectID,
            Attribute("object_type", .text, put: false, required: true,
                convert: Validate.oneOf(["network", "qos_policy", "subnetpool", "address_scope", "security_group", "address_group"])),
            Attribute("object_id", .text, put: false, required: true, convert: Validate.uuid),
            Attribute("target_tenant", .text, required: true, convert: Validate.string(255)),
            Attribute("target_project", .virtual, filterable: false),
            Attribute("action", .text, put: false, required: true, convert: Validate.oneOf(["access_as_shared", "access_as_external"])),
        ],
        hooks: RBACHooks(), hasTags: false, indexes: [["object_id"], ["target_tenant"]], notFoundType: "RbacPolicyNotFound")
}

struct RBACHooks: ResourceHooks {
    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        try await checkObject(record, ctx: ctx)
        let duplicate = try await RecordStore.exists(
            .rbacPolicy,
            where: "object_type = \(bind: record.string("object_type") ?? "") AND object_id = \(bind: record.string("object_id") ?? "") AND action = \(bind: record.string("action") ?? "") AND target_tenant = \(bind: record.string("target_tenant") ?? "")",
            db: ctx.db)
        if duplicate {
            throw NeutronError.conflict("DuplicateRbacPolicy", "An RBAC policy already exists with those values.")
        }
    }

    func didCreate(_ record: inout Record, ctx: HookContext) async throws {
        try await sync(record, ctx: ctx)
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        if old.string("target_tenant") == "*", record.string("target_tenant") != "*" {
            try await checkNotInUse(old, ctx: ctx)
        }
    }

    func didUpdate(_ record: inout Record, old: Record, ctx: HookContext) async throws {
        try await sync(record, ctx: ctx)
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        try await checkNotInUse(record, ctx: ctx)
    }

    func didDelete(_ record: Record, ctx: HookContext) async throws {
        try await sync(record, ctx: ctx)
    }

    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {
        for i in records.indices { records[i]["target_project"] = records[i]["target_tenant"] }
    }

    /// The object must exist and belong to the caller (unless admin).
    private func checkObject(_ record: Record, ctx: HookContext) async throws {
        let type = record.string("object_type") ?? ""
        let id = record.string("object_id") ?? ""
        let kinds: [String: ResourceKind] = ["network": .network, "qos_policy": .qosPolicy, "subnetpool": .subnetPool, "address_scope": .addressScope, "security_group": .securityGroup]
        guard let kind = kinds[type] else { throw NeutronError.badRequest("Invalid object_type \(type)") }
        guard let object = try await RecordStore.get(kind, id: id, db: ctx.db), ctx.caller.isAdmin || object.projectID == ctx.caller.projectID else {
            throw NeutronError.notFound("RbacPolicyObjectNotFound", "\(kind.displayName) \(id) could not be found.")
        }
        if type != "network", record.string("action") == "access_as_external" {
            throw NeutronError.badRequest("Invalid action access_as_external for object type \(type)")
        }
    }

    /// A wildcard share may go only while no other project uses the object.
    private func checkNotInUse(_ record: Record, ctx: HookContext) async throws {
        guard record.string("object_type") == "network" else { return }
        let network = record.string("object_id") ?? ""
        let owner = try await RecordStore.get(.network, id: network, db: ctx.db)?.projectID ?? ""
        var users: SQLQueryString = "network_id = \(bind: network) AND project_id <> \(bind: owner) AND device_owner NOT LIKE 'network:%'"
        if record.string("target_tenant") != "*" { users = users + " AND project_id = \(bind: record.string("target_tenant") ?? "")" }
        if try await RecordStore.exists(.port, where: users, db: ctx.db) {
            throw NeutronError.conflict(
                "RbacPolicyInUse", "RBAC policy on object \(network) cannot be removed because other objects depend on it.")
        }
    }

    /// Keeps a network's `shared` and `router:external` flags in step with wildcard policies.
    private func sync(_ record: Record, ctx: HookContext) async throws {
        let type = record.string("object_type") ?? ""
        let id = record.string("object_id") ?? ""
        let kinds: [String: ResourceKind] = ["network": .network, "qos_policy": .qosPolicy, "subnetpool": .subnetPool, "address_scope": .addressScope]
        guard let kind = kinds[type] else { return }
        let action = record.string("action") ?? ""
        let wildcard = try await RecordStore.exists(
            .rbacPolicy, where: "object_id = \(bind: id) AND action = \(bind: action) AND target_tenant = '*'", db: ctx.db)
        let flag = action == "access_as_external" ? "router:external" : "shared"
        if action == "access_as_external" && !wildcard {
            // a per-project external grant still makes the network external
            let any = try await RecordStore.exists(.rbacPolicy, where: "object_id = \(bind: id) AND action = 'access_as_external'", db: ctx.db)
            try await RecordStore.update(kind, id: id, values: [flag: .bool(any)], db: ctx.db)
            return
        }
        if kind.attribute(flag) != nil { try await RecordStore.update(kind, id: id, values: [flag: .bool(wildcard)], db: ctx.db) }
    }
}

/// Helpers other kinds use to honour RBAC sharing.
enum RBAC {
    /// `(SELECT object_id ...)`: objects of `type` shared with `project` or everyone.
    static func sharedWith(_ project: String, type: String, action: String = "access_as_shared") -> SQLQueryString {
        "(SELECT object_id FROM rbac_policies WHERE object_type = \(bind: type) AND action = \(bind: action) AND target_tenant IN (\(bind: project), '*'))"
    }

    static func insertWildcard(objectType: String, objectID: String, project: String, action: String = "access_as_shared", db: any SQLDatabase) async throws {
        if try await RecordStore.exists(.rbacPolicy, where: "object_id = \(bind: objectID) AND action = \(bind: action) AND target_tenant = '*'", db: db) {
            return
        }
        try await RecordStore.insert(
            .rbacPolicy,
            [
                "id": .string(UUID().uuidString.lowercased()), "project_id": .string(project), "object_type": .string(objectType),
                "object_id": .string(objectID), "target_tenant": "*", "action": .string(action),
            ], db: db)
    }

    static func deleteWildcard(objectType: String, objectID: String, action: String = "access_as_shared", db: any SQLDatabase) async throws {
        try await db.raw(
            "DELETE FROM rbac_policies WHERE object_type = \(bind: objectType) AND object_id = \(bind: objectID) AND action = \(bind: action) AND target_tenant = '*'"
        ).run()
    }
}
