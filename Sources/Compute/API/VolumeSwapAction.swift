import Foundation
import StratusCore

/// The API side of `PUT os-volume_attachments/{volume}` with another volume: Nova swaps a
/// server's disk only for a migration Block Storage started (bug 2112187), onto the target
/// volume it made. The target is reserved for the server here and the host does the rest
/// (see `ComputeVolumeSwap`).
extension ComputeAPI {
    /// Where Nova swaps volumes: a guest that runs.
    static let swapStates: Set<VMState> = [.active, .paused, .resized]

    func swapVolume(
        _ mapping: VolumeMapping, to newID: String, on instance: Instance, auth: AuthContext, requestID: String
    ) async throws {
        guard let cinder = clients.volume else { throw APIError.notFound("Volume \(newID) could not be found.") }
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        guard Self.swapStates.contains(instance.vmState), instance.taskState == nil, let host = instance.host else {
            throw ComputeError.invalidState(instance, action: "swap_volume")
        }
        guard let old = try await cinder.volume(mapping.volumeID, token: nil) else {
            throw APIError.notFound("Volume \(mapping.volumeID) could not be found.")
        }
        if old.multiattach, old.attachments.count > 1 {
            throw APIError.badRequest(
                "Swapping multi-attach volumes with more than one read/write attachment is not supported.")
        }
        guard old.migrationStatus == "migrating", mapping.swap == nil else {
            throw APIError.conflict("Swapping volumes is only supported as part of a Block Storage volume migration.")
        }
        guard let new = try await cinder.volume(newID, token: auth.token) else {
            throw APIError.notFound("Volume \(newID) could not be found.")
        }
        guard new.status == "available" else {
            throw APIError.badRequest("Invalid volume: volume \(newID) status must be available, not \(new.status).")
        }
        let attachment: String
        do {
            attachment = try await cinder.reserve(volumeID: newID, instanceID: instance.uuid, token: auth.token)
        } catch {
            throw Self.volumeFault(error, volumeID: newID)
        }
        let oldID = mapping.volumeID
        let marked = try await instances.update(instance.uuid) { instance in
            guard var current = instance.volumeMapping(oldID), current.swap == nil else { return }
            current.swap = VolumeSwap(volumeID: newID, attachmentID: attachment)
            instance.replaceVolume(current)
        }
        guard marked?.volumeMapping(oldID)?.swap?.attachmentID == attachment else {
            await logger.bestEffort("deleting attachment \(attachment) of volume \(newID)") {
                try await cinder.deleteAttachment(attachment)
            }
            throw APIError.conflict("Volume \(oldID) of instance \(instance.uuid) is already being swapped.")
        }
        _ = try await db.transaction { db in
            try await self.actions.start(
                "swap_volume", instance: instance.uuid, requestID: requestID, projectID: instance.projectID,
                userID: auth.userID, in: db)
        }
        try await bus.cast(
            ComputeRPC.swapVolume, to: host,
            SwapVolumeArgs(instance: instance.uuid, oldVolume: oldID, newVolume: newID))
    }
}
