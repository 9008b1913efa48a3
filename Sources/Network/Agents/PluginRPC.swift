import Foundation
import Logging
import ServiceLifecycle
import SQLKit
import StratusCore

/// The server side of the agent RPC interface (Neutron's `q-plugin` topic): agents report
/// their state and tell the server when devices come up or go down.
struct PluginRPC: Sendable {
    let api: NetworkAPI

    func listen() async throws {
        try await api.bus.listen(handlers, server: "neutron-server")
    }

    var handlers: RPCHandlers {
        var rpc = RPCHandlers(topic: PluginMethods.topic)
        rpc.on(PluginMethods.reportState) { report in
            try await Agents.report(report.agentState, api: api)
            return "alive"
        }
        rpc.on(PluginMethods.deviceUp) { try await setStatus(port: $0.device, up: true); return NoReply() }
        rpc.on(PluginMethods.deviceDown) { try await setStatus(port: $0.device, up: false); return NoReply() }
        rpc.on(PluginMethods.syncRouters) { _ in try await routers() }
        rpc.on(PluginMethods.securityGroupInfo) { try await securityGroupInfo(host: $0.host) }
        rpc.on(PluginMethods.activeNetworks) { try await activeNetworks(host: $0.host) }
        return rpc
    }

    /// DOWN -> ACTIVE when the bridge agent has wired the port (and back).
    private func setStatus(port: String, up: Bool) async throws {
        let changed: Record? = try await api.db.transaction { db in
            guard let record = try await RecordStore.get(.port, id: port, db: db) else { return nil }
            let status = up && record.bool("admin_state_up") ? "ACTIVE" : "DOWN"
            guard record.string("status") != status else { return nil }
            try await RecordStore.update(
                .port, id: port,
                values: ["status": .string(status), "revision_number": .int((record.int("revision_number") ?? 0) + 1)], db: db)
            var updated = record
            updated["status"] = .string(status)
            return updated
        }
        if let changed, up, (changed.string("device_owner") ?? "").hasPrefix("compute:") {
            await api.computeEvents.vifPlugged(port: changed)
        }
    }

    /// The routers with what an L3 agent wires: gateway and interface addresses (IPv4) and
    /// floating IPs.
    private func routers() async throws -> JSON {
        try await api.db.read { db in
            let routers = try await RecordStore.select(.router, order: "id", db: db)
            var ports = try await RecordStore.select(.port, where: "device_owner IN ('network:router_gateway', 'network:router_interface')", db: db)
            try await api.expand(.port, &ports, caller: nil, db: db)
            var subnets: [String: Record] = [:]
            for subnet in try await RecordStore.select(.subnet, where: "ip_version = 4", db: db) { subnets[subnet.id] = subnet }
            let floating = try await RecordStore.select(.floatingIP, where: "router_id IS NOT NULL AND fixed_ip_address IS NOT NULL", db: db)
            func addresses(_ port: Record) -> [JSON] {
                (port["fixed_ips"]?.arrayValue ?? []).compactMap { ip -> JSON? in
                    guard let subnet = subnets[ip["subnet_id"]?.stringValue ?? ""], let cidr = subnet.string("cidr") else { return nil }
                    return ["ip": ip["ip_address"] ?? "", "cidr": .string(cidr), "gateway": subnet["gateway_ip"] ?? .null]
                }
            }
            return .array(routers.map { router in
                let own = ports.filter { $0.string("device_id") == router.id }
                let gateway = own.first { $0.string("device_owner") == "network:router_gateway" }
                return [
                    "id": .string(router.id), "admin_state_up": router["admin_state_up"] ?? true,
                    "enable_snat": router["external_gateway_info"]?["enable_snat"] ?? true,
                    "gateway": gateway.map { ["port": .string($0.id), "network": $0["network_id"] ?? "", "addresses": .array(addresses($0))] } ?? .null,
                    "interfaces": .array(own.filter { $0.string("device_owner") == "network:router_interface" }.map {
                        ["port": .string($0.id), "network": $0["network_id"] ?? "", "addresses": .array(addresses($0))]
                    }),
                    "floating_ips": .array(floating.filter { $0.string("router_id") == router.id }.map {
                        ["floating": $0["floating_ip_address"] ?? "", "fixed": $0["fixed_ip_address"] ?? ""]
                    }),
                ]
            })
        }
    }

    /// What the bridge agent of `host` filters: its guests' ports with port security (id,
    /// MAC, IPv4 addresses, allowed address pairs, groups), the rules of those groups, and
    /// the IPv4 addresses of every port in the groups the rules name as remote.
    private func securityGroupInfo(host: String) async throws -> JSON {
        try await api.db.read { db in
            var ports = try await RecordStore.select(.port, where: "device_owner LIKE 'compute:%'", order: "id", db: db)
            try await api.expand(.port, &ports, caller: nil, db: db)
            func groups(_ port: Record) -> [String] { port["security_groups"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
            func addresses(_ port: Record) -> [JSON] {
                (port["fixed_ips"]?.arrayValue ?? []).compactMap { $0["ip_address"] }.filter { !($0.stringValue ?? ":").contains(":") }
            }
            let local = ports.filter { $0.string("binding:host_id") == host && $0["port_security_enabled"]?.boolValue != false }
            let used = Set(local.flatMap(groups))
            let rules = used.isEmpty ? [] : try await RecordStore.select(
                .securityGroupRule, where: "security_group_id IN " + RecordStore.inList(Array(used)), order: "created_at, id", db: db)
            let remote = Set(rules.compactMap { $0.string("remote_group_id") })
            var members: [String: [JSON]] = [:]
            for port in ports {
                for group in groups(port) where remote.contains(group) { members[group, default: []] += addresses(port) }
            }
            return [
                "ports": .array(local.map { port in
                    [
                        "id": .string(port.id), "mac": port["mac_address"] ?? "", "ips": .array(addresses(port)),
                        "allowed_address_pairs": port["allowed_address_pairs"] ?? [], "security_groups": JSON(groups(port)),
                    ]
                }),
                "rules": .array(rules.map { rule in
                    .object(rule.filter { ["security_group_id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max",
                                           "remote_ip_prefix", "remote_group_id"].contains($0.key) })
                }),
                "members": .object(members.mapValues { .array($0) }),
            ]
        }
    }

    private func activeNetworks(host: String) async throws -> [String] {
        try await api.db.read { db in
            let rows = try await db.raw(
                "SELECT b.network_id FROM network_dhcp_agents b JOIN agents a ON a.id = b.agent_id WHERE a.host = \(bind: host)"
            ).all()
            return try rows.map { try $0.decode(column: "network_id", as: String.self) }
        }
    }
}

/// Tells Compute what happened to a server's ports (`os-server-external-events`) as Neutron's
/// Nova notifier does, as the network service user; without service credentials (tests) events
/// are only logged.
struct ComputeEvents: Sendable {
    let logger: Logger
    let compute: ServiceClient?

    /// The port is up on its host: a build waiting for it goes on.
    func vifPlugged(port: Record) async {
        await send("network-vif-plugged", server: port.string("device_id") ?? "", port: port.id)
    }

    /// A floating IP came to or left the server's port: Nova reads the server's addresses again.
    func networkChanged(server: String, port: String) async {
        await send("network-changed", server: server, port: port)
    }

    private func send(_ name: String, server: String, port: String) async {
        logger.debug("\(name) port \(port) server \(server)")
        guard let compute, !server.isEmpty else { return }
        let event: JSON = ["name": .string(name), "server_uuid": .string(server), "tag": .string(port), "status": "completed"]
        do {
            let reply = try await compute.send(.POST, "/os-server-external-events", body: ["events": [event]])
            if !reply.ok, reply.status != 404 { logger.warning("\(name) for \(server): compute answered \(reply.status)") }
        } catch {
            logger.warning("\(name) for \(server): \(error)")
        }
    }
}

extension NetworkAPI {
    /// Casts a port change to the bridge agent of the port's host.
    func notifyPortUpdate(_ port: Record) async {
        guard let host = port.string("binding:host_id"), !host.isEmpty else { return }
        do {
            try await bus.cast(BridgeAgentMethods.portUpdate, to: host, PortUpdateArgs(port: .object(port)))
        } catch {
            logger.debug("no bridge agent on \(host): \(error)")
        }
    }

    /// Tells every DHCP agent about a network or subnet change.
    func notifyDHCP(_ method: RPCMethod<NotificationArgs, NoReply>, _ payload: JSON) async {
        await logger.bestEffort("telling the DHCP agents \(method.name)") {
            try await bus.fanout(method, NotificationArgs(payload: payload))
        }
    }

    /// Tells every bridge agent to fetch its security groups again: rules, or the ports
    /// (and so the addresses) in a group, changed.
    func notifySecurityGroups() async {
        await logger.bestEffort("telling the bridge agents security_groups_updated") {
            try await bus.fanout(BridgeAgentMethods.securityGroupsUpdated, NoReply())
        }
    }

    /// Tells every L3 agent that `router` changed.
    func notifyRouterUpdated(_ router: String) async {
        await logger.bestEffort("telling the L3 agents routers_updated") {
            try await bus.fanout(L3AgentMethods.routersUpdated, RoutersArgs(routers: [router]))
        }
    }
}
