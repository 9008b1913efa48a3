import Foundation
import Logging
import ServiceLifecycle
import StratusCore

/// The agents of this machine (Linux bridge, DHCP, L3, metadata): real participants on the
/// bus that register, heartbeat and answer the server's casts; what they change on the
/// machine is the dataplane's business (`LinuxDataplane`, or nothing).
final class LocalAgent: Service, Sendable {
    let type: String
    let binary: String
    let topic: String
    let host: String
    let configurations: JSON
    let bus: any BusTransport
    let dataplane: any Dataplane
    let reportInterval: Int
    let logger: Logger

    init(
        type: String, binary: String, topic: String, host: String, configurations: JSON, bus: any BusTransport, dataplane: any Dataplane,
        reportInterval: Int, logger: Logger
    ) {
        self.type = type
        self.binary = binary
        self.topic = topic
        self.host = host
        self.configurations = configurations
        self.bus = bus
        self.dataplane = dataplane
        self.reportInterval = reportInterval
        self.logger = logger
    }

    static func all(host: String, bus: any BusTransport, dataplane: any Dataplane, reportInterval: Int, logger: Logger) -> [LocalAgent] {
        func agent(_ type: String, _ binary: String, _ topic: String, _ configurations: JSON) -> LocalAgent {
            LocalAgent(
                type: type, binary: binary, topic: topic, host: host, configurations: configurations, bus: bus, dataplane: dataplane,
                reportInterval: reportInterval, logger: logger)
        }
        return [
            agent(
                "Linux bridge agent", "neutron-linuxbridge-agent", "bridge_agent",
                ["bridge_mappings": [:], "interface_mappings": ["public": "br-ex"], "devices": 0, "extensions": []]),
            agent(
                "DHCP agent", "neutron-dhcp-agent", "dhcp_agent",
                ["dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq", "dhcp_lease_duration": 86400, "networks": 0, "ports": 0, "subnets": 0]),
            agent(
                "L3 agent", "neutron-l3-agent", "l3_agent",
                ["agent_mode": "legacy", "routers": 0, "gateway_external_network_id": "", "external_network_bridge": ""]),
            agent("Metadata agent", "neutron-metadata-agent", "N/A", ["metadata_proxy_socket": "", "nova_metadata_host": "127.0.0.1"]),
        ]
    }

    /// Listens on `<topic>.<host>` and sends the first report.
    func start() async throws {
        if topic != "N/A" {
            try await bus.listen(topic: topic, server: host) { [self] message in try await self.handle(message) }
        }
        await report(start: true)
        syncLater()
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(self.reportInterval))
                await self.report(start: false)
                self.syncLater()
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
            // the bridge agent reports a bound port up once its device is on the machine
            guard let port = message.args["port"], let id = port["id"]?.stringValue else { return .null }
            let up = port["admin_state_up"]?.boolValue != false
            Task { [self] in
                // filtered before it is reported up, as Neutron's agent does
                await syncFirewall()
                if up, !(await dataplane.waitForDevice(port: id)) { return }
                let method = up ? "update_device_up" : "update_device_down"
                do {
                    _ = try await bus.call(topic: PluginRPC.topic, method: method, args: ["device": .string(id), "host": .string(host)], timeout: .seconds(10))
                } catch {
                    logger.warning("\(method) for port \(id) failed: \(error)")
                }
            }
            return .null
        case "routers_updated", "router_deleted":
            syncRoutersLater()
            return .null
        case "security_groups_updated":
            if topic == "bridge_agent" { Task { [self] in await syncFirewall() } }
            return .null
        default:
            return .null
        }
    }

    /// What the agent keeps in step with the server besides its heartbeat.
    private func syncLater() {
        if topic == "l3_agent" { syncRoutersLater() }
        if topic == "bridge_agent" { Task { [self] in await syncFirewall() } }
    }

    /// Asks the server for the security groups of this host's ports and hands them to the
    /// dataplane (which skips what has not changed).
    private func syncFirewall() async {
        guard dataplane.filtersPorts else { return }
        do {
            let info = try await bus.call(
                topic: PluginRPC.topic, method: "security_group_info_for_host", args: ["host": .string(host)], timeout: .seconds(30))
            await dataplane.syncFirewall(info)
        } catch {
            logger.warning("Linux bridge agent on \(host): security_group_info_for_host failed: \(error)")
        }
    }

    /// Asks the server for the routers and hands them to the dataplane (which skips what
    /// has not changed).
    private func syncRoutersLater() {
        guard dataplane.wiresRouters else { return }
        Task { [self] in
            do {
                let routers = try await bus.call(topic: PluginRPC.topic, method: "sync_routers", args: ["host": .string(host)], timeout: .seconds(30))
                await dataplane.syncRouters(routers.arrayValue ?? [])
            } catch {
                logger.warning("L3 agent on \(host): sync_routers failed: \(error)")
            }
        }
    }
}
