import Foundation
import SQLKit
import StratusCore

enum BackupStatus: String, Codable, Sendable, CaseIterable {
    case creating, available, deleting, error, restoring
    case errorDeleting = "error_deleting"
}

/// A copy of a volume's data kept by the backup service; incremental backups keep only
/// the chunks that changed since their parent.
struct Backup: StoredRow {
    static let table = "backups"
    static let columns = [
        "id", "volume_id", "snapshot_id", "project_id", "user_id", "name", "description", "status", "fail_reason",
        "size",
        "object_count", "container", "availability_zone", "parent_id", "host", "restore_volume_id", "data_timestamp",
        "created_at", "updated_at", "encryption_key_id", "volume_type_id",
    ]
    static let metadata = MetadataTable(owner: "backup")

    var id: String
    var volumeID: String
    var snapshotID: String?
    var projectID: String
    var userID: String
    var name: String?
    var description: String?
    var status: BackupStatus
    var failReason: String?
    var size: Int
    var objectCount = 0
    var container: String?
    var availabilityZone: String?
    var parentID: String?
    /// The backup service that holds the data.
    var host: String?
    /// The volume a restore in progress writes to.
    var restoreVolumeID: String?
    var dataTimestamp: Date?
    /// The key of an encrypted volume's backup, whose data stays encrypted; nil otherwise.
    var encryptionKeyID: String?
    /// The backed-up volume's type, which a new volume restored from an encrypted backup gets.
    var volumeTypeID: String?
    var createdAt: Date
    var updatedAt: Date?
    var metadata: [String: String] = [:]

    var isIncremental: Bool { parentID != nil }

    init(volume: Volume, projectID: String, userID: String) {
        id = UUID().uuidString.lowercased()
        volumeID = volume.id
        self.projectID = projectID
        self.userID = userID
        status = .creating
        size = volume.size
        availabilityZone = volume.availabilityZone
        encryptionKeyID = volume.encryptionKeyID
        volumeTypeID = volume.typeID
        createdAt = Date()
        dataTimestamp = createdAt
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        volumeID = try row.decode(column: "volume_id", as: String.self)
        snapshotID = try row.decode(column: "snapshot_id", as: String?.self)
        projectID = try row.decode(column: "project_id", as: String.self)
        userID = try row.decode(column: "user_id", as: String.self)
        name = try row.decode(column: "name", as: String?.self)
        description = try row.decode(column: "description", as: String?.self)
        status = try parseState(try row.decode(column: "status", as: String.self), "backup status")
        failReason = try row.decode(column: "fail_reason", as: String?.self)
        size = try row.decode(column: "size", as: Int.self)
        objectCount = try row.decode(column: "object_count", as: Int.self)
        container = try row.decode(column: "container", as: String?.self)
        availabilityZone = try row.decode(column: "availability_zone", as: String?.self)
        parentID = try row.decode(column: "parent_id", as: String?.self)
        host = try row.decode(column: "host", as: String?.self)
        restoreVolumeID = try row.decode(column: "restore_volume_id", as: String?.self)
        dataTimestamp = try row.decode(column: "data_timestamp", as: Double?.self).map(
            Date.init(timeIntervalSince1970:))
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
        updatedAt = try row.decode(column: "updated_at", as: Double?.self).map(Date.init(timeIntervalSince1970:))
        encryptionKeyID = try row.decode(column: "encryption_key_id", as: String?.self)
        volumeTypeID = try row.decode(column: "volume_type_id", as: String?.self)
    }

    var values: [any Encodable & Sendable] {
        [
            id, volumeID, snapshotID, projectID, userID, name, description, status.rawValue, failReason, size,
            objectCount,
            container, availabilityZone, parentID, host, restoreVolumeID, dataTimestamp?.timeIntervalSince1970,
            createdAt.timeIntervalSince1970, updatedAt?.timeIntervalSince1970, encryptionKeyID, volumeTypeID,
        ]
    }
}
