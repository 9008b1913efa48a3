import Foundation
import Logging
import SQLKit
import StratusCore

/// The backup service's methods (topic `cinder-backup`, server: the backup host).
enum BackupRPC {
    static let topic = "cinder-backup"
    static let createBackup = RPCMethod<BackupArgs, NoReply>(topic: topic, "create_backup")
    static let deleteBackup = RPCMethod<BackupArgs, NoReply>(topic: topic, "delete_backup")
    static let restoreBackup = RPCMethod<BackupArgs, NoReply>(topic: topic, "restore_backup")
}

struct BackupArgs: Codable, Sendable {
    var backupID: String
    enum CodingKeys: String, CodingKey { case backupID = "backup_id" }
}

/// Cinder's `cinder-backup` with the posix or swift driver: reads a volume's data through
/// its backend's driver and keeps it as checksummed chunks (see `ChunkStore`). Runs on the
/// host of the backends whose volumes it backs up.
struct BackupManager: Sendable {
    let db: Database
    let host: String
    let store: ChunkStore
    /// The backends of this host, by `host@backend`.
    let backends: [String: Backend]
    /// The passphrases of encrypted volumes, whose backups keep their data encrypted.
    let keys: FixedKeyManager
    let logger: Logger
    /// Where a volume's data is exported to before it is cut into chunks.
    let scratch: String
    /// The container of backups that name none (Cinder's `backup_swift_container` for swift).
    var defaultContainer = "backups"

    func handlers() -> RPCHandlers {
        var rpc = RPCHandlers(topic: BackupRPC.topic)
        rpc.on(BackupRPC.createBackup) {
            try await create($0.backupID)
            return NoReply()
        }
        rpc.on(BackupRPC.deleteBackup) {
            try await delete($0.backupID)
            return NoReply()
        }
        rpc.on(BackupRPC.restoreBackup) {
            try await restore($0.backupID)
            return NoReply()
        }
        return rpc
    }

    func create(_ id: String) async throws {
        guard let backup = try await db.read({ try await Backup.get(id, in: $0) }), backup.status == .creating,
            let volume = try await db.read({ try await Volume.get(backup.volumeID, in: $0) })
        else { return }
        let raw = "\(scratch)/\(id).raw.part"
        do {
            let backend = try self.backend(of: volume)
            var location = volume.providerLocation
            if let snapshotID = backup.snapshotID {
                location = try await db.read { try await Snapshot.get(snapshotID, in: $0) }?.providerLocation
            }
            guard let location else { throw VolumeDriverError("volume \(volume.id) has no data") }
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            // An encrypted volume's backup is a LUKS container: its bytes stay encrypted.
            let encryption = try await VolumeEncryption.of(volume, keys: keys, in: db)
            try await backend.driver.export(location: location, to: raw, format: "raw", encryption: encryption)
            let parent = try await backup.parentID.asyncMap {
                try await store.manifest($0, container: container(backup))
            }
            let metadata = try await db.read { try await VolumeStore.metadata.get(volume.id, in: $0) }
            let info = BackupManifest.VolumeInfo(
                metadata: metadata, bootable: volume.bootable, imageMetadata: volume.imageMetadata)
            let manifest = try await store.write(
                id, container: container(backup), source: raw, parent: parent, volume: info)
            let chosen = container(backup)
            try await db.changeBackup(id, from: .creating) { backup in
                backup.status = .available
                backup.objectCount = manifest.ownChunks
                backup.host = host
                backup.container = chosen
            }
            logger.info("backed up volume \(volume.id) as \(id): \(manifest.ownChunks) chunks")
        } catch {
            logger.error("backup \(id) of volume \(volume.id) failed: \(error)")
            await logger.bestEffort("removing the data of failed backup \(id)") {
                try await store.delete(id, container: container(backup))
            }
            try await db.changeBackup(id, from: .creating) {
                $0.status = .error
                $0.failReason = "\(error)"
            }
        }
        logger.bestEffort("removing \(raw)") { try FileManager.default.removeItemIfPresent(atPath: raw) }
        try await releaseVolume(volume.id, from: .backingUp)
    }

    func delete(_ id: String) async throws {
        guard let backup = try await db.read({ try await Backup.get(id, in: $0) }), backup.status == .deleting else {
            return
        }
        do {
            try await store.delete(id, container: container(backup))
            try await db.transaction { db in
                try await Backup.metadata.removeAll(id, in: db)
                try await Backup.delete(id, in: db)
            }
        } catch {
            logger.error("deleting backup \(id) failed: \(error)")
            try await db.changeBackup(id, from: .deleting) {
                $0.status = .errorDeleting
                $0.failReason = "\(error)"
            }
        }
    }

    /// Writes the backup into its restore volume: a new volume gets its data made from the
    /// backup, an existing one has its data replaced.
    func restore(_ id: String) async throws {
        guard let backup = try await db.read({ try await Backup.get(id, in: $0) }), backup.status == .restoring,
            let volumeID = backup.restoreVolumeID,
            let volume = try await db.read({ try await Volume.get(volumeID, in: $0) })
        else { return }
        let raw = "\(scratch)/\(id)-\(volumeID).raw.part"
        do {
            let backend = try self.backend(of: volume)
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let manifest = try await store.manifest(id, container: container(backup))
            // A LUKS container keeps its own size; plain data is the volume's size.
            let encrypted = backup.encryptionKeyID != nil
            try await store.restore(
                manifest, container: container(backup), to: raw, sizeBytes: encrypted ? 0 : Int64(volume.size) << 30)
            let source: VolumeSource =
                encrypted ? .copy(location: raw, format: "raw", encrypted: true) : .imageFile(path: raw, format: "raw")
            let location = try await backend.driver.createVolume(
                id: volume.id, sizeGB: volume.size, from: source,
                encryption: try await VolumeEncryption.of(volume, keys: keys, in: db))
            let info = manifest.volume
            try await db.transaction { db in
                guard var current = try await Volume.getForUpdate(volume.id, in: db),
                    current.status == .restoringBackup
                else { return }
                current.providerLocation = location
                current.status = .available
                current.bootable = info?.bootable ?? current.bootable
                current.imageMetadata = info?.imageMetadata ?? current.imageMetadata
                current.updatedAt = Date()
                try await current.save(in: db)
                if let metadata = info?.metadata { try await VolumeStore.metadata.merge(volume.id, metadata, in: db) }
            }
        } catch {
            logger.error("restoring backup \(id) to volume \(volumeID) failed: \(error)")
            try await db.changeVolume(volume.id, from: .restoringBackup) { $0.status = .errorRestoring }
        }
        logger.bestEffort("removing \(raw)") { try FileManager.default.removeItemIfPresent(atPath: raw) }
        try await db.changeBackup(id, from: .restoring) {
            $0.status = .available
            $0.restoreVolumeID = nil
        }
    }

    /// After a restart: creates end in error, deletes finish, restores fail; backup data no
    /// record owns and scratch files are removed.
    func recover() async throws {
        let backups = try await db.read { try await Backup.select(where: "status <> \(bind: "available")", in: $0) }
        for backup in backups {
            switch backup.status {
            case .creating:
                try await store.delete(backup.id, container: container(backup))
                try await db.changeBackup(backup.id, from: .creating) {
                    $0.status = .error
                    $0.failReason = "interrupted"
                }
                try await releaseVolume(backup.volumeID, from: .backingUp)
            case .deleting:
                try await delete(backup.id)
            case .restoring:
                if let volumeID = backup.restoreVolumeID {
                    try await db.changeVolume(volumeID, from: .restoringBackup) { $0.status = .errorRestoring }
                }
                try await db.changeBackup(backup.id, from: .restoring) {
                    $0.status = .available
                    $0.restoreVolumeID = nil
                }
            default:
                break
            }
        }
        // A backup that ended just before the crash may not have released its volume yet.
        let stuck = try await db.read { db in
            try await Volume.select(where: "status = \(bind: VolumeStatus.backingUp.rawValue)", in: db)
        }
        for volume in stuck {
            let running = try await db.read { db in
                try await Backup.select(
                    where: "volume_id = \(bind: volume.id) AND status = \(bind: BackupStatus.creating.rawValue)",
                    limit: 1, in: db)
            }
            if running.isEmpty { try await releaseVolume(volume.id, from: .backingUp) }
        }
        try FileManager.default.removeItemIfPresent(atPath: scratch)
        let known = Set(try await db.read { try await Backup.select(where: "1 = 1", in: $0) }.map(\.id))
        for (container, id) in try await store.target.held() where !known.contains(id) {
            logger.warning("removing backup data \(container)/\(id): no backup record owns it")
            try await store.delete(id, container: container)
        }
    }

    private func backend(of volume: Volume) throws -> Backend {
        guard let name = volume.backend, let backend = backends[name] else {
            throw VolumeDriverError("the backend of volume \(volume.id) is not on backup host \(host)")
        }
        return backend
    }

    private func container(_ backup: Backup) -> String { backup.container ?? defaultContainer }

    /// The volume returns to the state it had before the backup.
    private func releaseVolume(_ id: String, from state: VolumeStatus) async throws {
        try await db.changeVolume(id, from: state) { volume in
            volume.status = volume.previousStatus ?? .available
            volume.previousStatus = nil
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
