import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/consistencygroups`: Cinder's older name for groups, served by the groups of the
/// `default_cgsnapshot_type` group type (made when first needed), as Cinder does.
extension BlockStorageAPI {
    static let consistencyGroupType = "default_cgsnapshot_type"

    func registerConsistencyGroups(on router: RouterGroup<StratusContext>) {
        router.post("/consistencygroups") { request, context -> Response in
            let auth = try consistencyGroupCaller(context, rule: "group:create")
            let body = try await request.volumeBody("consistencygroup", context: context)
            let types = (body["volume_types"]?.stringValue ?? "").split(separator: ",")
                .map { JSON.string($0.trimmingCharacters(in: .whitespaces)) }
            try await ensureConsistencyGroupType()
            var group: [String: JSON] = [
                "group_type": .string(Self.consistencyGroupType), "volume_types": .array(types),
                "name": body["name"] ?? .null, "description": body["description"] ?? .null,
            ]
            if let zone = body["availability_zone"] { group["availability_zone"] = zone }
            let created = try await createGroup(group, auth: auth)
            let view: JSON = ["id": .string(created.id), "name": created.name.map(JSON.string) ?? .null]
            return .json(["consistencygroup": view], status: .accepted)
        }
        for detail in [false, true] {
            router.get(RouterPath("/consistencygroups" + (detail ? "/detail" : ""))) { _, context -> Response in
                let auth = try consistencyGroupCaller(context, rule: "group:get_all")
                let project = auth.projectID ?? ""
                let groups = try await db.read { db in
                    guard let type = try await GroupType.load(Self.consistencyGroupType, in: db) else {
                        return [VolumeGroup]()
                    }
                    var groups: [VolumeGroup] = []
                    for group in try await VolumeGroup.select(
                        where: "project_id = \(bind: project) AND group_type_id = \(bind: type.id)", in: db)
                    {
                        if let loaded = try await VolumeGroup.load(group.id, in: db) { groups.append(loaded) }
                    }
                    return groups
                }
                return .json([
                    "consistencygroups": .array(groups.map { Self.consistencyGroupView($0, detail: detail) })
                ])
            }
        }
        router.get("/consistencygroups/:id") { _, context -> Response in
            let auth = try consistencyGroupCaller(context, rule: "group:get")
            let group = try await visibleGroup(context, auth)
            return .json(["consistencygroup": Self.consistencyGroupView(group, detail: true)])
        }
        router.put("/consistencygroups/:id") { request, context -> Response in
            let auth = try consistencyGroupCaller(context, rule: "group:update")
            let group = try await visibleGroup(context, auth)
            try await updateGroup(group, try await request.volumeBody("consistencygroup", context: context))
            return Response(status: .accepted)
        }
        router.post("/consistencygroups/:id/delete") { _, context -> Response in
            let auth = try consistencyGroupCaller(context, rule: "group:delete")
            let group = try await visibleGroup(context, auth)
            try await deleteGroup(group, volumes: false)
            return Response(status: .accepted)
        }
    }

    private func consistencyGroupCaller(_ context: StratusContext, rule: String) throws -> AuthContext {
        let auth = try caller(context)
        try enforce(rule, auth)
        return auth
    }

    private func ensureConsistencyGroupType() async throws {
        try await db.transaction { db in
            guard try await GroupType.load(Self.consistencyGroupType, in: db) == nil else { return }
            let type = GroupType(
                name: Self.consistencyGroupType, description: "Consistency groups", isPublic: true)
            try await type.insert(in: db)
            try await GroupType.specs.replace(
                type.id, with: ["consistent_group_snapshot_enabled": "<is> True"], in: db)
        }
    }

    static func consistencyGroupView(_ group: VolumeGroup, detail: Bool) -> JSON {
        var view: [String: JSON] = ["id": .string(group.id), "name": group.name.map(JSON.string) ?? .null]
        guard detail else { return .object(view) }
        view["description"] = group.description.map(JSON.string) ?? .null
        view["status"] = .string(group.status.rawValue)
        view["availability_zone"] = .string(group.availabilityZone)
        view["created_at"] = .string(Timestamp.iso8601(group.createdAt, fractional: true))
        view["volume_types"] = .array(group.volumeTypeIDs.map(JSON.string))
        return .object(view)
    }
}
