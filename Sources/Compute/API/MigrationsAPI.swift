import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `os-migrations` (every move, admin) and `/servers/{id}/migrations` (a server's live
/// migrations in progress, with `force_complete` and abort).
extension ComputeAPI {
    var migrations: MigrationStore { MigrationStore(db: db) }

    func registerMigrations(on router: RouterGroup<StratusContext>) {
        router.get("/os-migrations") { request, context -> Response in
            try self.enforce("os_compute_api:os-migrations:index", try self.caller(context))
            var filters = [("host", "source_compute"), ("status", "status"), ("instance_uuid", "instance_uuid"),
                           ("migration_type", "migration_type"), ("source_compute", "source_compute")]
            if context.version(atLeast: 2, 80) { filters += [("user_id", "user_id"), ("project_id", "project_id")] }
            if context.version(atLeast: 2, 59) {
                try request.rejectUnknownQuery(Set(filters.map(\.0) + ["limit", "marker", "changes-since"] + (context.version(atLeast: 2, 66) ? ["changes-before"] : [])))
            }
            var conditions: [SQLQueryString] = ["1 = 1"]
            for (parameter, column) in filters {
                guard let value = request.query(parameter) else { continue }
                if parameter == "host" {
                    conditions.append("(source_compute = \(bind: value) OR dest_compute = \(bind: value))")
                } else {
                    conditions.append("\(ident: column) = \(bind: value)")
                }
            }
            for (parameter, comparison, version) in [("changes-since", ">=", 59), ("changes-before", "<=", 66)] {
                guard context.version(atLeast: 2, version), let date = try request.dateQuery(parameter) else { continue }
                conditions.append("updated_at \(unsafeRaw: comparison) \(bind: date.timeIntervalSince1970)")
            }
            let filter = conditions.dropFirst().reduce(conditions[0]) { $0 + " AND " + $1 }
            var list = try await self.db.read { db in try await self.migrations.select(where: filter + " ORDER BY created_at DESC, id DESC", in: db) }
            var body: [String: JSON] = [:]
            if context.version(atLeast: 2, 59) {
                if let marker = request.query("marker") {
                    guard let index = list.firstIndex(where: { $0.uuid == marker }) else { throw APIError.badRequest("Marker \(marker) could not be found.") }
                    list = Array(list[(index + 1)...])
                }
                let limit = min(try request.intQuery("limit") ?? self.settings.maxLimit, self.settings.maxLimit)
                if list.count > limit { list = Array(list.prefix(limit)) }
                if list.count == limit, let last = list.last {
                    body["migrations_links"] = [["rel": "next", "href": .string(Self.nextLink(request, marker: last.uuid, limit: limit))]]
                }
            }
            body["migrations"] = .array(list.map { Self.migrationView($0, request: request, context: context) })
            return .json(.object(body))
        }
        router.get("/servers/:id/migrations") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:servers:migrations:index")
            let list = try await self.db.read { db in
                try await self.migrations.select(where: "instance_uuid = \(bind: instance.uuid) AND migration_type = 'live-migration' ORDER BY id", in: db)
            }
            return .json(["migrations": .array(list.filter(\.inProgress).map { Self.serverMigrationView($0, context: context) })])
        }
        router.get("/servers/:id/migrations/:migration") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:servers:migrations:show")
            let migration = try await self.liveMigration(context, instance)
            return .json(["migration": Self.serverMigrationView(migration, context: context)])
        }
        router.post("/servers/:id/migrations/:migration/action") { request, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:servers:migrations:force_complete")
            let body = try await request.jsonObject(context: context)
            guard body.keys.contains("force_complete") else { throw APIError.badRequest("There is no such action: \(body.keys.sorted())") }
            let migration = try await self.liveMigration(context, instance)
            guard migration.status == "running" else {
                throw APIError.badRequest("Migration \(migration.id) state of instance \(instance.uuid) is \(migration.status). Cannot force_complete while the migration is in this state.")
            }
            try await self.bus.cast(
                ComputeRPC.liveMigrationForceComplete, to: migration.sourceCompute,
                MigrationRef(instance: instance.uuid, migration: migration.uuid))
            return Response(status: .accepted)
        }
        router.delete("/servers/:id/migrations/:migration") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:servers:migrations:delete")
            let migration = try await self.liveMigration(context, instance)
            guard ["queued", "preparing", "running"].contains(migration.status) else {
                throw APIError.badRequest("Migration \(migration.id) state of instance \(instance.uuid) is \(migration.status). Cannot abort live migration while the migration is in this state.")
            }
            try await self.bus.cast(
                ComputeRPC.liveMigrationAbort, to: migration.sourceCompute, MigrationRef(instance: instance.uuid, migration: migration.uuid))
            return Response(status: .accepted)
        }
    }

    /// The server's live migration named in the path, by its integer id.
    private func liveMigration(_ context: StratusContext, _ instance: Instance) async throws -> MigrationRecord {
        let text = context.parameters.get("migration") ?? ""
        guard let id = Int(text) else { throw APIError.badRequest("Invalid migration id \(text).") }
        let found = try await db.read { db in try await self.migrations.select(where: "id = \(bind: id)", in: db).first }
        guard let migration = found, migration.instanceUUID == instance.uuid, migration.type == "live-migration", migration.inProgress else {
            throw APIError.notFound("In-progress live migration \(text) is not found for server \(instance.uuid).")
        }
        return migration
    }

    static func migrationView(_ migration: MigrationRecord, request: Request, context: StratusContext) -> JSON {
        var view: [String: JSON] = [
            "id": .int(migration.id), "instance_uuid": .string(migration.instanceUUID), "status": .string(migration.status),
            "source_compute": JSON(migration.sourceCompute), "source_node": JSON(migration.sourceNode),
            "dest_compute": JSON(migration.destCompute), "dest_node": JSON(migration.destNode), "dest_host": JSON(migration.destCompute),
            "old_instance_type_id": .int(Int(migration.oldFlavorID) ?? 0), "new_instance_type_id": .int(Int(migration.newFlavorID) ?? 0),
            "created_at": .string(Timestamp.nova(migration.createdAt)), "updated_at": .string(Timestamp.nova(migration.updatedAt)),
        ]
        if context.version(atLeast: 2, 23) {
            view["migration_type"] = .string(migration.type)
            if migration.type == "live-migration", migration.inProgress {
                let base = "\(request.baseURL)/v2.1/servers/\(migration.instanceUUID)/migrations/\(migration.id)"
                view["links"] = [["rel": "self", "href": .string(base)], ["rel": "bookmark", "href": .string(base.replacingOccurrences(of: "/v2.1", with: ""))]]
            }
        }
        if context.version(atLeast: 2, 59) { view["uuid"] = .string(migration.uuid) }
        if context.version(atLeast: 2, 80) { view["user_id"] = .string(migration.userID); view["project_id"] = .string(migration.projectID) }
        return .object(view)
    }

    static func serverMigrationView(_ migration: MigrationRecord, context: StratusContext) -> JSON {
        var view: [String: JSON] = [
            "id": .int(migration.id), "server_uuid": .string(migration.instanceUUID), "status": .string(migration.status),
            "source_compute": JSON(migration.sourceCompute), "source_node": JSON(migration.sourceNode),
            "dest_compute": JSON(migration.destCompute), "dest_node": JSON(migration.destNode), "dest_host": JSON(migration.destCompute),
            "memory_total_bytes": migration.doc["memory_total_bytes"] ?? .null, "memory_processed_bytes": migration.doc["memory_processed_bytes"] ?? .null,
            "memory_remaining_bytes": migration.doc["memory_remaining_bytes"] ?? .null, "disk_total_bytes": migration.doc["disk_total_bytes"] ?? .null,
            "disk_processed_bytes": migration.doc["disk_processed_bytes"] ?? .null, "disk_remaining_bytes": migration.doc["disk_remaining_bytes"] ?? .null,
            "created_at": .string(Timestamp.nova(migration.createdAt)), "updated_at": .string(Timestamp.nova(migration.updatedAt)),
        ]
        if context.version(atLeast: 2, 59) { view["uuid"] = .string(migration.uuid) }
        if context.version(atLeast: 2, 80) { view["user_id"] = .string(migration.userID); view["project_id"] = .string(migration.projectID) }
        return .object(view)
    }
}
