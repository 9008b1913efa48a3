import HTTPTypes
import HummingbirdTesting
import StratusCore
import XCTest

@testable import Networking

final class NetworkAPITests: XCTestCase {
    /// Routers connect subnets, floating IPs need a router between their network and the port,
    /// and in-use checks answer 409 with Neutron's error types.
    func testRoutersAndFloatingIPs() async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.service.bootstrap(adminProjectID: "p-admin")
        try await cloud.run { client in
            let publicID = try await client.call(.get, "/v2.0/networks?name=public&fields=id").json["networks"]?.arrayValue?.first?["id"] ?? .null
            let net = try await client.create("networks", "network", ["name": "app"])
            let subnet = try await client.create("subnets", "subnet", ["network_id": net["id"] ?? .null, "cidr": "10.5.0.0/24", "ip_version": 4])
            let port = try await client.create("ports", "port", ["network_id": net["id"] ?? .null])
            let router = try await client.create("routers", "router", ["name": "r"])
            let routerID = router["id"]?.stringValue ?? ""

            // an external network without an IPv4 subnet has no floating IPs to give: 400, as Neutron
            let bare = try await client.create(
                "networks", "network", ["name": "bare", "router:external": true], token: "admin")
            let noSubnet = try await client.call(
                .post, "/v2.0/floatingips", token: "admin", body: ["floatingip": ["floating_network_id": bare["id"] ?? .null]])
            XCTAssertEqual(noSubnet.status, .badRequest, noSubnet.text)
            XCTAssertTrue(noSubnet.text.contains("does not contain any IPv4 subnet"), noSubnet.text)

            // no router between the port and public yet
            let unreachable = try await client.call(
                .post, "/v2.0/floatingips", body: ["floatingip": ["floating_network_id": publicID, "port_id": port["id"] ?? .null]])
            XCTAssertEqual(unreachable.status, .notFound)
            XCTAssertEqual(unreachable.errorType, "ExternalGatewayForFloatingIPNotFound")

            let added = try await client.call(.put, "/v2.0/routers/\(routerID)/add_router_interface", body: ["subnet_id": subnet["id"] ?? .null])
            XCTAssertEqual(added.status, .ok, added.text)
            XCTAssertEqual(added.json["subnet_ids"], [subnet["id"] ?? .null])
            let overlapNet = try await client.create("networks", "network", ["name": "other"])
            let overlap = try await client.create("subnets", "subnet", ["network_id": overlapNet["id"] ?? .null, "cidr": "10.5.0.0/25", "ip_version": 4])
            let refused = try await client.call(.put, "/v2.0/routers/\(routerID)/add_router_interface", body: ["subnet_id": overlap["id"] ?? .null])
            XCTAssertEqual(refused.status, .badRequest, "overlapping subnets on one router")
            let gateway = try await client.call(.put, "/v2.0/routers/\(routerID)", body: ["router": ["external_gateway_info": ["network_id": publicID]]])
            XCTAssertEqual(gateway.status, .ok, gateway.text)
            XCTAssertEqual(gateway.json["router"]?["external_gateway_info"]?["external_fixed_ips"]?.arrayValue?.count, 1)

            let fip = try await client.create("floatingips", "floatingip", ["floating_network_id": publicID, "port_id": port["id"] ?? .null])
            XCTAssertEqual(fip["router_id"]?.stringValue, routerID)
            XCTAssertEqual(fip["fixed_ip_address"], port["fixed_ips"]?.arrayValue?.first?["ip_address"])
            XCTAssertTrue(fip["floating_ip_address"]?.stringValue?.hasPrefix("172.24.4.") ?? false)

            let inUse = try await client.call(.put, "/v2.0/routers/\(routerID)/remove_router_interface", body: ["subnet_id": subnet["id"] ?? .null])
            XCTAssertEqual(inUse.errorType, "RouterInterfaceInUseByFloatingIP")
            let busyRouter = try await client.call(.delete, "/v2.0/routers/\(routerID)")
            XCTAssertEqual(busyRouter.errorType, "RouterInUse")
            let interfacePort = added.json["port_id"]?.stringValue ?? ""
            let direct = try await client.call(.delete, "/v2.0/ports/\(interfacePort)")
            XCTAssertEqual(direct.errorType, "L3PortInUse", "router ports go through the router API")

            let released = try await client.call(.put, "/v2.0/floatingips/\(fip["id"]?.stringValue ?? "")", body: ["floatingip": ["port_id": .null]])
            XCTAssertEqual(released.json["floatingip"]?["status"], "DOWN")
            let removed = try await client.call(.put, "/v2.0/routers/\(routerID)/remove_router_interface", body: ["subnet_id": subnet["id"] ?? .null])
            XCTAssertEqual(removed.status, .ok, removed.text)
            let gone = try await client.call(.get, "/v2.0/ports/\(interfacePort)")
            XCTAssertEqual(gone.status, .notFound)
        }
    }

    /// Each project gets a `default` group with Neutron's four rules; rules are validated
    /// and duplicates refused.
    func testSecurityGroups() async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.run { client in
            let groups = try await client.call(.get, "/v2.0/security-groups").json["security_groups"]?.arrayValue ?? []
            XCTAssertEqual(groups.map { $0["name"] }, ["default"])
            let defaultID = groups.first?["id"] ?? .null
            let rules = groups.first?["security_group_rules"]?.arrayValue ?? []
            XCTAssertEqual(rules.count, 4)
            XCTAssertEqual(rules.filter { $0["remote_group_id"] == defaultID }.count, 2, "ingress from members of the group")

            let ssh: JSON = ["security_group_rule": ["security_group_id": defaultID, "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22]]
            let value1 = try await client.call(.post, "/v2.0/security-group-rules", body: ssh).status
            XCTAssertEqual(value1, .created)
            let again = try await client.call(.post, "/v2.0/security-group-rules", body: ssh)
            XCTAssertEqual(again.errorType, "SecurityGroupRuleExists")
            let bad: [(JSON, String)] = [
                (["protocol": "bogus"], "SecurityGroupRuleInvalidProtocol"),
                (["protocol": "tcp", "port_range_min": 80, "port_range_max": 79], "SecurityGroupInvalidPortRange"),
                (["remote_ip_prefix": "::/0"], "SecurityGroupRuleParameterConflict"),
                (["protocol": "icmp", "port_range_min": 300], "SecurityGroupInvalidIcmpValue"),
            ]
            for (fields, type) in bad {
                var rule: [String: JSON] = ["security_group_id": defaultID, "direction": "ingress"]
                rule.merge(fields.objectValue ?? [:]) { _, new in new }
                let reply = try await client.call(.post, "/v2.0/security-group-rules", body: ["security_group_rule": .object(rule)])
                XCTAssertEqual(reply.status, .badRequest, "\(fields.serialized())")
                XCTAssertEqual(reply.errorType, type)
            }
            let second = try await client.call(.post, "/v2.0/security-groups", body: ["security_group": ["name": "default"]])
            XCTAssertEqual(second.errorType, "SecurityGroupDefaultAlreadyExists")
            let undeletable = try await client.call(.delete, "/v2.0/security-groups/\(defaultID.stringValue ?? "")")
            XCTAssertEqual(undeletable.status, .conflict)
        }
    }

    /// Filters, `fields`, sorting, marker paging with links, tags and If-Match revisions.
    func testListingTagsAndRevisions() async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.run { client in
            var ids: [String] = []
            for name in ["n3", "n1", "n2", "n5", "n4"] {
                ids.append(try await client.create("networks", "network", ["name": .string(name)])["id"]?.stringValue ?? "")
            }
            let page1 = try await client.call(.get, "/v2.0/networks?sort_key=name&sort_dir=desc&limit=2&fields=name&fields=id").json
            XCTAssertEqual(page1["networks"]?.arrayValue?.map { $0["name"] }, ["n5", "n4"])
            XCTAssertEqual(page1["networks"]?.arrayValue?.first?.objectValue?.keys.sorted(), ["id", "name"])
            let next = page1["networks_links"]?.arrayValue?.first { $0["rel"] == "next" }?["href"]?.stringValue ?? ""
            let path = String(next.drop { $0 != "/" }.dropFirst(2).drop { $0 != "/" })
            let page2 = try await client.call(.get, path).json
            XCTAssertEqual(page2["networks"]?.arrayValue?.map { $0["name"] }, ["n3", "n2"])
            let value2 = try await client.call(.get, "/v2.0/networks?name=n1&name=n2").json["networks"]?.arrayValue?.count
            XCTAssertEqual(value2, 2)
            let unknown = try await client.call(.get, "/v2.0/networks?colour=red")
            XCTAssertEqual(unknown.status, .badRequest)

            let tagged = try await client.call(.put, "/v2.0/networks/\(ids[0])/tags", body: ["tags": ["red", "blue"]])
            XCTAssertEqual(tagged.json["tags"], ["blue", "red"])
            let value3 = try await client.call(.put, "/v2.0/networks/\(ids[1])/tags/red").status
            XCTAssertEqual(value3, .created)
            let both = try await client.call(.get, "/v2.0/networks?tags=red,blue").json["networks"]?.arrayValue?.map { $0["id"] }
            XCTAssertEqual(both, [.string(ids[0])])
            let any = try await client.call(.get, "/v2.0/networks?tags-any=red").json["networks"]?.arrayValue?.count
            XCTAssertEqual(any, 2)
            let without = try await client.call(.get, "/v2.0/networks?not-tags-any=red").json["networks"]?.arrayValue?.count
            XCTAssertEqual(without, 3)

            let current = try await client.call(.get, "/v2.0/networks/\(ids[0])").json["network"]?["revision_number"]?.intValue ?? -1
            XCTAssertEqual(current, 1, "tagging bumps the revision")
            let stale = try await client.call(
                .put, "/v2.0/networks/\(ids[0])", body: ["network": ["name": "x"]], headers: [.ifMatch: "revision_number=0"])
            XCTAssertEqual(stale.status, .preconditionFailed)
            let fresh = try await client.call(
                .put, "/v2.0/networks/\(ids[0])", body: ["network": ["name": "x"]], headers: [.ifMatch: "revision_number=\(current)"])
            XCTAssertEqual(fresh.json["network"]?["revision_number"]?.intValue, current + 1)
        }
    }

    /// Projects see their own resources and shared or external networks; provider and
    /// sharing attributes are for admins.
    func testPolicyAndVisibility() async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.run { client in
            let mine = try await client.create("networks", "network", ["name": "alice-net"])
            let id = mine["id"]?.stringValue ?? ""
            let value4 = try await client.call(.get, "/v2.0/networks/\(id)", token: "bob").status
            XCTAssertEqual(value4, .notFound)
            let value5 = try await client.call(.delete, "/v2.0/networks/\(id)", token: "bob").status
            XCTAssertEqual(value5, .notFound)
            let provider = try await client.call(
                .post, "/v2.0/networks", body: ["network": ["name": "x", "provider:network_type": "vlan", "provider:physical_network": "physnet1"]])
            XCTAssertEqual(provider.status, .forbidden)
            let shared = try await client.call(.post, "/v2.0/networks", body: ["network": ["name": "x", "shared": true]])
            XCTAssertEqual(shared.status, .forbidden)
            // a rule guarding an attribute applies only when the value differs from the default (Horizon sends it)
            let unshared = try await client.call(.post, "/v2.0/networks", body: ["network": ["name": "mine", "shared": false]])
            XCTAssertEqual(unshared.status, .created, unshared.text)
            if let mine = unshared.json["network"]?["id"]?.stringValue {
                let sharing = try await client.call(.put, "/v2.0/networks/\(mine)", body: ["network": ["shared": false]])
                XCTAssertEqual(sharing.status, .forbidden, "updates check every attribute given")
                let deleted = try await client.call(.delete, "/v2.0/networks/\(mine)")
                XCTAssertEqual(deleted.status, .noContent)
            }
            let adminShared = try await client.create("networks", "network", ["name": "everyone", "shared": true], token: "admin")
            let seen = try await client.call(.get, "/v2.0/networks", token: "bob").json["networks"]?.arrayValue?.map { $0["id"] }
            XCTAssertEqual(seen, [adminShared["id"] ?? .null])
            let vlan = try await client.create(
                "networks", "network", ["name": "v", "provider:network_type": "vlan", "provider:physical_network": "physnet1"], token: "admin")
            XCTAssertEqual(vlan["provider:segmentation_id"], 1000, "the first VLAN of the range")
            let clash = try await client.call(
                .post, "/v2.0/networks", token: "admin",
                body: ["network": ["provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 1000]])
            XCTAssertEqual(clash.errorType, "VlanIdInUse")

            // quotas: a project limited to one port gets 409 OverQuota for the second
            let value6 = try await client.call(.put, "/v2.0/quotas/p-alice", token: "admin", body: ["quota": ["port": 1]]).status
            XCTAssertEqual(value6, .ok)
            let value7 = try await client.call(.put, "/v2.0/quotas/p-alice", body: ["quota": ["port": 9]]).status
            XCTAssertEqual(value7, .forbidden)
            _ = try await client.create("ports", "port", ["network_id": .string(id)])
            let over = try await client.call(.post, "/v2.0/ports", body: ["port": ["network_id": .string(id)]])
            XCTAssertEqual(over.errorType, "OverQuota")
            let details = try await client.call(.get, "/v2.0/quotas/p-alice/details").json["quota"]?["port"]
            XCTAssertEqual(details, ["limit": 1, "used": 1, "reserved": 0])
            // a project's limits and the defaults hold only numbers (Horizon reads each as one)
            for path in ["/v2.0/quotas/p-alice", "/v2.0/quotas/p-alice/default"] {
                let quota = try await client.call(.get, path).json["quota"]?.objectValue ?? [:]
                XCTAssertEqual(quota["port"]?.intValue, path.hasSuffix("default") ? 500 : 1, path)
                XCTAssertTrue(quota.values.allSatisfy { $0.intValue != nil }, "\(path): \(quota)")
            }
        }
    }

    /// Subnet input is checked before anything is written.
    func testSubnetValidation() async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.run { client in
            let net = try await client.create("networks", "network", ["name": "v"])
            let base: [String: JSON] = ["network_id": net["id"] ?? .null, "ip_version": 4, "cidr": "10.6.0.0/24"]
            let cases: [([String: JSON], HTTPResponse.Status)] = [
                (["cidr": "10.6.0.5/24"], .badRequest),
                (["cidr": "not-a-cidr"], .badRequest),
                (["ip_version": 6], .badRequest),
                (["gateway_ip": "10.7.0.1"], .badRequest),
                (["gateway_ip": "10.6.0.20", "allocation_pools": [["start": "10.6.0.10", "end": "10.6.0.30"]]], .conflict),
                (["allocation_pools": [["start": "10.6.0.10", "end": "10.6.1.30"]]], .badRequest),
                (["dns_nameservers": ["8.8.8.8", "8.8.8.8"]], .badRequest),
                (["ipv6_address_mode": "slaac"], .badRequest),
                (["bogus": 1], .badRequest),
            ]
            for (fields, status) in cases {
                let reply = try await client.call(.post, "/v2.0/subnets", body: ["subnet": .object(base.merging(fields) { _, new in new })])
                XCTAssertEqual(reply.status, status, "\(JSON.object(fields).serialized()): \(reply.text)")
            }
            let count = try await client.call(.get, "/v2.0/subnets").json["subnets"]?.arrayValue?.count
            XCTAssertEqual(count, 0, "nothing half-written")
            let v6 = try await client.create(
                "subnets", "subnet",
                ["network_id": net["id"] ?? .null, "ip_version": 6, "cidr": "2001:db8:1::/64", "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"])
            let port = try await client.create("ports", "port", ["network_id": net["id"] ?? .null, "mac_address": "fa:16:3e:00:00:01"])
            XCTAssertEqual(port["fixed_ips"]?.arrayValue?.first?["ip_address"], "2001:db8:1:0:f816:3eff:fe00:1", "EUI-64 from the MAC")
            XCTAssertEqual(port["fixed_ips"]?.arrayValue?.first?["subnet_id"], v6["id"])
        }
    }

    /// A port bound to a host is reported up by that host's bridge agent over the bus.
    func testBoundPortGoesActiveThroughTheAgent() async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.run { client in
            let agents = try await client.call(.get, "/v2.0/agents", token: "admin").json["agents"]?.arrayValue ?? []
            XCTAssertEqual(Set(agents.compactMap { $0["agent_type"]?.stringValue }), ["Linux bridge agent", "DHCP agent", "L3 agent", "Metadata agent"])
            XCTAssertTrue(agents.allSatisfy { $0["alive"] == true })
            let net = try await client.create("networks", "network", ["name": "b"], token: "admin")
            let port = try await client.create("ports", "port", ["network_id": net["id"] ?? .null, "binding:host_id": "testhost", "device_owner": "compute:nova"], token: "admin")
            XCTAssertEqual(port["binding:vif_type"], "bridge")
            var status: JSON?
            for _ in 0..<100 {
                status = try await client.call(.get, "/v2.0/ports/\(port["id"]?.stringValue ?? "")", token: "admin").json["port"]?["status"]
                if status == "ACTIVE" { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTAssertEqual(status, "ACTIVE")
            let hidden = try await client.call(.get, "/v2.0/agents")
            XCTAssertEqual(hidden.status, .ok)
            XCTAssertEqual(hidden.json["agents"]?.arrayValue?.count, 0, "agents are for admins")
        }
    }
}
