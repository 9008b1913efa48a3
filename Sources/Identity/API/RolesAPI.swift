import Hummingbird
import SQLKit
import StratusCore

extension IdentityAPI {
    func registerRoles(on router: Router<StratusContext>) {
        var routes = CRUDRoutes(kind: Kinds.role, policyName: "role")
        routes.skip = ["list"]
        routes.beforeCreate = { record, _, db in
            if let domainID = record["domain_id"]?.stringValue {
                guard try await Kinds.domain.fetch(id: domainID, from: db) != nil else { throw APIError.notFound("Could not find domain: \(domainID).") }
            } else {
                record["domain_id"] = .string(Kinds.globalRole)
            }
        }
        routes.afterDelete = { record, db in
            let id = record["id"]?.stringValue ?? ""
            try await db.delete(from: "assignments").where("role_id", .equal, SQLBind(id)).run()
            try await db.delete(from: "implied_roles").where("prior_role_id", .equal, SQLBind(id)).run()
            try await db.delete(from: "implied_roles").where("implied_role_id", .equal, SQLBind(id)).run()
        }
        router.get("/v3/roles") { request, context in
            let auth = try context.requireAuth()
            try policy.enforce("identity:list_roles", auth: auth, target: ["target.domain_id": request.query("domain_id") ?? ""])
            var filters: [(String, JSON)] = [("domain_id", .string(request.query("domain_id") ?? Kinds.globalRole))]
            if let name = request.query("name") { filters.append(("name", .string(name))) }
            let query = filters
            let roles = try await store.read { db in try await Kinds.role.list(from: db, filters: query) }
            return Kinds.role.collection(roles, request: request)
        }
        routes.register(on: router, path: "/v3/roles", api: self)
        registerImpliedRoles(on: router)
    }

    private func registerImpliedRoles(on router: Router<StratusContext>) {
        @Sendable func ref(_ record: Record, base: String) -> JSON {
            ["id": record["id"] ?? .null, "name": record["name"] ?? .null,
             "links": ["self": .string("\(base)/v3/roles/\(record["id"]?.stringValue ?? "")")]]
        }
        @Sendable func pair(_ context: StratusContext, _ rule: String, _ db: any SQLDatabase) async throws -> (Record, Record, Bool) {
            let auth = try context.requireAuth()
            try policy.enforce(rule, auth: auth)
            let prior = try await Kinds.role.require(id: try context.param("id"), from: db)
            let implied = try await Kinds.role.require(id: try context.param("implied"), from: db)
            let exists = try await db.select().column("prior_role_id").from("implied_roles")
                .where("prior_role_id", .equal, SQLBind(prior["id"]?.stringValue ?? ""))
                .where("implied_role_id", .equal, SQLBind(implied["id"]?.stringValue ?? "")).first() != nil
            return (prior, implied, exists)
        }
        router.put("/v3/roles/:id/implies/:implied") { request, context in
            let (prior, implied) = try await store.write { db -> (Record, Record) in
                let (prior, implied, exists) = try await pair(context, "identity:create_implied_role", db)
                let priorDomain = prior["domain_id"]?.stringValue
                if priorDomain == Kinds.globalRole, implied["domain_id"]?.stringValue != Kinds.globalRole {
                    throw APIError.forbidden("A global role cannot imply a domain-specific role.")
                }
                if implied["name"]?.stringValue == "admin" {
                    throw APIError.forbidden("The admin role cannot be implied by another role.")
                }
                if exists { throw APIError.conflict("Conflict occurred attempting to store role inference - Duplicate entry.") }
                do {
                    try await db.insert(into: "implied_roles").columns("prior_role_id", "implied_role_id")
                        .values(SQLBind(prior["id"]?.stringValue ?? ""), SQLBind(implied["id"]?.stringValue ?? "")).run()
                }
                return (prior, implied)
            }
            let base = baseURL(request)
            return Response.json(["role_inference": ["prior_role": ref(prior, base: base), "implies": ref(implied, base: base)]], status: .created)
        }
        router.get("/v3/roles/:id/implies/:implied") { request, context in
            let (prior, implied, exists) = try await store.read { db in try await pair(context, "identity:get_implied_role", db) }
            guard exists else { throw APIError.notFound("Could not find implied role.") }
            let base = baseURL(request)
            return Response.json(["role_inference": ["prior_role": ref(prior, base: base), "implies": ref(implied, base: base)]])
        }
        router.head("/v3/roles/:id/implies/:implied") { _, context in
            let (_, _, exists) = try await store.read { db in try await pair(context, "identity:check_implied_role", db) }
            guard exists else { throw APIError.notFound("Could not find implied role.") }
            return Response.noContent()
        }
        router.delete("/v3/roles/:id/implies/:implied") { _, context in
            try await store.write { db in
                let (prior, implied, exists) = try await pair(context, "identity:delete_implied_role", db)
                guard exists else { throw APIError.notFound("Could not find implied role.") }
                try await db.delete(from: "implied_roles").where("prior_role_id", .equal, SQLBind(prior["id"]?.stringValue ?? ""))
                    .where("implied_role_id", .equal, SQLBind(implied["id"]?.stringValue ?? "")).run()
            }
            return Response.noContent()
        }
        router.get("/v3/roles/:id/implies") { request, context in
            let auth = try context.requireAuth()
            try policy.enforce("identity:list_implied_roles", auth: auth)
            let id = try context.param("id")
            let (prior, implied) = try await store.read { db -> (Record, [Record]) in
                let prior = try await Kinds.role.require(id: id, from: db)
                let ids = try await db.select().column("implied_role_id").from("implied_roles").where("prior_role_id", .equal, SQLBind(id)).all()
                    .map { try $0.decode(column: "implied_role_id", as: String.self) }
                return (prior, try await Kinds.role.list(from: db, idIn: ids))
            }
            let base = baseURL(request)
            return Response.json(["role_inference": ["prior_role": ref(prior, base: base), "implies": .array(implied.map { ref($0, base: base) })]])
        }
        router.get("/v3/role_inferences") { request, context in
            let auth = try context.requireAuth()
            try policy.enforce("identity:list_role_inference_rules", auth: auth)
            let (rules, roles) = try await store.read { db -> ([(String, String)], [Record]) in
                let rules = try await db.select().columns("prior_role_id", "implied_role_id").from("implied_roles").all().map {
                    (try $0.decode(column: "prior_role_id", as: String.self), try $0.decode(column: "implied_role_id", as: String.self))
                }
                return (rules, try await Kinds.role.list(from: db))
            }
            let byID = Dictionary(roles.map { ($0["id"]?.stringValue ?? "", $0) }, uniquingKeysWith: { a, _ in a })
            let base = baseURL(request)
            var inferences: [JSON] = []
            for prior in Set(rules.map(\.0)).sorted() {
                guard let priorRole = byID[prior] else { continue }
                let implied = rules.filter { $0.0 == prior }.compactMap { byID[$0.1] }.map { ref($0, base: base) }
                inferences.append(["prior_role": ref(priorRole, base: base), "implies": .array(implied)])
            }
            return Response.json(["role_inferences": .array(inferences), "links": ["self": .string("\(base)/v3/role_inferences")]])
        }
    }
}
