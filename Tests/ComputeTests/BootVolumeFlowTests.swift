import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import StratusTestSupport
import XCTest

@testable import Compute

/// Servers built on volumes the API creates as their user: what Cinder refuses fails the
/// server, and a build that fails for good deletes the volumes made to be deleted with it.
final class BootVolumeFlowTests: XCTestCase {
    static let v237: HTTPFields = [.openStackAPIVersion: "compute 2.37"]

    /// An image root volume and a blank data volume, both deleted with the server.
    static func create(_ client: any TestClientProtocol) async throws -> String {
        let reply = try await client.request(.post, "/v2.1/servers", token: "alice", body: [
            "server": [
                "name": "vm-bfv", "flavorRef": "1", "networks": "none",
                "block_device_mapping_v2": [
                    [
                        "boot_index": 0, "uuid": .string(ComputeCloud.imageID), "source_type": "image",
                        "destination_type": "volume", "volume_size": 1, "delete_on_termination": true,
                    ],
                    [
                        "boot_index": -1, "source_type": "blank", "destination_type": "volume", "volume_size": 1,
                        "delete_on_termination": true,
                    ],
                ],
            ],
        ], headers: v237)
        XCTAssertEqual(reply.status, .accepted, reply.text)
        return try XCTUnwrap(reply.json["server"]?["id"]?.stringValue)
    }

    func testBothVolumesBelongToTheServersProject() async throws {
        try await ComputeCloud.run { client, peers in
            let server = try await Self.create(client)
            let active = try await ComputeCloud.waitFor(client, server) { $0["status"]?.stringValue != "BUILD" }
            XCTAssertEqual(active["status"], "ACTIVE", active.serialized())
            let owners = await peers.volume.volumes.values.map(\.projectID)
            XCTAssertEqual(owners, ["p-alice", "p-alice"])
            let guest = await peers.driver.volumes(of: server)
            XCTAssertEqual(guest.map(\.device), ["/dev/vda", "/dev/vdb"])
        }
    }

    func testRefusedCreationFailsTheServerAndDeletesWhatWasMade() async throws {
        try await ComputeCloud.run { client, peers in
            await peers.volume.refuse(.createVolume, status: 413, message: "VolumeLimitExceeded", skipping: 1)
            let server = try await Self.create(client)
            let failed = try await ComputeCloud.waitFor(client, server) { $0["status"]?.stringValue != "BUILD" }
            XCTAssertEqual(failed["status"], "ERROR", failed.serialized())
            XCTAssertEqual(failed["fault"]?["message"]?.stringValue?.hasSuffix("VolumeLimitExceeded"), true)
            let remaining = await peers.volume.volumes
            let deleted = await peers.volume.deletedVolumes
            XCTAssertTrue(remaining.isEmpty, "\(remaining)")
            XCTAssertEqual(deleted.count, 1)
            let guests = await peers.driver.listGuests()
            XCTAssertTrue(guests.isEmpty, "never built")
            let gone = try await client.request(.delete, "/v2.1/servers/\(server)", token: "alice")
            XCTAssertEqual(gone.status, .noContent, gone.text)
            try await ComputeCloud.waitUntilGone(client, server)
        }
    }

    func testHostFailureDeletesTheVolumesMadeForTheBuild() async throws {
        try await ComputeCloud.run { client, peers in
            await peers.volume.refuse(.reserve, message: "Invalid volume: reserve refused", skipping: 1)
            let server = try await Self.create(client)
            let failed = try await ComputeCloud.waitFor(client, server) { $0["status"]?.stringValue != "BUILD" }
            XCTAssertEqual(failed["status"], "ERROR", failed.serialized())
            let remaining = await peers.volume.volumes
            let deleted = await peers.volume.deletedVolumes
            XCTAssertTrue(remaining.isEmpty, "\(remaining)")
            XCTAssertEqual(deleted.count, 2)
            let gone = try await client.request(.delete, "/v2.1/servers/\(server)", token: "alice")
            XCTAssertEqual(gone.status, .noContent, gone.text)
            try await ComputeCloud.waitUntilGone(client, server)
        }
    }
}
