import Foundation
import StratusCore
import Virt

/// The host side of shelve, offload and unshelve.
extension ComputeManager {
    func addShelveHandlers(to rpc: inout RPCHandlers) {
        rpc.on(ComputeRPC.shelve) { args in
            await shelve(args.instance, imageID: args.image, offload: args.offload)
            return NoReply()
        }
        rpc.on(ComputeRPC.shelveOffload) { await offload($0.instance, action: "shelveOffload"); return NoReply() }
        rpc.on(ComputeRPC.unshelve) { await unshelve($0.instance); return NoReply() }
    }

    /// Snapshot into the image made for it, power off; offload at once when asked.
    private func shelve(_ uuid: String, imageID: String?, offload shouldOffload: Bool) async {
        await eventStarted("compute_shelve_instance", action: "shelve", instance: uuid)
        let scratch = scratchFile("shelve-\(uuid)")
        defer { logger.bestEffort("removing \(scratch)") { try FileManager.default.removeItemIfPresent(atPath: scratch) } }
        do {
            if let imageID {
                try await setMoveTask(uuid, .shelvingImagePendingUpload)
                try await driver.snapshot(uuid, to: scratch)
                try await setMoveTask(uuid, .shelvingImageUploading)
                do {
                    try await clients.image.upload(imageID, file: scratch)
                } catch let fault as ServiceFault {
                    throw DriverError("The image service refused the shelve snapshot: \(fault.message)")
                }
            }
            try await driver.powerOff(uuid)
            try await instances.update(uuid) { instance in
                guard instance.taskState != .deleting else { return }
                instance.vmState = .shelved
                instance.powerState = .shutdown
                instance.taskState = shouldOffload ? .shelvingOffloading : nil
                instance.shelvedAt = Timestamp.iso8601(Date())
                instance.shelvedHost = host
            }
            await eventFinished("compute_shelve_instance", action: "shelve", instance: uuid)
            if shouldOffload { await offload(uuid, action: "shelve") }
        } catch {
            if let imageID { await logger.bestEffort("deleting image \(imageID)") { try await clients.image.deleteImage(imageID) } }
            await logger.bestEffort("updating instance \(uuid)") {
                try await instances.update(uuid) { instance in
                    if instance.taskState != .deleting { instance.taskState = nil }
                    instance.shelvedImageID = nil
                }
            }
            await eventFinished("compute_shelve_instance", action: "shelve", instance: uuid, error: "\(error)")
        }
    }

    /// The guest goes, its allocation is given back and its ports are unbound from this host.
    private func offload(_ uuid: String, action: String) async {
        await eventStarted("compute_shelve_offload_instance", action: action, instance: uuid)
        do {
            guard let instance = try await instances.get(uuid) else { return }
            try await driver.destroy(uuid)
            for port in instance.portIDs {
                _ = try await clients.network.updatePort(port, .host(""))
            }
            await cleanup.releaseAllocation(uuid)
            try await instances.update(uuid) { instance in
                guard instance.taskState != .deleting else { return }
                instance.vmState = .shelvedOffloaded
                instance.powerState = .shutdown
                instance.taskState = nil
                instance.host = nil
                instance.node = nil
            }
            await eventFinished("compute_shelve_offload_instance", action: action, instance: uuid)
        } catch {
            await logger.bestEffort("updating instance \(uuid)") {
                try await instances.update(uuid) { instance in
                    if instance.taskState != .deleting { instance.taskState = nil }
                }
            }
            await eventFinished("compute_shelve_offload_instance", action: action, instance: uuid, error: "\(error)")
        }
    }

    /// Starts the guest here from its shelve snapshot, which is then deleted.
    private func unshelve(_ uuid: String) async {
        await eventStarted("compute_unshelve_instance", action: "unshelve", instance: uuid)
        do {
            guard let instance = try await instances.get(uuid) else { return }
            try await setMoveTask(uuid, .spawning)
            let imageID = instance.shelvedImageID
            let source = imageID ?? (instance.imageRef.isEmpty ? nil : instance.imageRef)
            var imagePath: String?
            if let source { imagePath = try await cache.fetch(source) }
            let ports = try await bindPorts(instance, to: host)
            let wasOffloaded = instance.vmState == .shelvedOffloaded
            if wasOffloaded {
                try await driver.spawn(
                    try await guestSpec(instance, flavor: instance.flavor, imagePath: imagePath, ports: ports))
            } else {
                try await driver.powerOn(uuid)
            }
            try await instances.update(uuid) { instance in
                guard instance.taskState != .deleting else { return }
                instance.vmState = .active
                instance.powerState = .running
                instance.taskState = nil
                instance.shelvedImageID = nil
                instance.shelvedAt = nil
                instance.shelvedHost = nil
            }
            if let imageID {
                await logger.bestEffort("deleting image \(imageID)") {
                    try await clients.image.deleteImage(imageID)
                }
            }
            await eventFinished("compute_unshelve_instance", action: "unshelve", instance: uuid)
        } catch {
            await fail(uuid, event: "compute_unshelve_instance", action: "unshelve", error: error)
        }
    }
}
