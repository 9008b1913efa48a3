import Foundation
import SQLKit
import StratusCore
import StratusTestSupport
import XCTest

@testable import BlockStorage

/// After a crash: work in flight ends in a defined state, and data made for a record that
/// does not own it is removed, while data made for no record (unmanaged) stays.
final class VolumeRecoveryTests: XCTestCase {
    func testRestartFailsInterruptedCreatesAndRemovesOrphans() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "stratus-recover-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let images = FakeImage(images: [:])
        let postgres = try await PostgresTestDatabase.make()
        let first = try await BlockStorageCloud.open(
            dataDir: dataDir, connection: postgres?.url, bus: InProcessBus(), images: images)
        let db = first.api.db
        let host = try XCTUnwrap(first.managers.first?.backend.poolHost)
        // A volume a crash left downloading (its file made, not yet recorded), one being deleted,
        // work files, and a file of no record.
        var stuck = Volume(projectID: "p-alice", userID: "u-alice", size: 1, availabilityZone: "nova", typeID: "t")
        stuck.status = .downloading
        stuck.host = host
        var deleting = Volume(projectID: "p-alice", userID: "u-alice", size: 1, availabilityZone: "nova", typeID: "t")
        deleting.status = .deleting
        deleting.host = host
        let dir = "\(dataDir)/volumes/file"
        deleting.providerLocation = "\(dir)/volume-\(deleting.id)"
        // A volume whose backup ended just before the crash, before the volume was released.
        var backedUp = Volume(projectID: "p-alice", userID: "u-alice", size: 1, availabilityZone: "nova", typeID: "t")
        backedUp.status = .backingUp
        backedUp.previousStatus = .available
        backedUp.host = host
        let (stuckVolume, deletingVolume, backedUpVolume) = (stuck, deleting, backedUp)
        try await db.transaction { db in
            try await stuckVolume.insert(in: db)
            try await deletingVolume.insert(in: db)
            try await backedUpVolume.insert(in: db)
        }
        let names = [
            "volume-\(deleting.id)", "volume-\(stuck.id)", "volume-\(stuck.id).part", "image-\(stuck.id).part",
            "volume-unmanaged",
        ]
        for name in names {
            XCTAssertTrue(FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: Data("x".utf8)))
        }
        await first.close()

        let second = try await BlockStorageCloud.open(
            dataDir: dataDir, connection: postgres?.url, bus: InProcessBus(), images: images)
        let (afterStuck, afterDeleting) = try await second.api.db.read { db in
            (try await Volume.get(stuckVolume.id, in: db), try await Volume.get(deletingVolume.id, in: db))
        }
        let afterBackup = try await second.api.db.read { try await Volume.get(backedUpVolume.id, in: $0) }
        await second.close()
        try await postgres?.drop()
        XCTAssertEqual(afterStuck?.status, .error, "an interrupted create ends in error")
        XCTAssertNil(afterDeleting, "an interrupted delete finishes")
        XCTAssertEqual(afterBackup?.status, .available, "a volume no backup is running on is released")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir), ["volume-unmanaged"],
            "nothing orphaned is left, and what no record made stays")
    }
}
