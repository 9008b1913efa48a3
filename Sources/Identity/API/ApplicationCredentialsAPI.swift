import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension IdentityAPI {
    func registerApplicationCredentials(on router: Router<StratusContext>) {
        let kind = Kinds.applicationCredential
        router.post("/v3/users/:id/application_credentials") { request, context in
            let auth = try context.requireAuth()
            let userID = try context.param("id")
            try policy.enforce("identity:create_application_credential", auth: auth, target: ["target.user.id": userID])
            guard let projectID = auth.projectID else {
                throw APIError.forbidden("Application credentials need a project-scoped token.")
            }
            if auth.applicationCredentialID != nil {
                throw APIError.forbidden("Application credentials cannot create application credentials.")
            }
            let body = try await request.resourceBody("application_credential", context: context)
            var record = try kind.record(from: body, creating: true)
            let secret = body["secret"]?.stringValue ?? Self.generateSecret()
            if let expires = record["expires_at"]?.stringValue.flatMap(Timestamp.parse), expires <= Date() {
                throw APIError.badRequest("Invalid input for field 'expires_at': the expiry is in the past.")
            }
            let tokenRoles = Set(auth.roleIDs)
            var roles: [JSON] = []
            if let requested = body["roles"]?.arrayValue, !requested.isEmpty {
                for ref in requested {
                    guard let match = zip(auth.roleIDs, auth.roles).first(where: { id, name in
                        ref["id"]?.stringValue == id || ref["name"]?.stringValue == name
                    }) else {
                        throw APIError.badRequest("Invalid input for field 'roles': \(ref.serialized()) is not a role of the token.")
                    }
                    roles.append(["id": .string(match.0), "name": .string(match.1), "domain_id": .null])
                }
            } else {
                roles = zip(auth.roleIDs, auth.roles).filter { tokenRoles.contains($0.0) }
                    .map { ["id": .string($0.0), "name": .string($0.1), "domain_id": .null] }
            }
            var rules: [JSON] = []
            for rule in body["access_rules"]?.arrayValue ?? [] {
                guard let service = rule["service"]?.stringValue, let path = rule["path"]?.stringValue, let method = rule["method"]?.stringValue,
                    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].contains(method)
                else { throw APIError.badRequest("Invalid input for field 'access_rules': each rule needs service, path and method.") }
                rules.append(["id": .string(rule["id"]?.stringValue ?? newID()), "service": .string(service), "path": .string(path), "method": .string(method)])
            }
            record["id"] = .string(newID())
            record["user_id"] = .string(userID)
            record["project_id"] = .string(projectID)
            record["roles"] = .array(roles)
            record["access_rules"] = .array(rules)
            record["secret_hash"] = .string(try store.hasher.hash(secret))
            let created = try await store.write { [record, rules] db -> Record in
                _ = try await Kinds.user.require(id: userID, from: db)
                for rule in rules {
                    if try await Kinds.accessRule.fetch(id: rule["id"]?.stringValue ?? "", from: db) == nil {
                        var stored = rule.objectValue ?? [:]
                        stored["user_id"] = .string(userID)
                        try await Kinds.accessRule.insert(stored, into: db)
                    }
                }
                try await kind.insert(record, into: db)
                return try await kind.require(id: record["id"]?.stringValue ?? "", from: db)
            }
            var out = Kinds.applicationCredential.render(created, base: baseURL(request))
            out["secret"] = .string(secret)
            return Response.json(["application_credential": .object(out)], status: .created)
        }
        router.get("/v3/users/:id/application_credentials") { request, context in
            let auth = try context.requireAuth()
            let userID = try context.param("id")
            try policy.enforce("identity:list_application_credentials", auth: auth, target: ["target.user.id": userID])
            var filters: [(String, JSON)] = [("user_id", .string(userID))]
            if let name = request.query("name") { filters.append(("name", .string(name))) }
            let query = filters
            let records = try await store.read { db in try await kind.list(from: db, filters: query) }
            return kind.collection(records, request: request)
        }
        router.get("/v3/users/:id/application_credentials/:cid") { request, context in
            let record = try await ownedRecord(kind, context, rule: "identity:get_application_credential")
            let view = Kinds.applicationCredential.render(record, base: baseURL(request))
            return Response.json(["application_credential": .object(view)])
        }
        router.delete("/v3/users/:id/application_credentials/:cid") { _, context in
            let record = try await ownedRecord(kind, context, rule: "identity:delete_application_credential")
            try await store.write { db in try await kind.delete(id: record["id"]?.stringValue ?? "", from: db) }
            return Response.noContent()
        }
        router.get("/v3/users/:id/access_rules") { request, context in
            let auth = try context.requireAuth()
            let userID = try context.param("id")
            try policy.enforce("identity:list_access_rules", auth: auth, target: ["target.user.id": userID])
            var filters: [(String, JSON)] = [("user_id", .string(userID))]
            for name in ["service", "path", "method"] { if let v = request.query(name) { filters.append((name, .string(v))) } }
            let query = filters
            let records = try await store.read { db in try await Kinds.accessRule.list(from: db, filters: query) }
            return Kinds.accessRule.collection(records, request: request)
        }
        router.get("/v3/users/:id/access_rules/:cid") { request, context in
            let record = try await ownedRecord(Kinds.accessRule, context, rule: "identity:get_access_rule")
            return Response.json(["access_rule": .object(Kinds.accessRule.render(record, base: baseURL(request)))])
        }
        router.delete("/v3/users/:id/access_rules/:cid") { _, context in
            let record = try await ownedRecord(Kinds.accessRule, context, rule: "identity:delete_access_rule")
            let id = record["id"]?.stringValue ?? ""
            try await store.write { db in
                let users = try await Kinds.applicationCredential.list(from: db, filters: [("user_id", record["user_id"] ?? .null)])
                if users.contains(where: { ($0["access_rules"]?.arrayValue ?? []).contains { $0["id"]?.stringValue == id } }) {
                    throw APIError.forbidden("Access rule \(id) is in use by an application credential.")
                }
                try await Kinds.accessRule.delete(id: id, from: db)
            }
            return Response.noContent()
        }
    }

    /// A record of `kind` belonging to the `:user` in the path, after the policy check.
    private func ownedRecord(_ kind: ResourceKind, _ context: StratusContext, rule: String) async throws -> Record {
        let auth = try context.requireAuth()
        let userID = try context.param("id")
        let id = try context.param("cid")
        try policy.enforce(rule, auth: auth, target: ["target.user.id": userID])
        let record = try await store.read { db in try await kind.fetch(id: id, from: db) }
        guard let record, record["user_id"]?.stringValue == userID else {
            throw APIError.notFound("Could not find \(kind.singular.replacingOccurrences(of: "_", with: " ")): \(id).")
        }
        return record
    }

    static func generateSecret() -> String {
        var bytes = [UInt8](repeating: 0, count: 64)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = rng.next() }
        return Base64URL.encode(Data(bytes), padded: false)
    }
}
