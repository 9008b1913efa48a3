import SQLKit
import StratusCore

extension ResourceKind {
    static let floatingIP = ResourceKind(
        collection: "floatingips", member: "floatingip", displayName: "Floating IP",
        attributes: [
            StandardAttributes.id, StandardAttributes.projectID, StandardAttributes.description, StandardAttributes.createdAt,
            StandardAttributes.updatedAt, StandardAttributes.revision, StandardAttributes.tags,
            Attribute("floating_network_id", .text, put: false, required: true, convert: Validate.uuid),
            Attribute("floating_ip_address", .text, put: false, writeRule: "rule:admin_only", convert: Validate.ipOrNull),
            Attribute("subnet_id", .virtual, put: false, filterable: false, convert: Validate.uuidOrNull),
            Attribute("port_id", .text, default: .null, convert: Validate.uuidOrNull),
            Attribute("fixed_ip_address", .text, default: .null, convert: Validate.ipOrNull),
            Attribute("router_id", .text, post: false, put: false),
            Attribute("status", .text, post: false, put: false),
            Attribute("dns_name", .text, put: false, default: "", convert: Validate.string(255)),
            Attribute("dns_domain", .text, put: false, default: "", convert: Validate.string(255)),
            Attribute("qos_policy_id", .text, default: .null, convert: Validate.uuidOrNull),
            Attribute("qos_network_policy_id", .virtual, post: false, put: false, filterable: false),
            Attribute("port_details", .virtual, post: false, put: false, filterable: false),
            Attribute("port_forwardings", .virtual, post: false, put: false, filterable: false),
        ],
        hooks: FloatingIPHooks(), quotaResource: "floatingip", indexes: [["port_id"], ["router_id"], ["floating_network_id"]],
        notFoundType: "FloatingIPNotFound")
}

struct FloatingIPHooks: ResourceHooks {
    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        try await QoS.checkBinding(record, ctx: ctx)
        let networkID = record.string("floating_network_id") ?? ""
        guard let network = try await RecordStore.get(.network, id: networkID, db: ctx.db) else {
            throw NeutronError.notFound(.network, id: networkID)
        }
        guard network.bool("router:external") else {
            throw NeutronError.badRequest("Bad floatingip request: Network \(networkID) is not a valid external network.")
        }
        var fixed: Record = [:]
        if let subnet = record.string("subnet_id") { fixed["subnet_id"] = .string(subnet) }
        if let address = record.string("floating_ip_address") { fixed["ip_address"] = .string(address) }
        if fixed.isEmpty {
            // a v4 address from the first IPv4 subnet with room
            let subnets = try await IPAM.subnets(network: networkID, db: ctx.db).filter { $0.cidr.version == 4 }
            guard !subnets.isEmpty else {
                throw NeutronError.badRequest("Bad floatingip request: Network \(networkID) does not contain any IPv4 subnet.")
            }
            var found: String?
            for subnet in subnets where try await IPAM.hasRoom(subnet, db: ctx.db) {
                found = subnet.id
                break
            }
            guard let found else { throw NeutronError.ipGenerationFailure(network: networkID) }
            fixed["subnet_id"] = .string(found)
        }
        let port = try await ctx.createInternal(
            .port,
            [
                "network_id": .string(networkID), "project_id": "", "name": "", "device_owner": "network:floatingip",
                "device_id": .string(record.id), "admin_state_up": true, "fixed_ips": [.object(fixed)],
            ])
        let address = port["fixed_ips"]?.arrayValue?.first?["ip_address"]
        guard let address, IPAddress(address.stringValue ?? "")?.version == 4 else {
            throw NeutronError.badRequest("Bad floatingip request: Network \(networkID) has no IPv4 subnet.")
        }
        record["floating_ip_address"] = address
        record.removeValue(forKey: "subnet_id")
        record["status"] = "DOWN"
        record["router_id"] = .null
        if record.string("port_id") != nil {
            try await FloatingIPs.associate(&record, ctx: ctx)
        } else {
            record["fixed_ip_address"] = .null
        }
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        try await QoS.checkBinding(changes, ctx: ctx)
        guard changes["port_id"] != nil || changes["fixed_ip_address"] != nil else { return }
        if record.string("port_id") == nil {
            record["fixed_ip_address"] = .null
            record["router_id"] = .null
            record["status"] = "DOWN"
        } else {
            if changes["fixed_ip_address"] == nil, changes["port_id"] != old["port_id"] { record["fixed_ip_address"] = .null }
            try await FloatingIPs.associate(&record, ctx: ctx)
        }
    }

    func didCreate(_ record: inout Record, ctx: HookContext) async throws {
        if let router = record.string("router_id") {
            ctx.onCommit { await ctx.api.notifyRouterUpdated(router) }
        }
        try await notifyServers(of: [record.string("port_id")], ctx: ctx)
    }

    func didUpdate(_ record: inout Record, old: Record, ctx: HookContext) async throws {
        if let router = record.string("router_id") ?? old.string("router_id") {
            ctx.onCommit { await ctx.api.notifyRouterUpdated(router) }
        }
        if record["port_id"] != old["port_id"] || record["fixed_ip_address"] != old["fixed_ip_address"] {
            try await notifyServers(of: [record.string("port_id"), old.string("port_id")], ctx: ctx)
        }
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        if let router = record.string("router_id") {
            ctx.onCommit { await ctx.api.notifyRouterUpdated(router) }
        }
        try await notifyServers(of: [record.string("port_id")], ctx: ctx)
        try await ctx.db.raw("DELETE FROM port_forwardings WHERE floatingip_id = \(bind: record.id)").run()
        for port in try await RecordStore.select(.port, where: "device_owner = 'network:floatingip' AND device_id = \(bind: record.id)", db: ctx.db) {
            try await ctx.api.deleteRecord(.port, port, ctx: ctx)
        }
    }

    /// Nova lists a server's floating addresses from its network info cache, which it refreshes
    /// on `network-changed`: sent, once committed, for each server port the floating IP came to or left.
    private func notifyServers(of ports: [String?], ctx: HookContext) async throws {
        let ids = Array(Set(ports.compactMap { $0 }))
        guard !ids.isEmpty else { return }
        for port in try await RecordStore.select(.port, where: "id IN " + RecordStore.inList(ids), db: ctx.db) {
            guard port.string("device_owner")?.hasPrefix("compute:") == true, let server = port.string("device_id") else { continue }
            let events = ctx.api.computeEvents
            ctx.onCommit { Task { await events.networkChanged(server: server, port: port.id) } }
        }
    }

    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {
        let portIDs = records.compactMap { $0.string("port_id") }
        let ports = try await RecordStore.select(.port, where: "id IN " + RecordStore.inList(portIDs), db: db)
        let forwardings = try await RecordStore.select(.portForwarding, where: "floatingip_id IN " + RecordStore.inList(records.map(\.id)), db: db)
        for i in records.indices {
            records[i]["qos_network_policy_id"] = .null
            records[i]["port_forwardings"] = .array(forwardings.filter { $0.string("floatingip_id") == records[i].id }.map { .object($0) })
            guard let port = ports.first(where: { $0.id == records[i].string("port_id") }) else {
                records[i]["port_details"] = .null
                continue
            }
            records[i]["port_details"] = .object(
                port.filter { ["name", "network_id", "mac_address", "admin_state_up", "status", "device_id", "device_owner"].contains($0.key) })
        }
    }
}

enum FloatingIPs {
    /// Associates the floating IP with its `port_id`: the port's (chosen) IPv4 address must
    /// reach the floating network through a router with a gateway there.
    static func associate(_ record: inout Record, ctx: HookContext) async throws {
        let portID = record.string("port_id") ?? ""
        guard let port = try await RecordStore.get(.port, id: portID, db: ctx.db), ctx.caller.isAdmin || port.projectID == ctx.caller.projectID else {
            throw NeutronError.notFound(.port, id: portID)
        }
        if (port.string("device_owner") ?? "").hasPrefix("network:") {
            throw NeutronError.badRequest("Bad floatingip request: Port \(portID) has owner \(port.string("device_owner") ?? "") and therefore cannot be associated with a floating IP.")
        }
        let ips = try await IPAM.fixedIPs(ports: [portID], db: ctx.db)[portID] ?? []
        let v4 = ips.filter { IPAddress($0["ip_address"]?.stringValue ?? "")?.version == 4 }
        let chosen: JSON
        if let wanted = record.string("fixed_ip_address") {
            guard let match = ips.first(where: { $0["ip_address"]?.stringValue == wanted }) else {
                throw NeutronError.badRequest("Bad floatingip request: Port \(portID) does not have fixed ip \(wanted).")
            }
            guard IPAddress(wanted)?.version == 4 else {
                throw NeutronError.badRequest("Bad floatingip request: Cannot process floating IP association with \(wanted), since that is not an IPv4 address.")
            }
            chosen = match
        } else {
            guard let first = v4.first else {
                throw NeutronError.badRequest("Bad floatingip request: Port \(portID) does not have any IPv4 address.")
            }
            if v4.count > 1 {
                throw NeutronError.badRequest("Bad floatingip request: Port \(portID) has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP.")
            }
            chosen = first
        }
        let fixedIP = chosen["ip_address"]?.stringValue ?? ""
        let subnetID = chosen["subnet_id"]?.stringValue ?? ""
        let clash = try await RecordStore.select(
            .floatingIP,
            where: "port_id = \(bind: portID) AND fixed_ip_address = \(bind: fixedIP) AND floating_network_id = \(bind: record.string("floating_network_id") ?? "") AND id <> \(bind: record.id)",
            db: ctx.db)
        if let other = clash.first {
            throw NeutronError.conflict(
                "FloatingIPPortAlreadyAssociated",
                "Cannot associate floating IP \(record.string("floating_ip_address") ?? "") (\(record.id)) with port \(portID) using fixed IP \(fixedIP), as that fixed IP already has a floating IP on external network \(record.string("floating_network_id") ?? ""): \(other.id).")
        }
        guard let router = try await routerFor(subnet: subnetID, external: record.string("floating_network_id") ?? "", db: ctx.db) else {
            throw NeutronError.notFound(
                "ExternalGatewayForFloatingIPNotFound",
                "External network \(record.string("floating_network_id") ?? "") is not reachable from subnet \(subnetID). Therefore, cannot associate Port \(portID) with a Floating IP.")
        }
        record["fixed_ip_address"] = .string(fixedIP)
        record["router_id"] = .string(router)
        record["status"] = "ACTIVE"
    }

    /// A router with an interface on `subnet` and its gateway on `external`.
    static func routerFor(subnet: String, external: String, db: any SQLDatabase) async throws -> String? {
        let rows = try await db.raw(
            "SELECT DISTINCT p.device_id FROM ports p JOIN ip_allocations a ON a.port_id = p.id WHERE a.subnet_id = \(bind: subnet) "
                + "AND p.device_owner = 'network:router_interface'"
        ).all()
        for row in rows {
            let router = try row.decode(column: "device_id", as: String.self)
            if try await RecordStore.exists(
                .port, where: "device_id = \(bind: router) AND device_owner = 'network:router_gateway' AND network_id = \(bind: external)", db: db)
            {
                return router
            }
        }
        return nil
    }
}

extension ResourceKind {
    /// Port forwardings of a floating IP (`floating-ip-port-forwarding`).
    static let portForwarding = ResourceKind(
        collection: "port_forwardings", member: "port_forwarding", displayName: "Port forwarding",
        attributes: [
            StandardAttributes.id, StandardAttributes.description,
            Attribute("floatingip_id", .text, post: false, put: false),
            Attribute("external_port", .int, convert: Validate.intOrNull(min: 1, max: 65535)),
            Attribute("internal_port", .int, convert: Validate.intOrNull(min: 1, max: 65535)),
            Attribute("external_port_range", .text, default: .null, convert: Validate.stringOrNull(32)),
            Attribute("internal_port_range", .text, default: .null, convert: Validate.stringOrNull(32)),
            Attribute("internal_ip_address", .text, required: true, convert: Validate.ip),
            Attribute("internal_port_id", .text, required: true, convert: Validate.uuid),
            Attribute("protocol", .text, required: true, convert: Validate.oneOf(["tcp", "udp"])),
        ],
        hooks: PortForwardingHooks(), path: "floatingips/{parent}/port_forwardings", parentAttribute: "floatingip_id",
        parentKind: "floatingip", hasTags: false, projectScoped: false)
}

struct PortForwardingHooks: ResourceHooks {
    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        let portID = record.string("internal_port_id") ?? ""
        guard let port = try await RecordStore.get(.port, id: portID, db: ctx.db) else { throw NeutronError.notFound(.port, id: portID) }
        let ips = try await IPAM.fixedIPs(ports: [portID], db: ctx.db)[portID] ?? []
        guard ips.contains(where: { $0["ip_address"] == record["internal_ip_address"] }) else {
            throw NeutronError.badRequest("Bad port_forwarding request: The internal IP does not correspond to an address on the internal port \(port.id).")
        }
        if record.int("external_port") == nil && record.string("external_port_range") == nil {
            throw NeutronError.badRequest("Failed to parse request. Required attribute 'external_port' not specified")
        }
        let clash = try await RecordStore.exists(
            .portForwarding,
            where: "floatingip_id = \(bind: record.string("floatingip_id") ?? "") AND external_port = \(bind: record.int("external_port") ?? -1) AND protocol = \(bind: record.string("protocol") ?? "")",
            db: ctx.db)
        if clash {
            throw NeutronError.badRequest("Bad port_forwarding request: A duplicate port forwarding entry with same attributes already exists.")
        }
    }
}
