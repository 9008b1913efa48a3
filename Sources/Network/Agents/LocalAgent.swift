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
            try await bus.listen(handlers, server: host)
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
            _ = try await bus.call(PluginMethods.reportState, AgentReport(agentState: state), timeout: .seconds(10))
        } catch {
            logger.warning("\(type) on \(host): report_state failed: \(error)")
        }
    }

    /// What the agent of this type answers on its topic; the DHCP agent takes the network
    /// notifications but has no DHCP server to configure yet.
    private var handlers: RPCHandlers {
        var rpc = RPCHandlers(topic: topic)
        switch topic {
        case BridgeAgentMethods.topic:
            rpc.on(BridgeAgentMethods.portUpdate) { [self] args in
                portUpdated(args.port)
                return NoReply()
            }
            rpc.on(BridgeAgentMethods.securityGroupsUpdated) { [self] _ in
                Task { await syncFirewall() }
                return NoReply()
            }
        case L3AgentMethods.topic:
            for method in [L3AgentMethods.routersUpdated, L3AgentMethods.routerDeleted] {
                rpc.on(method) { [self] _ in
                    syncRoutersLater()
                    return NoReply()
                }
            }
        case DHCPAgentMethods.topic:
            for method in [
                DHCPAgentMethods.networkCreated, DHCPAgentMethods.networkDeleted, DHCPAgentMethods.subnetCreated,
                DHCPAgentMethods.subnetUpdated, DHCPAgentMethods.subnetDeleted,
            ] {
                rpc.on(method) { _ in NoReply() }
            }
        default:
            break
        }
        return rpc
    }

    /// The bridge agent reports a bound port up once its device is on the machine, filtered
    /// first, as Neutron's agent does.
    private func portUpdated(_ port: JSON) {
        guard let id = port["id"]?.stringValue else { return }
        let up = port["admin_state_up"]?.boolValue != false
        Task { [self] in
            await syncFirewall()
            if up, !(await dataplane.waitForDevice(port: id)) { return }
            let method = up ? PluginMethods.deviceUp : PluginMethods.deviceDown
            await logger.bestEffort("\(method.name) for port \(id)") {
                try await bus.call(method, DeviceArgs(device: id, host: host), timeout: .seconds(10))
            }
        }
    }

    /// What the agent keeps in step with the server besides its heartbeat.
    private func syncLater() {
        if topic == L3AgentMethods.topic { syncRoutersLater() }
        if topic == BridgeAgentMethods.topic { Task { [self] in await syncFirewall() } }
    }

    /// Asks the server for the security groups of this host's ports and hands them to the
    /// dataplane (which skips what has not changed).
    private func syncFirewall() async {
        guard dataplane.filtersPorts else { return }
        do {
            let info = try await bus.call(PluginMethods.securityGroupInfo, HostArgs(host: host), timeout: .seconds(30))
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
                let routers = try await bus.call(PluginMethods.syncRouters, HostArgs(host: host), timeout: .seconds(30))
                await dataplane.syncRouters(routers.arrayValue ?? [])
            } catch {
                logger.warning("L3 agent on \(host): sync_routers failed: \(error)")
            }
        }
    }
}
