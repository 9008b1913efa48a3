import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import StratusCore
import StratusTestSupport
import Virt
import XCTest

@testable import Compute

/// A server's whole life inside `swift test` (see `ComputeCloud`).
final class BootFlowTests: XCTestCase {
    func testBootAllocatesPlacementPortsAndDeleteReleasesThem() async throws {
        try await ComputeCloud.run { client, peers in
            let named = await peers.placement.providerNamed("testhost")
            let provider = try XCTUnwrap(named, "the host reported itself to Placement")
            let id = try await ComputeCloud.boot(client, peers, name: "vm1")
            let server = try await ComputeCloud.waitFor(client, id) { $0["status"]?.stringValue == "ACTIVE" }
            XCTAssertEqual(server["OS-EXT-SRV-ATTR:host"]?.stringValue, "testhost")
            XCTAssertEqual(server["addresses"]?["private"]?.arrayValue?.first?["addr"], "10.0.0.10")
            let allocations = await peers.placement.allocations(of: id)
            let flavor = ["VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1]
            XCTAssertEqual(allocations, [provider: flavor], "the scheduler's claim")
            let bound = await peers.network.ports(.device(id))
            let port = try XCTUnwrap(bound.first)
            XCTAssertEqual(port.body["binding:host_id"], "testhost")
            XCTAssertEqual(port.deviceOwner, "compute:nova")

            await peers.network.associateFloatingIP("172.24.4.10", port: port.id)
            let event = try await client.request(.post, "/v2.1/os-server-external-events", body: [
                "events": [["name": "network-changed", "server_uuid": .string(id), "tag": .string(port.id)]],
            ])
            XCTAssertEqual(event.status, .ok, event.text)
            let floating = try await ComputeCloud.waitFor(client, id) {
                ($0["addresses"]?["private"]?.arrayValue?.count ?? 0) == 2
            }
            XCTAssertEqual(floating["addresses"]?["private"]?.arrayValue?.last?["OS-EXT-IPS:type"], "floating")

            let deleted = try await client.request(.delete, "/v2.1/servers/\(id)", token: "alice")
            XCTAssertEqual(deleted.status, .noContent)
            try await ComputeCloud.waitUntilGone(client, id)
            let left = await peers.placement.allocations(of: id)
            XCTAssertEqual(left, [:], "the allocation is released")
            let ports = await peers.network.ports(.device(id))
            XCTAssertEqual(ports, [], "the port the server created is deleted")
        }
    }

    /// The host inspects a cached image before using it: data that is not its declared format
    /// (here a qcow2 backed by /etc/shadow, declared raw) fails the build with a fault.
    func testAnImageThatIsNotItsDeclaredFormatFailsTheBuild() async throws {
        try await ComputeCloud.run { client, peers in
            let id = try await ComputeCloud.boot(
                client, peers, name: "vm-unsafe", plugPorts: false, image: ComputeCloud.unsafeImageID)
            let server = try await ComputeCloud.waitFor(client, id) { $0["status"]?.stringValue == "ERROR" }
            let message = server["fault"]?["message"]?.stringValue ?? ""
            XCTAssertTrue(message.contains("is not acceptable"), message)
            let left = await peers.placement.allocations(of: id)
            XCTAssertEqual(left, [:])
        }
    }

    func testNetworkFailureFailsTheBuildAndReleasesTheClaim() async throws {
        try await ComputeCloud.run { client, peers in
            await peers.network.exhaust(ComputeCloud.networkID)
            let id = try await ComputeCloud.boot(client, peers, name: "vm-no-address", plugPorts: false)
            let server = try await ComputeCloud.waitFor(client, id) { $0["status"]?.stringValue == "ERROR" }
            let message = server["fault"]?["message"]?.stringValue ?? ""
            XCTAssertTrue(message.contains("No more IP addresses"), message)
            let left = await peers.placement.allocations(of: id)
            XCTAssertEqual(left, [:])
        }
    }

    func testNoHostWithCapacityIsNoValidHost() async throws {
        try await ComputeCloud.run { client, peers in
            let created = try await client.request(.post, "/v2.1/flavors", body: [
                "flavor": ["name": "huge", "ram": 512, "vcpus": 1, "disk": 100_000, "id": "huge"],
            ])
            XCTAssertEqual(created.status, .ok, created.text)
            let id = try await ComputeCloud.boot(client, peers, name: "vm-huge", flavor: "huge", plugPorts: false)
            let server = try await ComputeCloud.waitFor(client, id) { $0["status"]?.stringValue == "ERROR" }
            let message = server["fault"]?["message"]?.stringValue ?? ""
            XCTAssertTrue(message.contains("No valid host"), message)
            let ports = await peers.network.ports(.device(id))
            XCTAssertEqual(ports, [], "no port is made for a server that found no host")
        }
    }
}
