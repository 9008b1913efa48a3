import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import StratusTestSupport
import Virt
import XCTest

@testable import Compute

/// Cinder volumes attached to and detached from a server through the API and its host,
/// with Block Storage as `FakeVolume` (see `ComputeCloud`).
final class VolumeAttachFlowTests: XCTestCase {
    static let v279: HTTPFields = [.openStackAPIVersion: "compute 2.79"]

    func testAttachListShowAndDetach() async throws {
        try await ComputeCloud.run { client, peers in
            let server = try await Self.activeServer(client, peers)
            let first = await peers.volume.add(project: "p-alice")
            let attached = try await Self.attach(client, server, first)
            XCTAssertEqual(attached.status, .ok, attached.text)
            let body = try XCTUnwrap(attached.json["volumeAttachment"])
            XCTAssertEqual(
                body,
                [
                    "id": .string(first), "volumeId": .string(first), "serverId": .string(server),
                    "device": "/dev/vdb",
                ])
            try await Self.waitForStatus(peers, first, "in-use")
            let plugged = await peers.driver.volumes(of: server)
            XCTAssertEqual(plugged.map(\.device), ["/dev/vdb"])
            XCTAssertEqual(plugged.first?.path, "/var/lib/stratus/volumes/volume-\(first)")

            let list = try await client.request(.get, "/v2.1/servers/\(server)/os-volume_attachments", token: "alice")
            XCTAssertEqual(list.json["volumeAttachments"], [body], "the list shows the attach answer as it was")
            let show = try await client.request(
                .get, "/v2.1/servers/\(server)/os-volume_attachments/\(first)", token: "alice")
            XCTAssertEqual(show.json["volumeAttachment"], body)

            let second = await peers.volume.add(project: "p-alice")
            let next = try await Self.attach(client, server, second)
            XCTAssertEqual(next.json["volumeAttachment"]?["device"], "/dev/vdc")
            try await Self.waitForStatus(peers, second, "in-use")
            let again = try await Self.attach(client, server, first)
            XCTAssertEqual(again.status, .badRequest, "a volume attached already")

            let detached = try await client.request(
                .delete, "/v2.1/servers/\(server)/os-volume_attachments/\(first)", token: "alice")
            XCTAssertEqual(detached.status, .accepted, detached.text)
            try await Self.waitForStatus(peers, first, "available")
            let left = try await Self.waitForAttachments(client, server, count: 1)
            XCTAssertEqual(left.first?["volumeId"]?.stringValue, second)
            let unplugged = await peers.driver.volumes(of: server)
            XCTAssertEqual(unplugged.map(\.volumeID), [second])
            let gone = try await client.request(
                .delete, "/v2.1/servers/\(server)/os-volume_attachments/\(first)", token: "alice")
            XCTAssertEqual(gone.status, .notFound)
            XCTAssertEqual(
                gone.json["itemNotFound"]?["message"]?.stringValue,
                "Instance \(server) is not attached to volume \(first).")
        }
    }

    /// PUT of an attachment with another volume is a swap, which Nova no longer does outside
    /// Cinder's migrations (409, an admin's or the service's call); the same volume is a 400.
    func testSwapsAreRefused() async throws {
        try await ComputeCloud.run { client, peers in
            let server = try await Self.activeServer(client, peers)
            let volume = await peers.volume.add(project: "p-alice")
            let other = await peers.volume.add(project: "p-alice")
            let attached = try await Self.attach(client, server, volume)
            XCTAssertEqual(attached.status, .ok)
            try await Self.waitForStatus(peers, volume, "in-use")
            let path = "/v2.1/servers/\(server)/os-volume_attachments/\(volume)"
            func put(_ target: String, token: String) async throws -> TestReply {
                try await client.request(
                    .put, path, token: token, body: ["volumeAttachment": ["volumeId": .string(target)]])
            }
            let same = try await put(volume, token: "alice")
            XCTAssertEqual(same.status, .badRequest, same.text)
            let member = try await put(other, token: "alice")
            XCTAssertEqual(member.status, .forbidden, "swapping is an admin's (or the service's)")
            let refused = try await put(other, token: "admin")
            XCTAssertEqual(refused.status, .conflict, refused.text)
            let attachments = try await Self.waitForAttachments(client, server, count: 1)
            XCTAssertEqual(attachments.first?["volumeId"]?.stringValue, volume, "the swap changed nothing")
        }
    }

    /// From 2.85 a PUT naming the attached volume itself updates `delete_on_termination`; the
    /// attachment's other fields may be repeated but not changed.
    func testDeleteOnTerminationUpdatedInPlaceFrom285() async throws {
        try await ComputeCloud.run { client, peers in
            let server = try await Self.activeServer(client, peers)
            let volume = await peers.volume.add(project: "p-alice")
            let attached = try await Self.attach(client, server, volume)
            XCTAssertEqual(attached.status, .ok)
            try await Self.waitForStatus(peers, volume, "in-use")
            let path = "/v2.1/servers/\(server)/os-volume_attachments/\(volume)"
            func put(_ fields: [String: JSON], _ version: String) async throws -> TestReply {
                var body = fields
                body["volumeId"] = .string(volume)
                return try await client.request(
                    .put, path, token: "alice", body: ["volumeAttachment": .object(body)],
                    headers: [.openStackAPIVersion: .init("compute \(version)")])
            }
            let early = try await put(["delete_on_termination": true], "2.84")
            XCTAssertEqual(early.status, .badRequest, "only a swap before 2.85: \(early.text)")
            let updated = try await put(
                [
                    "delete_on_termination": true, "id": .string(volume), "serverId": .string(server),
                    "device": "/dev/vdb",
                ],
                "2.85")
            XCTAssertEqual(updated.status, .accepted, updated.text)
            let shown = try await client.request(.get, path, token: "alice", headers: Self.v279)
            XCTAssertEqual(shown.json["volumeAttachment"]?["delete_on_termination"], true)
            for (fields, field) in [
                (["device": JSON.string("/dev/vdz")], "device"), (["serverId": .string(volume)], "serverId"),
                (["tag": "other"], "tag"), (["id": .string(server)], "id"),
            ] {
                let refused = try await put(fields, "2.85")
                XCTAssertEqual(refused.status, .badRequest, refused.text)
                XCTAssertEqual(
                    refused.json["badRequest"]?["message"]?.stringValue, "The \(field) property is not mutable")
            }
            let unknown = try await put(["colour": "red"], "2.85")
            XCTAssertEqual(unknown.status, .badRequest, unknown.text)
            let again = try await client.request(.get, path, token: "alice", headers: Self.v279)
            XCTAssertEqual(again.json["volumeAttachment"]?["delete_on_termination"], true, "refusals change nothing")
        }
    }

    func testStopAndStartKeepTheVolume() async throws {
        try await ComputeCloud.run { client, peers in
            let server = try await Self.activeServer(client, peers)
            let volume = await peers.volume.add(project: "p-alice")
            _ = try await Self.attach(client, server, volume)
            try await Self.waitForStatus(peers, volume, "in-use")
            for (action, status) in [("os-stop", "SHUTOFF"), ("os-start", "ACTIVE")] {
                let reply = try await client.request(
                    .post, "/v2.1/servers/\(server)/action", token: "alice", body: [action: nil])
                XCTAssertEqual(reply.status, .accepted, reply.text)
                _ = try await ComputeCloud.waitFor(client, server) { $0["status"]?.stringValue == status }
            }
            let plugged = await peers.driver.volumes(of: server)
            XCTAssertEqual(plugged.map(\.volumeID), [volume])
            let view = try await client.request(.get, "/v2.1/servers/\(server)", token: "alice")
            XCTAssertEqual(view.json["server"]?["os-extended-volumes:volumes_attached"], [["id": .string(volume)]])
        }
    }

    /// Cinder's `volume-extended` reaches the server's host, which grows the guest's disk to
    /// the volume's new size; an event for a volume the server does not have is a failed
    /// `compute_extend_volume`, the guest untouched.
    func testVolumeExtendedGrowsTheGuestDisk() async throws {
        try await ComputeCloud.run { client, peers in
            let server = try await Self.activeServer(client, peers)
            let volume = await peers.volume.add(project: "p-alice", size: 3)
            _ = try await Self.attach(client, server, volume)
            try await Self.waitForStatus(peers, volume, "in-use")
            let result = try await Self.extendEvent(client, peers, server, volume)
            XCTAssertEqual(result, "Success")
            let extended = await peers.driver.extended
            XCTAssertEqual(extended, [.init(instance: server, volumeID: volume, newSize: 3 << 30)])

            let stranger = await peers.volume.add(project: "p-alice", size: 2)
            let failed = try await Self.extendEvent(client, peers, server, stranger)
            XCTAssertEqual(failed, "Error")
            let unchanged = await peers.driver.extended
            XCTAssertEqual(unchanged.count, 1, "the driver is not asked for a volume the server lacks")
        }
    }

    func testAnotherProjectsVolumeIsNotFound() async throws {
        try await ComputeCloud.run { client, peers in
            let server = try await Self.activeServer(client, peers)
            let bobs = await peers.volume.add(project: "p-bob")
            let reply = try await Self.attach(client, server, bobs)
            XCTAssertEqual(reply.status, .notFound, reply.text)
            XCTAssertEqual(reply.json["itemNotFound"]?["message"]?.stringValue, "Volume \(bobs) could not be found.")
            let status = await peers.volume.status(of: bobs)
            XCTAssertEqual(status, "available")
        }
    }

    func testRefusedReservationLeavesNoMapping() async throws {
        try await ComputeCloud.run { client, peers in
            let server = try await Self.activeServer(client, peers)
            let volume = await peers.volume.add(project: "p-alice")
            await peers.volume.refuse(.reserve, message: "Invalid volume: Volume \(volume) status must be available.")
            let reply = try await Self.attach(client, server, volume)
            XCTAssertEqual(reply.status, .badRequest, reply.text)
            let list = try await client.request(.get, "/v2.1/servers/\(server)/os-volume_attachments", token: "alice")
            XCTAssertEqual(list.json["volumeAttachments"], [])
        }
    }

    func testFailedConnectionReleasesTheAttachment() async throws {
        try await ComputeCloud.run { client, peers in
            let server = try await Self.activeServer(client, peers)
            let volume = await peers.volume.add(project: "p-alice")
            await peers.volume.refuse(.updateAttachment, status: 500, message: "initialize_connection failed")
            let reply = try await Self.attach(client, server, volume)
            XCTAssertEqual(reply.status, .ok, reply.text)
            try await Self.waitForStatus(peers, volume, "available")
            _ = try await Self.waitForAttachments(client, server, count: 0)
            let attachments = await peers.volume.attachments
            XCTAssertEqual(attachments, [:])
        }
    }

    func testWithoutBlockStorageVolumesAreNotFound() async throws {
        try await ComputeCloud.run(volume: false) { client, peers in
            let server = try await Self.activeServer(client, peers)
            let volume = UUID().uuidString.lowercased()
            let reply = try await Self.attach(client, server, volume)
            XCTAssertEqual(reply.status, .notFound, reply.text)
            XCTAssertEqual(reply.json["itemNotFound"]?["message"]?.stringValue, "Volume \(volume) could not be found.")
        }
    }

    func testServerDeleteReleasesAttachmentsAndDeletesMarkedVolumes() async throws {
        try await ComputeCloud.run { client, peers in
            let server = try await Self.activeServer(client, peers)
            let kept = await peers.volume.add(project: "p-alice")
            let dropped = await peers.volume.add(project: "p-alice")
            _ = try await Self.attach(client, server, kept)
            let marked = try await client.request(
                .post, "/v2.1/servers/\(server)/os-volume_attachments", token: "alice",
                body: ["volumeAttachment": ["volumeId": .string(dropped), "delete_on_termination": true]],
                headers: Self.v279)
            XCTAssertEqual(marked.json["volumeAttachment"]?["delete_on_termination"], true, marked.text)
            try await Self.waitForStatus(peers, kept, "in-use")
            try await Self.waitForStatus(peers, dropped, "in-use")
            let deleted = try await client.request(.delete, "/v2.1/servers/\(server)", token: "alice")
            XCTAssertEqual(deleted.status, .noContent)
            try await ComputeCloud.waitUntilGone(client, server)
            let keptStatus = await peers.volume.status(of: kept)
            XCTAssertEqual(keptStatus, "available")
            let deletedVolumes = await peers.volume.deletedVolumes
            XCTAssertEqual(deletedVolumes, [dropped])
        }
    }

    func testBootFromAnImageVolumeAndDeleteIt() async throws {
        try await ComputeCloud.run { client, peers in
            await peers.volume.createSlowly()
            let reply = try await client.request(
                .post, "/v2.1/servers", token: "alice",
                body: [
                    "server": [
                        "name": "vm-bfv", "flavorRef": "1", "networks": "none",
                        "block_device_mapping_v2": [
                            [
                                "boot_index": 0, "uuid": .string(ComputeCloud.imageID), "source_type": "image",
                                "destination_type": "volume", "volume_size": 2, "delete_on_termination": true,
                            ]
                        ],
                    ]
                ], headers: [.openStackAPIVersion: "compute 2.37"])
            XCTAssertEqual(reply.status, .accepted, reply.text)
            let server = try XCTUnwrap(reply.json["server"]?["id"]?.stringValue)
            let active = try await ComputeCloud.waitFor(client, server) { $0["status"]?.stringValue != "BUILD" }
            XCTAssertEqual(active["status"], "ACTIVE", active.serialized())
            let attached = active["os-extended-volumes:volumes_attached"]?.arrayValue
            let root = try XCTUnwrap(attached?.first?["id"]?.stringValue)
            let status = await peers.volume.status(of: root)
            XCTAssertEqual(status, "in-use")
            let owner = await peers.volume.volumes[root]?.projectID
            XCTAssertEqual(owner, "p-alice", "the volume belongs to the server's project")
            let asked = await peers.volume.created
            let expected = VolumeRequest(size: 2, name: "", imageID: ComputeCloud.imageID, availabilityZone: "nova")
            XCTAssertEqual(asked, [expected])
            let guest = await peers.driver.volumes(of: server)
            XCTAssertEqual(guest.map(\.device), ["/dev/vda"])
            XCTAssertEqual(guest.first?.isRoot, true)
            let detach = try await client.request(
                .delete, "/v2.1/servers/\(server)/os-volume_attachments/\(root)", token: "alice")
            XCTAssertEqual(detach.status, .badRequest, "the root volume stays: \(detach.text)")

            let deleted = try await client.request(.delete, "/v2.1/servers/\(server)", token: "alice")
            XCTAssertEqual(deleted.status, .noContent)
            try await ComputeCloud.waitUntilGone(client, server)
            let deletedVolumes = await peers.volume.deletedVolumes
            XCTAssertEqual(deletedVolumes, [root])
        }
    }

    func testBootFromAnotherProjectsVolumeIsRefused() async throws {
        try await ComputeCloud.run { client, peers in
            let bobs = await peers.volume.add(project: "p-bob")
            let reply = try await client.request(
                .post, "/v2.1/servers", token: "alice",
                body: [
                    "server": [
                        "name": "vm-bfv", "flavorRef": "1", "networks": "none",
                        "block_device_mapping_v2": [
                            [
                                "boot_index": 0, "uuid": .string(bobs), "source_type": "volume",
                                "destination_type": "volume",
                            ]
                        ],
                    ]
                ], headers: [.openStackAPIVersion: "compute 2.37"])
            XCTAssertEqual(reply.status, .badRequest, reply.text)
        }
    }

    private static func activeServer(
        _ client: any TestClientProtocol, _ peers: ComputeCloud.Peers
    ) async throws -> String {
        let id = try await ComputeCloud.boot(client, peers, name: "vm-volumes")
        _ = try await ComputeCloud.waitFor(client, id) { $0["status"]?.stringValue == "ACTIVE" }
        return id
    }

    private static func attach(
        _ client: any TestClientProtocol, _ server: String, _ volume: String
    ) async throws -> TestReply {
        try await client.request(
            .post, "/v2.1/servers/\(server)/os-volume_attachments", token: "alice",
            body: ["volumeAttachment": ["volumeId": .string(volume)]])
    }

    /// Posts Cinder's `volume-extended` event (2.51) and waits for the host to finish the
    /// newest `extend_volume` action: the result of its `compute_extend_volume` event.
    private static func extendEvent(
        _ client: any TestClientProtocol, _ peers: ComputeCloud.Peers, _ server: String, _ volume: String
    ) async throws -> String? {
        let event = try await client.request(
            .post, "/v2.1/os-server-external-events",
            body: [
                "events": [["name": "volume-extended", "server_uuid": .string(server), "tag": .string(volume)]]
            ], headers: [.openStackAPIVersion: "compute 2.51"])
        XCTAssertEqual(event.status, .ok, event.text)
        XCTAssertEqual(event.json["events"]?.arrayValue?.first?["code"], 200)
        let request = try XCTUnwrap(event.headers[.openStackRequestID], event.text)
        for _ in 0..<400 {
            let action = try await client.request(.get, "/v2.1/servers/\(server)/os-instance-actions/\(request)")
            XCTAssertEqual(action.json["instanceAction"]?["action"], "extend_volume", action.text)
            let events = action.json["instanceAction"]?["events"]?.arrayValue ?? []
            if let done = events.first(where: { $0["finish_time"]?.isNull == false }) {
                XCTAssertEqual(done["event"], "compute_extend_volume")
                return done["result"]?.stringValue
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("the host never finished extending volume \(volume) of \(server)")
        return nil
    }

    private static func waitForStatus(_ peers: ComputeCloud.Peers, _ volume: String, _ status: String) async throws {
        var current: String?
        for _ in 0..<400 {
            current = await peers.volume.status(of: volume)
            if current == status { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("volume \(volume) is \(current ?? "gone"), never \(status)")
    }

    private static func waitForAttachments(
        _ client: any TestClientProtocol, _ server: String, count: Int
    ) async throws -> [JSON] {
        var list: [JSON] = []
        for _ in 0..<400 {
            let reply = try await client.request(.get, "/v2.1/servers/\(server)/os-volume_attachments", token: "alice")
            list = reply.json["volumeAttachments"]?.arrayValue ?? []
            if list.count == count { return list }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("server \(server) kept \(list.count) attachments, not \(count)")
        return list
    }
}
