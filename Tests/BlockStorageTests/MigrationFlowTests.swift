import Foundation
import HummingbirdTesting
import HTTPTypes
import StratusCore
import StratusTestSupport
import XCTest

@testable import BlockStorage

/// Retype and `os-migrate_volume`. Between backends that keep data in different formats
/// the destination reads the source in the format its backend states, so the guest's bytes
/// arrive, not the source's container; an encrypted volume arrives still encrypted.
final class MigrationFlowTests: XCTestCase {
    func testMigrationFromQcow2ToRawKeepsTheData() async throws {
        try await BlockStorageCloud.run(backends: "file,file2", sections: ["file2": ["volume_format": "raw"]]) {
            cloud in
            let plainType = try await Self.type("on-file", cloud)
            let encryptedType = try await EncryptionFlowTests.encryptedType("luks-on-file", provider: "luks", cloud)
            let spec = try await cloud.client.request(
                .post, "/v3/types/\(encryptedType)/extra_specs",
                body: ["extra_specs": ["volume_backend_name": "file"]])
            XCTAssertEqual(spec.status, .ok, spec.text)
            for (type, encrypted) in [(plainType, false), (encryptedType, true)] {
                let volume = try await cloud.createVolume([
                    "size": 1, "volume_type": .string(type), "imageRef": .string(BlockStorageCloud.imageID),
                ])
                XCTAssertEqual(volume["status"], "available", volume.serialized())
                let id = try XCTUnwrap(volume["id"]?.stringValue)
                let moved = try await cloud.client.request(
                    .post, "/v3/volumes/\(id)/action",
                    body: ["os-migrate_volume": ["host": "testhost@file2#file2", "force_host_copy": false]])
                XCTAssertEqual(moved.status, .accepted, moved.text)
                let done = try await cloud.waitFor(id, token: "admin") {
                    ["success", "error"].contains($0["migration_status"]?.stringValue ?? "")
                }
                XCTAssertEqual(done["migration_status"], "success", done.serialized())
                XCTAssertEqual(done["os-vol-host-attr:host"], "testhost@file2#file2")
                let file = "\(cloud.dataDir)/volumes/file2/volume-\(id)"
                let bytes: [UInt8]
                if encrypted {
                    let info = try JSON.parse(try await HostCommand.run(["qemu-img", "info", "--output=json", file]))
                    XCTAssertEqual(info["format"], "luks")
                    bytes = try await EncryptionFlowTests.plainBytes(file, cloud, format: "raw", count: 4096)
                } else {
                    bytes = Array(try XCTUnwrap(FileManager.default.contents(atPath: file)).prefix(4096))
                }
                XCTAssertTrue(
                    bytes.count == 4096 && bytes.allSatisfy { $0 == 7 }, "encrypted \(encrypted): \(bytes.prefix(8))")
                XCTAssertFalse(FileManager.default.fileExists(atPath: "\(cloud.volumesDir)/volume-\(id)"))
            }
        }
    }

    /// A retype without migration takes the new type's multiattach, both ways; an in-use
    /// volume cannot change it.
    func testRetypeTakesTheTypesMultiattach() async throws {
        try await BlockStorageCloud.run { cloud in
            let shared = try await cloud.client.request(
                .post, "/v3/types",
                body: ["volume_type": ["name": "shared", "extra_specs": ["multiattach": "<is> True"]]])
            XCTAssertEqual(shared.status, .ok, shared.text)
            let volume = try await cloud.createVolume(["size": 1])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            XCTAssertEqual(volume["multiattach"], false)
            for (type, multiattach) in [("shared", true), ("__DEFAULT__", false)] {
                let retype = try await cloud.client.request(
                    .post, "/v3/volumes/\(id)/action", token: "alice",
                    body: ["os-retype": ["new_type": .string(type), "migration_policy": "never"]])
                XCTAssertEqual(retype.status, .accepted, retype.text)
                let shown = try await cloud.waitFor(id) { $0["volume_type"]?.stringValue == type }
                XCTAssertEqual(shown["multiattach"], .bool(multiattach), shown.serialized())
            }
        }
    }

    /// An in-use volume migrates through Nova: a hidden blank target on the destination,
    /// Nova's swap (played here as Nova does it), then `os-migrate_volume_completion` gives
    /// the volume the target's data and attachment, and its old data goes.
    func testAttachedVolumeMigratesThroughNovasSwap() async throws {
        let compute = FakeCompute()
        try await BlockStorageCloud.run(backends: "file,file2", compute: compute) { cloud in
            let type = try await Self.type("on-file", cloud)
            let volume = try await cloud.createVolume(["size": 1, "volume_type": .string(type)])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let server = UUID().uuidString.lowercased()
            let oldAttachment = try await Self.attach(id, server: server, cloud)
            let moved = try await Self.migrate(id, cloud)
            XCTAssertEqual(moved.status, .accepted, moved.text)
            let swap = try await Self.swapRequest(compute)
            XCTAssertEqual(swap?.server, server)
            XCTAssertEqual(swap?.old, id)
            let targetID = try XCTUnwrap(swap?.new)
            let target = try await cloud.client.request(.get, "/v3/volumes/\(targetID)", token: "admin")
            XCTAssertEqual(target.json["volume"]?["status"], "available", target.text)
            XCTAssertEqual(target.json["volume"]?["migration_status"]?.stringValue, "target:\(id)")
            XCTAssertEqual(target.json["volume"]?["os-vol-host-attr:host"], "testhost@file2#file2")
            let listed = try await cloud.client.request(.get, "/v3/volumes", token: "alice")
            XCTAssertEqual(listed.json["volumes"]?.arrayValue?.compactMap { $0["id"]?.stringValue }, [id])
            let source = try await cloud.client.request(.get, "/v3/volumes/\(id)", token: "admin")
            XCTAssertEqual(source.json["volume"]?["status"], "in-use")
            XCTAssertEqual(source.json["volume"]?["migration_status"], "migrating")

            let newAttachment = try await Self.attach(targetID, server: server, cloud)
            let completed = try await cloud.client.request(
                .post, "/v3/volumes/\(id)/action", token: "nova",
                body: ["os-migrate_volume_completion": ["new_volume": .string(targetID), "error": false]])
            XCTAssertEqual(completed.status, .ok, completed.text)
            XCTAssertEqual(completed.json["save_volume_id"]?.stringValue, id)
            let dropped = try await cloud.client.request(
                .delete, "/v3/attachments/\(oldAttachment)", token: "nova",
                headers: [.openStackAPIVersion: "volume 3.44"])
            XCTAssertEqual(dropped.status, .ok, dropped.text)

            let done = try await cloud.client.request(.get, "/v3/volumes/\(id)", token: "admin")
            let shown = try XCTUnwrap(done.json["volume"])
            XCTAssertEqual(shown["status"], "in-use")
            XCTAssertEqual(shown["migration_status"], "success")
            XCTAssertEqual(shown["os-vol-host-attr:host"], "testhost@file2#file2")
            XCTAssertEqual(
                shown["attachments"]?.arrayValue?.map { $0["attachment_id"]?.stringValue }, [newAttachment])
            let gone = try await cloud.client.request(.get, "/v3/volumes/\(targetID)", token: "admin")
            XCTAssertEqual(gone.status, .notFound)
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(cloud.dataDir)/volumes/file2/volume-\(targetID)"))
            try await Self.waitUntilRemoved("\(cloud.volumesDir)/volume-\(id)")
        }
    }

    /// When Nova refuses the swap, the target goes and the volume stays where it was, in use.
    func testRefusedSwapEndsTheMigrationInError() async throws {
        let compute = FakeCompute()
        await compute.refuseSwaps()
        try await BlockStorageCloud.run(backends: "file,file2", compute: compute) { cloud in
            let type = try await Self.type("on-file", cloud)
            let volume = try await cloud.createVolume(["size": 1, "volume_type": .string(type)])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            _ = try await Self.attach(id, server: UUID().uuidString.lowercased(), cloud)
            let moved = try await Self.migrate(id, cloud)
            XCTAssertEqual(moved.status, .accepted, moved.text)
            let done = try await cloud.waitFor(id, token: "admin") { $0["migration_status"] == "error" }
            XCTAssertEqual(done["status"], "in-use")
            XCTAssertEqual(done["os-vol-host-attr:host"], "testhost@file#file")
            let all = try await cloud.client.request(
                .get, "/v3/volumes/detail?all_tenants=1&migration_status=target:\(id)", token: "admin")
            XCTAssertEqual(all.json["volumes"], [], "no target is left")
            let files = try FileManager.default.contentsOfDirectory(atPath: "\(cloud.dataDir)/volumes/file2")
            XCTAssertEqual(files.filter { $0.hasPrefix("volume-") }, [])
        }
    }

    /// Reserves, connects and completes an attachment of the volume for `server`, as Nova.
    static func attach(_ id: String, server: String, _ cloud: BlockStorageCloud.Cloud) async throws -> String {
        let version: HTTPFields = [.openStackAPIVersion: "volume 3.44"]
        let reserved = try await cloud.client.request(
            .post, "/v3/attachments", token: "nova",
            body: ["attachment": ["volume_uuid": .string(id), "instance_uuid": .string(server)]], headers: version)
        XCTAssertEqual(reserved.status, .ok, reserved.text)
        let attachment = try XCTUnwrap(reserved.json["attachment"]?["id"]?.stringValue)
        let connector: JSON = ["host": "testhost", "ip": "127.0.0.1", "mountpoint": "/dev/vdb"]
        let updated = try await cloud.client.request(
            .put, "/v3/attachments/\(attachment)", token: "nova", body: ["attachment": ["connector": connector]],
            headers: version)
        XCTAssertEqual(updated.status, .ok, updated.text)
        let completed = try await cloud.client.request(
            .post, "/v3/attachments/\(attachment)/action", token: "nova", body: ["os-complete": [:]],
            headers: version)
        XCTAssertEqual(completed.status, .noContent, completed.text)
        return attachment
    }

    private static func migrate(_ id: String, _ cloud: BlockStorageCloud.Cloud) async throws -> TestReply {
        try await cloud.client.request(
            .post, "/v3/volumes/\(id)/action", token: "admin",
            body: ["os-migrate_volume": ["host": "testhost@file2#file2"]])
    }

    private static func swapRequest(_ compute: FakeCompute) async throws -> FakeCompute.Swap? {
        for _ in 0..<500 {
            if let swap = await compute.swaps.first { return swap }
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTFail("Block Storage never asked Nova for a swap")
        return nil
    }

    private static func waitUntilRemoved(_ path: String) async throws {
        for _ in 0..<500 {
            if !FileManager.default.fileExists(atPath: path) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTFail("\(path) was never removed")
    }

    /// A volume type whose volumes go to the backend `file`; returns its name.
    static func type(_ name: String, _ cloud: BlockStorageCloud.Cloud) async throws -> String {
        let created = try await cloud.client.request(
            .post, "/v3/types",
            body: ["volume_type": ["name": .string(name), "extra_specs": ["volume_backend_name": "file"]]])
        XCTAssertEqual(created.status, .ok, created.text)
        return name
    }
}
