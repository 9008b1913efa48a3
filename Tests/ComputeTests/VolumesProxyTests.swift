import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import StratusTestSupport
import XCTest

@testable import Compute

/// Nova's `os-volumes` and `os-snapshots` proxies against a scripted Cinder: Nova's bodies
/// checked and renamed for Cinder, Cinder's views shown in Nova's shape, its refusals passed on.
final class VolumesProxyTests: XCTestCase {
    static let old: HTTPFields = [.openStackAPIVersion: "compute 2.35"]
    static let volumeKeys: Set<String> = [
        "id", "status", "size", "availabilityZone", "createdAt", "displayName", "displayDescription", "volumeType",
        "snapshotId", "metadata", "attachments",
    ]

    func testVolumeCreateShowListDelete() async throws {
        try await ComputeCloud.run { client, peers in
            let created = try await client.request(.post, "/v2.1/os-volumes", token: "alice", body: [
                "volume": [
                    "size": "1", "display_name": "vol", "display_description": "d", "metadata": ["k": "v"],
                ],
            ])
            XCTAssertEqual(created.status, .ok, created.text)
            let sent = await peers.cinderREST.received.last
            XCTAssertEqual(sent?.path, "/volumes")
            let renamed: JSON = ["volume": ["size": 1, "name": "vol", "description": "d", "metadata": ["k": "v"]]]
            XCTAssertEqual(sent?.body, renamed)
            let volume = try XCTUnwrap(created.json["volume"])
            XCTAssertEqual(Set(volume.objectValue?.keys.map { $0 } ?? []), Self.volumeKeys)
            XCTAssertEqual(volume["displayName"], "vol")
            XCTAssertEqual(volume["attachments"], [[:]])
            let id = try XCTUnwrap(volume["id"]?.stringValue)
            let shown = try await client.request(.get, "/v2.1/os-volumes/\(id)", token: "reader")
            XCTAssertEqual(shown.status, .ok, shown.text)
            XCTAssertEqual(shown.json["volume"]?["metadata"], ["k": "v"])
            for path in ["/v2.1/os-volumes", "/v2.1/os-volumes/detail"] {
                let list = try await client.request(.get, path, token: "alice")
                XCTAssertEqual(list.json["volumes"]?.arrayValue?.compactMap { $0["id"]?.stringValue }, [id], list.text)
                let others = try await client.request(.get, path, token: "bob")
                XCTAssertEqual(others.json["volumes"], [], others.text)
            }
            let elsewhere = try await client.request(.get, "/v2.1/os-volumes/\(id)", token: "bob")
            XCTAssertEqual(elsewhere.status, .notFound, elsewhere.text)
            let readerDelete = try await client.request(.delete, "/v2.1/os-volumes/\(id)", token: "reader")
            XCTAssertEqual(readerDelete.status, .forbidden, readerDelete.text)
            let deleted = try await client.request(.delete, "/v2.1/os-volumes/\(id)", token: "alice")
            XCTAssertEqual(deleted.status, .accepted, deleted.text)
            let gone = try await client.request(.get, "/v2.1/os-volumes/\(id)", token: "alice")
            XCTAssertEqual(gone.status, .notFound, gone.text)
            XCTAssertEqual(gone.json["itemNotFound"]?["message"], .string("Volume \(id) could not be found."))
            let again = try await client.request(.delete, "/v2.1/os-volumes/\(id)", token: "alice")
            XCTAssertEqual(again.status, .notFound, again.text)
            for method in [HTTPRequest.Method.get, .delete] {  // tempest's show and delete of ''
                let blank = try await client.request(method, "/v2.1/os-volumes/", token: "alice")
                XCTAssertEqual(blank.status, .notFound, "\(method) \(blank.text)")
            }
        }
    }

    func testInvalidVolumeRequestsNeverReachCinder() async throws {
        try await ComputeCloud.run { client, peers in
            let bodies: [JSON] = [
                ["volume": ["size": "#$%"]], ["volume": ["size": ""]], ["volume": ["size": "0"]],
                ["volume": ["size": 0]],
                ["volume": ["display_name": "x"]], ["volume": ["size": 1, "bogus": 1]], ["volume": ["size": true]],
                ["volume": ["size": 1, "metadata": "x"]], ["volume": ["size": 1, "display_name": 5]], ["size": 1],
            ]
            for body in bodies {
                let reply = try await client.request(.post, "/v2.1/os-volumes", token: "alice", body: body)
                XCTAssertEqual(reply.status, .badRequest, "\(body.serialized()): \(reply.text)")
            }
            let readerCreate = try await client.request(
                .post, "/v2.1/os-volumes", token: "reader", body: ["volume": ["size": 1]])
            XCTAssertEqual(readerCreate.status, .forbidden, readerCreate.text)
            let received = await peers.cinderREST.received
            XCTAssertTrue(received.isEmpty, "\(received.map(\.path))")
        }
    }

    func testGoneFromMicroversion236() async throws {
        try await ComputeCloud.run { client, _ in
            let latest: HTTPFields = [.openStackAPIVersion: "compute 2.36"]
            for path in ["/v2.1/os-volumes", "/v2.1/os-snapshots/detail"] {
                let reply = try await client.request(.get, path, token: "alice", headers: latest)
                XCTAssertEqual(reply.status, .notFound, reply.text)
                let old = try await client.request(.get, path, token: "alice", headers: Self.old)
                XCTAssertEqual(old.status, .ok, old.text)
            }
        }
    }

    func testListOffsetAndLimit() async throws {
        try await ComputeCloud.run { client, peers in
            let ids = (0..<3).map { "00000000-0000-4000-8000-00000000000\($0)" }
            for id in ids { await peers.cinderREST.add(volume: ["id": .string(id), "size": 1], project: "p-alice") }
            let page = try await client.request(.get, "/v2.1/os-volumes/detail?offset=1&limit=1", token: "alice")
            XCTAssertEqual(page.json["volumes"]?.arrayValue?.compactMap { $0["id"]?.stringValue }, [ids[1]])
            let limited = try await client.request(.get, "/v2.1/os-volumes?limit=2", token: "alice")
            XCTAssertEqual(limited.json["volumes"]?.arrayValue?.count, 2)
            let bad = try await client.request(.get, "/v2.1/os-volumes?offset=-1", token: "alice")
            XCTAssertEqual(bad.status, .badRequest, bad.text)
        }
    }

    func testCinderRefusalsKeepTheirStatus() async throws {
        try await ComputeCloud.run { client, peers in
            await peers.cinderREST.refuseNext(status: 413, kind: "overLimit", message: "VolumeLimitExceeded")
            let quota = try await client.request(
                .post, "/v2.1/os-volumes", token: "alice", body: ["volume": ["size": 1]])
            XCTAssertEqual(quota.status, .forbidden, quota.text)
            await peers.cinderREST.refuseNext(status: 400, kind: "badRequest", message: "Invalid volume type")
            let invalid = try await client.request(
                .post, "/v2.1/os-volumes", token: "alice", body: ["volume": ["size": 1, "volume_type": "nope"]])
            XCTAssertEqual(invalid.status, .badRequest, invalid.text)
            XCTAssertEqual(invalid.json["badRequest"]?["message"], "Invalid volume type")
            await peers.cinderREST.refuseNext(status: 500, kind: "computeFault", message: "boom")
            let broken = try await client.request(.get, "/v2.1/os-snapshots", token: "alice")
            XCTAssertEqual(broken.status, .serviceUnavailable, broken.text)
        }
    }

    func testSnapshotCreateShowDelete() async throws {
        try await ComputeCloud.run { client, peers in
            let volume = "00000000-0000-4000-8000-0000000000aa"
            let created = try await client.request(.post, "/v2.1/os-snapshots", token: "alice", body: [
                "snapshot": ["volume_id": .string(volume), "force": "True", "display_name": "snap"],
            ])
            XCTAssertEqual(created.status, .ok, created.text)
            let sent = await peers.cinderREST.received.last?.body
            XCTAssertEqual(sent, ["snapshot": ["volume_id": .string(volume), "force": true, "name": "snap"]])
            let snapshot = try XCTUnwrap(created.json["snapshot"])
            XCTAssertEqual(snapshot["volumeId"], .string(volume))
            XCTAssertEqual(snapshot["displayName"], "snap")
            XCTAssertEqual(
                Set(snapshot.objectValue?.keys.map { $0 } ?? []),
                ["id", "volumeId", "status", "size", "createdAt", "displayName", "displayDescription"])
            let id = try XCTUnwrap(snapshot["id"]?.stringValue)
            let list = try await client.request(.get, "/v2.1/os-snapshots/detail", token: "alice")
            XCTAssertEqual(list.json["snapshots"]?.arrayValue?.count, 1, list.text)
            let deleted = try await client.request(.delete, "/v2.1/os-snapshots/\(id)", token: "alice")
            XCTAssertEqual(deleted.status, .accepted, deleted.text)
            let gone = try await client.request(.get, "/v2.1/os-snapshots/\(id)", token: "alice")
            XCTAssertEqual(gone.status, .notFound, gone.text)
            let bads: [JSON] = [
                ["snapshot": ["force": true]], ["snapshot": ["volume_id": .string(volume), "force": "maybe"]],
            ]
            for bad in bads {
                let reply = try await client.request(.post, "/v2.1/os-snapshots", token: "alice", body: bad)
                XCTAssertEqual(reply.status, .badRequest, reply.text)
            }
        }
    }

    /// Nova shows the first attachment of an attached volume, named by the volume's id.
    func testAttachedVolumeView() {
        let view = VolumesProxyViews.volume([
            "id": "v1", "status": "in-use", "size": 2, "availability_zone": "nova", "created_at": "t", "name": nil,
            "volume_type": "__DEFAULT__", "attachments": [["server_id": "s1", "device": "/dev/vdb", "id": "v1"]],
        ])
        XCTAssertEqual(view["attachments"], [["id": "v1", "volumeId": "v1", "serverId": "s1", "device": "/dev/vdb"]])
        XCTAssertEqual(view["volumeType"], "__DEFAULT__")
        XCTAssertEqual(view["displayName"], .null)
        XCTAssertEqual(view["metadata"], [:])
    }
}
