import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/backups`: create (full or incremental, of a volume or a snapshot), list, show, update,
/// delete, restore, reset status and export/import of records.
extension BlockStorageAPI {
    static let backupSortColumns: [String: SortColumn] = [
        "id": .init(sql: "id", kind: .text), "name": .init(sql: "COALESCE(name, '')", kind: .text),
        "status": .init(sql: "status", kind: .text), "size": .init(sql: "size", kind: .integer),
        "created_at": .init(sql: "created_at", kind: .number), "volume_id": .init(sql: "volume_id", kind: .text),
    ]

    func registerBackups(on router: RouterGroup<StratusContext>) {
        router.post("/backups") { request, context -> Response in
            let auth = try backupCaller(context, rule: "backup:create")
            let body = try await request.volumeBody("backup", context: context)
            let backup = try await createBackup(body, auth: auth, context: context)
            return .json(["backup": backupSummary(backup, request, context)], status: .accepted)
        }
        for detail in [false, true] {
            router.get(RouterPath("/backups" + (detail ? "/detail" : ""))) { request, context -> Response in
                let auth = try backupCaller(context, rule: "backup:get_all")
                let query = try ListQuery(request, columns: Self.backupSortColumns, maxLimit: settings.maxLimit)
                var terms: [SQLQueryString] = []
                let allTenants = try request.boolQuery("all_tenants") ?? false
                if !(allTenants && isAdmin(auth)) { terms.append("project_id = \(bind: auth.projectID ?? "")") }
                for column in ["name", "status", "volume_id"] {
                    if let value = request.formQuery(column) { terms.append("\(ident: column) = \(bind: value)") }
                }
                let filter = SQLQueryString.all(terms)
                let backups = try await db.read { db in
                    var condition = filter
                    if let after = try await query.afterMarker(table: Backup.table, in: db) {
                        condition = .all([condition, after])
                    }
                    let sql: SQLQueryString =
                        "SELECT * FROM backups WHERE " + condition + " ORDER BY " + query.orderBy
                        + query.page(maxLimit: settings.maxLimit)
                    return try await db.raw(sql).all().map(Backup.init(row:))
                }
                var items: [JSON] = []
                for backup in backups {
                    items.append(
                        detail
                            ? try await backupDetail(backup, request, context, auth)
                            : backupSummary(backup, request, context))
                }
                var body: [String: JSON] = ["backups": .array(items)]
                body.merge(
                    query.nextLinks(
                        request, base: LinkBase(request, context), path: detail ? "backups/detail" : "backups",
                        key: "backups", lastID: backups.last?.id, count: backups.count)
                ) { $1 }
                return .json(.object(body))
            }
        }
        router.get("/backups/:id") { request, context -> Response in
            let auth = try backupCaller(context, rule: "backup:get")
            let backup = try await visibleBackup(context, auth)
            return .json(["backup": try await backupDetail(backup, request, context, auth)])
        }
        router.put("/backups/:id") { request, context -> Response in
            let auth = try backupCaller(context, rule: "backup:update")
            guard context.version(atLeast: 3, 9) else { throw APIError.methodNotAllowed() }
            let backup = try await visibleBackup(context, auth)
            let body = try await request.volumeBody("backup", context: context)
            let name = try Self.optionalText(body, "name")
            let description = try Self.optionalText(body, "description")
            let metadata = try body["metadata"]?.nonNull.map { try Self.metadata($0) }
            let updated = try await db.transaction { db in
                guard var current = try await Backup.getForUpdate(backup.id, in: db) else {
                    throw APIError.notFound("Backup \(backup.id) could not be found.")
                }
                if let name { current.name = name }
                if let description { current.description = description }
                current.updatedAt = Date()
                try await current.save(in: db)
                if let metadata { try await Backup.metadata.replace(backup.id, with: metadata, in: db) }
                current.metadata = try await Backup.metadata.get(backup.id, in: db)
                return current
            }
            return .json(["backup": backupSummary(updated, request, context)])
        }
        router.delete("/backups/:id") { request, context -> Response in
            let auth = try backupCaller(context, rule: "backup:delete")
            let backup = try await visibleBackup(context, auth)
            let force = try request.boolQuery("force") ?? false
            try await deleteBackup(backup, force: force)
            return Response(status: .accepted)
        }
        router.post("/backups/:id/restore") { request, context -> Response in
            let auth = try backupCaller(context, rule: "backup:restore")
            let backup = try await visibleBackup(context, auth)
            let body = try await request.volumeBody("restore", context: context)
            let volume = try await restore(
                backup, into: body["volume_id"]?.stringValue,
                name: body["name"]?.stringValue, auth: auth)
            return .json(
                [
                    "restore": [
                        "backup_id": .string(backup.id), "volume_id": .string(volume.id),
                        "volume_name": volume.name.map(JSON.string) ?? .null,
                    ]
                ], status: .accepted)
        }
        router.post("/backups/:id/action") { request, context -> Response in
            let auth = try caller(context)
            let backup = try await visibleBackup(context, auth)
            let body = try await request.jsonObject(context: context)
            if let reset = body["os-reset_status"] {
                try enforce("volume_extension:backup_admin_actions:reset_status", auth)
                guard let text = reset["status"]?.stringValue, let status = BackupStatus(rawValue: text),
                    [.available, .error].contains(status)
                else { throw BlockStorageError.invalidInput("Invalid backup status") }
                try await db.change(Backup.self, backup.id, when: { _ in true }) { $0.status = status }
            } else if body["os-force_delete"] != nil {
                try enforce("volume_extension:backup_admin_actions:force_delete", auth)
                try await deleteBackup(backup, force: true)
            } else {
                throw APIError.badRequest("There is no such action: \(body.keys.sorted().joined(separator: ","))")
            }
            return Response(status: .accepted)
        }
        router.get("/backups/:id/export_record") { _, context -> Response in
            let auth = try backupCaller(context, rule: "backup:export")
            let backup = try await visibleBackup(context, auth)
            guard backup.status == .available else {
                throw BlockStorageError.invalidInput(
                    "Backup status must be available and not \(backup.status.rawValue).")
            }
            let record = JSON.object(Self.backupRecord(backup)).serialized()
            return .json([
                "backup-record": [
                    "backup_service": "cinder.backup.drivers.posix",
                    "backup_url": .string(Data(record.utf8).base64EncodedString()),
                ]
            ])
        }
        router.post("/backups/import_record") { request, context -> Response in
            let auth = try backupCaller(context, rule: "backup:import")
            let body = try await request.volumeBody("backup-record", context: context)
            let backup = try await importRecord(body, auth: auth)
            return .json(["backup": backupSummary(backup, request, context)], status: .created)
        }
    }

    private func backupCaller(_ context: StratusContext, rule: String) throws -> AuthContext {
        let auth = try caller(context)
        try enforce(rule, auth)
        guard backups != nil else { throw APIError(.serviceUnavailable, "Service cinder-backup could not be found.") }
        return auth
    }

    private func visibleBackup(_ context: StratusContext, _ auth: AuthContext) async throws -> Backup {
        let id = context.parameters.get("id") ?? ""
        guard var backup = try await db.read({ try await Backup.get(id, in: $0) }),
            backup.projectID == auth.projectID || isAdmin(auth)
        else { throw APIError.notFound("Backup \(id) could not be found.") }
        backup.metadata = try await db.read { try await Backup.metadata.get(id, in: $0) }
        return backup
    }

    private func createBackup(
        _ body: [String: JSON], auth: AuthContext, context: StratusContext
    ) async throws -> Backup {
        guard let volumeID = body["volume_id"]?.stringValue else {
            throw BlockStorageError.invalidInput("volume_id is required")
        }
        let incremental = body["incremental"]?.boolValue ?? false
        let force = body["force"]?.boolValue ?? false
        let snapshotID = body["snapshot_id"]?.stringValue
        let name = try Self.optionalText(body, "name") ?? nil
        let description = try Self.optionalText(body, "description") ?? nil
        let metadata = try body["metadata"]?.nonNull.map { try Self.metadata($0) } ?? [:]
        let container = body["container"]?.stringValue
        if let container, container.contains("/") || container.contains("..") || container.isEmpty {
            throw BlockStorageError.invalidInput("Invalid container name \(container)")
        }
        let backup: Backup = try await db.transaction { db in
            guard var volume = try await Volume.getForUpdate(volumeID, in: db),
                volume.projectID == auth.projectID || self.isAdmin(auth)
            else { throw BlockStorageError.volumeNotFound(volumeID) }
            let allowed: Set<VolumeStatus> = force ? [.available, .inUse] : [.available]
            guard allowed.contains(volume.status) else {
                throw BlockStorageError.invalidVolume(
                    "Volume to be backed up must be available or in-use, but the current status is "
                        + "\"\(volume.status.rawValue)\"."
                )
            }
            if let snapshotID {
                guard let snapshot = try await Snapshot.get(snapshotID, in: db), snapshot.volumeID == volumeID else {
                    throw BlockStorageError.snapshotNotFound(snapshotID)
                }
                guard snapshot.status == .available else {
                    throw BlockStorageError.invalidInput("Snapshot must be available.")
                }
            }
            var backup = Backup(volume: volume, projectID: volume.projectID, userID: auth.userID)
            backup.name = name
            backup.description = description
            backup.container = container
            backup.snapshotID = snapshotID
            if incremental {
                let parents = try await Backup.select(
                    where: "volume_id = \(bind: volumeID) AND status = \(bind: BackupStatus.available.rawValue)",
                    limit: 1,
                    in: db)
                guard let parent = parents.first else {
                    throw BlockStorageError.invalidInput("No backups available to do an incremental backup.")
                }
                backup.parentID = parent.id
                backup.container = parent.container
            }
            try await backup.insert(in: db)
            try await Backup.metadata.replace(backup.id, with: metadata, in: db)
            volume.previousStatus = volume.status
            volume.status = .backingUp
            volume.updatedAt = Date()
            try await volume.save(in: db)
            backup.metadata = metadata
            return backup
        }
        try await bus.cast(BackupRPC.createBackup, to: backups, BackupArgs(backupID: backup.id))
        return backup
    }

    private func deleteBackup(_ backup: Backup, force: Bool) async throws {
        try await db.transaction { db in
            guard var current = try await Backup.getForUpdate(backup.id, in: db) else {
                throw APIError.notFound("Backup \(backup.id) could not be found.")
            }
            guard force || [.available, .error].contains(current.status) else {
                throw BlockStorageError.invalidInput("Backup status must be available or error")
            }
            let children = try await Backup.select(where: "parent_id = \(bind: backup.id)", limit: 1, in: db)
            guard children.isEmpty else {
                throw BlockStorageError.invalidInput("Incremental backups exist for this backup.")
            }
            current.status = .deleting
            current.updatedAt = Date()
            try await current.save(in: db)
        }
        try await bus.cast(BackupRPC.deleteBackup, to: backups, BackupArgs(backupID: backup.id))
    }

    /// Restores into `volumeID` (available, at least the backup's size) or a new volume of the
    /// backup's size placed by the scheduler's filters.
    private func restore(
        _ backup: Backup, into volumeID: String?, name: String?, auth: AuthContext
    ) async throws -> Volume {
        let project = auth.projectID ?? ""
        let pools = try await db.read { try await scheduler.pools(in: $0) }
        let volume: Volume = try await db.transaction { db in
            guard var current = try await Backup.getForUpdate(backup.id, in: db), current.status == .available else {
                throw BlockStorageError.invalidInput("Backup status must be available")
            }
            var volume: Volume
            if let volumeID {
                guard let existing = try await Volume.getForUpdate(volumeID, in: db),
                    existing.projectID == project || self.isAdmin(auth)
                else { throw BlockStorageError.volumeNotFound(volumeID) }
                guard existing.status == .available else {
                    throw BlockStorageError.invalidVolume("Volume to be restored to must be available")
                }
                guard existing.encrypted == (backup.encryptionKeyID != nil) else {
                    throw BlockStorageError.invalidVolume(
                        existing.encrypted
                            ? "An unencrypted backup cannot be restored to encrypted volume \(volumeID)."
                            : "An encrypted backup can be restored only to an encrypted volume.")
                }
                guard existing.size >= backup.size else {
                    throw BlockStorageError.invalidVolume(
                        "volume size \(existing.size) is smaller than backup size \(backup.size)")
                }
                volume = existing
            } else {
                let type = try await Self.restoreType(of: backup, in: db)
                let zone = backup.availabilityZone ?? self.settings.defaultZone
                let request = PoolRequest(sizeGB: backup.size, zone: zone, extraSpecs: type.extraSpecs)
                guard let pool = PoolFilters.choose(pools, for: request) else {
                    throw BlockStorageError.invalidInput("No valid backend was found for the restored volume.")
                }
                try await Quotas.check(project: project, adding: .init(volumes: 1, gigabytes: backup.size), in: db)
                volume = Volume(
                    projectID: project, userID: auth.userID, size: backup.size, availabilityZone: zone, typeID: type.id
                )
                volume.name = name ?? "restore_backup_\(backup.id)"
                volume.encryptionKeyID = backup.encryptionKeyID
                volume.host = "\(pool.host)#\(pool.capabilities.pool)"
                try await volume.insert(in: db)
            }
            volume.status = .restoringBackup
            volume.updatedAt = Date()
            try await volume.save(in: db)
            current.status = .restoring
            current.restoreVolumeID = volume.id
            current.updatedAt = Date()
            try await current.save(in: db)
            return volume
        }
        try await bus.cast(BackupRPC.restoreBackup, to: backups, BackupArgs(backupID: backup.id))
        return volume
    }

    /// The type of a volume restored from `backup`: the default one, or for an encrypted
    /// backup the backed-up volume's (encrypted) type, which the data needs.
    private static func restoreType(of backup: Backup, in db: any SQLDatabase) async throws -> VolumeType {
        guard backup.encryptionKeyID != nil else { return try await VolumeTypes.ensureDefault(in: db) }
        guard let id = backup.volumeTypeID, let type = try await VolumeTypes.get(id, in: db),
            try await EncryptionType.of(type: type.id, in: db) != nil
        else {
            throw BlockStorageError.invalidInput(
                "The encrypted volume type of backup \(backup.id) is gone; restore it to an encrypted volume.")
        }
        return type
    }

    private func importRecord(_ body: [String: JSON], auth: AuthContext) async throws -> Backup {
        guard let url = body["backup_url"]?.stringValue, let data = Data(base64Encoded: url),
            let record = (try? JSON.parse(Array(data)))?.objectValue, let id = record["id"]?.stringValue,
            let volumeID = record["volume_id"]?.stringValue, let size = record["size"]?.intValue
        else { throw BlockStorageError.invalidInput("Can't parse backup record.") }
        return try await db.transaction { db in
            if let existing = try await Backup.get(id, in: db), existing.status != .deleting {
                throw BlockStorageError.invalidInput("Backup already exists in database.")
            }
            var volume = Volume(
                id: volumeID, projectID: auth.projectID ?? "", userID: auth.userID, size: size,
                availabilityZone: record["availability_zone"]?.stringValue ?? self.settings.defaultZone, typeID: "")
            volume.status = .available
            var backup = Backup(volume: volume, projectID: auth.projectID ?? "", userID: auth.userID)
            backup.id = id
            backup.name = record["display_name"]?.stringValue
            backup.description = record["display_description"]?.stringValue
            backup.container = record["container"]?.stringValue
            backup.parentID = record["parent_id"]?.stringValue
            backup.objectCount = record["object_count"]?.intValue ?? 0
            backup.status = .available
            backup.host = record["host"]?.stringValue
            backup.encryptionKeyID = record["encryption_key_id"]?.stringValue
            backup.volumeTypeID = record["volume_type_id"]?.stringValue
            try await Backup.delete(id, in: db)
            try await backup.insert(in: db)
            return backup
        }
    }

    static func backupRecord(_ backup: Backup) -> [String: JSON] {
        [
            "id": .string(backup.id), "volume_id": .string(backup.volumeID), "size": .int(backup.size),
            "display_name": backup.name.map(JSON.string) ?? .null,
            "display_description": backup.description.map(JSON.string) ?? .null,
            "container": backup.container.map(JSON.string) ?? .null,
            "parent_id": backup.parentID.map(JSON.string) ?? .null,
            "object_count": .int(backup.objectCount),
            "availability_zone": backup.availabilityZone.map(JSON.string) ?? .null,
            "host": backup.host.map(JSON.string) ?? .null,
            "encryption_key_id": backup.encryptionKeyID.map(JSON.string) ?? .null,
            "volume_type_id": backup.volumeTypeID.map(JSON.string) ?? .null,
        ]
    }

    private func backupSummary(_ backup: Backup, _ request: Request, _ context: StratusContext) -> JSON {
        var view: [String: JSON] = [
            "id": .string(backup.id), "name": backup.name.map(JSON.string) ?? .null,
            "links": LinkBase(request, context).links("backups", backup.id),
        ]
        if context.version(atLeast: 3, 43) { view["metadata"] = .object(backup.metadata.mapValues(JSON.string)) }
        return .object(view)
    }

    private func backupDetail(
        _ backup: Backup, _ request: Request, _ context: StratusContext, _ auth: AuthContext
    ) async throws -> JSON {
        let dependents = try await db.read { db in
            try await Backup.select(where: "parent_id = \(bind: backup.id)", limit: 1, in: db)
        }
        var view = backupSummary(backup, request, context).objectValue ?? [:]
        view["description"] = backup.description.map(JSON.string) ?? .null
        view["status"] = .string(backup.status.rawValue)
        view["availability_zone"] = backup.availabilityZone.map(JSON.string) ?? .null
        view["volume_id"] = .string(backup.volumeID)
        view["snapshot_id"] = backup.snapshotID.map(JSON.string) ?? .null
        view["size"] = .int(backup.size)
        view["object_count"] = .int(backup.objectCount)
        view["container"] = backup.container.map(JSON.string) ?? .null
        view["created_at"] = .string(Timestamp.iso8601(backup.createdAt, fractional: true))
        view["updated_at"] = backup.updatedAt.map { .string(Timestamp.iso8601($0, fractional: true)) } ?? .null
        view["data_timestamp"] = backup.dataTimestamp.map { .string(Timestamp.iso8601($0, fractional: true)) } ?? .null
        view["fail_reason"] = backup.failReason.map(JSON.string) ?? .null
        view["is_incremental"] = .bool(backup.isIncremental)
        view["has_dependent_backups"] = .bool(!dependents.isEmpty)
        if context.version(atLeast: 3, 18), isAdmin(auth) {
            view["os-backup-project-attr:project_id"] = .string(backup.projectID)
        }
        if context.version(atLeast: 3, 56) { view["user_id"] = .string(backup.userID) }
        return .object(view)
    }
}
