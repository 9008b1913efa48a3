import Foundation
import StratusCore
import Virt

/// The host side of resize and cold migration (Nova's prep/resize/finish and
/// confirm/revert). The source sends the guest away, the destination starts it with the
/// new flavor; confirming drops the source's allocation, reverting moves everything back.
extension ComputeManager {
    var migrations: MigrationStore { MigrationStore(db: db) }

    func addMoveHandlers(to rpc: inout RPCHandlers) {
        let steps: [(RPCMethod<MigrationRef, NoReply>, @Sendable (String, String) async -> Void)] = [
            (ComputeRPC.resize, sendAway), (ComputeRPC.finishResize, finishResize), (ComputeRPC.confirmResize, confirmResize),
            (ComputeRPC.revertResize, revertResize), (ComputeRPC.finishRevertResize, finishRevert),
            (ComputeRPC.liveMigration, liveMigrate), (ComputeRPC.postLiveMigration, finishLiveMigration),
            (ComputeRPC.evacuate, finishLiveMigration),
            // The fake and QEMU drivers move a guest in one step: nothing is left to force or abort.
            (ComputeRPC.liveMigrationForceComplete, { _, _ in }), (ComputeRPC.liveMigrationAbort, { _, _ in }),
        ]
        for (method, step) in steps {
            rpc.on(method) { args in
                await step(args.instance, args.migration)
                return NoReply()
            }
        }
    }

    private func action(of migration: MigrationRecord?) -> String { migration?.type == "resize" ? "resize" : "migrate" }

    /// Source: power the guest off and hand its disk to the destination.
    private func sendAway(_ uuid: String, _ migrationUUID: String) async {
        let migration = await logger.bestEffort("reading migration \(migrationUUID)") {
            try await migrations.get(migrationUUID)
        }
        let action = action(of: migration)
        await eventStarted("compute_resize_instance", action: action, instance: uuid)
        do {
            guard let migration, let dest = migration.destCompute else {
                throw DriverError("migration \(migrationUUID) has no destination")
            }
            try await setMoveTask(uuid, .resizeMigrating)
            try await driver.migrate(uuid, toHost: dest)
            try await setMoveTask(uuid, .resizeMigrated)
            try await migrations.update(migrationUUID) { $0.status = "post-migrating" }
            await eventFinished("compute_resize_instance", action: action, instance: uuid)
            try await bus.cast(
                ComputeRPC.finishResize, to: dest, MigrationRef(instance: uuid, migration: migrationUUID))
        } catch {
            await failMove(uuid, migrationUUID, event: "compute_resize_instance", action: action, error: error)
        }
    }

    /// Destination: ports bound here, the guest started with the new flavor, VERIFY_RESIZE.
    private func finishResize(_ uuid: String, _ migrationUUID: String) async {
        let migration = await logger.bestEffort("reading migration \(migrationUUID)") {
            try await migrations.get(migrationUUID)
        }
        let action = action(of: migration)
        await eventStarted("compute_finish_resize", action: action, instance: uuid)
        do {
            try await setMoveTask(uuid, .resizeFinish)
            guard let instance = try await instances.get(uuid) else { return }
            let flavor = instance.newFlavor ?? instance.flavor
            let ports = try await bindPorts(instance, to: host)
            let imagePath = instance.imageRef.isEmpty ? nil : try await cache.fetch(instance.imageRef)
            let wasStopped = instance.vmState == .stopped
            try await driver.spawn(try await guestSpec(instance, flavor: flavor, imagePath: imagePath, ports: ports))
            if wasStopped { try await driver.powerOff(uuid) }
            let node = migration?.destNode ?? host
            let here = host
            try await instances.update(uuid) { instance in
                instance.oldFlavor = instance.flavor
                instance.oldVMState = instance.vmState.rawValue
                instance.apply(flavor: flavor)
                instance.host = here
                instance.node = node
                instance.vmState = .resized
                instance.powerState = wasStopped ? .shutdown : .running
                instance.taskState = nil
            }
            try await migrations.update(migrationUUID) { $0.status = "finished" }
            await eventFinished("compute_finish_resize", action: action, instance: uuid)
        } catch {
            await failMove(uuid, migrationUUID, event: "compute_finish_resize", action: action, error: error)
        }
    }

    /// After a restart: a move cut off before it finished is given up. The server stays here
    /// with its flavor; if the migration already held the source allocation, the claim on the
    /// destination goes and the source allocation comes back to the server.
    func abandonInterruptedMove(_ instance: Instance) async {
        guard let migrationUUID = instance.migration, instance.vmState != .resized else { return }
        let found = await logger.bestEffort("reading migration \(migrationUUID)") {
            try await migrations.get(migrationUUID)
        }
        guard let migration = found, migration.inProgress else { return }
        logger.warning("giving up the \(migration.type) of \(instance.uuid) cut off by a restart")
        let held = await logger.bestEffort("reading the allocations of \(migrationUUID)") {
            try await clients.placement.allocations(of: migrationUUID)
        }
        if let held, !held.isEmpty {
            await logger.bestEffort("releasing the allocations of \(instance.uuid)") {
                try await clients.placement.deleteAllocations(of: instance.uuid)
            }
            await logger.bestEffort("moving the allocations of \(migrationUUID) to \(instance.uuid)") {
                try await clients.placement.moveAllocations(
                    from: migrationUUID, to: instance.uuid, project: instance.projectID, user: instance.userID)
            }
        }
        await logger.bestEffort("marking migration \(migrationUUID) failed") {
            try await migrations.update(migrationUUID) { $0.status = "error" }
        }
        await logger.bestEffort("updating instance \(instance.uuid)") {
            try await instances.update(instance.uuid) { instance in
                instance.migration = nil
                instance.newFlavor = nil
                instance.rebuildFromState = nil
            }
        }
    }

    /// Confirms a finished resize as `confirmResize` would (the resize confirm window).
    func startConfirm(_ uuid: String, migrationUUID: String) async throws {
        let store = migrations
        let migration: MigrationRecord? = try await db.transaction { db in
            guard var migration = try await store.get(migrationUUID, in: db), migration.status == "finished",
                let instance = try await instances.getForUpdate(uuid, in: db), instance.vmState == .resized, instance.taskState == nil
            else { return nil }
            migration.status = "confirming"
            try await store.save(migration, in: db)
            _ = try await actions.start("confirmResize", instance: uuid, requestID: "req-" + UUID().uuidString.lowercased(),
                projectID: instance.projectID, userID: instance.userID, in: db)
            return migration
        }
        guard let migration, let source = migration.sourceCompute else { return }
        try await bus.cast(ComputeRPC.confirmResize, to: source, MigrationRef(instance: uuid, migration: migrationUUID))
    }

    /// Source: forget the guest here and give back the source allocation.
    private func confirmResize(_ uuid: String, _ migrationUUID: String) async {
        await eventStarted("compute_confirm_resize", action: "confirmResize", instance: uuid)
        do {
            let migration = try await migrations.get(migrationUUID)
            if let dest = migration?.destCompute, dest != host { try await driver.destroy(uuid) }
            try await clients.placement.deleteAllocations(of: migrationUUID)
            try await instances.update(uuid) { instance in
                instance.vmState = instance.oldVMState == "stopped" ? .stopped : .active
                instance.taskState = nil
                instance.clearMove()
            }
            try await migrations.update(migrationUUID) { $0.status = "confirmed" }
            await eventFinished("compute_confirm_resize", action: "confirmResize", instance: uuid)
        } catch {
            logger.error("confirming the resize of \(uuid) failed: \(error)")
            await logger.bestEffort("marking migration \(migrationUUID) failed") {
                try await migrations.update(migrationUUID) { $0.status = "error" }
            }
            await logger.bestEffort("updating instance \(uuid)") {
                try await instances.update(uuid) { $0.vmState = .error }
            }
            await eventFinished("compute_confirm_resize", action: "confirmResize", instance: uuid, error: "\(error)")
        }
    }

    /// Destination: drop the guest here, then the source takes it back.
    private func revertResize(_ uuid: String, _ migrationUUID: String) async {
        await eventStarted("compute_revert_resize", action: "revertResize", instance: uuid)
        do {
            guard let migration = try await migrations.get(migrationUUID), let source = migration.sourceCompute else {
                throw DriverError("migration \(migrationUUID) has no source")
            }
            try await driver.destroy(uuid)
            await eventFinished("compute_revert_resize", action: "revertResize", instance: uuid)
            try await bus.cast(
                ComputeRPC.finishRevertResize, to: source, MigrationRef(instance: uuid, migration: migrationUUID))
        } catch {
            await failMove(uuid, migrationUUID, event: "compute_revert_resize", action: "revertResize", error: error)
        }
    }

    /// Source: the old flavor, the ports and the allocation back, the guest started here.
    private func finishRevert(_ uuid: String, _ migrationUUID: String) async {
        await eventStarted("compute_finish_revert_resize", action: "revertResize", instance: uuid)
        do {
            guard let instance = try await instances.get(uuid) else { return }
            let flavor = instance.oldFlavor ?? instance.flavor
            try await clients.placement.moveAllocations(
                from: migrationUUID, to: uuid, project: instance.projectID, user: instance.userID)
            let ports = try await bindPorts(instance, to: host)
            let imagePath = instance.imageRef.isEmpty ? nil : try await cache.fetch(instance.imageRef)
            try await driver.spawn(try await guestSpec(instance, flavor: flavor, imagePath: imagePath, ports: ports))
            let wasStopped = instance.oldVMState == "stopped"
            if wasStopped { try await driver.powerOff(uuid) }
            let migration = try await migrations.get(migrationUUID)
            let here = host
            try await instances.update(uuid) { instance in
                instance.apply(flavor: flavor)
                instance.host = here
                instance.node = migration?.sourceNode ?? here
                instance.vmState = wasStopped ? .stopped : .active
                instance.powerState = wasStopped ? .shutdown : .running
                instance.taskState = nil
                instance.clearMove()
            }
            try await migrations.update(migrationUUID) { $0.status = "reverted" }
            await eventFinished("compute_finish_revert_resize", action: "revertResize", instance: uuid)
        } catch {
            await failMove(
                uuid, migrationUUID, event: "compute_finish_revert_resize", action: "revertResize", error: error)
        }
    }

    /// Source: the guest leaves for the destination, which takes over.
    private func liveMigrate(_ uuid: String, _ migrationUUID: String) async {
        await eventStarted("compute_live_migration", action: "live-migration", instance: uuid)
        do {
            guard let migration = try await migrations.get(migrationUUID), let dest = migration.destCompute else {
                throw DriverError("migration \(migrationUUID) has no destination")
            }
            try await driver.migrate(uuid, toHost: dest)
            await eventFinished("compute_live_migration", action: "live-migration", instance: uuid)
            try await bus.cast(
                ComputeRPC.postLiveMigration, to: dest, MigrationRef(instance: uuid, migration: migrationUUID))
        } catch {
            await failMove(uuid, migrationUUID, event: "compute_live_migration", action: "live-migration", error: error)
        }
    }

    /// Destination of a live migration or an evacuation: ports bound here, the guest running
    /// (or paused, or stopped) here, the source's allocation freed.
    private func finishLiveMigration(_ uuid: String, _ migrationUUID: String) async {
        let migration = await logger.bestEffort("reading migration \(migrationUUID)") {
            try await migrations.get(migrationUUID)
        }
        let evacuating = migration?.type == "evacuation"
        let (action, event) = evacuating ? ("evacuate", "compute_rebuild_instance") : ("live-migration", "compute_post_live_migration_at_destination")
        await eventStarted(event, action: action, instance: uuid)
        do {
            guard let instance = try await instances.get(uuid) else { return }
            let stopped = evacuating && instance.rebuildFromState == "stopped"
            let ports = try await bindPorts(instance, to: host)
            let imagePath = instance.imageRef.isEmpty ? nil : try await cache.fetch(instance.imageRef)
            try await driver.spawn(
                try await guestSpec(instance, flavor: instance.flavor, imagePath: imagePath, ports: ports))
            if instance.vmState == .paused { try await driver.pause(uuid) }
            if stopped { try await driver.powerOff(uuid) }
            try await clients.placement.deleteAllocations(of: migrationUUID)
            let migration = try await migrations.get(migrationUUID)
            let here = host
            try await instances.update(uuid) { instance in
                instance.host = here
                instance.node = migration?.destNode ?? here
                instance.taskState = nil
                instance.migration = nil
                if evacuating {
                    instance.vmState = stopped ? .stopped : .active
                    instance.powerState = stopped ? .shutdown : .running
                    instance.rebuildFromState = nil
                }
            }
            try await migrations.update(migrationUUID) { $0.status = evacuating ? "done" : "completed" }
            await eventFinished(event, action: action, instance: uuid)
        } catch {
            await failMove(uuid, migrationUUID, event: event, action: action, error: error)
        }
    }

    /// Points the server's ports at `host` (Neutron rebinds them there).
    func bindPorts(_ instance: Instance, to host: String) async throws -> [GuestPort] {
        var ports: [GuestPort] = []
        for id in instance.portIDs {
            do {
                ports.append(GuestPort(try await clients.network.updatePort(id, .host(host))))
            } catch let fault as ServiceFault {
                throw DriverError("Binding port \(id) to \(host) failed: \(fault.message)")
            }
        }
        return ports
    }

    func setMoveTask(_ uuid: String, _ task: TaskState) async throws {
        let updated = try await instances.update(uuid) { instance in
            if instance.taskState != .deleting { instance.taskState = task }
        }
        guard let updated, updated.taskState == task else {
            throw DriverError("The server was deleted during its move.")
        }
    }

    /// A move that broke half-way leaves the server in ERROR with a fault, as Nova does.
    private func failMove(_ uuid: String, _ migrationUUID: String, event: String, action: String, error: any Error) async {
        await logger.bestEffort("marking migration \(migrationUUID) failed") {
            try await migrations.update(migrationUUID) { $0.status = "error" }
        }
        await fail(uuid, event: event, action: action, error: error)
    }

    /// An operation that broke half-way: ERROR with a fault, the action event failed.
    func fail(_ uuid: String, event: String, action: String, error: any Error) async {
        logger.error("\(action) of \(uuid) failed on \(host): \(error)")
        let fault: JSON = ["code": 500, "created": .string(Timestamp.iso8601(Date())), "message": .string("\(error)"), "details": .string("\(error)")]
        await logger.bestEffort("updating instance \(uuid)") {
            try await instances.update(uuid) { instance in
                guard instance.taskState != .deleting else { return }
                instance.vmState = .error
                instance.taskState = nil
                instance.fault = fault
            }
        }
        await eventFinished(event, action: action, instance: uuid, error: "\(error)")
    }
}
