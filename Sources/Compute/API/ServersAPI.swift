import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ComputeAPI {
    func registerServers(on router: RouterGroup<StratusContext>) {
        router.post("/servers") { request, context in try await self.createServers(request, context) }
        router.get("/servers") { request, context in try await self.listServers(request, context, detail: false) }
        router.get("/servers/detail") { request, context in try await self.listServers(request, context, detail: true) }
        router.get("/servers/:id") { request, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:servers:show")
            let tags = try await self.db.read { db in try await self.instances.tags(of: [instance.uuid], in: db) }
            let view = try await self.view(request, context, auth)
            let group = try await self.serverGroups.group(of: instance.uuid)
            let groups = group.map { [$0.uuid] } ?? []
            let shown = try view.detail(instance, tags: tags[instance.uuid] ?? [], groups: groups)
            return .json(["server": shown])
        }
        router.put("/servers/:id") { request, context -> Response in
            let auth = try self.caller(context)
            let body = try await request.computeBody("server", context: context)
            var changes: [String: JSON] = [:]
            for (key, value) in body {
                switch key {
                case "name":
                    guard let name = value.stringValue, !name.isEmpty, name.count <= 255, name.trimmingCharacters(in: .whitespaces) == name else {
                        throw APIError.badRequest("Invalid input for field/attribute name. Value: \(value.serialized()). Invalid server name")
                    }
                case "accessIPv4", "accessIPv6":
                    guard let text = value.stringValue, text.isEmpty || IPText.version(text) == (key == "accessIPv4" ? 4 : 6) else {
                        throw APIError.badRequest("Invalid input for field/attribute \(key). Value: \(value.serialized()). is not a valid IP address")
                    }
                case "description" where context.version(atLeast: 2, 19):
                    guard value.isNull || (value.stringValue?.count ?? 256) <= 255 else {
                        throw APIError.badRequest("Invalid input for field/attribute description. Value: \(value.serialized()).")
                    }
                case "OS-DCF:diskConfig":
                    guard let text = value.stringValue, ["AUTO", "MANUAL"].contains(text) else {
                        throw APIError.badRequest("Invalid input for field/attribute OS-DCF:diskConfig. Value: \(value.serialized()). is not one of ['AUTO', 'MANUAL']")
                    }
                default: throw APIError.badRequest("Additional properties are not allowed ('\(key)' was unexpected)")
                }
                changes[key] = value
            }
            let instance = try await self.server(context, auth, rule: "os_compute_api:servers:update")
            let frozen = changes
            guard let updated = try await self.instances.update(instance.uuid, { instance in
                if let name = frozen["name"]?.stringValue {
                    instance.name = name
                    instance.hostname = Self.hostname(name)
                }
                if let ip = frozen["accessIPv4"] { instance.accessIPv4 = ip.stringValue ?? "" }
                if let ip = frozen["accessIPv6"] { instance.accessIPv6 = IPText.canonical(ip.stringValue ?? "") }
                if let description = frozen["description"] { instance.description = description.stringValue }
                if let disk = frozen["OS-DCF:diskConfig"]?.stringValue { instance.diskConfig = disk }
            }) else { throw ComputeError.instanceNotFound(instance.uuid) }
            let tags = try await self.db.read { db in try await self.instances.tags(of: [updated.uuid], in: db) }
            let group = try await self.serverGroups.group(of: updated.uuid)
            return .json(["server": try await self.view(request, context, auth).detail(
                updated, tags: tags[updated.uuid] ?? [], full: false, groups: group.map { [$0.uuid] } ?? [])])
        }
        router.delete("/servers/:id") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:servers:delete")
            if instance.locked, !self.isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
            // With reclaim_instance_interval, a server on a host is only soft-deleted: restorable until reclaimed.
            if self.settings.reclaimInstanceInterval > 0, instance.host != nil, instance.taskState == nil,
                [.active, .stopped, .paused, .suspended, .rescued, .resized, .shelved].contains(instance.vmState) {
                try await self.hostAction(context, auth, rule: "os_compute_api:servers:delete", action: "delete",
                    allowed: [.active, .stopped, .paused, .suspended, .rescued, .resized, .shelved], taskState: .softDeleting,
                    method: ComputeRPC.softDelete)
                return Response(status: .noContent)
            }
            try await self.deleteServer(instance, auth: auth, requestID: context.requestID)
            return Response(status: .noContent)
        }
    }

    /// A live server the caller may act on (others' servers are 404, as in Nova).
    func server(_ context: StratusContext, _ auth: AuthContext, rule: String) async throws -> Instance {
        let id = context.parameters.get("id") ?? ""
        guard let instance = try await instances.get(id), isAdmin(auth) || instance.projectID == auth.projectID else {
            throw ComputeError.instanceNotFound(id)
        }
        try enforce(rule, auth, projectID: instance.projectID)
        return instance
    }

    func view(_ request: Request, _ context: StratusContext, _ auth: AuthContext) async throws -> ServerView {
        var view = ServerView(request: request, context: context, isAdmin: isAdmin(auth))
        if context.version(atLeast: 2, 16) { view.hostStatus = try await ServiceRecords(db: db, settings: settings).hostStatuses() }
        return view
    }

    static func hostname(_ name: String) -> String {
        let allowed = name.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }
        let trimmed = String(allowed).trimmingCharacters(in: CharacterSet(charactersIn: "-."))
        return trimmed.isEmpty ? "server" : String(trimmed.prefix(63))
    }

    // MARK: delete

    /// Deletes at once what never reached a host; otherwise the host's manager tears it down.
    func deleteServer(_ instance: Instance, auth: AuthContext, requestID: String) async throws {
        let action = try await db.transaction { db in
            try await self.actions.start("delete", instance: instance.uuid, requestID: requestID, projectID: instance.projectID, userID: auth.userID, in: db)
        }
        _ = action
        if instance.host == nil {
            try await ComputeCleanup(clients: clients, instances: instances, logger: logger).finishDelete(instance.uuid)
            return
        }
        try await instances.update(instance.uuid) { $0.taskState = .deleting }
        do {
            try await bus.cast(ComputeRPC.terminate, to: instance.host, InstanceRef(instance.uuid))
        } catch {
            // The host is gone: clean up from here, as Nova's local delete does.
            try await ComputeCleanup(clients: clients, instances: instances, logger: logger).finishDelete(instance.uuid)
        }
    }
}
