import Foundation
import SQLKit
import StratusCore

/// A point-in-time copy of a volume.
struct Snapshot: StoredRow {
    static let table = "snapshots"
    static let columns = [
        "id", "volume_id", "project_id", "user_id", "name", "description", "size", "status", "progress",
        "group_snapshot_id", "provider_location",
        "created_at", "updated_at",
    ]

    var id: String
    var volumeID: String
    var projectID: String
    var userID: String
    var name: String?
    var description: String?
    var size: Int
    var status: SnapshotStatus
    /// What the driver last reported, e.g. `80%`; nil shows the status's own.
    var progress: String?
    var groupSnapshotID: String?
    var providerLocation: String?
    var createdAt: Date
    var updatedAt: Date?
    var metadata: [String: String] = [:]

    init(volume: Volume, projectID: String, userID: String) {
        id = UUID().uuidString.lowercased()
        volumeID = volume.id
        self.projectID = projectID
        self.userID = userID
        size = volume.size
        status = .creating
        createdAt = Date()
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        volumeID = try row.decode(column: "volume_id", as: String.self)
        projectID = try row.decode(column: "project_id", as: String.self)
        userID = try row.decode(column: "user_id", as: String.self)
        name = try row.decode(column: "name", as: String?.self)
        description = try row.decode(column: "description", as: String?.self)
        size = try row.decode(column: "size", as: Int.self)
        status = try parseState(try row.decode(column: "status", as: String.self), "snapshot status")
        progress = try row.decode(column: "progress", as: String?.self)
        groupSnapshotID = try row.decode(column: "group_snapshot_id", as: String?.self)
        providerLocation = try row.decode(column: "provider_location", as: String?.self)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
        updatedAt = try row.decode(column: "updated_at", as: Double?.self).map(Date.init(timeIntervalSince1970:))
    }

    var values: [any Encodable & Sendable] {
        [
            id, volumeID, projectID, userID, name, description, size, status.rawValue, progress, groupSnapshotID,
            providerLocation,
            createdAt.timeIntervalSince1970, updatedAt?.timeIntervalSince1970,
        ]
    }
}

extension Snapshot {
    /// A new `creating` snapshot of `volume` in its project, within the project's quota.
    static func record(
        of volume: Volume, userID: String, name: String?, description: String?, metadata: [String: String],
        in db: any SQLDatabase
    ) async throws -> Snapshot {
        try await Quotas.check(project: volume.projectID, adding: .init(gigabytes: volume.size, snapshots: 1), in: db)
        var snapshot = Snapshot(volume: volume, projectID: volume.projectID, userID: userID)
        snapshot.name = name
        snapshot.description = description
        snapshot.metadata = metadata
        try await snapshot.insert(in: db)
        try await VolumeStore.snapshotMetadata.replace(snapshot.id, with: metadata, in: db)
        return snapshot
    }
}
