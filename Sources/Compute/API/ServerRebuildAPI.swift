import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ComputeAPI {
    /// `rebuild`: a new root disk from `imageRef` on the same host, keeping ports and
    /// addresses; name, metadata, access IPs, key, user data and description may change.
    func rebuild(_ request: Request, _ context: StratusContext, _ auth: AuthContext, _ args: JSON) async throws -> Response {
        let instance = try await server(context, auth, rule: "os_compute_api:servers:rebuild")
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        guard case .object(let body) = args else { throw APIError.badRequest("Invalid input for field/attribute rebuild. Value: \(args.serialized()). is not of type 'object'") }
        func bad(_ field: String, _ reason: String) -> APIError {
            .badRequest("Invalid input for field/attribute \(field). Value: \(body[field]?.serialized() ?? "None"). \(reason)")
        }
        guard let imageValue = body["imageRef"] else { throw APIError.badRequest("Invalid input for field/attribute rebuild. 'imageRef' is a required property") }
        guard let imageText = imageValue.stringValue, !imageText.isEmpty else { throw bad("imageRef", "is not a valid image reference") }
        let imageRef = imageText.split(separator: "/").last.map(String.init) ?? imageText
        var allowed: Set<String> = ["imageRef", "name", "metadata", "adminPass", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig", "preserve_ephemeral"]
        if !context.version(atLeast: 2, 57) { allowed.insert("personality") }
        if context.version(atLeast: 2, 19) { allowed.insert("description") }
        if context.version(atLeast: 2, 54) { allowed.insert("key_name") }
        if context.version(atLeast: 2, 57) { allowed.insert("user_data") }
        if context.version(atLeast: 2, 63) { allowed.insert("trusted_image_certificates") }
        if context.version(atLeast: 2, 90) { allowed.insert("hostname") }
        if let extra = body.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.badRequest("Additional properties are not allowed ('\(extra)' was unexpected)")
        }
        var changes: [@Sendable (inout Instance) -> Void] = []
        if let name = body["name"] {
            guard let text = name.stringValue, !text.isEmpty, text.count <= 255, text.trimmingCharacters(in: .whitespaces) == text else {
                throw bad("name", "is not a valid server name")
            }
            changes.append { $0.name = text }
        }
        if let metadata = body["metadata"] {
            guard case .object(let items) = metadata else { throw bad("metadata", "is not of type 'object'") }
            try ServerMetadataRules.validate(items)
            changes.append { $0.metadata = items.compactMapValues(\.stringValue) }
        }
        for (key, version) in [("accessIPv4", 4), ("accessIPv6", 6)] {
            guard let raw = body[key], !raw.isNull else { continue }
            guard let text = raw.stringValue, text.isEmpty || IPText.version(text) == version else { throw bad(key, "is not a valid IPv\(version) address") }
            if version == 6 { changes.append { $0.accessIPv6 = IPText.canonical(text) } } else { changes.append { $0.accessIPv4 = text } }
        }
        if let disk = body["OS-DCF:diskConfig"] {
            guard let text = disk.stringValue, ["AUTO", "MANUAL"].contains(text) else { throw bad("OS-DCF:diskConfig", "is not one of ['AUTO', 'MANUAL']") }
            changes.append { $0.diskConfig = text }
        }
        if let description = body["description"] {
            guard description.isNull || (description.stringValue?.count ?? 256) <= 255 else { throw bad("description", "is too long") }
            changes.append { $0.description = description.stringValue }
        }
        if let data = body["user_data"] {
            guard data.isNull || (data.stringValue.map { $0.count <= 65535 && Data(base64Encoded: $0, options: .ignoreUnknownCharacters) != nil } ?? false) else {
                throw bad("user_data", "is not a base64-encoded string of at most 65535 characters")
            }
            changes.append { $0.userData = data.stringValue }
        }
        if let key = body["key_name"] {
            if let name = key.stringValue {
                let row = try await db.read { db in
                    try await db.select().column("public_key").from("key_pairs").where("user_id", .equal, SQLBind(instance.userID))
                        .where("name", .equal, SQLBind(name)).first()
                }
                guard let row else { throw APIError.badRequest("Invalid key_name provided.") }
                let publicKey = try row.decode(column: "public_key", as: String.self)
                changes.append { instance in
                    instance.keyName = name
                    instance.keyData = publicKey
                }
            } else if key.isNull {
                changes.append { instance in
                    instance.keyName = nil
                    instance.keyData = nil
                }
            } else {
                throw bad("key_name", "is not of type 'string', 'null'")
            }
        }
        if let hostname = body["hostname"] {
            guard let text = hostname.stringValue, !text.isEmpty, text.count <= 63 else { throw bad("hostname", "is not a valid hostname") }
            changes.append { $0.hostname = text }
        }
        if case .array(let files)? = body["personality"] {
            try PersonalityRules.check(files, limits: try await effectiveLimits(project: instance.projectID, user: nil))
        }
        if let pass = body["adminPass"], pass.stringValue == nil { throw bad("adminPass", "is not of type 'string'") }
        let password = body["adminPass"]?.stringValue ?? Self.generatePassword()

        // Nova checks the state before it looks at the image; the transaction below checks again.
        guard Self.rebuildable(instance) else { throw ComputeError.invalidState(instance, action: "rebuild") }
        let flavor = Flavor(id: instance.flavorID, name: instance.flavorID, memoryMB: instance.memoryMB, vcpus: instance.vcpus, rootGB: instance.rootGB)
        let imageDoc = try await checkImage(imageRef, flavor: flavor, token: auth.token)
        guard let host = instance.host else { throw ComputeError.invalidState(instance, action: "rebuild") }
        let frozen = changes
        let updated: Instance = try await db.transaction { db in
            guard var current = try await self.instances.getForUpdate(instance.uuid, in: db) else { throw ComputeError.instanceNotFound(instance.uuid) }
            guard Self.rebuildable(current) else { throw ComputeError.invalidState(current, action: "rebuild") }
            for change in frozen { change(&current) }
            current.imageRef = imageRef
            current.image = imageDoc
            current.rebuildFromState = current.vmState.rawValue
            current.taskState = .rebuilding
            try await self.instances.save(current, in: db)
            try await self.actions.start("rebuild", instance: current.uuid, requestID: context.requestID, projectID: current.projectID, userID: auth.userID, in: db)
            return current
        }
        try await bus.cast(ComputeRPC.rebuild, to: host, PasswordArgs(instance: updated.uuid, password: password))
        let tags = try await db.read { db in try await self.instances.tags(of: [updated.uuid], in: db) }
        let group = try await serverGroups.group(of: updated.uuid)
        var shown = try await view(request, context, auth).detail(updated, tags: tags[updated.uuid] ?? [], full: false, groups: group.map { [$0.uuid] } ?? [])
            .objectValue ?? [:]
        if context.version(atLeast: 2, 54) { shown["key_name"] = JSON(updated.keyName) }
        if context.version(atLeast: 2, 57) { shown["user_data"] = JSON(updated.userData) }
        shown["OS-EXT-SRV-ATTR:user_data"] = nil
        if body["adminPass"] != nil || settings.returnGeneratedPassword { shown["adminPass"] = .string(password) }
        return .json(["server": .object(shown)], status: .accepted)
    }

    static func rebuildable(_ instance: Instance) -> Bool {
        [.active, .stopped, .error].contains(instance.vmState) && instance.taskState == nil
    }
}
