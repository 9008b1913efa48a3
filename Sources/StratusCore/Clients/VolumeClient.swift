/// The Block Storage calls Compute makes to attach volumes to its servers (Cinder's v3.44
/// attachments API) and to create the volumes a server boots from. `token` is the caller's
/// own where a request acts for a user (what they may see and attach); nil acts as the
/// service user.
public protocol VolumeClient: Sendable {
    /// The volume, or nil when it does not exist (or the token's project may not see it).
    func volume(_ id: String, token: String?) async throws -> Volume?
    /// Creates an attachment without a connector (volume `reserved`); returns its id.
    func reserve(volumeID: String, instanceID: String, token: String?) async throws -> String
    /// Gives the attachment this host's connector (volume `attaching`): how to reach the disk.
    func updateAttachment(_ id: String, connector: VolumeConnector) async throws -> VolumeConnection
    /// The guest has the disk (volume `in-use`).
    func completeAttachment(_ id: String) async throws
    /// Deletes the attachment; one already gone is not an error.
    func deleteAttachment(_ id: String) async throws
    /// Marks an in-use volume `detaching` before the guest lets go of it.
    func beginDetaching(_ volumeID: String, token: String?) async throws
    /// Undoes `beginDetaching` (volume back to `in-use`) after a failed detach.
    func rollDetaching(_ volumeID: String) async throws
    /// Creates a volume owned by the token's project (the service user's without one); Cinder
    /// makes it in the background (status `creating`, then `available` or `error`).
    func createVolume(_ request: VolumeRequest, token: String?) async throws -> Volume
    /// Deletes the volume; one already gone is not an error.
    func deleteVolume(_ id: String) async throws
    /// Tells Cinder the guest now uses `new` in place of `old` (or, with `error`, that the
    /// swap failed); answers the id the server's mapping keeps (`save_volume_id`).
    func migrateVolumeCompletion(old: String, new: String, error: Bool) async throws -> String
}

/// A Cinder volume as Compute reads it.
public struct Volume: Sendable, Equatable {
    public struct Attachment: Sendable, Equatable {
        public var attachmentID: String
        public var serverID: String

        public init(attachmentID: String, serverID: String) {
            self.attachmentID = attachmentID
            self.serverID = serverID
        }
    }

    public var id: String
    public var name: String
    public var status: String
    /// GiB.
    public var size: Int
    public var multiattach: Bool
    public var bootable: Bool
    /// The owner, when the caller may see it (`os-vol-tenant-attr:tenant_id`).
    public var projectID: String?
    public var attachments: [Attachment]
    /// `migrating` while Block Storage moves the volume (admins see it).
    public var migrationStatus: String?

    public init(
        id: String, name: String = "", status: String, size: Int, multiattach: Bool = false, bootable: Bool = false,
        projectID: String? = nil, attachments: [Attachment] = [], migrationStatus: String? = nil
    ) {
        self.id = id
        self.name = name
        self.status = status
        self.size = size
        self.multiattach = multiattach
        self.bootable = bootable
        self.projectID = projectID
        self.attachments = attachments
        self.migrationStatus = migrationStatus
    }

    /// A volume from Cinder's detail view.
    public init?(_ body: JSON) {
        guard let id = body["id"]?.stringValue else { return nil }
        let attachments = (body["attachments"]?.arrayValue ?? []).compactMap { attachment -> Attachment? in
            guard let aid = attachment["attachment_id"]?.stringValue else { return nil }
            return Attachment(attachmentID: aid, serverID: attachment["server_id"]?.stringValue ?? "")
        }
        // Cinder shows `bootable` as the string "true" or "false".
        let bootable = body["bootable"]?.stringValue.map { $0.lowercased() == "true" } ?? body["bootable"]?.boolValue
        self.init(
            id: id, name: body["name"]?.stringValue ?? "", status: body["status"]?.stringValue ?? "",
            size: body["size"]?.intValue ?? 0, multiattach: body["multiattach"]?.boolValue ?? false,
            bootable: bootable ?? false, projectID: body["os-vol-tenant-attr:tenant_id"]?.stringValue,
            attachments: attachments, migrationStatus: body["migration_status"]?.stringValue)
    }
}

/// Where a compute host attaches a volume (os-brick's connector properties).
public struct VolumeConnector: Sendable, Equatable {
    public var ip: String
    public var host: String
    /// The device the guest is to see, e.g. `/dev/vdb`.
    public var mountpoint: String

    public init(ip: String, host: String, mountpoint: String) {
        self.ip = ip
        self.host = host
        self.mountpoint = mountpoint
    }
}

/// How a host reaches an attached volume: Cinder's `connection_info`.
public struct VolumeConnection: Sendable, Equatable, Codable {
    public var driverVolumeType: String
    /// The connection data, as the volume driver gave it (`device_path`, `format`, `access_mode` ...).
    public var data: JSON

    public init(driverVolumeType: String, data: JSON) {
        self.driverVolumeType = driverVolumeType
        self.data = data
    }

    /// Cinder's attachment view flattens the data next to `driver_volume_type`.
    public init?(flattened info: JSON) {
        guard var data = info.objectValue, let type = data.removeValue(forKey: "driver_volume_type")?.stringValue
        else {
            return nil
        }
        self.init(driverVolumeType: type, data: .object(data))
    }

    /// Nova's nested form, `{"driver_volume_type": ..., "data": {...}}`.
    public init?(nested info: JSON) {
        guard let type = info["driver_volume_type"]?.stringValue else { return nil }
        self.init(driverVolumeType: type, data: info["data"] ?? [:])
    }

    public var nested: JSON { ["driver_volume_type": .string(driverVolumeType), "data": data] }

    /// The file or block device of a `local` connection.
    public var devicePath: String? { data["device_path"]?.stringValue }
    /// `raw` or `qcow2`; raw when the driver says nothing.
    public var format: String { data["format"]?.stringValue ?? "raw" }
    public var readOnly: Bool { data["access_mode"]?.stringValue == "ro" }
    /// The front-end QoS specs the hypervisor applies (`total_bytes_sec`, `read_iops_sec` ...).
    public var qosSpecs: [String: Int] { data["qos_specs"]?.objectValue?.compactMapValues(\.intValue) ?? [:] }
    /// The key id of an encrypted volume's key (`encrypted` data), which the host opens it with.
    public var encryptionKeyID: String? {
        data["encrypted"]?.boolValue == true ? data["encryption_key_id"]?.stringValue : nil
    }
}

/// A volume Compute creates for a server to boot from (`block_device_mapping_v2` with a
/// source other than a volume).
public struct VolumeRequest: Sendable, Equatable {
    /// GiB.
    public var size: Int
    public var name: String
    public var imageID: String?
    public var snapshotID: String?
    public var sourceVolumeID: String?
    public var availabilityZone: String?

    public init(
        size: Int, name: String, imageID: String? = nil, snapshotID: String? = nil, sourceVolumeID: String? = nil,
        availabilityZone: String? = nil
    ) {
        self.size = size
        self.name = name
        self.imageID = imageID
        self.snapshotID = snapshotID
        self.sourceVolumeID = sourceVolumeID
        self.availabilityZone = availabilityZone
    }
}
