import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/types`: volume types, their extra specs and project access.
extension BlockStorageAPI {
    func registerTypes(on router: RouterGroup<StratusContext>) {
        router.get("/types") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:type_get_all", auth)
            let admin = isAdmin(auth)
            let publicFilter = request.formQuery("is_public").flatMap(Self.boolWord)
            let query = try ListQuery(request, columns: Self.typeSortColumns, maxLimit: settings.maxLimit)
            let types = try await db.read { db in
                var types: [VolumeType] = []
                for var type in try await VolumeType.select(where: "1 = 1", order: query.orderBy, in: db) {
                    if let publicFilter, admin, type.isPublic != publicFilter { continue }
                    guard
                        try await VolumeTypes.visible(
                            type, to: auth.projectID, admin: admin && publicFilter != true, in: db)
                    else { continue }
                    if !admin, publicFilter == false, type.isPublic { continue }
                    type.extraSpecs = try await VolumeTypes.extraSpecs(type.id, in: db)
                    types.append(type)
                }
                return types
            }
            return .json(["volume_types": .array(types.map { Self.typeView($0, admin: admin) })])
        }
        router.get("/types/default") { _, context -> Response in
            let auth = try self.caller(context)
            let type = try await db.transaction { try await VolumeTypes.ensureDefault(in: $0) }
            return .json(["volume_type": Self.typeView(type, admin: isAdmin(auth))])
        }
        router.get("/types/:id") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:type_get", auth)
            let type = try await visibleType(context, auth)
            return .json(["volume_type": Self.typeView(type, admin: isAdmin(auth))])
        }
        router.post("/types") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:types_manage", auth)
            let body = try await request.volumeBody("volume_type", context: context)
            guard let name = body["name"]?.stringValue?.trimmingCharacters(in: .whitespaces), !name.isEmpty,
                name.count <= 255
            else { throw BlockStorageError.invalidInput("Volume type name can not be empty.") }
            var type = VolumeType(
                name: name, description: body["description"]?.stringValue,
                isPublic: body["os-volume-type-access:is_public"]?.boolValue ?? true)
            let specs = try body["extra_specs"]?.nonNull.map { try Self.metadata($0) } ?? [:]
            type.extraSpecs = specs
            let created = type
            try await db.transaction { db in
                if try await VolumeType.select(where: "name = \(bind: name)", in: db).first != nil {
                    throw APIError.conflict("Volume Type \(name) already exists.")
                }
                try await created.insert(in: db)
                try await Self.replaceSpecs(created.id, specs, in: db)
            }
            return .json(["volume_type": Self.typeView(created, admin: true, kind: .create)])
        }
        router.put("/types/:id") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:types_manage", auth)
            let existing = try await visibleType(context, auth)
            let body = try await request.volumeBody("volume_type", context: context)
            let updated = try await db.transaction { db in
                guard var type = try await VolumeTypes.get(existing.id, in: db) else {
                    throw BlockStorageError.typeNotFound(existing.id)
                }
                if let name = body["name"]?.stringValue {
                    guard !name.isEmpty else {
                        throw BlockStorageError.invalidInput("Volume type name can not be empty.")
                    }
                    if try await VolumeType.select(where: "name = \(bind: name) AND id <> \(bind: type.id)", in: db)
                        .first != nil
                    {
                        throw APIError.conflict("Volume Type \(name) already exists.")
                    }
                    type.name = name
                }
                if let description = body["description"] { type.description = description.stringValue }
                if let flag = body["is_public"]?.boolValue { type.isPublic = flag }
                try await type.save(in: db)
                return type
            }
            return .json(["volume_type": Self.typeView(updated, admin: true, kind: .update)])
        }
        router.delete("/types/:id") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:types_manage", auth)
            let type = try await visibleType(context, auth)
            try await db.transaction { db in
                if type.name == VolumeType.defaultName {
                    throw APIError.badRequest("Default volume type can not be deleted.")
                }
                if try await Volume.select(where: "volume_type_id = \(bind: type.id)", limit: 1, in: db).first != nil {
                    throw APIError.badRequest("Target volume type is still in use.")
                }
                try await db.delete(from: "volume_type_extra_specs").where("type_id", .equal, SQLBind(type.id)).run()
                try await db.delete(from: "volume_type_projects").where("type_id", .equal, SQLBind(type.id)).run()
                try await VolumeType.delete(type.id, in: db)
            }
            return Response(status: .accepted)
        }
        registerExtraSpecs(on: router)
        registerTypeAccess(on: router)
        registerEncryptionTypes(on: router)
        registerVolumeEncryptionMetadata(on: router)
    }

    private func registerExtraSpecs(on router: RouterGroup<StratusContext>) {
        router.get("/types/:id/extra_specs") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:types_extra_specs:index", auth)
            let type = try await visibleType(context, auth)
            return .json(["extra_specs": .object(type.extraSpecs.mapValues(JSON.string))])
        }
        router.post("/types/:id/extra_specs") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:types_extra_specs:create", auth)
            let type = try await visibleType(context, auth)
            let body = try await request.jsonObject(context: context)
            guard let given = body["extra_specs"] else { throw APIError.badRequest("Malformed request body") }
            let specs = try Self.metadata(given)
            try await db.transaction { db in
                try await Self.replaceSpecs(type.id, type.extraSpecs.merging(specs) { $1 }, in: db)
            }
            return .json(["extra_specs": .object(specs.mapValues(JSON.string))])
        }
        router.get("/types/:id/extra_specs/:key") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:types_extra_specs:show", auth)
            let type = try await visibleType(context, auth)
            let key = context.parameters.get("key") ?? ""
            guard let value = type.extraSpecs[key] else {
                throw APIError.notFound("Volume Type \(type.id) has no extra specs with key \(key).")
            }
            return .json([key: .string(value)])
        }
        router.put("/types/:id/extra_specs/:key") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:types_extra_specs:update", auth)
            let type = try await visibleType(context, auth)
            let key = context.parameters.get("key") ?? ""
            let body = try await request.jsonObject(context: context)
            guard body.count == 1 else { throw APIError.badRequest("Request body contains too many items.") }
            guard let value = body[key]?.stringValue else {
                throw APIError.badRequest("Request body and URI mismatch")
            }
            try await db.transaction { db in
                try await Self.replaceSpecs(type.id, type.extraSpecs.merging([key: value]) { $1 }, in: db)
            }
            return .json([key: .string(value)])
        }
        router.delete("/types/:id/extra_specs/:key") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:types_extra_specs:delete", auth)
            let type = try await visibleType(context, auth)
            let key = context.parameters.get("key") ?? ""
            guard type.extraSpecs[key] != nil else {
                throw APIError.notFound("Volume Type \(type.id) has no extra specs with key \(key).")
            }
            try await db.transaction { db in
                try await Self.replaceSpecs(type.id, type.extraSpecs.filter { $0.key != key }, in: db)
            }
            return Response(status: .accepted)
        }
    }

    private func registerTypeAccess(on router: RouterGroup<StratusContext>) {
        router.get("/types/:id/os-volume-type-access") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:volume_type_access", auth)
            let type = try await visibleType(context, auth)
            guard !type.isPublic else { throw APIError.notFound("Access list not available for public volume types.") }
            let projects = try await db.read { try await VolumeTypes.projects(type.id, in: $0) }
            let items: [JSON] = projects.map { ["volume_type_id": .string(type.id), "project_id": .string($0)] }
            return .json(["volume_type_access": .array(items)])
        }
        router.post("/types/:id/action") { request, context -> Response in
            let auth = try self.caller(context)
            let type = try await visibleType(context, auth)
            let body = try await request.jsonObject(context: context)
            let adding = body["addProjectAccess"] != nil
            try enforce(
                adding
                    ? "volume_extension:volume_type_access:addProjectAccess"
                    : "volume_extension:volume_type_access:removeProjectAccess", auth)
            guard let project = (body["addProjectAccess"] ?? body["removeProjectAccess"])?["project"]?.stringValue
            else {
                throw APIError.badRequest("Missing required element 'project' in request body.")
            }
            guard !type.isPublic else {
                throw APIError.badRequest(
                    "Invalid volume type: Type access modification is not applicable to public volume type.")
            }
            try await db.transaction { db in
                let existing = try await VolumeTypes.projects(type.id, in: db).contains(project)
                if adding {
                    guard !existing else {
                        throw APIError.conflict(
                            "Volume type access for \(type.id)/\(project) combination already exists.")
                    }
                    try await db.insert(into: "volume_type_projects").columns("type_id", "project_id")
                        .values(SQLBind(type.id), SQLBind(project)).run()
                } else {
                    guard existing else {
                        throw APIError.notFound("Volume type access not found for \(type.id)/\(project) combination.")
                    }
                    try await db.delete(from: "volume_type_projects").where("type_id", .equal, SQLBind(type.id))
                        .where("project_id", .equal, SQLBind(project)).run()
                }
            }
            return Response(status: .accepted)
        }
    }

    private func visibleType(_ context: StratusContext, _ auth: AuthContext) async throws -> VolumeType {
        let id = context.parameters.get("id") ?? ""
        let admin = isAdmin(auth)
        let type = try await db.read { db -> VolumeType? in
            guard let type = try await VolumeTypes.get(id, in: db),
                try await VolumeTypes.visible(type, to: auth.projectID, admin: admin, in: db)
            else { return nil }
            return type
        }
        guard let type else { throw BlockStorageError.typeNotFound(id) }
        return type
    }

    private static func replaceSpecs(_ id: String, _ specs: [String: String], in db: any SQLDatabase) async throws {
        try await db.delete(from: "volume_type_extra_specs").where("type_id", .equal, SQLBind(id)).run()
        for (key, value) in specs.sorted(by: { $0.key < $1.key }) {
            try await db.insert(into: "volume_type_extra_specs").columns("type_id", "key", "value")
                .values(SQLBind(id), SQLBind(key), SQLBind(value)).run()
        }
    }

    /// Which answer a type view is for: Cinder's create and update answers leave keys out.
    enum TypeViewKind { case show, create, update }

    static func typeView(_ type: VolumeType, admin: Bool, kind: TypeViewKind = .show) -> JSON {
        var view: [String: JSON] = [
            "id": .string(type.id), "name": .string(type.name),
            "description": type.description.map(JSON.string) ?? .null,
            "is_public": .bool(type.isPublic), "extra_specs": .object(type.extraSpecs.mapValues(JSON.string)),
        ]
        if kind != .update { view["os-volume-type-access:is_public"] = .bool(type.isPublic) }
        if kind == .show, admin { view["qos_specs_id"] = type.qosSpecsID.map(JSON.string) ?? .null }
        return .object(view)
    }
}
