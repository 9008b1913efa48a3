import HTTPTypes
import HummingbirdTesting
import StratusCore
import XCTest

@testable import Networking

final class IPAMConcurrencyTests: XCTestCase {
    /// 200 ports created at once on one /24 all get distinct addresses; the subnet's 253
    /// addresses then run out with 409 IpAddressGenerationFailure, and the network with
    /// ports in use cannot be deleted.
    func testConcurrentPortsGetDistinctAddressesUntilExhausted() async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.run { client in
            let network = try await client.create("networks", "network", ["name": "busy"], token: "admin")
            let id = network["id"]?.stringValue ?? ""
            _ = try await client.create("subnets", "subnet", ["network_id": .string(id), "cidr": "10.9.0.0/24", "ip_version": 4], token: "admin")
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 0..<200 {
                    group.addTask { try await client.call(.post, "/v2.0/ports", token: "admin", body: ["port": ["network_id": .string(id)]]) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            XCTAssertEqual(replies.filter { $0.status == .created }.count, 200, replies.first { $0.status != .created }?.text ?? "")
            let addresses = replies.compactMap { $0.json["port"]?["fixed_ips"]?.arrayValue?.first?["ip_address"]?.stringValue }
            XCTAssertEqual(Set(addresses).count, 200, "addresses are distinct")
            XCTAssertFalse(addresses.contains("10.9.0.1"), "the gateway is not handed out")

            for _ in 0..<53 {
                let reply = try await client.call(.post, "/v2.0/ports", token: "admin", body: ["port": ["network_id": .string(id)]])
                XCTAssertEqual(reply.status, .created, reply.text)
            }
            let full = try await client.call(.post, "/v2.0/ports", token: "admin", body: ["port": ["network_id": .string(id)]])
            XCTAssertEqual(full.status, .conflict)
            XCTAssertEqual(full.errorType, "IpAddressGenerationFailure")
            let taken = try await client.call(
                .post, "/v2.0/ports", token: "admin", body: ["port": ["network_id": .string(id), "fixed_ips": [["ip_address": .string(addresses[0])]]]])
            XCTAssertEqual(taken.status, .conflict, taken.text)

            let inUse = try await client.call(.delete, "/v2.0/networks/\(id)", token: "admin")
            XCTAssertEqual(inUse.status, .conflict)
            XCTAssertEqual(inUse.errorType, "NetworkInUse")
            let count = try await client.call(.get, "/v2.0/ports?network_id=\(id)&fields=id", token: "admin").json["ports"]?.arrayValue?.count
            XCTAssertEqual(count, 253, "nothing half-written")
        }
    }
}
