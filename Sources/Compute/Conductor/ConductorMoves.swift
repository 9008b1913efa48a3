import Foundation
import StratusCore

extension Conductor {
    /// Resize or cold migration: the source allocation goes to the migration, the scheduler
    /// claims the new flavor on the destination for the server, the source host starts.
    func migrate(_ uuid: String, migrationUUID: String, host forcedHost: String?) async {
        let migrations = MigrationStore(db: instances.db)
        let migration = await logger.bestEffort("reading migration \(migrationUUID)") {
            try await migrations.get(migrationUUID)
        }
        let action = migration?.type == "resize" ? "resize" : "migrate"
        do {
            guard let instance = try await instances.get(uuid), let source = instance.host, instance.taskState == .resizePrep else { return }
            try await actions.startEvent("conductor_migrate_server", action: action, instance: uuid, host: nil)
            try await clients.placement.moveAllocations(
                from: uuid, to: migrationUUID, project: instance.projectID, user: instance.userID)
            let sameHostAllowed = action == "resize" && settings.allowResizeToSameHost
            let reply: Destination
            do {
                let request = DestinationRequest(
                    instance: uuid, excludedHosts: sameHostAllowed ? [] : [source], flavor: instance.newFlavor?.objectValue,
                    forcedHost: forcedHost)
                reply = try await bus.call(SchedulerRPC.selectDestinations, request, timeout: .seconds(120))
            } catch {
                await logger.bestEffort("moving the allocations of \(migrationUUID) to \(uuid)") {
                    try await clients.placement.moveAllocations(
                        from: migrationUUID, to: uuid, project: instance.projectID, user: instance.userID)
                }
                try await abandon(uuid, migrationUUID, action: action, event: "conductor_migrate_server", message: "No valid host was found. \(Self.reason(error))")
                return
            }
            // Deleted while the scheduler claimed: give both allocations back, the delete has run.
            guard let fresh = try await instances.get(uuid), !fresh.deleted, fresh.taskState == .resizePrep else {
                await logger.bestEffort("releasing the allocations of \(uuid)") {
                    try await clients.placement.deleteAllocations(of: uuid)
                }
                await logger.bestEffort("releasing the allocations of \(migrationUUID)") {
                    try await clients.placement.deleteAllocations(of: migrationUUID)
                }
                try await migrations.update(migrationUUID) { $0.status = "error" }
                return
            }
            let dest = reply.host
            try await migrations.update(migrationUUID) { migration in
                migration.destCompute = dest
                migration.destNode = reply.node
                migration.status = "migrating"
            }
            try await actions.finishEvent("conductor_migrate_server", action: action, instance: uuid)
            try await bus.cast(ComputeRPC.resize, to: source, MigrationRef(instance: uuid, migration: migrationUUID))
        } catch {
            logger.error("migration of \(uuid) failed: \(error)")
            await logger.bestEffort("giving up migration \(migrationUUID) of \(uuid)") {
                try await abandon(
                    uuid, migrationUUID, action: action, event: "conductor_migrate_server", message: "\(error)")
            }
        }
    }

    /// Live migration: the source allocation goes to the migration, the destination is
    /// claimed for the server (checked by the filters even when named), the source sends it.
    func liveMigrate(_ uuid: String, migrationUUID: String, host forcedHost: String?) async {
        let migrations = MigrationStore(db: instances.db)
        do {
            guard let instance = try await instances.get(uuid), let source = instance.host, [.migrating, .rebuilding].contains(instance.taskState),
                let migration = try await migrations.get(migrationUUID)
            else { return }
            // An evacuation goes the same way, but the destination rebuilds the server: its source is down.
            let evacuating = migration.type == "evacuation"
            let action = evacuating ? "evacuate" : "live-migration"
            let event = evacuating ? "conductor_rebuild_server" : "conductor_live_migrate_instance"
            try await actions.startEvent(event, action: action, instance: uuid, host: nil)
            try await migrations.update(migrationUUID) { $0.status = "preparing" }
            try await clients.placement.moveAllocations(
                from: uuid, to: migrationUUID, project: instance.projectID, user: instance.userID)
            let reply: Destination
            do {
                let request = DestinationRequest(instance: uuid, excludedHosts: [source], forcedHost: forcedHost)
                reply = try await bus.call(SchedulerRPC.selectDestinations, request, timeout: .seconds(120))
            } catch {
                await logger.bestEffort("moving the allocations of \(migrationUUID) to \(uuid)") {
                    try await clients.placement.moveAllocations(
                        from: migrationUUID, to: uuid, project: instance.projectID, user: instance.userID)
                }
                try await abandon(uuid, migrationUUID, action: action, event: event, message: "No valid host was found. \(Self.reason(error))")
                return
            }
            let dest = reply.host
            try await migrations.update(migrationUUID) { migration in
                migration.destCompute = dest
                migration.destNode = reply.node
                migration.status = evacuating ? "pre-migrating" : "running"
            }
            try await actions.finishEvent(event, action: action, instance: uuid)
            let step = evacuating ? ComputeRPC.evacuate : ComputeRPC.liveMigration
            try await bus.cast(
                step, to: evacuating ? dest : source, MigrationRef(instance: uuid, migration: migrationUUID))
        } catch {
            logger.error("live migration of \(uuid) failed: \(error)")
            await logger.bestEffort("giving up migration \(migrationUUID) of \(uuid)") {
                try await abandon(uuid, migrationUUID, action: "live-migration", event: "conductor_live_migrate_instance", message: "\(error)")
            }
        }
    }

    /// An offloaded server scheduled again (into its requested zone), then started there.
    func unshelve(_ uuid: String) async {
        do {
            guard let instance = try await instances.get(uuid), instance.vmState == .shelvedOffloaded, instance.taskState == .unshelving else { return }
            try await actions.startEvent("conductor_unshelve_instance", action: "unshelve", instance: uuid, host: nil)
            let reply: Destination
            do {
                reply = try await bus.call(
                    SchedulerRPC.selectDestinations, DestinationRequest(instance: uuid, excludedHosts: []), timeout: .seconds(120))
            } catch {
                try await instances.update(uuid) { $0.taskState = nil }
                try await actions.finishEvent("conductor_unshelve_instance", action: "unshelve", instance: uuid, error: "No valid host was found. \(Self.reason(error))")
                return
            }
            let host = reply.host
            try await instances.update(uuid) { instance in
                instance.host = host
                instance.node = reply.node
                if instance.requestedZone == nil { instance.availabilityZone = reply.zone }
            }
            try await actions.finishEvent("conductor_unshelve_instance", action: "unshelve", instance: uuid)
            try await bus.cast(ComputeRPC.unshelve, to: host, InstanceRef(uuid))
        } catch {
            logger.error("unshelving \(uuid) failed: \(error)")
            await logger.bestEffort("updating instance \(uuid)") {
                try await instances.update(uuid) { $0.taskState = nil }
            }
        }
    }

    /// A move that never left its host: the server stays as it was, the migration errs.
    private func abandon(_ uuid: String, _ migrationUUID: String, action: String, event: String, message: String) async throws {
        try await MigrationStore(db: instances.db).update(migrationUUID) { $0.status = "error" }
        try await instances.update(uuid) { instance in
            instance.taskState = nil
            instance.newFlavor = nil
            instance.migration = nil
        }
        try await actions.finishEvent(event, action: action, instance: uuid, error: message)
    }
}
