import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/snapshots`: create, list, show, update, delete and the snapshot actions.
extension BlockStorageAPI {
    static let snapshotSortColumns: [String: SortColumn] = [
        "id": .init(sql: "id", kind: .text), "name": .init(sql: "COALESCE(name, '')", kind: .text),
        "status": .init(sql: "status", kind: .text), "size": .init(sql: "size", kind: .integer),
        "created_at": .init(sql: "created_at", kind: .number),
        "updated_at": .init(sql: "COALESCE(updated_at, 0)", kind: .number),
        "volume_id": .init(sql: "volume_id", kind: .text),
    ]

    func registerSnapshots(on router: RouterGroup<StratusContext>) {
        router.post("/snapshots") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume:create_snapshot", auth)
            let body = try await request.volumeBody("snapshot", context: context)
            let snapshot = try await createSnapshot(body, auth: auth, context: context)
            return .json(["snapshot": snapshotView(snapshot, context, auth, extended: false)], status: .accepted)
        }
        router.get("/snapshots") { request, context -> Response in
            try await listSnapshots(request, context, detail: false)
        }
        router.get("/snapshots/detail") { request, context -> Response in
            try await listSnapshots(request, context, detail: true)
        }
        router.get("/snapshots/:id") { _, context -> Response in
            let auth = try self.caller(context)
            let snapshot = try await visibleSnapshot(context, auth, rule: "volume:get_snapshot")
            return .json(["snapshot": snapshotView(snapshot, context, auth, extended: true)])
        }
        router.put("/snapshots/:id") { request, context -> Response in
            let auth = try self.caller(context)
            let snapshot = try await visibleSnapshot(context, auth, rule: "volume:update_snapshot")
            let body = try await request.volumeBody("snapshot", context: context)
            let name = try Self.optionalText(body, "name", "display_name")
            let description = try Self.optionalText(body, "description", "display_description")
            guard name != nil || description != nil else {
                throw APIError.badRequest("Missing required element 'snapshot' in request body.")
            }
            let updated = try await db.transaction { db in
                guard var current = try await Snapshot.getForUpdate(snapshot.id, in: db) else {
                    throw BlockStorageError.snapshotNotFound(snapshot.id)
                }
                if let name { current.name = name }
                if let description { current.description = description }
                current.updatedAt = Date()
                try await current.save(in: db)
                current.metadata = try await VolumeStore.snapshotMetadata.get(snapshot.id, in: db)
                return current
            }
            return .json(["snapshot": snapshotView(updated, context, auth, extended: false)])
        }
        router.delete("/snapshots/:id") { _, context -> Response in
            let auth = try self.caller(context)
            let snapshot = try await visibleSnapshot(context, auth, rule: "volume:delete_snapshot")
            try await deleteSnapshot(snapshot, force: false)
            return Response(status: .accepted)
        }
        router.post("/snapshots/:id/action") { request, context -> Response in
            let auth = try self.caller(context)
            let body = try await request.jsonObject(context: context)
            guard body.count == 1, let (action, argument) = body.first else {
                throw APIError.badRequest("There is no such action")
            }
            switch action {
            case "os-reset_status", "os-update_snapshot_status":
                let rule =
                    action == "os-reset_status"
                    ? "volume_extension:snapshot_admin_actions:reset_status"
                    : "snapshot_extension:snapshot_actions:update_snapshot_status"
                let snapshot = try await visibleSnapshot(context, auth, rule: rule)
                guard let text = argument["status"]?.stringValue, let status = SnapshotStatus(rawValue: text) else {
                    throw BlockStorageError.invalidInput("Invalid snapshot status")
                }
                let progress = argument["progress"]?.stringValue
                try await db.transaction { db in
                    guard var current = try await Snapshot.getForUpdate(snapshot.id, in: db) else { return }
                    current.status = status
                    if let progress { current.progress = progress }
                    current.updatedAt = Date()
                    try await current.save(in: db)
                }
            case "os-force_delete":
                let snapshot = try await visibleSnapshot(
                    context, auth, rule: "volume_extension:snapshot_admin_actions:force_delete")
                try await deleteSnapshot(snapshot, force: true)
            case "os-unmanage":
                let snapshot = try await visibleSnapshot(context, auth, rule: "snapshot_extension:snapshot_unmanage")
                try await unmanageSnapshot(snapshot)
            default:
                throw APIError.badRequest("There is no such action: \(action)")
            }
            return Response(status: .accepted)
        }
    }

    private func createSnapshot(
        _ body: [String: JSON], auth: AuthContext, context: StratusContext
    ) async throws -> Snapshot {
        guard let volumeID = body["volume_id"]?.stringValue else { throw BlockStorageError.volumeNotFound("None") }
        let force = body["force"].flatMap { $0.boolValue ?? $0.stringValue.flatMap(Self.boolWord) } ?? false
        let name = try Self.optionalText(body, "name", "display_name") ?? nil
        let description = try Self.optionalText(body, "description", "display_description") ?? nil
        let metadata = try body["metadata"]?.nonNull.map { try Self.metadata($0) } ?? [:]
        let allowInUse = force || context.version(atLeast: 3, 66)
        let (snapshot, backend): (Snapshot, String?) = try await db.transaction { db in
            guard let volume = try await Volume.getForUpdate(volumeID, in: db),
                volume.projectID == auth.projectID || self.isAdmin(auth)
            else { throw BlockStorageError.volumeNotFound(volumeID) }
            guard volume.status == .available || (volume.status == .inUse && allowInUse) else {
                throw BlockStorageError.invalidVolume(
                    "Volume \(volumeID) status must be available, but current status is: \(volume.status.rawValue).")
            }
            let snapshot = try await Snapshot.record(
                of: volume, userID: auth.userID, name: name, description: description, metadata: metadata, in: db)
            return (snapshot, volume.backend)
        }
        if let backend {
            try await bus.cast(
                VolumeRPC.createSnapshot, to: backend, SnapshotArgs(volumeID: volumeID, snapshotID: snapshot.id))
        }
        return snapshot
    }

    private func deleteSnapshot(_ snapshot: Snapshot, force: Bool) async throws {
        let backend: String? = try await db.transaction { db in
            guard var current = try await Snapshot.getForUpdate(snapshot.id, in: db) else {
                throw BlockStorageError.snapshotNotFound(snapshot.id)
            }
            guard force || [.available, .error].contains(current.status) else {
                throw APIError.badRequest(
                    "Invalid snapshot: Snapshot status must be available or error and must not be part of a group.")
            }
            let volume = try await Volume.get(current.volumeID, in: db)
            if try await Volume.select(
                where: "snapshot_id = \(bind: snapshot.id) AND status = \(bind: VolumeStatus.creating.rawValue)",
                in: db
            ).first != nil {
                throw APIError.badRequest("Invalid snapshot: a volume is being created from it.")
            }
            current.status = .deleting
            current.updatedAt = Date()
            try await current.save(in: db)
            return volume?.backend
        }
        guard let backend else {
            try await db.transaction { db in
                try await VolumeStore.snapshotMetadata.removeAll(snapshot.id, in: db)
                try await Snapshot.delete(snapshot.id, in: db)
            }
            return
        }
        try await bus.cast(
            VolumeRPC.deleteSnapshot, to: backend, SnapshotArgs(volumeID: snapshot.volumeID, snapshotID: snapshot.id))
    }

    private func listSnapshots(_ request: Request, _ context: StratusContext, detail: Bool) async throws -> Response {
        let auth = try caller(context)
        try enforce("volume:get_all_snapshots", auth)
        let query = try ListQuery(request, columns: Self.snapshotSortColumns, maxLimit: settings.maxLimit)
        var terms: [SQLQueryString] = []
        let allTenants = try request.boolQuery("all_tenants") ?? false
        if !(isAdmin(auth) && allTenants) {
            terms.append("project_id = \(bind: auth.projectID ?? "")")
        }
        if let name = request.formQuery("name") ?? request.formQuery("display_name") {
            terms.append("name = \(bind: name)")
        }
        for column in ["status", "volume_id"] {
            if let value = request.formQuery(column) { terms.append("\(ident: column) = \(bind: value)") }
        }
        if let text = request.formQuery("metadata") {
            terms.append(
                VolumeStore.snapshotMetadata.hasAll(try Self.parseMetadataFilter(text), ownerTable: "snapshots"))
        }
        let filter = SQLQueryString.all(terms)
        let snapshots = try await db.read { db in
            var condition = filter
            if let after = try await query.afterMarker(table: Snapshot.table, in: db) {
                condition = .all([condition, after])
            }
            let sql: SQLQueryString =
                "SELECT * FROM snapshots WHERE " + condition + " ORDER BY " + query.orderBy
                + query.page(maxLimit: settings.maxLimit)
            var snapshots = try await db.raw(sql).all().map(Snapshot.init(row:))
            let metadata = try await VolumeStore.snapshotMetadata.get(snapshots.map(\.id), in: db)
            for index in snapshots.indices { snapshots[index].metadata = metadata[snapshots[index].id] ?? [:] }
            return snapshots
        }
        var body: [String: JSON] = [
            "snapshots": .array(snapshots.map { snapshotView($0, context, auth, extended: detail) })
        ]
        let base = LinkBase(request, context)
        body.merge(
            query.nextLinks(
                request, base: base, path: detail ? "snapshots/detail" : "snapshots", key: "snapshots",
                lastID: snapshots.last?.id, count: snapshots.count)
        ) { $1 }
        return .json(.object(body))
    }

    func snapshotView(_ snapshot: Snapshot, _ context: StratusContext, _ auth: AuthContext, extended: Bool) -> JSON {
        var view: [String: JSON] = [
            "id": .string(snapshot.id), "name": snapshot.name.map(JSON.string) ?? .null,
            "description": snapshot.description.map(JSON.string) ?? .null, "volume_id": .string(snapshot.volumeID),
            "status": .string(snapshot.status.rawValue), "size": .int(snapshot.size),
            "metadata": .object(snapshot.metadata.mapValues(JSON.string)),
            "created_at": .string(Timestamp.iso8601(snapshot.createdAt, fractional: true)),
            "updated_at": snapshot.updatedAt.map { .string(Timestamp.iso8601($0, fractional: true)) } ?? .null,
        ]
        if context.version(atLeast: 3, 14) {
            view["group_snapshot_id"] = snapshot.groupSnapshotID.map(JSON.string) ?? .null
        }
        if context.version(atLeast: 3, 41) { view["user_id"] = .string(snapshot.userID) }
        if context.version(atLeast: 3, 65) { view["consumes_quota"] = true }
        if extended {
            view["os-extended-snapshot-attributes:progress"] = .string(
                snapshot.progress ?? (snapshot.status == .available ? "100%" : "0%"))
            view["os-extended-snapshot-attributes:project_id"] = .string(snapshot.projectID)
        }
        return .object(view)
    }
}
