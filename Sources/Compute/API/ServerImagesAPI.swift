import Foundation
import Hummingbird
import StratusCore

extension ComputeAPI {
    /// `createImage` and `createBackup`: a queued image in the Image service, owned by the
    /// caller's project, that the server's host fills with its disk.
    func snapshot(_ request: Request, _ context: StratusContext, _ auth: AuthContext, _ args: JSON, backup: Bool) async throws -> Response {
        let action = backup ? "createBackup" : "createImage"
        let instance = try await server(context, auth, rule: backup ? "os_compute_api:os-create-backup" : "os_compute_api:servers:create_image")
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        guard case .object(let body) = args else { throw APIError.badRequest("Invalid input for field/attribute \(action). Value: \(args.serialized()). is not of type 'object'") }
        func bad(_ field: String, _ reason: String) -> APIError {
            .badRequest("Invalid input for field/attribute \(field). Value: \(body[field]?.serialized() ?? "None"). \(reason)")
        }
        guard let nameValue = body["name"] else { throw APIError.badRequest("Invalid input for field/attribute \(action). 'name' is a required property") }
        guard let name = nameValue.stringValue, !name.isEmpty, name.count <= 255, name.trimmingCharacters(in: .whitespaces) == name else {
            throw bad("name", "is not a valid image name")
        }
        var metadata: [String: JSON] = [:]
        if let raw = body["metadata"] {
            guard case .object(let items) = raw else { throw bad("metadata", "is not of type 'object'") }
            try ServerMetadataRules.validate(items)
            metadata = items
        }
        var properties: [String: JSON] = ["image_type": .string(backup ? "backup" : "snapshot")]
        var rotation: Int?
        if backup {
            guard let type = body["backup_type"] else { throw APIError.badRequest("Invalid input for field/attribute createBackup. 'backup_type' is a required property") }
            guard let text = type.stringValue else { throw bad("backup_type", "is not of type 'string'") }
            guard let raw = body["rotation"] else { throw APIError.badRequest("Invalid input for field/attribute createBackup. 'rotation' is a required property") }
            guard let count = raw.intValue ?? raw.stringValue.flatMap({ Int($0) }), count >= 0 else { throw bad("rotation", "must be an integer of at least 0") }
            properties["backup_type"] = .string(text)
            rotation = count
        }
        let limit = try await quotaLimit("metadata_items", project: instance.projectID)
        if limit >= 0, metadata.count > limit { throw APIError.forbidden("Quota exceeded for metadata_items: maximum number of metadata items exceeds \(limit)") }
        let allowed: Set<VMState> = backup ? [.active, .stopped] : [.active, .stopped, .paused, .suspended]
        guard allowed.contains(instance.vmState), instance.taskState == nil, let host = instance.host else {
            throw ComputeError.invalidState(instance, action: action)
        }

        let imageID = try await createSnapshotImage(of: instance, name: name, extra: properties.merging(metadata) { $1 }, auth: auth)
        do {
            _ = try await db.transaction { db in
                guard var current = try await self.instances.getForUpdate(instance.uuid, in: db) else { throw ComputeError.instanceNotFound(instance.uuid) }
                guard allowed.contains(current.vmState), current.taskState == nil else {
                    throw ComputeError.invalidState(current, action: action)
                }
                current.taskState = backup ? .imageBackup : .imageSnapshot
                try await self.instances.save(current, in: db)
                return try await self.actions.start(action, instance: current.uuid, requestID: context.requestID, projectID: current.projectID, userID: auth.userID, in: db)
            }
        } catch {
            await logger.bestEffort("deleting image \(imageID)") {
                try await clients.image.deleteImage(imageID)
            }
            throw error
        }
        var snapshot = SnapshotArgs(instance: instance.uuid, image: imageID)
        if let rotation, let type = properties["backup_type"]?.stringValue {
            snapshot.backupType = type
            snapshot.rotation = rotation
        }
        try await bus.cast(ComputeRPC.snapshot, to: host, snapshot)
        if context.version(atLeast: 2, 45) { return .json(["image_id": .string(imageID)], status: .accepted) }
        return Response(status: .accepted, headers: [.location: "\(request.baseURL)/v2.1/images/\(imageID)"])
    }

    /// The queued image a snapshot (or a shelve) fills: the base image's formats and custom
    /// properties, Nova's snapshot properties, and `extra` on top.
    func createSnapshotImage(of instance: Instance, name: String, extra: [String: JSON], auth: AuthContext) async throws -> String {
        var base: [String: JSON] = [:]
        if !instance.imageRef.isEmpty {
            base = try await clients.image.image(instance.imageRef, token: auth.token)?.objectValue ?? [:]
        }
        var image: [String: JSON] = [:]
        for (key, value) in base where value.stringValue != nil && !Self.uninheritedImageKeys.contains(key) && !key.hasPrefix("os_") {
            image[key] = value
        }
        image["name"] = .string(name)
        image["container_format"] = base["container_format"]?.nonNull ?? "bare"
        image["disk_format"] = base["disk_format"]?.nonNull ?? "raw"
        image["visibility"] = "private"
        image["min_ram"] = .int(base["min_ram"]?.intValue ?? 0)
        image["min_disk"] = .int(instance.rootGB > 0 ? instance.rootGB : base["min_disk"]?.intValue ?? 0)
        image["instance_uuid"] = .string(instance.uuid)
        image["user_id"] = .string(auth.userID)
        image["owner_user_name"] = .string(auth.userName)
        image["owner_project_name"] = JSON(auth.projectName)
        image["image_location"] = "snapshot"
        image["boot_roles"] = .string(auth.roles.joined(separator: ","))
        if !instance.imageRef.isEmpty { image["base_image_ref"] = .string(instance.imageRef) }
        for (key, value) in extra { image[key] = value }
        do {
            return try await clients.image.createImage(image, token: auth.token)
        } catch let fault as ServiceFault {
            switch fault.status {
            case 403, 413: throw APIError.forbidden("The image could not be created: \(fault.message)")
            case 400, 409: throw APIError.badRequest("The image could not be created: \(fault.message)")
            default: throw APIError(.serviceUnavailable, "The image service answered \(fault.status): \(fault.message)")
            }
        }
    }

    /// Image fields and Nova's own properties a snapshot does not copy from its base image.
    static let uninheritedImageKeys: Set<String> = [
        "id", "name", "status", "checksum", "size", "virtual_size", "created_at", "updated_at", "owner", "visibility", "protected",
        "direct_url", "file", "schema", "self", "stores", "container_format", "disk_format", "instance_uuid", "user_id",
        "image_type", "backup_type", "base_image_ref", "image_location", "owner_user_name", "owner_project_name", "boot_roles",
        "img_signature", "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid",
    ]
}
