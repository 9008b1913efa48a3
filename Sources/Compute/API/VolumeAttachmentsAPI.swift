import Foundation
import Hummingbird
import StratusCore

/// `os-volume_attachments`: the volumes attached to a server. Until Block Storage exists no
/// volume can be found, so none is ever attached: lists are empty, and attaching, changing or
/// detaching one answers Nova's 404 for a volume it cannot find.
extension ComputeAPI {
    func registerVolumeAttachments(on router: RouterGroup<StratusContext>) {
        router.get("/servers/:id/os-volume_attachments") { request, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-volumes-attachments:index")
            let offset = try request.intQuery("offset") ?? 0
            let limit = min(try request.intQuery("limit") ?? self.settings.maxLimit, self.settings.maxLimit)
            let attached = Self.volumes(of: instance).dropFirst(offset).prefix(limit)
            return .json(["volumeAttachments": .array(attached.map { Self.attachmentView($0, instance, context) })])
        }
        router.get("/servers/:id/os-volume_attachments/:volume") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-volumes-attachments:show")
            let volume = try Self.attached(instance, context)
            return .json(["volumeAttachment": Self.attachmentView(volume, instance, context)])
        }
        router.post("/servers/:id/os-volume_attachments") { request, context -> Response in
            let auth = try self.caller(context)
            _ = try await self.server(context, auth, rule: "os_compute_api:os-volumes-attachments:create")
            let body = try await request.computeBody("volumeAttachment", context: context)
            guard let volume = body["volumeId"]?.stringValue, UUID(uuidString: volume) != nil else {
                throw APIError.badRequest("Invalid input for field/attribute volumeId. 'volumeId' must be a UUID")
            }
            throw APIError.notFound("Volume \(volume) could not be found.")
        }
        router.put("/servers/:id/os-volume_attachments/:volume") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-volumes-attachments:update")
            _ = try Self.attached(instance, context)
            throw APIError.notFound("Volume could not be found.")
        }
        router.delete("/servers/:id/os-volume_attachments/:volume") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-volumes-attachments:delete")
            _ = try Self.attached(instance, context)
            throw APIError.notFound("Volume could not be found.")
        }
    }

    private static func volumes(of instance: Instance) -> [JSON] { instance.volumes }

    /// The attachment of the volume named in the path, else Nova's 404.
    private static func attached(_ instance: Instance, _ context: StratusContext) throws -> JSON {
        let id = context.parameters.get("volume") ?? ""
        guard let volume = volumes(of: instance).first(where: { $0["id"]?.stringValue == id }) else {
            throw APIError.notFound("Instance \(instance.uuid) is not attached to volume \(id).")
        }
        return volume
    }

    private static func attachmentView(_ volume: JSON, _ instance: Instance, _ context: StratusContext) -> JSON {
        let id = volume["id"] ?? ""
        var view: [String: JSON] = [
            "id": id, "volumeId": id, "serverId": .string(instance.uuid), "device": volume["device"] ?? .null,
        ]
        if context.version(atLeast: 2, 70) { view["tag"] = volume["tag"] ?? .null }
        if context.version(atLeast: 2, 79) { view["delete_on_termination"] = volume["delete_on_termination"] ?? false }
        return .object(view)
    }
}
