import Foundation
import SQLKit
import StratusCore

/// Migration of an attached volume, as Cinder does it with Nova: the destination makes a
/// blank target volume (a hidden record, `migration_status` `target:<source>`), and Nova
/// mirrors the guest's disk onto it while the guest runs, then calls
/// `os-migrate_volume_completion`, which gives the source record the target's data.
extension VolumeManager {
    static func targetMark(of sourceID: String) -> String { "target:" + sourceID }

    /// The attachment a migration of an in-use volume swaps: its only one, made by a server.
    static func swappedAttachment(of volumeID: String, in db: any SQLDatabase) async throws -> Attachment? {
        let attachments = try await Attachment.select(where: "volume_id = \(bind: volumeID)", in: db)
        guard attachments.count == 1, let attachment = attachments.first, attachment.instanceID != nil else {
            return nil
        }
        return attachment
    }

    func migrateAttached(_ volume: Volume, to destination: String, newType: VolumeType?) async throws {
        guard let compute else { throw VolumeDriverError("no Compute service to swap attached volume \(volume.id)") }
        var target = Volume(
            projectID: volume.projectID, userID: volume.userID, size: volume.size,
            availabilityZone: volume.availabilityZone, typeID: newType?.id ?? volume.typeID)
        target.name = volume.name
        target.host = destination
        target.bootable = volume.bootable
        target.multiattach = newType?.isMultiattach ?? volume.multiattach
        target.encryptionKeyID = volume.encryptionKeyID
        target.migrationStatus = Self.targetMark(of: volume.id)
        let server: String = try await db.transaction { [target] db in
            guard let attachment = try await Self.swappedAttachment(of: volume.id, in: db),
                let server = attachment.instanceID
            else { throw VolumeDriverError("volume \(volume.id) no longer has one server's attachment") }
            try await target.insert(in: db)
            return server
        }
        do {
            let location = try await driver.createVolume(
                id: target.id, sizeGB: volume.size, from: .blank, encryption: try await encryption(of: volume))
            try await db.changeVolume(target.id, from: .creating) { target in
                target.status = .available
                target.providerLocation = location
            }
            try await compute.swapVolume(server: server, old: volume.id, new: target.id)
            logger.info("volume \(volume.id): Nova swaps server \(server) onto \(target.id) at \(backend.host)")
        } catch {
            await discardTarget(target.id)
            throw error
        }
    }

    /// Deletes a migration's target record and its data, here or on its own backend.
    func discardTarget(_ id: String) async {
        await logger.bestEffort("discarding migration target \(id)") {
            let target = try await db.change(
                Volume.self, id, when: { $0.migrationStatus?.hasPrefix("target:") ?? false }
            ) {
                $0.status = .deleting
            }
            guard let backend = target?.backend else { return }
            if backend == self.backend.host {
                try await deleteVolume(id)
            } else {
                try await bus.cast(VolumeRPC.deleteVolume, to: backend, VolumeArgs(volumeID: id))
            }
        }
    }

    /// After a restart, an attached volume's migration whose target was never made (or never
    /// reached Nova: no attachment) ends in error; one Nova holds is Nova's to end.
    func recoverAttachedMigration(_ volume: Volume) async throws {
        let mark = Self.targetMark(of: volume.id)
        let targets = try await db.read { try await Volume.select(where: "migration_status = \(bind: mark)", in: $0) }
        let attachments = try await db.read { db in
            try await Attachment.select(where: "volume_id IN " + .list(targets.map(\.id)), in: db)
        }
        guard attachments.isEmpty else { return }
        for target in targets { await discardTarget(target.id) }
        try await endMigration(volume.id, status: "error")
        logger.warning("migration of attached volume \(volume.id) was cut off before Nova's swap: now error")
    }

    /// The source back in its own state with the migration's outcome.
    func endMigration(_ id: String, status: String) async throws {
        try await db.change(Volume.self, id, when: { $0.migrationStatus == Self.migrating }) { volume in
            volume.migrationStatus = status
            volume.status = volume.previousStatus ?? .available
            volume.previousStatus = nil
        }
    }
}
