import HTTPTypes
import HummingbirdTesting
import StratusCore
import XCTest

@testable import Networking

final class NetworkBasicsTests: XCTestCase {
    func testNetworkSubnetPortLifecycle() async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.run { client in
            let network = try await client.create("networks", "network", ["name": "net1"])
            let id = network["id"]?.stringValue ?? ""
            XCTAssertEqual(network["status"], "ACTIVE")
            XCTAssertEqual(network["mtu"], 1450)
            XCTAssertNil(network["provider:network_type"], "provider attributes are for admins")
            let subnet = try await client.create("subnets", "subnet", ["network_id": .string(id), "cidr": "10.1.0.0/24", "ip_version": 4])
            XCTAssertEqual(subnet["gateway_ip"], "10.1.0.1")
            XCTAssertEqual(subnet["allocation_pools"], [["start": "10.1.0.2", "end": "10.1.0.254"]])
            let port = try await client.create("ports", "port", ["network_id": .string(id)])
            let address = port["fixed_ips"]?.arrayValue?.first?["ip_address"]?.stringValue ?? ""
            XCTAssertTrue(address.hasPrefix("10.1.0.") && address != "10.1.0.1", address)
            XCTAssertEqual(port["status"], "DOWN")
            XCTAssertTrue(port["mac_address"]?.stringValue?.hasPrefix("fa:16:3e:") ?? false)

            let busy = try await client.call(.delete, "/v2.0/networks/\(id)")
            XCTAssertEqual(busy.status, .conflict)
            XCTAssertEqual(busy.errorType, "NetworkInUse")
            let deletedPort = try await client.call(.delete, "/v2.0/ports/\(port["id"]?.stringValue ?? "")")
            XCTAssertEqual(deletedPort.status, .noContent)
            let deleted = try await client.call(.delete, "/v2.0/networks/\(id)")
            XCTAssertEqual(deleted.status, .noContent)
            let gone = try await client.call(.get, "/v2.0/networks/\(id)")
            XCTAssertEqual(gone.errorType, "NetworkNotFound")
        }
    }
}

final class NetworkBootstrapTests: XCTestCase {
    /// `stratus serve` leaves DevStack's topology: public (external, flat), private and router1.
    func testBootstrapTopology() async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.service.bootstrap(adminProjectID: "p-admin")
        try await cloud.service.bootstrap(adminProjectID: "p-admin")  // idempotent
        try await cloud.run { client in
            let networks = try await client.call(.get, "/v2.0/networks?fields=name&fields=router:external", token: "admin").json["networks"]
            XCTAssertEqual(networks?.arrayValue?.count, 2)
            let routers = try await client.call(.get, "/v2.0/routers", token: "admin").json["routers"]?.arrayValue ?? []
            XCTAssertEqual(routers.first?["name"], "router1")
            XCTAssertEqual(routers.first?["external_gateway_info"]?["external_fixed_ips"]?.arrayValue?.count, 1)
            let ports = try await client.call(.get, "/v2.0/ports?device_owner=network:router_interface", token: "admin").json["ports"]
            XCTAssertEqual(ports?.arrayValue?.first?["fixed_ips"]?.arrayValue?.first?["ip_address"], "10.0.0.1")
            // a member of another project sees the external network but not its subnet
            let visible = try await client.call(.get, "/v2.0/networks", token: "bob").json["networks"]?.arrayValue ?? []
            XCTAssertEqual(visible.compactMap { $0["name"]?.stringValue }, ["public"])
            let subnets = try await client.call(.get, "/v2.0/subnets", token: "bob").json["subnets"]?.arrayValue ?? []
            XCTAssertEqual(subnets.count, 0)
        }
    }
}

final class AgentRPCTests: XCTestCase {
    /// Runs `body` on a bootstrapped cloud (DevStack's `public` and `private` behind
    /// router1) with the server side of the agents' RPC and the two networks' ids.
    func withTopology(
        _ body: @Sendable (any TestClientProtocol, PluginRPC, _ publicID: JSON, _ privateID: JSON) async throws -> Void
    ) async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.service.bootstrap(adminProjectID: "p-admin")
        let rpc = PluginRPC(api: cloud.service.api)
        try await cloud.run { client in
            let networks = try await client.call(.get, "/v2.0/networks", token: "admin").json["networks"]?.arrayValue ?? []
            let id = { (name: JSON) in networks.first { $0["name"] == name }?["id"] ?? .null }
            try await body(client, rpc, id("public"), id("private"))
        }
    }

    /// `sync_routers` gives the L3 agent what it wires: router1's gateway on public (with the
    /// external subnet's gateway as next hop), its interface on private, and a floating IP.
    func testSyncRoutersDescribesWhatToWire() async throws {
        try await withTopology { client, rpc, publicID, privateID in
            let port = try await client.create("ports", "port", ["network_id": privateID], token: "admin")
            let fixed = port["fixed_ips"]?.arrayValue?.first?["ip_address"] ?? .null
            let fip = try await client.create("floatingips", "floatingip", ["floating_network_id": publicID, "port_id": port["id"] ?? .null], token: "admin")

            let routers = try await rpc.handlers.handle(BusMessage(method: "sync_routers", args: ["host": "testhost"]))
            let router = try XCTUnwrap(routers.arrayValue?.first)
            let gateway = router["gateway"]?["addresses"]?.arrayValue?.first
            XCTAssertEqual(router["gateway"]?["network"], publicID)
            XCTAssertEqual(gateway?["cidr"], "172.24.4.0/24")
            XCTAssertEqual(gateway?["gateway"], "172.24.4.1")
            XCTAssertEqual(router["interfaces"]?.arrayValue?.first?["addresses"], [["ip": "10.0.0.1", "cidr": "10.0.0.0/26", "gateway": "10.0.0.1"]])
            XCTAssertEqual(router["floating_ips"], [["floating": fip["floating_ip_address"] ?? .null, "fixed": fixed]])
            XCTAssertEqual(router["enable_snat"], true)
        }
    }

    /// `security_group_info_for_host` gives the bridge agent its guests' ports with their
    /// addresses and groups, the groups' rules, and the members of groups named as remote;
    /// ports elsewhere, without port security, or not a guest's are left out.
    func testSecurityGroupInfoDescribesWhatToFilter() async throws {
        try await withTopology { client, rpc, _, privateID in
            func guest(_ host: String, _ extra: [String: JSON] = [:]) -> JSON {
                .object(["network_id": privateID, "device_owner": "compute:nova", "binding:host_id": .string(host)].merging(extra) { $1 })
            }
            let port = try await client.create("ports", "port", guest("testhost"), token: "admin")
            let group = port["security_groups"]?.arrayValue?.first ?? .null
            let other = try await client.create("ports", "port", guest("otherhost"), token: "admin")
            _ = try await client.create("ports", "port", guest("testhost", ["port_security_enabled": false, "security_groups": []]), token: "admin")
            _ = try await client.create("ports", "port", ["network_id": privateID, "binding:host_id": "testhost"], token: "admin")

            let info = try await rpc.handlers.handle(BusMessage(method: "security_group_info_for_host", args: ["host": "testhost"]))
            let ports = info["ports"]?.arrayValue ?? []
            XCTAssertEqual(ports.map { $0["id"] }, [port["id"] ?? .null], "only the guest port here with port security")
            XCTAssertEqual(ports.first?["ips"], [port["fixed_ips"]?.arrayValue?.first?["ip_address"] ?? .null])
            XCTAssertEqual(ports.first?["mac"], port["mac_address"])
            XCTAssertEqual(ports.first?["security_groups"], [group])
            let rules = info["rules"]?.arrayValue ?? []
            XCTAssertTrue(rules.contains { $0["direction"] == "ingress" && $0["remote_group_id"] == group && $0["ethertype"] == "IPv4" }, "\(rules)")
            let members = Set((info["members"]?[group.stringValue ?? ""]?.arrayValue ?? []).compactMap(\.stringValue))
            let addresses = [port, other].compactMap { $0["fixed_ips"]?.arrayValue?.first?["ip_address"]?.stringValue }
            XCTAssertEqual(members, Set(addresses), "members on every host")
        }
    }
}

final class PortFirewallTests: XCTestCase {
    /// A port's rules: replies and DHCP in, then what its rules allow (a remote group is its
    /// members' addresses), then drop; out only from its own address and MAC.
    func testRulesFollowSecurityGroups() {
        let port = "0123456789abcdef"
        let info: JSON = [
            "ports": [["id": .string(port), "mac": "fa:16:3e:00:00:01", "ips": ["10.0.0.5"], "allowed_address_pairs": [["ip_address": "10.0.0.100"]],
                       "security_groups": ["web", "default"]]],
            "rules": [
                ["security_group_id": "web", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
                 "remote_ip_prefix": "0.0.0.0/0"],
                ["security_group_id": "web", "direction": "ingress", "ethertype": "IPv4", "protocol": "icmp", "remote_ip_prefix": "192.0.2.0/24"],
                ["security_group_id": "web", "direction": "ingress", "ethertype": "IPv6", "protocol": "tcp"],
                ["security_group_id": "default", "direction": "ingress", "ethertype": "IPv4", "remote_group_id": "default"],
                ["security_group_id": "default", "direction": "egress", "ethertype": "IPv4"],
                ["security_group_id": "other", "direction": "ingress", "ethertype": "IPv4", "protocol": "udp"],
            ],
            "members": ["default": ["10.0.0.5", "10.0.0.7"]],
        ]
        let (text, chains) = PortFirewall.rules(info)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(chains, ["stratus-sg-chain", "stratus-i0123456789", "stratus-o0123456789", "stratus-s0123456789"])
        XCTAssertTrue(lines.contains("-A stratus-sg-chain -m physdev --physdev-out tap0123456789a --physdev-is-bridged -j stratus-i0123456789"))
        let ingress = lines.filter { $0.hasPrefix("-A stratus-i0123456789 ") }.map { String($0.dropFirst("-A stratus-i0123456789 ".count)) }
        XCTAssertEqual(ingress, [
            "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN", "-p udp --sport 67 --dport 68 -j RETURN",
            "-p tcp --dport 22 -j RETURN", "-s 192.0.2.0/24 -p icmp -j RETURN", "-s 10.0.0.5/32 -j RETURN", "-s 10.0.0.7/32 -j RETURN",
            "-m conntrack --ctstate INVALID -j DROP", "-j DROP",
        ])
        let spoof = lines.filter { $0.hasPrefix("-A stratus-s0123456789 ") }
        XCTAssertEqual(spoof, [
            "-A stratus-s0123456789 -s 10.0.0.5/32 -m mac --mac-source fa:16:3e:00:00:01 -j RETURN",
            "-A stratus-s0123456789 -s 10.0.0.100 -m mac --mac-source fa:16:3e:00:00:01 -j RETURN", "-A stratus-s0123456789 -j DROP",
        ])
        XCTAssertTrue(lines.contains("-A stratus-o0123456789 -j RETURN"), "egress to anywhere")
        XCTAssertEqual(lines.last, "COMMIT")
        XCTAssertEqual(PortFirewall.rules(["ports": []]).chains, ["stratus-sg-chain"])
        let removing = PortFirewall.rules(["ports": []], removing: ["stratus-igone"]).text.split(separator: "\n").map(String.init)
        XCTAssertEqual(removing, ["*filter", ":stratus-sg-chain - [0:0]", ":stratus-igone - [0:0]", "-A stratus-sg-chain -j ACCEPT", "-X stratus-igone", "COMMIT"])
    }
}

