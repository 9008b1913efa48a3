import Foundation
import SQLKit
import StratusCore

/// The body of `POST /volumes`, checked for shape (sources are checked against the records).
struct VolumeCreateRequest: Sendable {
    var size: Int?
    var name: String?
    var description: String?
    var typeName: String?
    var snapshotID: String?
    var sourceVolumeID: String?
    var imageID: String?
    var zone: String?
    var metadata: [String: String] = [:]
    var multiattach = false
    var groupID: String?

    init(_ body: [String: JSON]) throws {
        if let value = body["size"], !value.isNull {
            let number =
                value.intValue
                ?? value.stringValue.flatMap { text in
                    text.allSatisfy(\.isNumber) ? Int(text) : nil
                }
            guard let number, number > 0 else {
                let shown = value.stringValue ?? value.serialized()
                throw BlockStorageError.invalidInput("Volume size '\(shown)' must be an integer and greater than 0")
            }
            size = number
        }
        name = try BlockStorageAPI.optionalText(body, "name", "display_name") ?? nil
        description = try BlockStorageAPI.optionalText(body, "description", "display_description") ?? nil
        typeName = body["volume_type"]?.stringValue
        snapshotID = body["snapshot_id"]?.stringValue
        sourceVolumeID = body["source_volid"]?.stringValue
        imageID = body["imageRef"]?.stringValue ?? body["image_id"]?.stringValue
        zone = body["availability_zone"]?.stringValue
        groupID = body["group_id"]?.stringValue
        if let metadata = body["metadata"], !metadata.isNull { self.metadata = try BlockStorageAPI.metadata(metadata) }
        if let flag = body["multiattach"], !flag.isNull {
            guard let value = flag.boolValue ?? flag.stringValue.flatMap(BlockStorageAPI.boolWord) else {
                throw BlockStorageError.invalidInput("multiattach must be a boolean")
            }
            multiattach = value
        }
        if size == nil, snapshotID == nil, sourceVolumeID == nil, imageID == nil {
            throw BlockStorageError.invalidInput("Volume size '' must be an integer and greater than 0")
        }
        if body["backup_id"].map({ !$0.isNull }) == true {
            throw BlockStorageError.invalidInput("Volumes cannot be restored from backups here yet.")
        }
    }
}

extension BlockStorageAPI {
    /// Checks the sources, records the volume as `creating` and hands it to the scheduler.
    func createVolume(_ request: VolumeCreateRequest, auth: AuthContext, requestID: String?) async throws -> Volume {
        let project = auth.projectID ?? ""
        let admin = isAdmin(auth)
        var imageMetadata: [String: String]?
        var imageMinGB = 0
        if let imageID = request.imageID {
            guard let image = try await images.image(imageID, token: auth.token) else {
                throw APIError.notFound("Image \(imageID) could not be found.")
            }
            guard image["status"]?.stringValue == "active" else {
                throw BlockStorageError.invalidInput("Image \(imageID) is not active.")
            }
            imageMetadata = Self.glanceMetadata(image)
            let bytes = image["size"]?.intValue ?? 0
            imageMinGB = max(image["min_disk"]?.intValue ?? 0, (bytes + (1 << 30) - 1) >> 30)
            if let virtual = image["virtual_size"]?.intValue {
                imageMinGB = max(imageMinGB, (virtual + (1 << 30) - 1) >> 30)
            }
        }
        let (glance, minimumGB) = (imageMetadata, imageMinGB)
        let created: Volume = try await db.transaction { db in
            let type: VolumeType
            if let name = request.typeName {
                guard let found = try await VolumeTypes.get(name, in: db),
                    try await VolumeTypes.visible(found, to: project, admin: admin, in: db)
                else { throw APIError.notFound("Volume type with name \(name) could not be found.") }
                type = found
            } else {
                type = try await VolumeTypes.ensureDefault(in: db)
            }
            let encryption = try await EncryptionType.of(type: type.id, in: db)
            _ = try encryption?.luksCipher()
            var size = request.size
            var zone = request.zone ?? settings.defaultZone
            // A copy of a volume (or of its snapshot) is bootable and shows image metadata as it does.
            var inherited: Volume?
            if let id = request.snapshotID {
                guard let snapshot = try await Snapshot.get(id, in: db), snapshot.projectID == project || admin else {
                    throw BlockStorageError.snapshotNotFound(id)
                }
                guard snapshot.status == .available else {
                    throw BlockStorageError.invalidInput("Snapshot \(id) status must be available")
                }
                if let wanted = size, wanted < snapshot.size {
                    throw BlockStorageError.invalidInput(
                        "Volume size \(wanted)GB cannot be smaller than the snapshot size \(snapshot.size)GB. "
                            + "They must be >= original snapshot size."
                    )
                }
                size = size ?? snapshot.size
                inherited = try await Volume.get(snapshot.volumeID, in: db)
                zone = request.zone ?? inherited?.availabilityZone ?? zone
            }
            if let id = request.sourceVolumeID {
                guard let source = try await Volume.get(id, in: db), source.projectID == project || admin else {
                    throw BlockStorageError.volumeNotFound(id)
                }
                guard [.available, .inUse].contains(source.status) else {
                    throw BlockStorageError.invalidVolume("Source volume \(id) status must be available or in-use")
                }
                if let wanted = size, wanted < source.size {
                    throw BlockStorageError.invalidInput(
                        "Volume size \(wanted)GB cannot be smaller than original volume size \(source.size)GB. "
                            + "They must be >= original volume size."
                    )
                }
                size = size ?? source.size
                zone = request.zone ?? source.availabilityZone
                inherited = source
            }
            if request.imageID != nil {
                size = size ?? max(minimumGB, 1)
                if let wanted = size, wanted < minimumGB {
                    throw BlockStorageError.invalidInput(
                        "Size of specified image \(minimumGB)GB is larger than volume size \(wanted)GB.")
                }
            }
            guard let size else { throw BlockStorageError.invalidInput("Volume size must be given") }
            if let groupID = request.groupID {
                guard let group = try await VolumeGroup.load(groupID, in: db), group.projectID == project || admin
                else {
                    throw APIError.notFound("Group \(groupID) could not be found.")
                }
                guard group.volumeTypeIDs.contains(type.id) else {
                    throw BlockStorageError.invalidInput("Volume type \(type.name) is not in group \(groupID).")
                }
            }
            let zones = try await ServiceRecord.all(in: db).map(\.zone) + [settings.defaultZone]
            guard zones.contains(zone) else {
                throw BlockStorageError.invalidInput("Availability zone '\(zone)' is invalid.")
            }
            if inherited?.encrypted == true, encryption == nil {
                throw BlockStorageError.invalidInput(
                    "Volume type \(type.name) is not encrypted; an encrypted volume's data stays encrypted.")
            }
            try await Quotas.check(project: project, adding: .init(volumes: 1, gigabytes: size), in: db)
            var volume = Volume(
                projectID: project, userID: auth.userID, size: size, availabilityZone: zone, typeID: type.id)
            volume.name = request.name
            volume.description = request.description
            volume.snapshotID = request.snapshotID
            volume.sourceVolumeID = request.sourceVolumeID
            volume.imageID = request.imageID
            volume.imageMetadata = glance ?? inherited?.imageMetadata
            volume.bootable = inherited?.bootable ?? false
            volume.multiattach = request.multiattach || type.isMultiattach
            volume.metadata = request.metadata
            volume.groupID = request.groupID
            volume.encryptionKeyID = encryption.map { _ in FixedKeyManager.keyID }
            try await volume.insert(in: db)
            try await VolumeStore.metadata.replace(volume.id, with: request.metadata, in: db)
            return volume
        }
        try await bus.cast(SchedulerRPC.createVolume, ScheduleVolumeArgs(volumeID: created.id, requestID: requestID))
        return created
    }

    /// Cinder's glance metadata of a volume made from an image.
    static func glanceMetadata(_ image: JSON) -> [String: String] {
        var metadata: [String: String] = [:]
        let known = [
            "id": "image_id", "name": "image_name", "checksum": "checksum", "container_format": "container_format",
            "disk_format": "disk_format", "min_disk": "min_disk", "min_ram": "min_ram", "size": "size",
        ]
        let skipped: Set<String> = [
            "status", "visibility", "protected", "owner", "created_at", "updated_at", "tags", "file", "schema", "self",
            "locations", "direct_url", "virtual_size", "os_hash_algo", "os_hash_value", "os_hidden", "stores",
        ]
        for (key, value) in image.objectValue ?? [:] where !value.isNull {
            let text = value.stringValue ?? value.serialized()
            if let renamed = known[key] {
                metadata[renamed] = text
            } else if !skipped.contains(key) {
                metadata[key] = text
            }
        }
        return metadata
    }

    /// Marks the volume `deleting` (its snapshots too with `cascade`) and asks its backend
    /// to remove the data; a volume never placed is removed at once.
    func deleteVolume(_ volume: Volume, cascade: Bool, force: Bool) async throws {
        let snapshots: [Snapshot] = try await db.transaction { db in
            guard var current = try await Volume.getForUpdate(volume.id, in: db) else {
                throw BlockStorageError.volumeNotFound(volume.id)
            }
            if !force {
                guard VolumeStatus.deletable.contains(current.status), current.attachStatus == .detached else {
                    throw BlockStorageError.invalidVolume(
                        "Volume status must be available or error or error_restoring or error_extending or "
                            + "error_managing and must not be migrating, attached, belong to a group, have snapshots, "
                            + "awaiting a transfer, or be disassociated from snapshots after volume transfer."
                    )
                }
            }
            let snapshots = try await Snapshot.select(where: "volume_id = \(bind: volume.id)", in: db)
            if !snapshots.isEmpty, !cascade {
                throw BlockStorageError.invalidVolume(
                    "Volume \(volume.id) still has \(snapshots.count) dependent snapshots.")
            }
            if cascade, snapshots.contains(where: { ![.available, .error].contains($0.status) }) {
                throw BlockStorageError.invalidVolume("Snapshots of volume \(volume.id) must be available or error.")
            }
            for var snapshot in snapshots {
                snapshot.status = .deleting
                try await snapshot.save(in: db)
            }
            guard current.host != nil else {
                try await VolumeStore.metadata.removeAll(volume.id, in: db)
                try await Volume.delete(volume.id, in: db)
                return []
            }
            current.status = .deleting
            current.updatedAt = Date()
            try await current.save(in: db)
            return snapshots
        }
        guard let backend = volume.backend else { return }
        for snapshot in snapshots {
            try await bus.cast(
                VolumeRPC.deleteSnapshot, to: backend, SnapshotArgs(volumeID: volume.id, snapshotID: snapshot.id))
        }
        try await bus.cast(VolumeRPC.deleteVolume, to: backend, VolumeArgs(volumeID: volume.id))
    }
}
