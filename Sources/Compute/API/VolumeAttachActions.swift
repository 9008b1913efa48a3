import Foundation
import StratusCore

/// The API side of attaching and detaching a volume, as Nova's compute API does it: the
/// checks, the mapping with its device, Cinder's reservation (or `begin_detaching`), the
/// action record, and the cast to the server's host.
extension ComputeAPI {
    /// Where a volume may be attached or detached (Nova's `check_instance_state`).
    static let volumeStates: Set<VMState> = [
        .active, .paused, .suspended, .stopped, .resized, .softDeleted, .shelved, .shelvedOffloaded,
    ]

    func attachVolume(
        _ attach: VolumeAttachRequest, to instance: Instance, auth: AuthContext, requestID: String
    ) async throws -> VolumeMapping {
        // Without Block Storage no volume exists, whatever the server's state.
        guard clients.volume != nil else { throw APIError.notFound("Volume \(attach.volumeID) could not be found.") }
        try checkVolumeChange(instance, auth: auth, action: "attach_volume")
        let cinder = try await volumeClient(seeing: attach.volumeID, auth: auth)
        let uuid = instance.uuid
        let volumeID = attach.volumeID
        let updated = try await instances.update(uuid) { instance in
            guard instance.volumeMapping(volumeID) == nil else {
                throw APIError.badRequest("Invalid volume: volume \(volumeID) already attached")
            }
            var mapping = VolumeMapping(volumeID: volumeID, device: instance.nextVolumeDevice)
            mapping.tag = attach.tag
            mapping.deleteOnTermination = attach.deleteOnTermination
            instance.volumes.append(mapping)
        }
        guard let updated, var mapping = updated.volumeMapping(volumeID) else {
            throw ComputeError.instanceNotFound(uuid)
        }
        do {
            let attachment = try await cinder.reserve(volumeID: volumeID, instanceID: uuid, token: auth.token)
            mapping.attachmentID = attachment
            let reservedMapping = mapping
            try await instances.update(uuid) { $0.replaceVolume(reservedMapping) }
        } catch {
            await logger.bestEffort("dropping the mapping of volume \(volumeID) on \(uuid)") {
                try await instances.update(uuid) { $0.volumes.removeAll { $0.volumeID == volumeID } }
            }
            throw Self.volumeFault(error, volumeID: volumeID)
        }
        _ = try await db.transaction { db in
            try await self.actions.start(
                "attach_volume", instance: uuid, requestID: requestID, projectID: instance.projectID,
                userID: auth.userID, in: db)
        }
        if let host = updated.host {
            try await bus.cast(ComputeRPC.attachVolume, to: host, VolumeArgs(instance: uuid, volume: volumeID))
        } else if let attachment = mapping.attachmentID {
            // Shelved offloaded: no host to connect it; the host that unshelves the server does.
            try await cinder.completeAttachment(attachment)
        }
        return mapping
    }

    func detachVolume(
        _ mapping: VolumeMapping, from instance: Instance, auth: AuthContext, requestID: String
    ) async throws {
        try checkVolumeChange(instance, auth: auth, action: "detach_volume")
        if mapping.isRoot { throw APIError.badRequest("Cannot detach a root device volume") }
        if mapping.swap != nil {
            throw APIError.conflict("Volume \(mapping.volumeID) is being swapped as Block Storage migrates it.")
        }
        let cinder = try await volumeClient(seeing: mapping.volumeID, auth: auth)
        do {
            try await cinder.beginDetaching(mapping.volumeID, token: auth.token)
        } catch {
            throw Self.volumeFault(error, volumeID: mapping.volumeID)
        }
        _ = try await db.transaction { db in
            try await self.actions.start(
                "detach_volume", instance: instance.uuid, requestID: requestID, projectID: instance.projectID,
                userID: auth.userID, in: db)
        }
        let args = VolumeArgs(instance: instance.uuid, volume: mapping.volumeID)
        if let host = instance.host {
            try await bus.cast(ComputeRPC.detachVolume, to: host, args)
            return
        }
        // Shelved offloaded: no guest holds the volume; only the attachment is left to delete.
        if let attachment = mapping.attachmentID { try await cinder.deleteAttachment(attachment) }
        try await instances.update(instance.uuid) { $0.volumes.removeAll { $0.volumeID == mapping.volumeID } }
    }

    private func checkVolumeChange(_ instance: Instance, auth: AuthContext, action: String) throws {
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        guard Self.volumeStates.contains(instance.vmState), instance.taskState == nil else {
            throw ComputeError.invalidState(instance, action: action)
        }
    }

    /// Block Storage, once it showed the caller the volume (Cinder answers 404 for another
    /// project's); Nova's 404 when there is no Block Storage or no such volume.
    private func volumeClient(seeing id: String, auth: AuthContext) async throws -> any VolumeClient {
        let notFound = APIError.notFound("Volume \(id) could not be found.")
        guard let client = clients.volume else { throw notFound }
        do {
            guard try await client.volume(id, token: auth.token) != nil else { throw notFound }
            return client
        } catch ServiceClientError.noEndpoint {
            throw notFound
        }
    }

    /// Cinder's refusal as Nova answers it: its 400 and 409 are the client's fault, 404 a
    /// volume that cannot be found; anything else stays a server error.
    static func volumeFault(_ error: any Error, volumeID: String) -> any Error {
        guard let fault = error as? ServiceFault else { return error }
        switch fault.status {
        case 404: return APIError.notFound("Volume \(volumeID) could not be found.")
        case 400, 409: return APIError.badRequest(fault.message)
        default: return error
        }
    }
}

extension Instance {
    /// Puts `mapping` in place of the server's mapping of the same volume, if it still has one.
    mutating func replaceVolume(_ mapping: VolumeMapping) {
        details.volumes = details.volumes.map { $0.volumeID == mapping.volumeID ? mapping : $0 }
    }
}
