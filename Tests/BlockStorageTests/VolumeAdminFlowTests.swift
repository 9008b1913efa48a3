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

    /// Front-end QoS specs of a volume's type reach the host in the attachment's
    /// `connection_info` (per-GiB ones times the size); back-end ones do not.
    func testFrontEndQosSpecsAreInTheConnection() async throws {
        try await BlockStorageCloud.run { cloud in
            func typeWithQos(_ name: String, consumer: String) async throws -> String {
                let qos = try await cloud.client.request(
                    .post, "/v3/qos-specs", token: "admin",
                    body: [
                        "qos_specs": [
                            "name": .string(name), "consumer": .string(consumer), "total_iops_sec": "100",
                            "read_bytes_sec_per_gb": "1000",
                        ]
                    ])
                XCTAssertEqual(qos.status, .ok, qos.text)
                let qosID = try XCTUnwrap(qos.json["qos_specs"]?["id"]?.stringValue)
                let type = try await cloud.client.request(
                    .post, "/v3/types", token: "admin", body: ["volume_type": ["name": .string(name)]])
                let typeID = try XCTUnwrap(type.json["volume_type"]?["id"]?.stringValue)
                let associated = try await cloud.client.request(
                    .get, "/v3/qos-specs/\(qosID)/associate?vol_type_id=\(typeID)", token: "admin")
                XCTAssertEqual(associated.status, .accepted, associated.text)
                return name
            }
            func connection(type: String) async throws -> JSON {
                let volume = try await cloud.createVolume(["size": 2, "volume_type": .string(type)])
                let id = try XCTUnwrap(volume["id"]?.stringValue)
                let version: HTTPFields = [.openStackAPIVersion: "volume 3.44"]
                let connector: JSON = ["host": "testhost", "ip": "127.0.0.1", "mountpoint": "/dev/vdb"]
                let reply = try await cloud.client.request(
                    .post, "/v3/attachments", token: "alice",
                    body: [
                        "attachment": [
                            "volume_uuid": .string(id), "instance_uuid": .string(UUID().uuidString.lowercased()),
                            "connector": connector,
                        ]
                    ], headers: version)
                XCTAssertEqual(reply.status, .ok, reply.text)
                return try XCTUnwrap(reply.json["attachment"]?["connection_info"])
            }
            let limited = try await connection(type: try await typeWithQos("limited", consumer: "front-end"))
            XCTAssertEqual(limited["qos_specs"], ["total_iops_sec": 100, "read_bytes_sec": 2000])
            let backEnd = try await connection(type: try await typeWithQos("array", consumer: "back-end"))
            XCTAssertEqual(backEnd["qos_specs"], .null)
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

/// Unmanage leaves the data; manage takes over a regular file of the backend by name and
/// nothing else: not a path, not a link, not data a record owns.
final class ManageFlowTests: XCTestCase {
    func testUnmanagedDataIsManagedAgainAndNothingElse() async throws {
        try await BlockStorageCloud.run { cloud in
            let volume = try await cloud.createVolume(["size": 1])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let file = "\(cloud.volumesDir)/volume-\(id)"
            let unmanaged = try await cloud.client.request(
                .post, "/v3/volumes/\(id)/action", token: "admin", body: ["os-unmanage": [:]])
            XCTAssertEqual(unmanaged.status, .accepted, unmanaged.text)
            try await cloud.waitUntilGone(id)
            XCTAssertTrue(FileManager.default.fileExists(atPath: file), "unmanage keeps the data")

            func manage(_ name: String) async throws -> String {
                let reply = try await cloud.client.request(
                    .post, "/v3/os-volume-manage", token: "admin",
                    body: ["volume": ["host": "testhost@file#file", "ref": ["source-name": .string(name)]]])
                XCTAssertEqual(reply.status, .accepted, reply.text)
                return try XCTUnwrap(reply.json["volume"]?["id"]?.stringValue)
            }
            let listed = try await cloud.client.request(
                .get, "/v3/manageable_volumes/detail?host=testhost@file", token: "admin",
                headers: [.openStackAPIVersion: "volume 3.8"])
            let entries = listed.json["manageable-volumes"]?.arrayValue ?? []
            XCTAssertEqual(
                entries.first { $0["reference"]?["source-name"]?.stringValue == "volume-\(id)" }?["safe_to_manage"],
                true)
            let adopted = try await manage("volume-\(id)")
            let available = try await cloud.waitFor(adopted, token: "admin") { $0["status"] != "creating" }
            XCTAssertEqual(available["status"], "available")
            XCTAssertEqual(available["size"], 1)
            XCTAssertEqual(available["os-vol-host-attr:host"], "testhost@file#file")

            let twice = try await manage("volume-\(id)")
            // a good qcow2 image outside the backend's directory, reached through a link inside it
            let outside = "\(cloud.dataDir)/outside.qcow2"
            try FileManager.default.copyItem(atPath: file, toPath: outside)
            let link = "\(cloud.volumesDir)/link"
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: outside)
            let linked = try await manage("link")
            let escaped = try await manage("../../../etc/passwd")
            for refused in [twice, linked, escaped] {
                let failed = try await cloud.waitFor(refused, token: "admin") { $0["status"] != "creating" }
                XCTAssertEqual(failed["status"], "error", "\(refused) manages nothing")
            }
            let nowhere = try await cloud.client.request(
                .post, "/v3/os-volume-manage", token: "admin",
                body: ["volume": ["host": "otherhost@file", "ref": ["source-name": "x"]]])
            XCTAssertEqual(nowhere.status, .notFound)
            let member = try await cloud.client.request(
                .post, "/v3/os-volume-manage", token: "alice",
                body: ["volume": ["host": "testhost@file", "ref": ["source-name": "x"]]])
            XCTAssertEqual(member.status, .forbidden)

            let deleted = try await cloud.client.request(.delete, "/v3/volumes/\(adopted)", token: "admin")
            XCTAssertEqual(deleted.status, .accepted, deleted.text)
            try await cloud.waitUntilGone(adopted)
            XCTAssertFalse(FileManager.default.fileExists(atPath: file), "deleting the managed volume removes it")
        }
    }
}
