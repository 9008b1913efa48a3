import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension PlacementAPI {
    /// `POST /reshaper` (1.30): replaces inventories and moves allocations in one
    /// transaction, as a compute host does when it splits its resources into a nested tree.
    /// Inventory may vanish from under allocations mid-way; only the end state is checked.
    func registerReshaper(on router: Router<StratusContext>) {
        router.post("/reshaper") { request, context -> Response in
            try self.authorize(context)
            guard context.version(atLeast: 1, 30) else { throw PlacementError.notFound("The resource could not be found.") }
            let body = try await request.jsonObject(context: context)
            for key in body.keys where !["inventories", "allocations"].contains(key) {
                throw PlacementError.bad("JSON does not validate: Additional properties are not allowed ('\(key)' was unexpected)")
            }
            guard case .object(let byProvider)? = body["inventories"], case .object(let byConsumer)? = body["allocations"] else {
                throw PlacementError.bad("JSON does not validate: 'inventories' and 'allocations' are required properties")
            }
            let inventories = try byProvider.map { provider, value -> (provider: String, generation: Int, inventories: [String: JSON]) in
                guard let generation = value["resource_provider_generation"]?.intValue, case .object(let given)? = value["inventories"] else {
                    throw PlacementError.bad("JSON does not validate: 'resource_provider_generation' and 'inventories' are required properties")
                }
                return (provider, generation, try given.mapValues(Self.validateInventory))
            }
            let claims = try byConsumer.map { consumer, value -> Claim in
                guard case .object(let inner) = value else { throw PlacementError.bad("JSON does not validate: each consumer needs an object") }
                return try Self.parseClaim(consumer, inner, context: context)
            }
            let known = try await self.db.read { db in try await self.resourceClasses(in: db) }
            for entry in inventories {
                for rc in entry.inventories.keys where !known.contains(rc) {
                    throw PlacementError.bad("Unknown resource class in inventory for resource provider \(entry.provider): \(rc)")
                }
            }
            try await self.retryingMovedProviders {
                try await self.db.transaction { db in
                    for entry in inventories {
                        try await self.storeInventories(
                            entry.provider, generation: entry.generation, entry.inventories, checkInUse: false, in: db)
                    }
                    var ledger = try await ClaimLedger.load(for: claims, in: db)
                    try ledger.apply(claims)
                    try await ledger.store(in: db)
                    try await self.checkAllocationsFit(Set(inventories.map(\.provider)).union(ledger.touched), in: db)
                }
            }
            return Response(status: .noContent)
        }
    }

    /// Every allocation on these providers has inventory of its class, within capacity.
    private func checkAllocationsFit(_ providers: Set<String>, in db: any SQLDatabase) async throws {
        guard !providers.isEmpty else { return }
        let capacity = try await capacities(providers, in: db)
        let used = try await db.raw(
            "SELECT provider, resource_class, CAST(SUM(used) AS BIGINT) AS used FROM allocations WHERE provider IN " + SQLQueryString.list(Array(providers))
                + " GROUP BY provider, resource_class"
        ).all()
        for row in used {
            let provider = try row.decode(column: "provider", as: String.self)
            let rc = try row.decode(column: "resource_class", as: String.self)
            guard let inventory = capacity[provider]?[rc] else {
                throw PlacementError.conflict("Inventory for '\(rc)' on resource provider '\(provider)' in use.", code: "placement.inventory.inuse")
            }
            guard try row.decode(column: "used", as: Int.self) <= inventory.capacity else {
                throw PlacementError.conflict("Unable to allocate inventory: the allocations on resource provider '\(provider)' would exceed the capacity of '\(rc)'.")
            }
        }
    }
}
