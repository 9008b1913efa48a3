import Foundation
import Logging
import NIOCore
import XCTest

@testable import ObjectStorage

/// The replicator and auditor on four devices holding three replicas: a lost copy comes back,
/// a tombstone reaches every replica, a corrupt copy is quarantined and replaced, and a copy
/// on a device the ring does not assign moves off it.
final class ReplicationTests: XCTestCase {
    var root = ""

    override func setUp() async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("replication-\(UUID().uuidString)").path
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    func replicas() throws -> ObjectReplicas {
        let devices = (0..<4).map { Ring.Device(id: $0, zone: $0, weight: 1, path: "\(root)/d\($0)") }
        let ring = try RingBuilder(partPower: 4, replicas: 3).build(devices: devices, hashSuffix: "test")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return ObjectReplicas(ring: ring, logger: logger)
    }

    func put(_ replicas: ObjectReplicas, _ name: String, _ text: String) async throws -> ObjectLocation {
        let location = replicas.locate(account: "AUTH_a", container: "c", object: name)
        _ = try await replicas.put(
            location,
            metadata: ObjectMetadata(
                name: "/AUTH_a/c/\(name)", timestamp: SwiftTimestamp.now(), contentType: "text/plain"),
            expectedETag: nil, body: ObjectDiskTests.body([text]))
        return location
    }

    func states(_ location: ObjectLocation) async throws -> [ObjectDisk.State] {
        var states: [ObjectDisk.State] = []
        for disk in location.disks {
            states.append(try await disk.state(partition: location.partition, hash: location.hash))
        }
        return states
    }

    func testLostCopiesAndTombstonesReachEveryReplica() async throws {
        let replicas = try replicas()
        let replicator = Replicator(replicas: replicas)
        let location = try await put(replicas, "o", "replicated bytes")
        let directory = try XCTUnwrap(location.disks.first).directory(
            partition: location.partition, hash: location.hash)
        try FileManager.default.removeItem(atPath: directory)
        var report = try await replicator.pass()
        XCTAssertEqual(report.copied, 1)
        for case .object(let metadata, let path, let offset) in try await states(location) {
            let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
            XCTAssertEqual(String(decoding: data.dropFirst(Int(offset)), as: UTF8.self), "replicated bytes")
            XCTAssertEqual(metadata.contentLength, 16)
        }
        let secondPass = try await replicator.pass().copied
        XCTAssertEqual(secondPass, 0, "a second pass finds nothing to do")

        // A delete that reached one replica only.
        let tombstone = SwiftTimestamp.now()
        try await location.disks[1].delete(partition: location.partition, hash: location.hash, timestamp: tombstone)
        report = try await replicator.pass()
        XCTAssertEqual(report.copied, 2)
        let afterDelete = try await states(location)
        XCTAssertEqual(afterDelete, Array(repeating: .deleted(timestamp: tombstone), count: 3))
    }

    func testCorruptCopiesAreQuarantinedAndReplaced() async throws {
        let replicas = try replicas()
        let location = try await put(replicas, "o", "audited bytes")
        guard
            case .object(_, let path, _) = try await location.disks[2].state(
                partition: location.partition, hash: location.hash)
        else { return XCTFail("no copy") }
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        _ = try handle.seekToEnd()
        handle.write(Data("!".utf8))
        try handle.close()
        let auditor = Auditor(disks: Array(replicas.disks.values), bytesPerSecond: 0, logger: replicas.logger)
        let audit = try await auditor.pass()
        XCTAssertEqual(audit, Auditor.Report(checked: 3, quarantined: 1))
        let quarantinedCopy = try await location.disks[2].state(partition: location.partition, hash: location.hash)
        XCTAssertEqual(quarantinedCopy, .missing)
        let restored = try await Replicator(replicas: replicas).pass().copied
        XCTAssertEqual(restored, 1)
        let secondAudit = try await auditor.pass()
        XCTAssertEqual(secondAudit, Auditor.Report(checked: 3, quarantined: 0))
    }

    func testHandoffCopiesMoveToTheAssignedDevices() async throws {
        let replicas = try replicas()
        let location = try await put(replicas, "o", "misplaced")
        let assigned = Set(location.disks.map(\.root))
        let spare = try XCTUnwrap(replicas.disks.values.first { !assigned.contains($0.root) })
        let first = try XCTUnwrap(location.disks.first)
        guard
            case .object(let metadata, let path, _) = try await first.state(
                partition: location.partition, hash: location.hash)
        else { return XCTFail("no copy") }
        try await spare.receive(
            "\(metadata.timestamp).data", from: path, partition: location.partition, hash: location.hash)
        try FileManager.default.removeItem(atPath: first.directory(partition: location.partition, hash: location.hash))
        let report = try await Replicator(replicas: replicas).pass()
        XCTAssertEqual(report.copied, 1)
        XCTAssertEqual(report.removedHandoffs, 1)
        let spareCopy = try await spare.state(partition: location.partition, hash: location.hash)
        XCTAssertEqual(spareCopy, .missing)
    }
}
