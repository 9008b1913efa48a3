import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/groups` (3.13+) and `/group_snapshots` (3.14+). Groups are records over their volumes;
/// a group snapshot is one snapshot per volume, settled by the volume services.
extension BlockStorageAPI {
    func registerGroups(on router: RouterGroup<StratusContext>) {
        router.post("/groups") { request, context -> Response in
            let auth = try groupCaller(context, minor: 13, rule: "group:create")
            let body = try await request.volumeBody("group", context: context)
            let group = try await createGroup(body, auth: auth)
            return .json(
                ["group": ["id": .string(group.id), "name": group.name.map(JSON.string) ?? .null]], status: .accepted)
        }
        router.post("/groups/action") { request, context -> Response in
            let auth = try groupCaller(context, minor: 14, rule: "group:create")
            let body = try await request.volumeBody("create-from-src", context: context)
            let group = try await createGroupFromSource(body, auth: auth, requestID: context.requestID)
            return .json(
                ["group": ["id": .string(group.id), "name": group.name.map(JSON.string) ?? .null]], status: .accepted)
        }
        for detail in [false, true] {
            router.get(RouterPath("/groups" + (detail ? "/detail" : ""))) { request, context -> Response in
                let auth = try groupCaller(context, minor: 13, rule: "group:get_all")
                let allTenants = try request.boolQuery("all_tenants") ?? false
                let condition: SQLQueryString =
                    allTenants && isAdmin(auth)
                    ? "1 = 1" : "project_id = \(bind: auth.projectID ?? "")"
                let listVolumes = try request.boolQuery("list_volume") ?? false
                let groups = try await db.read { db in
                    var groups: [VolumeGroup] = []
                    for group in try await VolumeGroup.select(where: condition, in: db) {
                        if let loaded = try await VolumeGroup.load(group.id, in: db) { groups.append(loaded) }
                    }
                    return groups
                }
                var items: [JSON] = []
                for group in groups {
                    items.append(
                        detail
                            ? try await groupView(group, context, listVolumes: listVolumes)
                            : ["id": .string(group.id), "name": group.name.map(JSON.string) ?? .null])
                }
                return .json(["groups": .array(items)])
            }
        }
        router.get("/groups/:id") { request, context -> Response in
            let auth = try groupCaller(context, minor: 13, rule: "group:get")
            let group = try await visibleGroup(context, auth)
            let listVolumes = try request.boolQuery("list_volume") ?? false
            return .json(["group": try await groupView(group, context, listVolumes: listVolumes)])
        }
        router.put("/groups/:id") { request, context -> Response in
            let auth = try groupCaller(context, minor: 13, rule: "group:update")
            let group = try await visibleGroup(context, auth)
            let body = try await request.volumeBody("group", context: context)
            try await updateGroup(group, body)
            return Response(status: .accepted)
        }
        router.post("/groups/:id/action") { request, context -> Response in
            let auth = try groupCaller(context, minor: 13, rule: "group:delete")
            let group = try await visibleGroup(context, auth)
            let body = try await request.jsonObject(context: context)
            if let delete = body["delete"] {
                try await deleteGroup(group, volumes: delete["delete-volumes"]?.boolValue ?? false)
            } else if let reset = body["reset_status"], context.version(atLeast: 3, 20) {
                try enforce("group:reset_status", auth)
                guard let text = reset["status"]?.stringValue, let status = GroupStatus(rawValue: text) else {
                    throw BlockStorageError.invalidInput("Invalid group status")
                }
                try await db.change(VolumeGroup.self, group.id, when: { _ in true }) { $0.status = status }
            } else {
                throw APIError.badRequest("There is no such action: \(body.keys.sorted().joined(separator: ","))")
            }
            return Response(status: .accepted)
        }
        registerGroupSnapshots(on: router)
    }

    func visibleGroup(_ context: StratusContext, _ auth: AuthContext) async throws -> VolumeGroup {
        let id = context.parameters.get("id") ?? ""
        guard let group = try await db.read({ try await VolumeGroup.load(id, in: $0) }),
            group.projectID == auth.projectID || isAdmin(auth)
        else { throw APIError.notFound("Group \(id) could not be found.") }
        return group
    }

    func createGroup(_ body: [String: JSON], auth: AuthContext) async throws -> VolumeGroup {
        guard let typeName = body["group_type"]?.stringValue else {
            throw BlockStorageError.invalidInput("group_type is required")
        }
        guard let names = body["volume_types"]?.arrayValue?.compactMap(\.stringValue), !names.isEmpty else {
            throw BlockStorageError.invalidInput("volume_types must be provided to create group")
        }
        var group = VolumeGroup(
            projectID: auth.projectID ?? "", userID: auth.userID,
            zone: body["availability_zone"]?.stringValue ?? settings.defaultZone, groupTypeID: "")
        group.name = body["name"]?.stringValue
        group.description = body["description"]?.stringValue
        let draft = group
        return try await db.transaction { db in
            var group = draft
            guard let type = try await GroupType.load(typeName, in: db) else {
                throw APIError.notFound("Group type \(typeName) could not be found.")
            }
            group.groupTypeID = type.id
            for name in names {
                guard let volumeType = try await VolumeTypes.get(name, in: db) else {
                    throw BlockStorageError.typeNotFound(name)
                }
                group.volumeTypeIDs.append(volumeType.id)
            }
            try await group.insert(in: db)
            try await VolumeGroup.volumeTypes.replace(
                group.id, with: Dictionary(uniqueKeysWithValues: group.volumeTypeIDs.map { ($0, $0) }), in: db)
            return group
        }
    }

    /// A new group with a copy of each volume of a group snapshot or of another group.
    private func createGroupFromSource(
        _ body: [String: JSON], auth: AuthContext, requestID: String
    ) async throws -> VolumeGroup {
        let snapshotID = body["group_snapshot_id"]?.stringValue
        let sourceID = body["source_group_id"]?.stringValue
        guard (snapshotID == nil) != (sourceID == nil) else {
            throw BlockStorageError.invalidInput("Either group_snapshot_id or source_group_id must be provided.")
        }
        let (source, members): (VolumeGroup, [(volume: Volume, snapshot: Snapshot?)]) = try await db.read { db in
            var groupID = sourceID ?? ""
            if let snapshotID {
                guard let snapshot = try await GroupSnapshot.get(snapshotID, in: db),
                    snapshot.projectID == auth.projectID
                else { throw APIError.notFound("GroupSnapshot \(snapshotID) could not be found.") }
                groupID = snapshot.groupID
            }
            guard let group = try await VolumeGroup.load(groupID, in: db), group.projectID == auth.projectID else {
                throw APIError.notFound("Group \(groupID) could not be found.")
            }
            var members: [(Volume, Snapshot?)] = []
            if let snapshotID {
                for snapshot in try await Snapshot.select(where: "group_snapshot_id = \(bind: snapshotID)", in: db) {
                    if let volume = try await Volume.get(snapshot.volumeID, in: db) {
                        members.append((volume, snapshot))
                    }
                }
            } else {
                members = try await Volume.select(where: "group_id = \(bind: groupID)", in: db).map { ($0, nil) }
            }
            return (group, members)
        }
        var group = VolumeGroup(
            projectID: auth.projectID ?? "", userID: auth.userID, zone: source.availabilityZone,
            groupTypeID: source.groupTypeID)
        group.name = body["name"]?.stringValue
        group.description = body["description"]?.stringValue
        group.groupSnapshotID = snapshotID
        group.sourceGroupID = sourceID
        group.volumeTypeIDs = source.volumeTypeIDs
        let created = group
        try await db.transaction { db in
            try await created.insert(in: db)
            try await VolumeGroup.volumeTypes.replace(
                created.id, with: Dictionary(uniqueKeysWithValues: created.volumeTypeIDs.map { ($0, $0) }), in: db)
        }
        for member in members {
            var request = try VolumeCreateRequest(["size": .int(member.volume.size)])
            request.typeName = member.volume.typeID
            request.snapshotID = member.snapshot?.id
            request.sourceVolumeID = member.snapshot == nil ? member.volume.id : nil
            request.groupID = created.id
            request.name = member.volume.name
            _ = try await createVolume(request, auth: auth, requestID: requestID)
        }
        return created
    }

    func updateGroup(_ group: VolumeGroup, _ body: [String: JSON]) async throws {
        func ids(_ key: String) -> [String] {
            (body[key]?.stringValue ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        let (adding, removing) = (ids("add_volumes"), ids("remove_volumes"))
        guard body["name"] != nil || body["description"] != nil || !adding.isEmpty || !removing.isEmpty else {
            throw BlockStorageError.invalidInput(
                "Name, description, add_volumes, and remove_volumes can not be all empty")
        }
        try await db.transaction { db in
            guard var current = try await VolumeGroup.getForUpdate(group.id, in: db) else { return }
            if let name = body["name"] { current.name = name.stringValue }
            if let description = body["description"] { current.description = description.stringValue }
            for id in adding {
                guard var volume = try await Volume.getForUpdate(id, in: db), volume.projectID == group.projectID
                else {
                    throw BlockStorageError.volumeNotFound(id)
                }
                guard volume.groupID == nil, group.volumeTypeIDs.contains(volume.typeID),
                    [.available, .inUse].contains(volume.status)
                else { throw BlockStorageError.invalidVolume("Volume \(id) cannot be added to group \(group.id).") }
                volume.groupID = group.id
                try await volume.save(in: db)
            }
            for id in removing {
                guard var volume = try await Volume.getForUpdate(id, in: db), volume.groupID == group.id else {
                    throw BlockStorageError.invalidVolume("Volume \(id) is not in group \(group.id).")
                }
                volume.groupID = nil
                try await volume.save(in: db)
            }
            current.updatedAt = Date()
            try await current.save(in: db)
        }
    }

    func deleteGroup(_ group: VolumeGroup, volumes deleteVolumes: Bool) async throws {
        let volumes: [Volume] = try await db.transaction { db in
            guard var current = try await VolumeGroup.getForUpdate(group.id, in: db) else { return [] }
            let volumes = try await Volume.select(where: "group_id = \(bind: group.id)", in: db)
            guard volumes.isEmpty || deleteVolumes else {
                throw BlockStorageError.invalidInput(
                    "Group \(group.id) still contains volumes. The delete-volumes flag is required to delete it.")
            }
            if try await GroupSnapshot.select(where: "group_id = \(bind: group.id)", limit: 1, in: db).first != nil {
                throw BlockStorageError.invalidInput("Group \(group.id) has group snapshots.")
            }
            if volumes.isEmpty {
                try await VolumeGroup.volumeTypes.removeAll(group.id, in: db)
                try await VolumeGroup.delete(group.id, in: db)
                return []
            }
            current.status = .deleting
            try await current.save(in: db)
            return volumes
        }
        for volume in volumes { try await deleteVolume(volume, cascade: true, force: false) }
    }

    private func groupView(_ group: VolumeGroup, _ context: StratusContext, listVolumes: Bool) async throws -> JSON {
        var view: [String: JSON] = [
            "id": .string(group.id), "name": group.name.map(JSON.string) ?? .null,
            "description": group.description.map(JSON.string) ?? .null, "status": .string(group.status.rawValue),
            "availability_zone": .string(group.availabilityZone),
            "created_at": .string(Timestamp.iso8601(group.createdAt, fractional: true)),
            "group_type": .string(group.groupTypeID), "volume_types": .array(group.volumeTypeIDs.map(JSON.string)),
            "group_snapshot_id": group.groupSnapshotID.map(JSON.string) ?? .null,
            "source_group_id": group.sourceGroupID.map(JSON.string) ?? .null,
        ]
        if context.version(atLeast: 3, 25), listVolumes {
            let volumes = try await db.read { try await Volume.select(where: "group_id = \(bind: group.id)", in: $0) }
            view["volumes"] = .array(volumes.map { .string($0.id) })
        }
        if context.version(atLeast: 3, 38) { view["replication_status"] = "disabled" }
        return .object(view)
    }
}
