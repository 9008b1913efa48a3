import StratusCore

/// The agent RPC interface: what agents ask the server (Neutron's `q-plugin` topic) and
/// what the server tells them (`bridge_agent`, `l3_agent`, `dhcp_agent`). Wire names
/// follow Neutron's. Router and security group documents stay JSON: the dataplane reads
/// them as Neutron's agents do.
enum PluginMethods {
    static let topic = "q-plugin"

    static let reportState = RPCMethod<AgentReport, String>(topic: topic, "report_state")
    static let deviceUp = RPCMethod<DeviceArgs, NoReply>(topic: topic, "update_device_up")
    static let deviceDown = RPCMethod<DeviceArgs, NoReply>(topic: topic, "update_device_down")
    static let syncRouters = RPCMethod<HostArgs, JSON>(topic: topic, "sync_routers")
    static let securityGroupInfo = RPCMethod<HostArgs, JSON>(topic: topic, "security_group_info_for_host")
    static let activeNetworks = RPCMethod<HostArgs, [String]>(topic: topic, "get_active_networks_info")
}

enum BridgeAgentMethods {
    static let topic = "bridge_agent"

    static let portUpdate = RPCMethod<PortUpdateArgs, NoReply>(topic: topic, "port_update")
    static let securityGroupsUpdated = RPCMethod<NoReply, NoReply>(topic: topic, "security_groups_updated")
}

enum L3AgentMethods {
    static let topic = "l3_agent"

    static let routersUpdated = RPCMethod<RoutersArgs, NoReply>(topic: topic, "routers_updated")
    static let routerDeleted = RPCMethod<RoutersArgs, NoReply>(topic: topic, "router_deleted")
}

enum DHCPAgentMethods {
    static let topic = "dhcp_agent"

    static let networkCreated = RPCMethod<NotificationArgs, NoReply>(topic: topic, "network_create_end")
    static let networkDeleted = RPCMethod<NotificationArgs, NoReply>(topic: topic, "network_delete_end")
    static let subnetCreated = RPCMethod<NotificationArgs, NoReply>(topic: topic, "subnet_create_end")
    static let subnetUpdated = RPCMethod<NotificationArgs, NoReply>(topic: topic, "subnet_update_end")
    static let subnetDeleted = RPCMethod<NotificationArgs, NoReply>(topic: topic, "subnet_delete_end")
}

struct AgentReport: Codable, Sendable {
    var agentState: JSON

    enum CodingKeys: String, CodingKey { case agentState = "agent_state" }
}

/// A port that came up or went down on an agent's host.
struct DeviceArgs: Codable, Sendable {
    var device: String
    var host: String
}

struct HostArgs: Codable, Sendable {
    var host: String
}

/// The port as the API shows it.
struct PortUpdateArgs: Codable, Sendable {
    var port: JSON
}

struct RoutersArgs: Codable, Sendable {
    var routers: [String]
}

/// A resource notification for the DHCP agent (`network_create_end` ...): Neutron's payload.
struct NotificationArgs: Codable, Sendable {
    var payload: JSON
}
