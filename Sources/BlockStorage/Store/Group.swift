import Foundation
import SQLKit
import StratusCore

/// A group type: specs for groups, as volume types are for volumes.
struct GroupType: StoredRow {
    static let table = "group_types"
    static let columns = ["id", "name", "description", "is_public", "created_at"]
    static let specs = MetadataTable(table: "group_type_metadata", column: "group_type_id")

    var id: String
    var name: String
    var description: String?
    var isPublic: Bool
    var createdAt: Date
    var groupSpecs: [String: String] = [:]

    init(name: String, description: String?, isPublic: Bool) {
        id = UUID().uuidString.lowercased()
        self.name = name
        self.description = description
        self.isPublic = isPublic
        createdAt = Date()
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        description = try row.decode(column: "description", as: String?.self)
        isPublic = try row.decode(column: "is_public", as: Bool.self)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
    }

    var values: [any Encodable & Sendable] { [id, name, description, isPublic, createdAt.timeIntervalSince1970] }

    static func load(_ idOrName: String, in db: any SQLDatabase) async throws -> GroupType? {
        guard var type = try await select(where: "id = \(bind: idOrName) OR name = \(bind: idOrName)", in: db).first
        else { return nil }
        type.groupSpecs = try await specs.get(type.id, in: db)
        return type
    }
}

enum GroupStatus: String, Codable, Sendable, CaseIterable {
    case creating, available, deleting, error, updating
    case errorDeleting = "error_deleting"
}

/// Volumes managed together: their snapshots are taken at once as a group snapshot.
struct VolumeGroup: StoredRow, Touched {
    static let table = "groups"
    static let columns = [
        "id", "project_id", "user_id", "name", "description", "status", "availability_zone", "group_type_id",
        "group_snapshot_id", "source_group_id", "created_at", "updated_at",
    ]
    /// The volume types a group's volumes may have (key and value: the type id).
    static let volumeTypes = MetadataTable(table: "group_volume_types", column: "group_id")

    var id: String
    var projectID: String
    var userID: String
    var name: String?
    var description: String?
    var status: GroupStatus
    var availabilityZone: String
    var groupTypeID: String
    var groupSnapshotID: String?
    var sourceGroupID: String?
    var createdAt: Date
    var updatedAt: Date?
    var volumeTypeIDs: [String] = []

    init(projectID: String, userID: String, zone: String, groupTypeID: String) {
        id = UUID().uuidString.lowercased()
        self.projectID = projectID
        self.userID = userID
        status = .available
        availabilityZone = zone
        self.groupTypeID = groupTypeID
        createdAt = Date()
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        projectID = try row.decode(column: "project_id", as: String.self)
        userID = try row.decode(column: "user_id", as: String.self)
        name = try row.decode(column: "name", as: String?.self)
        description = try row.decode(column: "description", as: String?.self)
        status = try parseState(try row.decode(column: "status", as: String.self), "group status")
        availabilityZone = try row.decode(column: "availability_zone", as: String.self)
        groupTypeID = try row.decode(column: "group_type_id", as: String.self)
        groupSnapshotID = try row.decode(column: "group_snapshot_id", as: String?.self)
        sourceGroupID = try row.decode(column: "source_group_id", as: String?.self)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
        updatedAt = try row.decode(column: "updated_at", as: Double?.self).map(Date.init(timeIntervalSince1970:))
    }

    var values: [any Encodable & Sendable] {
        [
            id, projectID, userID, name, description, status.rawValue, availabilityZone, groupTypeID, groupSnapshotID,
            sourceGroupID, createdAt.timeIntervalSince1970, updatedAt?.timeIntervalSince1970,
        ]
    }

    static func load(_ id: String, in db: any SQLDatabase) async throws -> VolumeGroup? {
        guard var group = try await get(id, in: db) else { return nil }
        group.volumeTypeIDs = try await volumeTypes.get(id, in: db).keys.sorted()
        return group
    }
}

/// Snapshots of every volume of a group, taken together.
struct GroupSnapshot: StoredRow, Touched {
    static let table = "group_snapshots"
    static let columns = [
        "id", "group_id", "project_id", "name", "description", "status", "group_type_id", "created_at", "updated_at",
    ]

    var id: String
    var groupID: String
    var projectID: String
    var name: String?
    var description: String?
    var status: SnapshotStatus
    var groupTypeID: String
    var createdAt: Date
    var updatedAt: Date?

    init(group: VolumeGroup) {
        id = UUID().uuidString.lowercased()
        groupID = group.id
        projectID = group.projectID
        status = .creating
        groupTypeID = group.groupTypeID
        createdAt = Date()
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        groupID = try row.decode(column: "group_id", as: String.self)
        projectID = try row.decode(column: "project_id", as: String.self)
        name = try row.decode(column: "name", as: String?.self)
        description = try row.decode(column: "description", as: String?.self)
        status = try parseState(try row.decode(column: "status", as: String.self), "group snapshot status")
        groupTypeID = try row.decode(column: "group_type_id", as: String.self)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
        updatedAt = try row.decode(column: "updated_at", as: Double?.self).map(Date.init(timeIntervalSince1970:))
    }

    var values: [any Encodable & Sendable] {
        [
            id, groupID, projectID, name, description, status.rawValue, groupTypeID, createdAt.timeIntervalSince1970,
            updatedAt?.timeIntervalSince1970,
        ]
    }

    /// Settles the group snapshot once its snapshots have: available when all are, error when
    /// one failed, gone when it was being deleted and none is left.
    static func settle(_ id: String, in db: any SQLDatabase) async throws {
        guard var group = try await getForUpdate(id, in: db) else { return }
        let members = try await Snapshot.select(where: "group_snapshot_id = \(bind: id)", in: db)
        switch group.status {
        case .deleting where members.isEmpty:
            try await delete(id, in: db)
            return
        case .creating where members.contains { $0.status == .error }:
            group.status = .error
        case .creating where members.allSatisfy { $0.status == .available }:
            group.status = .available
        default:
            return
        }
        group.updatedAt = Date()
        try await group.save(in: db)
    }
}
