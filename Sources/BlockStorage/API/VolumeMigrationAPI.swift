import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `os-retype` and `os-migrate_volume`: a new type on the same pool is a record change; a
/// pool that cannot serve the volume any more (or an admin's new host) means a migration,
/// which Nova's swap ends for an attached volume (`os-migrate_volume_completion`).
extension BlockStorageAPI {
    func retype(_ volume: Volume, _ args: [String: JSON], _ auth: AuthContext) async throws {
        guard let name = args["new_type"]?.stringValue else {
            throw BlockStorageError.invalidInput("new_type is required")
        }
        let policy = args["migration_policy"]?.stringValue ?? "never"
        guard ["never", "on-demand"].contains(policy) else {
            throw BlockStorageError.invalidInput("Invalid migration_policy \(policy)")
        }
        let admin = isAdmin(auth)
        let type: VolumeType = try await db.read { db in
            guard let type = try await VolumeTypes.get(name, in: db),
                try await VolumeTypes.visible(type, to: auth.projectID, admin: admin, in: db)
            else { throw BlockStorageError.typeNotFound(name) }
            let encrypted = try await EncryptionType.of(type: type.id, in: db) != nil
            guard encrypted == volume.encrypted else {
                throw BlockStorageError.invalidInput(
                    "Retype of volume \(volume.id) to \(name) would change its encryption, which is not supported.")
            }
            return type
        }
        guard type.id != volume.typeID else {
            throw BlockStorageError.invalidInput("Retype needs a new volume type; \(name) is the volume's type.")
        }
        let pools = try await db.read { try await scheduler.pools(in: $0) }
        let request = PoolRequest(
            sizeGB: volume.size, zone: volume.availabilityZone, extraSpecs: type.extraSpecs,
            multiattach: type.isMultiattach)
        if type.isMultiattach != volume.multiattach, volume.status == .inUse {
            throw BlockStorageError.invalidInput("Retype of in-use volume \(volume.id) cannot change multiattach.")
        }
        if let current = pools.first(where: { "\($0.host)#\($0.capabilities.pool)" == volume.host }),
            PoolFilters.matches(current, request)
        {
            try await change(volume, from: [.available, .inUse]) { volume in
                volume.typeID = type.id
                volume.multiattach = type.isMultiattach
            }
            return
        }
        guard policy == "on-demand" else {
            throw BlockStorageError.invalidInput(
                "Retype of volume \(volume.id) to \(name) needs a migration, and migration_policy is never.")
        }
        try await checkMigratable(volume)
        let others = pools.filter { $0.host != volume.backend }
        guard let pool = PoolFilters.choose(others, for: request) else {
            throw BlockStorageError.invalidInput("No valid backend for volume type \(name).")
        }
        try await startMigration(volume, to: pool, newType: type.id, status: .retyping)
    }

    func migrate(_ volume: Volume, _ args: [String: JSON]) async throws {
        guard let host = args["host"]?.stringValue else { throw BlockStorageError.invalidInput("host is required") }
        let pools = try await db.read { try await scheduler.pools(in: $0) }
        guard let pool = pools.first(where: { host == $0.host || host == "\($0.host)#\($0.capabilities.pool)" }) else {
            throw BlockStorageError.invalidInput("No available service named \(host)")
        }
        guard pool.host != volume.backend else {
            throw BlockStorageError.invalidInput("Destination host \(host) is the volume's own.")
        }
        try await checkMigratable(volume)
        let status: VolumeStatus = volume.status == .inUse ? .inUse : .maintenance
        try await startMigration(volume, to: pool, newType: nil, status: status)
    }

    /// An available volume, or an in-use one with a single server's attachment, whose data
    /// that server's host then mirrors onto the destination.
    private func checkMigratable(_ volume: Volume) async throws {
        guard [.available, .inUse].contains(volume.status), volume.migrationStatus != VolumeManager.migrating else {
            throw BlockStorageError.invalidVolume(
                "Volume \(volume.id) must be available or in-use, and not migrating.")
        }
        guard volume.status == .inUse else { return }
        guard try await db.read({ try await VolumeManager.swappedAttachment(of: volume.id, in: $0) }) != nil else {
            throw BlockStorageError.invalidVolume(
                "Volume \(volume.id) can be migrated in use only with one attachment to a server.")
        }
    }

    /// `os-migrate_volume_completion`: Nova's swap onto the target is done (or failed). On
    /// success the source record takes the target's backend, data, type and attachments in
    /// one transaction and the target record goes; the source's old data is removed after.
    func completeMigration(_ volume: Volume, _ args: [String: JSON]) async throws -> JSON {
        guard let newID = args["new_volume"]?.stringValue else {
            throw BlockStorageError.invalidInput("new_volume is required")
        }
        let failed = args["error"]?.boolValue ?? false
        let old: (location: String?, backend: String?) = try await db.transaction { db in
            guard var source = try await Volume.getForUpdate(volume.id, in: db),
                source.migrationStatus == VolumeManager.migrating
            else { throw BlockStorageError.invalidVolume("Volume \(volume.id) is not being migrated.") }
            guard var target = try await Volume.getForUpdate(newID, in: db),
                target.migrationStatus == VolumeManager.targetMark(of: source.id)
            else { throw BlockStorageError.invalidVolume("Volume \(newID) is not the target of \(source.id).") }
            let old = (source.providerLocation, source.backend)
            source.status = source.previousStatus ?? .inUse
            source.previousStatus = nil
            source.updatedAt = Date()
            if failed {
                source.migrationStatus = "error"
                try await source.save(in: db)
                target.status = .deleting
                try await target.save(in: db)
                return (target.providerLocation, target.backend)
            }
            source.host = target.host
            source.providerLocation = target.providerLocation
            source.typeID = target.typeID
            source.multiattach = target.multiattach
            source.migrationStatus = "success"
            try await source.save(in: db)
            try await db.update(Attachment.table).set("volume_id", to: SQLBind(source.id))
                .where("volume_id", .equal, SQLBind(target.id)).run()
            try await Volume.delete(target.id, in: db)
            return old
        }
        if failed, let backend = old.backend {
            try await bus.cast(VolumeRPC.deleteVolume, to: backend, VolumeArgs(volumeID: newID))
        } else if let location = old.location, let backend = old.backend {
            try await bus.cast(VolumeRPC.deleteData, to: backend, DeleteDataArgs(location: location))
        }
        return ["save_volume_id": .string(volume.id)]
    }

    private func startMigration(
        _ volume: Volume, to pool: PoolCandidate, newType: String?, status: VolumeStatus
    ) async throws {
        try await change(volume, from: [volume.status]) { volume in
            volume.previousStatus = volume.status
            volume.status = status
            volume.migrationStatus = VolumeManager.migrating
        }
        let destination = "\(pool.host)#\(pool.capabilities.pool)"
        try await bus.cast(
            VolumeRPC.migrateVolume, to: pool.host,
            MigrateVolumeArgs(volumeID: volume.id, destination: destination, newTypeID: newType))
    }
}
