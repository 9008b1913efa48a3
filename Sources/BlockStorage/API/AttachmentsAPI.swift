import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// The attachments API (3.27+, Nova's flow from 3.44): reserve, connect, complete, delete.
extension BlockStorageAPI {
    func registerAttachments(on router: RouterGroup<StratusContext>) {
        router.post("/attachments") { request, context -> Response in
            let auth = try attachmentCaller(context, rule: "volume:attachment_create")
            let body = try await request.volumeBody("attachment", context: context)
            guard let volumeID = body["volume_uuid"]?.stringValue else {
                throw BlockStorageError.invalidInput("volume_uuid is required")
            }
            let volume = try await ownedVolume(volumeID, auth)
            let mode = try body["mode"]?.stringValue.map { try parseState($0, "mode") as AttachMode }
            var attachment = try await reserve(volume, instanceID: body["instance_uuid"]?.stringValue, mode: mode)
            if let connector = body["connector"]?.nonNull {
                attachment = try await connect(attachment.id, volume: volume, connector: connector)
            }
            return .json(["attachment": Self.attachmentDetail(attachment)])
        }
        router.get("/attachments") { request, context -> Response in
            try await listAttachments(request, context, detail: false)
        }
        router.get("/attachments/detail") { request, context -> Response in
            try await listAttachments(request, context, detail: true)
        }
        router.get("/attachments/:id") { _, context -> Response in
            let auth = try attachmentCaller(context, rule: "volume:attachment_get")
            let (attachment, _) = try await ownedAttachment(context, auth)
            return .json(["attachment": Self.attachmentDetail(attachment)])
        }
        router.put("/attachments/:id") { request, context -> Response in
            let auth = try attachmentCaller(context, rule: "volume:attachment_update")
            let (attachment, volume) = try await ownedAttachment(context, auth)
            let body = try await request.volumeBody("attachment", context: context)
            guard let connector = body["connector"]?.nonNull, connector.objectValue != nil else {
                throw BlockStorageError.invalidInput("A connector is required to update an attachment.")
            }
            let updated = try await connect(attachment.id, volume: volume, connector: connector)
            return .json(["attachment": Self.attachmentDetail(updated)])
        }
        router.post("/attachments/:id/action") { request, context -> Response in
            let auth = try attachmentCaller(context, rule: "volume:attachment_complete")
            let (attachment, volume) = try await ownedAttachment(context, auth)
            let body = try await request.jsonObject(context: context)
            guard body["os-complete"] != nil, context.version(atLeast: 3, 44) else {
                throw APIError.badRequest("There is no such action: \(body.keys.sorted().joined(separator: ","))")
            }
            try await complete(attachment.id, volumeID: volume.id)
            return .noContent()
        }
        router.delete("/attachments/:id") { request, context -> Response in
            let auth = try attachmentCaller(context, rule: "volume:attachment_delete")
            let (attachment, volume) = try await ownedAttachment(context, auth)
            // Cinder's guard (bug 2004555): only Compute may end an attachment a server still uses.
            if attachment.status == .attached, attachment.instanceID != nil, !auth.hasRole("service"),
                !(try await carriesServiceToken(request))
            {
                throw APIError.conflict(
                    "Detach volume from instance \(attachment.instanceID ?? "") using the Compute API")
            }
            let remaining = try await detach(attachment, volume: volume)
            return .json(["attachments": .array(remaining.map(Self.attachmentSummary))])
        }
    }

    /// Whether the request carries a valid `X-Service-Token` of a service user.
    private func carriesServiceToken(_ request: Request) async throws -> Bool {
        guard let token = request.headers[.serviceToken] else { return false }
        do {
            return try await validator.validate(token: token).hasRole("service")
        } catch let error as APIError where error.status == .unauthorized {
            return false
        }
    }

    private func attachmentCaller(_ context: StratusContext, rule: String) throws -> AuthContext {
        guard context.version(atLeast: 3, 27) else { throw APIError.notFound("The resource could not be found.") }
        let auth = try caller(context)
        try enforce(rule, auth)
        return auth
    }

    private func ownedVolume(_ id: String, _ auth: AuthContext) async throws -> Volume {
        guard let volume = try await db.read({ try await Volume.get(id, in: $0) }),
            volume.projectID == auth.projectID || isAdmin(auth) || auth.hasRole("service")
        else { throw BlockStorageError.volumeNotFound(id) }
        return volume
    }

    private func ownedAttachment(_ context: StratusContext, _ auth: AuthContext) async throws -> (Attachment, Volume) {
        let id = context.parameters.get("id") ?? ""
        guard let attachment = try await db.read({ try await Attachment.get(id, in: $0) }) else {
            throw BlockStorageError.attachmentNotFound(id)
        }
        do {
            return (attachment, try await ownedVolume(attachment.volumeID, auth))
        } catch {
            throw BlockStorageError.attachmentNotFound(id)
        }
    }

    private func listAttachments(_ request: Request, _ context: StratusContext, detail: Bool) async throws -> Response
    {
        let auth = try attachmentCaller(context, rule: "volume:attachment_get_all")
        var terms: [SQLQueryString] = []
        let allTenants = try request.boolQuery("all_tenants") ?? false
        if !(isAdmin(auth) && allTenants) {
            terms.append("volume_id IN (SELECT id FROM volumes WHERE project_id = \(bind: auth.projectID ?? ""))")
        }
        if let instance = request.formQuery("instance_id") { terms.append("instance_uuid = \(bind: instance)") }
        if let volume = request.formQuery("volume_id") { terms.append("volume_id = \(bind: volume)") }
        if let status = request.formQuery("status") ?? request.formQuery("attach_status") {
            terms.append("attach_status = \(bind: status)")
        }
        let filter = SQLQueryString.all(terms)
        let attachments = try await db.read { db in
            try await Attachment.select(
                where: filter, order: "created_at DESC, id DESC", limit: settings.maxLimit, in: db)
        }
        return .json(["attachments": .array(attachments.map(detail ? Self.attachmentDetail : Self.attachmentSummary))])
    }

    // MARK: the flow, shared with the legacy actions

    /// A new attachment in `reserved`; the volume goes to `reserved` (or stays in use when
    /// it may be attached several times).
    func reserve(_ volume: Volume, instanceID: String?, mode: AttachMode?) async throws -> Attachment {
        try await db.transaction { db in
            guard var current = try await Volume.getForUpdate(volume.id, in: db) else {
                throw BlockStorageError.volumeNotFound(volume.id)
            }
            let others = try await Attachment.select(where: "volume_id = \(bind: volume.id)", in: db)
            let shareable = current.multiattach && [.inUse, .reserved, .attaching].contains(current.status)
            guard [.available, .downloading].contains(current.status) || shareable else {
                throw BlockStorageError.invalidVolume(
                    "Volume \(volume.id) status must be available or downloading to reserve, but the current status is "
                        + "\(current.status.rawValue)."
                )
            }
            if let instanceID, others.contains(where: { $0.instanceID == instanceID }), !current.multiattach {
                throw BlockStorageError.invalidVolume(
                    "Volume \(volume.id) is already attached to server \(instanceID).")
            }
            var attachment = Attachment(volumeID: volume.id, instanceID: instanceID)
            attachment.mode = mode
            try await attachment.insert(in: db)
            if current.status == .available {
                current.status = .reserved
                current.attachStatus = .reserved
                current.updatedAt = Date()
                try await current.save(in: db)
            }
            return attachment
        }
    }

    /// The driver's connection for the host's connector; attachment and volume `attaching`.
    func connect(_ attachmentID: String, volume: Volume, connector: JSON) async throws -> Attachment {
        guard let backend = volume.backend else {
            throw BlockStorageError.invalidVolume("Volume \(volume.id) has no host.")
        }
        guard ![.error, .errorDeleting, .deleting].contains(volume.status) else {
            throw APIError.conflict("Volume \(volume.id) status must not be \(volume.status.rawValue) to attach.")
        }
        let connection = try await bus.call(
            VolumeRPC.attachmentUpdate, on: backend, AttachmentArgs(volumeID: volume.id, attachmentID: attachmentID))
        return try await db.transaction { db in
            guard var attachment = try await Attachment.getForUpdate(attachmentID, in: db),
                var current = try await Volume.getForUpdate(volume.id, in: db)
            else { throw BlockStorageError.attachmentNotFound(attachmentID) }
            let readOnly = current.readOnly || attachment.mode == .readOnly
            attachment.connector = connector
            var opened = connection
            opened.accessMode = readOnly ? .readOnly : .readWrite
            opened.qosSpecs = try await QosSpecs.frontEndLimits(of: current, in: db)
            attachment.connection = opened
            attachment.attachedHost = connector["host"]?.stringValue
            attachment.mountpoint = connector["mountpoint"]?.stringValue ?? attachment.mountpoint
            attachment.mode = readOnly ? .readOnly : .readWrite
            if attachment.status != .attached { attachment.status = .attaching }
            try await attachment.save(in: db)
            if [.reserved, .available].contains(current.status) {
                current.status = .attaching
                current.attachStatus = .attaching
                current.updatedAt = Date()
                try await current.save(in: db)
            }
            return attachment
        }
    }

    /// The attachment is in use: volume `in-use`, attachment `attached`.
    func complete(_ attachmentID: String, volumeID: String) async throws {
        try await db.transaction { db in
            guard var attachment = try await Attachment.getForUpdate(attachmentID, in: db),
                var volume = try await Volume.getForUpdate(volumeID, in: db)
            else { throw BlockStorageError.attachmentNotFound(attachmentID) }
            attachment.status = .attached
            attachment.attachedAt = Date()
            try await attachment.save(in: db)
            volume.status = .inUse
            volume.attachStatus = .attached
            volume.updatedAt = Date()
            try await volume.save(in: db)
        }
    }

    /// Ends the attachment; the volume is available again when it was the last one.
    func detach(_ attachment: Attachment, volume: Volume) async throws -> [Attachment] {
        if attachment.connection != nil, let backend = volume.backend {
            _ = try await bus.call(
                VolumeRPC.attachmentDelete, on: backend,
                AttachmentArgs(volumeID: volume.id, attachmentID: attachment.id))
        }
        return try await db.transaction { db in
            try await Attachment.delete(attachment.id, in: db)
            let remaining = try await Attachment.select(where: "volume_id = \(bind: volume.id)", in: db)
            guard var current = try await Volume.getForUpdate(volume.id, in: db) else { return remaining }
            if remaining.isEmpty {
                if [.inUse, .detaching, .reserved, .attaching].contains(current.status) {
                    current.status = .available
                }
                current.attachStatus = .detached
            } else if remaining.contains(where: { $0.status == .attached }) {
                current.status = .inUse
                current.attachStatus = .attached
            } else {
                current.status = .reserved
                current.attachStatus = .reserved
            }
            current.updatedAt = Date()
            try await current.save(in: db)
            return remaining
        }
    }

    /// `os-attach`: an attachment made and completed at once (Nova before 3.44).
    func legacyAttach(_ volume: Volume, _ args: [String: JSON]) async throws {
        let instance = args["instance_uuid"]?.stringValue
        let host = args["host_name"]?.stringValue
        guard instance != nil || host != nil else {
            throw BlockStorageError.invalidInput("instance_uuid or host_name is required")
        }
        guard let mountpoint = args["mountpoint"]?.stringValue else {
            throw BlockStorageError.invalidInput("mountpoint is required")
        }
        let mode = try args["mode"]?.stringValue.map { try parseState($0, "mode") as AttachMode } ?? .readWrite
        try await db.transaction { db in
            guard var current = try await Volume.getForUpdate(volume.id, in: db) else {
                throw BlockStorageError.volumeNotFound(volume.id)
            }
            guard
                [.available, .attaching, .reserved].contains(current.status)
                    || (current.multiattach && current.status == .inUse)
            else {
                throw BlockStorageError.invalidVolume("Volume \(volume.id) status must be available or attaching.")
            }
            var attachment = Attachment(volumeID: volume.id, instanceID: instance)
            attachment.attachedHost = host
            attachment.mountpoint = mountpoint
            attachment.mode = mode
            attachment.status = .attached
            attachment.attachedAt = Date()
            try await attachment.insert(in: db)
            current.status = .inUse
            current.attachStatus = .attached
            current.updatedAt = Date()
            try await current.save(in: db)
        }
    }

    func legacyDetach(_ volume: Volume, attachmentID: String?) async throws {
        let attachments = try await db.read {
            try await Attachment.select(where: "volume_id = \(bind: volume.id)", in: $0)
        }
        let chosen = attachmentID.map { id in attachments.filter { $0.id == id } } ?? attachments
        guard !chosen.isEmpty || attachments.isEmpty else {
            throw BlockStorageError.attachmentNotFound(attachmentID ?? "")
        }
        for attachment in chosen { _ = try await detach(attachment, volume: volume) }
        // Nothing attached: a volume still marked as attaching or detaching becomes available.
        if attachments.isEmpty, [.detaching, .inUse, .attaching].contains(volume.status) {
            try await change(volume, from: [.detaching, .inUse, .attaching]) { volume in
                volume.status = .available
                volume.attachStatus = .detached
            }
        }
    }

    static func attachmentSummary(_ attachment: Attachment) -> JSON {
        [
            "id": .string(attachment.id), "status": .string(attachment.status.rawValue),
            "instance": attachment.instanceID.map(JSON.string) ?? .null, "volume_id": .string(attachment.volumeID),
        ]
    }

    static func attachmentDetail(_ attachment: Attachment) -> JSON {
        var view = attachmentSummary(attachment).objectValue ?? [:]
        view["attached_at"] = attachment.attachedAt.map { .string(Timestamp.iso8601($0, fractional: true)) } ?? .null
        view["detached_at"] = attachment.detachedAt.map { .string(Timestamp.iso8601($0, fractional: true)) } ?? .null
        view["attach_mode"] = .string(attachment.mode?.rawValue ?? "null")
        view["connection_info"] = attachment.connection?.wire(attachmentID: attachment.id) ?? [:]
        return .object(view)
    }
}
