/// `NetworkClient` over Neutron's REST API.
public struct RESTNetworkClient: NetworkClient {
    let rest: ServiceClient

    public init(auth: ServiceAuth) {
        rest = ServiceClient(auth: auth, serviceType: "network")
    }

    public func port(_ id: String, token: String?) async throws -> NetworkPort? {
        let reply = try await rest.get("/v2.0/ports/\(id)", token: token)
        if reply.status == 404 { return nil }
        return NetworkPort(try reply.checked("network").body["port"] ?? .null)
    }

    public func ports(_ filter: PortFilter) async throws -> [NetworkPort] {
        let query: String
        switch filter {
        case .device(let uuid): query = "device_id=\(uuid)"
        case .host(let host): query = "binding:host_id=\(host)"
        case .address(let address, let network):
            query = "fixed_ips=ip_address%3D\(address)" + (network.map { "&network_id=\($0)" } ?? "")
        }
        let body = try await rest.get("/v2.0/ports?\(query)").checked("network").body
        return (body["ports"]?.arrayValue ?? []).compactMap(NetworkPort.init)
    }

    public func createPort(_ request: PortRequest) async throws -> NetworkPort {
        var port = Self.bindingBody(request.binding)
        port["network_id"] = .string(request.networkID)
        port["project_id"] = .string(request.projectID)
        if let groups = request.securityGroups { port["security_groups"] = JSON(groups) }
        if let ip = request.fixedIP { port["fixed_ips"] = [["ip_address": .string(ip)]] }
        let reply = try await rest.send(.POST, "/v2.0/ports", body: ["port": .object(port)]).checked("network")
        return try Self.port(in: reply)
    }

    public func updatePort(_ id: String, _ update: PortUpdate) async throws -> NetworkPort {
        let change: [String: JSON]
        switch update {
        case .bind(let binding): change = Self.bindingBody(binding)
        case .host(let host): change = ["binding:host_id": .string(host)]
        case .securityGroups(let groups): change = ["security_groups": JSON(groups)]
        }
        let reply = try await rest.send(.PUT, "/v2.0/ports/\(id)", body: ["port": .object(change)]).checked("network")
        return try Self.port(in: reply)
    }

    public func deletePort(_ id: String) async throws {
        let reply = try await rest.send(.DELETE, "/v2.0/ports/\(id)")
        if reply.status != 404 { _ = try reply.checked("network") }
    }

    public func networkName(_ id: String, token: String?) async throws -> String? {
        let reply = try await rest.get("/v2.0/networks/\(id)", token: token)
        if reply.status == 404 { return nil }
        return try reply.checked("network").body["network"]?["name"]?.stringValue ?? ""
    }

    public func networkIDs(_ filter: NetworkFilter, token: String?) async throws -> [String] {
        let scope: String
        switch filter {
        case .project(let project): scope = "project_id=\(project)"
        case .shared: scope = "shared=true"
        }
        let path = "/v2.0/networks?\(scope)&router:external=false&fields=id"
        let body = try await rest.get(path, token: token).checked("network").body
        return (body["networks"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
    }

    public func securityGroups(project: String?, token: String?) async throws -> [SecurityGroupName] {
        let scope = project.map { "project_id=\($0)&" } ?? ""
        let path = "/v2.0/security-groups?\(scope)fields=id&fields=name"
        let body = try await rest.get(path, token: token).checked("network").body
        return (body["security_groups"]?.arrayValue ?? []).compactMap { group in
            guard let id = group["id"]?.stringValue else { return nil }
            return SecurityGroupName(id: id, name: group["name"]?.stringValue ?? "")
        }
    }

    public func floatingIPs(onPorts ports: [String]) async throws -> [FloatingIPBinding] {
        guard !ports.isEmpty else { return [] }
        let query = ports.map { "port_id=\($0)" }.joined(separator: "&")
        let body = try await rest.get("/v2.0/floatingips?\(query)").checked("network").body
        return (body["floatingips"]?.arrayValue ?? []).compactMap { ip in
            guard let port = ip["port_id"]?.stringValue, let address = ip["floating_ip_address"]?.stringValue else {
                return nil
            }
            let fixed = ip["fixed_ip_address"]?.stringValue ?? ""
            return FloatingIPBinding(portID: port, fixedAddress: fixed, address: address)
        }
    }

    public func subnets(_ ids: [String]) async throws -> [JSON] {
        guard !ids.isEmpty else { return [] }
        let query = ids.map { "id=\($0)" }.joined(separator: "&")
        return try await rest.get("/v2.0/subnets?\(query)").checked("network").body["subnets"]?.arrayValue ?? []
    }

    static func bindingBody(_ binding: PortBinding) -> [String: JSON] {
        [
            "device_id": .string(binding.deviceID), "device_owner": .string(binding.deviceOwner),
            "binding:host_id": .string(binding.host),
        ]
    }

    static func port(in reply: ServiceReply) throws -> NetworkPort {
        guard let port = NetworkPort(reply.body["port"] ?? .null) else {
            let message = "The network service answered without a port."
            throw ServiceFault(service: "network", status: reply.status, message: message)
        }
        return port
    }
}
