/// The Placement calls a service makes: candidates, claims and the inventory of its providers.
public protocol PlacementClient: Sendable {
    /// Providers that can satisfy `resources` with the `required` (or `!forbidden`) traits.
    func allocationCandidates(
        resources: [String: Int], required: [String], limit: Int
    ) async throws -> AllocationCandidates
    /// Claims `allocations` (provider to resource amounts) for a new consumer; false when
    /// another claim won the race for the capacity (Placement's 409).
    func claim(
        _ consumer: String, allocations: [String: [String: Int]], project: String, user: String
    ) async throws -> Bool
    /// The consumer's allocations, by provider (empty when it holds none).
    func allocations(of consumer: String) async throws -> [String: [String: Int]]
    /// Gives `from`'s allocations to `to` in one request, leaving `from` with none.
    func moveAllocations(from: String, to: String, project: String, user: String) async throws
    /// Removes the consumer's allocations; a consumer holding none is not an error.
    func deleteAllocations(of consumer: String) async throws
    /// Creates the provider unless it exists.
    func ensureProvider(uuid: String, name: String) async throws
    func setInventories(of provider: String, _ inventories: [String: ProviderInventory]) async throws
    func setTraits(of provider: String, _ traits: [String]) async throws
    /// The consumers holding allocations against the provider.
    func consumers(of provider: String) async throws -> [String]
    /// Rewrites the provider's aggregates with `change`, retrying generation conflicts.
    func updateAggregates(of provider: String, _ change: @Sendable ([String]) -> [String]) async throws
}

/// Placement's answer to `GET /allocation_candidates`.
public struct AllocationCandidates: Sendable, Equatable {
    /// Each request: provider to resource amounts.
    public var requests: [[String: [String: Int]]]
    public var summaries: [String: ProviderSummary]

    public init(requests: [[String: [String: Int]]], summaries: [String: ProviderSummary]) {
        self.requests = requests
        self.summaries = summaries
    }
}

public struct ProviderSummary: Sendable, Equatable {
    public var capacity: [String: Int]
    public var used: [String: Int]
    public var traits: Set<String>

    public init(capacity: [String: Int], used: [String: Int], traits: Set<String>) {
        self.capacity = capacity
        self.used = used
        self.traits = traits
    }
}

public struct ProviderInventory: Sendable, Equatable {
    public var total: Int
    public var reserved: Int
    public var allocationRatio: Double

    public init(total: Int, reserved: Int = 0, allocationRatio: Double = 1) {
        self.total = total
        self.reserved = reserved
        self.allocationRatio = allocationRatio
    }

    /// What may be allocated: `(total - reserved) × ratio`, as Placement computes it.
    public var capacity: Int { Int(Double(total - reserved) * allocationRatio) }
}
