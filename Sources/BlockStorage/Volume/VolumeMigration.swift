import Foundation
import StratusCore

/// Generic migration on the destination backend: the data is copied from where the source
/// backend keeps it (both backends on one host), the record moves in one transaction, and
/// the source removes its copy. A crash before the move leaves the volume where it was.
/// An attached volume's data is copied by its server's host instead (`migrateAttached`).
extension VolumeManager {
    static let migrating = "migrating"

    /// The type a migrating retype gives the volume; nil for a plain migration.
    private func retypeTarget(_ args: MigrateVolumeArgs) async throws -> VolumeType? {
        guard let id = args.newTypeID else { return nil }
        guard let type = try await db.read({ try await VolumeTypes.get(id, in: $0) }) else {
            throw VolumeDriverError("volume type \(id) of the retype is gone")
        }
        return type
    }

    func migrate(_ args: MigrateVolumeArgs) async throws {
        guard let volume = try await db.read({ try await Volume.get(args.volumeID, in: $0) }),
            volume.migrationStatus == Self.migrating, let source = volume.providerLocation,
            let oldBackend = volume.backend
        else { return }
        do {
            let newType = try await retypeTarget(args)
            if volume.previousStatus == .inUse {
                try await migrateAttached(volume, to: args.destination, newType: newType)
                return
            }
            // The source backend says where its data is and in what format, as it tells a host.
            let opened = try await bus.call(
                VolumeRPC.attachmentUpdate, on: oldBackend, AttachmentArgs(volumeID: volume.id, attachmentID: ""))
            let copy = VolumeSource.copy(
                location: opened.devicePath, format: opened.format, encrypted: volume.encrypted)
            let location = try await driver.createVolume(
                id: volume.id, sizeGB: volume.size, from: copy, encryption: try await encryption(of: volume))
            try await db.change(Volume.self, volume.id, when: { $0.migrationStatus == Self.migrating }) { volume in
                volume.host = args.destination
                volume.providerLocation = location
                if let newType {
                    volume.typeID = newType.id
                    volume.multiattach = newType.isMultiattach
                }
                volume.migrationStatus = "success"
                volume.status = volume.previousStatus ?? .available
                volume.previousStatus = nil
            }
            try await bus.cast(VolumeRPC.deleteData, to: oldBackend, DeleteDataArgs(location: source))
            logger.info("migrated volume \(volume.id) from \(oldBackend) to \(backend.host)")
        } catch {
            logger.error("migrating volume \(volume.id) to \(backend.host) failed: \(error)")
            try await endMigration(volume.id, status: "error")
        }
    }
}
