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

    /// Writes one request's claims, all or none, in a transaction shared with the requests
    /// that arrive meanwhile (`WriteBatcher`): capacity and unit checks against what others
    /// use, consumer generations, and a compare-and-swap on every provider touched, so
    /// concurrent claims can never oversubscribe.
    func write(_ claims: [Claim], context: StratusContext) async throws {
        try await claimBatcher.submit(claims) { groups in await self.write(groups) }
    }

    /// Each group's outcome, in order. A group that fails its checks writes nothing and does not
    /// hold back the others; a batch whose transaction fails is written again group by group.
    private func write(_ groups: [[Claim]]) async -> [Result<Void, any Error>] {
        do {
            return try await retryingMovedProviders {
                try await self.db.transaction { db in
                    var ledger = try await ClaimLedger.load(for: groups.flatMap { $0 }, in: db)
                    let results = groups.map { group in Result<Void, any Error> { try ledger.apply(group) } }
                    try await ledger.store(in: db)
                    return results
                }
            }
        } catch {
            guard groups.count > 1 else { return [.failure(error)] }
            var results: [Result<Void, any Error>] = []
            for group in groups { results += await write([group]) }
            return results
        }
    }

    /// As Placement does, a write that lost a race on a provider generation (another process
    /// wrote between our read and our write) is tried again on fresh numbers.
    func retryingMovedProviders<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let moved as ProviderMoved {
                guard attempt < 10 else { throw PlacementError.generation(moved.uuid) }
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(3 * attempt))))
                attempt += 1
            }
        }
    }
}

/// A provider's generation changed under a claim; the claim is retried.
struct ProviderMoved: Error {
    let uuid: String
}
