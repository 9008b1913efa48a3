import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `os-server-groups`: placement policies the scheduler applies to their members.
extension ComputeAPI {
    var serverGroups: ServerGroupStore { ServerGroupStore(db: db) }

    func registerServerGroups(on router: RouterGroup<StratusContext>) {
        router.post("/os-server-groups") { request, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:os-server-groups:create", auth)
            let body = try await request.computeBody("server_group", context: context)
            let group = try self.parseServerGroup(body, context: context, auth: auth)
            let limit = try await self.quotaLimit("server_groups", project: group.projectID)
            try await self.db.transaction { db in
                try await self.db.lock("compute-quota:" + group.projectID, in: db)
                let row = try await db.raw(
                    "SELECT COUNT(*) AS n FROM server_groups WHERE project_id = \(bind: group.projectID)"
                ).first()
                if limit >= 0, (try row?.decode(column: "n", as: Int.self) ?? 0) >= limit {
                    throw APIError.forbidden("Quota exceeded, too many server groups.")
                }
                try await self.serverGroups.insert(group, in: db)
            }
            return .json(["server_group": Self.serverGroupView(group, context: context)])
        }
        router.get("/os-server-groups") { request, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:os-server-groups:index", auth)
            var condition: SQLQueryString = "project_id = \(bind: auth.projectID ?? "")"
            // As Nova: a caller that is not an admin asking for all projects gets its own groups.
            if let all = request.query("all_projects"), ["true", "1", "yes", ""].contains(all.lowercased()),
                self.isAdmin(auth)
            {
                try self.enforce("os_compute_api:os-server-groups:index:all_projects", auth)
                condition = "1 = 1"
            }
            let filter = condition
            var groups = try await self.db.read { db in try await self.serverGroups.select(where: filter, in: db) }
            let offset = try request.intQuery("offset") ?? 0
            groups = Array(groups.dropFirst(offset))
            if let limit = try request.intQuery("limit") { groups = Array(groups.prefix(limit)) }
            return .json(["server_groups": .array(groups.map { Self.serverGroupView($0, context: context) })])
        }
        router.get("/os-server-groups/:id") { _, context -> Response in
            let auth = try self.caller(context)
            let group = try await self.visibleServerGroup(context, auth, rule: "os_compute_api:os-server-groups:show")
            return .json(["server_group": Self.serverGroupView(group, context: context)])
        }
        router.delete("/os-server-groups/:id") { _, context -> Response in
            let auth = try self.caller(context)
            let group = try await self.visibleServerGroup(
                context, auth, rule: "os_compute_api:os-server-groups:delete")
            try await self.db.transaction { db in try await self.serverGroups.delete(group.uuid, in: db) }
            return Response(status: .noContent)
        }
    }

    private func visibleServerGroup(_ context: StratusContext, _ auth: AuthContext, rule: String) async throws
        -> ServerGroup
    {
        let id = context.parameters.get("id") ?? ""
        guard let group = try await serverGroups.get(id) else {
            throw APIError.notFound("Instance group \(id) could not be found.")
        }
        // Nova finds the group first: another project's is refused by the policy (403).
        try enforce(rule, auth, projectID: group.projectID)
        return group
    }

    /// Nova's request schemas: `policies` (one item) before 2.64, `policy` and `rules` from it.
    private func parseServerGroup(_ body: [String: JSON], context: StratusContext, auth: AuthContext) throws
        -> ServerGroup
    {
        func bad(_ field: String, _ reason: String) -> APIError {
            .badRequest(
                "Invalid input for field/attribute \(field). Value: \(body[field]?.serialized() ?? "None"). \(reason)")
        }
        let modern = context.version(atLeast: 2, 64)
        let allowedKeys: Set<String> = modern ? ["name", "policy", "rules"] : ["name", "policies"]
        if let extra = body.keys.sorted().first(where: { !allowedKeys.contains($0) }) {
            throw APIError.badRequest(
                "Invalid input for field/attribute server_group. Additional properties are not allowed ('\(extra)' was unexpected)"
            )
        }
        guard let nameValue = body["name"] else {
            throw APIError.badRequest("Invalid input for field/attribute server_group. 'name' is a required property")
        }
        guard let name = nameValue.stringValue else {
            throw bad("name", "\(nameValue.serialized()) is not of type 'string'")
        }
        guard !name.isEmpty, name.count <= 255, name.trimmingCharacters(in: .whitespaces) == name else {
            throw bad("name", name.isEmpty ? "'' is too short" : "is not a valid name")
        }
        let known = context.version(atLeast: 2, 15) ? ServerGroup.policies : ["affinity", "anti-affinity"]
        let policy: String
        var rules: [String: JSON] = [:]
        if modern {
            guard let value = body["policy"] else {
                throw APIError.badRequest(
                    "Invalid input for field/attribute server_group. 'policy' is a required property")
            }
            guard let text = value.stringValue, known.contains(text) else {
                throw bad("policy", "is not one of \(known)")
            }
            policy = text
            if let raw = body["rules"] {
                guard case .object(let items) = raw else { throw bad("rules", "is not of type 'object'") }
                if let extra = items.keys.first(where: { $0 != "max_server_per_host" }) {
                    throw APIError.badRequest(
                        "Invalid input for field/attribute rules. Additional properties are not allowed ('\(extra)' was unexpected)"
                    )
                }
                if let max = items["max_server_per_host"] {
                    guard let count = max.intValue ?? max.stringValue.flatMap({ Int($0) }), count >= 1 else {
                        throw bad("rules", "max_server_per_host must be a positive integer")
                    }
                    rules["max_server_per_host"] = .int(count)
                }
                if !items.isEmpty, policy != "anti-affinity" {
                    throw APIError.badRequest("Only anti-affinity policy supports rules.")
                }
            }
        } else {
            guard let value = body["policies"] else {
                throw APIError.badRequest(
                    "Invalid input for field/attribute server_group. 'policies' is a required property")
            }
            guard case .array(let items) = value, items.count == 1, let text = items[0].stringValue,
                known.contains(text)
            else {
                throw bad("policies", "must be a list of exactly one of \(known)")
            }
            policy = text
        }
        return ServerGroup(
            uuid: UUID().uuidString.lowercased(), name: name, policy: policy, rules: rules,
            projectID: auth.projectID ?? "", userID: auth.userID)
    }

    static func serverGroupView(_ group: ServerGroup, context: StratusContext) -> JSON {
        var view: [String: JSON] = [
            "id": .string(group.uuid), "name": .string(group.name), "members": JSON(group.members),
        ]
        if context.version(atLeast: 2, 64) {
            view["policy"] = .string(group.policy)
            view["rules"] = .object(group.rules)
        } else {
            view["policies"] = [.string(group.policy)]
            view["metadata"] = [:]
        }
        if context.version(atLeast: 2, 13) {
            view["project_id"] = .string(group.projectID)
            view["user_id"] = .string(group.userID)
        }
        return .object(view)
    }
}
