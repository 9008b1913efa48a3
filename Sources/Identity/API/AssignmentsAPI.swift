import Foundation
import HTTPTypes
import Hummingbird
import SQLKit
import StratusCore

extension IdentityAPI {
    func registerAssignments(on router: Router<StratusContext>) {
        for target in ["projects", "domains", "system"] {
            for actor in ["users", "groups"] {
                let prefix = target == "system" ? "/v3/system/\(actor)/:actor/roles" : "/v3/\(target)/:id/\(actor)/:actor/roles"
                registerGrants(on: router, prefix: prefix, suffix: "", target: target, actor: actor, inherited: false)
                if target != "system" {
                    registerGrants(
                        on: router, prefix: "/v3/OS-INHERIT/\(target)/:id/\(actor)/:actor/roles", suffix: "/inherited_to_projects",
                        target: target, actor: actor, inherited: true)
                }
            }
        }
        router.get("/v3/role_assignments") { request, context in try await listRoleAssignments(request, context) }
    }

    private static func kind(target: String, actor: String) -> Assignment.Kind {
        switch (target, actor) {
        case ("projects", "users"): return .userProject
        case ("projects", "groups"): return .groupProject
        case ("domains", "users"): return .userDomain
        case ("domains", "groups"): return .groupDomain
        case ("system", "users"): return .userSystem
        default: return .groupSystem
        }
    }

    private func registerGrants(on router: Router<StratusContext>, prefix: String, suffix: String, target: String, actor: String, inherited: Bool) {
        let kind = Self.kind(target: target, actor: actor)
        /// Checks that target, actor and role exist and the caller may act; returns the assignment.
        let resolve: @Sendable (StratusContext, String, any SQLDatabase, Bool) async throws -> Assignment = { context, rule, db, needRole in
            let auth = try context.requireAuth()
            var targetID = "system"
            var domainID = ""
            if target != "system" {
                targetID = try context.param("id")
                let record = try await (target == "projects" ? Kinds.project : Kinds.domain).require(id: targetID, from: db)
                if (record["is_domain"]?.boolValue == true) != (target == "domains") {
                    throw APIError.notFound("Could not find \(target == "domains" ? "domain" : "project"): \(targetID).")
                }
                domainID = target == "domains" ? targetID : (record["domain_id"]?.stringValue ?? "")
            }
            let actorID = try context.param("actor")
            _ = try await (actor == "users" ? Kinds.user : Kinds.group).require(id: actorID, from: db)
            var roleID = ""
            if needRole {
                roleID = try context.param("role")
                _ = try await Kinds.role.require(id: roleID, from: db)
            }
            try policy.enforce(rule, auth: auth, target: ["target.domain_id": domainID, "target.project.id": target == "projects" ? targetID : ""])
            return Assignment(kind: kind, actorID: actorID, targetID: targetID, roleID: roleID, inherited: inherited)
        }
        let rolePath = RouterPath(prefix + "/:role" + suffix)
        router.put(rolePath) { _, context in
            try await store.write { db in
                let assignment = try await resolve(context, "identity:create_grant", db, true)
                try await store.addAssignment(assignment, in: db)
            }
            return Response.noContent()
        }
        let check: @Sendable (Request, StratusContext) async throws -> Response = { _, context in
            let found = try await store.read { db -> Bool in
                let a = try await resolve(context, "identity:check_grant", db, true)
                return try await store.assignments(in: db, actorIDs: [a.actorID], targetIDs: [a.targetID], roleID: a.roleID, kinds: [a.kind])
                    .contains { $0.inherited == inherited }
            }
            guard found else { throw APIError.notFound("Could not find role assignment.") }
            return Response.noContent()
        }
        router.head(rolePath, use: check)
        router.get(rolePath, use: check)
        router.delete(rolePath) { _, context in
            try await store.write { db in
                let assignment = try await resolve(context, "identity:revoke_grant", db, true)
                guard try await store.removeAssignment(assignment, in: db) else {
                    throw APIError.notFound("Could not find role assignment.")
                }
            }
            return Response.noContent()
        }
        router.get(RouterPath(prefix + suffix)) { request, context in
            let roles = try await store.read { db -> [Record] in
                let a = try await resolve(context, "identity:list_grants", db, false)
                let ids = try await store.assignments(in: db, actorIDs: [a.actorID], targetIDs: [a.targetID], kinds: [a.kind])
                    .filter { $0.inherited == inherited }.map(\.roleID)
                return try await Kinds.role.list(from: db, idIn: ids)
            }
            return Kinds.role.collection(roles, request: request)
        }
    }

    /// One row of `/v3/role_assignments`, possibly derived (group membership, inheritance, implication).
    private struct Entry: Hashable {
        var isGroup: Bool
        var actorID: String
        var scope: String  // project, domain, system
        var targetID: String
        var roleID: String
        var inherited: Bool
        var viaGroup: String?
        var priorRole: String?
    }

    private func listRoleAssignments(_ request: Request, _ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        let effective = request.query("effective") != nil
        let includeNames = request.flag("include_names")
        let includeSubtree = request.flag("include_subtree")
        let userFilter = request.query("user.id")
        let groupFilter = request.query("group.id")
        let roleFilter = request.query("role.id")
        let projectFilter = request.query("scope.project.id")
        let domainFilter = request.query("scope.domain.id")
        let systemFilter = request.query("scope.system")
        let inheritedFilter = request.query("scope.OS-INHERIT:inherited_to")
        try policy.enforce("identity:list_role_assignments", auth: auth, target: ["target.domain_id": domainFilter ?? ""])
        if effective && groupFilter != nil {
            throw APIError.badRequest("Combining effective and group filter will always result in an empty list.")
        }
        let base = baseURL(request)
        let body = try await store.read { db -> JSON in
            var entries = try await store.assignments(in: db).map { a -> Entry in
                let scope = a.kind == .userSystem || a.kind == .groupSystem ? "system" : (a.kind == .userDomain || a.kind == .groupDomain ? "domain" : "project")
                return Entry(isGroup: a.isGroup, actorID: a.actorID, scope: scope, targetID: a.targetID, roleID: a.roleID, inherited: a.inherited)
            }
            let projects = try await Kinds.project.list(from: db, filters: [("is_domain", false)])
            if effective {
                entries = try await expandEffective(entries, projects: projects, db: db)
            }
            var projectScope: Set<String>?
            if let projectFilter {
                projectScope = [projectFilter]
                if includeSubtree {
                    projectScope?.formUnion(try await store.descendants(ofProject: projectFilter, in: db).compactMap { $0["id"]?.stringValue })
                }
            }
            entries = entries.filter { e in
                if let userFilter, e.isGroup || e.actorID != userFilter { return false }
                if let groupFilter, !e.isGroup || e.actorID != groupFilter { return false }
                if let roleFilter, e.roleID != roleFilter { return false }
                if let projectScope, e.scope != "project" || !projectScope.contains(e.targetID) { return false }
                if let domainFilter, e.scope != "domain" || e.targetID != domainFilter { return false }
                if systemFilter != nil, e.scope != "system" { return false }
                if inheritedFilter != nil, !e.inherited { return false }
                return true
            }
            var names: [String: Record] = [:]
            if includeNames {
                for record in try await Kinds.role.list(from: db) + projects + (try await Kinds.domain.list(from: db, filters: [("is_domain", true)]))
                    + (try await Kinds.user.list(from: db)) + (try await Kinds.group.list(from: db))
                {
                    names[record["id"]?.stringValue ?? ""] = record
                }
            }
            let rendered = entries.sorted { ($0.actorID, $0.targetID, $0.roleID) < ($1.actorID, $1.targetID, $1.roleID) }.map {
                render($0, names: includeNames ? names : nil, base: base)
            }
            return ["role_assignments": .array(rendered),
                    "links": ["self": .string("\(base)\(request.uri.path)\(request.uri.query.map { "?\($0)" } ?? "")"), "previous": .null, "next": .null]]
        }
        return Response.json(body)
    }

    /// Keystone's `effective`: groups become their members, inherited grants land on the
    /// projects below them, and implied roles are added.
    private func expandEffective(_ entries: [Entry], projects: [Record], db: any SQLDatabase) async throws -> [Entry] {
        var expanded: [Entry] = []
        for entry in entries {
            var users: [(String, String?)] = [(entry.actorID, nil)]
            if entry.isGroup {
                users = try await store.userIDs(inGroup: entry.actorID, in: db).map { ($0, entry.actorID) }
            }
            var targets: [(String, String)] = [(entry.scope, entry.targetID)]
            if entry.inherited {
                if entry.scope == "domain" {
                    targets = projects.filter { $0["domain_id"]?.stringValue == entry.targetID }.map { ("project", $0["id"]?.stringValue ?? "") }
                } else {
                    targets = try await store.descendants(ofProject: entry.targetID, in: db).map { ("project", $0["id"]?.stringValue ?? "") }
                }
            }
            for (user, group) in users {
                for (scope, target) in targets {
                    expanded.append(Entry(isGroup: false, actorID: user, scope: scope, targetID: target, roleID: entry.roleID, inherited: false, viaGroup: group))
                }
            }
        }
        // Domain-specific roles never appear in effective assignments; only the global roles they imply do.
        let domainRoles = Set(try await Kinds.role.list(from: db).filter { $0["domain_id"]?.stringValue != Kinds.globalRole }.compactMap { $0["id"]?.stringValue })
        var withImplied: [Entry] = []
        var seen: Set<Entry> = []
        for entry in expanded {
            if seen.insert(entry).inserted { withImplied.append(entry) }
            for implied in try await store.expandImplied([entry.roleID], in: db) where implied != entry.roleID {
                var derived = entry
                derived.roleID = implied
                derived.priorRole = entry.roleID
                if seen.insert(derived).inserted { withImplied.append(derived) }
            }
        }
        return withImplied.filter { !domainRoles.contains($0.roleID) }
    }

    private func render(_ e: Entry, names: [String: Record]?, base: String) -> JSON {
        func ref(_ id: String, withDomain: Bool) -> JSON {
            guard let names, let record = names[id] else { return ["id": .string(id)] }
            var out: [String: JSON] = ["id": .string(id), "name": record["name"] ?? .null]
            if withDomain, let domainID = record["domain_id"]?.stringValue, domainID != Kinds.globalRole {
                out["domain"] = ["id": .string(domainID), "name": names[domainID]?["name"] ?? .null]
            }
            return .object(out)
        }
        var out: [String: JSON] = ["role": ref(e.roleID, withDomain: true)]
        out[e.isGroup ? "group" : "user"] = ref(e.actorID, withDomain: true)
        var scope: [String: JSON] = [:]
        switch e.scope {
        case "system": scope["system"] = ["all": true]
        case "domain": scope["domain"] = ref(e.targetID, withDomain: false)
        default: scope["project"] = ref(e.targetID, withDomain: true)
        }
        if e.inherited { scope["OS-INHERIT:inherited_to"] = "projects" }
        out["scope"] = .object(scope)
        let targetPath = e.scope == "system" ? "system" : "\(e.scope)s/\(e.targetID)"
        let actorPath = e.isGroup || e.viaGroup != nil ? "groups" : "users"
        var links: [String: JSON] = [
            "assignment": .string("\(base)/v3/\(e.inherited ? "OS-INHERIT/" : "")\(targetPath)/\(actorPath)/\(e.viaGroup ?? e.actorID)/roles/\(e.priorRole ?? e.roleID)\(e.inherited ? "/inherited_to_projects" : "")")
        ]
        if let group = e.viaGroup { links["membership"] = .string("\(base)/v3/groups/\(group)/users/\(e.actorID)") }
        if let prior = e.priorRole { links["prior_role"] = .string("\(base)/v3/roles/\(prior)") }
        out["links"] = .object(links)
        return .object(out)
    }
}
