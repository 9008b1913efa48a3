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
            let update = try VolumeAttachRequest(body, context: context)
            // 2.85's update of delete_on_termination (the same volume) comes with that microversion.
            guard update.volumeID != mapping.volumeID else {
                throw APIError.badRequest("The volumeId in the body must differ from the attached volume's.")
            }
            try self.enforce("os_compute_api:os-volumes-attachments:swap", auth, projectID: instance.projectID)
            try await self.swapVolume(
                mapping, to: update.volumeID, on: instance, auth: auth, requestID: context.requestID)
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
