import Foundation
import StratusCore
import Virt

/// The host side of a volume swap (Block Storage migrating an attached volume): connect the
/// target volume, let the driver mirror the guest's disk onto it and pivot, then tell Cinder,
/// which gives the old volume's record the target's data. The mapping keeps the old volume's
/// id. Each step is recorded in the mapping's `swap`, so a restart ends a swap a crash cut
/// off: finished when the guest already writes to the target, else undone.
extension ComputeManager {
    func swapVolume(_ args: SwapVolumeArgs) async {
        let (uuid, oldID) = (args.instance, args.oldVolume)
        await eventStarted("compute_swap_volume", action: "swap_volume", instance: uuid)
        do {
            guard let cinder = clients.volume else { throw DriverError("Block Storage is not available.") }
            guard let mapping = try await instances.get(uuid)?.volumeMapping(oldID), var swap = mapping.swap,
                swap.volumeID == args.newVolume, !swap.pivoted
            else { throw DriverError("Instance \(uuid) has no swap of volume \(oldID) to \(args.newVolume).") }
            do {
                let connector = VolumeConnector(ip: settings.myIP, host: host, mountpoint: mapping.device)
                swap.connection = try await cinder.updateAttachment(swap.attachmentID, connector: connector)
                try await recordSwap(uuid, oldID, swap)
                guard let target = mapping.guestVolume(after: swap) else {
                    throw DriverError("Volume \(swap.volumeID) has no connection.")
                }
                try await driver.swapVolume(uuid, volumeID: oldID, to: target)
            } catch {
                await abandonSwap(uuid, oldID, swap, cinder)
                throw error
            }
            swap.pivoted = true
            try await recordSwap(uuid, oldID, swap)
            try await finishSwap(uuid, oldID, cinder)
            await eventFinished("compute_swap_volume", action: "swap_volume", instance: uuid)
        } catch {
            logger.warning("swapping volume \(oldID) of \(uuid) to \(args.newVolume) failed: \(error)")
            await eventFinished("compute_swap_volume", action: "swap_volume", instance: uuid, error: "\(error)")
        }
    }

    /// At start: the swaps of the instance a crash cut off end, one way or the other.
    func resumeSwaps(_ instance: Instance) async {
        guard let cinder = clients.volume else { return }
        for mapping in instance.volumes {
            guard var swap = mapping.swap else { continue }
            await logger.bestEffort("ending the swap of volume \(mapping.volumeID) of \(instance.uuid)") {
                if !swap.pivoted {
                    let target = mapping.guestVolume(after: swap)
                    guard let target,
                        try await driver.settleSwap(instance.uuid, volumeID: mapping.volumeID, to: target)
                    else {
                        await abandonSwap(instance.uuid, mapping.volumeID, swap, cinder)
                        return
                    }
                    swap.pivoted = true
                    try await recordSwap(instance.uuid, mapping.volumeID, swap)
                }
                try await finishSwap(instance.uuid, mapping.volumeID, cinder)
            }
        }
    }

    /// After the pivot: Cinder's records follow the guest. Each call may be made again.
    private func finishSwap(_ uuid: String, _ oldID: String, _ cinder: any VolumeClient) async throws {
        guard let mapping = try await instances.get(uuid)?.volumeMapping(oldID), let swap = mapping.swap else {
            return
        }
        try await cinder.completeAttachment(swap.attachmentID)
        if try await cinder.volume(oldID, token: nil)?.migrationStatus == "migrating" {
            _ = try await cinder.migrateVolumeCompletion(old: oldID, new: swap.volumeID, error: false)
        }
        if let old = mapping.attachmentID, old != swap.attachmentID { try await cinder.deleteAttachment(old) }
        try await instances.update(uuid) { instance in
            guard var current = instance.volumeMapping(oldID) else { return }
            current.attachmentID = swap.attachmentID
            current.connection = swap.connection
            current.swap = nil
            instance.replaceVolume(current)
        }
        logger.info("volume \(oldID) of \(uuid) now has the data of \(swap.volumeID)")
    }

    /// Before the pivot: the target's attachment goes and Cinder ends its migration in error.
    private func abandonSwap(_ uuid: String, _ oldID: String, _ swap: VolumeSwap, _ cinder: any VolumeClient) async {
        await logger.bestEffort("deleting attachment \(swap.attachmentID) of volume \(swap.volumeID)") {
            try await cinder.deleteAttachment(swap.attachmentID)
        }
        await logger.bestEffort("telling Block Storage the swap of \(oldID) failed") {
            _ = try await cinder.migrateVolumeCompletion(old: oldID, new: swap.volumeID, error: true)
        }
        await logger.bestEffort("forgetting the swap of volume \(oldID) on \(uuid)") {
            try await recordSwap(uuid, oldID, nil)
        }
    }

    private func recordSwap(_ uuid: String, _ volumeID: String, _ swap: VolumeSwap?) async throws {
        try await instances.update(uuid) { instance in
            guard var current = instance.volumeMapping(volumeID) else { return }
            current.swap = swap
            instance.replaceVolume(current)
        }
    }
}

extension VolumeMapping {
    /// The disk as the driver has it once `swap` is done: the same device over the target's
    /// data, its node named after the target volume.
    func guestVolume(after swap: VolumeSwap) -> GuestVolume? {
        var swapped = self
        swapped.connection = swap.connection
        guard var guest = swapped.guestVolume else { return nil }
        guest.nodeKey = swap.volumeID
        return guest
    }
}
