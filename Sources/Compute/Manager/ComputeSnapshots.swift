import Foundation
import StratusCore
import Virt

/// The host side of rebuild, snapshots and backups.
extension ComputeManager {
    /// Rebuild: the old disk goes, a new one from the (possibly new) image, same ports; a
    /// server stopped before the rebuild stays stopped.
    func rebuild(_ uuid: String) async {
        await eventStarted("compute_rebuild_instance", action: "rebuild", instance: uuid)
        do {
            guard let instance = try await instances.get(uuid) else { return }
            let wasStopped = instance.rebuildFromState == "stopped"
            try await setMoveTask(uuid, .rebuildBlockDeviceMapping)
            try await driver.destroy(uuid)
            let imagePath = instance.imageRef.isEmpty ? nil : try await cache.fetch(instance.imageRef)
            try await setMoveTask(uuid, .rebuildSpawning)
            let ports = try await bindPorts(instance, to: host)
            try await driver.spawn(
                try await guestSpec(instance, flavor: instance.flavor, imagePath: imagePath, ports: ports))
            if wasStopped { try await driver.powerOff(uuid) }
            try await instances.update(uuid) { instance in
                guard instance.taskState != .deleting else { return }
                instance.vmState = wasStopped ? .stopped : .active
                instance.powerState = wasStopped ? .shutdown : .running
                instance.taskState = nil
                instance.launchedAt = Date()
                instance.rebuildFromState = nil
                instance.fault = nil
            }
            await eventFinished("compute_rebuild_instance", action: "rebuild", instance: uuid)
        } catch {
            await fail(uuid, event: "compute_rebuild_instance", action: "rebuild", error: error)
        }
    }

    /// Snapshot or backup: the driver writes the disk to a scratch file, which is uploaded
    /// into the queued image; backups of one type beyond `rotation` are deleted, oldest first.
    func snapshot(_ uuid: String, imageID: String, backupType: String?, rotation: Int?) async {
        let action = backupType == nil ? "createImage" : "createBackup"
        let event = backupType == nil ? "compute_snapshot_instance" : "compute_backup_instance"
        await eventStarted(event, action: action, instance: uuid)
        let scratch = scratchFile("snapshot-\(imageID)")
        defer { logger.bestEffort("removing \(scratch)") { try FileManager.default.removeItemIfPresent(atPath: scratch) } }
        do {
            try await setMoveTask(uuid, .imagePendingUpload)
            try await driver.snapshot(uuid, to: scratch)
            try await setMoveTask(uuid, .imageUploading)
            do {
                try await clients.image.upload(imageID, file: scratch)
            } catch let fault as ServiceFault {
                throw DriverError("The image service refused the snapshot upload: \(fault.message)")
            }
            if let backupType, let rotation { try await rotateBackups(uuid, type: backupType, keep: rotation) }
            try await instances.update(uuid) { instance in
                if instance.taskState != .deleting { instance.taskState = nil }
            }
            await eventFinished(event, action: action, instance: uuid)
        } catch {
            logger.error("\(action) of \(uuid) failed on \(host): \(error)")
            await logger.bestEffort("deleting image \(imageID)") {
                try await clients.image.deleteImage(imageID)
            }
            await logger.bestEffort("updating instance \(uuid)") {
                try await instances.update(uuid) { instance in
                    if instance.taskState != .deleting { instance.taskState = nil }
                }
            }
            await eventFinished(event, action: action, instance: uuid, error: "\(error)")
        }
    }

    /// A file for a disk on its way to the Image service, beside (not in) the image cache,
    /// whose pruning would take it.
    /// A directory that cannot be made shows as the snapshot's own failure to write there.
    func scratchFile(_ name: String) -> String {
        let directory = cache.directory + "-scratch"
        logger.bestEffort("creating \(directory)") {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        return "\(directory)/\(name)"
    }

    private func rotateBackups(_ uuid: String, type: String, keep: Int) async throws {
        for id in try await clients.image.backups(of: uuid, type: type).dropFirst(keep) {
            try await clients.image.deleteImage(id)
        }
    }
}
