import Hummingbird
import SQLKit
import StratusCore

/// Per-project limits (`quotas` extension with `quota_details`), Neutron's defaults unless
/// an admin sets others; -1 is unlimited.
enum Quotas {
    static let defaults: [(String, Int)] = [
        ("network", 100), ("subnet", 100), ("port", 500), ("router", 10), ("floatingip", 50), ("security_group", 10),
        ("security_group_rule", 100), ("subnetpool", -1), ("rbac_policy", 10),
    ]

    static func kind(_ resource: String) -> ResourceKind? {
        switch resource {
        case "network": return .network
        case "subnet": return .subnet
        case "port": return .port
        case "router": return .router
        case "floatingip": return .floatingIP
        case "security_group": return .securityGroup
        case "security_group_rule": return .securityGroupRule
        case "subnetpool": return .subnetPool
        case "rbac_policy": return .rbacPolicy
        default: return nil
        }
    }

    /// The project's limits: stored overrides over the defaults.
    static func limits(project: String, db: any SQLDatabase) async throws -> [String: Int] {
        var limits = Dictionary(uniqueKeysWithValues: defaults)
        for row in try await db.raw("SELECT resource, hard_limit FROM quotas WHERE project_id = \(bind: project)").all() {
            limits[try row.decode(column: "resource", as: String.self)] = try row.decode(column: "hard_limit", as: Int.self)
        }
        return limits
    }

    /// 409 OverQuota when `adding` more of `resource` would exceed the project's limit.
    static func check(resource: String, kind: ResourceKind, project: String, adding: Int, db: any SQLDatabase, api: NetworkAPI) async throws {
        let limit = try await limits(project: project, db: db)[resource] ?? -1
        guard limit >= 0 else { return }
        let used = try await RecordStore.count(kind, where: "project_id = \(bind: project)", db: db)
        if used + adding > limit { throw NeutronError.overQuota(resource) }
    }

    static func body(_ limits: [String: Int], project: String? = nil) -> JSON {
        var body: [String: JSON] = limits.mapValues { .int($0) }
        if let project { body["project_id"] = .string(project); body["tenant_id"] = .string(project) }
        return .object(body)
    }
}

extension NetworkAPI {
    func registerQuotas(on router: Router<StratusContext>) {
        router.get("/v2.0/quotas") { _, context -> Response in
            _ = try self.adminCaller(context)
            let rows = try await self.db.read { db in
                try await db.raw("SELECT DISTINCT project_id FROM quotas ORDER BY project_id").all().map { try $0.decode(column: "project_id", as: String.self) }
            }
            var items: [JSON] = []
            for project in rows {
                let limits = try await self.db.read { db in try await Quotas.limits(project: project, db: db) }
                items.append(Quotas.body(limits, project: project))
            }
            return .json(["quotas": .array(items)])
        }
        router.get("/v2.0/quotas/tenant") { _, context -> Response in
            .json(["tenant": ["tenant_id": .string(try self.caller(context).projectID)]])
        }
        router.get("/v2.0/quotas/project") { _, context -> Response in
            .json(["project": ["project_id": .string(try self.caller(context).projectID)]])
        }
        router.get("/v2.0/quotas/:project") { _, context -> Response in
            let project = try self.quotaProject(context, action: "get_quota")
            let limits = try await self.db.read { db in try await Quotas.limits(project: project, db: db) }
            return .json(["quota": Quotas.body(limits)])
        }
        router.get("/v2.0/quotas/:project/default") { _, context -> Response in
            _ = try self.quotaProject(context, action: "get_quota")
            return .json(["quota": Quotas.body(Dictionary(uniqueKeysWithValues: Quotas.defaults))])
        }
        router.get("/v2.0/quotas/:project/details") { _, context -> Response in
            let project = try self.quotaProject(context, action: "get_quota")
            let details: JSON = try await self.db.read { db in
                let limits = try await Quotas.limits(project: project, db: db)
                var body: [String: JSON] = [:]
                for (resource, limit) in limits {
                    guard let kind = Quotas.kind(resource) else { continue }
                    let used = try await RecordStore.count(kind, where: "project_id = \(bind: project)", db: db)
                    body[resource] = ["limit": .int(limit), "used": .int(used), "reserved": 0]
                }
                return .object(body)
            }
            return .json(["quota": details])
        }
        router.put("/v2.0/quotas/:project") { request, context -> Response in
            let project = try self.quotaProject(context, action: "update_quota")
            let body = try await request.jsonObject(context: context)
            guard case .object(let changes)? = body["quota"] else { throw NeutronError.badRequest("Unable to find 'quota' in request body") }
            var values: [(String, Int)] = []
            // `check_limit`/`force` (compare with usage first) are accepted; limits are stored as given
            for (resource, value) in changes.sorted(by: { $0.key < $1.key }) where resource != "check_limit" && resource != "force" {
                guard Quotas.kind(resource) != nil else { throw NeutronError.badRequest("Unrecognized attribute(s) '\(resource)'") }
                guard let limit = (try? Validate.int(min: -1)(value))?.intValue else {
                    throw NeutronError.badRequest("Invalid input for \(resource). Reason: '\(value.display)' is not an integer or is less than -1.")
                }
                values.append((resource, limit))
            }
            let frozen = values
            let limits = try await self.db.transactionRetryingConflicts { db in
                for (resource, limit) in frozen {
                    try await db.raw("DELETE FROM quotas WHERE project_id = \(bind: project) AND resource = \(bind: resource)").run()
                    try await db.raw("INSERT INTO quotas (project_id, resource, hard_limit) VALUES (\(bind: project), \(bind: resource), \(bind: limit))").run()
                }
                return try await Quotas.limits(project: project, db: db)
            }
            return .json(["quota": Quotas.body(limits)])
        }
        router.delete("/v2.0/quotas/:project") { _, context -> Response in
            let project = try self.quotaProject(context, action: "delete_quota")
            try await self.db.transaction { db in try await db.raw("DELETE FROM quotas WHERE project_id = \(bind: project)").run() }
            return .noContent()
        }
    }

    /// The project named in the path, after the caller passes `action` for it.
    private func quotaProject(_ context: StratusContext, action: String) throws -> String {
        let caller = try caller(context)
        let project = context.parameters.get("project") ?? ""
        try enforce(action, caller: caller, target: ["project_id": project, "tenant_id": project])
        return project
    }

    /// `network-ip-availability`: per network and subnet, addresses in the pools and in use.
    func registerIPAvailability(on router: Router<StratusContext>) {
        router.get("/v2.0/network-ip-availabilities") { request, context -> Response in
            let caller = try self.caller(context)
            try self.enforce("get_network_ip_availability", caller: caller, target: [:])
            var filters: [SQLQueryString] = []
            for (key, value) in Self.queryItems(request) {
                switch key {
                case "network_id": filters.append("id = \(bind: value)")
                case "network_name": filters.append("name = \(bind: value)")
                case "project_id", "tenant_id": filters.append("project_id = \(bind: value)")
                case "ip_version": filters.append("id IN (SELECT network_id FROM subnets WHERE ip_version = \(bind: Int(value) ?? 0))")
                default: break
                }
            }
            let conditions = filters
            let items = try await self.db.read { db in
                try await self.ipAvailability(where: conditions.isEmpty ? nil : ListQuery.join(conditions, " AND "), db: db)
            }
            return .json(["network_ip_availabilities": .array(items)])
        }
        router.get("/v2.0/network-ip-availabilities/:id") { _, context -> Response in
            let caller = try self.caller(context)
            try self.enforce("get_network_ip_availability", caller: caller, target: [:])
            let id = context.parameters.get("id") ?? ""
            let items = try await self.db.read { db in try await self.ipAvailability(where: "id = \(bind: id)", db: db) }
            guard let item = items.first else { throw NeutronError.notFound(.network, id: id) }
            return .json(["network_ip_availability": item])
        }
    }

    /// Availability of the matching networks in three queries (networks, subnets, counts).
    private func ipAvailability(where condition: SQLQueryString?, db: any SQLDatabase) async throws -> [JSON] {
        let networks = try await RecordStore.select(.network, where: condition, order: "created_at, id", db: db)
        let ids = networks.map(\.id)
        let subnets = try await RecordStore.select(.subnet, where: "network_id IN " + RecordStore.inList(ids), order: "created_at, id", db: db)
        var used: [String: Int] = [:]
        for row in try await db.raw(
            "SELECT subnet_id, COUNT(*) AS n FROM ip_allocations WHERE network_id IN " + RecordStore.inList(ids) + " GROUP BY subnet_id"
        ).all() {
            used[try row.decode(column: "subnet_id", as: String.self)] = try row.decode(column: "n", as: Int.self)
        }
        return networks.map { network in
            var total: UInt128 = 0
            var usedIPs = 0
            let mine = subnets.filter { $0.string("network_id") == network.id }.map { subnet -> JSON in
                let pools = IPAM.subnet(subnet)?.pools ?? []
                let size = pools.reduce(UInt128(0)) { $0 &+ $1.count }
                total &+= size
                usedIPs += used[subnet.id] ?? 0
                return [
                    "subnet_id": .string(subnet.id), "subnet_name": subnet["name"] ?? "", "cidr": subnet["cidr"] ?? .null,
                    "ip_version": subnet["ip_version"] ?? .null, "total_ips": Self.jsonCount(size), "used_ips": .int(used[subnet.id] ?? 0),
                ]
            }
            return [
                "network_id": .string(network.id), "network_name": network["name"] ?? "", "project_id": .string(network.projectID),
                "tenant_id": .string(network.projectID), "total_ips": Self.jsonCount(total), "used_ips": .int(usedIPs),
                "subnet_ip_availability": .array(mine),
            ]
        }
    }

    /// IPv6 pools exceed JSON integers; counts beyond 2^53 are given as a double, as Python does with big ints.
    static func jsonCount(_ n: UInt128) -> JSON {
        n <= UInt128(Int.max) ? .int(Int(n)) : .double(Double(n))
    }
}
