import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StratusCore
import StratusTestSupport
import XCTest

@testable import Compute

extension ComputeAPITests {
    /// A server's volume attachments answer as Nova's do for a server with none (Horizon's
    /// instance pages read them): an empty list, and 404 for any one volume.
    func testVolumeAttachmentsOfAServerWithoutVolumes() async throws {
        try await withCompute { client in
            let created = try await client.request(.post, "/v2.1/servers", token: "alice", body: [
                "server": [
                    "name": "plain", "flavorRef": "1", "networks": "none",
                    "block_device_mapping_v2": [[
                        "boot_index": 0, "uuid": .string(UUID().uuidString.lowercased()),
                        "source_type": "volume", "destination_type": "volume",
                    ]],
                ],
            ], headers: Self.latest)
            guard let id = created.json["server"]?["id"]?.stringValue else {
                return XCTFail("create failed: \(created.text)")
            }
            let attachments = "/v2.1/servers/\(id)/os-volume_attachments"
            let list = try await client.request(.get, attachments, token: "alice", headers: Self.latest)
            XCTAssertEqual(list.status, .ok, list.text)
            XCTAssertEqual(list.json["volumeAttachments"], [])
            let volume = UUID().uuidString.lowercased()
            let one = try await client.request(.get, "\(attachments)/\(volume)", token: "alice")
            XCTAssertEqual(one.status, .notFound, one.text)
            XCTAssertNotNil(one.json["itemNotFound"])
            let attach = try await client.request(
                .post, attachments, token: "alice", body: ["volumeAttachment": ["volumeId": .string(volume)]])
            XCTAssertEqual(attach.status, .notFound, attach.text)
            let malformed = try await client.request(
                .post, attachments, token: "alice", body: ["volumeAttachment": ["volumeId": "nope"]])
            XCTAssertEqual(malformed.status, .badRequest, malformed.text)
            let detach = try await client.request(.delete, "\(attachments)/\(volume)", token: "alice")
            XCTAssertEqual(detach.status, .notFound, detach.text)
            let elsewhere = try await client.request(.get, attachments, token: "bob")
            XCTAssertEqual(elsewhere.status, .notFound, "another project's server is not found: \(elsewhere.text)")
            let badLimit = try await client.request(.get, attachments + "?limit=x", token: "alice")
            XCTAssertEqual(badLimit.status, .badRequest, badLimit.text)
        }
    }
}
