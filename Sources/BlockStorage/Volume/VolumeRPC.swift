import StratusCore

/// The scheduler's methods (topic `cinder-scheduler`).
enum SchedulerRPC {
    static let topic = "cinder-scheduler"
    static let createVolume = RPCMethod<ScheduleVolumeArgs, NoReply>(topic: topic, "create_volume")
}

/// A volume service's methods (topic `cinder-volume`, server `host@backend`).
enum VolumeRPC {
    static let topic = "cinder-volume"
    static let createVolume = RPCMethod<ScheduleVolumeArgs, NoReply>(topic: topic, "create_volume")
    static let deleteVolume = RPCMethod<VolumeArgs, NoReply>(topic: topic, "delete_volume")
    static let extendVolume = RPCMethod<ExtendVolumeArgs, NoReply>(topic: topic, "extend_volume")
    static let revertToSnapshot = RPCMethod<SnapshotArgs, NoReply>(topic: topic, "revert_to_snapshot")
    static let createSnapshot = RPCMethod<SnapshotArgs, NoReply>(topic: topic, "create_snapshot")
    static let deleteSnapshot = RPCMethod<SnapshotArgs, NoReply>(topic: topic, "delete_snapshot")
    static let copyVolumeToImage = RPCMethod<UploadImageArgs, NoReply>(topic: topic, "copy_volume_to_image")
    /// Copies a volume's data here from its current backend (migration, retype).
    static let migrateVolume = RPCMethod<MigrateVolumeArgs, NoReply>(topic: topic, "migrate_volume")
    /// Removes data a migration left behind on the source backend.
    static let deleteData = RPCMethod<DeleteDataArgs, NoReply>(topic: topic, "delete_data")
    /// The driver's connection for an attachment (Cinder's `initialize_connection`).
    static let attachmentUpdate = RPCMethod<AttachmentArgs, VolumeConnection>(topic: topic, "attachment_update")
    /// Takes over existing data as a `managing` volume or a `creating` snapshot.
    static let manageVolume = RPCMethod<ManageArgs, NoReply>(topic: topic, "manage_existing")
    static let manageSnapshot = RPCMethod<ManageArgs, NoReply>(topic: topic, "manage_existing_snapshot")
    /// The data of the backend and who owns it (`get_manageable_volumes`).
    static let listManageable = RPCMethod<NoReply, [ManageableData]>(topic: topic, "get_manageable")
    /// The driver's end of an attachment (`terminate_connection`).
    static let attachmentDelete = RPCMethod<AttachmentArgs, NoReply>(topic: topic, "attachment_delete")
}

struct VolumeArgs: Codable, Sendable {
    var volumeID: String
    enum CodingKeys: String, CodingKey { case volumeID = "volume_id" }
}

/// A volume to place, with the backends that already failed it (one reschedule).
struct ScheduleVolumeArgs: Codable, Sendable {
    var volumeID: String
    var triedHosts: [String] = []
    /// The request that asked for the volume, named in user messages about it.
    var requestID: String?
    enum CodingKeys: String, CodingKey {
        case volumeID = "volume_id"
        case triedHosts = "tried_hosts"
        case requestID = "request_id"
    }
}

struct ExtendVolumeArgs: Codable, Sendable {
    var volumeID: String
    var newSize: Int
    enum CodingKeys: String, CodingKey {
        case volumeID = "volume_id"
        case newSize = "new_size"
    }
}

struct SnapshotArgs: Codable, Sendable {
    var volumeID: String
    var snapshotID: String
    enum CodingKeys: String, CodingKey {
        case volumeID = "volume_id"
        case snapshotID = "snapshot_id"
    }
}

struct UploadImageArgs: Codable, Sendable {
    var volumeID: String
    var imageID: String
    var diskFormat: String
    enum CodingKeys: String, CodingKey {
        case volumeID = "volume_id"
        case imageID = "image_id"
        case diskFormat = "disk_format"
    }
}

struct AttachmentArgs: Codable, Sendable {
    var volumeID: String
    var attachmentID: String
    enum CodingKeys: String, CodingKey {
        case volumeID = "volume_id"
        case attachmentID = "attachment_id"
    }
}

struct MigrateVolumeArgs: Codable, Sendable {
    var volumeID: String
    /// `host@backend#pool` the volume moves to.
    var destination: String
    /// The type the volume has after the move (a retype), or nil to keep its own.
    var newTypeID: String?
    enum CodingKeys: String, CodingKey {
        case volumeID = "volume_id"
        case destination
        case newTypeID = "new_type_id"
    }
}

struct DeleteDataArgs: Codable, Sendable {
    var location: String
}

/// A volume or snapshot record to give the data `name` of the backend.
struct ManageArgs: Codable, Sendable {
    var id: String
    var name: String
}

/// Data of a backend, with the volume or snapshot record that owns it, if any.
struct ManageableData: Codable, Sendable {
    var data: ExistingData
    var ownerID: String?

    enum CodingKeys: String, CodingKey {
        case data
        case ownerID = "owner_id"
    }
}
