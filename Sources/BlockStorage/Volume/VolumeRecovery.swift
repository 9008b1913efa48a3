import Foundation
import SQLKit
import StratusCore

/// What a volume service does when it starts (Cinder's `init_host`): work a crash cut off
/// ends in a defined state, and data no record owns is removed.
extension VolumeManager {
    func recover() async throws {
        let host = backend.poolHost
        let volumes = try await db.read { try await Volume.select(where: "host = \(bind: host)", in: $0) }
        for volume in volumes {
            switch volume.status {
            case .creating, .downloading:
                try await db.changeVolume(volume.id, from: volume.status) { $0.status = .error }
                logger.warning("volume \(volume.id) was being created when the service stopped: now error")
            case .deleting, .unmanaging:
                try await deleteVolume(volume.id)
            case .managing:
                try await db.changeVolume(volume.id, from: .managing) { $0.status = .errorManaging }
            case .uploading:
                try await db.changeVolume(volume.id, from: .uploading) { volume in
                    volume.status = volume.previousStatus ?? .available
                    volume.previousStatus = nil
                }
            case .extending:
                try await db.changeVolume(volume.id, from: .extending) { $0.status = .errorExtending }
            case .reverting:
                try await db.changeVolume(volume.id, from: .reverting) { $0.status = .error }
            default:
                break
            }
            if volume.migrationStatus == Self.migrating {
                if volume.previousStatus == .inUse {
                    try await recoverAttachedMigration(volume)
                } else {
                    try await endMigration(volume.id, status: "error")
                }
            }
        }
        let ids = volumes.map(\.id)
        let snapshots = try await db.read { try await Snapshot.select(where: "volume_id IN " + .list(ids), in: $0) }
        for snapshot in snapshots {
            switch snapshot.status {
            case .creating: try await db.changeSnapshot(snapshot.id, from: .creating) { $0.status = .error }
            case .deleting, .unmanaging:
                try await deleteSnapshot(SnapshotArgs(volumeID: snapshot.volumeID, snapshotID: snapshot.id))
            case .restoring: try await db.changeSnapshot(snapshot.id, from: .restoring) { $0.status = .available }
            default: break
            }
        }
        try await removeOrphans()
    }

    /// Removes what a crash left behind: `.part` files, and data made for a volume or
    /// snapshot whose record does not own it (a create cut off before the record took it, a
    /// migration's source). Data made for no record at all (unmanaged, or put there by an
    /// admin) is kept for `manage`.
    func removeOrphans() async throws {
        var scratch = (try? FileManager.default.contentsOfDirectory(atPath: backend.scratchDirectory)) ?? []
        scratch = scratch.filter { $0.hasSuffix(".part") }.map { "\(backend.scratchDirectory)/\($0)" }
        let locations = try await driver.locations()
        let ids = locations.compactMap(driver.recordID(of:))
        let owners = try await db.read { db in
            let volumes = try await Volume.select(where: "id IN " + .list(ids), in: db)
            let snapshots = try await Snapshot.select(where: "id IN " + .list(ids), in: db)
            let pairs = volumes.map { ($0.id, $0.providerLocation) } + snapshots.map { ($0.id, $0.providerLocation) }
            return Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        }
        for location in Set(locations + scratch).sorted() {
            if location.hasSuffix(".part") {
                logger.warning("removing \(location): work a crash cut off")
                try FileManager.default.removeItemIfPresent(atPath: location)
            } else if let id = driver.recordID(of: location), let owned = owners[id], owned != location {
                logger.warning("removing \(location): made for \(id), which does not own it")
                try await driver.deleteVolume(location: location)
            }
        }
    }

    /// The capabilities the scheduler places volumes by, and the service's heartbeat.
    func report() async throws {
        let stats = try await driver.stats()
        let host = backend.poolHost
        let allocated = try await db.read { db in
            let row = try await db.raw(
                "SELECT COALESCE(SUM(size), 0) AS total FROM volumes WHERE host = \(bind: host)"
            ).first()
            return try row?.decode(column: "total", as: Int.self) ?? 0
        }
        let capabilities = PoolCapabilities(
            backendName: backend.backendName, pool: backend.backendName, stats: stats, allocatedGB: allocated,
            maxOverSubscriptionRatio: backend.maxOverSubscriptionRatio, reservedPercentage: backend.reservedPercentage)
        try await db.transaction { db in
            try await ServiceRecord.heartbeat(
                host: backend.host, binary: ServiceRecord.volumeBinary, zone: backend.zone, capabilities: capabilities,
                in: db)
        }
    }
}
