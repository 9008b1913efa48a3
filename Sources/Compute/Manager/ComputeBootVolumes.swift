import Foundation
import StratusCore
import Virt

/// The volumes a server is built with (`block_device_mapping_v2` to a volume): mapped by
/// the API, which created those made from an image, snapshot or nothing as the server's user
/// (`BootVolumeCreation`); here each is awaited until `available`, reserved for the server
/// and connected to this host before the guest is spawned on it.
extension ComputeManager {
    /// The server with its volumes reserved and connected; mappings a failed build on another
    /// host left (their attachments released) are reserved again.
    func prepareVolumes(_ instance: Instance) async throws -> Instance {
        guard !instance.volumeRequests.isEmpty else { return instance }
        guard let cinder = clients.volume else {
            throw BuildError.abort("Block Storage is not available, so volumes cannot be attached.")
        }
        // A restart between the API's volume creations leaves some unmapped: never built.
        guard instance.volumes.count >= instance.volumeRequests.count else {
            throw BuildError.abort("The volumes of the server were not all created.")
        }
        let uuid = instance.uuid
        var current = instance
        for var mapping in instance.volumes where mapping.attachmentID == nil {
            if mapping.source != .volume { try await waitUntilAvailable(mapping.volumeID, cinder: cinder) }
            mapping.attachmentID = try await cinder.reserve(volumeID: mapping.volumeID, instanceID: uuid, token: nil)
            let reserved = mapping
            current = try await stored(uuid) { $0.replaceVolume(reserved) }
        }
        _ = try await guestVolumes(current)
        return try await stored(uuid) { _ in }
    }

    /// After a failed build: the attachments go (the volumes stay mapped for the next host or
    /// the server's delete).
    func releaseBuildVolumes(_ uuid: String) async {
        let found = await logger.bestEffort("reading instance \(uuid)") { try await instances.get(uuid) }
        guard let instance = found, let cinder = clients.volume else { return }
        for mapping in instance.volumes {
            guard let attachment = mapping.attachmentID else { continue }
            await logger.bestEffort("deleting attachment \(attachment) of \(uuid)") {
                try await cinder.deleteAttachment(attachment)
            }
        }
        await logger.bestEffort("updating instance \(uuid)") {
            try await instances.update(uuid) { instance in
                instance.volumes = instance.volumes.map { mapping in
                    var mapping = mapping
                    mapping.attachmentID = nil
                    mapping.connection = nil
                    return mapping
                }
            }
        }
    }

    /// After a build that failed for good: its delete-on-termination volumes go, as Nova's
    /// `_cleanup_volumes` (the mappings stay until the server's delete, which finds them gone).
    func deleteBuildVolumes(_ uuid: String) async {
        let found = await logger.bestEffort("reading instance \(uuid)") { try await instances.get(uuid) }
        guard let instance = found else { return }
        await cleanup.releaseVolumes(instance.volumes.filter(\.deleteOnTermination), of: uuid)
    }

    /// Cinder creates volumes in the background: asked again with a growing pause (Nova's
    /// `block_device_allocate_retries`), for at most `settings.volumeCreateTimeout` seconds.
    private func waitUntilAvailable(_ id: String, cinder: any VolumeClient) async throws {
        var pause = Duration.milliseconds(50)
        let deadline = ContinuousClock.now + .seconds(settings.volumeCreateTimeout)
        while true {
            guard let volume = try await cinder.volume(id, token: nil) else {
                throw BuildError.abort("Volume \(id) disappeared while it was being created.")
            }
            if volume.status == "available" { return }
            guard volume.status != "error", ContinuousClock.now < deadline else {
                throw BuildError.abort("Volume \(id) did not become available (status \(volume.status)).")
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(3))
        }
    }

    private func stored(
        _ uuid: String, _ change: @escaping @Sendable (inout Instance) -> Void
    ) async throws -> Instance {
        guard let updated = try await instances.update(uuid, change) else {
            throw BuildError.abort("The server was deleted during its build.")
        }
        return updated
    }
}
