import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ComputeAPI {
    /// Server metadata, tags, addresses and interfaces.
    func registerServerDetails(on router: RouterGroup<StratusContext>) {
        router.get("/servers/:id/metadata") { _, context -> Response in
            let instance = try await self.server(context, try self.caller(context), rule: "os_compute_api:server-metadata:index")
            return .json(["metadata": .object(instance.metadata.mapValues { .string($0) })])
        }
        router.get("/servers/:id/metadata/:key") { _, context -> Response in
            let instance = try await self.server(context, try self.caller(context), rule: "os_compute_api:server-metadata:show")
            let key = context.parameters.get("key") ?? ""
            guard let value = instance.metadata[key].map(JSON.string) else { throw APIError.notFound("Metadata item was not found") }
            return .json(["meta": [key: value]])
        }
        router.post("/servers/:id/metadata") { request, context -> Response in
            let items = try await Self.metadataBody(request, context, key: "metadata")
            let metadata = try await self.changeMetadata(context, rule: "os_compute_api:server-metadata:update") { $0.merge(items) { _, new in new } }
            return .json(["metadata": .object(metadata)])
        }
        router.put("/servers/:id/metadata") { request, context -> Response in
            let items = try await Self.metadataBody(request, context, key: "metadata")
            let metadata = try await self.changeMetadata(context, rule: "os_compute_api:server-metadata:update_all") { $0 = items }
            return .json(["metadata": .object(metadata)])
        }
        router.put("/servers/:id/metadata/:key") { request, context -> Response in
            let items = try await Self.metadataBody(request, context, key: "meta")
            let key = context.parameters.get("key") ?? ""
            guard items.count == 1, let value = items[key] else {
                throw APIError.badRequest(items.count > 1 ? "Request body contains too many items" : "Request body and URI mismatch")
            }
            _ = try await self.changeMetadata(context, rule: "os_compute_api:server-metadata:update") { $0[key] = value }
            return .json(["meta": [key: value]])
        }
        router.delete("/servers/:id/metadata/:key") { _, context -> Response in
            let key = context.parameters.get("key") ?? ""
            _ = try await self.changeMetadata(context, rule: "os_compute_api:server-metadata:delete") { metadata in
                guard metadata.removeValue(forKey: key) != nil else { throw APIError.notFound("Metadata item was not found") }
            }
            return Response(status: .noContent)
        }
        registerServerTags(on: router)
        registerServerAddresses(on: router)
    }

    static func metadataBody(_ request: Request, _ context: StratusContext, key: String) async throws -> [String: JSON] {
        let body = try await request.jsonObject(context: context)
        guard case .object(let items)? = body[key] else {
            throw APIError.badRequest("Invalid input for field/attribute \(key). '\(key)' is a required property")
        }
        try ServerMetadataRules.validate(items)
        return items
    }

    private func changeMetadata(
        _ context: StratusContext, rule: String, _ change: @escaping @Sendable (inout [String: JSON]) throws -> Void
    ) async throws -> [String: JSON] {
        let auth = try caller(context)
        let instance = try await server(context, auth, rule: rule)
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        let limit = try await quotaLimit("metadata_items", project: instance.projectID)
        guard let updated = try await instances.update(instance.uuid, { instance in
            var metadata = instance.metadata.mapValues { JSON.string($0) }
            try change(&metadata)
            if limit >= 0, metadata.count > limit { throw APIError.forbidden("Quota exceeded for metadata_items: too many metadata items (limit \(limit))") }
            instance.metadata = metadata.compactMapValues(\.stringValue)
        }) else { throw ComputeError.instanceNotFound(instance.uuid) }
        return updated.metadata.mapValues { .string($0) }
    }

    /// `/servers/{id}/tags` (2.26).
    private func registerServerTags(on router: RouterGroup<StratusContext>) {
        router.get("/servers/:id/tags") { _, context -> Response in
            guard context.version(atLeast: 2, 26) else { throw APIError.notFound("The resource could not be found.") }
            let instance = try await self.server(context, try self.caller(context), rule: "os_compute_api:os-server-tags:index")
            let tags = try await self.db.read { db in try await self.instances.tags(of: [instance.uuid], in: db) }
            return .json(["tags": JSON(tags[instance.uuid] ?? [])])
        }
        router.get("/servers/:id/tags/:tag") { _, context -> Response in
            guard context.version(atLeast: 2, 26) else { throw APIError.notFound("The resource could not be found.") }
            let instance = try await self.server(context, try self.caller(context), rule: "os_compute_api:os-server-tags:show")
            let tag = context.parameters.get("tag") ?? ""
            let tags = try await self.db.read { db in try await self.instances.tags(of: [instance.uuid], in: db) }
            guard tags[instance.uuid]?.contains(tag) == true else { throw APIError.notFound("Tag \(tag) could not be found.") }
            return Response(status: .noContent)
        }
        router.put("/servers/:id/tags") { request, context -> Response in
            guard context.version(atLeast: 2, 26) else { throw APIError.notFound("The resource could not be found.") }
            let body = try await request.jsonObject(context: context)
            let tags = try ServerMetadataRules.tags(body["tags"] ?? .null)
            let instance = try await self.server(context, try self.caller(context), rule: "os_compute_api:os-server-tags:update_all")
            try await self.db.transaction { db in
                try await db.delete(from: "instance_tags").where("instance_uuid", .equal, SQLBind(instance.uuid)).run()
                for tag in tags {
                    try await db.insert(into: "instance_tags").columns("instance_uuid", "tag").values(SQLBind(instance.uuid), SQLBind(tag)).run()
                }
            }
            return .json(["tags": JSON(tags.sorted())])
        }
        router.put("/servers/:id/tags/:tag") { request, context -> Response in
            guard context.version(atLeast: 2, 26) else { throw APIError.notFound("The resource could not be found.") }
            let tag = context.parameters.get("tag") ?? ""
            _ = try ServerMetadataRules.tags([.string(tag)])
            let instance = try await self.server(context, try self.caller(context), rule: "os_compute_api:os-server-tags:update")
            let added: Bool = try await self.db.transaction { db in
                let tags = try await self.instances.tags(of: [instance.uuid], in: db)[instance.uuid] ?? []
                if tags.contains(tag) { return false }
                if tags.count >= 50 { throw APIError.badRequest("The number of tags exceeded the per-server limit 50") }
                try await db.insert(into: "instance_tags").columns("instance_uuid", "tag").values(SQLBind(instance.uuid), SQLBind(tag)).run()
                return true
            }
            guard added else { return Response(status: .noContent) }
            return Response(status: .created, headers: [.location: "\(request.baseURL)/v2.1/servers/\(instance.uuid)/tags/\(tag)"])
        }
        router.delete("/servers/:id/tags") { _, context -> Response in
            guard context.version(atLeast: 2, 26) else { throw APIError.notFound("The resource could not be found.") }
            let instance = try await self.server(context, try self.caller(context), rule: "os_compute_api:os-server-tags:delete_all")
            try await self.db.read { db in try await db.delete(from: "instance_tags").where("instance_uuid", .equal, SQLBind(instance.uuid)).run() }
            return Response(status: .noContent)
        }
        router.delete("/servers/:id/tags/:tag") { _, context -> Response in
            guard context.version(atLeast: 2, 26) else { throw APIError.notFound("The resource could not be found.") }
            let tag = context.parameters.get("tag") ?? ""
            let instance = try await self.server(context, try self.caller(context), rule: "os_compute_api:os-server-tags:delete")
            let tags = try await self.db.read { db in try await self.instances.tags(of: [instance.uuid], in: db) }
            guard tags[instance.uuid]?.contains(tag) == true else { throw APIError.notFound("Tag \(tag) could not be found.") }
            try await self.db.read { db in
                try await db.delete(from: "instance_tags").where("instance_uuid", .equal, SQLBind(instance.uuid)).where("tag", .equal, SQLBind(tag)).run()
            }
            return Response(status: .noContent)
        }
    }

    /// `/servers/{id}/ips` and `os-interface` (the server's Neutron ports).
    private func registerServerAddresses(on router: RouterGroup<StratusContext>) {
        router.get("/servers/:id/ips") { request, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:ips:index")
            return .json(["addresses": try await self.view(request, context, auth).addresses(instance, extended: false)])
        }
        router.get("/servers/:id/ips/:network") { request, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:ips:show")
            let network = context.parameters.get("network") ?? ""
            guard let addresses = try await self.view(request, context, auth).addresses(instance, extended: false)[network] else {
                throw APIError.notFound("Network \(network) could not be found.")
            }
            return .json([network: addresses])
        }
        router.get("/servers/:id/os-interface") { _, context -> Response in
            let instance = try await self.server(context, try self.caller(context), rule: "os_compute_api:os-attach-interfaces:list")
            let ports = try await self.clients.network.ports(.device(instance.uuid))
            return .json(["interfaceAttachments": .array(ports.map { Self.interfaceView($0.body) })])
        }
        router.get("/servers/:id/os-interface/:port") { _, context -> Response in
            let instance = try await self.server(context, try self.caller(context), rule: "os_compute_api:os-attach-interfaces:show")
            let port = context.parameters.get("port") ?? ""
            guard let found = try await self.clients.network.port(port, token: nil), found.deviceID == instance.uuid else {
                throw APIError.notFound("Port \(port) is not attached")
            }
            return .json(["interfaceAttachment": Self.interfaceView(found.body)])
        }
    }

    static func interfaceView(_ port: JSON) -> JSON {
        [
            "port_id": port["id"] ?? "", "net_id": port["network_id"] ?? "", "mac_addr": port["mac_address"] ?? "",
            "port_state": port["status"] ?? "", "fixed_ips": .array((port["fixed_ips"]?.arrayValue ?? []).map {
                ["subnet_id": $0["subnet_id"] ?? "", "ip_address": $0["ip_address"] ?? ""]
            }),
        ]
    }
}
