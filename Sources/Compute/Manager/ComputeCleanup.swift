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
        do {
            let reply = try await clients.network.get("/v2.0/ports?device_id=\(uuid)&fields=id")
            for port in reply.body["ports"]?.arrayValue ?? [] {
                guard let id = port["id"]?.stringValue else { continue }
                if given.contains(id) {
                    _ = try await clients.network.send(.PUT, "/v2.0/ports/\(id)", body: [
                        "port": ["device_id": "", "device_owner": "", "binding:host_id": ""],
                    ])
                } else {
                    let deleted = try await clients.network.send(.DELETE, "/v2.0/ports/\(id)")
                    if !deleted.ok, deleted.status != 404 { logger.warning("port \(id) of \(uuid) not deleted: \(deleted.status)") }
                }
            }
        } catch {
            logger.warning("ports of \(uuid) not released: \(error)")
        }
    }

    func releaseAllocation(_ uuid: String) async {
        do {
            let reply = try await clients.placement.send(.DELETE, "/allocations/\(uuid)")
            if !reply.ok, reply.status != 404 { logger.warning("allocation of \(uuid) not released: \(reply.status)") }
        } catch {
            logger.warning("allocation of \(uuid) not released: \(error)")
        }
    }

    /// Releases everything and marks the row deleted.
    func finishDelete(_ uuid: String) async throws {
        let instance = try await instances.get(uuid)
        let given = instance?.doc["given_ports"]?.arrayValue?.compactMap(\.stringValue) ?? []
        await releasePorts(uuid, given: given)
        await releaseAllocation(uuid)
        // A server deleted mid-move also holds resources through its migration.
        if let migration = instance?.string("migration") { await releaseAllocation(migration) }
        if let image = instance?.string("shelved_image_id") { await logger.bestEffort("deleting image \(image)") { try await clients.image.send(.DELETE, "/v2/images/\(image)") } }
        try await instances.update(uuid) { instance in
            instance.vmState = .deleted
            instance.taskState = nil
            instance.powerState = .noState
            instance.deleted = true
            instance.deletedAt = Date()
        }
    }
}
