import Foundation
import Hummingbird
import StratusCore

extension ComputeAPI {
    /// `shelve`: a snapshot image of the server, then it is powered off and, with
    /// `shelved_offload_time` 0, offloaded: its host's resources are freed.
    func shelve(_ context: StratusContext, _ auth: AuthContext) async throws {
        let instance = try await server(context, auth, rule: "os_compute_api:os-shelve:shelve")
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        let allowed: Set<VMState> = [.active, .stopped, .paused, .suspended]
        guard allowed.contains(instance.vmState), instance.taskState == nil, let host = instance.host else {
            throw ComputeError.invalidState(instance, action: "shelve")
        }
        let imageID = instance.imageRef.isEmpty
            ? nil
            : try await createSnapshotImage(of: instance, name: "\(instance.name)-shelved", extra: ["image_type": "snapshot"], auth: auth)
        do {
            _ = try await db.transaction { db in
                guard var current = try await self.instances.getForUpdate(instance.uuid, in: db) else { throw ComputeError.instanceNotFound(instance.uuid) }
                guard allowed.contains(current.vmState), current.taskState == nil else { throw ComputeError.invalidState(current, action: "shelve") }
                current.taskState = .shelving
                current.shelvedImageID = imageID
                try await self.instances.save(current, in: db)
                return try await self.actions.start("shelve", instance: current.uuid, requestID: context.requestID, projectID: current.projectID, userID: auth.userID, in: db)
            }
        } catch {
            if let imageID { await logger.bestEffort("deleting image \(imageID)") { try await clients.image.deleteImage(imageID) } }
            throw error
        }
        try await bus.cast(
            ComputeRPC.shelve, to: host, ShelveArgs(instance: instance.uuid, image: imageID, offload: settings.shelvedOffloadTime == 0))
    }

    /// `shelveOffload` (admin): a shelved server gives up its host.
    func shelveOffload(_ context: StratusContext, _ auth: AuthContext) async throws {
        try await hostAction(context, auth, rule: "os_compute_api:os-shelve:shelve_offload", action: "shelveOffload", allowed: [.shelved],
            taskState: .shelvingOffloading, method: ComputeRPC.shelveOffload)
    }

    /// `unshelve`: back on its host, or (offloaded) scheduled again, from 2.77 into a given zone.
    func unshelve(_ context: StratusContext, _ auth: AuthContext, _ args: JSON) async throws {
        let instance = try await server(context, auth, rule: "os_compute_api:os-shelve:unshelve")
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        var zone: String?
        switch args {
        case .null: break
        case .object(let body) where context.version(atLeast: 2, 77):
            if let extra = body.keys.first(where: { $0 != "availability_zone" }) {
                throw APIError.badRequest("Invalid input for field/attribute unshelve. Additional properties are not allowed ('\(extra)' was unexpected)")
            }
            if let value = body["availability_zone"] {
                guard let text = value.stringValue, !text.isEmpty, text.count <= 255 else {
                    throw APIError.badRequest("Invalid input for field/attribute availability_zone. Value: \(value.serialized()). is not a valid zone")
                }
                guard try await ServiceRecords(db: db, settings: settings).zones().contains(text) else {
                    throw APIError.badRequest("The requested availability zone is not available")
                }
                zone = text
            }
        default:
            throw APIError.badRequest("Invalid input for field/attribute unshelve. Value: \(args.serialized()). \(args.serialized()) is not of type 'null'")
        }
        let requestedZone = zone
        let updated: Instance = try await db.transaction { db in
            guard var current = try await self.instances.getForUpdate(instance.uuid, in: db) else { throw ComputeError.instanceNotFound(instance.uuid) }
            guard [.shelved, .shelvedOffloaded].contains(current.vmState), current.taskState == nil else {
                throw ComputeError.invalidState(current, action: "unshelve")
            }
            if requestedZone != nil, current.vmState != .shelvedOffloaded {
                throw APIError.conflict("The unshelve action on a server with availability_zone is only valid when the server is shelved offloaded.")
            }
            if let requestedZone {
                current.requestedZone = requestedZone
                current.availabilityZone = requestedZone
            }
            current.taskState = .unshelving
            try await self.instances.save(current, in: db)
            try await self.actions.start("unshelve", instance: current.uuid, requestID: context.requestID, projectID: current.projectID, userID: auth.userID, in: db)
            return current
        }
        if let host = updated.host {
            try await bus.cast(ComputeRPC.unshelve, to: host, InstanceRef(updated.uuid))
        } else {
            try await bus.cast(ConductorRPC.unshelve, InstanceRef(updated.uuid))
        }
    }
}
