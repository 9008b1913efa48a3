import Foundation
import HTTPTypes
import StratusCore
import StratusTestSupport
import XCTest

@testable import BlockStorage

/// Volumes of an encrypted type: LUKS data on disk, locked with the fixed key, through
/// every copy (image, snapshot, clone) and extend; what cannot keep data encrypted is refused.
final class EncryptionFlowTests: XCTestCase {
    func testEncryptedVolumesHoldLuksDataThroughCopiesAndExtend() async throws {
        try await BlockStorageCloud.run { cloud in
            let type = try await Self.encryptedType("luks", provider: "luks", cloud)
            let volume = try await cloud.createVolume([
                "size": 1, "volume_type": "luks", "imageRef": .string(BlockStorageCloud.imageID),
            ])
            XCTAssertEqual(volume["status"], "available", volume.serialized())
            XCTAssertEqual(volume["encrypted"], true)
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let shown = try await cloud.client.request(
                .get, "/v3/volumes/\(id)", token: "alice", headers: [.openStackAPIVersion: "volume 3.64"])
            XCTAssertEqual(shown.json["volume"]?["encryption_key_id"]?.stringValue, FixedKeyManager.keyID)
            let metadata = try await cloud.client.request(.get, "/v3/volumes/\(id)/encryption", token: "alice")
            XCTAssertEqual(metadata.json["encrypted"], true, metadata.text)
            XCTAssertEqual(metadata.json["provider"], "luks")
            XCTAssertEqual(metadata.json["encryption_key_id"]?.stringValue, FixedKeyManager.keyID)

            // The host's connection says how to open it.
            let attachment = try await cloud.client.request(
                .post, "/v3/attachments", token: "alice",
                body: [
                    "attachment": [
                        "volume_uuid": .string(id), "instance_uuid": .string(UUID().uuidString.lowercased()),
                        "connector": ["host": "testhost", "ip": "127.0.0.1", "mountpoint": "/dev/vdb"],
                    ]
                ], headers: [.openStackAPIVersion: "volume 3.44"])
            let connection = try XCTUnwrap(attachment.json["attachment"]?["connection_info"], attachment.text)
            XCTAssertEqual(connection["encrypted"], true, connection.serialized())
            XCTAssertEqual(connection["encryption_key_id"]?.stringValue, FixedKeyManager.keyID)
            let attachmentID = try XCTUnwrap(attachment.json["attachment"]?["id"]?.stringValue)
            let detached = try await cloud.client.request(
                .delete, "/v3/attachments/\(attachmentID)", token: "alice",
                headers: [.openStackAPIVersion: "volume 3.44"])
            XCTAssertEqual(detached.status, .ok, detached.text)
            _ = try await cloud.waitFor(id) { $0["status"] == "available" }

            // On disk: qcow2 with LUKS inside, whose plain data is the image's.
            let file = "\(cloud.volumesDir)/volume-\(id)"
            let info = try JSON.parse(try await HostCommand.run(["qemu-img", "info", "--output=json", file]))
            XCTAssertEqual(info["format-specific"]?["data"]?["encrypt"]?["format"], "luks")
            let plainData = try await Self.plainBytes(file, cloud, count: 4096)
            XCTAssertTrue(plainData.count == 4096 && plainData.allSatisfy { $0 == 7 }, "\(plainData.prefix(8))")

            // A snapshot and a clone stay encrypted and hold the same data; a plain copy is refused.
            let snapshot = try await cloud.client.request(
                .post, "/v3/snapshots", token: "alice", body: ["snapshot": ["volume_id": .string(id)]])
            let snapshotID = try XCTUnwrap(snapshot.json["snapshot"]?["id"]?.stringValue, snapshot.text)
            let taken = try await cloud.waitFor(snapshotID, collection: "snapshots") { $0["status"] != "creating" }
            XCTAssertEqual(taken["status"], "available")
            let fromSnapshot = try await cloud.createVolume([
                "size": 2, "volume_type": "luks", "snapshot_id": .string(snapshotID),
            ])
            XCTAssertEqual(fromSnapshot["status"], "available", fromSnapshot.serialized())
            XCTAssertEqual(fromSnapshot["encrypted"], true)
            let copy = "\(cloud.volumesDir)/volume-\(fromSnapshot["id"]?.stringValue ?? "")"
            let copiedData = try await Self.plainBytes(copy, cloud, count: 4096)
            XCTAssertTrue(copiedData.count == 4096 && copiedData.allSatisfy { $0 == 7 }, "\(copiedData.prefix(8))")
            let plain = try await cloud.client.request(
                .post, "/v3/volumes", token: "alice", body: ["volume": ["size": 1, "source_volid": .string(id)]])
            XCTAssertEqual(plain.status, .badRequest, plain.text)

            // Extend opens the data with the key.
            let extend = try await cloud.client.request(
                .post, "/v3/volumes/\(id)/action", token: "alice", body: ["os-extend": ["new_size": 2]])
            XCTAssertEqual(extend.status, .accepted, extend.text)
            let grown = try await cloud.waitFor(id) { $0["status"] != "extending" }
            XCTAssertEqual(grown["size"], 2, grown.serialized())
            let grownInfo = try JSON.parse(try await HostCommand.run(["qemu-img", "info", "--output=json", file]))
            XCTAssertEqual(grownInfo["virtual-size"]?.intValue, 2 << 30)

            // What would take the data out of its encryption is refused.
            let upload = try await cloud.client.request(
                .post, "/v3/volumes/\(id)/action", token: "alice",
                body: ["os-volume_upload_image": ["image_name": "leak"]])
            XCTAssertEqual(upload.status, .badRequest, upload.text)
            let retype = try await cloud.client.request(
                .post, "/v3/volumes/\(id)/action", token: "alice",
                body: ["os-retype": ["new_type": "__DEFAULT__", "migration_policy": "on-demand"]])
            XCTAssertEqual(retype.status, .badRequest, retype.text)
            let changed = try await cloud.client.request(
                .put, "/v3/types/\(type)/encryption/x", body: ["encryption": ["key_size": 512]])
            XCTAssertEqual(changed.status, .badRequest, changed.text)
        }
    }

    /// An encrypted volume's backup holds LUKS data, never the plain bytes; it restores to a
    /// new volume of the backed-up volume's encrypted type or into an encrypted volume, and
    /// never into an unencrypted one.
    func testEncryptedBackupsStayEncrypted() async throws {
        try await BlockStorageCloud.run { cloud in
            _ = try await Self.encryptedType("luks", provider: "luks", cloud)
            let volume = try await cloud.createVolume([
                "size": 1, "volume_type": "luks", "imageRef": .string(BlockStorageCloud.imageID),
            ])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let backup = try await BackupFlowTests.backup(cloud, ["volume_id": .string(id)])
            let backupID = try XCTUnwrap(backup["id"]?.stringValue)
            let chunk = try XCTUnwrap(
                FileManager.default.contents(atPath: "\(cloud.dataDir)/backups/backups/\(backupID)/chunk-0"))
            XCTAssertNil(chunk.range(of: Data(repeating: 7, count: 512)), "the chunk holds no plain data")

            let restored = try await cloud.client.request(
                .post, "/v3/backups/\(backupID)/restore", token: "alice", body: ["restore": ["name": "back"]])
            XCTAssertEqual(restored.status, .accepted, restored.text)
            let newID = try XCTUnwrap(restored.json["restore"]?["volume_id"]?.stringValue)
            let new = try await cloud.waitFor(newID) { $0["status"]?.stringValue != "restoring-backup" }
            XCTAssertEqual(new["status"], "available", new.serialized())
            XCTAssertEqual(new["encrypted"], true)
            XCTAssertEqual(new["volume_type"], "luks")
            let data = try await Self.plainBytes("\(cloud.volumesDir)/volume-\(newID)", cloud, count: 4096)
            XCTAssertTrue(data.count == 4096 && data.allSatisfy { $0 == 7 }, "\(data.prefix(8))")

            let plain = try await cloud.createVolume(["size": 1])
            let plainID = try XCTUnwrap(plain["id"]?.stringValue)
            let refused = try await cloud.client.request(
                .post, "/v3/backups/\(backupID)/restore", token: "alice",
                body: ["restore": ["volume_id": .string(plainID)]])
            XCTAssertEqual(refused.status, .badRequest, refused.text)
        }
    }

    /// Only LUKS is made: a `plain` (cryptsetup) type or a cipher QEMU lacks is a 400.
    func testUnsupportedEncryptionIsRefused() async throws {
        try await BlockStorageCloud.run { cloud in
            _ = try await Self.encryptedType("plain", provider: "plain", cloud)
            let plain = try await cloud.client.request(
                .post, "/v3/volumes", token: "alice", body: ["volume": ["size": 1, "volume_type": "plain"]])
            XCTAssertEqual(plain.status, .badRequest, plain.text)
            XCTAssertTrue(plain.text.contains("not supported"), plain.text)
            let count = try await cloud.client.request(.get, "/v3/volumes", token: "alice")
            XCTAssertEqual(count.json["volumes"]?.arrayValue?.count, 0)
        }
    }

    func testLuksCiphersMapToQemuOptions() throws {
        let xts = try LuksCipher(cipher: "aes-xts-plain64", keySize: 256)
        XCTAssertEqual([xts.algorithm, xts.mode, xts.ivgen], ["aes-128", "xts", "plain64"])
        XCTAssertNil(xts.ivgenHash)
        XCTAssertEqual(
            xts.options(prefix: "encrypt."),
            "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.cipher-alg=aes-128,encrypt.cipher-mode=xts,"
                + "encrypt.ivgen-alg=plain64,encrypt.iter-time=100")
        XCTAssertEqual(try LuksCipher(cipher: nil, keySize: 512).algorithm, "aes-256")
        let cbc = try LuksCipher(cipher: "aes-cbc-essiv:sha256", keySize: 256)
        XCTAssertEqual([cbc.algorithm, cbc.mode, cbc.ivgen, cbc.ivgenHash], ["aes-256", "cbc", "essiv", "sha256"])
        XCTAssertEqual(
            cbc.options(prefix: ""),
            "key-secret=sec0,cipher-alg=aes-256,cipher-mode=cbc,ivgen-alg=essiv,iter-time=100,ivgen-hash-alg=sha256")
        for (cipher, size) in [("twofish-xts-plain64", 256), ("aes-xts-plain64", 320), ("aes-gcm-random", 256)] {
            XCTAssertThrowsError(try LuksCipher(cipher: cipher, keySize: size), "\(cipher) \(size)")
        }
    }

    func testTheFixedKeyIsHex() throws {
        XCTAssertThrowsError(try FixedKeyManager(hexKey: "not hex at all, not hex at all!!"))
        XCTAssertThrowsError(try FixedKeyManager(hexKey: "0011"))
        let keys = try FixedKeyManager(hexKey: "00112233445566778899AABBCCDDEEFF")
        XCTAssertEqual(try keys.passphrase(keyID: keys.createKey()), "00112233445566778899aabbccddeeff")
        XCTAssertThrowsError(try keys.passphrase(keyID: UUID().uuidString))
    }

    /// A volume type with an encryption spec; returns its id.
    static func encryptedType(
        _ name: String, provider: String, _ cloud: BlockStorageCloud.Cloud
    ) async throws -> String {
        let created = try await cloud.client.request(
            .post, "/v3/types", body: ["volume_type": ["name": .string(name)]])
        let id = try XCTUnwrap(created.json["volume_type"]?["id"]?.stringValue, created.text)
        let encryption = try await cloud.client.request(
            .post, "/v3/types/\(id)/encryption",
            body: [
                "encryption": [
                    "provider": .string(provider), "cipher": "aes-xts-plain64", "key_size": 256,
                    "control_location": "front-end",
                ]
            ])
        XCTAssertEqual(encryption.status, .ok, encryption.text)
        return id
    }

    /// The first `count` bytes of the encrypted volume's plain data, read with the key.
    static func plainBytes(
        _ file: String, _ cloud: BlockStorageCloud.Cloud, format: String = "qcow2", count: Int
    ) async throws -> [UInt8] {
        let keys = try FixedKeyManager(config: Config(values: [:]), dataDir: cloud.dataDir)
        let raw = file + ".plain"
        defer { try? FileManager.default.removeItem(atPath: raw) }
        try await LuksImage.run(
            ["qemu-img", "convert"] + LuksImage.secretObject
                + ["--image-opts", LuksImage.imageOptions(file, format: format), "-O", "raw", raw],
            passphrase: try keys.passphrase(keyID: FixedKeyManager.keyID))
        let data = try XCTUnwrap(FileManager.default.contents(atPath: raw))
        return Array(data.prefix(count))
    }
}
