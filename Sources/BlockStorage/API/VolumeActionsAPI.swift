import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `POST /volumes/{id}/action`: one action per request, named by the body's only key.
extension BlockStorageAPI {
    func registerVolumeActions(on router: RouterGroup<StratusContext>) {
        router.post("/volumes/:id/action") { request, context -> Response in
            let auth = try self.caller(context)
            let body = try await request.jsonObject(context: context)
            guard body.count == 1, let (action, argument) = body.first else {
                throw APIError.badRequest("There is no such action: \(body.keys.sorted().joined(separator: ","))")
            }
            let args = argument.objectValue ?? [:]
            let volume = try await visibleVolume(context, auth, rule: Self.actionRules[action] ?? "volume:update")
            switch action {
            case "os-set_bootable":
                guard let flag = args["bootable"].flatMap({ $0.boolValue ?? $0.stringValue.flatMap(Self.boolWord) })
                else {
                    throw BlockStorageError.invalidInput("Invalid value for 'bootable'")
                }
                try await change(volume, from: Set(VolumeStatus.allCases)) { $0.bootable = flag }
                return Response(status: .ok)
            case "os-update_readonly_flag":
                guard let flag = args["readonly"].flatMap({ $0.boolValue ?? $0.stringValue.flatMap(Self.boolWord) })
                else {
                    throw BlockStorageError.invalidInput("Invalid value for 'readonly'")
                }
                try await change(volume, from: [.available]) { $0.readOnlyFlag = flag }
                return Response(status: .accepted)
            case "os-extend":
                try await extend(volume, args, context)
                return Response(status: .accepted)
            case "os-reset_status":
                try await resetStatus(volume, args)
                return Response(status: .accepted)
            case "os-extend_volume_completion" where context.version(atLeast: 3, 71):
                // Nova's answer to an extend that waits for it: the volume services here grow
                // files themselves and never wait, so no volume is ever waiting.
                throw BlockStorageError.invalidVolume(
                    "Volume \(volume.id) is not waiting for Compute to complete an extend.")
            case "os-force_delete":
                try await deleteVolume(volume, cascade: false, force: true)
                return Response(status: .accepted)
            case "os-reserve":
                try await change(volume, from: [.available]) { $0.status = .attaching }
                return Response(status: .accepted)
            case "os-unreserve":
                try await change(volume, from: [.attaching]) {
                    $0.status = $0.attachStatus == .attached ? .inUse : .available
                }
                return Response(status: .accepted)
            case "os-begin_detaching":
                try await change(volume, from: [.inUse]) { $0.status = .detaching }
                return Response(status: .accepted)
            case "os-roll_detaching":
                try await change(volume, from: [.detaching]) { $0.status = .inUse }
                return Response(status: .accepted)
            case "os-attach":
                try await legacyAttach(volume, args)
                return Response(status: .accepted)
            case "os-detach":
                try await legacyDetach(volume, attachmentID: args["attachment_id"]?.stringValue)
                return Response(status: .accepted)
            case "os-force_detach":
                try await legacyDetach(volume, attachmentID: args["attachment_id"]?.stringValue)
                try await change(volume, from: Set(VolumeStatus.allCases)) { volume in
                    volume.status = volume.attachStatus == .attached ? .inUse : .available
                }
                return Response(status: .accepted)
            case "os-set_image_metadata", "os-unset_image_metadata", "os-show_image_metadata":
                return try await imageMetadata(volume, action, args)
            case "os-initialize_connection":
                guard let backend = volume.backend else { throw BlockStorageError.invalidVolume("Volume has no host") }
                var connection = try await bus.call(
                    VolumeRPC.attachmentUpdate, on: backend, AttachmentArgs(volumeID: volume.id, attachmentID: ""))
                connection.qosSpecs = try await db.read { try await QosSpecs.frontEndLimits(of: volume, in: $0) }
                let data = connection.stored.objectValue?.filter { $0.key != "driver_volume_type" } ?? [:]
                return .json([
                    "connection_info": [
                        "driver_volume_type": .string(connection.driverVolumeType), "data": .object(data),
                    ]
                ])
            case "os-terminate_connection":
                return Response(status: .accepted)
            case "os-volume_upload_image":
                return try await uploadToImage(volume, args, auth, context)
            case "os-retype":
                try await retype(volume, args, auth)
                return Response(status: .accepted)
            case "os-migrate_volume":
                try await migrate(volume, args)
                return Response(status: .accepted)
            case "os-migrate_volume_completion":
                return .json(try await completeMigration(volume, args))
            case "os-unmanage":
                try await unmanageVolume(volume)
                return Response(status: .accepted)
            case "revert":
                try await revert(volume, args, context)
                return Response(status: .accepted)
            default:
                throw APIError.badRequest("There is no such action: \(action)")
            }
        }
    }

    static let actionRules: [String: String] = [
        "os-extend": "volume:extend", "os-reset_status": "volume_extension:volume_admin_actions:reset_status",
        "os-force_delete": "volume_extension:volume_admin_actions:force_delete",
        "os-volume_upload_image": "volume_extension:volume_actions:upload_image",
        "os-update_readonly_flag": "volume:update_readonly_flag", "revert": "volume:revert_to_snapshot",
        "os-force_detach": "volume_extension:volume_admin_actions:force_detach", "os-retype": "volume:retype",
        "os-migrate_volume": "volume_extension:volume_admin_actions:migrate_volume",
        "os-migrate_volume_completion": "volume_extension:volume_admin_actions:migrate_volume_completion",
        "os-show_image_metadata": "volume:get_volume_metadata", "os-unmanage": "volume_extension:volume_unmanage",
        "os-extend_volume_completion": "volume:extend_volume_completion",
    ]

    /// A state change of the volume, 400 (Cinder's "Invalid volume") outside `states`.
    @discardableResult
    func change(
        _ volume: Volume, from states: Set<VolumeStatus>, _ body: @escaping @Sendable (inout Volume) -> Void
    ) async throws -> Volume {
        let changed = try await db.change(Volume.self, volume.id, when: { states.contains($0.status) }, body: body)
        guard let changed else {
            let allowed = states.map(\.rawValue).sorted().joined(separator: " or ")
            throw BlockStorageError.invalidVolume("Volume \(volume.id) status must be \(allowed).")
        }
        return changed
    }

    /// The glance metadata of a volume: shown, set key by key, or one key removed.
    private func imageMetadata(_ volume: Volume, _ action: String, _ args: [String: JSON]) async throws -> Response {
        var changes: [String: String?] = [:]
        if action == "os-set_image_metadata" {
            guard let given = args["metadata"] else { throw BlockStorageError.invalidInput("metadata is required") }
            for (key, value) in try Self.metadata(given) { changes[key] = value }
        } else if action == "os-unset_image_metadata" {
            guard let key = args["key"]?.stringValue else { throw BlockStorageError.invalidInput("key is required") }
            guard volume.imageMetadata?[key] != nil else {
                throw APIError.notFound("Glance metadata for volume \(volume.id) with key \(key) could not be found.")
            }
            changes[key] = .some(nil)
        }
        let given = changes
        let updated = try await change(volume, from: Set(VolumeStatus.allCases)) { volume in
            var metadata = volume.imageMetadata ?? [:]
            for (key, value) in given { metadata[key] = value }
            volume.imageMetadata = metadata.isEmpty && volume.imageMetadata == nil ? nil : metadata
        }
        if action == "os-unset_image_metadata" { return Response(status: .ok) }
        return .json(["metadata": .object((updated.imageMetadata ?? [:]).mapValues(JSON.string))])
    }

    private func extend(_ volume: Volume, _ args: [String: JSON], _ context: StratusContext) async throws {
        guard let size = args["new_size"].flatMap({ $0.intValue ?? $0.stringValue.flatMap { Int($0) } }), size > 0
        else {
            throw BlockStorageError.invalidInput("New volume size must be specified as an integer.")
        }
        guard size > volume.size else {
            throw BlockStorageError.invalidInput(
                "New size for extend must be greater than current size. (current: \(volume.size), extended: \(size)).")
        }
        let states: Set<VolumeStatus> = context.version(atLeast: 3, 42) ? [.available, .inUse] : [.available]
        try await db.transaction { db in
            try await Quotas.check(project: volume.projectID, adding: .init(gigabytes: size - volume.size), in: db)
        }
        try await change(volume, from: states) { volume in
            volume.previousStatus = volume.status
            volume.status = .extending
        }
        guard let backend = volume.backend else { return }
        try await bus.cast(VolumeRPC.extendVolume, to: backend, ExtendVolumeArgs(volumeID: volume.id, newSize: size))
    }

    private func resetStatus(_ volume: Volume, _ args: [String: JSON]) async throws {
        let status = try args["status"]?.stringValue.map { text -> VolumeStatus in
            guard let state = VolumeStatus(rawValue: text) else {
                throw BlockStorageError.invalidInput("Invalid status \(text)")
            }
            return state
        }
        let attach = try args["attach_status"]?.stringValue.map { text -> AttachStatus in
            guard let state = AttachStatus(rawValue: text), [.attached, .detached].contains(state) else {
                throw BlockStorageError.invalidInput("Invalid attach status \(text)")
            }
            return state
        }
        let migration = args["migration_status"]?.stringValue
        guard status != nil || attach != nil || migration != nil else {
            throw BlockStorageError.invalidInput(
                "Must specify 'status', 'attach_status' or 'migration_status' for update.")
        }
        try await change(volume, from: Set(VolumeStatus.allCases)) { volume in
            if let status { volume.status = status }
            if let attach { volume.attachStatus = attach }
            if let migration { volume.migrationStatus = migration == "none" ? nil : migration }
        }
    }

    private func revert(_ volume: Volume, _ args: [String: JSON], _ context: StratusContext) async throws {
        guard context.version(atLeast: 3, 40) else { throw APIError.notFound("There is no such action: revert") }
        guard let id = args["snapshot_id"]?.stringValue else {
            throw BlockStorageError.invalidInput("snapshot_id is required")
        }
        let latest = try await db.read { db in
            try await Snapshot.select(where: "volume_id = \(bind: volume.id)", limit: 1, in: db).first
        }
        guard let latest, latest.id == id else {
            throw BlockStorageError.invalidInput(
                "Cannot revert volume \(volume.id) to snapshot \(id): it is not the latest one.")
        }
        guard latest.status == .available, latest.size == volume.size else {
            throw BlockStorageError.invalidInput("The snapshot must be available and of the volume's size.")
        }
        try await change(volume, from: [.available]) { $0.status = .reverting }
        try await db.changeSnapshot(id, from: .available) { $0.status = .restoring }
        guard let backend = volume.backend else { return }
        try await bus.cast(VolumeRPC.revertToSnapshot, to: backend, SnapshotArgs(volumeID: volume.id, snapshotID: id))
    }

    private func uploadToImage(
        _ volume: Volume, _ args: [String: JSON], _ auth: AuthContext, _ context: StratusContext
    ) async throws -> Response {
        guard let name = args["image_name"]?.stringValue else {
            throw BlockStorageError.invalidInput("image_name is required")
        }
        let diskFormat = args["disk_format"]?.stringValue ?? "raw"
        guard ["raw", "qcow2"].contains(diskFormat) else {
            throw BlockStorageError.invalidInput(
                "Invalid disk-format '\(diskFormat)' specified. Allowed disk-formats are raw, qcow2.")
        }
        let containerFormat = args["container_format"]?.stringValue ?? "bare"
        let force = args["force"].flatMap { $0.boolValue ?? $0.stringValue.flatMap(Self.boolWord) } ?? false
        let states: Set<VolumeStatus> = force ? [.available, .inUse] : [.available]
        guard states.contains(volume.status) else {
            throw BlockStorageError.invalidVolume(
                "Volume \(volume.id) status must be available, but current status is: \(volume.status.rawValue).")
        }
        guard !volume.encrypted else {
            throw BlockStorageError.invalidVolume(
                "Volume \(volume.id) is encrypted; encrypted volumes cannot be uploaded to images.")
        }
        let visibility = args["visibility"]?.stringValue ?? "private"
        let protected = args["protected"]?.boolValue ?? false
        var properties: [String: JSON] = [
            "name": .string(name), "disk_format": .string(diskFormat), "container_format": .string(containerFormat),
            "visibility": .string(visibility), "protected": .bool(protected),
        ]
        if let minRAM = volume.imageMetadata?["min_ram"].flatMap({ Int($0) }) { properties["min_ram"] = .int(minRAM) }
        properties["min_disk"] = .int(volume.size)
        let imageID: String
        do {
            imageID = try await images.createImage(properties, token: auth.token)
        } catch let fault as ServiceFault {
            throw APIError(HTTPResponse.Status(code: fault.status < 500 ? fault.status : 400), fault.message)
        }
        let updated = try await change(volume, from: states) { volume in
            volume.previousStatus = volume.status
            volume.status = .uploading
        }
        if let backend = volume.backend {
            try await bus.cast(
                VolumeRPC.copyVolumeToImage, to: backend,
                UploadImageArgs(volumeID: volume.id, imageID: imageID, diskFormat: diskFormat))
        }
        let types = try await db.read { try await VolumeType.get(volume.typeID, in: $0) }
        let body: JSON = [
            "id": .string(volume.id), "status": "uploading", "image_id": .string(imageID), "image_name": .string(name),
            "disk_format": .string(diskFormat), "container_format": .string(containerFormat),
            "size": .int(volume.size),
            "volume_type": types.map { ["id": .string($0.id), "name": .string($0.name)] } ?? .null,
            "display_description": volume.description.map(JSON.string) ?? .null,
            "updated_at": .string(Timestamp.iso8601(updated.updatedAt ?? Date(), fractional: true)),
            "protected": .bool(protected), "visibility": .string(visibility),
        ]
        return .json(["os-volume_upload_image": body], status: .accepted)
    }
}
