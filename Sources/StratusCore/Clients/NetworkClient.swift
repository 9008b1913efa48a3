/// The Network calls a service makes for its servers: their ports, the networks and
/// security groups they name, and the floating IPs on them. `token` is the caller's own
/// where a request acts for a user (what they may see); nil acts as the service user.
public protocol NetworkClient: Sendable {
    /// The port, or nil when it does not exist (or the token may not see it).
    func port(_ id: String, token: String?) async throws -> NetworkPort?
    func ports(_ filter: PortFilter) async throws -> [NetworkPort]
    func createPort(_ request: PortRequest) async throws -> NetworkPort
    func updatePort(_ id: String, _ update: PortUpdate) async throws -> NetworkPort
    /// Deletes the port; one already gone is not an error.
    func deletePort(_ id: String) async throws
    /// The network's name, or nil when it does not exist (or the token may not see it).
    func networkName(_ id: String, token: String?) async throws -> String?
    /// Ids of the tenant networks (not external) a boot without networks may use.
    func networkIDs(_ filter: NetworkFilter, token: String?) async throws -> [String]
    /// Security groups by id and name, of one project or all the token sees.
    func securityGroups(project: String?, token: String?) async throws -> [SecurityGroupName]
    func floatingIPs(onPorts ports: [String]) async throws -> [FloatingIPBinding]
    /// Subnets as Neutron shows them (for `network_data.json`).
    func subnets(_ ids: [String]) async throws -> [JSON]
}

public enum PortFilter: Sendable, Equatable {
    /// Ports of one server.
    case device(String)
    /// Ports bound to one compute host.
    case host(String)
    /// Ports holding a fixed address, on one network if given.
    case address(String, network: String?)
}

public enum NetworkFilter: Sendable, Equatable {
    case project(String)
    case shared
}

/// A Neutron port: what Compute reads of it, and the body as Neutron showed it (for
/// answers that pass it on, such as interface attachments).
public struct NetworkPort: Sendable, Equatable {
    public struct FixedIP: Sendable, Equatable {
        public var address: String
        public var subnetID: String
    }

    public var id: String
    public var networkID: String
    public var macAddress: String
    public var deviceID: String
    public var deviceOwner: String
    public var securityGroups: [String]
    public var fixedIPs: [FixedIP]
    public var body: JSON

    public init?(_ body: JSON) {
        guard let id = body["id"]?.stringValue else { return nil }
        self.id = id
        networkID = body["network_id"]?.stringValue ?? ""
        macAddress = body["mac_address"]?.stringValue ?? ""
        deviceID = body["device_id"]?.stringValue ?? ""
        deviceOwner = body["device_owner"]?.stringValue ?? ""
        securityGroups = body["security_groups"]?.arrayValue?.compactMap(\.stringValue) ?? []
        fixedIPs = (body["fixed_ips"]?.arrayValue ?? []).map {
            FixedIP(address: $0["ip_address"]?.stringValue ?? "", subnetID: $0["subnet_id"]?.stringValue ?? "")
        }
        self.body = body
    }

    /// Whether a server owns the port (`compute:<zone>`).
    public var ownedByServer: Bool { deviceOwner.hasPrefix("compute:") }
}

/// A port created for a server.
public struct PortRequest: Sendable, Equatable {
    public var networkID: String
    public var projectID: String
    public var binding: PortBinding
    /// Security group ids; nil leaves Neutron's default group.
    public var securityGroups: [String]?
    public var fixedIP: String?

    public init(
        networkID: String, projectID: String, binding: PortBinding, securityGroups: [String]? = nil,
        fixedIP: String? = nil
    ) {
        self.networkID = networkID
        self.projectID = projectID
        self.binding = binding
        self.securityGroups = securityGroups
        self.fixedIP = fixedIP
    }
}

/// Which server and host a port serves.
public struct PortBinding: Sendable, Equatable {
    public var deviceID: String
    public var deviceOwner: String
    public var host: String

    public init(deviceID: String, deviceOwner: String, host: String) {
        self.deviceID = deviceID
        self.deviceOwner = deviceOwner
        self.host = host
    }

    /// A port given back: no server, no host.
    public static let none = PortBinding(deviceID: "", deviceOwner: "", host: "")
}

/// A change to a port: only what is set is sent.
public enum PortUpdate: Sendable, Equatable {
    case bind(PortBinding)
    /// The port moves to another host (or to none, `""`), keeping its server.
    case host(String)
    case securityGroups([String])
}

public struct SecurityGroupName: Sendable, Equatable {
    public var id: String
    public var name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// A floating IP associated with a port's fixed address.
public struct FloatingIPBinding: Sendable, Equatable {
    public var portID: String
    public var fixedAddress: String
    public var address: String

    public init(portID: String, fixedAddress: String, address: String) {
        self.portID = portID
        self.fixedAddress = fixedAddress
        self.address = address
    }
}
