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

final class L3AgentRPCTests: XCTestCase {
    /// `sync_routers` gives the L3 agent what it wires: router1's gateway on public (with the
    /// external subnet's gateway as next hop), its interface on private, and a floating IP.
    func testSyncRoutersDescribesWhatToWire() async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.service.bootstrap(adminProjectID: "p-admin")
        try await cloud.run { client in
            let networks = try await client.call(.get, "/v2.0/networks", token: "admin").json["networks"]?.arrayValue ?? []
            let publicID = networks.first { $0["name"] == "public" }?["id"] ?? .null
            let privateID = networks.first { $0["name"] == "private" }?["id"] ?? .null
            let port = try await client.create("ports", "port", ["network_id": privateID], token: "admin")
            let fixed = port["fixed_ips"]?.arrayValue?.first?["ip_address"] ?? .null
            let fip = try await client.create("floatingips", "floatingip", ["floating_network_id": publicID, "port_id": port["id"] ?? .null], token: "admin")

            let routers = try await PluginRPC(api: cloud.service.api).handle(BusMessage(method: "sync_routers", args: ["host": "testhost"]))
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
}
