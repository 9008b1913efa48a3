import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension PlacementAPI {
    struct Claim: Sendable {
        var consumer: String
        /// provider -> class -> amount
        var allocations: [String: [String: Int]]
        var projectID: String?
        var userID: String?
        var generation: JSON?
        var consumerType: String?
    }

    func registerAllocations(on router: Router<StratusContext>) {
        router.get("/allocations/:consumer") { _, context -> Response in
            try self.authorize(context)
            let consumer = context.parameters.get("consumer") ?? ""
            let body = try await self.db.read { db in try await self.consumerView(consumer, context, in: db) }
            return .json(body)
        }
        router.put("/allocations/:consumer") { request, context -> Response in
            try self.authorize(context)
            let consumer = context.parameters.get("consumer") ?? ""
            let body = try await request.jsonObject(context: context)
            let claim = try Self.parseClaim(consumer, body, context: context)
            try await self.write([claim], context: context)
            return Response(status: .noContent)
        }
        router.post("/allocations") { request, context -> Response in
            try self.authorize(context)
            guard context.version(atLeast: 1, 13) else { throw APIError.methodNotAllowed() }
            let body = try await request.jsonObject(context: context)
            let claims = try body.map { consumer, value -> Claim in
                guard case .object(let inner) = value else {
                    throw PlacementError.bad("JSON does not validate: each consumer needs an object")
                }
                return try Self.parseClaim(consumer, inner, context: context)
            }
            try await self.write(claims, context: context)
            return Response(status: .noContent)
        }
        router.delete("/allocations/:consumer") { _, context -> Response in
            try self.authorize(context)
            let consumer = context.parameters.get("consumer") ?? ""
            try await self.db.transaction { db in
                let providers = try await db.raw(
                    "SELECT DISTINCT provider FROM allocations WHERE consumer = \(bind: consumer)"
                ).all()
                    .map { try $0.decode(column: "provider", as: String.self) }
                guard !providers.isEmpty else {
                    throw PlacementError.notFound("No allocations for consumer '\(consumer)'")
                }
                try await db.raw("DELETE FROM allocations WHERE consumer = \(bind: consumer)").run()
                try await db.raw("DELETE FROM consumers WHERE uuid = \(bind: consumer)").run()
                for provider in providers { try await self.bumpAny(provider, in: db) }
            }
            return Response(status: .noContent)
        }
        router.get("/resource_providers/:uuid/allocations") { _, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let (provider, rows) = try await self.db.read { db in
                (
                    try await self.provider(uuid, in: db),
                    try await db.raw(
                        "SELECT consumer, resource_class, used FROM allocations WHERE provider = \(bind: uuid)"
                    ).all()
                )
            }
            var allocations: [String: [String: JSON]] = [:]
            for row in rows {
                allocations[try row.decode(column: "consumer", as: String.self), default: [:]][
                    try row.decode(column: "resource_class", as: String.self)] =
                    .int(try row.decode(column: "used", as: Int.self))
            }
            return .json([
                "resource_provider_generation": .int(provider.generation),
                "allocations": .object(allocations.mapValues { ["resources": .object($0)] }),
            ])
        }
        router.get("/usages") { request, context -> Response in
            guard let project = request.uri.queryParameters.get("project_id") else {
                try self.authorize(context)
                throw PlacementError.bad("Invalid query string parameters: 'project_id' is a required property")
            }
            try self.policy.enforce("placement:usages", auth: context.auth, target: ["project_id": String(project)])
            var sql: SQLQueryString =
                "SELECT a.resource_class, CAST(SUM(a.used) AS BIGINT) AS used FROM allocations a JOIN consumers c ON c.uuid = a.consumer WHERE c.project_id = \(bind: String(project))"
            if let user = request.uri.queryParameters.get("user_id") {
                sql = sql + " AND c.user_id = \(bind: String(user))"
            }
            let frozen = sql + " GROUP BY a.resource_class"
            let rows = try await self.db.read { db in try await db.raw(frozen).all() }
            var usages: [String: JSON] = [:]
            for row in rows {
                usages[try row.decode(column: "resource_class", as: String.self)] = .int(
                    try row.decode(column: "used", as: Int.self))
            }
            return .json(["usages": .object(usages)])
        }
    }

    func consumerView(_ consumer: String, _ context: StratusContext, in db: any SQLDatabase) async throws -> JSON {
        let rows = try await db.raw(
            "SELECT a.provider, a.resource_class, a.used, r.generation FROM allocations a JOIN resource_providers r ON r.uuid = a.provider WHERE a.consumer = \(bind: consumer)"
        ).all()
        var allocations: [String: [String: JSON]] = [:]
        var generations: [String: Int] = [:]
        for row in rows {
            let provider = try row.decode(column: "provider", as: String.self)
            allocations[provider, default: [:]][try row.decode(column: "resource_class", as: String.self)] = .int(
                try row.decode(column: "used", as: Int.self))
            generations[provider] = try row.decode(column: "generation", as: Int.self)
        }
        var shown: [String: JSON] = [:]
        for (provider, resources) in allocations {
            shown[provider] = ["generation": .int(generations[provider] ?? 0), "resources": .object(resources)]
        }
        var body: [String: JSON] = ["allocations": .object(shown)]
        if context.version(atLeast: 1, 12), !rows.isEmpty,
            let row = try await db.raw("SELECT * FROM consumers WHERE uuid = \(bind: consumer)").first()
        {
            body["project_id"] = .string(try row.decode(column: "project_id", as: String.self))
            body["user_id"] = .string(try row.decode(column: "user_id", as: String.self))
            if context.version(atLeast: 1, 28) {
                body["consumer_generation"] = .int(try row.decode(column: "generation", as: Int.self))
            }
            if context.version(atLeast: 1, 38) {
                body["consumer_type"] = JSON(try row.decode(column: "consumer_type", as: String?.self) ?? "UNKNOWN")
            }
        }
        return .object(body)
    }

    static func parseClaim(_ consumer: String, _ body: [String: JSON], context: StratusContext) throws -> Claim {
        guard UUID(uuidString: consumer) != nil else {
            throw PlacementError.bad("Malformed consumer_uuid: \(consumer)")
        }
        var allocations: [String: [String: Int]] = [:]
        switch body["allocations"] {
        case .object(let byProvider)? where context.version(atLeast: 1, 12):
            for (provider, value) in byProvider {
                guard case .object(let resources)? = value["resources"] else {
                    throw PlacementError.bad("JSON does not validate: 'resources' is a required property")
                }
                allocations[provider] = try resources.mapValues { amount in
                    guard let n = amount.intValue, n >= 1 else {
                        throw PlacementError.bad(
                            "JSON does not validate: resource amounts must be integers of at least 1")
                    }
                    return n
                }
            }
        case .array(let items)? where !context.version(atLeast: 1, 12):
            for item in items {
                guard let provider = item["resource_provider"]?["uuid"]?.stringValue,
                    case .object(let resources)? = item["resources"]
                else {
                    throw PlacementError.bad(
                        "JSON does not validate: 'resource_provider' and 'resources' are required properties")
                }
                allocations[provider] = resources.compactMapValues(\.intValue)
            }
        default:
            throw PlacementError.bad("JSON does not validate: 'allocations' is a required property")
        }
        var claim = Claim(
            consumer: consumer, allocations: allocations, projectID: body["project_id"]?.stringValue,
            userID: body["user_id"]?.stringValue)
        if context.version(atLeast: 1, 8), claim.projectID == nil || claim.userID == nil {
            throw PlacementError.bad("JSON does not validate: 'project_id' and 'user_id' are required properties")
        }
        if context.version(atLeast: 1, 28) {
            guard let generation = body["consumer_generation"] else {
                throw PlacementError.bad("JSON does not validate: 'consumer_generation' is a required property")
            }
            claim.generation = generation
        }
        if context.version(atLeast: 1, 38) { claim.consumerType = body["consumer_type"]?.stringValue }
        return claim
    }

    /// Writes the claims in one transaction: capacity and unit checks against what others
    /// use, consumer generations, and a compare-and-swap on every provider touched, so
    /// concurrent claims can never oversubscribe.
    func write(_ claims: [Claim], context: StratusContext) async throws {
        // As Placement does, a claim that lost a race on a provider generation (another
        // claim landed between our read and our write) is tried again on fresh numbers.
        for attempt in 1...10 {
            do {
                return try await writeOnce(claims)
            } catch is ProviderMoved where attempt < 10 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(3 * attempt))))
            } catch let moved as ProviderMoved {
                throw PlacementError.generation(moved.uuid)
            }
        }
    }

    private func writeOnce(_ claims: [Claim]) async throws {
        try await db.transaction { db in
            let touched = try await self.apply(claims, in: db)
            try await self.bumpClaimed(touched, in: db)
        }
    }

    /// Replaces each claim's allocations, checking units, capacity and consumer generations.
    /// Returns the generation of every provider touched, for the compare-and-swap.
    func apply(_ claims: [Claim], in db: any SQLDatabase) async throws -> [String: Int] {
        var touched: [String: Int] = [:]
        for claim in claims {
            let old = try await db.raw(
                "SELECT DISTINCT provider FROM allocations WHERE consumer = \(bind: claim.consumer)"
            ).all()
                .map { try $0.decode(column: "provider", as: String.self) }
            for provider in old + Array(claim.allocations.keys) where touched[provider] == nil {
                touched[provider] = try await self.provider(provider, in: db).generation
            }
            let existing = try await db.raw("SELECT * FROM consumers WHERE uuid = \(bind: claim.consumer)").first()
            if let expected = claim.generation {
                let current = try existing?.decode(column: "generation", as: Int.self)
                if expected.intValue != current && !(expected.isNull && current == nil) {
                    throw PlacementError.conflict(
                        "consumer generation conflict - expected \(expected.isNull ? "null" : expected.serialized()) but got \(current.map(String.init) ?? "None")",
                        code: "placement.concurrent_update")
                }
            }
            try await db.raw("DELETE FROM allocations WHERE consumer = \(bind: claim.consumer)").run()
            if claim.allocations.isEmpty {
                try await db.raw("DELETE FROM consumers WHERE uuid = \(bind: claim.consumer)").run()
                continue
            }
            let capacity = try await self.capacities(Set(claim.allocations.keys), in: db)
            for (provider, resources) in claim.allocations {
                for (rc, amount) in resources {
                    guard let inventory = capacity[provider]?[rc] else {
                        throw PlacementError.conflict(
                            "Unable to allocate inventory: Inventory for '\(rc)' on resource provider '\(provider)' invalid."
                        )
                    }
                    guard amount >= inventory.minUnit, amount <= inventory.maxUnit,
                        amount % max(inventory.stepSize, 1) == 0
                    else {
                        throw PlacementError.bad(
                            "Unable to allocate inventory: Unable to create allocation for '\(rc)' on resource provider '\(provider)'. The requested amount would violate inventory constraints."
                        )
                    }
                    guard inventory.used + amount <= inventory.capacity else {
                        throw PlacementError.conflict(
                            "Unable to allocate inventory: Unable to create allocation for '\(rc)' on resource provider '\(provider)'. The requested amount would exceed the capacity."
                        )
                    }
                    try await db.insert(into: "allocations").columns("consumer", "provider", "resource_class", "used")
                        .values(SQLBind(claim.consumer), SQLBind(provider), SQLBind(rc), SQLBind(amount)).run()
                }
            }
            let project =
                try claim.projectID ?? existing?.decode(column: "project_id", as: String.self)
                ?? "00000000-0000-0000-0000-000000000000"
            let user =
                try claim.userID ?? existing?.decode(column: "user_id", as: String.self)
                ?? "00000000-0000-0000-0000-000000000000"
            if existing == nil {
                try await db.insert(into: "consumers").columns(
                    "uuid", "project_id", "user_id", "generation", "consumer_type"
                )
                .values(
                    SQLBind(claim.consumer), SQLBind(project), SQLBind(user), SQLBind(0), SQLBind(claim.consumerType)
                ).run()
            } else {
                try await db.raw(
                    "UPDATE consumers SET project_id = \(bind: project), user_id = \(bind: user), generation = generation + 1, consumer_type = COALESCE(\(bind: claim.consumerType), consumer_type) WHERE uuid = \(bind: claim.consumer)"
                ).run()
            }
        }
        return touched
    }

    func bumpClaimed(_ touched: [String: Int], in db: any SQLDatabase) async throws {
        for (provider, generation) in touched {
            let rows = try await db.raw(
                "UPDATE resource_providers SET generation = generation + 1 WHERE uuid = \(bind: provider) AND generation = \(bind: generation) RETURNING generation"
            ).all()
            if rows.isEmpty { throw ProviderMoved(uuid: provider) }
        }
    }
}

/// A provider's generation changed under a claim; the claim is retried.
struct ProviderMoved: Error {
    let uuid: String
}
