import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// The routes of the placement API and what they share.
struct PlacementAPI: Sendable {
    let db: Database
    let policy: PolicyEngine
    let providerCache = ProviderCache()
    let claimBatcher = WriteBatcher<[Claim], Void>()

    static let versions = MicroversionRange(service: "placement", min: Microversion(1, 0), max: Microversion(1, 39))

    func register(on router: Router<StratusContext>) {
        router.get("/") { _, _ -> Response in
            .json(["versions": [[
                "id": "v1.0", "max_version": .string(Self.versions.max.description), "min_version": "1.0", "status": "CURRENT",
                "links": [["rel": "self", "href": ""]],
            ]]])
        }
        registerProviders(on: router)
        registerInventories(on: router)
        registerTraitsAndClasses(on: router)
        registerAllocations(on: router)
        registerCandidates(on: router)
        registerReshaper(on: router)
    }

    func authorize(_ context: StratusContext) throws {
        try policy.enforce("placement", auth: context.auth)
    }

    // MARK: providers

    struct Provider: Sendable {
        var uuid: String
        var name: String
        var generation: Int
        var parent: String?
        var root: String

        init(row: any SQLRow) throws {
            uuid = try row.decode(column: "uuid", as: String.self)
            name = try row.decode(column: "name", as: String.self)
            generation = try row.decode(column: "generation", as: Int.self)
            parent = try row.decode(column: "parent_uuid", as: String?.self)
            root = try row.decode(column: "root_uuid", as: String.self)
        }

        func view(_ context: StratusContext) -> JSON {
            var view: [String: JSON] = [
                "uuid": .string(uuid), "name": .string(name), "generation": .int(generation),
                "links": .array(["", "/inventories", "/usages", "/aggregates", "/traits", "/allocations"].map {
                    ["rel": .string($0.isEmpty ? "self" : String($0.dropFirst())), "href": .string("/resource_providers/\(uuid)\($0)")]
                }),
            ]
            if context.version(atLeast: 1, 14) {
                view["parent_provider_uuid"] = JSON(parent)
                view["root_provider_uuid"] = .string(root)
            }
            return .object(view)
        }
    }

    func provider(_ uuid: String, in db: any SQLDatabase) async throws -> Provider {
        guard let row = try await db.select().columns("*").from("resource_providers").where("uuid", .equal, SQLBind(uuid)).first() else {
            throw PlacementError.notFound("No resource provider with uuid \(uuid) found")
        }
        return try Provider(row: row)
    }

    /// Compare-and-swap of a provider's generation; 409 `placement.concurrent_update` when it moved.
    func bump(_ uuid: String, expected: Int, in db: any SQLDatabase) async throws {
        let rows = try await db.raw(
            "UPDATE resource_providers SET generation = generation + 1, updated_at = \(bind: Date().timeIntervalSince1970) WHERE uuid = \(bind: uuid) AND generation = \(bind: expected) RETURNING generation"
        ).all()
        if rows.isEmpty { throw PlacementError.generation(uuid) }
    }

    func bumpAny(_ uuid: String, in db: any SQLDatabase) async throws {
        try await db.raw("UPDATE resource_providers SET generation = generation + 1 WHERE uuid = \(bind: uuid)").run()
    }

    private func registerProviders(on router: Router<StratusContext>) {
        router.get("/resource_providers") { request, context -> Response in
            try self.authorize(context)
            var conditions: [SQLQueryString] = []
            if let name = request.uri.queryParameters.get("name") { conditions.append("name = \(bind: name)") }
            if let uuid = request.uri.queryParameters.get("uuid") { conditions.append("uuid = \(bind: uuid)") }
            if let tree = request.uri.queryParameters.get("in_tree") {
                conditions.append("root_uuid IN (SELECT root_uuid FROM resource_providers WHERE uuid = \(bind: tree))")
            }
            conditions += try Self.memberOf(request.uri.queryParameters.getAll("member_of").map { String($0) }, column: "uuid")
            conditions += try Self.requiredTraits(request.uri.queryParameters.getAll("required").map { String($0) }, column: "uuid")
            var resources: [String: Int] = [:]
            if let text = request.uri.queryParameters.get("resources") { resources = try Self.parseResources(String(text)) }
            let frozen = conditions
            let wanted = resources
            let providers = try await self.db.read { db -> [Provider] in
                var sql: SQLQueryString = "SELECT * FROM resource_providers"
                if !frozen.isEmpty { sql = sql + " WHERE " + SQLQueryString.all(frozen) }
                var list = try await db.raw(sql + " ORDER BY created_at, uuid").all().map(Provider.init(row:))
                if !wanted.isEmpty {
                    let capacity = try await self.capacities(Set(list.map(\.uuid)), in: db)
                    list = list.filter { provider in
                        wanted.allSatisfy { rc, amount in (capacity[provider.uuid]?[rc]).map { $0.free >= amount && $0.maxUnit >= amount } ?? false }
                    }
                }
                return list
            }
            return .json(["resource_providers": .array(providers.map { $0.view(context) })])
        }
        router.post("/resource_providers") { request, context -> Response in
            try self.authorize(context)
            let body = try await request.jsonObject(context: context)
            guard let name = body["name"]?.stringValue, !name.isEmpty, name.count <= 200 else {
                throw PlacementError.bad("JSON does not validate: 'name' is a required property")
            }
            let uuid = body["uuid"]?.stringValue?.lowercased() ?? UUID().uuidString.lowercased()
            guard UUID(uuidString: uuid) != nil else { throw PlacementError.bad("JSON does not validate: '\(uuid)' is not a 'uuid'") }
            let parent = context.version(atLeast: 1, 14) ? body["parent_provider_uuid"]?.stringValue : nil
            let provider: Provider = try await self.db.transaction { db in
                var root = uuid
                if let parent {
                    root = try await self.provider(parent, in: db).root
                }
                if try await db.select().column("uuid").from("resource_providers").where("uuid", .equal, SQLBind(uuid)).first() != nil {
                    throw PlacementError.conflict("Conflicting resource provider uuid: \(uuid) already exists.", code: "placement.duplicate_uuid")
                }
                if try await db.select().column("uuid").from("resource_providers").where("name", .equal, SQLBind(name)).first() != nil {
                    throw PlacementError.conflict("Conflicting resource provider name: \(name) already exists.", code: "placement.duplicate_name")
                }
                let now = Date().timeIntervalSince1970
                try await db.insert(into: "resource_providers").columns("uuid", "name", "generation", "parent_uuid", "root_uuid", "created_at", "updated_at")
                    .values(SQLBind(uuid), SQLBind(name), SQLBind(0), SQLBind(parent), SQLBind(root), SQLBind(now), SQLBind(now)).run()
                return try await self.provider(uuid, in: db)
            }
            let location: HTTPFields = [.location: "/resource_providers/\(uuid)"]
            if context.version(atLeast: 1, 20) { return .json(provider.view(context), status: .ok, headers: location) }
            return Response(status: .created, headers: location)
        }
        router.get("/resource_providers/:uuid") { _, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let provider = try await self.db.read { db in try await self.provider(uuid, in: db) }
            return .json(provider.view(context))
        }
        router.put("/resource_providers/:uuid") { request, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let body = try await request.jsonObject(context: context)
            guard let name = body["name"]?.stringValue, !name.isEmpty else { throw PlacementError.bad("JSON does not validate: 'name' is a required property") }
            let provider: Provider = try await self.db.transaction { db in
                let current = try await self.provider(uuid, in: db)
                if let other = try await db.select().column("uuid").from("resource_providers").where("name", .equal, SQLBind(name)).first(),
                    try other.decode(column: "uuid", as: String.self) != uuid
                {
                    throw PlacementError.conflict("Conflicting resource provider name: \(name) already exists.", code: "placement.duplicate_name")
                }
                var parent = current.parent
                if context.version(atLeast: 1, 14), let given = body["parent_provider_uuid"] {
                    if let text = given.stringValue, text != current.parent {
                        if current.parent != nil, !context.version(atLeast: 1, 37) {
                            throw PlacementError.bad("The resource provider already has a parent provider")
                        }
                        let newParent = try await self.provider(text, in: db)
                        if newParent.root == current.root && (newParent.uuid == uuid) { throw PlacementError.bad("creating loop in the provider tree is not allowed.") }
                        parent = text
                        try await db.raw("UPDATE resource_providers SET root_uuid = \(bind: newParent.root) WHERE root_uuid = \(bind: current.root)").run()
                    } else if given.isNull, current.parent != nil, !context.version(atLeast: 1, 37) {
                        throw PlacementError.bad("un-parenting a provider is not currently allowed")
                    } else if given.isNull {
                        parent = nil
                    }
                }
                try await db.raw(
                    "UPDATE resource_providers SET name = \(bind: name), parent_uuid = \(bind: parent), generation = generation + 1, updated_at = \(bind: Date().timeIntervalSince1970) WHERE uuid = \(bind: uuid)"
                ).run()
                return try await self.provider(uuid, in: db)
            }
            return .json(provider.view(context))
        }
        router.delete("/resource_providers/:uuid") { _, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            try await self.db.transaction { db in
                _ = try await self.provider(uuid, in: db)
                if try await db.raw("SELECT 1 AS x FROM allocations WHERE provider = \(bind: uuid) LIMIT 1").first() != nil {
                    throw PlacementError.conflict("Unable to delete resource provider \(uuid): Resource provider has allocations.", code: "placement.resource_provider.inuse")
                }
                if try await db.raw("SELECT 1 AS x FROM resource_providers WHERE parent_uuid = \(bind: uuid) LIMIT 1").first() != nil {
                    throw PlacementError.conflict("Unable to delete parent resource provider \(uuid): It has child resource providers.", code: "placement.resource_provider.cannot_delete_parent")
                }
                for table in ["inventories", "provider_traits", "provider_aggregates"] {
                    try await db.raw("DELETE FROM \(ident: table) WHERE provider = \(bind: uuid)").run()
                }
                try await db.raw("DELETE FROM resource_providers WHERE uuid = \(bind: uuid)").run()
            }
            return Response(status: .noContent)
        }
    }

    // MARK: shared query pieces

    /// `resources=VCPU:1,MEMORY_MB:512`.
    static func parseResources(_ text: String) throws -> [String: Int] {
        var resources: [String: Int] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":")
            guard parts.count == 2, let amount = Int(parts[1]), amount >= 0 else {
                throw PlacementError.bad("Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: \(text).")
            }
            resources[String(parts[0])] = amount
        }
        return resources
    }

    /// `member_of=<agg>`, `in:<a>,<b>` and `!<agg>` / `!in:` (1.32).
    static func memberOf(_ values: [String], column: String) throws -> [SQLQueryString] {
        values.map { value in
            var text = value
            let negate = text.hasPrefix("!")
            if negate { text.removeFirst() }
            if text.hasPrefix("in:") { text.removeFirst(3) }
            let aggregates = text.split(separator: ",").map(String.init)
            let sub: SQLQueryString = "\(ident: column) IN (SELECT provider FROM provider_aggregates WHERE aggregate IN " + SQLQueryString.list(aggregates) + ")"
            return negate ? "NOT (" + sub + ")" : sub
        }
    }

    /// `required=A,!B` and `in:A,B` (1.39).
    static func requiredTraits(_ values: [String], column: String) throws -> [SQLQueryString] {
        var conditions: [SQLQueryString] = []
        for value in values {
            if value.hasPrefix("in:") {
                let traits = value.dropFirst(3).split(separator: ",").map(String.init)
                conditions.append("\(ident: column) IN (SELECT provider FROM provider_traits WHERE trait IN " + SQLQueryString.list(traits) + ")")
                continue
            }
            for trait in value.split(separator: ",").map(String.init) {
                if trait.hasPrefix("!") {
                    conditions.append("\(ident: column) NOT IN (SELECT provider FROM provider_traits WHERE trait = \(bind: String(trait.dropFirst())))")
                } else {
                    conditions.append("\(ident: column) IN (SELECT provider FROM provider_traits WHERE trait = \(bind: trait))")
                }
            }
        }
        return conditions
    }

    struct Capacity: Sendable {
        var capacity: Int
        var used: Int
        var maxUnit: Int
        var minUnit: Int
        var stepSize: Int
        var free: Int { capacity - used }
    }

    /// An inventory `i`'s columns for `Capacity(row:)`, its usage summed over all allocations.
    static let capacityColumns: SQLQueryString = """
        i.resource_class, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size, i.allocation_ratio,
        CAST(COALESCE((SELECT SUM(a.used) FROM allocations a WHERE a.provider = i.provider
        AND a.resource_class = i.resource_class), 0) AS BIGINT) AS used
        """

    /// Capacity and usage per provider and class (all providers when `providers` is nil).
    func capacities(_ providers: Set<String>?, in db: any SQLDatabase) async throws -> [String: [String: Capacity]] {
        var sql: SQLQueryString = "SELECT i.provider, " + Self.capacityColumns + " FROM inventories i"
        if let providers { sql = sql + " WHERE i.provider IN " + SQLQueryString.list(Array(providers)) }
        var result: [String: [String: Capacity]] = [:]
        for row in try await db.raw(sql).all() {
            result[try row.decode(column: "provider", as: String.self), default: [:]][
                try row.decode(column: "resource_class", as: String.self)] = try Capacity(row: row)
        }
        return result
    }
}

extension PlacementAPI.Capacity {
    /// From a row of `capacityColumns`.
    init(row: any SQLRow) throws {
        let total = try row.decode(column: "total", as: Int.self)
        let reserved = try row.decode(column: "reserved", as: Int.self)
        let ratio = try row.decode(column: "allocation_ratio", as: Double.self)
        capacity = Int((Double(total - reserved) * ratio).rounded(.down))
        used = try row.decode(column: "used", as: Int.self)
        maxUnit = try row.decode(column: "max_unit", as: Int.self)
        minUnit = try row.decode(column: "min_unit", as: Int.self)
        stepSize = try row.decode(column: "step_size", as: Int.self)
    }
}
