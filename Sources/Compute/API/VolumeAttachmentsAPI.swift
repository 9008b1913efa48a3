import Foundation
import Hummingbird
import StratusCore

/// `os-volume_attachments`: the Cinder volumes attached to a server. Attaching reserves the
/// volume and maps it to the next free device here, then the server's host connects it;
/// detaching marks it detaching here and the host lets it go (see `ComputeVolumes`).
extension ComputeAPI {
    func registerVolumeAttachments(on router: RouterGroup<StratusContext>) {
        router.get("/servers/:id/os-volume_attachments") { request, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-volumes-attachments:index")
            let offset = try request.intQuery("offset") ?? 0
            let limit = min(try request.intQuery("limit") ?? self.settings.maxLimit, self.settings.maxLimit)
            let attached = instance.volumes.dropFirst(offset).prefix(limit)
            return .json(["volumeAttachments": .array(attached.map { Self.attachmentView($0, instance, context) })])
        }
        router.get("/servers/:id/os-volume_attachments/:volume") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-volumes-attachments:show")
            let mapping = try Self.attached(instance, context)
            return .json(["volumeAttachment": Self.attachmentView(mapping, instance, context)])
        }
        router.post("/servers/:id/os-volume_attachments") { request, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-volumes-attachments:create")
            let body = try await request.computeBody("volumeAttachment", context: context)
            let attach = try VolumeAttachRequest(body, context: context)
            let mapping = try await self.attachVolume(attach, to: instance, auth: auth, requestID: context.requestID)
            return .json(["volumeAttachment": Self.attachmentView(mapping, instance, context)])
        }
        router.put("/servers/:id/os-volume_attachments/:volume") { request, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-volumes-attachments:update")
            let mapping = try Self.attached(instance, context)
            let body = try await request.computeBody("volumeAttachment", context: context)
            let update = try VolumeAttachmentUpdate(body, context: context)
            // Before 2.85 a PUT only swaps (Block Storage's migration asks for it); from 2.85 the
            // same volume in the body updates the attachment, and another one swaps after that.
            let swapping = update.volumeID != mapping.volumeID
            guard swapping || context.version(atLeast: 2, 85) else {
                throw APIError.badRequest("The volumeId in the body must differ from the attached volume's.")
            }
            if swapping {
                try self.enforce("os_compute_api:os-volumes-attachments:swap", auth, projectID: instance.projectID)
            }
            if context.version(atLeast: 2, 85) {
                try update.checkUnchanged(mapping, instance: instance)
                if let delete = update.deleteOnTermination, delete != mapping.deleteOnTermination {
                    try await self.instances.update(instance.uuid) { instance in
                        guard let index = instance.volumes.firstIndex(where: { $0.volumeID == mapping.volumeID })
                        else { return }
                        instance.volumes[index].deleteOnTermination = delete
                    }
                }
            }
            if swapping {
                try await self.swapVolume(
                    mapping, to: update.volumeID, on: instance, auth: auth, requestID: context.requestID)
            }
            return Response(status: .accepted)
        }
        router.delete("/servers/:id/os-volume_attachments/:volume") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-volumes-attachments:delete")
            let mapping = try Self.attached(instance, context)
            try await self.detachVolume(mapping, from: instance, auth: auth, requestID: context.requestID)
            return Response(status: .accepted)
        }
    }

    /// The mapping of the volume named in the path, else Nova's 404.
    private static func attached(_ instance: Instance, _ context: StratusContext) throws -> VolumeMapping {
        let id = context.parameters.get("volume") ?? ""
        guard let mapping = instance.volumeMapping(id) else {
            throw APIError.notFound("Instance \(instance.uuid) is not attached to volume \(id).")
        }
        return mapping
    }

    /// The same view answers the attach, the list and the show (tempest finds one in the other).
    private static func attachmentView(
        _ mapping: VolumeMapping, _ instance: Instance, _ context: StratusContext
    ) -> JSON {
        let id = JSON.string(mapping.volumeID)
        var view: [String: JSON] = [
            "id": id, "volumeId": id, "serverId": .string(instance.uuid), "device": .string(mapping.device),
        ]
        if context.version(atLeast: 2, 70) { view["tag"] = JSON(mapping.tag) }
        if context.version(atLeast: 2, 79) { view["delete_on_termination"] = .bool(mapping.deleteOnTermination) }
        return .object(view)
    }
}

/// The body of `POST os-volume_attachments`, checked as Nova's schema does.
struct VolumeAttachRequest: Sendable {
    var volumeID: String
    var tag: String?
    var deleteOnTermination = false

    init(_ body: [String: JSON], context: StratusContext) throws {
        guard let volume = body["volumeId"]?.stringValue, UUID(uuidString: volume) != nil else {
            throw APIError.badRequest("Invalid input for field/attribute volumeId. 'volumeId' must be a UUID")
        }
        volumeID = volume.lowercased()
        if let device = body["device"], !device.isNull {
            // Nova's pattern; the device itself is chosen by the host's driver, as libvirt's does.
            let pattern = #"^(/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$"#
            guard let text = device.stringValue, text.range(of: pattern, options: .regularExpression) != nil else {
                let value = device.serialized()
                throw APIError.badRequest(
                    "Invalid input for field/attribute device. Value: \(value). Does not match \(pattern)")
            }
        }
        if let tag = body["tag"] {
            guard context.version(atLeast: 2, 49) else {
                throw APIError.badRequest("Additional properties are not allowed ('tag' was unexpected)")
            }
            guard let text = tag.stringValue, (1...60).contains(text.count), !text.contains("/"), !text.contains(",")
            else {
                throw APIError.badRequest("Invalid input for field/attribute tag. Value: \(tag.serialized()).")
            }
            self.tag = text
        }
        if let delete = body["delete_on_termination"] {
            guard context.version(atLeast: 2, 79) else {
                throw APIError.badRequest(
                    "Additional properties are not allowed ('delete_on_termination' was unexpected)")
            }
            guard let flag = delete.boolValue else {
                throw APIError.badRequest(
                    "Invalid input for field/attribute delete_on_termination. Value: \(delete.serialized()). "
                        + "\(delete.serialized()) is not of type 'boolean'")
            }
            deleteOnTermination = flag
        }
    }
}

/// The body of `PUT os-volume_attachments/{volume}`: before 2.85 only the `volumeId` to swap
/// to; from 2.85 also the attachment's own fields, of which only `delete_on_termination` may
/// change (the others must repeat what the attachment has).
struct VolumeAttachmentUpdate: Sendable {
    var volumeID: String
    var id: String?
    var serverID: String?
    var device: JSON?
    var tag: JSON?
    var deleteOnTermination: Bool?

    init(_ body: [String: JSON], context: StratusContext) throws {
        let fields: Set =
            context.version(atLeast: 2, 85)
            ? ["volumeId", "device", "tag", "delete_on_termination", "serverId", "id"] : ["volumeId"]
        if let unexpected = body.keys.sorted().first(where: { !fields.contains($0) }) {
            throw APIError.badRequest("Additional properties are not allowed ('\(unexpected)' was unexpected)")
        }
        var attach = body
        attach["id"] = nil
        attach["serverId"] = nil
        // The attach request's checks of volumeId, device, tag and delete_on_termination.
        let checked = try VolumeAttachRequest(attach, context: context)
        volumeID = checked.volumeID
        device = body["device"]
        tag = body["tag"]
        deleteOnTermination = body["delete_on_termination"] == nil ? nil : checked.deleteOnTermination
        for key in ["id", "serverId"] {
            guard let value = body[key] else { continue }
            guard let text = value.stringValue else {
                throw APIError.badRequest(
                    "Invalid input for field/attribute \(key). Value: \(value.serialized()). "
                        + "\(value.serialized()) is not of type 'string'")
            }
            if key == "id" { id = text } else { serverID = text }
        }
    }

    /// Nova's 400s for the fields an update cannot change.
    func checkUnchanged(_ mapping: VolumeMapping, instance: Instance) throws {
        let unchanged: [(String, Bool)] = [
            ("id", id.map { $0 == mapping.volumeID } ?? true),
            ("serverId", serverID.map { $0 == instance.uuid } ?? true),
            ("device", device.map { $0.stringValue == mapping.device } ?? true),
            ("tag", tag.map { $0.isNull ? mapping.tag == nil : $0.stringValue == mapping.tag } ?? true),
        ]
        if let (field, _) = unchanged.first(where: { !$0.1 }) {
            throw APIError.badRequest("The \(field) property is not mutable")
        }
    }
}
