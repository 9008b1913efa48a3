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

/// A server's whole life inside `swift test`: the API, conductor, scheduler and compute
/// host on an in-process bus, with Placement, Network and Image as in-memory fakes.
final class BootFlowTests: XCTestCase {
    static let imageID = "1c3e6a55-0000-4000-8000-000000000001"
    static let networkID = "2d4f7b66-0000-4000-8000-000000000002"

    struct Peers {
        let placement = FakePlacement()
        let network = FakeNetwork(networks: [BootFlowTests.networkID: "private"])
        let image = FakeImage(images: [BootFlowTests.imageID: Array("fake disk".utf8)])
    }

    func withCloud(
        _ body: @Sendable (any TestClientProtocol, Peers) async throws -> Void
    ) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-boot-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let peers = Peers()
        let auth = ServiceAuth(.init(authURL: "http://127.0.0.1:9/v3", username: "nova", password: "unused"))
        let clients = ServiceClients(image: peers.image, network: peers.network, placement: peers.placement, auth: auth)
        let config = Config(values: ["compute": ["host": "testhost", "driver": "fake", "vif_plugging_timeout": "5"]])
        let service = try await ComputeService.open(
            config: config, dataDir: dir, validator: StaticTokens(), bus: InProcessBus(), clients: clients,
            logger: logger)
        do {
            try await service.bootstrap()
            for worker in service.hostWorkers {
                try await worker.records.heartbeat(host: worker.manager.host, binary: "nova-compute")
                try await worker.tracker.report()
            }
            let app = Application(router: service.makeRouter())
            try await app.test(.router) { client in try await body(client, peers) }
        } catch {
            await service.close()
            throw error
        }
        await service.close()
    }

    func testBootAllocatesPlacementPortsAndDeleteReleasesThem() async throws {
        try await withCloud { client, peers in
            let named = await peers.placement.providerNamed("testhost")
            let provider = try XCTUnwrap(named, "the host reported itself to Placement")
            let id = try await Self.boot(client, peers, name: "vm1")
            let server = try await Self.waitFor(client, id) { $0["status"]?.stringValue == "ACTIVE" }
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
            let floating = try await Self.waitFor(client, id) {
                ($0["addresses"]?["private"]?.arrayValue?.count ?? 0) == 2
            }
            XCTAssertEqual(floating["addresses"]?["private"]?.arrayValue?.last?["OS-EXT-IPS:type"], "floating")

            let deleted = try await client.request(.delete, "/v2.1/servers/\(id)", token: "alice")
            XCTAssertEqual(deleted.status, .noContent)
            try await Self.waitUntilGone(client, id)
            let left = await peers.placement.allocations(of: id)
            XCTAssertEqual(left, [:], "the allocation is released")
            let ports = await peers.network.ports(.device(id))
            XCTAssertEqual(ports, [], "the port the server created is deleted")
        }
    }

    func testNetworkFailureFailsTheBuildAndReleasesTheClaim() async throws {
        try await withCloud { client, peers in
            await peers.network.exhaust(Self.networkID)
            let id = try await Self.boot(client, peers, name: "vm-no-address", plugPorts: false)
            let server = try await Self.waitFor(client, id) { $0["status"]?.stringValue == "ERROR" }
            let message = server["fault"]?["message"]?.stringValue ?? ""
            XCTAssertTrue(message.contains("No more IP addresses"), message)
            let left = await peers.placement.allocations(of: id)
            XCTAssertEqual(left, [:])
        }
    }

    func testNoHostWithCapacityIsNoValidHost() async throws {
        try await withCloud { client, peers in
            let created = try await client.request(.post, "/v2.1/flavors", body: [
                "flavor": ["name": "huge", "ram": 512, "vcpus": 1, "disk": 100_000, "id": "huge"],
            ])
            XCTAssertEqual(created.status, .ok, created.text)
            let id = try await Self.boot(client, peers, name: "vm-huge", flavor: "huge", plugPorts: false)
            let server = try await Self.waitFor(client, id) { $0["status"]?.stringValue == "ERROR" }
            let message = server["fault"]?["message"]?.stringValue ?? ""
            XCTAssertTrue(message.contains("No valid host"), message)
            let ports = await peers.network.ports(.device(id))
            XCTAssertEqual(ports, [], "no port is made for a server that found no host")
        }
    }

    /// Creates a server as alice and, playing Neutron, reports its ports plugged.
    private static func boot(
        _ client: any TestClientProtocol, _ peers: Peers, name: String, flavor: String = "1", plugPorts: Bool = true
    ) async throws -> String {
        let reply = try await client.request(.post, "/v2.1/servers", token: "alice", body: [
            "server": [
                "name": .string(name), "imageRef": .string(Self.imageID), "flavorRef": .string(flavor),
                "networks": [["uuid": .string(Self.networkID)]],
            ],
        ])
        XCTAssertEqual(reply.status, .accepted, reply.text)
        let id = try XCTUnwrap(reply.json["server"]?["id"]?.stringValue)
        guard plugPorts else { return id }
        var ports: [NetworkPort] = []
        for _ in 0..<400 where ports.isEmpty {
            ports = await peers.network.ports(.device(id))
            if ports.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        }
        let events: [JSON] = ports.map {
            ["name": "network-vif-plugged", "server_uuid": .string(id), "tag": .string($0.id)]
        }
        let plugged = try await client.request(
            .post, "/v2.1/os-server-external-events", body: ["events": .array(events)])
        XCTAssertEqual(plugged.status, .ok, plugged.text)
        return id
    }

    private static func waitFor(
        _ client: any TestClientProtocol, _ id: String, _ done: (JSON) -> Bool
    ) async throws -> JSON {
        var server: JSON = .null
        for _ in 0..<400 {
            server = try await client.request(.get, "/v2.1/servers/\(id)").json["server"] ?? .null
            if done(server) { return server }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("server \(id) never got there: \(server.serialized())")
        return server
    }

    private static func waitUntilGone(_ client: any TestClientProtocol, _ id: String) async throws {
        for _ in 0..<400 {
            if try await client.request(.get, "/v2.1/servers/\(id)", token: "alice").status == .notFound { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("server \(id) was never deleted")
    }
}
