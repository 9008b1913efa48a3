import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/group_snapshots` (3.14+): a snapshot of every volume of a group at once.
extension BlockStorageAPI {
    func registerGroupSnapshots(on router: RouterGroup<StratusContext>) {
        router.post("/group_snapshots") { request, context -> Response in
            let auth = try groupCaller(context, minor: 14, rule: "group:create_group_snapshot")
            let body = try await request.volumeBody("group_snapshot", context: context)
            guard let groupID = body["group_id"]?.stringValue else {
                throw BlockStorageError.invalidInput("group_id is required")
            }
            let snapshot = try await createGroupSnapshot(
                groupID, name: body["name"]?.stringValue, description: body["description"]?.stringValue, auth: auth)
            return .json(
                [
                    "group_snapshot": [
                        "id": .string(snapshot.id), "name": snapshot.name.map(JSON.string) ?? .null,
                        "group_type_id": .string(snapshot.groupTypeID),
                    ]
                ], status: .accepted)
        }
        for detail in [false, true] {
            router.get(RouterPath("/group_snapshots" + (detail ? "/detail" : ""))) { request, context -> Response in
                let auth = try groupCaller(context, minor: 14, rule: "group:get_all_group_snapshots")
                let allTenants = try request.boolQuery("all_tenants") ?? false
                let condition: SQLQueryString =
                    allTenants && isAdmin(auth)
                    ? "1 = 1" : "project_id = \(bind: auth.projectID ?? "")"
                let snapshots = try await db.read { try await GroupSnapshot.select(where: condition, in: $0) }
                let items: [JSON] = snapshots.map {
                    detail
                        ? Self.groupSnapshotView($0)
                        : ["id": .string($0.id), "name": $0.name.map(JSON.string) ?? .null]
                }
                return .json(["group_snapshots": .array(items)])
            }
        }
        router.get("/group_snapshots/:id") { _, context -> Response in
            let auth = try groupCaller(context, minor: 14, rule: "group:get_group_snapshot")
            return .json(["group_snapshot": Self.groupSnapshotView(try await visibleGroupSnapshot(context, auth))])
        }
        router.delete("/group_snapshots/:id") { _, context -> Response in
            let auth = try groupCaller(context, minor: 14, rule: "group:delete_group_snapshot")
            let snapshot = try await visibleGroupSnapshot(context, auth)
            try await deleteGroupSnapshot(snapshot)
            return Response(status: .accepted)
        }
        router.post("/group_snapshots/:id/action") { request, context -> Response in
            let auth = try groupCaller(context, minor: 19, rule: "group:reset_group_snapshot_status")
            let snapshot = try await visibleGroupSnapshot(context, auth)
            let body = try await request.jsonObject(context: context)
            guard let text = body["reset_status"]?["status"]?.stringValue, let status = SnapshotStatus(rawValue: text)
            else {
                throw BlockStorageError.invalidInput("Invalid group snapshot status")
            }
            try await db.change(GroupSnapshot.self, snapshot.id, when: { _ in true }) { $0.status = status }
            return Response(status: .accepted)
        }
    }

    private func visibleGroupSnapshot(_ context: StratusContext, _ auth: AuthContext) async throws -> GroupSnapshot {
        let id = context.parameters.get("id") ?? ""
        guard let snapshot = try await db.read({ try await GroupSnapshot.get(id, in: $0) }),
            snapshot.projectID == auth.projectID || isAdmin(auth)
        else { throw APIError.notFound("GroupSnapshot \(id) could not be found.") }
        return snapshot
    }

    private func createGroupSnapshot(
        _ groupID: String, name: String?, description: String?, auth: AuthContext
    ) async throws -> GroupSnapshot {
        let (snapshot, members): (GroupSnapshot, [(Snapshot, String?)]) = try await db.transaction { db in
            guard let group = try await VolumeGroup.load(groupID, in: db),
                group.projectID == auth.projectID || self.isAdmin(auth)
            else { throw APIError.notFound("Group \(groupID) could not be found.") }
            guard group.status == .available else {
                throw BlockStorageError.invalidInput("Group status must be available.")
            }
            let volumes = try await Volume.select(where: "group_id = \(bind: groupID)", in: db)
            guard volumes.allSatisfy({ [.available, .inUse].contains($0.status) }) else {
                throw BlockStorageError.invalidInput("The volumes of group \(groupID) must be available or in-use.")
            }
            var groupSnapshot = GroupSnapshot(group: group)
            groupSnapshot.name = name
            groupSnapshot.description = description
            if volumes.isEmpty { groupSnapshot.status = .available }
            try await groupSnapshot.insert(in: db)
            var members: [(Snapshot, String?)] = []
            for volume in volumes {
                var snapshot = Snapshot(volume: volume, projectID: volume.projectID, userID: auth.userID)
                snapshot.name = name
                snapshot.groupSnapshotID = groupSnapshot.id
                try await snapshot.insert(in: db)
                members.append((snapshot, volume.backend))
            }
            return (groupSnapshot, members)
        }
        for (member, backend) in members {
            guard let backend else { continue }
            try await bus.cast(
                VolumeRPC.createSnapshot, to: backend, SnapshotArgs(volumeID: member.volumeID, snapshotID: member.id))
        }
        return snapshot
    }

    private func deleteGroupSnapshot(_ snapshot: GroupSnapshot) async throws {
        let members: [(Snapshot, String?)] = try await db.transaction { db in
            guard var current = try await GroupSnapshot.getForUpdate(snapshot.id, in: db) else { return [] }
            guard [.available, .error].contains(current.status) else {
                throw BlockStorageError.invalidInput("Group snapshot status must be available or error.")
            }
            let snapshots = try await Snapshot.select(where: "group_snapshot_id = \(bind: snapshot.id)", in: db)
            if snapshots.isEmpty {
                try await GroupSnapshot.delete(snapshot.id, in: db)
                return []
            }
            current.status = .deleting
            try await current.save(in: db)
            var members: [(Snapshot, String?)] = []
            for var member in snapshots {
                member.status = .deleting
                try await member.save(in: db)
                members.append((member, try await Volume.get(member.volumeID, in: db)?.backend))
            }
            return members
        }
        for (member, backend) in members {
            guard let backend else { continue }
            try await bus.cast(
                VolumeRPC.deleteSnapshot, to: backend, SnapshotArgs(volumeID: member.volumeID, snapshotID: member.id))
        }
    }

    static func groupSnapshotView(_ snapshot: GroupSnapshot) -> JSON {
        [
            "id": .string(snapshot.id), "group_id": .string(snapshot.groupID),
            "name": snapshot.name.map(JSON.string) ?? .null,
            "description": snapshot.description.map(JSON.string) ?? .null, "status": .string(snapshot.status.rawValue),
            "created_at": .string(Timestamp.iso8601(snapshot.createdAt, fractional: true)),
            "group_type_id": .string(snapshot.groupTypeID),
        ]
    }
}
