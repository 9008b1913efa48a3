import Foundation
import StratusCore
import Virt

/// The host side of a server's Cinder volumes: connecting an attachment with this host's
/// connector and plugging the disk into the guest, unplugging it again, and the volumes a
/// guest starts with.
extension ComputeManager {
    func attachVolume(_ args: VolumeArgs) async {
        let (uuid, volumeID) = (args.instance, args.volume)
        await eventStarted("compute_attach_volume", action: "attach_volume", instance: uuid)
        var plugged = false
        do {
            let (cinder, mapping, attachment) = try await reserved(uuid, volumeID)
            let connected = try await connect(uuid, mapping, attachment: attachment, cinder: cinder)
            if let guest = connected.guestVolume {
                try await driver.attachVolume(uuid, volume: guest)
                plugged = true
            }
            try await cinder.completeAttachment(attachment)
            await eventFinished("compute_attach_volume", action: "attach_volume", instance: uuid)
        } catch {
            logger.warning("attaching volume \(volumeID) to \(uuid) failed: \(error)")
            if plugged {
                await logger.bestEffort("unplugging volume \(volumeID) from \(uuid)") {
                    try await driver.detachVolume(uuid, volumeID: volumeID)
                }
            }
            await releaseVolume(uuid, volumeID)
            await eventFinished("compute_attach_volume", action: "attach_volume", instance: uuid, error: "\(error)")
        }
    }

    func detachVolume(_ args: VolumeArgs) async {
        let (uuid, volumeID) = (args.instance, args.volume)
        await eventStarted("compute_detach_volume", action: "detach_volume", instance: uuid)
        do {
            try await driver.detachVolume(uuid, volumeID: volumeID)
        } catch {
            logger.warning("detaching volume \(volumeID) from \(uuid) failed: \(error)")
            await logger.bestEffort("rolling back the detaching of volume \(volumeID)") {
                try await clients.volume?.rollDetaching(volumeID)
            }
            await eventFinished("compute_detach_volume", action: "detach_volume", instance: uuid, error: "\(error)")
            return
        }
        await releaseVolume(uuid, volumeID)
        await eventFinished("compute_detach_volume", action: "detach_volume", instance: uuid)
    }

    /// Cinder's `volume-extended`: the attached volume grew, and the guest's disk grows to
    /// the size Cinder now gives it.
    func extendVolume(_ uuid: String, _ volumeID: String) async {
        await eventStarted("compute_extend_volume", action: "extend_volume", instance: uuid)
        do {
            let mapping = try await instances.get(uuid)?.volumeMapping(volumeID)
            guard mapping?.connection != nil else {
                throw DriverError("Instance \(uuid) has no connected volume \(volumeID).")
            }
            guard let cinder = clients.volume else { throw DriverError("Block Storage is not available.") }
            guard let volume = try await cinder.volume(volumeID, token: nil) else {
                throw DriverError("Volume \(volumeID) could not be found.")
            }
            try await driver.extendVolume(uuid, volumeID: volumeID, newSize: Int64(volume.size) << 30)
            await eventFinished("compute_extend_volume", action: "extend_volume", instance: uuid)
        } catch {
            logger.warning("extending volume \(volumeID) of \(uuid) failed: \(error)")
            await eventFinished("compute_extend_volume", action: "extend_volume", instance: uuid, error: "\(error)")
        }
    }

    /// The server's volumes for its guest, each connected to this host first where it is not
    /// yet (attached while the server had no host, or mapped at its build).
    func guestVolumes(_ instance: Instance) async throws -> [GuestVolume] {
        var volumes: [GuestVolume] = []
        for mapping in instance.volumes {
            var mapping = mapping
            if mapping.connection == nil, let cinder = clients.volume, let attachment = mapping.attachmentID {
                mapping = try await connect(instance.uuid, mapping, attachment: attachment, cinder: cinder)
                try await cinder.completeAttachment(attachment)
            }
            if let guest = mapping.guestVolume { volumes.append(guest) }
        }
        return volumes
    }

    /// The volume's mapping with its reservation, else why the attach cannot go on.
    private func reserved(
        _ uuid: String, _ volumeID: String
    ) async throws -> (any VolumeClient, VolumeMapping, String) {
        guard let cinder = clients.volume else { throw DriverError("Block Storage is not available.") }
        guard let instance = try await instances.get(uuid), let mapping = instance.volumeMapping(volumeID),
            let attachment = mapping.attachmentID
        else { throw DriverError("Instance \(uuid) no longer maps volume \(volumeID).") }
        return (cinder, mapping, attachment)
    }

    /// Gives Cinder this host's connector and keeps the connection it answers in the mapping.
    private func connect(
        _ uuid: String, _ mapping: VolumeMapping, attachment: String, cinder: any VolumeClient
    ) async throws -> VolumeMapping {
        let connector = VolumeConnector(ip: settings.myIP, host: host, mountpoint: mapping.device)
        var mapping = mapping
        mapping.connection = try await cinder.updateAttachment(attachment, connector: connector)
        let connected = mapping
        try await instances.update(uuid) { $0.replaceVolume(connected) }
        return mapping
    }

    /// Deletes the volume's attachment and drops its mapping.
    private func releaseVolume(_ uuid: String, _ volumeID: String) async {
        let mapping = await logger.bestEffort("reading instance \(uuid)") {
            try await instances.get(uuid)?.volumeMapping(volumeID)
        }
        if let attachment = mapping?.attachmentID, let cinder = clients.volume {
            await logger.bestEffort("deleting attachment \(attachment) of volume \(volumeID)") {
                try await cinder.deleteAttachment(attachment)
            }
        }
        await logger.bestEffort("dropping the mapping of volume \(volumeID) on \(uuid)") {
            try await instances.update(uuid) { $0.volumes.removeAll { $0.volumeID == volumeID } }
        }
    }
}

extension VolumeMapping {
    /// The disk as the driver plugs it, once the host has a connection.
    var guestVolume: GuestVolume? {
        guard let connection else { return nil }
        return GuestVolume(
            volumeID: volumeID, device: device, driverType: connection.driverVolumeType,
            path: connection.devicePath ?? "", format: connection.format, readOnly: connection.readOnly,
            bootIndex: bootIndex, qosSpecs: connection.qosSpecs.isEmpty ? nil : connection.qosSpecs,
            encryptionKeyID: connection.encryptionKeyID)
    }
}
