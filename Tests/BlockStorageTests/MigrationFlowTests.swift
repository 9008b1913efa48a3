import Foundation
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

    /// A volume type whose volumes go to the backend `file`; returns its name.
    static func type(_ name: String, _ cloud: BlockStorageCloud.Cloud) async throws -> String {
        let created = try await cloud.client.request(
            .post, "/v3/types",
            body: ["volume_type": ["name": .string(name), "extra_specs": ["volume_backend_name": "file"]]])
        XCTAssertEqual(created.status, .ok, created.text)
        return name
    }
}
