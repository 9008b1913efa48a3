import Foundation
import StratusCore
import Virt

/// The host side of `os-interface`: a port created (or the given one bound) here and
/// plugged into the guest, or unplugged and deleted (given ports are only unbound).
extension ComputeManager {
    func attachInterface(_ args: AttachInterfaceArgs) async -> AttachInterfaceReply {
        let uuid = args.instance
        await eventStarted("compute_attach_interface", action: "attach_interface", instance: uuid)
        var created: String?
        do {
            guard let instance = try await instances.get(uuid) else { throw DriverError("Instance \(uuid) is gone.") }
            let binding = PortBinding(
                deviceID: uuid, deviceOwner: "compute:\(instance.availabilityZone ?? "nova")", host: host)
            let port: NetworkPort
            if let portID = args.port {
                port = try await clients.network.updatePort(portID, .bind(binding))
            } else {
                port = try await clients.network.createPort(PortRequest(
                    networkID: args.network ?? "", projectID: instance.projectID, binding: binding, fixedIP: args.fixedIP))
                created = port.id
            }
            try await driver.attachInterface(uuid, port: GuestPort(port))
            try await refreshPorts(uuid, given: args.port.map { [$0] } ?? [], adding: port.id)
            await eventFinished("compute_attach_interface", action: "attach_interface", instance: uuid)
            return AttachInterfaceReply(port: port.body)
        } catch {
            if let created { await logger.bestEffort("deleting port \(created)") { try await clients.network.deletePort(created) } }
            if let given = args.port {
                await logger.bestEffort("releasing port \(given)") {
                    try await clients.network.updatePort(given, .bind(.none))
                }
            }
            await eventFinished(
                "compute_attach_interface", action: "attach_interface", instance: uuid, error: "\(error)")
            return AttachInterfaceReply(error: "\(error)")
        }
    }

    func detachInterface(_ uuid: String, portID: String) async -> DetachInterfaceReply {
        await eventStarted("compute_detach_interface", action: "detach_interface", instance: uuid)
        do {
            guard let instance = try await instances.get(uuid) else { throw DriverError("Instance \(uuid) is gone.") }
            try await driver.detachInterface(uuid, portID: portID)
            let given = instance.givenPorts
            if given.contains(portID) {
                _ = try await clients.network.updatePort(portID, .bind(.none))
            } else {
                try await clients.network.deletePort(portID)
            }
            try await refreshPorts(uuid, given: [], adding: nil, removing: portID)
            await eventFinished("compute_detach_interface", action: "detach_interface", instance: uuid)
            return DetachInterfaceReply()
        } catch {
            await eventFinished(
                "compute_detach_interface", action: "detach_interface", instance: uuid, error: "\(error)")
            return DetachInterfaceReply(error: "\(error)")
        }
    }

    /// Neutron's `network-changed` (a floating IP came or went): the addresses read again.
    func refreshNetworkInfo(_ uuid: String) async {
        do {
            try await refreshPorts(uuid, given: [], adding: nil)
        } catch {
            logger.warning("could not refresh the network info of \(uuid): \(error)")
        }
    }

    /// The server's port list and addresses after a change.
    private func refreshPorts(_ uuid: String, given: [String], adding: String?, removing: String? = nil) async throws {
        let ports = try await clients.network.ports(.device(uuid))
        let addresses = try await addresses(of: ports)
        try await instances.update(uuid) { instance in
            var ids = instance.portIDs.filter { $0 != removing }
            if let adding, !ids.contains(adding) { ids.append(adding) }
            var givenPorts = instance.givenPorts.filter { $0 != removing }
            givenPorts += given.filter { !givenPorts.contains($0) }
            instance.portIDs = ids
            instance.givenPorts = givenPorts
            instance.addresses = addresses
        }
    }
}
