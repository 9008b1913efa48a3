/// Claims checked and applied in memory, against the consumers and providers they touch as
/// one write transaction loaded them; what changed is written back in a few statements (see
/// `ClaimWrites`). Each group of claims (one request) is applied whole or not at all, and
/// sees the groups applied before it.
struct ClaimLedger: Sendable {
    struct Consumer: Sendable, Equatable {
        var project: String
        var user: String
        var generation: Int
        var type: String?
        /// provider -> class -> amount
        var allocations: [String: [String: Int]]
    }

    struct Provider: Sendable {
        var generation: Int
        var capacity: [String: PlacementAPI.Capacity]
    }

    /// Project and user of a consumer created by a claim that names neither (before 1.8).
    static let unknownOwner = "00000000-0000-0000-0000-000000000000"

    /// The consumers as loaded, by uuid (absent: no record); never changed.
    let loaded: [String: Consumer]
    private(set) var consumers: [String: Consumer]
    private(set) var providers: [String: Provider]
    /// The consumers whose records or allocations changed.
    private(set) var changed: Set<String> = []
    /// The providers whose usage changed, each to be bumped once.
    private(set) var touched: Set<String> = []

    init(consumers: [String: Consumer], providers: [String: Provider]) {
        self.loaded = consumers
        self.consumers = consumers
        self.providers = providers
    }

    /// Applies every claim of a group, or throws the first one's error and changes nothing.
    mutating func apply(_ claims: [PlacementAPI.Claim]) throws {
        var next = self
        for claim in claims { try next.apply(claim) }
        self = next
    }

    private mutating func apply(_ claim: PlacementAPI.Claim) throws {
        let old = consumers[claim.consumer]
        for provider in Array(old?.allocations.keys ?? [:].keys) + Array(claim.allocations.keys)
        where providers[provider] == nil {
            throw PlacementError.notFound("No resource provider with uuid \(provider) found")
        }
        if let expected = claim.generation, expected.intValue != old?.generation, !(expected.isNull && old == nil) {
            let shown = expected.isNull ? "null" : expected.serialized()
            let current = old.map { String($0.generation) } ?? "None"
            throw PlacementError.conflict(
                "consumer generation conflict - expected \(shown) but got \(current)",
                code: "placement.concurrent_update")
        }
        var providers = self.providers
        for (provider, resources) in old?.allocations ?? [:] {
            for (rc, amount) in resources { providers[provider]?.capacity[rc]?.used -= amount }
        }
        for (provider, resources) in claim.allocations {
            for (rc, amount) in resources {
                guard let inventory = providers[provider]?.capacity[rc] else {
                    throw PlacementError.conflict(
                        "Unable to allocate inventory: Inventory for '\(rc)' on resource provider '\(provider)' "
                            + "invalid."
                    )
                }
                guard amount >= inventory.minUnit, amount <= inventory.maxUnit,
                    amount % max(inventory.stepSize, 1) == 0
                else {
                    throw PlacementError.bad(
                        "Unable to allocate inventory: Unable to create allocation for '\(rc)' on resource provider "
                            + "'\(provider)'. The requested amount would violate inventory constraints.")
                }
                guard inventory.used + amount <= inventory.capacity else {
                    throw PlacementError.conflict(
                        "Unable to allocate inventory: Unable to create allocation for '\(rc)' on resource provider "
                            + "'\(provider)'. The requested amount would exceed the capacity.")
                }
                providers[provider]?.capacity[rc]?.used += amount
            }
        }
        self.providers = providers
        touched.formUnion(old?.allocations.keys ?? [:].keys)
        touched.formUnion(claim.allocations.keys)
        changed.insert(claim.consumer)
        guard !claim.allocations.isEmpty else {
            consumers[claim.consumer] = nil
            return
        }
        consumers[claim.consumer] = Consumer(
            project: claim.projectID ?? old?.project ?? Self.unknownOwner,
            user: claim.userID ?? old?.user ?? Self.unknownOwner,
            generation: old.map { $0.generation + 1 } ?? 0,
            type: claim.consumerType ?? old?.type,
            allocations: claim.allocations)
    }
}
