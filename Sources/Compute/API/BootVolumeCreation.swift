import Foundation
import StratusCore

/// The volumes of a server created as its user, as Nova's do: before the build is cast, each
/// `block_device_mapping_v2` volume item becomes a mapping, and the volumes made from an
/// image, a snapshot or nothing are created with the caller's token, so they belong to the
/// server's project. The host then waits for them to be `available` and attaches them.
extension ComputeAPI {
    /// The servers whose volumes are mapped. One whose volume Cinder refused goes to ERROR
    /// with a fault, its delete-on-termination volumes deleted, and is not built.
    func mapBuildVolumes(_ servers: [Instance], auth: AuthContext) async -> [Instance] {
        guard let cinder = clients.volume else { return servers }  // the host fails the build
        var failed: Set<String> = []
        for server in servers where !server.volumeRequests.isEmpty {
            var created: [VolumeMapping] = []
            do {
                try await mapVolumes(of: server, cinder: cinder, token: auth.token) { created.append($0) }
            } catch {
                failed.insert(server.uuid)
                await failVolumeCreation(server, created: created, cinder: cinder, error: error)
            }
        }
        return servers.filter { !failed.contains($0.uuid) }
    }

    /// Each mapping stored as soon as its volume exists, so a delete of the server finds it.
    private func mapVolumes(
        of server: Instance, cinder: any VolumeClient, token: String,
        created: (VolumeMapping) -> Void
    ) async throws {
        var current = server
        for request in server.volumeRequests {
            var volumeID = request.uuid ?? ""
            if let wanted = request.volumeToCreate(zone: server.availabilityZone) {
                volumeID = try await cinder.createVolume(wanted, token: token).id
            }
            let mapping = current.mapping(for: request, volumeID: volumeID)
            if request.source != .volume { created(mapping) }
            guard let updated = try await instances.update(server.uuid, { $0.volumes.append(mapping) }) else {
                throw APIError.notFound("Instance \(server.uuid) could not be found.")
            }
            current = updated
        }
    }

    /// Nova's `BuildAbortException`: the server in ERROR with the refusal as its fault; the
    /// mappings stay until its delete, which finds deleted volumes gone.
    private func failVolumeCreation(
        _ server: Instance, created: [VolumeMapping], cinder: any VolumeClient, error: any Error
    ) async {
        let uuid = server.uuid
        let reason = (error as? ServiceFault)?.message ?? "\(error)"
        let message = "Build of instance \(uuid) aborted: \(reason)"
        logger.warning("\(message)")
        for volume in created.filter(\.deleteOnTermination).map(\.volumeID) {
            await logger.bestEffort("deleting volume \(volume) of \(uuid)") { try await cinder.deleteVolume(volume) }
        }
        let fault: JSON = ["code": 500, "message": .string(message), "created": .string(Timestamp.iso8601(Date()))]
        await logger.bestEffort("failing the build of \(uuid)") {
            try await instances.update(uuid) { instance in
                instance.vmState = .error
                instance.taskState = nil
                instance.fault = fault
            }
            try await actions.startEvent("compute_build_and_run_instance", action: "create", instance: uuid, host: nil)
            try await actions.finishEvent(
                "compute_build_and_run_instance", action: "create", instance: uuid, error: message)
        }
    }
}
