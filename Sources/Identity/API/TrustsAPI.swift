import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// OS-TRUST: a trustor delegates roles on a project to a trustee.
extension IdentityAPI {
    func registerTrusts(on router: Router<StratusContext>) {
        let kind = Kinds.trust
        router.post("/v3/OS-TRUST/trusts") { request, context in
            let auth = try context.requireAuth()
            let body = try await request.resourceBody("trust", context: context)
            var record = try kind.record(from: body.filter { $0.key != "roles" }, creating: true)
            guard record["trustor_user_id"]?.stringValue == auth.userID else {
                throw APIError.forbidden("The trustor must be the user of the token.")
            }
            if let uses = record["remaining_uses"]?.intValue, uses <= 0 {
                throw APIError.badRequest("Invalid input for field 'remaining_uses': must be a positive integer.")
            }
            if let expires = record["expires_at"]?.stringValue.flatMap(Timestamp.parse), expires <= Date() {
                throw APIError.badRequest("Invalid input for field 'expires_at': the expiry is in the past.")
            }
            let requested = body["roles"]?.arrayValue ?? []
            let projectID = record["project_id"]?.stringValue
            if projectID != nil, requested.isEmpty {
                throw APIError.forbidden("At least one role must be delegated on a project trust.")
            }
            record["id"] = .string(newID())
            let prepared = record
            let created = try await store.write { db -> Record in
                var record = prepared
                _ = try await Kinds.user.require(id: record["trustee_user_id"]?.stringValue ?? "", from: db)
                var delegated: [JSON] = []
                if let projectID {
                    _ = try await Kinds.project.require(id: projectID, from: db)
                    let held = try await store.effectiveRoles(userID: auth.userID, scope: .project(projectID), in: db)
                    for ref in requested {
                        guard let role = held.first(where: { $0.id == ref["id"]?.stringValue || $0.name == ref["name"]?.stringValue }) else {
                            throw APIError.forbidden("The trustor does not hold role \(ref.serialized()) on the project.")
                        }
                        delegated.append(["id": .string(role.id), "name": .string(role.name), "domain_id": .null])
                    }
                }
                record["roles"] = .array(delegated)
                try await kind.insert(record, into: db)
                return try await kind.require(id: record["id"]?.stringValue ?? "", from: db)
            }
            let view = Kinds.trust.render(created, base: baseURL(request))
            return Response.json(["trust": .object(view)], status: .created)
        }
        router.get("/v3/OS-TRUST/trusts") { request, context in
            let auth = try context.requireAuth()
            var filters: [(String, JSON)] = []
            for name in ["trustor_user_id", "trustee_user_id"] {
                if let value = request.query(name) {
                    if value != auth.userID { try policy.enforce("identity:list_trusts", auth: auth) }
                    filters.append((name, .string(value)))
                }
            }
            if filters.isEmpty { try policy.enforce("identity:list_trusts", auth: auth) }
            let query = filters
            let trusts = try await store.read { db in try await kind.list(from: db, filters: query) }
            return kind.collection(trusts, request: request)
        }
        let visible: @Sendable (StratusContext, Bool) async throws -> Record = { context, toDelete in
            let auth = try context.requireAuth()
            let trust = try await store.read { db in try await kind.require(id: try context.param("id"), from: db) }
            try policy.enforce(toDelete ? "identity:delete_trust" : "identity:get_trust", auth: auth, target: [
                "target.trust.trustor_user_id": trust["trustor_user_id"]?.stringValue ?? "",
                "target.trust.trustee_user_id": trust["trustee_user_id"]?.stringValue ?? "",
            ])
            return trust
        }
        router.get("/v3/OS-TRUST/trusts/:id") { request, context in
            let trust = try await visible(context, false)
            return Response.json(["trust": .object(Kinds.trust.render(trust, base: baseURL(request)))])
        }
        router.delete("/v3/OS-TRUST/trusts/:id") { _, context in
            let trust = try await visible(context, true)
            try await store.write { db in try await kind.delete(id: trust["id"]?.stringValue ?? "", from: db) }
            return Response.noContent()
        }
        router.get("/v3/OS-TRUST/trusts/:id/roles") { request, context in
            let trust = try await visible(context, false)
            let roles = Kinds.trust.render(trust, base: baseURL(request))["roles"] ?? []
            return Response.json(["roles": roles, "links": ["self": .string("\(baseURL(request))\(request.uri.path)"), "previous": .null, "next": .null]])
        }
        let trustRole: @Sendable (Request, StratusContext) async throws -> Response = { request, context in
            let trust = try await visible(context, false)
            let roleID = try context.param("role")
            let roles = Kinds.trust.render(trust, base: baseURL(request))["roles"]?.arrayValue
            guard let role = roles?.first(where: { $0["id"]?.stringValue == roleID }) else {
                throw APIError.notFound("Role \(roleID) is not delegated by trust \(trust["id"]?.stringValue ?? "").")
            }
            return Response.json(["role": role])
        }
        router.get("/v3/OS-TRUST/trusts/:id/roles/:role", use: trustRole)
        router.head("/v3/OS-TRUST/trusts/:id/roles/:role") { request, context in
            _ = try await trustRole(request, context)
            return Response(status: .ok)
        }
    }
}
