/// `PlacementClient` over Placement's REST API (microversion 1.36), as the service user.
public struct RESTPlacementClient: PlacementClient {
    let rest: ServiceClient
    /// Attempts of a generation-guarded write before giving up.
    static let generationRetries = 5

    public init(auth: ServiceAuth) {
        let version = ("OpenStack-API-Version", "placement 1.36")
        rest = ServiceClient(auth: auth, serviceType: "placement", headers: [version])
    }

    public func allocationCandidates(
        resources: [String: Int], required: [String], limit: Int
    ) async throws -> AllocationCandidates {
        let query = resources.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
        var path = "/allocation_candidates?resources=\(query.joined(separator: ","))&limit=\(limit)"
        if !required.isEmpty { path += "&required=" + required.joined(separator: ",") }
        let body = try await rest.get(path).checked("placement").body
        var summaries: [String: ProviderSummary] = [:]
        for (provider, summary) in body["provider_summaries"]?.objectValue ?? [:] {
            var capacity: [String: Int] = [:]
            var used: [String: Int] = [:]
            for (name, value) in summary["resources"]?.objectValue ?? [:] {
                capacity[name] = value["capacity"]?.intValue ?? 0
                used[name] = value["used"]?.intValue ?? 0
            }
            let traits = Set(summary["traits"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            summaries[provider] = ProviderSummary(capacity: capacity, used: used, traits: traits)
        }
        let requests = (body["allocation_requests"]?.arrayValue ?? []).map { Self.amounts($0["allocations"]) }
        return AllocationCandidates(requests: requests, summaries: summaries)
    }

    public func claim(
        _ consumer: String, allocations: [String: [String: Int]], project: String, user: String
    ) async throws -> Bool {
        let body: JSON = [
            "allocations": Self.allocationsBody(allocations), "project_id": .string(project), "user_id": .string(user),
            "consumer_generation": .null,
        ]
        let reply = try await rest.send(.PUT, "/allocations/\(consumer)", body: body)
        if reply.status == 409 { return false }
        _ = try reply.checked("placement")
        return true
    }

    public func allocations(of consumer: String) async throws -> [String: [String: Int]] {
        Self.amounts(try await rest.get("/allocations/\(consumer)").checked("placement").body["allocations"])
    }

    public func moveAllocations(from: String, to: String, project: String, user: String) async throws {
        let current = try await rest.get("/allocations/\(from)").checked("placement").body
        let allocations = Self.amounts(current["allocations"])
        guard !allocations.isEmpty else { return }
        let target = try await rest.get("/allocations/\(to)").checked("placement").body
        _ = try await rest.send(.POST, "/allocations", body: [
            from: [
                "allocations": [:], "project_id": .string(project), "user_id": .string(user),
                "consumer_generation": current["consumer_generation"] ?? .null,
            ],
            to: [
                "allocations": Self.allocationsBody(allocations), "project_id": .string(project),
                "user_id": .string(user),
                "consumer_generation": target["consumer_generation"] ?? .null,
            ],
        ]).checked("placement")
    }

    public func deleteAllocations(of consumer: String) async throws {
        let reply = try await rest.send(.DELETE, "/allocations/\(consumer)")
        if reply.status != 404 { _ = try reply.checked("placement") }
    }

    public func ensureProvider(uuid: String, name: String) async throws {
        let existing = try await rest.get("/resource_providers/\(uuid)")
        guard existing.status == 404 else { _ = try existing.checked("placement"); return }
        let body: JSON = ["uuid": .string(uuid), "name": .string(name)]
        let created = try await rest.send(.POST, "/resource_providers", body: body)
        if created.status != 409 { _ = try created.checked("placement") }
    }

    public func setInventories(of provider: String, _ inventories: [String: ProviderInventory]) async throws {
        let value = JSON.object(inventories.mapValues { inventory in
            [
                "total": .int(inventory.total), "reserved": .int(inventory.reserved), "min_unit": 1,
                "max_unit": .int(inventory.total), "step_size": 1,
                "allocation_ratio": .double(inventory.allocationRatio),
            ]
        })
        let path = "/resource_providers/\(provider)/inventories"
        try await putWithGeneration(provider, path: path, key: "inventories", value: value)
    }

    public func setTraits(of provider: String, _ traits: [String]) async throws {
        let path = "/resource_providers/\(provider)/traits"
        try await putWithGeneration(provider, path: path, key: "traits", value: JSON(traits))
    }

    public func consumers(of provider: String) async throws -> [String] {
        let body = try await rest.get("/resource_providers/\(provider)/allocations").checked("placement").body
        return Array((body["allocations"]?.objectValue ?? [:]).keys)
    }

    public func updateAggregates(of provider: String, _ change: @Sendable ([String]) -> [String]) async throws {
        let path = "/resource_providers/\(provider)/aggregates"
        for _ in 0..<Self.generationRetries {
            let current = try await rest.get(path)
            if current.status == 404 { return }
            let body = try current.checked("placement").body
            let list = change(body["aggregates"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            let reply = try await rest.send(.PUT, path, body: [
                "aggregates": JSON(list), "resource_provider_generation": body["resource_provider_generation"] ?? .null,
            ])
            if reply.status != 409 { _ = try reply.checked("placement"); return }
        }
        throw Self.generationConflicts(path)
    }

    /// A PUT guarded by the provider generation, retried when another writer got there first.
    private func putWithGeneration(_ provider: String, path: String, key: String, value: JSON) async throws {
        for _ in 0..<Self.generationRetries {
            let current = try await rest.get("/resource_providers/\(provider)").checked("placement").body
            let generation = current["generation"]?.intValue ?? 0
            let body: JSON = ["resource_provider_generation": .int(generation), .init(key): value]
            let reply = try await rest.send(.PUT, path, body: body)
            if reply.status != 409 { _ = try reply.checked("placement"); return }
        }
        throw Self.generationConflicts(path)
    }

    static func generationConflicts(_ path: String) -> ServiceFault {
        let message = "Placement kept refusing \(path) with generation conflicts"
        return ServiceFault(service: "placement", status: 409, message: message)
    }

    /// `{provider: {"resources": {class: amount}}}` read as provider to amounts.
    static func amounts(_ allocations: JSON?) -> [String: [String: Int]] {
        (allocations?.objectValue ?? [:]).mapValues { consumer in
            (consumer["resources"]?.objectValue ?? [:]).compactMapValues(\.intValue)
        }
    }

    static func allocationsBody(_ allocations: [String: [String: Int]]) -> JSON {
        .object(allocations.mapValues { ["resources": .object($0.mapValues { .int($0) })] })
    }
}
