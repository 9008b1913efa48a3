import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import StratusTestSupport
import XCTest

@testable import BlockStorage

/// Backups with the posix and swift drivers: full and incremental, restored to new and
/// existing volumes.
final class BackupFlowTests: XCTestCase {
    func testIncrementalBackupRestoresTheSameData() async throws {
        try await BlockStorageCloud.run { cloud in
            let volume = try await cloud.createVolume(["size": 1, "imageRef": .string(BlockStorageCloud.imageID)])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let full = try await Self.backup(cloud, ["volume_id": .string(id), "name": "full"])
            XCTAssertEqual(full["is_incremental"], false)
            XCTAssertEqual(full["object_count"], 1, "one chunk holds data; the zeros are not stored")
            let incremental = try await Self.backup(cloud, ["volume_id": .string(id), "incremental": true])
            XCTAssertEqual(incremental["is_incremental"], true)
            XCTAssertEqual(incremental["object_count"], 0, "nothing changed since the full backup")
            let fullID = try XCTUnwrap(full["id"]?.stringValue)
            let chunk = "\(cloud.dataDir)/backups/backups/\(fullID)/chunk-0"
            let stored = try FileManager.default.attributesOfItem(atPath: chunk)[.size] as? Int
            XCTAssertLessThan(stored ?? .max, 1 << 20, "the 32 MiB chunk (4 KiB of data) is stored compressed")
            let parent = try await cloud.client.request(.get, "/v3/backups/\(fullID)", token: "alice")
            XCTAssertEqual(parent.json["backup"]?["has_dependent_backups"], true)
            let refused = try await cloud.client.request(.delete, "/v3/backups/\(fullID)", token: "alice")
            XCTAssertEqual(refused.status, .badRequest, "a backup with incremental children is kept")

            let incrementalID = try XCTUnwrap(incremental["id"]?.stringValue)
            try await Self.restoreMatches(cloud, backup: incrementalID, volume: id)

            let exported = try await cloud.client.request(.get, "/v3/backups/\(fullID)/export_record", token: "admin")
            XCTAssertEqual(exported.status, .ok, exported.text)
            XCTAssertNotNil(exported.json["backup-record"]?["backup_url"]?.stringValue)
            for backup in [incrementalID, fullID] {
                let deleted = try await cloud.client.request(.delete, "/v3/backups/\(backup)", token: "alice")
                XCTAssertEqual(deleted.status, .accepted, deleted.text)
                try await cloud.waitUntilGone(backup, collection: "backups")
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: "\(cloud.dataDir)/backups/backups")
            XCTAssertEqual(left, [], "deleting a backup removes its chunks")
        }
    }

    /// The swift driver keeps the chunks and manifest as objects `<backup>/<name>` of Object
    /// Storage's `volumebackups` container, and deleting the backup deletes them.
    func testSwiftBackupsLiveInObjectStorage() async throws {
        let objects = FakeObjectStore()
        let sections = ["block_storage": ["backup_driver": "swift"]]
        try await BlockStorageCloud.run(sections: sections, objectStore: objects) { cloud in
            let volume = try await cloud.createVolume(["size": 1, "imageRef": .string(BlockStorageCloud.imageID)])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let backup = try await Self.backup(cloud, ["volume_id": .string(id)])
            let backupID = try XCTUnwrap(backup["id"]?.stringValue)
            XCTAssertEqual(backup["container"], "volumebackups")
            let expected: Set = ["volumebackups/\(backupID)/chunk-0", "volumebackups/\(backupID)/manifest.json"]
            XCTAssertEqual(Set(objects.objects.keys), expected)
            try await Self.restoreMatches(cloud, backup: backupID, volume: id)
            let deleted = try await cloud.client.request(.delete, "/v3/backups/\(backupID)", token: "alice")
            XCTAssertEqual(deleted.status, .accepted, deleted.text)
            try await cloud.waitUntilGone(backupID, collection: "backups")
            XCTAssertEqual(objects.objects, [:], "deleting the backup deletes its objects")
        }
    }

    /// Restores `backup` into a new volume and checks it holds `volume`'s bytes.
    static func restoreMatches(_ cloud: BlockStorageCloud.Cloud, backup: String, volume: String) async throws {
        let restored = try await cloud.client.request(
            .post, "/v3/backups/\(backup)/restore", token: "alice", body: ["restore": ["name": "back"]])
        XCTAssertEqual(restored.status, .accepted, restored.text)
        let newID = try XCTUnwrap(restored.json["restore"]?["volume_id"]?.stringValue)
        let new = try await cloud.waitFor(newID) { $0["status"]?.stringValue != "restoring-backup" }
        XCTAssertEqual(new["status"], "available", new.serialized())
        let original = try await VolumeFlowTests.data("\(cloud.volumesDir)/volume-\(volume)")
        let copy = try await VolumeFlowTests.data("\(cloud.volumesDir)/volume-\(newID)")
        XCTAssertEqual(copy, original, "the restored volume holds the backed-up bytes")
    }

    static func backup(_ cloud: BlockStorageCloud.Cloud, _ body: JSON) async throws -> JSON {
        let created = try await cloud.client.request(.post, "/v3/backups", token: "alice", body: ["backup": body])
        XCTAssertEqual(created.status, .accepted, created.text)
        let id = try XCTUnwrap(created.json["backup"]?["id"]?.stringValue)
        let backup = try await cloud.waitFor(id, collection: "backups") { $0["status"]?.stringValue != "creating" }
        XCTAssertEqual(backup["status"], "available", backup.serialized())
        let volume = try XCTUnwrap(backup["volume_id"]?.stringValue)
        _ = try await cloud.waitFor(volume) { $0["status"]?.stringValue == "available" }
        return backup
    }
}
