import Foundation
import HummingbirdTesting
import StratusCore
import StratusTestSupport
import Virt
import XCTest

@testable import Compute

/// The swap Block Storage's migration of an attached volume asks for (`PUT
/// os-volume_attachments/{volume}` as the service): the host connects the target, the
/// driver pivots the guest's disk onto it, and Cinder hears the outcome.
final class VolumeSwapFlowTests: XCTestCase {
    func testSwapOfAMigratingVolumeMovesTheGuestOntoTheTarget() async throws {
        try await ComputeCloud.run { client, peers in
            let (server, volume, target) = try await Self.migratingVolume(client, peers)
            try await Self.swapAccepted(client, server, volume, to: target)
            let completion = try await Self.completion(peers)
            XCTAssertEqual(completion?.old, volume)
            XCTAssertEqual(completion?.new, target)
            XCTAssertEqual(completion?.error, false)
            let guest = try await Self.waitForGuestVolume(peers, server) { $0.nodeKey == target }
            XCTAssertEqual(guest?.volumeID, volume, "the guest's device keeps the volume's id")
            XCTAssertEqual(guest?.path, "/var/lib/stratus/volumes/volume-\(target)")
            let attachments = try await client.request(.get, "/v2.1/servers/\(server)/os-volume_attachments")
            XCTAssertEqual(
                attachments.json["volumeAttachments"]?.arrayValue?.map { $0["volumeId"] }, [.string(volume)])
            // The old attachment is gone; the target's now belongs to the volume.
            try await Self.waitForAttachmentCount(peers, of: volume, 1)
            let detached = try await client.request(
                .delete, "/v2.1/servers/\(server)/os-volume_attachments/\(volume)", token: "alice")
            XCTAssertEqual(detached.status, .accepted, detached.text)
            try await Self.waitForAttachmentCount(peers, of: volume, 0)
        }
    }

    /// A swap whose target cannot be connected changes nothing in the guest, and Cinder's
    /// migration ends in error.
    func testFailedSwapLeavesTheGuestOnItsVolume() async throws {
        try await ComputeCloud.run { client, peers in
            let (server, volume, target) = try await Self.migratingVolume(client, peers)
            await peers.volume.refuse(.updateAttachment, status: 500, message: "no connection")
            try await Self.swapAccepted(client, server, volume, to: target)
            let completion = try await Self.completion(peers)
            XCTAssertEqual(completion?.error, true)
            let guest = await peers.driver.volumes(of: server).first
            XCTAssertEqual(guest?.path, "/var/lib/stratus/volumes/volume-\(volume)")
            XCTAssertNil(guest?.nodeKey)
            let targetAttachments = await peers.volume.attachments.values.filter { $0.volumeID == target }
            XCTAssertEqual(targetAttachments.count, 0)
            let again = try await Self.swap(client, server, volume, to: target)
            XCTAssertEqual(again.status, .conflict, "the migration is over: \(again.text)")
        }
    }

    /// A server deleted while its swap is unfinished (the guest already on the target, Cinder
    /// not told yet) ends the migration with the target's data, which the guest wrote last.
    func testDeleteDuringAnUnfinishedSwapEndsTheMigration() async throws {
        try await ComputeCloud.run { client, peers in
            let (server, volume, target) = try await Self.migratingVolume(client, peers)
            await peers.volume.refuse(.migrateVolumeCompletion, status: 503, message: "Block Storage is down")
            try await Self.swapAccepted(client, server, volume, to: target)
            _ = try await Self.waitForGuestVolume(peers, server) { $0.nodeKey == target }
            let deleted = try await client.request(.delete, "/v2.1/servers/\(server)", token: "alice")
            XCTAssertEqual(deleted.status, .noContent, deleted.text)
            let completion = try await Self.completion(peers)
            XCTAssertEqual(completion?.old, volume)
            XCTAssertEqual(completion?.new, target)
            XCTAssertEqual(completion?.error, false)
        }
    }

    /// A server with a volume Block Storage is migrating, and the target volume it made.
    private static func migratingVolume(
        _ client: any TestClientProtocol, _ peers: ComputeCloud.Peers
    ) async throws -> (server: String, volume: String, target: String) {
        let (server, volume) = try await serverWithVolume(client, peers)
        await peers.volume.startMigration(volume)
        return (server, volume, await peers.volume.add(project: "p-alice"))
    }

    private static func swapAccepted(
        _ client: any TestClientProtocol, _ server: String, _ volume: String, to target: String
    ) async throws {
        let swapped = try await swap(client, server, volume, to: target)
        XCTAssertEqual(swapped.status, .accepted, swapped.text)
    }

    private static func serverWithVolume(
        _ client: any TestClientProtocol, _ peers: ComputeCloud.Peers
    ) async throws -> (server: String, volume: String) {
        let server = try await ComputeCloud.boot(client, peers, name: "vm-swap")
        _ = try await ComputeCloud.waitFor(client, server) { $0["status"]?.stringValue == "ACTIVE" }
        let volume = await peers.volume.add(project: "p-alice")
        let attached = try await client.request(
            .post, "/v2.1/servers/\(server)/os-volume_attachments", token: "alice",
            body: ["volumeAttachment": ["volumeId": .string(volume)]])
        XCTAssertEqual(attached.status, .ok, attached.text)
        _ = try await waitForGuestVolume(peers, server) { $0.volumeID == volume }
        try await waitForAttachmentCount(peers, of: volume, 1)
        return (server, volume)
    }

    private static func swap(
        _ client: any TestClientProtocol, _ server: String, _ volume: String, to target: String
    ) async throws -> TestReply {
        try await client.request(
            .put, "/v2.1/servers/\(server)/os-volume_attachments/\(volume)", token: "nova",
            body: ["volumeAttachment": ["volumeId": .string(target)]])
    }

    private static func completion(
        _ peers: ComputeCloud.Peers
    ) async throws -> (old: String, new: String, error: Bool)? {
        for _ in 0..<400 {
            if let first = await peers.volume.completions.first { return first }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("the host never told Block Storage how the swap ended")
        return nil
    }

    private static func waitForGuestVolume(
        _ peers: ComputeCloud.Peers, _ server: String, _ done: @Sendable (GuestVolume) -> Bool
    ) async throws -> GuestVolume? {
        for _ in 0..<400 {
            if let volume = await peers.driver.volumes(of: server).first(where: done) { return volume }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("guest \(server) never had the volume expected: \(await peers.driver.volumes(of: server))")
        return nil
    }

    private static func waitForAttachmentCount(
        _ peers: ComputeCloud.Peers, of volume: String, _ count: Int
    ) async throws {
        var seen = 0
        for _ in 0..<400 {
            seen = await peers.volume.attachments.values.filter { $0.volumeID == volume && $0.status == "attached" }
                .count
            if seen == count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("volume \(volume) has \(seen) attachments, not \(count)")
    }
}
