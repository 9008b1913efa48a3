import Foundation
import Logging
import SQLKit
import StratusCore

/// The volume service of one backend (Cinder's `cinder-volume` for `host@backend`): runs
/// the driver for the volumes the scheduler places here and keeps their records' states.
/// Every handler first checks the record's state, so a message delivered twice does nothing
/// the second time.
struct VolumeManager: Sendable {
    let db: Database
    let backend: Backend
    let bus: any BusTransport
    let images: any ImageClient
    /// Nova, told when an attached volume grows; nil where no Compute runs.
    let compute: (any ComputeClient)?
    /// The passphrases of encrypted volumes.
    let keys: FixedKeyManager
    let logger: Logger

    var driver: any VolumeDriver { backend.driver }

    func handlers() -> RPCHandlers {
        var rpc = RPCHandlers(topic: VolumeRPC.topic)
        rpc.on(VolumeRPC.createVolume) {
            try await createVolume($0)
            return NoReply()
        }
        rpc.on(VolumeRPC.deleteVolume) {
            try await deleteVolume($0.volumeID)
            return NoReply()
        }
        rpc.on(VolumeRPC.extendVolume) {
            try await extend($0)
            return NoReply()
        }
        rpc.on(VolumeRPC.revertToSnapshot) {
            try await revert($0)
            return NoReply()
        }
        rpc.on(VolumeRPC.createSnapshot) {
            try await createSnapshot($0)
            return NoReply()
        }
        rpc.on(VolumeRPC.deleteSnapshot) {
            try await deleteSnapshot($0)
            return NoReply()
        }
        rpc.on(VolumeRPC.copyVolumeToImage) {
            try await copyToImage($0)
            return NoReply()
        }
        rpc.on(VolumeRPC.migrateVolume) {
            try await migrate($0)
            return NoReply()
        }
        rpc.on(VolumeRPC.deleteData) {
            try await driver.deleteVolume(location: $0.location)
            return NoReply()
        }
        rpc.on(VolumeRPC.manageVolume) {
            try await manageVolume($0)
            return NoReply()
        }
        rpc.on(VolumeRPC.manageSnapshot) {
            try await manageSnapshot($0)
            return NoReply()
        }
        rpc.on(VolumeRPC.listManageable) { _ in try await manageable() }
        rpc.on(VolumeRPC.attachmentUpdate) { try await connection($0) }
        rpc.on(VolumeRPC.attachmentDelete) { _ in NoReply() }
        return rpc
    }

    // MARK: volumes

    func createVolume(_ args: ScheduleVolumeArgs) async throws {
        guard let volume = try await db.read({ try await Volume.get(args.volumeID, in: $0) }),
            volume.status == .creating || volume.status == .downloading, volume.backend == backend.host
        else { return }
        do {
            let location = try await makeVolume(volume)
            try await db.changeVolume(volume.id, from: .creating, .downloading) { volume in
                volume.providerLocation = location
                volume.status = .available
                if volume.imageID != nil { volume.bootable = true }
            }
            logger.info("created volume \(volume.id) on \(backend.host)")
        } catch {
            logger.error("creating volume \(volume.id) on \(backend.host) failed: \(error)")
            await reschedule(volume, after: args)
        }
    }

    private func makeVolume(_ volume: Volume) async throws -> String {
        if let snapshotID = volume.snapshotID {
            guard let snapshot = try await db.read({ try await Snapshot.get(snapshotID, in: $0) }),
                let location = snapshot.providerLocation
            else { throw VolumeDriverError("snapshot \(snapshotID) has no data") }
            let encrypted = try await db.read { try await Volume.get(snapshot.volumeID, in: $0) }?.encrypted == true
            return try await driver.createVolume(
                id: volume.id, sizeGB: volume.size, from: .copy(location: location, encrypted: encrypted),
                encryption: try await encryption(of: volume))
        }
        if let sourceID = volume.sourceVolumeID {
            guard let source = try await db.read({ try await Volume.get(sourceID, in: $0) }),
                let location = source.providerLocation
            else { throw VolumeDriverError("volume \(sourceID) has no data") }
            return try await driver.createVolume(
                id: volume.id, sizeGB: volume.size, from: .copy(location: location, encrypted: source.encrypted),
                encryption: try await encryption(of: volume))
        }
        if let imageID = volume.imageID {
            try await db.changeVolume(volume.id, from: .creating) { $0.status = .downloading }
            let file = scratchPath("image-\(volume.id)")
            defer {
                logger.bestEffort("removing \(file)") { try FileManager.default.removeItemIfPresent(atPath: file) }
            }
            try await images.download(imageID, to: file)
            let format = volume.imageMetadata?["disk_format"] ?? "raw"
            return try await driver.createVolume(
                id: volume.id, sizeGB: volume.size, from: .imageFile(path: file, format: format),
                encryption: try await encryption(of: volume))
        }
        return try await driver.createVolume(
            id: volume.id, sizeGB: volume.size, from: .blank, encryption: try await encryption(of: volume))
    }

    /// The encryption of the volume's data: the key manager's passphrase and its type's cipher.
    func encryption(of volume: Volume) async throws -> VolumeEncryption? {
        try await VolumeEncryption.of(volume, keys: keys, in: db)
    }

    /// A failed create goes back to the scheduler once, to another backend; then `error`.
    private func reschedule(_ volume: Volume, after args: ScheduleVolumeArgs) async {
        let tried = args.triedHosts + [backend.host]
        if tried.count < 2 {
            let moved = await logger.bestEffort("giving volume \(volume.id) back to the scheduler") {
                try await db.changeVolume(volume.id, from: .creating, .downloading) {
                    $0.status = .creating
                    $0.host = nil
                }
                try await bus.cast(
                    SchedulerRPC.createVolume,
                    ScheduleVolumeArgs(volumeID: volume.id, triedHosts: tried, requestID: args.requestID))
            }
            if moved != nil { return }
        }
        await logger.bestEffort("marking volume \(volume.id) failed") {
            try await db.changeVolume(volume.id, from: .creating, .downloading) { $0.status = .error }
            try await db.transaction { db in
                try await UserMessage(volume: volume, event: .createFailed, requestID: args.requestID).insert(in: db)
            }
        }
    }

    func deleteVolume(_ id: String) async throws {
        guard let volume = try await db.read({ try await Volume.get(id, in: $0) }),
            [.deleting, .unmanaging].contains(volume.status)
        else { return }
        do {
            // Unmanaging forgets the volume and leaves its data where it is.
            if volume.status == .deleting, let location = volume.providerLocation {
                try await driver.deleteVolume(location: location)
            }
            try await db.transaction { db in
                try await VolumeStore.metadata.removeAll(id, in: db)
                try await db.delete(from: Attachment.table).where("volume_id", .equal, SQLBind(id)).run()
                try await Volume.delete(id, in: db)
                if let group = volume.groupID { try await Self.settleGroupDeletion(group, in: db) }
            }
            logger.info("deleted volume \(id)")
        } catch {
            logger.error("deleting volume \(id) failed: \(error)")
            try await db.changeVolume(id, from: volume.status) { $0.status = .errorDeleting }
        }
    }

    func extend(_ args: ExtendVolumeArgs) async throws {
        guard let volume = try await db.read({ try await Volume.get(args.volumeID, in: $0) }),
            volume.status == .extending, let location = volume.providerLocation
        else { return }
        do {
            if volume.previousStatus != .inUse || driver.extendsAttached {
                try await driver.extendVolume(
                    location: location, sizeGB: args.newSize, encryption: try await encryption(of: volume))
            }
            try await db.changeVolume(volume.id, from: .extending) { volume in
                volume.size = args.newSize
                volume.status = volume.previousStatus ?? .available
                volume.previousStatus = nil
            }
            if volume.previousStatus == .inUse { await tellComputeExtended(volume) }
        } catch {
            logger.error("extending volume \(volume.id) failed: \(error)")
            try await db.changeVolume(volume.id, from: .extending) { $0.status = .errorExtending }
        }
    }

    /// Each server the volume is attached to learns its new size (Nova's `volume-extended`).
    private func tellComputeExtended(_ volume: Volume) async {
        guard let compute else { return }
        let attachments =
            await logger.bestEffort("reading the attachments of \(volume.id)") {
                try await db.read { try await Attachment.select(where: "volume_id = \(bind: volume.id)", in: $0) }
            } ?? []
        for server in Set(attachments.compactMap(\.instanceID)) {
            await logger.bestEffort("telling Compute that volume \(volume.id) of \(server) grew") {
                try await compute.volumeExtended(server: server, volume: volume.id)
            }
        }
    }

    func revert(_ args: SnapshotArgs) async throws {
        guard let volume = try await db.read({ try await Volume.get(args.volumeID, in: $0) }),
            volume.status == .reverting, let location = volume.providerLocation,
            let snapshot = try await db.read({ try await Snapshot.get(args.snapshotID, in: $0) }),
            let snapshotLocation = snapshot.providerLocation
        else { return }
        do {
            try await driver.revert(
                volumeLocation: location, to: snapshotLocation, encryption: try await encryption(of: volume))
            try await db.changeVolume(volume.id, from: .reverting) { $0.status = .available }
        } catch {
            logger.error("reverting volume \(volume.id) failed: \(error)")
            try await db.changeVolume(volume.id, from: .reverting) { $0.status = .error }
        }
        try await db.changeSnapshot(snapshot.id, from: .restoring) { $0.status = .available }
    }

    // MARK: snapshots

    func createSnapshot(_ args: SnapshotArgs) async throws {
        guard let snapshot = try await db.read({ try await Snapshot.get(args.snapshotID, in: $0) }),
            snapshot.status == .creating,
            let volume = try await db.read({ try await Volume.get(args.volumeID, in: $0) }),
            let location = volume.providerLocation
        else { return }
        do {
            let path = try await driver.createSnapshot(
                id: snapshot.id, of: location, encryption: try await encryption(of: volume))
            try await db.changeSnapshot(snapshot.id, from: .creating) {
                $0.providerLocation = path
                $0.status = .available
            }
        } catch {
            logger.error("creating snapshot \(snapshot.id) failed: \(error)")
            try await db.changeSnapshot(snapshot.id, from: .creating) { $0.status = .error }
        }
        try await settleGroup(of: snapshot)
    }

    func deleteSnapshot(_ args: SnapshotArgs) async throws {
        guard let snapshot = try await db.read({ try await Snapshot.get(args.snapshotID, in: $0) }),
            [.deleting, .unmanaging].contains(snapshot.status)
        else { return }
        do {
            if snapshot.status == .deleting, let location = snapshot.providerLocation {
                try await driver.deleteSnapshot(location: location)
            }
            try await db.transaction { db in
                try await VolumeStore.snapshotMetadata.removeAll(snapshot.id, in: db)
                try await Snapshot.delete(snapshot.id, in: db)
            }
        } catch {
            logger.error("deleting snapshot \(snapshot.id) failed: \(error)")
            try await db.changeSnapshot(snapshot.id, from: snapshot.status) { $0.status = .errorDeleting }
        }
        try await settleGroup(of: snapshot)
    }

    /// A group being deleted goes once its last volume has.
    static func settleGroupDeletion(_ id: String, in db: any SQLDatabase) async throws {
        guard let group = try await VolumeGroup.getForUpdate(id, in: db), group.status == .deleting,
            try await Volume.select(where: "group_id = \(bind: id)", limit: 1, in: db).isEmpty
        else { return }
        try await VolumeGroup.volumeTypes.removeAll(id, in: db)
        try await VolumeGroup.delete(id, in: db)
    }

    private func settleGroup(of snapshot: Snapshot) async throws {
        guard let group = snapshot.groupSnapshotID else { return }
        try await db.transaction { try await GroupSnapshot.settle(group, in: $0) }
    }

    // MARK: images and attachments

    func copyToImage(_ args: UploadImageArgs) async throws {
        guard let volume = try await db.read({ try await Volume.get(args.volumeID, in: $0) }),
            volume.status == .uploading, let location = volume.providerLocation
        else { return }
        let file = scratchPath("upload-\(volume.id)-\(args.imageID)")
        do {
            try await driver.export(location: location, to: file, format: args.diskFormat, encryption: nil)
            try await images.upload(args.imageID, file: file)
        } catch {
            logger.error("uploading volume \(volume.id) to image \(args.imageID) failed: \(error)")
            await logger.bestEffort("deleting image \(args.imageID)") { try await images.deleteImage(args.imageID) }
        }
        logger.bestEffort("removing \(file)") { try FileManager.default.removeItemIfPresent(atPath: file) }
        try await db.changeVolume(volume.id, from: .uploading) { volume in
            volume.status = volume.previousStatus ?? .available
            volume.previousStatus = nil
        }
    }

    func connection(_ args: AttachmentArgs) async throws -> VolumeConnection {
        guard let volume = try await db.read({ try await Volume.get(args.volumeID, in: $0) }),
            let location = volume.providerLocation
        else { throw VolumeDriverError("volume \(args.volumeID) has no data on \(backend.host)") }
        var connection = driver.connection(location: location, readOnly: volume.readOnly)
        connection.encryptionKeyID = volume.encryptionKeyID
        return connection
    }

    /// A file for work in progress beside the backend's data (`*.part`: cleaned after a crash).
    func scratchPath(_ name: String) -> String {
        "\(backend.scratchDirectory)/\(name).part"
    }
}
