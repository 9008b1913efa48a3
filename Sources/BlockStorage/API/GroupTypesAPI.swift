import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/group_types` (3.11+): group types and their group specs.
extension BlockStorageAPI {
    func registerGroupTypes(on router: RouterGroup<StratusContext>) {
        router.get("/group_types") { request, context -> Response in
            let auth = try groupCaller(context, minor: 11, rule: "group:group_types:get_all")
            let admin = isAdmin(auth)
            let wanted = request.formQuery("is_public").flatMap(Self.boolWord)
            let query = try ListQuery(request, columns: Self.typeSortColumns, maxLimit: settings.maxLimit)
            let types = try await db.read { db in
                var types: [GroupType] = []
                for type in try await GroupType.select(where: "1 = 1", order: query.orderBy, in: db)
                where (admin || type.isPublic) && (wanted.map { $0 == type.isPublic } ?? true) {
                    if let loaded = try await GroupType.load(type.id, in: db) { types.append(loaded) }
                }
                return types
            }
            return .json(["group_types": .array(types.map(Self.groupTypeView))])
        }
        router.get("/group_types/:id") { _, context -> Response in
            _ = try groupCaller(context, minor: 11, rule: "group:group_types:get")
            return .json(["group_type": Self.groupTypeView(try await groupType(context))])
        }
        router.post("/group_types") { request, context -> Response in
            _ = try groupCaller(context, minor: 11, rule: "group:group_types:manage")
            let body = try await request.volumeBody("group_type", context: context)
            guard let name = body["name"]?.stringValue?.trimmingCharacters(in: .whitespaces), !name.isEmpty else {
                throw BlockStorageError.invalidInput("Group type name can not be empty.")
            }
            var type = GroupType(
                name: name, description: body["description"]?.stringValue,
                isPublic: body["is_public"]?.boolValue ?? true)
            type.groupSpecs = try body["group_specs"]?.nonNull.map { try Self.metadata($0) } ?? [:]
            let created = type
            try await db.transaction { db in
                if try await GroupType.select(where: "name = \(bind: name)", in: db).first != nil {
                    throw APIError.conflict("Group Type \(name) already exists.")
                }
                try await created.insert(in: db)
                try await GroupType.specs.replace(created.id, with: created.groupSpecs, in: db)
            }
            return .json(["group_type": Self.groupTypeView(created)], status: .accepted)
        }
        router.put("/group_types/:id") { request, context -> Response in
            _ = try groupCaller(context, minor: 11, rule: "group:group_types:manage")
            let existing = try await groupType(context)
            let body = try await request.volumeBody("group_type", context: context)
            let updated = try await db.transaction { db in
                guard var type = try await GroupType.load(existing.id, in: db) else {
                    throw APIError.notFound("Group type \(existing.id) could not be found.")
                }
                if let name = body["name"]?.stringValue, !name.isEmpty { type.name = name }
                if let description = body["description"] { type.description = description.stringValue }
                if let flag = body["is_public"]?.boolValue { type.isPublic = flag }
                try await type.save(in: db)
                return type
            }
            return .json(["group_type": Self.groupTypeView(updated)])
        }
        router.delete("/group_types/:id") { _, context -> Response in
            _ = try groupCaller(context, minor: 11, rule: "group:group_types:manage")
            let type = try await groupType(context)
            try await db.transaction { db in
                if try await VolumeGroup.select(where: "group_type_id = \(bind: type.id)", limit: 1, in: db).first
                    != nil
                {
                    throw BlockStorageError.invalidInput("Target group type is still in use.")
                }
                try await GroupType.specs.removeAll(type.id, in: db)
                try await GroupType.delete(type.id, in: db)
            }
            return Response(status: .accepted)
        }
        registerGroupSpecs(on: router)
    }

    private func registerGroupSpecs(on router: RouterGroup<StratusContext>) {
        router.get("/group_types/:id/group_specs") { _, context -> Response in
            _ = try groupCaller(context, minor: 11, rule: "group:group_types_specs")
            return .json(["group_specs": .object(try await groupType(context).groupSpecs.mapValues(JSON.string))])
        }
        router.post("/group_types/:id/group_specs") { request, context -> Response in
            _ = try groupCaller(context, minor: 11, rule: "group:group_types_specs")
            let type = try await groupType(context)
            let body = try await request.jsonObject(context: context)
            guard let given = body["group_specs"] else { throw APIError.badRequest("Malformed request body") }
            let specs = try Self.metadata(given)
            try await db.transaction { try await GroupType.specs.merge(type.id, specs, in: $0) }
            return .json(["group_specs": .object(specs.mapValues(JSON.string))], status: .accepted)
        }
        router.get("/group_types/:id/group_specs/:key") { _, context -> Response in
            _ = try groupCaller(context, minor: 11, rule: "group:group_types_specs")
            let type = try await groupType(context)
            let key = context.parameters.get("key") ?? ""
            guard let value = type.groupSpecs[key] else {
                throw APIError.notFound("Group Type \(type.id) has no specs with key \(key).")
            }
            return .json([key: .string(value)])
        }
        router.put("/group_types/:id/group_specs/:key") { request, context -> Response in
            _ = try groupCaller(context, minor: 11, rule: "group:group_types_specs")
            let type = try await groupType(context)
            let key = context.parameters.get("key") ?? ""
            let body = try await request.jsonObject(context: context)
            guard body.count == 1, let value = body[key]?.stringValue else {
                throw APIError.badRequest("Request body and URI mismatch")
            }
            try await db.transaction { try await GroupType.specs.merge(type.id, [key: value], in: $0) }
            return .json([key: .string(value)])
        }
        router.delete("/group_types/:id/group_specs/:key") { _, context -> Response in
            _ = try groupCaller(context, minor: 11, rule: "group:group_types_specs")
            let type = try await groupType(context)
            let key = context.parameters.get("key") ?? ""
            guard try await db.transaction({ try await GroupType.specs.remove(type.id, key: key, in: $0) }) else {
                throw APIError.notFound("Group Type \(type.id) has no specs with key \(key).")
            }
            return Response(status: .accepted)
        }
    }

    static let typeSortColumns: [String: SortColumn] = [
        "id": .init(sql: "id", kind: .text), "name": .init(sql: "name", kind: .text),
        "created_at": .init(sql: "created_at", kind: .number),
    ]

    func groupCaller(_ context: StratusContext, minor: Int, rule: String) throws -> AuthContext {
        guard context.version(atLeast: 3, minor) else { throw APIError.notFound("The resource could not be found.") }
        let auth = try caller(context)
        try enforce(rule, auth)
        return auth
    }

    private func groupType(_ context: StratusContext) async throws -> GroupType {
        let id = context.parameters.get("id") ?? ""
        guard let type = try await db.read({ try await GroupType.load(id, in: $0) }) else {
            throw APIError.notFound("Group type \(id) could not be found.")
        }
        return type
    }

    static func groupTypeView(_ type: GroupType) -> JSON {
        [
            "id": .string(type.id), "name": .string(type.name),
            "description": type.description.map(JSON.string) ?? .null,
            "is_public": .bool(type.isPublic), "group_specs": .object(type.groupSpecs.mapValues(JSON.string)),
        ]
    }
}
