import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension IdentityAPI {
    func registerDomains(on router: Router<StratusContext>) {
        var routes = CRUDRoutes(kind: Kinds.domain, policyName: "domain")
        routes.fixedFilters = [("is_domain", true)]
        routes.allowUserSuppliedID = true
        routes.beforeCreate = { record, _, db in
            record["is_domain"] = true
            record["domain_id"] = .string(Kinds.rootDomain)
            record["parent_id"] = .null
            try validateTags(record)
        }
        routes.beforeUpdate = { record, _, _ in try validateTags(record) }
        routes.afterUpdate = { old, new, db in
            if old["enabled"]?.boolValue == true, new["enabled"]?.boolValue == false {
                try await tokens.revocations.add(RevocationEvent(domainID: new["id"]?.stringValue, issuedBefore: Date()), in: db)
            }
        }
        routes.beforeDelete = { record, _ in
            if record["enabled"]?.boolValue == true {
                throw APIError.forbidden("Cannot delete a domain that is enabled, please disable it first.")
            }
        }
        routes.afterDelete = { record, db in
            let id = record["id"]?.stringValue ?? ""
            try await deleteDomainContents(domainID: id, in: db)
            try await tokens.revocations.add(RevocationEvent(domainID: id, issuedBefore: Date()), in: db)
        }
        routes.register(on: router, path: "/v3/domains", api: self)
    }

    /// Cascades a domain delete to its projects, users, groups, roles and their assignments.
    func deleteDomainContents(domainID: String, in db: any SQLDatabase) async throws {
        let projects = try await Kinds.project.list(from: db, filters: [("domain_id", .string(domainID))]).compactMap { $0["id"]?.stringValue }
        let users = try await Kinds.user.list(from: db, filters: [("domain_id", .string(domainID))]).compactMap { $0["id"]?.stringValue }
        let groups = try await Kinds.group.list(from: db, filters: [("domain_id", .string(domainID))]).compactMap { $0["id"]?.stringValue }
        let roles = try await Kinds.role.list(from: db, filters: [("domain_id", .string(domainID))]).compactMap { $0["id"]?.stringValue }
        for table in ["projects", "users", "groups", "roles"] {
            try await db.delete(from: table).where("domain_id", .equal, SQLBind(domainID)).run()
        }
        let actors = users + groups
        let targets = projects + [domainID]
        if !actors.isEmpty { try await db.delete(from: "assignments").where("actor_id", .in, SQLBind.group(actors)).run() }
        try await db.delete(from: "assignments").where("target_id", .in, SQLBind.group(targets)).run()
        if !roles.isEmpty { try await db.delete(from: "assignments").where("role_id", .in, SQLBind.group(roles)).run() }
        if !users.isEmpty { try await db.delete(from: "user_groups").where("user_id", .in, SQLBind.group(users)).run() }
        if !groups.isEmpty { try await db.delete(from: "user_groups").where("group_id", .in, SQLBind.group(groups)).run() }
    }

    func registerProjects(on router: Router<StratusContext>) {
        var routes = CRUDRoutes(kind: Kinds.project, policyName: "project")
        routes.beforeCreate = { record, auth, db in
            try validateTags(record)
            if record["is_domain"]?.boolValue == true {
                record["domain_id"] = .string(Kinds.rootDomain)
                record["parent_id"] = .null
                return
            }
            var parent: Record?
            if let parentID = record["parent_id"]?.stringValue {
                guard let found = try await Kinds.project.fetch(id: parentID, from: db) else {
                    throw APIError.badRequest("Could not find project: \(parentID).")
                }
                parent = found
            }
            if record["domain_id"]?.stringValue == nil {
                let fromParent = parent.flatMap { $0["is_domain"]?.boolValue == true ? $0["id"]?.stringValue : $0["domain_id"]?.stringValue }
                record["domain_id"] = .string(fromParent ?? auth.projectDomainID ?? auth.domainID ?? "default")
            }
            let domainID = record["domain_id"]?.stringValue ?? ""
            guard let domain = try await Kinds.domain.fetch(id: domainID, from: db), domain["is_domain"]?.boolValue == true else {
                throw APIError.badRequest("Could not find domain: \(domainID).")
            }
            if let parent {
                if parent["is_domain"]?.boolValue == true {
                    guard parent["id"]?.stringValue == domainID else { throw APIError.badRequest("The parent domain does not match domain_id.") }
                    record["parent_id"] = .null
                } else if parent["domain_id"]?.stringValue != domainID {
                    throw APIError.badRequest("Cannot create project, the parent is in a different domain.")
                }
            }
        }
        routes.beforeUpdate = { record, _, _ in try validateTags(record) }
        routes.afterUpdate = { old, new, db in
            if old["enabled"]?.boolValue == true, new["enabled"]?.boolValue == false {
                try await tokens.revocations.add(RevocationEvent(projectID: new["id"]?.stringValue, issuedBefore: Date()), in: db)
            }
        }
        routes.beforeDelete = { record, db in
            let id = record["id"]?.stringValue ?? ""
            if record["is_domain"]?.boolValue == true {
                if record["enabled"]?.boolValue == true {
                    throw APIError.forbidden("Cannot delete a domain that is enabled, please disable it first.")
                }
                try await deleteDomainContents(domainID: id, in: db)
                return
            }
            if !(try await Kinds.project.list(from: db, filters: [("parent_id", .string(id))])).isEmpty {
                throw APIError.forbidden("Cannot delete the project \(id) since it is not a leaf in the hierarchy.")
            }
        }
        routes.afterDelete = { record, db in
            let id = record["id"]?.stringValue ?? ""
            try await db.delete(from: "assignments").where("target_id", .equal, SQLBind(id)).run()
            try await db.delete(from: "limits").where("project_id", .equal, SQLBind(id)).run()
            try await tokens.revocations.add(RevocationEvent(projectID: id, issuedBefore: Date()), in: db)
        }
        routes.forbiddenUpdates = ["parent_id"]
        // List and show have Keystone-specific query options.
        routes.skip = ["list", "show"]
        router.get("/v3/projects") { request, context in try await listProjects(request, context) }
        router.get("/v3/projects/:id") { request, context in try await showProject(request, context) }
        routes.register(on: router, path: "/v3/projects", api: self)
        registerProjectTags(on: router)
    }

    private func listProjects(_ request: Request, _ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        var filters: [(String, JSON)] = [("is_domain", .bool(request.flag("is_domain")))]
        for name in ["name", "domain_id", "parent_id"] {
            if let value = request.query(name) { filters.append((name, .string(value))) }
        }
        if let enabled = try request.boolQuery("enabled") { filters.append(("enabled", .bool(enabled))) }
        try policy.enforce("identity:list_projects", auth: auth, target: ["target.domain_id": request.query("domain_id") ?? ""])
        let query = filters
        var projects = try await store.read { db in try await Kinds.project.list(from: db, filters: query) }
        projects = filterByTags(projects, request)
        return Kinds.project.collection(projects, request: request)
    }

    private func filterByTags(_ projects: [Record], _ request: Request) -> [Record] {
        func tags(_ p: Record) -> Set<String> { Set((p["extra"]?["tags"]?.arrayValue ?? []).compactMap(\.stringValue)) }
        func list(_ name: String) -> Set<String>? { request.query(name).map { Set($0.split(separator: ",").map(String.init)) } }
        var result = projects
        if let all = list("tags") { result = result.filter { all.isSubset(of: tags($0)) } }
        if let any = list("tags-any") { result = result.filter { !any.isDisjoint(with: tags($0)) } }
        if let notAll = list("not-tags") { result = result.filter { !notAll.isSubset(of: tags($0)) } }
        if let notAny = list("not-tags-any") { result = result.filter { notAny.isDisjoint(with: tags($0)) } }
        return result
    }

    private func showProject(_ request: Request, _ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        let id = try context.param("id")
        let base = baseURL(request)
        let (project, parents, subtree) = try await store.read { db -> (Record, [Record], [Record]) in
            let project = try await Kinds.project.require(id: id, from: db)
            let wantParents = request.flag("parents_as_list") || request.flag("parents_as_ids")
            let wantSubtree = request.flag("subtree_as_list") || request.flag("subtree_as_ids")
            let parents = wantParents ? try await store.ancestors(ofProject: id, in: db) : []
            let subtree = wantSubtree ? try await store.descendants(ofProject: id, in: db) : []
            return (project, parents, subtree)
        }
        if project["is_domain"]?.boolValue == true { throw APIError.notFound("Could not find project: \(id).") }
        try policy.enforce(
            "identity:get_project", auth: auth,
            target: ["target.project.id": id, "target.domain_id": project["domain_id"]?.stringValue ?? "",
                "target.project.domain_id": project["domain_id"]?.stringValue ?? ""])
        var out = Kinds.project.render(project, base: base)
        if request.flag("parents_as_list") {
            out["parents"] = .array(parents.map { ["project": .object(Kinds.project.render($0, base: base))] })
        }
        if request.flag("subtree_as_list") {
            out["subtree"] = .array(subtree.map { ["project": .object(Kinds.project.render($0, base: base))] })
        }
        if request.flag("parents_as_ids") { out["parents"] = Self.idTree(parents.reversed().map { $0["id"]?.stringValue ?? "" }) }
        if request.flag("subtree_as_ids") { out["subtree"] = Self.subtreeIDs(root: id, projects: subtree) }
        return Response.json(["project": .object(out)])
    }

    /// `{"grandparent": {"parent": null}}` for a chain root-first; Keystone's parents_as_ids.
    static func idTree(_ chain: [String]) -> JSON {
        var tree: JSON = .null
        for id in chain.reversed() { tree = [id: tree] }
        return tree
    }

    static func subtreeIDs(root: String, projects: [Record]) -> JSON {
        let children = projects.filter { $0["parent_id"]?.stringValue == root }
        if children.isEmpty { return .null }
        var out: [String: JSON] = [:]
        for child in children {
            let id = child["id"]?.stringValue ?? ""
            out[id] = subtreeIDs(root: id, projects: projects)
        }
        return .object(out)
    }

    private func validateTags(_ record: Record) throws {
        guard let tags = record["extra"]?["tags"] else { return }
        guard let list = tags.arrayValue else { throw APIError.badRequest("Invalid input for field 'tags': must be a list.") }
        try checkTags(list)
    }

    func checkTags(_ list: [JSON]) throws {
        guard list.count <= 80 else { throw APIError.badRequest("Invalid input for field 'tags': at most 80 tags are allowed.") }
        guard Set(list.compactMap(\.stringValue)).count == list.count else {
            throw APIError.badRequest("Invalid input for field 'tags': tags must be unique.")
        }
        for tag in list {
            guard let s = tag.stringValue, !s.isEmpty, s.count <= 255, !s.contains("/"), !s.contains(",") else {
                throw APIError.badRequest("Invalid input for field 'tags': \(tag.serialized()) is not a valid tag.")
            }
        }
    }

    private func registerProjectTags(on router: Router<StratusContext>) {
        @Sendable func projectTags(_ context: StratusContext, rule: String, db: any SQLDatabase) async throws -> (Record, [String]) {
            let auth = try context.requireAuth()
            let id = try context.param("id")
            let project = try await Kinds.project.require(id: id, from: db)
            try policy.enforce(rule, auth: auth, target: ["target.project.id": id, "target.domain_id": project["domain_id"]?.stringValue ?? ""])
            return (project, (project["extra"]?["tags"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
        @Sendable func save(_ project: Record, _ tags: [String], db: any SQLDatabase) async throws {
            var extra = project["extra"]?.objectValue ?? [:]
            extra["tags"] = JSON(tags)
            try await Kinds.project.update(id: project["id"]?.stringValue ?? "", changes: ["extra": .object(extra)], in: db)
        }
        router.get("/v3/projects/:id/tags") { _, context in
            let (_, tags) = try await store.read { db in try await projectTags(context, rule: "identity:list_project_tags", db: db) }
            return Response.json(["tags": JSON(tags)])
        }
        router.put("/v3/projects/:id/tags") { request, context in
            let body = try await request.jsonObject(context: context)
            guard let list = body["tags"]?.arrayValue else { throw APIError.badRequest("Invalid input for field 'tags': 'tags' is a required property.") }
            try checkTags(list)
            let tags = list.compactMap(\.stringValue)
            try await store.write { db in
                let (project, _) = try await projectTags(context, rule: "identity:update_project_tags", db: db)
                try await save(project, tags, db: db)
            }
            return Response.json(["tags": JSON(tags)])
        }
        router.delete("/v3/projects/:id/tags") { _, context in
            try await store.write { db in
                let (project, _) = try await projectTags(context, rule: "identity:delete_project_tags", db: db)
                try await save(project, [], db: db)
            }
            return Response.noContent()
        }
        router.get("/v3/projects/:id/tags/:tag") { _, context in
            let tag = try context.param("tag")
            let (_, tags) = try await store.read { db in try await projectTags(context, rule: "identity:get_project_tag", db: db) }
            guard tags.contains(tag) else { throw APIError.notFound("Tag \(tag) not found.") }
            return Response.noContent()
        }
        router.head("/v3/projects/:id/tags/:tag") { _, context in
            let tag = try context.param("tag")
            let (_, tags) = try await store.read { db in try await projectTags(context, rule: "identity:get_project_tag", db: db) }
            guard tags.contains(tag) else { throw APIError.notFound("Tag \(tag) not found.") }
            return Response.noContent()
        }
        router.put("/v3/projects/:id/tags/:tag") { request, context in
            let tag = try context.param("tag")
            try checkTags([.string(tag)])
            try await store.write { db in
                let (project, tags) = try await projectTags(context, rule: "identity:create_project_tag", db: db)
                if !tags.contains(tag) { try await save(project, tags + [tag], db: db) }
            }
            return Response(status: .created, headers: [.location: "\(baseURL(request))\(request.uri.path)"])
        }
        router.delete("/v3/projects/:id/tags/:tag") { _, context in
            let tag = try context.param("tag")
            try await store.write { db in
                let (project, tags) = try await projectTags(context, rule: "identity:delete_project_tag", db: db)
                guard tags.contains(tag) else { throw APIError.notFound("Tag \(tag) not found.") }
                try await save(project, tags.filter { $0 != tag }, db: db)
            }
            return Response.noContent()
        }
    }
}
