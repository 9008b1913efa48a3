import StratusCore

/// Placement in memory: providers with inventories and traits, consumers' allocations,
/// candidates that fit, and claims that fail when capacity ran out.
public actor FakePlacement: PlacementClient {
    struct Provider {
        var name: String
        var inventories: [String: ProviderInventory] = [:]
        var traits: [String] = []
        var aggregates: [String] = []
    }

    private var providers: [String: Provider] = [:]
    /// Consumer to provider to resource amounts.
    public private(set) var allocations: [String: [String: [String: Int]]] = [:]

    public init() {}

    public func allocationCandidates(resources: [String: Int], required: [String], limit: Int) -> AllocationCandidates {
        var requests: [[String: [String: Int]]] = []
        var summaries: [String: ProviderSummary] = [:]
        let wanted = resources.filter { $0.value > 0 }
        for (uuid, provider) in providers.sorted(by: { $0.key < $1.key }) where requests.count < limit {
            let traits = Set(provider.traits)
            let traitsMatch = required.allSatisfy { trait in
                trait.hasPrefix("!") ? !traits.contains(String(trait.dropFirst())) : traits.contains(trait)
            }
            guard traitsMatch, wanted.allSatisfy({ free(uuid, $0.key) >= $0.value }) else { continue }
            requests.append([uuid: wanted])
            summaries[uuid] = ProviderSummary(
                capacity: provider.inventories.mapValues(\.capacity),
                used: Dictionary(uniqueKeysWithValues: provider.inventories.keys.map { ($0, used(uuid, $0)) }),
                traits: traits)
        }
        return AllocationCandidates(requests: requests, summaries: summaries)
    }

    public func claim(
        _ consumer: String, allocations wanted: [String: [String: Int]], project: String, user: String
    ) -> Bool {
        for (provider, amounts) in wanted {
            for (name, amount) in amounts where free(provider, name) < amount { return false }
        }
        allocations[consumer] = wanted
        return true
    }

    public func allocations(of consumer: String) -> [String: [String: Int]] { allocations[consumer] ?? [:] }

    public func moveAllocations(from: String, to: String, project: String, user: String) {
        guard let held = allocations.removeValue(forKey: from) else { return }
        allocations[to] = held
    }

    public func deleteAllocations(of consumer: String) { allocations[consumer] = nil }

    public func ensureProvider(uuid: String, name: String) {
        if providers[uuid] == nil { providers[uuid] = Provider(name: name) }
    }

    public func setInventories(of provider: String, _ inventories: [String: ProviderInventory]) throws {
        guard providers[provider] != nil else { throw Self.noProvider(provider) }
        providers[provider]?.inventories = inventories
    }

    public func setTraits(of provider: String, _ traits: [String]) throws {
        guard providers[provider] != nil else { throw Self.noProvider(provider) }
        providers[provider]?.traits = traits
    }

    public func consumers(of provider: String) -> [String] {
        allocations.filter { $0.value[provider] != nil }.map(\.key)
    }

    public func updateAggregates(of provider: String, _ change: @Sendable ([String]) -> [String]) {
        guard let current = providers[provider]?.aggregates else { return }
        providers[provider]?.aggregates = change(current)
    }

    /// Providers by name, for assertions.
    public func providerNamed(_ name: String) -> String? { providers.first { $0.value.name == name }?.key }

    private func used(_ provider: String, _ name: String) -> Int {
        allocations.values.reduce(0) { $0 + ($1[provider]?[name] ?? 0) }
    }

    private func free(_ provider: String, _ name: String) -> Int {
        (providers[provider]?.inventories[name]?.capacity ?? 0) - used(provider, name)
    }

    private static func noProvider(_ uuid: String) -> ServiceFault {
        ServiceFault(service: "placement", status: 404, message: "No resource provider with uuid \(uuid) found")
    }
}
