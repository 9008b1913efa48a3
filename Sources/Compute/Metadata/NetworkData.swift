import Foundation
import StratusCore

extension MetadataDocuments {
    /// `network_data.json` of a server's ports, fetched from the Network service.
    static func networkData(instance uuid: String, clients: ServiceClients) async throws -> JSON {
        let ports = try await clients.network.ports(.device(uuid))
        let subnetIDs = Set(ports.flatMap(\.fixedIPs).map(\.subnetID).filter { !$0.isEmpty })
        var subnets: [String: JSON] = [:]
        for subnet in try await clients.network.subnets(subnetIDs.sorted()) {
            if let id = subnet["id"]?.stringValue { subnets[id] = subnet }
        }
        return networkData(ports: ports.map(\.body), subnets: subnets)
    }

    /// Nova's `network_data.json` for Neutron ports on networks without a DHCP port (Stratus
    /// networks run no DHCP server yet): static addresses with the subnet's netmask, default
    /// route and host routes, and its DNS servers as services.
    static func networkData(ports: [JSON], subnets: [String: JSON]) -> JSON {
        var links: [JSON] = []
        var networks: [JSON] = []
        var services: [JSON] = []
        for port in ports {
            let id = port["id"]?.stringValue ?? ""
            let link = "tap" + id.prefix(11)
            links.append([
                "id": .string(link), "vif_id": .string(id), "type": "bridge", "mtu": port["mtu"] ?? 1500,
                "ethernet_mac_address": port["mac_address"] ?? "",
            ])
            for ip in port["fixed_ips"]?.arrayValue ?? [] {
                let address = ip["ip_address"]?.stringValue ?? ""
                let subnet = subnets[ip["subnet_id"]?.stringValue ?? ""] ?? [:]
                let v6 = address.contains(":")
                let prefix = Int(subnet["cidr"]?.stringValue?.split(separator: "/").last ?? "") ?? (v6 ? 64 : 24)
                var routes: [JSON] = []
                if let gateway = subnet["gateway_ip"]?.stringValue {
                    routes.append(["network": v6 ? "::" : "0.0.0.0", "netmask": v6 ? "::" : "0.0.0.0", "gateway": .string(gateway)])
                }
                for route in subnet["host_routes"]?.arrayValue ?? [] {
                    let destination = (route["destination"]?.stringValue ?? "").split(separator: "/")
                    guard destination.count == 2, let bits = Int(destination[1]) else { continue }
                    routes.append([
                        "network": .string(String(destination[0])), "netmask": .string(netmask(bits, v6: v6)), "gateway": route["nexthop"] ?? "",
                    ])
                }
                networks.append([
                    "id": .string("network\(networks.count)"), "type": .string(v6 ? "ipv6" : "ipv4"), "link": .string(link),
                    "ip_address": .string(address), "netmask": .string(netmask(prefix, v6: v6)), "routes": .array(routes),
                    "network_id": port["network_id"] ?? "",
                ])
                for server in subnet["dns_nameservers"]?.arrayValue ?? [] where !services.contains(["type": "dns", "address": server]) {
                    services.append(["type": "dns", "address": server])
                }
            }
        }
        return ["links": .array(links), "networks": .array(networks), "services": .array(services)]
    }

    /// A prefix length as a mask: 20 -> 255.255.240.0, 64 -> ffff:ffff:ffff:ffff::
    static func netmask(_ bits: Int, v6: Bool) -> String {
        if !v6 {
            let mask: UInt32 = bits <= 0 ? 0 : UInt32.max << UInt32(32 - min(bits, 32))
            return (0..<4).map { String((mask >> UInt32(24 - 8 * $0)) & 0xFF) }.joined(separator: ".")
        }
        let groups = (0..<8).map { group -> String in
            let covered = min(max(bits - group * 16, 0), 16)
            return String(covered == 0 ? 0 : (0xFFFF << (16 - covered)) & 0xFFFF, radix: 16)
        }
        let trimmed = Array(groups.reversed().drop { $0 == "0" }.reversed())
        return trimmed.count == 8 ? trimmed.joined(separator: ":") : trimmed.joined(separator: ":") + "::"
    }
}
