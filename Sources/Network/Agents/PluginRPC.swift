import Foundation
import Logging
import ServiceLifecycle
import SQLKit
import StratusCore

/// The server side of the agent RPC interface (Neutron's `q-plugin` topic): agents report
/// their state and tell the server when devices come up or go down.
struct PluginRPC: Sendable {
    static let topic = "q-plugin"
    let api: NetworkAPI

    func listen() async throws {
        try await api.bus.listen(topic: Self.topic, server: "neutron-server") { message in
            try await handle(message)
        }
    }

    func handle(_ message: BusMessage) async throws -> JSON {
        switch message.method {
        case "report_state":
            try await Agents.report(message.args["agent_state"] ?? [:], api: api)
            return "alive"
        case "update_device_up":
            try await setStatus(port: message.args["device"]?.stringValue ?? "", up: true)
            return .null
        case "update_device_down":
            try await setStatus(port: message.args["device"]?.stringValue ?? "", up: false)
            return .null
        case "get_active_networks_info":
            return try await activeNetworks(host: message.args["host"]?.stringValue ?? "")
        default:
            throw BusError.remote("unknown method \(message.method)")
        }
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

    private func activeNetworks(host: String) async throws -> JSON {
        try await api.db.read { db in
            let rows = try await db.raw(
                "SELECT b.network_id FROM network_dhcp_agents b JOIN agents a ON a.id = b.agent_id WHERE a.host = \(bind: host)"
            ).all()
            return .array(try rows.map { .string(try $0.decode(column: "network_id", as: String.self)) })
        }
    }
}

/// Tells Compute when a server's port is plugged (`os-server-external-events`), as the
/// network service user; without service credentials (tests) events are only logged.
struct ComputeEvents: Sendable {
    let logger: Logger
    let compute: ServiceClient?

    func vifPlugged(port: Record) async {
        let server = port.string("device_id") ?? ""
        logger.debug("network-vif-plugged port \(port.id) server \(server)")
        guard let compute, !server.isEmpty else { return }
        let event: JSON = ["name": "network-vif-plugged", "server_uuid": .string(server), "tag": .string(port.id), "status": "completed"]
        do {
            let reply = try await compute.send(.POST, "/os-server-external-events", body: ["events": [event]])
            if !reply.ok, reply.status != 404 { logger.warning("network-vif-plugged for \(server): compute answered \(reply.status)") }
        } catch {
            logger.warning("network-vif-plugged for \(server): \(error)")
        }
    }
}

extension NetworkAPI {
    /// Casts a port change to the bridge agent of the port's host.
    func notifyPortUpdate(_ port: Record) async {
        guard let host = port.string("binding:host_id"), !host.isEmpty else { return }
        do {
            try await bus.cast(topic: "bridge_agent", server: host, method: "port_update", args: ["port": .object(port)])
        } catch {
            logger.debug("no bridge agent on \(host): \(error)")
        }
    }

    func notifyDHCP(_ method: String, _ payload: JSON) async {
        try? await bus.fanout(topic: "dhcp_agent", message: BusMessage(method: method, args: ["payload": payload]))
    }

    func notifyL3(_ method: String, _ payload: JSON) async {
        try? await bus.fanout(topic: "l3_agent", message: BusMessage(method: method, args: payload))
    }
}

/// The local agents with a no-op dataplane: real participants on the bus (they register,
/// heartbeat and acknowledge ports) that change nothing on the host. The Linux dataplane
/// replaces their bodies, not their protocol.
final class NoopAgent: Service, Sendable {
    let type: String
    let binary: String
    let topic: String
    let host: String
    let configurations: JSON
    let bus: any BusTransport
    let reportInterval: Int
    let logger: Logger

    init(type: String, binary: String, topic: String, host: String, configurations: JSON, bus: any BusTransport, reportInterval: Int, logger: Logger) {
        self.type = type
        self.binary = binary
        self.topic = topic
        self.host = host
        self.configurations = configurations
        self.bus = bus
        self.reportInterval = reportInterval
        self.logger = logger
    }

    static func all(host: String, bus: any BusTransport, reportInterval: Int, logger: Logger) -> [NoopAgent] {
        [
            NoopAgent(
                type: "Linux bridge agent", binary: "neutron-linuxbridge-agent", topic: "bridge_agent", host: host,
                configurations: ["bridge_mappings": [:], "interface_mappings": ["public": "br-ex"], "devices": 0, "extensions": []],
                bus: bus, reportInterval: reportInterval, logger: logger),
            NoopAgent(
                type: "DHCP agent", binary: "neutron-dhcp-agent", topic: "dhcp_agent", host: host,
                configurations: ["dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq", "dhcp_lease_duration": 86400, "networks": 0, "ports": 0, "subnets": 0],
                bus: bus, reportInterval: reportInterval, logger: logger),
            NoopAgent(
                type: "L3 agent", binary: "neutron-l3-agent", topic: "l3_agent", host: host,
                configurations: ["agent_mode": "legacy", "routers": 0, "gateway_external_network_id": "", "external_network_bridge": ""],
                bus: bus, reportInterval: reportInterval, logger: logger),
            NoopAgent(
                type: "Metadata agent", binary: "neutron-metadata-agent", topic: "N/A", host: host,
                configurations: ["metadata_proxy_socket": "", "nova_metadata_host": "127.0.0.1"],
                bus: bus, reportInterval: reportInterval, logger: logger),
        ]
    }

    /// Listens on `<topic>.<host>` and sends the first report.
    func start() async throws {
        if topic != "N/A" {
            try await bus.listen(topic: topic, server: host) { [self] message in try await self.handle(message) }
        }
        await report(start: true)
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(self.reportInterval))
                await self.report(start: false)
            }
        }
    }

    private func report(start: Bool) async {
        let state: JSON = [
            "agent_type": .string(type), "binary": .string(binary), "topic": .string(topic), "host": .string(host),
            "configurations": configurations, "start_flag": .bool(start), "availability_zone": type == "Metadata agent" || type == "Linux bridge agent" ? .null : "nova",
        ]
        do {
            _ = try await bus.call(topic: PluginRPC.topic, method: "report_state", args: ["agent_state": state], timeout: .seconds(10))
        } catch {
            logger.warning("\(type) on \(host): report_state failed: \(error)")
        }
    }

    private func handle(_ message: BusMessage) async throws -> JSON {
        switch message.method {
        case "port_update":
            // the bridge agent "plugs" a bound port and reports it up
            guard let port = message.args["port"], let id = port["id"]?.stringValue else { return .null }
            let method = port["admin_state_up"]?.boolValue == false ? "update_device_down" : "update_device_up"
            _ = try await bus.call(topic: PluginRPC.topic, method: method, args: ["device": .string(id), "host": .string(host)], timeout: .seconds(10))
            return .null
        default:
            return .null
        }
    }
}
