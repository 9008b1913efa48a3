import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/volumes`: create, list, show, update and delete.
extension BlockStorageAPI {
    static let volumeSortColumns: [String: SortColumn] = [
        "id": .init(sql: "id", kind: .text), "name": .init(sql: "COALESCE(name, '')", kind: .text),
        "status": .init(sql: "status", kind: .text), "size": .init(sql: "size", kind: .integer),
        "created_at": .init(sql: "created_at", kind: .number),
        "updated_at": .init(sql: "COALESCE(updated_at, 0)", kind: .number),
        "availability_zone": .init(sql: "availability_zone", kind: .text),
    ]

    func registerVolumes(on router: RouterGroup<StratusContext>) {
        router.post("/volumes") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume:create", auth)
            let body = try await request.volumeBody("volume", context: context)
            let volume = try await createVolume(VolumeCreateRequest(body), auth: auth, requestID: context.requestID)
            let view = try await self.view(request, context, auth)
            return .json(["volume": view.detail(volume, attachments: [], extended: false)], status: .accepted)
        }
        router.get("/volumes") { request, context -> Response in
            if request.uri.path.hasSuffix("/") { throw BlockStorageError.volumeNotFound("") }
            return try await list(request, context, detail: false)
        }
        router.get("/volumes/detail") { request, context -> Response in
            try await list(request, context, detail: true)
        }
        router.get("/volumes/summary") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume:get_all", auth)
            let filter = try filterCondition(request, auth)
            let volumes = try await db.read { db in
                try await Volume.select(where: filter, in: db)
            }
            var summary: [String: JSON] = [
                "total_size": .int(volumes.reduce(0) { $0 + $1.size }), "total_count": .int(volumes.count),
            ]
            if context.version(atLeast: 3, 36) {
                let metadata = try await db.read { try await VolumeStore.metadata.get(volumes.map(\.id), in: $0) }
                var merged: [String: Set<String>] = [:]
                for pairs in metadata.values { for (key, value) in pairs { merged[key, default: []].insert(value) } }
                summary["metadata"] = .object(merged.mapValues { .array($0.sorted().map(JSON.string)) })
            }
            return .json(["volume-summary": .object(summary)])
        }
        // `/volumes/` (an empty id) is a volume not found, not the collection.
        router.put("/volumes") { _, _ -> Response in throw BlockStorageError.volumeNotFound("") }
        router.delete("/volumes") { _, _ -> Response in throw BlockStorageError.volumeNotFound("") }
        router.get("/volumes/:id") { request, context -> Response in
            let auth = try self.caller(context)
            let volume = try await visibleVolume(context, auth, rule: "volume:get")
            let attachments = try await db.read {
                try await Attachment.select(where: "volume_id = \(bind: volume.id)", in: $0)
            }
            let view = try await self.view(request, context, auth)
            return .json(["volume": view.detail(volume, attachments: attachments, extended: true)])
        }
        router.put("/volumes/:id") { request, context -> Response in
            let auth = try self.caller(context)
            let volume = try await visibleVolume(context, auth, rule: "volume:update")
            let body = try await request.volumeBody("volume", context: context)
            let name = try Self.optionalText(body, "name", "display_name")
            let description = try Self.optionalText(body, "description", "display_description")
            let metadata = try body["metadata"].map { try Self.metadata($0) }
            guard name != nil || description != nil || metadata != nil else {
                throw APIError.badRequest("Missing required element 'volume' in request body.")
            }
            let updated = try await db.transaction { db in
                guard var current = try await Volume.getForUpdate(volume.id, in: db) else {
                    throw BlockStorageError.volumeNotFound(volume.id)
                }
                if let name { current.name = name }
                if let description { current.description = description }
                current.updatedAt = Date()
                try await current.save(in: db)
                if let metadata { try await VolumeStore.metadata.replace(volume.id, with: metadata, in: db) }
                current.metadata = try await VolumeStore.metadata.get(volume.id, in: db)
                return current
            }
            let attachments = try await db.read {
                try await Attachment.select(where: "volume_id = \(bind: volume.id)", in: $0)
            }
            let view = try await self.view(request, context, auth)
            return .json(["volume": view.detail(updated, attachments: attachments, extended: false)])
        }
        router.delete("/volumes/:id") { request, context -> Response in
            let auth = try self.caller(context)
            let volume = try await visibleVolume(context, auth, rule: "volume:delete")
            let cascade = try request.boolQuery("cascade") ?? false
            let force = try request.boolQuery("force") ?? false
            if force { try enforce("volume_extension:volume_admin_actions:force_delete", auth) }
            try await deleteVolume(volume, cascade: cascade, force: force)
            return Response(status: .accepted)
        }
    }

    private func list(_ request: Request, _ context: StratusContext, detail: Bool) async throws -> Response {
        let auth = try caller(context)
        try enforce("volume:get_all", auth)
        let query = try ListQuery(request, columns: Self.volumeSortColumns, maxLimit: settings.maxLimit)
        let filter = try filterCondition(request, auth)
        let (volumes, attachments) = try await db.read { db in
            var condition = filter
            if let after = try await query.afterMarker(table: Volume.table, in: db) {
                condition = .all([condition, after])
            }
            var sql: SQLQueryString = "SELECT * FROM volumes WHERE " + condition + " ORDER BY " + query.orderBy
            sql = sql + query.page(maxLimit: settings.maxLimit)
            var volumes = try await db.raw(sql).all().map(Volume.init(row:))
            guard detail else { return (volumes, [String: [Attachment]]()) }
            let ids = volumes.map(\.id)
            let metadata = try await VolumeStore.metadata.get(ids, in: db)
            for index in volumes.indices { volumes[index].metadata = metadata[volumes[index].id] ?? [:] }
            let attachments = try await Attachment.select(where: "volume_id IN " + .list(ids), in: db)
            return (volumes, Dictionary(grouping: attachments, by: \.volumeID))
        }
        let view = try await self.view(request, context, auth)
        let items = volumes.map {
            detail ? view.detail($0, attachments: attachments[$0.id] ?? [], extended: true) : view.summary($0)
        }
        var body: [String: JSON] = ["volumes": .array(items)]
        let path = detail ? "volumes/detail" : "volumes"
        body.merge(
            query.nextLinks(
                request, base: view.base, path: path, key: "volumes", lastID: volumes.last?.id,
                count: volumes.count)
        ) { $1 }
        return .json(.object(body))
    }

    /// The caller's volumes (every project's for admins with `all_tenants`) matching the
    /// query's filters. Filters are exact; an unknown value matches nothing.
    func filterCondition(_ request: Request, _ auth: AuthContext) throws -> SQLQueryString {
        var terms: [SQLQueryString] = []
        let admin = isAdmin(auth)
        if admin, try request.boolQuery("all_tenants") ?? false {
            if let project = request.formQuery("project_id") { terms.append("project_id = \(bind: project)") }
        } else {
            terms.append("project_id = \(bind: auth.projectID ?? "")")
        }
        if let name = request.formQuery("name") ?? request.formQuery("display_name") {
            terms.append("name = \(bind: name)")
        }
        for column in ["status", "availability_zone", "migration_status"] {
            if let value = request.formQuery(column) { terms.append("\(ident: column) = \(bind: value)") }
        }
        if request.formQuery("migration_status") == nil {
            // A migration's target is not the user's volume (Cinder hides it too).
            terms.append(VolumeStore.notMigrationTarget)
        }
        if let size = request.formQuery("size") {
            guard let value = Int(size) else { return "1 = 0" }
            terms.append("size = \(bind: value)")
        }
        if let bootable = request.formQuery("bootable") {
            guard let flag = Self.boolWord(bootable) else {
                throw BlockStorageError.invalidInput("Invalid bootable \(bootable)")
            }
            terms.append("bootable = \(bind: flag)")
        }
        if let text = request.formQuery("metadata") {
            terms.append(VolumeStore.metadata.hasAll(try Self.parseMetadataFilter(text), ownerTable: "volumes"))
        }
        for column in ["created_at", "updated_at"] {
            if let text = request.formQuery(column) { terms.append(try Self.timeCondition(column, text)) }
        }
        return .all(terms)
    }

    /// `metadata={'k': 'v'}` (a Python dict literal, as Cinder reads it) or JSON.
    static func parseMetadataFilter(_ text: String) throws -> [String: String] {
        let json = text.replacingOccurrences(of: "'", with: "\"")
            .replacingOccurrences(of: "True", with: "true").replacingOccurrences(of: "False", with: "false")
        guard let object = (try? JSON.parse(Array(json.utf8)))?.objectValue else {
            throw BlockStorageError.invalidInput("Invalid metadata filter \(text)")
        }
        return object.mapValues { $0.stringValue ?? $0.serialized() }
    }

    /// `created_at=gte:2026-01-01T00:00:00,lt:...` time comparisons.
    static func timeCondition(_ column: String, _ text: String) throws -> SQLQueryString {
        var terms: [SQLQueryString] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
            let ops = ["gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "<>"]
            let (op, value) =
                parts.count == 2 && ops[parts[0]] != nil ? (ops[parts[0]] ?? "=", parts[1]) : ("=", String(item))
            guard let date = Timestamp.parse(value) ?? Timestamp.parse(value + "Z") else {
                throw BlockStorageError.invalidInput("Invalid time \(value)")
            }
            terms.append(SQLQueryString("\(column) \(op) ") + "\(bind: date.timeIntervalSince1970)")
        }
        return .all(terms)
    }

    /// Volume type names (and the view) for the caller.
    func view(_ request: Request, _ context: StratusContext, _ auth: AuthContext) async throws -> VolumeView {
        let types = try await db.read { try await VolumeType.select(where: "1 = 1", in: $0) }
        return VolumeView(
            base: LinkBase(request, context), context: context, admin: isAdmin(auth),
            typeNames: Dictionary(uniqueKeysWithValues: types.map { ($0.id, $0.name) }))
    }

    static func boolWord(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "1", "yes", "on", "t", "y": return true
        case "false", "0", "no", "off", "f", "n": return false
        default: return nil
        }
    }

    /// A text field given under either name; `.some(nil)` when given as null.
    static func optionalText(_ body: [String: JSON], _ names: String...) throws -> String?? {
        for name in names {
            guard let value = body[name] else { continue }
            if value.isNull { return .some(nil) }
            guard let text = value.stringValue, text.count <= 255 || name.contains("description") else {
                throw BlockStorageError.invalidInput("\(name) must be a string of at most 255 characters")
            }
            return .some(text)
        }
        return nil
    }

    /// User metadata: string keys of 1–255 characters and string values of up to 255.
    static func metadata(_ value: JSON) throws -> [String: String] {
        guard let object = value.objectValue else {
            throw BlockStorageError.invalidInput("metadata must be an object")
        }
        var result: [String: String] = [:]
        for (key, item) in object {
            guard !key.isEmpty, key.count <= 255 else {
                throw BlockStorageError.invalidInput("Invalid metadata key \(key)")
            }
            guard let text = item.stringValue, text.count <= 255 else {
                throw BlockStorageError.invalidInput(
                    "Invalid metadata value for \(key): strings of at most 255 characters")
            }
            result[key] = text
        }
        return result
    }
}
