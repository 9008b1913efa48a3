import Foundation
import XCTest

@testable import ObjectStorage

/// The ring's placement rules: distinct devices and zones per partition, shares by weight,
/// minimal movement on a rebalance, and a stable path-to-partition hash.
final class RingTests: XCTestCase {
    static func devices(_ zones: [Int], weight: Double = 100) -> [Ring.Device] {
        zones.enumerated().map { Ring.Device(id: $0.offset, zone: $0.element, weight: weight, path: "/d\($0.offset)") }
    }

    static func counts(_ ring: Ring) -> [Int: Int] {
        ring.assignments.flatMap { $0 }.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    func testReplicasGoToDistinctZonesAndDevices() throws {
        let ring = try RingBuilder(partPower: 8).build(devices: Self.devices([1, 1, 2, 2, 3, 3]), hashSuffix: "s")
        XCTAssertEqual(ring.replicaCount, 3)
        for partition in 0..<ring.partitionCount {
            let devices = ring.devices(forPartition: partition)
            XCTAssertEqual(devices.count, 3)
            XCTAssertEqual(Set(devices.map(\.id)).count, 3, "partition \(partition) repeats a device")
            XCTAssertEqual(Set(devices.map(\.zone)).count, 3, "partition \(partition) repeats a zone")
        }
        for (_, count) in Self.counts(ring) { XCTAssertEqual(count, 128, accuracy: 1) }
    }

    func testSharesFollowWeights() throws {
        var devices = Self.devices([1, 2, 3, 4])
        devices[3].weight = 300
        let ring = try RingBuilder(partPower: 10, replicas: 2).build(devices: devices, hashSuffix: "s")
        let counts = Self.counts(ring)
        // 2048 copies: the heavy device wants half, the others a sixth each.
        XCTAssertEqual(counts[3] ?? 0, 1024, accuracy: 1)
        for id in 0..<3 { XCTAssertEqual(counts[id] ?? 0, 341, accuracy: 2) }
    }

    func testFewerDevicesThanReplicasMakeFewerCopies() throws {
        let ring = try RingBuilder(partPower: 4).build(devices: Self.devices([1]), hashSuffix: "s")
        XCTAssertEqual(ring.replicaCount, 1)
        XCTAssertEqual(Set(ring.assignments[0]), [0])
        XCTAssertThrowsError(try RingBuilder().build(devices: [], hashSuffix: "s"))
        XCTAssertThrowsError(try RingBuilder(partPower: 0).build(devices: Self.devices([1]), hashSuffix: "s"))
        XCTAssertThrowsError(try RingBuilder().build(devices: Self.devices([1]) + Self.devices([2]), hashSuffix: "s"))
    }

    /// A fourth device takes about its share; no copy moves between the first three.
    func testAddingADeviceMovesOnlyItsShare() throws {
        let builder = RingBuilder(partPower: 9)
        let before = try builder.build(devices: Self.devices([1, 2, 3]), hashSuffix: "s")
        let after = try builder.build(devices: Self.devices([1, 2, 3, 4]), previous: before, hashSuffix: "s")
        var moved = 0
        for partition in 0..<before.partitionCount {
            let old = Set(before.devices(forPartition: partition).map(\.id))
            let new = Set(after.devices(forPartition: partition).map(\.id))
            let gone = old.subtracting(new)
            moved += gone.count
            XCTAssertTrue(new.subtracting(old).allSatisfy { $0 == 3 }, "partition \(partition) moved to an old device")
        }
        XCTAssertEqual(Self.counts(after)[3] ?? 0, 384, accuracy: 1)
        XCTAssertEqual(moved, 384, accuracy: 1, "only the new device's share moves")
    }

    /// A device taken out (or weighted 0) hands its copies to the others.
    func testRemovedDevicesCopiesMove() throws {
        let builder = RingBuilder(partPower: 8, replicas: 2)
        var devices = Self.devices([1, 2, 3])
        let before = try builder.build(devices: devices, hashSuffix: "s")
        devices[2].weight = 0
        let after = try builder.build(devices: devices, previous: before, hashSuffix: "s")
        XCTAssertNil(Self.counts(after)[2])
        for partition in 0..<after.partitionCount {
            XCTAssertEqual(Set(after.devices(forPartition: partition).map(\.id)), [0, 1])
        }
    }

    func testPathsHashToStablePartitions() throws {
        let ring = try RingBuilder(partPower: 16).build(devices: Self.devices([1]), hashSuffix: "secret")
        let object = ring.partition(account: "AUTH_a", container: "c", object: "o")
        XCTAssertEqual(object, ring.partition(account: "AUTH_a", container: "c", object: "o"))
        XCTAssertTrue((0..<ring.partitionCount).contains(object))
        let other = try RingBuilder(partPower: 16).build(devices: Self.devices([1]), hashSuffix: "other")
        let names = (0..<64).map { "o\($0)" }
        XCTAssertNotEqual(
            names.map { ring.partition(account: "AUTH_a", container: "c", object: $0) },
            names.map { other.partition(account: "AUTH_a", container: "c", object: $0) },
            "the suffix changes where paths land")
        let spread = Set((0..<1000).map { ring.partition(account: "AUTH_a", container: "c", object: "o\($0)") })
        XCTAssertGreaterThan(spread.count, 980, "names spread over the partitions")
        let decoded = try JSONDecoder().decode(Ring.self, from: try JSONEncoder().encode(ring))
        XCTAssertEqual(decoded, ring)
    }
}
