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

/// A whole Compute inside `swift test`: the API, conductor, scheduler and one compute host
/// (`testhost`, fake driver) on an in-process bus, with Placement, Network, Image and Block
/// Storage as in-memory fakes.
enum ComputeCloud {
    static let imageID = "1c3e6a55-0000-4000-8000-000000000001"
    static let networkID = "2d4f7b66-0000-4000-8000-000000000002"
    /// Declared raw, but a qcow2 backed by a host file.
    static let unsafeImageID = "1c3e6a55-0000-4000-8000-0000000000ee"

    struct Peers: Sendable {
        let placement = FakePlacement()
        let network = FakeNetwork(networks: [ComputeCloud.networkID: "private"])
        let image = FakeImage(images: [
            ComputeCloud.imageID: Array("fake disk".utf8),
            ComputeCloud.unsafeImageID: CraftedImage.qcow2(size: 1 << 30, backingFile: "/etc/shadow"),
        ])
        let volume = FakeVolume()
        /// Cinder's REST API as Nova's `os-volumes` proxies reach it.
        let cinderREST = ScriptedCinder()
        let driver = FakeDriver()
    }

    /// `volume: false` leaves Block Storage out, as a cloud without it.
    static func run(
        volume: Bool = true, _ body: @Sendable (any TestClientProtocol, Peers) async throws -> Void
    ) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-boot-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let peers = Peers()
        let auth = ServiceAuth(.init(authURL: "http://127.0.0.1:9/v3", username: "nova", password: "unused"))
        let clients = ServiceClients(
            image: peers.image, network: peers.network, placement: peers.placement,
            volume: volume ? peers.volume : nil, volumeProxy: peers.cinderREST, auth: auth)
        let config = Config(values: ["compute": ["host": "testhost", "driver": "fake", "vif_plugging_timeout": "5"]])
        let driver = peers.driver
        let service = try await ComputeService.open(
            config: config, dataDir: dir, validator: StaticTokens(), bus: InProcessBus(), clients: clients,
            logger: logger, driverFactory: { _ in driver })
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

    /// Creates a server as alice and, playing Neutron, reports its ports plugged.
    static func boot(
        _ client: any TestClientProtocol, _ peers: Peers, name: String, flavor: String = "1", plugPorts: Bool = true,
        image: String = imageID
    ) async throws -> String {
        let reply = try await client.request(.post, "/v2.1/servers", token: "alice", body: [
            "server": [
                "name": .string(name), "imageRef": .string(image), "flavorRef": .string(flavor),
                "networks": [["uuid": .string(networkID)]],
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

    static func waitFor(
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

    static func waitUntilGone(_ client: any TestClientProtocol, _ id: String) async throws {
        for _ in 0..<400 {
            if try await client.request(.get, "/v2.1/servers/\(id)", token: "alice").status == .notFound { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("server \(id) was never deleted")
    }
}
