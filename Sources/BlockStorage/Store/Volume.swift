import Foundation
import SQLKit
import StratusCore

/// One volume: its row, its user metadata and, for volumes made from an image, the
/// image's metadata (Cinder's glance metadata).
struct Volume: Sendable {
    var id: String
    var projectID: String
    var userID: String
    var name: String?
    var description: String?
    var size: Int
    var status: VolumeStatus
    var previousStatus: VolumeStatus?
    var attachStatus: AttachStatus
    var availabilityZone: String
    /// `host@backend#pool` once scheduled.
    var host: String?
    var typeID: String
    var groupID: String?
    var snapshotID: String?
    var sourceVolumeID: String?
    var imageID: String?
    var bootable = false
    var multiattach = false
    /// Cinder's `readonly` admin metadata: nil until set.
    var readOnlyFlag: Bool?
    var readOnly: Bool { readOnlyFlag ?? false }
    var migrationStatus: String?
    /// Where the driver keeps the data (a file path, a logical volume).
    var providerLocation: String?
    var imageMetadata: [String: String]?
    /// The key manager's id of the key the volume's data is encrypted with; nil: not encrypted.
    var encryptionKeyID: String?
    var encrypted: Bool { encryptionKeyID != nil }
    var createdAt: Date
    var updatedAt: Date?
    var metadata: [String: String] = [:]

    /// `host@backend`, the volume service that owns the volume.
    var backend: String? { host.map { String($0.split(separator: "#", maxSplits: 1)[0]) } }

    static let columns = [
        "id", "project_id", "user_id", "name", "description", "size", "status", "previous_status", "attach_status",
        "availability_zone", "host", "volume_type_id", "group_id", "snapshot_id", "source_volid", "image_id",
        "bootable",
        "multiattach", "readonly", "migration_status", "provider_location", "image_metadata", "created_at",
        "updated_at", "encryption_key_id",
    ]

    init(
        id: String = UUID().uuidString.lowercased(), projectID: String, userID: String, size: Int,
        availabilityZone: String, typeID: String
    ) {
        self.id = id
        self.projectID = projectID
        self.userID = userID
        self.size = size
        self.status = .creating
        self.attachStatus = .detached
        self.availabilityZone = availabilityZone
        self.typeID = typeID
        self.createdAt = Date()
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        projectID = try row.decode(column: "project_id", as: String.self)
        userID = try row.decode(column: "user_id", as: String.self)
        name = try row.decode(column: "name", as: String?.self)
        description = try row.decode(column: "description", as: String?.self)
        size = try row.decode(column: "size", as: Int.self)
        status = try parseState(try row.decode(column: "status", as: String.self), "volume status")
        previousStatus = try row.decode(column: "previous_status", as: String?.self).map {
            try parseState($0, "status")
        }
        attachStatus = try parseState(try row.decode(column: "attach_status", as: String.self), "attach status")
        availabilityZone = try row.decode(column: "availability_zone", as: String.self)
        host = try row.decode(column: "host", as: String?.self)
        typeID = try row.decode(column: "volume_type_id", as: String.self)
        groupID = try row.decode(column: "group_id", as: String?.self)
        snapshotID = try row.decode(column: "snapshot_id", as: String?.self)
        sourceVolumeID = try row.decode(column: "source_volid", as: String?.self)
        imageID = try row.decode(column: "image_id", as: String?.self)
        bootable = try row.decode(column: "bootable", as: Bool.self)
        multiattach = try row.decode(column: "multiattach", as: Bool.self)
        readOnlyFlag = try row.decode(column: "readonly", as: Bool?.self)
        migrationStatus = try row.decode(column: "migration_status", as: String?.self)
        providerLocation = try row.decode(column: "provider_location", as: String?.self)
        imageMetadata = try row.decode(column: "image_metadata", as: String?.self).map(StringMap.decode)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
        updatedAt = try row.decode(column: "updated_at", as: Double?.self).map(Date.init(timeIntervalSince1970:))
        encryptionKeyID = try row.decode(column: "encryption_key_id", as: String?.self)
    }

    /// Every column's value, in `columns` order.
    var values: [any Encodable & Sendable] {
        [
            id, projectID, userID, name, description, size, status.rawValue, previousStatus?.rawValue,
            attachStatus.rawValue, availabilityZone, host, typeID, groupID, snapshotID, sourceVolumeID, imageID,
            bootable,
            multiattach, readOnlyFlag, migrationStatus, providerLocation, imageMetadata.map(StringMap.encode),
            createdAt.timeIntervalSince1970, updatedAt?.timeIntervalSince1970, encryptionKeyID,
        ]
    }
}

/// String maps kept as one JSON text column.
enum StringMap {
    static func encode(_ map: [String: String]) -> String {
        JSON.object(map.mapValues { .string($0) }).serialized()
    }

    static func decode(_ text: String) throws -> [String: String] {
        let object = try JSON.parse(Array(text.utf8)).objectValue ?? [:]
        return object.compactMapValues(\.stringValue)
    }
}
