import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import StratusTestSupport
import XCTest

@testable import BlockStorage

/// Volumes, snapshots and attachments through the API, with real qcow2 files.
final class VolumeFlowTests: XCTestCase {
    func testVolumeLifecycleMakesAndRemovesItsFile() async throws {
        try await BlockStorageCloud.run { cloud in
            let volume = try await cloud.createVolume(["size": 1, "name": "v1", "metadata": ["Type": "Test"]])
            XCTAssertEqual(volume["status"], "available")
            XCTAssertEqual(volume["bootable"], "false")
            XCTAssertEqual(volume["metadata"]?["Type"], "Test")
            XCTAssertEqual(volume["volume_type"], "__DEFAULT__")
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let file = "\(cloud.volumesDir)/volume-\(id)"
            XCTAssertTrue(FileManager.default.fileExists(atPath: file))
            let info = try await HostCommand.run(["qemu-img", "info", "--output=json", "-f", "qcow2", file])
            XCTAssertEqual(try JSON.parse(info)["virtual-size"]?.intValue, 1 << 30)

            let renamed = try await cloud.client.request(
                .put, "/v3/volumes/\(id)", token: "alice",
                body: [
                    "volume": ["name": "v1b", "description": .null]
                ])
            XCTAssertEqual(renamed.status, .ok, renamed.text)
            XCTAssertEqual(renamed.json["volume"]?["name"], "v1b")
            XCTAssertNil(renamed.json["volume"]?["os-vol-tenant-attr:tenant_id"], "extension keys only in show")

            let other = try await cloud.client.request(.get, "/v3/volumes/\(id)", token: "bob")
            XCTAssertEqual(other.status, .notFound, "another project's volume is not found")
            let deleted = try await cloud.client.request(.delete, "/v3/volumes/\(id)", token: "alice")
            XCTAssertEqual(deleted.status, .accepted, deleted.text)
            try await cloud.waitUntilGone(id)
            XCTAssertFalse(FileManager.default.fileExists(atPath: file))
        }
    }

    func testBadCreatesAre4xxAndLeaveNothing() async throws {
        try await BlockStorageCloud.run { cloud in
            for size: JSON in ["#$%", "", "0", "-1", 0, -1] {
                let reply = try await cloud.client.request(
                    .post, "/v3/volumes", token: "alice",
                    body: [
                        "volume": ["size": size]
                    ])
                XCTAssertEqual(reply.status, .badRequest, "size \(size): \(reply.text)")
                XCTAssertNotNil(reply.json["badRequest"]?["message"])
            }
            let missing = UUID().uuidString.lowercased()
            for key in ["volume_type", "snapshot_id", "source_volid"] {
                let reply = try await cloud.client.request(
                    .post, "/v3/volumes", token: "alice",
                    body: [
                        "volume": .object(["size": 1, key: .string(missing)])
                    ])
                XCTAssertEqual(reply.status, .notFound, "\(key): \(reply.text)")
            }
            for path in ["/v3/volumes/", "/v3/volumes/tempest-invalid-id", "/v3/volumes/\(missing)"] {
                for method in [HTTPRequest.Method.get, .delete] {
                    let reply = try await cloud.client.request(method, path, token: "alice")
                    XCTAssertEqual(reply.status, .notFound, "\(method) \(path): \(reply.text)")
                }
            }
            let list = try await cloud.client.request(.get, "/v3/volumes/detail", token: "alice")
            XCTAssertEqual(list.json["volumes"], [])
            let files = try FileManager.default.contentsOfDirectory(atPath: cloud.volumesDir)
            XCTAssertEqual(files, [])
        }
    }

    func testSnapshotCloneAndImageSourcesCopyTheData() async throws {
        try await BlockStorageCloud.run { cloud in
            let fromImage = try await cloud.createVolume(["size": 1, "imageRef": .string(BlockStorageCloud.imageID)])
            XCTAssertEqual(fromImage["status"], "available", fromImage.serialized())
            XCTAssertEqual(fromImage["bootable"], "true")
            XCTAssertEqual(fromImage["volume_image_metadata"]?["image_id"]?.stringValue, BlockStorageCloud.imageID)
            let source = try XCTUnwrap(fromImage["id"]?.stringValue)

            let created = try await cloud.client.request(
                .post, "/v3/snapshots", token: "alice",
                body: [
                    "snapshot": ["volume_id": .string(source), "name": "s1", "metadata": ["k": "v"]]
                ])
            XCTAssertEqual(created.status, .accepted, created.text)
            XCTAssertNil(created.json["snapshot"]?["os-extended-snapshot-attributes:progress"])
            let snapshotID = try XCTUnwrap(created.json["snapshot"]?["id"]?.stringValue)
            let snapshot = try await cloud.waitFor(snapshotID, collection: "snapshots") { $0["status"] == "available" }
            XCTAssertEqual(snapshot["os-extended-snapshot-attributes:progress"], "100%")

            let small = try await cloud.client.request(
                .post, "/v3/volumes", token: "alice",
                body: [
                    "volume": ["snapshot_id": .string(snapshotID), "size": 0]
                ])
            XCTAssertEqual(small.status, .badRequest)
            let fromSnapshot = try await cloud.createVolume(["snapshot_id": .string(snapshotID), "size": 2])
            XCTAssertEqual(fromSnapshot["size"], 2)
            XCTAssertEqual(fromSnapshot["snapshot_id"]?.stringValue, snapshotID)
            let clone = try await cloud.createVolume(["source_volid": .string(source)])
            XCTAssertEqual(clone["size"], 1)

            let original = try await Self.data("\(cloud.volumesDir)/volume-\(source)")
            for copy in [fromSnapshot, clone] {
                let id = try XCTUnwrap(copy["id"]?.stringValue)
                let data = try await Self.data("\(cloud.volumesDir)/volume-\(id)")
                XCTAssertEqual(
                    Array(data.prefix(4096)), Array(original.prefix(4096)), "the copy holds the image's bytes")
            }
            XCTAssertEqual(Array(original.prefix(4096)), [UInt8](repeating: 7, count: 4096))

            let blocked = try await cloud.client.request(.delete, "/v3/volumes/\(source)", token: "alice")
            XCTAssertEqual(blocked.status, .badRequest, "a volume with snapshots is not deleted")
            let cascade = try await cloud.client.request(.delete, "/v3/volumes/\(source)?cascade=true", token: "alice")
            XCTAssertEqual(cascade.status, .accepted, cascade.text)
            try await cloud.waitUntilGone(source)
            try await cloud.waitUntilGone(snapshotID, collection: "snapshots")
        }
    }

    func testAttachmentFlowMovesTheVolumeThroughItsStates() async throws {
        try await BlockStorageCloud.run { cloud in
            let volume = try await cloud.createVolume(["size": 1])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let version: HTTPFields = [.openStackAPIVersion: "volume 3.44"]
            let server = UUID().uuidString.lowercased()
            let reserved = try await cloud.client.request(
                .post, "/v3/attachments", token: "alice",
                body: [
                    "attachment": ["volume_uuid": .string(id), "instance_uuid": .string(server)]
                ], headers: version)
            XCTAssertEqual(reserved.status, .ok, reserved.text)
            XCTAssertEqual(reserved.json["attachment"]?["status"], "reserved")
            let attachment = try XCTUnwrap(reserved.json["attachment"]?["id"]?.stringValue)
            let again = try await cloud.client.request(
                .post, "/v3/attachments", token: "alice",
                body: [
                    "attachment": ["volume_uuid": .string(id), "instance_uuid": .string(server)]
                ], headers: version)
            XCTAssertEqual(again.status, .badRequest, "a reserved volume is not reserved twice")

            let connector: JSON = [
                "host": "testhost", "ip": "127.0.0.1", "mountpoint": "/dev/vdb", "multipath": false,
            ]
            let updated = try await cloud.client.request(
                .put, "/v3/attachments/\(attachment)", token: "alice",
                body: [
                    "attachment": ["connector": connector]
                ], headers: version)
            XCTAssertEqual(updated.status, .ok, updated.text)
            let info = try XCTUnwrap(updated.json["attachment"]?["connection_info"])
            XCTAssertEqual(info["driver_volume_type"], "local")
            XCTAssertEqual(info["device_path"]?.stringValue, "\(cloud.volumesDir)/volume-\(id)")
            XCTAssertEqual(info["format"], "qcow2")
            let attaching = try await cloud.client.request(.get, "/v3/volumes/\(id)", token: "alice")
            XCTAssertEqual(attaching.json["volume"]?["status"], "attaching")

            let completed = try await cloud.client.request(
                .post, "/v3/attachments/\(attachment)/action", token: "alice", body: ["os-complete": [:]],
                headers: version)
            XCTAssertEqual(completed.status, .noContent, completed.text)
            let inUse = try await cloud.client.request(.get, "/v3/volumes/\(id)", token: "alice")
            XCTAssertEqual(inUse.json["volume"]?["status"], "in-use")
            XCTAssertEqual(inUse.json["volume"]?["attachments"]?.arrayValue?.first?["server_id"]?.stringValue, server)
            XCTAssertEqual(inUse.json["volume"]?["attachments"]?.arrayValue?.first?["device"], "/dev/vdb")
            let busy = try await cloud.client.request(.delete, "/v3/volumes/\(id)", token: "alice")
            XCTAssertEqual(busy.status, .badRequest, "an attached volume is not deleted")

            let detaching = try await cloud.client.request(
                .post, "/v3/volumes/\(id)/action", token: "alice",
                body: [
                    "os-begin_detaching": [:]
                ])
            XCTAssertEqual(detaching.status, .accepted, detaching.text)
            let refused = try await cloud.client.request(
                .delete, "/v3/attachments/\(attachment)", token: "alice", headers: version)
            XCTAssertEqual(refused.status, .conflict, "only Compute ends an attachment a server uses")
            let removed = try await cloud.client.request(
                .delete, "/v3/attachments/\(attachment)", token: "nova", headers: version)
            XCTAssertEqual(removed.status, .ok, removed.text)
            XCTAssertEqual(removed.json["attachments"], [])
            let available = try await cloud.client.request(.get, "/v3/volumes/\(id)", token: "alice")
            XCTAssertEqual(available.json["volume"]?["status"], "available")
            XCTAssertEqual(available.json["volume"]?["attachments"], [])
        }
    }

    func testListsFilterSortAndPageWithNextLinks() async throws {
        try await BlockStorageCloud.run { cloud in
            var ids: [String] = []
            for index in 0..<3 {
                let volume = try await cloud.createVolume([
                    "size": 1, "name": .string("v\(index)"), "metadata": ["Type": index == 2 ? "other" : "work"],
                ])
                ids.append(try XCTUnwrap(volume["id"]?.stringValue))
            }
            let filtered = try await cloud.client.request(
                .get, "/v3/volumes/detail?metadata=%7B%27Type%27%3A%20%27work%27%7D", token: "alice")
            XCTAssertEqual(filtered.json["volumes"]?.arrayValue?.count, 2, filtered.text)
            let byName = try await cloud.client.request(.get, "/v3/volumes?name=v1&status=available", token: "alice")
            XCTAssertEqual(byName.json["volumes"]?.arrayValue?.first?["id"]?.stringValue, ids[1])
            let none = try await cloud.client.request(.get, "/v3/volumes?status=null", token: "alice")
            XCTAssertEqual(none.json["volumes"], [])

            var seen: [String] = []
            var path: String? = "/v3/volumes?limit=1&sort=name:asc"
            while let next = path {
                let page = try await cloud.client.request(.get, next, token: "alice")
                XCTAssertEqual(page.status, .ok, page.text)
                seen += page.json["volumes"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                path = page.json["volumes_links"]?.arrayValue?.first?["href"]?.stringValue.map { href in
                    String(href[href.range(of: "/v3/")!.lowerBound...])
                }
            }
            XCTAssertEqual(seen, ids, "each volume once, in name order")
            let badSort = try await cloud.client.request(.get, "/v3/volumes?sort=nope:asc", token: "alice")
            XCTAssertEqual(badSort.status, .badRequest)
        }
    }

    func testMetadataAPI() async throws {
        try await BlockStorageCloud.run { cloud in
            let volume = try await cloud.createVolume(["size": 1])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let base = "/v3/volumes/\(id)/metadata"
            let merged = try await cloud.client.request(
                .post, base, token: "alice", body: ["metadata": ["a": "1", "b": "2"]])
            XCTAssertEqual(merged.json["metadata"], ["a": "1", "b": "2"])
            let replaced = try await cloud.client.request(.put, base, token: "alice", body: ["metadata": ["c": "3"]])
            XCTAssertEqual(replaced.json["metadata"], ["c": "3"])
            let item = try await cloud.client.request(.put, base + "/c", token: "alice", body: ["meta": ["c": "4"]])
            XCTAssertEqual(item.json["meta"], ["c": "4"])
            let mismatch = try await cloud.client.request(
                .put, base + "/c", token: "alice", body: ["meta": ["d": "4"]])
            XCTAssertEqual(mismatch.status, .badRequest)
            let removed = try await cloud.client.request(.delete, base + "/c", token: "alice")
            XCTAssertEqual(removed.status, .ok)
            let gone = try await cloud.client.request(.get, base + "/c", token: "alice")
            XCTAssertEqual(gone.status, .notFound)
        }
    }

    static func data(_ path: String) async throws -> [UInt8] {
        let raw = path + ".raw"
        try await HostCommand.run(["qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", path, raw])
        defer { try? FileManager.default.removeItem(atPath: raw) }
        return Array(try Data(contentsOf: URL(fileURLWithPath: raw)).prefix(1 << 16))
    }
}
