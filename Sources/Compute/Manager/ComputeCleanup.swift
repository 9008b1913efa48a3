import Foundation
import Logging
import StratusCore

/// What deleting a server, or failing its build, gives back: its ports, its Placement
/// allocation, and (on delete) its row, marked deleted.
struct ComputeCleanup: Sendable {
    let clients: ServiceClients
    let instances: InstanceStore
    let logger: Logger

    /// Ports bound to the server: those it created are deleted, those it was given are unbound.
    func releasePorts(_ uuid: String, given: [String] = []) async {
        let ports = await logger.bestEffort("listing the ports of \(uuid)") {
            try await clients.network.ports(.device(uuid))
        }
        for port in ports ?? [] {
            await logger.bestEffort("releasing port \(port.id) of \(uuid)") {
                if given.contains(port.id) {
                    _ = try await clients.network.updatePort(port.id, .bind(.none))
                } else {
                    try await clients.network.deletePort(port.id)
                }
            }
        }
    }

    func releaseAllocation(_ uuid: String) async {
        await logger.bestEffort("releasing the allocation of \(uuid)") {
            try await clients.placement.deleteAllocations(of: uuid)
        }
    }

    /// The attachments of a server whose guest is gone; volumes to be deleted with it are.
    func releaseVolumes(_ mappings: [VolumeMapping], of uuid: String) async {
        guard let cinder = clients.volume else { return }
        for mapping in mappings {
            if let swap = mapping.swap {
                // A swap cut off by the delete: Cinder keeps the data the guest last wrote to.
                await logger.bestEffort("ending the swap of volume \(mapping.volumeID) of \(uuid)") {
                    try await cinder.deleteAttachment(swap.attachmentID)
                    _ = try await cinder.migrateVolumeCompletion(
                        old: mapping.volumeID, new: swap.volumeID, error: !swap.pivoted)
                }
            }
            if let attachment = mapping.attachmentID {
                let released = await logger.bestEffort("deleting attachment \(attachment) of \(uuid)") {
                    try await cinder.deleteAttachment(attachment)
                }
                guard released != nil else { continue }
            }
            if mapping.deleteOnTermination {
                await logger.bestEffort("deleting volume \(mapping.volumeID) of \(uuid)") {
                    try await cinder.deleteVolume(mapping.volumeID)
                }
            }
        }
    }

    /// Releases everything and marks the row deleted.
    func finishDelete(_ uuid: String) async throws {
        let instance = try await instances.get(uuid)
        let given = instance?.givenPorts ?? []
        await releasePorts(uuid, given: given)
        await releaseAllocation(uuid)
        // A server deleted mid-move also holds resources through its migration.
        if let migration = instance?.migration { await releaseAllocation(migration) }
        await releaseVolumes(instance?.volumes ?? [], of: uuid)
        if let image = instance?.shelvedImageID { await logger.bestEffort("deleting image \(image)") { try await clients.image.deleteImage(image) } }
        try await instances.update(uuid) { instance in
            instance.vmState = .deleted
            instance.taskState = nil
            instance.powerState = .noState
            instance.deleted = true
            instance.volumes = []
            instance.deletedAt = Date()
        }
    }
}
