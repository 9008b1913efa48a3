import StratusCore

/// Neutron in memory: networks by name, ports with an address each from 10.0.0.0/24,
/// security groups and floating IPs set up by the test.
public actor FakeNetwork: NetworkClient {
    public private(set) var ports: [String: NetworkPort] = [:]
    private var networks: [String: String]
    private var groups: [SecurityGroupName]
    private var floating: [FloatingIPBinding] = []
    private var nextHost = 10
    /// Networks whose port creation fails (no addresses left), to exercise build failures.
    private var exhausted: Set<String> = []

    public init(networks: [String: String] = ["net-private": "private"], groups: [SecurityGroupName] = []) {
        self.networks = networks
        self.groups = groups
    }

    public func exhaust(_ network: String) { exhausted.insert(network) }
    public func associateFloatingIP(_ address: String, port: String) {
        guard let fixed = ports[port]?.fixedIPs.first?.address else { return }
        floating.append(FloatingIPBinding(portID: port, fixedAddress: fixed, address: address))
    }

    public func port(_ id: String, token: String?) -> NetworkPort? { ports[id] }

    public func ports(_ filter: PortFilter) -> [NetworkPort] {
        ports.values.sorted { $0.id < $1.id }.filter { port in
            switch filter {
            case .device(let uuid): return port.deviceID == uuid
            case .host(let host): return port.body["binding:host_id"]?.stringValue == host
            case .address(let address, let network):
                return port.fixedIPs.contains { $0.address == address } && (network == nil || network == port.networkID)
            }
        }
    }

    public func createPort(_ request: PortRequest) throws -> NetworkPort {
        guard networks[request.networkID] != nil else {
            let message = "Network \(request.networkID) could not be found."
            throw ServiceFault(service: "network", status: 404, message: message)
        }
        guard !exhausted.contains(request.networkID) else {
            let message = "No more IP addresses available on network \(request.networkID)."
            throw ServiceFault(service: "network", status: 409, message: message)
        }
        let id = "port-\(nextHost)"
        let address = request.fixedIP ?? "10.0.0.\(nextHost)"
        let body: JSON = [
            "id": .string(id), "network_id": .string(request.networkID), "project_id": .string(request.projectID),
            "mac_address": .string("fa:16:3e:00:00:\(nextHost)"),
            "fixed_ips": [["ip_address": .string(address), "subnet_id": "subnet-1"]],
            "security_groups": JSON(request.securityGroups ?? ["default"]),
        ]
        nextHost += 1
        return try store(id, body, binding: request.binding)
    }

    public func updatePort(_ id: String, _ update: PortUpdate) throws -> NetworkPort {
        guard var body = ports[id]?.body.objectValue else {
            throw ServiceFault(service: "network", status: 404, message: "Port \(id) could not be found.")
        }
        switch update {
        case .bind(let binding): return try store(id, .object(body), binding: binding)
        case .host(let host): body["binding:host_id"] = .string(host)
        case .securityGroups(let groups): body["security_groups"] = JSON(groups)
        }
        return try store(id, .object(body), binding: nil)
    }

    public func deletePort(_ id: String) { ports[id] = nil }

    public func networkName(_ id: String, token: String?) -> String? { networks[id] }

    public func networkIDs(_ filter: NetworkFilter, token: String?) -> [String] {
        filter == .shared ? [] : networks.keys.sorted()
    }

    public func securityGroups(project: String?, token: String?) -> [SecurityGroupName] { groups }

    public func floatingIPs(onPorts ports: [String]) -> [FloatingIPBinding] {
        floating.filter { ports.contains($0.portID) }
    }

    public func subnets(_ ids: [String]) -> [JSON] {
        ids.map { ["id": .string($0), "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1", "ip_version": 4] }
    }

    private func store(_ id: String, _ body: JSON, binding: PortBinding?) throws -> NetworkPort {
        var fields = body.objectValue ?? [:]
        if let binding {
            fields["device_id"] = .string(binding.deviceID)
            fields["device_owner"] = .string(binding.deviceOwner)
            fields["binding:host_id"] = .string(binding.host)
        }
        guard let port = NetworkPort(.object(fields)) else {
            throw ServiceFault(service: "network", status: 400, message: "A port needs an id.")
        }
        ports[id] = port
        return port
    }
}
