import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// Nova's quota resources and their defaults.
enum QuotaResources {
    static let defaults: [(String, Int)] = [
        ("instances", 10), ("cores", 20), ("ram", 51200), ("metadata_items", 128), ("key_pairs", 100),
        ("server_groups", 10),
        ("server_group_members", 10), ("injected_files", 5), ("injected_file_content_bytes", 10240),
        ("injected_file_path_bytes", 255),
        ("floating_ips", 10), ("fixed_ips", -1), ("security_groups", 10), ("security_group_rules", 20),
    ]

    /// The resources shown at a microversion (network ones go at 2.36, file injection at 2.57).
    static func shown(_ context: StratusContext) -> [String] {
        defaults.map(\.0).filter { name in
            if context.version(atLeast: 2, 36),
                ["floating_ips", "fixed_ips", "security_groups", "security_group_rules"].contains(name)
            {
                return false
            }
            if context.version(atLeast: 2, 57), name.hasPrefix("injected_file") { return false }
            return true
        }
    }
}

extension ComputeAPI {
    func registerQuotas(on router: RouterGroup<StratusContext>) {
        router.get("/os-quota-sets/:project") { request, context in
            try await self.quotaSet(request, context, mode: .limits)
        }
        router.get("/os-quota-sets/:project/detail") { request, context in
            try await self.quotaSet(request, context, mode: .detail)
        }
        router.get("/os-quota-sets/:project/defaults") { request, context in
            try await self.quotaSet(request, context, mode: .defaults)
        }
        router.put("/os-quota-sets/:project") { request, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:os-quota-sets:update", auth)
            let project = context.parameters.get("project") ?? ""
            let body = try await request.computeBody("quota_set", context: context)
            let user = request.query("user_id") ?? ""
            let shown = QuotaResources.shown(context)
            var values: [(String, Int)] = []
            for (key, value) in body where key != "force" {
                guard shown.contains(key) else {
                    throw APIError.badRequest("Additional properties are not allowed ('\(key)' was unexpected)")
                }
                guard let limit = value.intValue ?? value.stringValue.flatMap({ Int($0) }), limit >= -1 else {
                    throw APIError.badRequest(
                        "Invalid input for field/attribute \(key). Value: \(value.serialized()). must be an integer of at least -1"
                    )
                }
                values.append((key, limit))
            }
            let frozen = values
            try await self.db.transaction { db in
                for (key, limit) in frozen {
                    try await db.delete(from: "quotas").where("project_id", .equal, SQLBind(project)).where(
                        "user_id", .equal, SQLBind(user)
                    )
                    .where("resource", .equal, SQLBind(key)).run()
                    try await db.insert(into: "quotas").columns("project_id", "user_id", "resource", "hard_limit")
                        .values(SQLBind(project), SQLBind(user), SQLBind(key), SQLBind(limit)).run()
                }
            }
            // Nova's update answer is the quota set without its id.
            var response = try await self.quotaSet(request, context, mode: .limits, authorized: true, showID: false)
            response.status = .ok
            return response
        }
        router.delete("/os-quota-sets/:project") { request, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:os-quota-sets:delete", auth)
            let project = context.parameters.get("project") ?? ""
            try await self.db.read { db in
                var query = db.delete(from: "quotas").where("project_id", .equal, SQLBind(project))
                if let user = request.query("user_id") { query = query.where("user_id", .equal, SQLBind(user)) }
                try await query.run()
            }
            return Response(status: .accepted)
        }
        router.get("/os-quota-class-sets/:class") { _, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:os-quota-class-sets:show", auth)
            let name = context.parameters.get("class") ?? ""
            var set = try await self.classLimits().filter { QuotaResources.shown(context).contains($0.key) }.mapValues
            { JSON.int($0) }
            set["id"] = .string(name)
            return .json(["quota_class_set": .object(set)])
        }
        router.put("/os-quota-class-sets/:class") { request, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:os-quota-class-sets:update", auth)
            let name = context.parameters.get("class") ?? ""
            let body = try await request.computeBody("quota_class_set", context: context)
            let shown = QuotaResources.shown(context)
            try await self.db.transaction { db in
                for (key, value) in body {
                    guard shown.contains(key), let limit = value.intValue, limit >= -1 else {
                        throw APIError.badRequest(
                            "Invalid input for field/attribute \(key). Value: \(value.serialized()).")
                    }
                    try await db.delete(from: "quota_classes").where("class_name", .equal, SQLBind(name)).where(
                        "resource", .equal, SQLBind(key)
                    ).run()
                    try await db.insert(into: "quota_classes").columns("class_name", "resource", "hard_limit")
                        .values(SQLBind(name), SQLBind(key), SQLBind(limit)).run()
                }
            }
            let set = try await self.classLimits().filter { shown.contains($0.key) }.mapValues { JSON.int($0) }
            return .json(["quota_class_set": .object(set)])
        }
        router.get("/limits") { request, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:limits", auth)
            var project = auth.projectID ?? ""
            if let other = request.query("tenant_id") {
                try self.enforce("os_compute_api:limits:other_project", auth, projectID: other)
                project = other
            }
            let limits = try await self.effectiveLimits(project: project, user: nil)
            let used = try await self.usage(project: project, user: auth.userID)
            var absolute: [String: JSON] = [
                "maxTotalInstances": .int(limits["instances"] ?? -1), "maxTotalCores": .int(limits["cores"] ?? -1),
                "maxTotalRAMSize": .int(limits["ram"] ?? -1), "maxServerMeta": .int(limits["metadata_items"] ?? -1),
                "maxImageMeta": .int(limits["metadata_items"] ?? -1),
                "maxTotalKeypairs": .int(limits["key_pairs"] ?? -1),
                "maxServerGroups": .int(limits["server_groups"] ?? -1),
                "maxServerGroupMembers": .int(limits["server_group_members"] ?? -1),
                "totalInstancesUsed": .int(used["instances"] ?? 0), "totalCoresUsed": .int(used["cores"] ?? 0),
                "totalRAMUsed": .int(used["ram"] ?? 0), "totalServerGroupsUsed": 0,
            ]
            if !context.version(atLeast: 2, 36) {
                absolute["maxTotalFloatingIps"] = .int(limits["floating_ips"] ?? -1)
                absolute["maxSecurityGroups"] = .int(limits["security_groups"] ?? -1)
                absolute["maxSecurityGroupRules"] = .int(limits["security_group_rules"] ?? -1)
                absolute["totalFloatingIpsUsed"] = 0
                absolute["totalSecurityGroupsUsed"] = 0
            }
            if !context.version(atLeast: 2, 57) {
                absolute["maxPersonality"] = .int(limits["injected_files"] ?? -1)
                absolute["maxPersonalitySize"] = .int(limits["injected_file_content_bytes"] ?? -1)
            }
            return .json(["limits": ["rate": [], "absolute": .object(absolute)]])
        }
    }

    enum QuotaMode { case limits, detail, defaults }

    private func quotaSet(
        _ request: Request, _ context: StratusContext, mode: QuotaMode, authorized: Bool = false, showID: Bool = true
    ) async throws -> Response {
        let auth = try caller(context)
        let project = context.parameters.get("project") ?? ""
        if !authorized {
            try enforce(
                mode == .defaults
                    ? "os_compute_api:os-quota-sets:defaults"
                    : mode == .detail ? "os_compute_api:os-quota-sets:detail" : "os_compute_api:os-quota-sets:show",
                auth, projectID: project)
        }
        let user = request.query("user_id")
        let limits =
            mode == .defaults ? try await classLimits() : try await effectiveLimits(project: project, user: user)
        let used = mode == .detail ? try await usage(project: project, user: user ?? auth.userID) : [:]
        var set: [String: JSON] = showID ? ["id": .string(project)] : [:]
        for name in QuotaResources.shown(context) {
            let limit = limits[name] ?? -1
            set[name] =
                mode == .detail ? ["limit": .int(limit), "in_use": .int(used[name] ?? 0), "reserved": 0] : .int(limit)
        }
        return .json(["quota_set": .object(set)])
    }

    /// The `default` quota class over the built-in defaults.
    func classLimits() async throws -> [String: Int] {
        var limits = Dictionary(uniqueKeysWithValues: QuotaResources.defaults)
        let rows = try await db.read { db in
            try await db.select().columns("resource", "hard_limit").from("quota_classes").where(
                "class_name", .equal, SQLBind("default")
            ).all()
        }
        for row in rows {
            limits[try row.decode(column: "resource", as: String.self)] = try row.decode(
                column: "hard_limit", as: Int.self)
        }
        return limits
    }

    /// A project's limits (a user's own limits over them when given).
    func effectiveLimits(project: String, user: String?) async throws -> [String: Int] {
        var limits = try await classLimits()
        let rows = try await db.read { db in
            try await db.select().columns("user_id", "resource", "hard_limit").from("quotas").where(
                "project_id", .equal, SQLBind(project)
            ).all()
        }
        for scope in ["", user ?? "\u{0}"] {
            for row in rows where (try row.decode(column: "user_id", as: String.self)) == scope {
                limits[try row.decode(column: "resource", as: String.self)] = try row.decode(
                    column: "hard_limit", as: Int.self)
            }
        }
        return limits
    }

    func quotaLimit(_ resource: String, project: String) async throws -> Int {
        try await effectiveLimits(project: project, user: nil)[resource] ?? -1
    }

    /// Counted usage, as Nova counts it (no reservations).
    func usage(project: String, user: String) async throws -> [String: Int] {
        try await db.read { db in try await usage(project: project, user: user, in: db) }
    }

    func usage(project: String, user: String, in db: any SQLDatabase) async throws -> [String: Int] {
        let row = try await db.raw(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(vcpus), 0) AS BIGINT) AS cores, CAST(COALESCE(SUM(memory_mb), 0) AS BIGINT) AS ram FROM instances WHERE project_id = \(bind: project) AND deleted = \(bind: false)"
        ).first()
        let keys = try await db.raw("SELECT COUNT(*) AS n FROM key_pairs WHERE user_id = \(bind: user)").first()
        return [
            "instances": try row?.decode(column: "n", as: Int.self) ?? 0,
            "cores": try row?.decode(column: "cores", as: Int.self) ?? 0,
            "ram": try row?.decode(column: "ram", as: Int.self) ?? 0,
            "key_pairs": try keys?.decode(column: "n", as: Int.self) ?? 0,
        ]
    }

    /// How many of `min...max` servers of `flavor` fit the quota; 403 with Nova's message when not `min`.
    /// Run inside the create transaction after `Database.lock`, so racing creates count each other.
    static func serversFitting(limits: [String: Int], used: [String: Int], flavor: Flavor, min: Int, max: Int) throws
        -> Int
    {
        var fits = max
        for (resource, per) in [("instances", 1), ("cores", flavor.vcpus), ("ram", flavor.memoryMB)] {
            guard let limit = limits[resource], limit >= 0, per > 0 else { continue }
            let room = (limit - (used[resource] ?? 0)) / per
            if room < min {
                throw APIError.forbidden(
                    "Quota exceeded for \(resource): Requested \(per * min), but already used \(used[resource] ?? 0) of \(limit) \(resource)"
                )
            }
            fits = Swift.min(fits, room)
        }
        return fits
    }
}
