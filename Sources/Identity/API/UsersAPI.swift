import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension IdentityAPI {
    func registerUsers(on router: Router<StratusContext>) {
        var routes = CRUDRoutes(kind: Kinds.user, policyName: "user")
        routes.beforeCreate = { record, auth, db in
            try await prepareUser(&record, auth: auth, db: db)
            record["created_at"] = .double(Date().timeIntervalSince1970)
        }
        routes.beforeUpdate = { record, auth, db in try await prepareUser(&record, auth: auth, db: db) }
        routes.afterUpdate = { old, new, db in
            let disabled = old["enabled"]?.boolValue == true && new["enabled"]?.boolValue == false
            if disabled || old["password_hash"] != new["password_hash"] {
                try await tokens.revocations.add(RevocationEvent(userID: new["id"]?.stringValue, issuedBefore: Date()), in: db)
            }
        }
        routes.afterDelete = { record, db in
            let id = record["id"]?.stringValue ?? ""
            try await db.delete(from: "assignments").where("actor_id", .equal, SQLBind(id)).run()
            try await db.delete(from: "user_groups").where("user_id", .equal, SQLBind(id)).run()
            for table in ["application_credentials", "credentials", "access_rules"] {
                try await db.delete(from: table).where("user_id", .equal, SQLBind(id)).run()
            }
            try await tokens.revocations.add(RevocationEvent(userID: id, issuedBefore: Date()), in: db)
        }
        routes.register(on: router, path: "/v3/users", api: self)

        router.post("/v3/users/:id/password") { request, context in
            let id = try context.param("id")
            let body = try await request.resourceBody("user", context: context)
            guard let original = body["original_password"]?.stringValue else {
                throw APIError.badRequest("Invalid input for field 'user': 'original_password' is a required property.")
            }
            guard let password = body["password"]?.stringValue, !password.isEmpty else {
                throw APIError.badRequest("Invalid input for field 'user': 'password' is a required property.")
            }
            try await store.write { db in
                guard let user = try await Kinds.user.fetch(id: id, from: db), let hash = user["password_hash"]?.stringValue,
                    store.hasher.verify(original, against: hash)
                else { throw APIError.unauthorized("The request you have made requires authentication.") }
                try await store.checkPasswordHistory(userID: id, password: password, count: compliance.uniqueLastPasswordCount, in: db)
                let newHash = try store.hasher.hash(password)
                try await store.recordPassword(userID: id, hash: newHash, in: db)
                try await Kinds.user.update(
                    id: id, changes: ["password_hash": .string(newHash), "password_created_at": .double(Date().timeIntervalSince1970)], in: db)
                try await tokens.revocations.add(RevocationEvent(userID: id, issuedBefore: Date()), in: db)
            }
            return Response.noContent()
        }
        router.get("/v3/users/:id/projects") { request, context in
            let auth = try context.requireAuth()
            let id = try context.param("id")
            let projects = try await store.read { db -> [Record] in
                let user = try await Kinds.user.require(id: id, from: db)
                try policy.enforce("identity:list_user_projects", auth: auth,
                    target: ["target.user.id": id, "target.domain_id": user["domain_id"]?.stringValue ?? ""])
                return try await projectsWithRoles(userID: id, in: db)
            }
            return Kinds.project.collection(projects, request: request)
        }
        router.get("/v3/users/:id/groups") { request, context in
            let auth = try context.requireAuth()
            let id = try context.param("id")
            let groups = try await store.read { db -> [Record] in
                let user = try await Kinds.user.require(id: id, from: db)
                try policy.enforce("identity:list_groups_for_user", auth: auth,
                    target: ["target.user.id": id, "target.domain_id": user["domain_id"]?.stringValue ?? ""])
                return try await Kinds.group.list(from: db, idIn: try await store.groupIDs(ofUser: id, in: db))
            }
            return Kinds.group.collection(groups, request: request)
        }
    }

    /// Moves `password` from the body into a hash, fills and checks the domain.
    private func prepareUser(_ record: inout Record, auth: AuthContext, db: any SQLDatabase) async throws {
        var extra = record["extra"]?.objectValue ?? [:]
        if let password = extra.removeValue(forKey: "password") {
            guard password.isNull || password.stringValue != nil else {
                throw APIError.badRequest("Invalid input for field 'password': \(password.serialized()) is not of type 'string'.")
            }
            let hash = try password.stringValue.map { try store.hasher.hash($0) }
            record["password_hash"] = JSON(hash)
            if let hash, let id = record["id"]?.stringValue { try await store.recordPassword(userID: id, hash: hash, in: db) }
            record["password_created_at"] = .double(Date().timeIntervalSince1970)
        }
        record["extra"] = .object(extra)
        if record["domain_id"]?.stringValue == nil { record["domain_id"] = .string(auth.projectDomainID ?? auth.domainID ?? "default") }
        let domainID = record["domain_id"]?.stringValue ?? ""
        guard let domain = try await Kinds.domain.fetch(id: domainID, from: db), domain["is_domain"]?.boolValue == true else {
            throw APIError.notFound("Could not find domain: \(domainID).")
        }
    }

    func registerGroups(on router: Router<StratusContext>) {
        var routes = CRUDRoutes(kind: Kinds.group, policyName: "group")
        routes.beforeCreate = { record, auth, db in
            if record["domain_id"]?.stringValue == nil { record["domain_id"] = .string(auth.projectDomainID ?? auth.domainID ?? "default") }
            let domainID = record["domain_id"]?.stringValue ?? ""
            guard try await Kinds.domain.fetch(id: domainID, from: db) != nil else { throw APIError.notFound("Could not find domain: \(domainID).") }
        }
        routes.afterDelete = { record, db in
            let id = record["id"]?.stringValue ?? ""
            try await db.delete(from: "assignments").where("actor_id", .equal, SQLBind(id)).run()
            try await db.delete(from: "user_groups").where("group_id", .equal, SQLBind(id)).run()
        }
        routes.register(on: router, path: "/v3/groups", api: self)

        router.get("/v3/groups/:id/users") { request, context in
            let auth = try context.requireAuth()
            let id = try context.param("id")
            let users = try await store.read { db -> [Record] in
                let group = try await Kinds.group.require(id: id, from: db)
                try policy.enforce("identity:list_users_in_group", auth: auth, target: ["target.domain_id": group["domain_id"]?.stringValue ?? ""])
                return try await Kinds.user.list(from: db, idIn: try await store.userIDs(inGroup: id, in: db))
            }
            return Kinds.user.collection(users, request: request)
        }
        let membership: @Sendable (StratusContext, String, any SQLDatabase) async throws -> (group: String, user: String, member: Bool) = {
            context, rule, db in
            let auth = try context.requireAuth()
            let groupID = try context.param("id")
            let userID = try context.param("user")
            let group = try await Kinds.group.require(id: groupID, from: db)
            _ = try await Kinds.user.require(id: userID, from: db)
            try policy.enforce(rule, auth: auth, target: ["target.domain_id": group["domain_id"]?.stringValue ?? ""])
            let member = try await store.userIDs(inGroup: groupID, in: db).contains(userID)
            return (groupID, userID, member)
        }
        router.put("/v3/groups/:id/users/:user") { _, context in
            try await store.write { db in
                let m = try await membership(context, "identity:add_user_to_group", db)
                if !m.member {
                    try await db.insert(into: "user_groups").columns("user_id", "group_id").values(SQLBind(m.user), SQLBind(m.group)).run()
                }
            }
            return Response.noContent()
        }
        router.head("/v3/groups/:id/users/:user") { _, context in
            let m = try await store.read { db in try await membership(context, "identity:check_user_in_group", db) }
            guard m.member else { throw APIError.notFound("User \(m.user) is not a member of group \(m.group).") }
            return Response.noContent()
        }
        router.get("/v3/groups/:id/users/:user") { _, context in
            let m = try await store.read { db in try await membership(context, "identity:check_user_in_group", db) }
            guard m.member else { throw APIError.notFound("User \(m.user) is not a member of group \(m.group).") }
            return Response.noContent()
        }
        router.delete("/v3/groups/:id/users/:user") { _, context in
            try await store.write { db in
                let m = try await membership(context, "identity:remove_user_from_group", db)
                guard m.member else { throw APIError.notFound("User \(m.user) is not a member of group \(m.group).") }
                try await db.delete(from: "user_groups").where("user_id", .equal, SQLBind(m.user)).where("group_id", .equal, SQLBind(m.group)).run()
            }
            return Response.noContent()
        }
    }
}
