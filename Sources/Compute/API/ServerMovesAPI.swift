import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ComputeAPI {
    /// `resize` and cold `migrate`: a migration record, the task state, then the conductor
    /// moves the allocation to the migration and schedules the new host.
    func startMove(_ context: StratusContext, _ auth: AuthContext, resizeTo flavorRef: JSON?, targetHost: String?, diskConfig: JSON?) async throws {
        let resizing = flavorRef != nil
        let instance = try await server(context, auth, rule: resizing ? "os_compute_api:servers:resize" : "os_compute_api:os-migrate-server:migrate")
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        var flavor: Flavor?
        if let flavorRef {
            let id: String
            switch flavorRef {
            case .string(let text) where !text.isEmpty: id = text.split(separator: "/").last.map(String.init) ?? text
            case .int(let number): id = String(number)
            default:
                throw APIError.badRequest("Invalid input for field/attribute flavorRef. Value: \(flavorRef.serialized()). \(flavorRef.serialized()) is not of type 'string', 'integer'")
            }
            guard let found = try await findFlavor(id, auth) else { throw APIError.badRequest("Unable to find flavor \(id)") }
            guard found.id != instance.flavorID else { throw APIError.badRequest("When resizing, instances must change flavor!") }
            if found.rootGB < instance.rootGB, !instance.imageRef.isEmpty {
                throw APIError.badRequest("Resize error: Unable to resize disk down.")
            }
            flavor = found
            let limits = try await effectiveLimits(project: instance.projectID, user: nil)
            let used = try await usage(project: instance.projectID, user: instance.userID)
            for (resource, delta) in [("cores", found.vcpus - instance.vcpus), ("ram", found.memoryMB - instance.memoryMB)] where delta > 0 {
                guard let limit = limits[resource], limit >= 0, (used[resource] ?? 0) + delta > limit else { continue }
                throw APIError.forbidden("Quota exceeded for \(resource): Requested \(delta), but already used \(used[resource] ?? 0) of \(limit) \(resource)")
            }
        }
        if let targetHost {
            let known = try await ServiceRecords(db: db, settings: settings).all().contains { $0.host == targetHost && $0.binary == "nova-compute" }
            guard known else { throw APIError.badRequest("Compute host \(targetHost) could not be found.") }
        }
        let action = resizing ? "resize" : "migrate"
        let newFlavor = flavor
        let migration: MigrationRecord = try await db.transaction { db in
            guard var current = try await self.instances.getForUpdate(instance.uuid, in: db) else { throw ComputeError.instanceNotFound(instance.uuid) }
            guard [.active, .stopped].contains(current.vmState), current.taskState == nil, current.host != nil else {
                throw ComputeError.invalidState(current, action: action)
            }
            let record = try await MigrationStore(db: self.db).insert(
                MigrationRecord(instance: current, type: resizing ? "resize" : "migration", newFlavorID: newFlavor?.id ?? current.flavorID, by: auth),
                in: db)
            current.taskState = .resizePrep
            if let disk = diskConfig?.stringValue { current.diskConfig = disk }
            current.newFlavor = newFlavor?.snapshot ?? current.flavor
            current.migration = record.uuid
            try await self.instances.save(current, in: db)
            _ = try await self.actions.start(action, instance: current.uuid, requestID: context.requestID, projectID: current.projectID, userID: auth.userID, in: db)
            return record
        }
        try await bus.cast(ConductorRPC.migrate, MoveArgs(instance: instance.uuid, migration: migration.uuid, host: targetHost))
    }

    /// `confirmResize` / `revertResize`: only from VERIFY_RESIZE, on the finished migration.
    func finishMove(_ context: StratusContext, _ auth: AuthContext, confirm: Bool) async throws {
        let instance = try await server(context, auth, rule: confirm ? "os_compute_api:servers:confirm_resize" : "os_compute_api:servers:revert_resize")
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        let action = confirm ? "confirmResize" : "revertResize"
        let migrations = MigrationStore(db: db)
        let (migration, host): (MigrationRecord, String) = try await db.transaction { db in
            guard var current = try await self.instances.getForUpdate(instance.uuid, in: db) else { throw ComputeError.instanceNotFound(instance.uuid) }
            guard current.vmState == .resized, current.taskState == nil else {
                throw ComputeError.invalidState(current, action: action)
            }
            guard var migration = try await migrations.current(of: current.uuid, in: db), migration.status == "finished" else {
                throw APIError.badRequest("Instance has not been resized.")
            }
            migration.status = confirm ? "confirming" : "reverting"
            try await migrations.save(migration, in: db)
            if !confirm {
                current.taskState = .resizeReverting
                try await self.instances.save(current, in: db)
            }
            _ = try await self.actions.start(confirm ? "confirmResize" : "revertResize", instance: current.uuid, requestID: context.requestID,
                projectID: current.projectID, userID: auth.userID, in: db)
            let host = confirm ? migration.sourceCompute : migration.destCompute
            return (migration, host ?? current.host ?? "")
        }
        try await bus.cast(
            confirm ? ComputeRPC.confirmResize : ComputeRPC.revertResize, to: host,
            MigrationRef(instance: instance.uuid, migration: migration.uuid))
    }
}

extension ComputeAPI {
    /// `os-migrateLive` (admin): the running (or paused) server moves to `host`, or to one
    /// the scheduler picks, without stopping.
    func startLiveMigration(_ context: StratusContext, _ auth: AuthContext, _ args: JSON) async throws {
        let instance = try await server(context, auth, rule: "os_compute_api:os-migrate-server:migrate_live")
        guard case .object(let body) = args else { throw APIError.badRequest("Invalid input for field/attribute os-migrateLive. Value: \(args.serialized()). is not of type 'object'") }
        guard body.keys.contains("host") else { throw APIError.badRequest("Invalid input for field/attribute os-migrateLive. 'host' is a required property") }
        guard body.keys.contains("block_migration") else {
            throw APIError.badRequest("Invalid input for field/attribute os-migrateLive. 'block_migration' is a required property")
        }
        if let block = body["block_migration"], block.boolValue == nil, !(context.version(atLeast: 2, 25) && block.stringValue == "auto") {
            throw APIError.badRequest("Invalid input for field/attribute block_migration. Value: \(block.serialized()). is not a valid boolean")
        }
        let targetHost = body["host"]?.stringValue
        if let targetHost {
            let known = try await ServiceRecords(db: db, settings: settings).all().contains { $0.host == targetHost && $0.binary == "nova-compute" }
            guard known else { throw APIError.badRequest("Compute host \(targetHost) could not be found.") }
            if targetHost == instance.host { throw APIError.badRequest("The supplied hypervisor \(targetHost) is the same as the source of instance \(instance.uuid).") }
        }
        let migration: MigrationRecord = try await db.transaction { db in
            guard var current = try await self.instances.getForUpdate(instance.uuid, in: db) else { throw ComputeError.instanceNotFound(instance.uuid) }
            guard [.active, .paused].contains(current.vmState), current.taskState == nil, current.host != nil else {
                throw ComputeError.invalidState(current, action: "os-migrateLive")
            }
            var record = MigrationRecord(instance: current, type: "live-migration", newFlavorID: current.flavorID, by: auth)
            record.status = "queued"
            record = try await MigrationStore(db: self.db).insert(record, in: db)
            current.taskState = .migrating
            current.migration = record.uuid
            try await self.instances.save(current, in: db)
            _ = try await self.actions.start("live-migration", instance: current.uuid, requestID: context.requestID, projectID: current.projectID, userID: auth.userID, in: db)
            return record
        }
        try await bus.cast(ConductorRPC.liveMigrate, MoveArgs(instance: instance.uuid, migration: migration.uuid, host: targetHost))
    }
}

extension ComputeAPI {
    /// `evacuate` (admin): a server whose host's compute service is down is rebuilt on another host.
    func evacuate(_ context: StratusContext, _ auth: AuthContext, _ args: JSON) async throws -> Response {
        let instance = try await server(context, auth, rule: "os_compute_api:os-evacuate")
        let targetHost = args["host"]?.stringValue
        if let pass = args["adminPass"], pass.stringValue == nil {
            throw APIError.badRequest("Invalid input for field/attribute adminPass. Value: \(pass.serialized()). is not of type 'string'")
        }
        let services = try await ServiceRecords(db: db, settings: settings).all().filter { $0.binary == "nova-compute" }
        if let targetHost {
            guard services.contains(where: { $0.host == targetHost }) else { throw APIError.notFound("Compute host \(targetHost) could not be found.") }
            if targetHost == instance.host { throw APIError.badRequest("The target host can't be the same one.") }
        }
        guard let source = instance.host else { throw ComputeError.invalidState(instance, action: "evacuate") }
        if let service = services.first(where: { $0.host == source }), service.isUp(downTime: settings.serviceDownTime) {
            throw APIError.badRequest("Compute service of \(source) is still in use.")
        }
        let password = args["adminPass"]?.stringValue ?? Self.generatePassword()
        let migration: MigrationRecord = try await db.transaction { db in
            guard var current = try await self.instances.getForUpdate(instance.uuid, in: db) else { throw ComputeError.instanceNotFound(instance.uuid) }
            guard [.active, .stopped, .error].contains(current.vmState), current.taskState == nil else {
                throw ComputeError.invalidState(current, action: "evacuate")
            }
            var record = MigrationRecord(instance: current, type: "evacuation", newFlavorID: current.flavorID, by: auth)
            record.status = "accepted"
            record = try await MigrationStore(db: self.db).insert(record, in: db)
            current.taskState = .rebuilding
            current.migration = record.uuid
            current.rebuildFromState = current.vmState == .stopped ? "stopped" : "active"
            try await self.instances.save(current, in: db)
            _ = try await self.actions.start("evacuate", instance: current.uuid, requestID: context.requestID, projectID: current.projectID, userID: auth.userID, in: db)
            return record
        }
        try await bus.cast(ConductorRPC.evacuate, MoveArgs(instance: instance.uuid, migration: migration.uuid, host: targetHost))
        if !context.version(atLeast: 2, 14), settings.returnGeneratedPassword { return .json(["adminPass": .string(password)]) }
        return .json([:])
    }
}
