import Foundation
import StratusCore
import Virt

/// The host side of `os-interface`: a port created (or the given one bound) here and
/// plugged into the guest, or unplugged and deleted (given ports are only unbound).
extension ComputeManager {
    func attachInterface(_ uuid: String, _ args: JSON) async -> JSON {
        await eventStarted("compute_attach_interface", action: "attach_interface", instance: uuid)
        var created: String?
        do {
            guard let instance = try await instances.get(uuid) else { throw DriverError("Instance \(uuid) is gone.") }
            var binding: [String: JSON] = [
                "device_id": .string(uuid), "device_owner": .string("compute:\(instance.availabilityZone ?? "nova")"), "binding:host_id": .string(host),
            ]
            let reply: ServiceReply
            if let portID = args["port_id"]?.stringValue {
                reply = try await clients.network.send(.PUT, "/v2.0/ports/\(portID)", body: ["port": .object(binding)])
            } else {
                binding["network_id"] = args["net_id"] ?? .null
                binding["project_id"] = .string(instance.projectID)
                if let ip = args["fixed_ip"]?.stringValue { binding["fixed_ips"] = [["ip_address": .string(ip)]] }
                reply = try await clients.network.send(.POST, "/v2.0/ports", body: ["port": .object(binding)])
                created = reply.body["port"]?["id"]?.stringValue
            }
            guard reply.ok, let port = reply.body["port"], let id = port["id"]?.stringValue else { throw DriverError(reply.faultMessage) }
            try await driver.attachInterface(uuid, port: GuestPort(neutron: port))
            let given = args["port_id"]?.stringValue
            try await refreshPorts(uuid, given: given.map { [$0] } ?? [], adding: id)
            await eventFinished("compute_attach_interface", action: "attach_interface", instance: uuid)
            return ["port": port]
        } catch {
            if let created { await logger.bestEffort("deleting port \(created)") { try await clients.network.send(.DELETE, "/v2.0/ports/\(created)") } }
            if let given = args["port_id"]?.stringValue {
                await logger.bestEffort("releasing port \(given)") {
                    try await clients.network.send(.PUT, "/v2.0/ports/\(given)", body: ["port": ["device_id": "", "device_owner": "", "binding:host_id": ""]])
                }
            }
            await eventFinished("compute_attach_interface", action: "attach_interface", instance: uuid, error: "\(error)")
            return ["error": .string("\(error)")]
        }
    }

    func detachInterface(_ uuid: String, portID: String) async -> JSON {
        await eventStarted("compute_detach_interface", action: "detach_interface", instance: uuid)
        do {
            guard let instance = try await instances.get(uuid) else { throw DriverError("Instance \(uuid) is gone.") }
            try await driver.detachInterface(uuid, portID: portID)
            let given = instance.doc["given_ports"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if given.contains(portID) {
                _ = try await clients.network.send(.PUT, "/v2.0/ports/\(portID)", body: ["port": ["device_id": "", "device_owner": "", "binding:host_id": ""]])
            } else {
                _ = try await clients.network.send(.DELETE, "/v2.0/ports/\(portID)")
            }
            try await refreshPorts(uuid, given: [], adding: nil, removing: portID)
            await eventFinished("compute_detach_interface", action: "detach_interface", instance: uuid)
            return ["detached": true]
        } catch {
            await eventFinished("compute_detach_interface", action: "detach_interface", instance: uuid, error: "\(error)")
            return ["error": .string("\(error)")]
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
        let reply = try await clients.network.get("/v2.0/ports?device_id=\(uuid)")
        let ports = reply.body["ports"]?.arrayValue ?? []
        let addresses = try await addresses(of: ports)
        try await instances.update(uuid) { instance in
            var ids = instance.portIDs.filter { $0 != removing }
            if let adding, !ids.contains(adding) { ids.append(adding) }
            var givenPorts = (instance.doc["given_ports"]?.arrayValue?.compactMap(\.stringValue) ?? []).filter { $0 != removing }
            givenPorts += given.filter { !givenPorts.contains($0) }
            instance["ports"] = JSON(ids)
            instance["given_ports"] = JSON(givenPorts)
            instance["addresses"] = addresses
        }
    }
}
