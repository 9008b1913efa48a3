import SQLKit
import StratusCore

extension ResourceKind {
    static let network = ResourceKind(
        collection: "networks", member: "network", displayName: "Network",
        attributes: StandardAttributes.all + [
            Attribute("admin_state_up", .bool, default: true, convert: Validate.bool),
            Attribute("status", .text, post: false, put: false),
            Attribute("shared", .bool, default: false, writeRule: "rule:admin_only", convert: Validate.bool),
            Attribute("router:external", .bool, default: false, writeRule: "rule:admin_only", convert: Validate.bool),
            Attribute("mtu", .int, convert: Validate.int(min: 68)),
            Attribute("port_security_enabled", .bool, default: true, convert: Validate.bool),
            Attribute("dns_domain", .text, default: "", convert: Validate.string(255)),
            Attribute("availability_zone_hints", .json, put: false, default: [], convert: Validate.stringList),
            Attribute("availability_zones", .json, post: false, put: false),
            Attribute("provider:network_type", .text, put: false, readRule: "rule:admin_only", writeRule: "rule:admin_only",
                convert: Validate.oneOf(["flat", "vlan", "vxlan", "local", "geneve", "gre"])),
            Attribute("provider:physical_network", .text, put: false, readRule: "rule:admin_only", writeRule: "rule:admin_only",
                convert: Validate.stringOrNull(64)),
            Attribute("provider:segmentation_id", .int, put: false, readRule: "rule:admin_only", writeRule: "rule:admin_only",
                convert: Validate.intOrNull(min: 0)),
            Attribute("qos_policy_id", .text, convert: Validate.uuidOrNull),
            Attribute("is_default", .bool, default: false, writeRule: "rule:admin_only", convert: Validate.bool),
            Attribute("l2_adjacency", .bool, post: false, put: false),
            Attribute("subnets", .virtual, post: false, put: false, filterable: false),
            Attribute("ipv4_address_scope", .virtual, post: false, put: false, filterable: false),
            Attribute("ipv6_address_scope", .virtual, post: false, put: false, filterable: false),
        ],
        hooks: NetworkHooks(), quotaResource: "network", indexes: [["router:external"], ["shared"]])
}

struct NetworkHooks: ResourceHooks {
    func visibility(_ caller: Caller) -> SQLQueryString? {
        "(project_id = \(bind: caller.projectID) OR shared = \(bind: true) OR router_external = \(bind: true) OR id IN "
            + RBAC.sharedWith(caller.projectID, type: "network") + ")"
    }

    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        record["status"] = "ACTIVE"
        record["l2_adjacency"] = true
        record["availability_zones"] = record["availability_zone_hints"]?.arrayValue?.isEmpty == false ? record["availability_zone_hints"] : ["nova"]
        try await Segments.assign(&record, settings: ctx.api.settings, db: ctx.db)
        try await QoS.checkBinding(record, ctx: ctx)
        if record["qos_policy_id"] == nil || record["qos_policy_id"]?.isNull == true,
            let policy = try await QoS.defaultPolicy(project: record.projectID, db: ctx.db)
        {
            record["qos_policy_id"] = .string(policy)
        }
    }

    func didCreate(_ record: inout Record, ctx: HookContext) async throws {
        if record.bool("shared") {
            try await RBAC.insertWildcard(objectType: "network", objectID: record.id, project: record.projectID, db: ctx.db)
        }
        let network = record
        ctx.onCommit { await ctx.api.notifyDHCP(DHCPAgentMethods.networkCreated, ["network": .object(network)]) }
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        try await QoS.checkBinding(changes, ctx: ctx)
        if let shared = changes["shared"]?.boolValue, shared != old.bool("shared") {
            if shared {
                try await RBAC.insertWildcard(objectType: "network", objectID: old.id, project: old.projectID, db: ctx.db)
            } else {
                let foreign = try await RecordStore.exists(
                    .port, where: "network_id = \(bind: old.id) AND project_id <> \(bind: old.projectID) AND device_owner NOT LIKE 'network:%'", db: ctx.db)
                if foreign {
                    throw NeutronError.conflict(
                        "InvalidSharedSetting", "Unable to reconfigure sharing settings for network \(old.id). Multiple tenants are using it.")
                }
                try await RBAC.deleteWildcard(objectType: "network", objectID: old.id, db: ctx.db)
            }
        }
        if let external = changes["router:external"]?.boolValue, !external, old.bool("router:external") {
            let inUse = try await RecordStore.exists(
                .port, where: "network_id = \(bind: old.id) AND device_owner IN ('network:router_gateway', 'network:floatingip')", db: ctx.db)
            if inUse {
                throw NeutronError.conflict(
                    "ExternalNetworkInUse", "External network \(old.id) cannot be updated to be made non-external, since it has existing gateway ports.")
            }
        }
        if let mtu = changes["mtu"]?.intValue, mtu > Segments.maxMTU(type: old.string("provider:network_type"), settings: ctx.api.settings) {
            throw NeutronError.badRequest("Invalid input for operation: Requested MTU is too big, maximum is \(Segments.maxMTU(type: old.string("provider:network_type"), settings: ctx.api.settings)).")
        }
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        for fip in try await RecordStore.select(.floatingIP, where: "floating_network_id = \(bind: record.id)", db: ctx.db) {
            try await ctx.api.deleteRecord(.floatingIP, fip, ctx: ctx)
        }
        let busy = try await RecordStore.exists(
            .port, where: "network_id = \(bind: record.id) AND device_owner <> 'network:dhcp'", db: ctx.db)
        if busy {
            throw NeutronError.inUse(
                "NetworkInUse", "Unable to complete operation on network \(record.id). There are one or more ports still in use on the network.")
        }
        for port in try await RecordStore.select(.port, where: "network_id = \(bind: record.id)", db: ctx.db) {
            try await ctx.api.deleteRecord(.port, port, ctx: ctx)
        }
        for subnet in try await RecordStore.select(.subnet, where: "network_id = \(bind: record.id)", db: ctx.db) {
            try await ctx.api.deleteRecord(.subnet, subnet, ctx: ctx)
        }
        try await ctx.db.raw("DELETE FROM rbac_policies WHERE object_type = 'network' AND object_id = \(bind: record.id)").run()
        try await ctx.db.raw("DELETE FROM network_dhcp_agents WHERE network_id = \(bind: record.id)").run()
        try await ctx.db.raw("DELETE FROM segments WHERE network_id = \(bind: record.id)").run()
        let id = record.id
        ctx.onCommit { await ctx.api.notifyDHCP(DHCPAgentMethods.networkDeleted, ["network_id": .string(id)]) }
    }

    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {
        let ids = records.map(\.id)
        let rows = try await db.raw(
            "SELECT id, network_id, ip_version, subnetpool_id FROM subnets WHERE network_id IN " + RecordStore.inList(ids) + " ORDER BY created_at, id"
        ).all()
        var subnets: [String: [JSON]] = [:]
        for row in rows {
            subnets[try row.decode(column: "network_id", as: String.self), default: []].append(.string(try row.decode(column: "id", as: String.self)))
        }
        var shared: Set<String> = []
        if let caller, !caller.isAdmin {
            let rbac = try await db.raw(
                "SELECT object_id FROM rbac_policies WHERE object_type = 'network' AND action = 'access_as_shared' AND target_tenant IN ("
                    + "\(bind: caller.projectID), '*') AND object_id IN " + RecordStore.inList(ids)
            ).all()
            shared = Set(try rbac.map { try $0.decode(column: "object_id", as: String.self) })
        }
        for i in records.indices {
            records[i]["subnets"] = .array(subnets[records[i].id] ?? [])
            records[i]["ipv4_address_scope"] = .null
            records[i]["ipv6_address_scope"] = .null
            if shared.contains(records[i].id) { records[i]["rbac_shared"] = true }
        }
    }
}
