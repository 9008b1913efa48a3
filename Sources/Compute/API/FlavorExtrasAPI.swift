import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ComputeAPI {
    /// `/flavors/{id}/os-extra_specs`: admins write, anyone who sees the flavor reads.
    func registerFlavorExtraSpecs(on router: RouterGroup<StratusContext>) {
        router.get("/flavors/:id/os-extra_specs") { _, context -> Response in
            let flavor = try await self.visibleFlavor(context.parameters.get("id") ?? "", try self.caller(context))
            return .json(["extra_specs": .object(flavor.extraSpecs.mapValues { .string($0) })])
        }
        router.get("/flavors/:id/os-extra_specs/:key") { _, context -> Response in
            let flavor = try await self.visibleFlavor(context.parameters.get("id") ?? "", try self.caller(context))
            let key = context.parameters.get("key") ?? ""
            guard let value = flavor.extraSpecs[key] else {
                throw APIError.notFound("Flavor \(flavor.id) has no extra specs with key \(key).")
            }
            return .json([key: .string(value)])
        }
        router.post("/flavors/:id/os-extra_specs") { request, context -> Response in
            let specs = try await Self.specs(request.computeBody("extra_specs", context: context))
            let flavor = try await self.changeSpecs(context) { $0.merge(specs) { _, new in new } }
            return .json(["extra_specs": .object(flavor.extraSpecs.mapValues { .string($0) })])
        }
        router.put("/flavors/:id/os-extra_specs/:key") { request, context -> Response in
            let key = context.parameters.get("key") ?? ""
            let specs = try Self.specs(try await request.jsonObject(context: context))
            guard specs.count == 1, let value = specs[key] else {
                throw APIError.badRequest("Request body and URI mismatch")
            }
            _ = try await self.changeSpecs(context) { $0[key] = value }
            return .json([key: .string(value)])
        }
        router.delete("/flavors/:id/os-extra_specs/:key") { _, context -> Response in
            let key = context.parameters.get("key") ?? ""
            _ = try await self.changeSpecs(context) { specs in
                guard specs.removeValue(forKey: key) != nil else {
                    throw APIError.notFound("Flavor \(context.parameters.get("id") ?? "") has no extra specs with key \(key).")
                }
            }
            return Response(status: .ok)
        }
    }

    /// Extra specs as strings; numbers and booleans are accepted as Nova does.
    static func specs(_ body: [String: JSON]) throws -> [String: String] {
        var specs: [String: String] = [:]
        for (key, value) in body {
            guard !key.isEmpty, key.count <= 255, key.allSatisfy({ $0.isLetter || $0.isNumber || "-_:. ".contains($0) }) else {
                throw APIError.badRequest("Invalid input for field/attribute extra_specs. Value: \(key). Invalid key")
            }
            switch value {
            case .string(let text) where text.count <= 255: specs[key] = text
            case .int(let number): specs[key] = String(number)
            case .double(let number): specs[key] = String(number)
            case .bool(let flag): specs[key] = flag ? "True" : "False"
            default: throw APIError.badRequest("Invalid input for field/attribute \(key). Value: \(value.serialized()).")
            }
        }
        return specs
    }

    private func changeSpecs(_ context: StratusContext, _ change: @escaping @Sendable (inout [String: String]) throws -> Void) async throws -> Flavor {
        let auth = try caller(context)
        try enforce("os_compute_api:os-flavor-extra-specs:update", auth)
        let id = context.parameters.get("id") ?? ""
        return try await db.transaction { db in
            guard var flavor = try await Flavor.get(id, in: db) else { throw ComputeError.flavorNotFound(id) }
            try change(&flavor.extraSpecs)
            let text = JSON.object(flavor.extraSpecs.mapValues { .string($0) }).serialized()
            try await db.update("flavors").set("extra_specs", to: SQLBind(text)).where("flavorid", .equal, SQLBind(id)).run()
            return flavor
        }
    }

    /// `/flavors/{id}/os-flavor-access` and the add/remove tenant access actions.
    func registerFlavorAccess(on router: RouterGroup<StratusContext>) {
        router.get("/flavors/:id/os-flavor-access") { _, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:os-flavor-access", auth)
            let id = context.parameters.get("id") ?? ""
            let flavor = try await self.visibleFlavor(id, auth)
            guard !flavor.isPublic else { throw APIError.notFound("Access list not available for public flavors.") }
            return .json(["flavor_access": .array(try await self.access(id))])
        }
        router.post("/flavors/:id/action") { request, context -> Response in
            let auth = try self.caller(context)
            let body = try await request.jsonObject(context: context)
            let id = context.parameters.get("id") ?? ""
            let (name, add): (String, Bool) = body["addTenantAccess"] != nil ? ("addTenantAccess", true) : ("removeTenantAccess", false)
            guard let tenant = body[name]?["tenant"]?.stringValue, !tenant.isEmpty else {
                throw APIError.badRequest("Invalid input for field/attribute \(name). 'tenant' is a required property")
            }
            try self.enforce(add ? "os_compute_api:os-flavor-access:add_tenant_access" : "os_compute_api:os-flavor-access:remove_tenant_access", auth)
            try await self.db.transaction { db in
                guard let flavor = try await Flavor.get(id, in: db) else { throw ComputeError.flavorNotFound(id) }
                if flavor.isPublic { throw APIError.conflict("Can not add access to a public flavor.") }
                let exists = try await db.select().column("flavorid").from("flavor_projects")
                    .where("flavorid", .equal, SQLBind(id)).where("project_id", .equal, SQLBind(tenant)).first() != nil
                if add {
                    if exists { throw APIError.conflict("Flavor access already exists for flavor \(id) and project \(tenant) combination.") }
                    try await db.insert(into: "flavor_projects").columns("flavorid", "project_id").values(SQLBind(id), SQLBind(tenant)).run()
                } else {
                    guard exists else { throw APIError.notFound("Flavor access not found for \(id) / \(tenant) combination.") }
                    try await db.delete(from: "flavor_projects").where("flavorid", .equal, SQLBind(id)).where("project_id", .equal, SQLBind(tenant)).run()
                }
            }
            return .json(["flavor_access": .array(try await self.access(id))])
        }
    }

    private func access(_ id: String) async throws -> [JSON] {
        try await db.read { db in
            try await db.select().column("project_id").from("flavor_projects").where("flavorid", .equal, SQLBind(id)).orderBy("project_id").all()
                .map { ["flavor_id": .string(id), "tenant_id": .string(try $0.decode(column: "project_id", as: String.self))] }
        }
    }
}
