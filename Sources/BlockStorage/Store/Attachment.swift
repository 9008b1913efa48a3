import Foundation
import SQLKit
import StratusCore

/// One attachment of a volume to a server (Cinder 3.27+ attachments; the legacy actions
/// make them too).
struct Attachment: StoredRow {
    static let table = "attachments"
    static let columns = [
        "id", "volume_id", "instance_uuid", "attached_host", "mountpoint", "attach_status", "attach_mode",
        "connector", "connection_info", "attach_time", "detach_time", "created_at",
    ]

    var id: String
    var volumeID: String
    var instanceID: String?
    var attachedHost: String?
    var mountpoint: String?
    var status: AttachStatus
    var mode: AttachMode?
    /// The connector the compute host sent (its wire form).
    var connector: JSON?
    /// What the driver answered for that connector.
    var connection: VolumeConnection?
    var attachedAt: Date?
    var detachedAt: Date?
    var createdAt: Date

    init(volumeID: String, instanceID: String?) {
        id = UUID().uuidString.lowercased()
        self.volumeID = volumeID
        self.instanceID = instanceID
        status = .reserved
        createdAt = Date()
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        volumeID = try row.decode(column: "volume_id", as: String.self)
        instanceID = try row.decode(column: "instance_uuid", as: String?.self)
        attachedHost = try row.decode(column: "attached_host", as: String?.self)
        mountpoint = try row.decode(column: "mountpoint", as: String?.self)
        status = try parseState(try row.decode(column: "attach_status", as: String.self), "attach status")
        mode = try row.decode(column: "attach_mode", as: String?.self).map { try parseState($0, "attach mode") }
        connector = try row.decode(column: "connector", as: String?.self).map { try JSON.parse(Array($0.utf8)) }
        connection = try row.decode(column: "connection_info", as: String?.self).map {
            try VolumeConnection(stored: try JSON.parse(Array($0.utf8)))
        }
        attachedAt = try row.decode(column: "attach_time", as: Double?.self).map(Date.init(timeIntervalSince1970:))
        detachedAt = try row.decode(column: "detach_time", as: Double?.self).map(Date.init(timeIntervalSince1970:))
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
    }

    var values: [any Encodable & Sendable] {
        [
            id, volumeID, instanceID, attachedHost, mountpoint, status.rawValue, mode?.rawValue,
            connector.map { $0.serialized() }, connection.map { $0.stored.serialized() },
            attachedAt?.timeIntervalSince1970,
            detachedAt?.timeIntervalSince1970, createdAt.timeIntervalSince1970,
        ]
    }
}

/// How a host opens a volume: what a driver's `initialize_connection` answers. Local
/// drivers give a path (a file or a block device) the hypervisor opens directly.
struct VolumeConnection: Codable, Sendable, Equatable {
    var driverVolumeType: String
    var devicePath: String
    /// `qcow2` or `raw`.
    var format: String
    var accessMode: AttachMode
    /// The volume type's front-end QoS specs (I/O limits the hypervisor applies), per-GiB
    /// ones already multiplied by the volume's size.
    var qosSpecs: [String: Int]?
    /// The key manager's id of the key of an encrypted volume, which the host opens with it.
    var encryptionKeyID: String?

    enum CodingKeys: String, CodingKey {
        case driverVolumeType = "driver_volume_type"
        case devicePath = "device_path"
        case format
        case accessMode = "access_mode"
        case qosSpecs = "qos_specs"
        case encryptionKeyID = "encryption_key_id"
    }

    init(
        driverVolumeType: String, devicePath: String, format: String, accessMode: AttachMode,
        qosSpecs: [String: Int]? = nil
    ) {
        self.driverVolumeType = driverVolumeType
        self.devicePath = devicePath
        self.format = format
        self.accessMode = accessMode
        self.qosSpecs = qosSpecs
    }

    init(stored: JSON) throws {
        guard let type = stored["driver_volume_type"]?.stringValue, let path = stored["device_path"]?.stringValue,
            let format = stored["format"]?.stringValue, let mode = stored["access_mode"]?.stringValue
        else { throw UnknownState(kind: "connection", value: stored.serialized()) }
        let qos = stored["qos_specs"]?.objectValue?.compactMapValues(\.intValue)
        self.init(
            driverVolumeType: type, devicePath: path, format: format, accessMode: try parseState(mode, "mode"),
            qosSpecs: qos)
        encryptionKeyID = stored["encryption_key_id"]?.stringValue
    }

    var stored: JSON {
        [
            "driver_volume_type": .string(driverVolumeType), "device_path": .string(devicePath),
            "format": .string(format), "access_mode": .string(accessMode.rawValue),
            "qos_specs": qosSpecs.map { .object($0.mapValues { .int($0) }) } ?? .null,
            "encrypted": .bool(encryptionKeyID != nil),
            "encryption_key_id": encryptionKeyID.map(JSON.string) ?? .null,
        ]
    }

    /// Cinder's attachment view: the data keys flattened next to `driver_volume_type`.
    func wire(attachmentID: String) -> JSON {
        var object = stored.objectValue ?? [:]
        object["attachment_id"] = .string(attachmentID)
        object["enforce_multipath"] = false
        return .object(object)
    }
}
