import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import StratusTestSupport
import XCTest

@testable import BlockStorage

/// Transfers, retype and migration between two file backends, QoS and groups.
final class VolumeAdminFlowTests: XCTestCase {
    func testTransferMovesTheVolumeToTheAcceptingProject() async throws {
        try await BlockStorageCloud.run { cloud in
            let volume = try await cloud.createVolume(["size": 1])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let offer = try await cloud.client.request(
                .post, "/v3/os-volume-transfer", token: "alice",
                body: [
                    "transfer": ["volume_id": .string(id), "name": "gift"]
                ])
            XCTAssertEqual(offer.status, .accepted, offer.text)
            let transfer = try XCTUnwrap(offer.json["transfer"]?["id"]?.stringValue)
            let key = try XCTUnwrap(offer.json["transfer"]?["auth_key"]?.stringValue)
            let waiting = try await cloud.client.request(.get, "/v3/volumes/\(id)", token: "alice")
            XCTAssertEqual(waiting.json["volume"]?["status"], "awaiting-transfer")
            let wrong = try await cloud.client.request(
                .post, "/v3/os-volume-transfer/\(transfer)/accept", token: "bob",
                body: ["accept": ["auth_key": "nope"]])
            XCTAssertEqual(wrong.status, .badRequest)
            let accepted = try await cloud.client.request(
                .post, "/v3/os-volume-transfer/\(transfer)/accept", token: "bob",
                body: ["accept": ["auth_key": .string(key)]])
            XCTAssertEqual(accepted.status, .accepted, accepted.text)
            let gone = try await cloud.client.request(.get, "/v3/volumes/\(id)", token: "alice")
            XCTAssertEqual(gone.status, .notFound, "the giver no longer sees it")
            let received = try await cloud.client.request(.get, "/v3/volumes/\(id)", token: "bob")
            XCTAssertEqual(received.json["volume"]?["status"], "available")
        }
    }

    func testRetypeToAnotherBackendMigratesTheData() async throws {
        try await BlockStorageCloud.run(backends: "file,file2") { cloud in
            let type = try await cloud.client.request(
                .post, "/v3/types", token: "admin",
                body: [
                    "volume_type": ["name": "second", "extra_specs": ["volume_backend_name": "file2"]]
                ])
            XCTAssertEqual(type.status, .ok, type.text)
            let volume = try await cloud.createVolume(["size": 1, "imageRef": .string(BlockStorageCloud.imageID)])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let admin = try await cloud.client.request(.get, "/v3/volumes/\(id)", token: "admin")
            XCTAssertEqual(admin.json["volume"]?["os-vol-host-attr:host"], "testhost@file#file")
            let never = try await cloud.client.request(
                .post, "/v3/volumes/\(id)/action", token: "alice",
                body: [
                    "os-retype": ["new_type": "second"]
                ])
            XCTAssertEqual(never.status, .badRequest, "a retype that needs a migration is refused without on-demand")
            let retyped = try await cloud.client.request(
                .post, "/v3/volumes/\(id)/action", token: "alice",
                body: [
                    "os-retype": ["new_type": "second", "migration_policy": "on-demand"]
                ])
            XCTAssertEqual(retyped.status, .accepted, retyped.text)
            let moved = try await cloud.waitFor(id, token: "admin") {
                $0["os-vol-mig-status-attr:migstat"] == "success"
            }
            XCTAssertEqual(moved["os-vol-host-attr:host"], "testhost@file2#file2")
            XCTAssertEqual(moved["volume_type"], "second")
            XCTAssertEqual(moved["status"], "available")
            let data = try await VolumeFlowTests.data("\(cloud.dataDir)/volumes/file2/volume-\(id)")
            XCTAssertEqual(Array(data.prefix(4096)), [UInt8](repeating: 7, count: 4096), "the data moved with it")
            for _ in 0..<200 where FileManager.default.fileExists(atPath: "\(cloud.volumesDir)/volume-\(id)") {
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTAssertFalse(
                FileManager.default.fileExists(atPath: "\(cloud.volumesDir)/volume-\(id)"), "the source copy is gone")
        }
    }

    func testGroupSnapshotTakesASnapshotOfEveryVolume() async throws {
        try await BlockStorageCloud.run { cloud in
            let version: HTTPFields = [.openStackAPIVersion: "volume 3.20"]
            let groupType = try await cloud.client.request(
                .post, "/v3/group_types", token: "admin",
                body: [
                    "group_type": ["name": "gt"]
                ], headers: version)
            XCTAssertEqual(groupType.status, .accepted, groupType.text)
            let group = try await cloud.client.request(
                .post, "/v3/groups", token: "alice",
                body: [
                    "group": ["group_type": "gt", "volume_types": ["__DEFAULT__"], "name": "g"]
                ], headers: version)
            XCTAssertEqual(group.status, .accepted, group.text)
            let groupID = try XCTUnwrap(group.json["group"]?["id"]?.stringValue)
            for _ in 0..<2 {
                let volume = try await cloud.client.request(
                    .post, "/v3/volumes", token: "alice",
                    body: [
                        "volume": ["size": 1, "group_id": .string(groupID), "volume_type": "__DEFAULT__"]
                    ], headers: version)
                XCTAssertEqual(volume.status, .accepted, volume.text)
                let id = try XCTUnwrap(volume.json["volume"]?["id"]?.stringValue)
                _ = try await cloud.waitFor(id) { $0["status"] == "available" }
            }
            let snapshot = try await cloud.client.request(
                .post, "/v3/group_snapshots", token: "alice",
                body: [
                    "group_snapshot": ["group_id": .string(groupID), "name": "gs"]
                ], headers: version)
            XCTAssertEqual(snapshot.status, .accepted, snapshot.text)
            let snapshotID = try XCTUnwrap(snapshot.json["group_snapshot"]?["id"]?.stringValue)
            var status = JSON.null
            for _ in 0..<500 where status != "available" {
                let shown = try await cloud.client.request(
                    .get, "/v3/group_snapshots/\(snapshotID)", token: "alice",
                    headers: version)
                status = shown.json["group_snapshot"]?["status"] ?? .null
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTAssertEqual(status, "available")
            let members = try await cloud.client.request(.get, "/v3/snapshots", token: "alice")
            XCTAssertEqual(members.json["snapshots"]?.arrayValue?.count, 2)
        }
    }
}
