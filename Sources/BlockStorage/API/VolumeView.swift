import Foundation
import Hummingbird
import StratusCore

/// Cinder's volume views. `extended` adds the extension keys of show and detail lists
/// (never create or update answers).
struct VolumeView {
    let base: LinkBase
    let context: StratusContext
    let admin: Bool
    /// Volume type names by id.
    let typeNames: [String: String]

    func summary(_ volume: Volume) -> JSON {
        [
            "id": .string(volume.id), "name": volume.name.map(JSON.string) ?? .null,
            "links": base.links("volumes", volume.id),
        ]
    }

    func detail(_ volume: Volume, attachments: [Attachment], extended: Bool) -> JSON {
        var metadata = volume.metadata.mapValues(JSON.string)
        if volume.readOnlyFlag != nil || volume.attachStatus != .detached {
            metadata["readonly"] = volume.readOnly ? "True" : "False"
        }
        if let mode = attachments.first(where: { $0.status == .attached })?.mode {
            metadata["attached_mode"] = .string(mode.rawValue)
        }
        var view: [String: JSON] = [
            "id": .string(volume.id), "name": volume.name.map(JSON.string) ?? .null,
            "description": volume.description.map(JSON.string) ?? .null, "status": .string(volume.status.shown),
            "size": .int(volume.size), "availability_zone": .string(volume.availabilityZone),
            "created_at": .string(Timestamp.iso8601(volume.createdAt, fractional: true)),
            "updated_at": volume.updatedAt.map { .string(Timestamp.iso8601($0, fractional: true)) } ?? .null,
            "attachments": .array(attachments.filter { $0.status == .attached }.map { attachmentView($0, volume) }),
            "links": base.links("volumes", volume.id), "user_id": .string(volume.userID),
            "metadata": .object(metadata), "bootable": volume.bootable ? "true" : "false",
            "encrypted": .bool(volume.encrypted),
            "multiattach": .bool(volume.multiattach), "replication_status": "disabled", "consistencygroup_id": .null,
            "snapshot_id": volume.snapshotID.map(JSON.string) ?? .null,
            "source_volid": volume.sourceVolumeID.map(JSON.string) ?? .null,
            "volume_type": .string(typeNames[volume.typeID] ?? volume.typeID),
        ]
        if admin { view["migration_status"] = volume.migrationStatus.map(JSON.string) ?? .null }
        if context.version(atLeast: 3, 13) { view["group_id"] = volume.groupID.map(JSON.string) ?? .null }
        if context.version(atLeast: 3, 21), admin { view["provider_id"] = .null }
        if context.version(atLeast: 3, 48) {
            view["shared_targets"] = false
            view["service_uuid"] = volume.host.map { .string(Self.serviceUUID($0)) } ?? .null
        }
        if context.version(atLeast: 3, 61), admin { view["cluster_name"] = .null }
        if context.version(atLeast: 3, 63) { view["volume_type_id"] = .string(volume.typeID) }
        if context.version(atLeast: 3, 64) {
            view["encryption_key_id"] = volume.encryptionKeyID.map(JSON.string) ?? .null
        }
        if context.version(atLeast: 3, 65) { view["consumes_quota"] = true }
        if extended {
            view["os-vol-tenant-attr:tenant_id"] = .string(volume.projectID)
            if let image = volume.imageMetadata {
                view["volume_image_metadata"] = .object(image.mapValues(JSON.string))
            }
            if admin {
                view["os-vol-host-attr:host"] = volume.host.map(JSON.string) ?? .null
                view["os-vol-mig-status-attr:migstat"] = volume.migrationStatus.map(JSON.string) ?? .null
                view["os-vol-mig-status-attr:name_id"] = .null
            }
        }
        return .object(view)
    }

    func attachmentView(_ attachment: Attachment, _ volume: Volume) -> JSON {
        [
            "id": .string(volume.id), "attachment_id": .string(attachment.id), "volume_id": .string(volume.id),
            "server_id": attachment.instanceID.map(JSON.string) ?? .null,
            "host_name": admin ? attachment.attachedHost.map(JSON.string) ?? .null : .null,
            "device": attachment.mountpoint.map(JSON.string) ?? .null,
            "attached_at": attachment.attachedAt.map { .string(Timestamp.iso8601($0, fractional: true)) } ?? .null,
        ]
    }

    /// A stable id of the volume service that owns the volume.
    static func serviceUUID(_ host: String) -> String {
        let backend = host.split(separator: "#", maxSplits: 1)[0]
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in backend.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let hex = String(hash, radix: 16).leftPadded(to: 16) + String(hash.byteSwapped, radix: 16).leftPadded(to: 16)
        let chars = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
