import Hummingbird
import SQLKit
import StratusCore

extension ResourceKind {
    static let router = ResourceKind(
        collection: "routers", member: "router", displayName: "Router",
        attributes: StandardAttributes.all + [
            Attribute("admin_state_up", .bool, default: true, convert: Validate.bool),
            Attribute("status", .text, post: false, put: false),
            Attribute("external_gateway_info", .json, default: .null, filterable: false, convert: { value in
                if value.isNull || value.objectValue?.isEmpty == true { return .null }
                return try Validate.dict(
                    required: ["network_id"], optional: ["enable_snat", "external_fixed_ips", "qos_policy_id"],
                    ["network_id": Validate.uuid, "enable_snat": Validate.bool, "external_fixed_ips": Validate.list(Validate.object)])(value)
            }),
            Attribute("routes", .json, post: false, default: [],
                convert: Validate.list(Validate.dict(required: ["destination", "nexthop"], ["destination": Validate.cidr, "nexthop": Validate.ip]))),
            Attribute("distributed", .bool, default: false, readRule: "rule:admin_only", writeRule: "rule:admin_only", convert: Validate.bool),
            Attribute("ha", .bool, default: false, readRule: "rule:admin_only", writeRule: "rule:admin_only", convert: Validate.bool),
            Attribute("availability_zone_hints", .json, put: false, default: [], convert: Validate.stringList),
            Attribute("availability_zones", .json, post: false, put: false),
            Attribute("flavor_id", .text, put: false, default: .null, convert: Validate.uuidOrNull),
            Attribute("enable_ndp_proxy", .bool, default: false, convert: Validate.bool),
        ],
        hooks: RouterHooks(), quotaResource: "router")
}

struct RouterHooks: ResourceHooks {
    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        record["status"] = "ACTIVE"
        record["routes"] = []
        record["availability_zones"] = record["availability_zone_hints"]?.arrayValue?.isEmpty == false ? record["availability_zone_hints"] : ["nova"]
        if let info = record["external_gateway_info"], !info.isNull {
            try Routers.checkGatewayRights(info, ctx: ctx)
            record["external_gateway_info"] = try await Routers.setGateway(router: record, info: info, ctx: ctx)
        }
    }

    func didCreate(_ record: inout Record, ctx: HookContext) async throws {
        try await L3Scheduling.schedule(router: record.id, ctx: ctx)
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        if let info = changes["external_gateway_info"] {
            if !info.isNull { try Routers.checkGatewayRights(info, ctx: ctx) }
            record["external_gateway_info"] = try await Routers.setGateway(router: old, info: info, ctx: ctx)
        }
        if changes["routes"] != nil { try await Routers.checkRoutes(record, ctx: ctx) }
        if old.bool("distributed") != record.bool("distributed") || old.bool("ha") != record.bool("ha"), old.bool("admin_state_up") {
            throw NeutronError.badRequest("Cannot upgrade active router to distributed or HA. Please set router admin_state_up to False prior to upgrade")
        }
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        if try await RecordStore.exists(.port, where: "device_id = \(bind: record.id) AND device_owner = 'network:router_interface'", db: ctx.db) {
            throw NeutronError.inUse("RouterInUse", "Router \(record.id) still has ports")
        }
        _ = try await Routers.setGateway(router: record, info: .null, ctx: ctx)
        try await ctx.db.raw("DELETE FROM router_l3_agents WHERE router_id = \(bind: record.id)").run()
    }

    /// Gateway fixed IPs are read from the gateway port, so they follow its changes.
    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {
        let gateways = try await RecordStore.select(
            .port, where: "device_owner = 'network:router_gateway' AND device_id IN " + RecordStore.inList(records.map(\.id)), db: db)
        let ips = try await IPAM.fixedIPs(ports: gateways.map(\.id), db: db)
        for i in records.indices {
            guard var info = records[i]["external_gateway_info"]?.objectValue,
                let port = gateways.first(where: { $0.string("device_id") == records[i].id })
            else { continue }
            info["external_fixed_ips"] = .array(ips[port.id] ?? [])
            records[i]["external_gateway_info"] = .object(info)
        }
    }
}

/// Router gateways, interfaces and routes.
enum Routers {
    static func checkGatewayRights(_ info: JSON, ctx: HookContext) throws {
        guard !ctx.caller.isAdmin else { return }
        if info["external_fixed_ips"] != nil { throw NeutronError.policy("create_router:external_gateway_info:external_fixed_ips") }
    }

    /// Sets, changes or (with null) clears the router's gateway; returns the new info.
    static func setGateway(router: Record, info: JSON, ctx: HookContext) async throws -> JSON {
        let existing = try await RecordStore.select(
            .port, where: "device_id = \(bind: router.id) AND device_owner = 'network:router_gateway'", db: ctx.db)
        let current = router["external_gateway_info"]
        ctx.onCommit { await ctx.api.notifyRouterUpdated(router.id) }
        if info.isNull {
            if let network = current?["network_id"]?.stringValue,
                try await RecordStore.exists(.floatingIP, where: "router_id = \(bind: router.id) AND floating_network_id = \(bind: network)", db: ctx.db)
            {
                throw NeutronError.conflict(
                    "RouterExternalGatewayInUseByFloatingIp",
                    "Gateway cannot be updated for router \(router.id), since a gateway to external network \(network) is required by one or more floating IPs.")
            }
            for port in existing { try await ctx.api.deleteRecord(.port, port, ctx: ctx) }
            return .null
        }
        let networkID = info["network_id"]?.stringValue ?? ""
        guard let network = try await RecordStore.get(.network, id: networkID, db: ctx.db) else {
            throw NeutronError.notFound(.network, id: networkID)
        }
        guard network.bool("router:external") else {
            throw NeutronError.badRequest("Bad router request: Network \(networkID) is not an external network.")
        }
        var result: [String: JSON] = ["network_id": .string(networkID), "enable_snat": info["enable_snat"] ?? current?["enable_snat"] ?? true]
        if let port = existing.first, current?["network_id"]?.stringValue == networkID {
            if let wanted = info["external_fixed_ips"] {
                _ = try await IPAM.reallocate(
                    port: port.id, network: networkID, mac: port.string("mac_address") ?? "", requested: wanted,
                    deviceOwner: "network:router_gateway", db: ctx.db)
            }
        } else {
            for port in existing { try await ctx.api.deleteRecord(.port, port, ctx: ctx) }
            var portInput: Record = [
                "network_id": .string(networkID), "device_owner": "network:router_gateway", "device_id": .string(router.id),
                "project_id": "", "name": "", "admin_state_up": true,
            ]
            if let wanted = info["external_fixed_ips"] { portInput["fixed_ips"] = wanted }
            let port = try await ctx.createInternal(.port, portInput)
            if (port["fixed_ips"]?.arrayValue ?? []).isEmpty {
                throw NeutronError.badRequest("Bad router request: No IP addresses available on external network \(networkID).")
            }
        }
        result["external_fixed_ips"] = []
        return .object(result)
    }

    static func checkRoutes(_ router: Record, ctx: HookContext) async throws {
        let ports = try await RecordStore.select(.port, where: "device_id = \(bind: router.id) AND device_owner LIKE 'network:router_%'", db: ctx.db)
        let ips = try await IPAM.fixedIPs(ports: ports.map(\.id), db: ctx.db)
        var cidrs: [CIDR] = []
        for subnetID in Set(ips.values.flatMap { $0 }.compactMap { $0["subnet_id"]?.stringValue }) {
            if let subnet = try await RecordStore.get(.subnet, id: subnetID, db: ctx.db), let cidr = CIDR(subnet.string("cidr") ?? "") {
                cidrs.append(cidr)
            }
        }
        let routes = router["routes"]?.arrayValue ?? []
        for (i, route) in routes.enumerated() {
            let nexthop = route["nexthop"]?.stringValue ?? ""
            if routes[..<i].contains(route) {
                throw NeutronError.badRequest("Invalid format for routes: \(route.serialized()), duplicate route").typed("InvalidRoutes")
            }
            guard let ip = IPAddress(nexthop), cidrs.contains(where: { $0.contains(ip) }) else {
                throw NeutronError.badRequest("Invalid format for routes: \(route.serialized()), the nexthop is not connected with router")
                    .typed("InvalidRoutes")
            }
            let portIPs = ips.values.flatMap { $0 }.compactMap { $0["ip_address"]?.stringValue }
            if portIPs.contains(ip.description) {
                throw NeutronError.badRequest("Invalid format for routes: \(route.serialized()), the nexthop is used by router").typed("InvalidRoutes")
            }
        }
    }
}

extension NetworkAPI {
    func registerRouterInterfaces(on router: Router<StratusContext>) {
        router.put("/v2.0/routers/:id/add_router_interface") { request, context -> Response in
            try await self.routerInterface(add: true, request, context)
        }
        router.put("/v2.0/routers/:id/remove_router_interface") { request, context -> Response in
            try await self.routerInterface(add: false, request, context)
        }
        router.put("/v2.0/routers/:id/add_extraroutes") { request, context in try await self.extraRoutes(add: true, request, context) }
        router.put("/v2.0/routers/:id/remove_extraroutes") { request, context in try await self.extraRoutes(add: false, request, context) }
    }

    private func routerInterface(add: Bool, _ request: Request, _ context: StratusContext) async throws -> Response {
        let caller = try caller(context)
        let id = context.parameters.get("id") ?? ""
        let body = try await request.jsonObject(context: context)
        let subnetID = body["subnet_id"]?.stringValue
        let portID = body["port_id"]?.stringValue
        if add, subnetID != nil, portID != nil { throw NeutronError.badRequest("Bad router request: Cannot specify both subnet-id and port-id.") }
        if subnetID == nil, portID == nil { throw NeutronError.badRequest("Bad router request: Either subnet_id or port_id must be specified.") }
        let (result, actions): (JSON, [@Sendable () async -> Void]) = try await db.transactionRetryingConflicts { db in
            let ctx = HookContext(db: db, caller: caller, api: self)
            let router = try await self.load(.router, id: id, caller: caller, db: db)
            try self.enforce(add ? "add_router_interface" : "remove_router_interface", caller: caller, target: Self.target(router))
            let info = add
                ? try await RouterInterfaces.add(router: router, subnetID: subnetID, portID: portID, ctx: ctx)
                : try await RouterInterfaces.remove(router: router, subnetID: subnetID, portID: portID, ctx: ctx)
            try await db.raw("UPDATE routers SET revision_number = revision_number + 1 WHERE id = \(bind: id)").run()
            return (info, ctx.afterCommit)
        }
        for action in actions { await action() }
        return .json(result)
    }

    private func extraRoutes(add: Bool, _ request: Request, _ context: StratusContext) async throws -> Response {
        let caller = try caller(context)
        let id = context.parameters.get("id") ?? ""
        let body = try await request.jsonObject(context: context)
        guard let routes = body["router"]?["routes"] else { throw NeutronError.badRequest("Unable to find 'router' in request body") }
        let converted: JSON
        do {
            let convert = ResourceKind.router.attribute("routes")?.convert
            converted = try convert?(routes) ?? routes
        } catch let invalid as InvalidValue {
            throw NeutronError.badRequest("Invalid input for routes. Reason: \(invalid.reason).")
        }
        let record: Record = try await db.transactionRetryingConflicts { db in
            let ctx = HookContext(db: db, caller: caller, api: self)
            var router = try await self.load(.router, id: id, caller: caller, db: db)
            try self.enforce("update_router", caller: caller, target: Self.target(router))
            var current = router["routes"]?.arrayValue ?? []
            for route in converted.arrayValue ?? [] {
                if add { if !current.contains(route) { current.append(route) } } else { current.removeAll { $0 == route } }
            }
            router["routes"] = .array(current)
            try await Routers.checkRoutes(router, ctx: ctx)
            router["revision_number"] = .int((router.int("revision_number") ?? 0) + 1)
            try await RecordStore.update(.router, id: id, values: ["routes": router["routes"] ?? [], "revision_number": router["revision_number"] ?? 0], db: db)
            return router
        }
        return .json(["router": .object(render(.router, record, caller: caller))])
    }
}

enum RouterInterfaces {
    static func add(router: Record, subnetID: String?, portID: String?, ctx: HookContext) async throws -> JSON {
        var port: Record
        if let portID {
            port = try await ctx.api.load(.port, id: portID, caller: ctx.caller, db: ctx.db)
            if !(port.string("device_id") ?? "").isEmpty || !(port.string("device_owner") ?? "").isEmpty {
                throw NeutronError.conflict(
                    "PortInUse",
                    "Unable to complete operation on port \(portID) for network \(port.string("network_id") ?? ""). Port already has an attached device \(port.string("device_id") ?? "").")
            }
            let fixed = port["fixed_ips"]?.arrayValue ?? []
            guard !fixed.isEmpty else { throw NeutronError.badRequest("Bad router request: Router port must have at least one fixed IP.") }
            for ip in fixed {
                try await checkOverlap(router: router, subnetID: ip["subnet_id"]?.stringValue ?? "", ctx: ctx)
            }
            try await RecordStore.update(
                .port, id: portID, values: ["device_id": .string(router.id), "device_owner": "network:router_interface", "status": "ACTIVE"], db: ctx.db)
        } else {
            let subnetID = subnetID ?? ""
            let subnet = try await ctx.api.load(.subnet, id: subnetID, caller: ctx.caller, db: ctx.db)
            guard let gateway = subnet.string("gateway_ip") else {
                throw NeutronError.badRequest("Bad router request: Subnet \(subnetID) does not have a gateway IP.")
            }
            try await checkOverlap(router: router, subnetID: subnetID, ctx: ctx)
            port = try await ctx.createInternal(
                .port,
                [
                    "network_id": subnet["network_id"] ?? "", "project_id": .string(router.projectID), "name": "",
                    "device_owner": "network:router_interface", "device_id": .string(router.id), "admin_state_up": true,
                    "fixed_ips": [["subnet_id": .string(subnetID), "ip_address": .string(gateway)]],
                ])
        }
        let ips = try await IPAM.fixedIPs(ports: [port.id], db: ctx.db)[port.id] ?? []
        let subnetIDs = ips.compactMap { $0["subnet_id"]?.stringValue }
        let routerID = router.id
        ctx.onCommit { await ctx.api.notifyRouterUpdated(routerID) }
        return [
            "id": .string(router.id), "tenant_id": .string(router.projectID), "project_id": .string(router.projectID),
            "port_id": .string(port.id), "subnet_id": JSON(subnetIDs.first), "subnet_ids": JSON(subnetIDs),
            "network_id": port["network_id"] ?? .null,
        ]
    }

    /// Two interfaces of one router may not have overlapping subnets.
    private static func checkOverlap(router: Record, subnetID: String, ctx: HookContext) async throws {
        guard let subnet = try await RecordStore.get(.subnet, id: subnetID, db: ctx.db), let cidr = CIDR(subnet.string("cidr") ?? "") else { return }
        let rows = try await ctx.db.raw(
            "SELECT s.id, s.cidr FROM ip_allocations a JOIN ports p ON p.id = a.port_id JOIN subnets s ON s.id = a.subnet_id "
                + "WHERE p.device_id = \(bind: router.id) AND p.device_owner = 'network:router_interface'"
        ).all()
        for row in rows {
            let otherID = try row.decode(column: "id", as: String.self)
            guard let other = CIDR(try row.decode(column: "cidr", as: String.self)), other.overlaps(cidr) else { continue }
            if otherID == subnetID {
                throw NeutronError.badRequest("Bad router request: Router already has a port on subnet \(subnetID).")
            }
            throw NeutronError.badRequest("Bad router request: Cidr \(cidr) of subnet \(subnetID) overlaps with cidr \(other) of subnet \(otherID).")
        }
    }

    static func remove(router: Record, subnetID: String?, portID: String?, ctx: HookContext) async throws -> JSON {
        let ports = try await RecordStore.select(
            .port, where: "device_id = \(bind: router.id) AND device_owner = 'network:router_interface'", db: ctx.db)
        let ips = try await IPAM.fixedIPs(ports: ports.map(\.id), db: ctx.db)
        let port: Record
        if let portID {
            guard let match = ports.first(where: { $0.id == portID }) else {
                throw NeutronError.notFound("RouterInterfaceNotFound", "Router \(router.id) does not have an interface with id \(portID)")
            }
            if let subnetID, !(ips[portID] ?? []).contains(where: { $0["subnet_id"]?.stringValue == subnetID }) {
                throw NeutronError.conflict("SubnetMismatchForPort", "Subnet on port \(portID) does not match the requested subnet \(subnetID).")
            }
            port = match
        } else {
            let subnetID = subnetID ?? ""
            _ = try await ctx.api.load(.subnet, id: subnetID, caller: ctx.caller, db: ctx.db)
            guard let match = ports.first(where: { p in (ips[p.id] ?? []).contains { $0["subnet_id"]?.stringValue == subnetID } }) else {
                throw NeutronError.notFound("RouterInterfaceNotFoundForSubnet", "Router \(router.id) has no interface on subnet \(subnetID)")
            }
            port = match
        }
        let subnetIDs = (ips[port.id] ?? []).compactMap { $0["subnet_id"]?.stringValue }
        for subnet in subnetIDs {
            guard let record = try await RecordStore.get(.subnet, id: subnet, db: ctx.db), let cidr = CIDR(record.string("cidr") ?? "") else { continue }
            let fips = try await RecordStore.select(.floatingIP, where: "router_id = \(bind: router.id) AND fixed_ip_address IS NOT NULL", db: ctx.db)
            if fips.contains(where: { IPAddress($0.string("fixed_ip_address") ?? "").map(cidr.contains) ?? false }) {
                throw NeutronError.conflict(
                    "RouterInterfaceInUseByFloatingIP",
                    "Router interface for subnet \(subnet) on router \(router.id) cannot be deleted, as it is required by one or more floating IPs.")
            }
            for route in router["routes"]?.arrayValue ?? [] {
                if let hop = IPAddress(route["nexthop"]?.stringValue ?? ""), cidr.contains(hop) {
                    throw NeutronError.conflict(
                        "RouterInterfaceInUseByRoute",
                        "Router interface for subnet \(subnet) on router \(router.id) cannot be deleted, as it is required by one or more routes.")
                }
            }
        }
        try await ctx.api.deleteRecord(.port, port, ctx: ctx)
        let routerID = router.id
        ctx.onCommit { await ctx.api.notifyRouterUpdated(routerID) }
        return [
            "id": .string(router.id), "tenant_id": .string(router.projectID), "project_id": .string(router.projectID),
            "port_id": .string(port.id), "subnet_id": JSON(subnetIDs.first), "subnet_ids": JSON(subnetIDs),
            "network_id": port["network_id"] ?? .null,
        ]
    }
}
