import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `GET /allocation_candidates`: the provider trees that can satisfy a request, each
/// with one allocation request, and summaries of the providers involved. Capacity,
/// traits and trees come from the provider cache (refreshed by generation), aggregates
/// and trees a group is limited to from one query each; the matching runs in memory.
extension PlacementAPI {
    struct RequestGroup {
        var suffix: String
        var resources: [String: Int] = [:]
        var required: [String] = []
        var memberOf: [String] = []
        var inTree: String?
    }

    struct TreeNode: Equatable {
        var uuid: String
        var parent: String?
        var root: String
    }

    func registerCandidates(on router: Router<StratusContext>) {
        router.get("/allocation_candidates") { request, context -> Response in
            try self.authorize(context)
            guard context.version(atLeast: 1, 10) else { throw PlacementError.notFound("The resource could not be found.") }
            let (groups, policy, limit) = try Self.parseGroups(request, context)
            let inputs = try await self.db.read { db in try await self.candidateInputs(groups, in: db) }
            return .json(self.candidates(groups, policy: policy, limit: limit, context: context, inputs: inputs))
        }
    }

    static func parseGroups(_ request: Request, _ context: StratusContext) throws -> ([RequestGroup], String?, Int?) {
        var groups: [String: RequestGroup] = [:]
        var policy: String?
        var limit: Int?
        for (rawKey, rawValue) in request.uri.queryParameters {
            let key = String(rawKey)
            let value = String(rawValue)
            if key == "group_policy" { policy = value; continue }
            if key == "limit" {
                guard let n = Int(value), n >= 1 else { throw PlacementError.bad("Invalid query string parameters: limit must be a positive integer") }
                limit = n
                continue
            }
            guard let base = ["resources", "required", "member_of", "in_tree"].first(where: { key.hasPrefix($0) }) else {
                if key == "root_required" || key == "same_subtree" { continue }
                throw PlacementError.bad("Invalid query string parameters: Additional properties are not allowed ('\(key)' was unexpected)")
            }
            let suffix = String(key.dropFirst(base.count))
            var group = groups[suffix] ?? RequestGroup(suffix: suffix)
            switch base {
            case "resources": group.resources.merge(try parseResources(value)) { _, new in new }
            case "required": group.required.append(value)
            case "member_of": group.memberOf.append(value)
            default: group.inTree = value
            }
            groups[suffix] = group
        }
        guard let unnumbered = groups[""], !unnumbered.resources.isEmpty || groups.count > 1 else {
            if groups.values.contains(where: { !$0.resources.isEmpty }) { return (groups.values.sorted { $0.suffix < $1.suffix }, policy, limit) }
            throw PlacementError.bad("Invalid query string parameters: 'resources' is a required property")
        }
        _ = unnumbered
        let numbered = groups.keys.filter { !$0.isEmpty && !(groups[$0]?.resources.isEmpty ?? true) }
        if numbered.count > 1, policy == nil, context.version(atLeast: 1, 25) {
            throw PlacementError.bad("The \"group_policy\" parameter is required when specifying more than one \"resources{N}\" parameter.")
        }
        return (groups.values.sorted { $0.suffix < $1.suffix }, policy, limit)
    }

    /// What one request is matched against: every provider (from the cache), and per
    /// group the providers its `member_of` and `in_tree` allow (nil: all).
    struct CandidateInputs: Sendable {
        var providers: [String: ProviderCache.Entry]
        var order: [String]
        var allowed: [String: Set<String>]
    }

    func candidateInputs(_ groups: [RequestGroup], in db: any SQLDatabase) async throws -> CandidateInputs {
        let known = Set(try await resourceClasses(in: db))
        for group in groups {
            for rc in group.resources.keys where !known.contains(rc) { throw PlacementError.bad("Invalid resource class in resources parameter: No such resource class \(rc).") }
        }
        var allowed: [String: Set<String>] = [:]
        for group in groups where !group.memberOf.isEmpty || group.inTree != nil {
            var conditions = try Self.memberOf(group.memberOf, column: "root_uuid")
            if let tree = group.inTree { conditions.append("root_uuid IN (SELECT root_uuid FROM resource_providers WHERE uuid = \(bind: tree))") }
            let sql: SQLQueryString = "SELECT uuid FROM resource_providers WHERE " + SQLQueryString.all(conditions)
            allowed[group.suffix] = Set(try await db.raw(sql).all().map { try $0.decode(column: "uuid", as: String.self) })
        }
        let (providers, order) = try await providerCache.refresh(in: db, api: self)
        return CandidateInputs(providers: providers, order: order, allowed: allowed)
    }

    /// The candidates themselves, computed in memory outside the database's gate.
    func candidates(
        _ groups: [RequestGroup], policy: String?, limit: Int?, context: StratusContext, inputs: CandidateInputs
    ) -> JSONWriter {
        let providers = inputs.providers
        let allowed = inputs.allowed
        func fits(_ provider: String, _ resources: [String: Int], extra: [String: [String: Int]]) -> Bool {
            resources.allSatisfy { rc, amount in
                guard let inventory = providers[provider]?.capacity[rc] else { return false }
                let already = extra[provider]?[rc] ?? 0
                return amount >= inventory.minUnit && amount <= inventory.maxUnit && amount % max(inventory.stepSize, 1) == 0
                    && inventory.used + already + amount <= inventory.capacity
            }
        }
        func traitsOK(_ group: RequestGroup, members: Set<String>) -> Bool {
            let have = members.reduce(into: Set<String>()) { $0.formUnion(providers[$1]?.traits ?? []) }
            for value in group.required {
                if value.hasPrefix("in:") {
                    if Set(value.dropFirst(3).split(separator: ",").map(String.init)).isDisjoint(with: have) { return false }
                    continue
                }
                for trait in value.split(separator: ",").map(String.init) {
                    if trait.hasPrefix("!") ? have.contains(String(trait.dropFirst())) : !have.contains(trait) { return false }
                }
            }
            return true
        }
        let trees = Dictionary(grouping: inputs.order.compactMap { providers[$0]?.node }, by: \.root)
        var requests: [(taken: [String: [String: Int]], mappings: [String: [String]])] = []
        var usedRoots: [String] = []
        for root in trees.keys.sorted() {
            if let limit, requests.count >= limit { break }
            let members = (trees[root] ?? []).map(\.uuid)
            var taken: [String: [String: Int]] = [:]
            var mappings: [String: [String]] = [:]
            var isolated: Set<String> = []
            var ok = true
            for group in groups where !group.resources.isEmpty {
                let options = allowed[group.suffix].map { set in members.filter { set.contains($0) } } ?? members
                if group.suffix.isEmpty {
                    // Unnumbered: one provider if it can, else each class from the first that has room.
                    if let single = options.first(where: { fits($0, group.resources, extra: taken) && traitsOK(group, members: [$0]) }) {
                        for (rc, amount) in group.resources { taken[single, default: [:]][rc, default: 0] += amount }
                        mappings[""] = [single]
                        continue
                    }
                    var used: Set<String> = []
                    for (rc, amount) in group.resources.sorted(by: { $0.key < $1.key }) {
                        guard let provider = options.first(where: { fits($0, [rc: amount], extra: taken) }) else { ok = false; break }
                        taken[provider, default: [:]][rc, default: 0] += amount
                        used.insert(provider)
                    }
                    if ok, !traitsOK(group, members: used.union([root])) { ok = false }
                    mappings[""] = Array(used).sorted()
                } else {
                    let candidates = options.filter {
                        fits($0, group.resources, extra: taken) && traitsOK(group, members: [$0]) && !(policy == "isolate" && isolated.contains($0))
                    }
                    guard let provider = candidates.first else { ok = false; break }
                    for (rc, amount) in group.resources { taken[provider, default: [:]][rc, default: 0] += amount }
                    isolated.insert(provider)
                    mappings[group.suffix] = [provider]
                }
                if !ok { break }
            }
            guard ok, !taken.isEmpty else { continue }
            usedRoots.append(root)
            requests.append((taken, mappings))
        }
        let shape = SummaryShape(context)
        var out = JSONWriter(capacity: 512 * requests.count + 256)
        out.object { body in
            body.key("allocation_requests")
            body.array { list in
                for (taken, mappings) in requests {
                    list.object { request in Self.write(taken, mappings, context: context, to: &request) }
                }
            }
            body.key("provider_summaries")
            body.object { summaries in
                for root in usedRoots {
                    for node in trees[root] ?? [] {
                        guard let summary = providers[node.uuid]?.summaries[shape.rawValue] else { continue }
                        summaries.key(node.uuid)
                        summaries.value(serialized: summary)
                    }
                }
            }
        }
        return out
    }

    /// One allocation request's members: what it takes from each provider and, from 1.34, which
    /// request group each provider serves.
    private static func write(
        _ taken: [String: [String: Int]], _ mappings: [String: [String]], context: StratusContext,
        to request: inout JSONWriter
    ) {
        func resources(_ amounts: [String: Int], to out: inout JSONWriter) {
            out.key("resources")
            out.object { resources in
                for (rc, amount) in amounts.sorted(by: { $0.key < $1.key }) { resources.field(rc, amount) }
            }
        }
        request.key("allocations")
        if context.version(atLeast: 1, 12) {
            request.object { allocations in
                for (provider, amounts) in taken.sorted(by: { $0.key < $1.key }) {
                    allocations.key(provider)
                    allocations.object { resources(amounts, to: &$0) }
                }
            }
        } else {
            request.array { allocations in
                for (provider, amounts) in taken.sorted(by: { $0.key < $1.key }) {
                    allocations.object { allocation in
                        allocation.field("resource_provider", ["uuid": .string(provider)])
                        resources(amounts, to: &allocation)
                    }
                }
            }
        }
        if context.version(atLeast: 1, 34) {
            request.key("mappings")
            request.object { groups in
                for (suffix, providers) in mappings.sorted(by: { $0.key < $1.key }) {
                    groups.field(suffix, JSON(providers))
                }
            }
        }
    }

    /// The shapes of a provider summary across microversions: traits from 1.17, the
    /// parent and root from 1.29.
    enum SummaryShape: Int, CaseIterable {
        case resources, traits, tree

        init(_ context: StratusContext) {
            self = context.version(atLeast: 1, 29) ? .tree : context.version(atLeast: 1, 17) ? .traits : .resources
        }
    }

    /// A provider's `provider_summaries` entry, as JSON text.
    static func summary(_ entry: ProviderCache.Entry, shape: SummaryShape) -> [UInt8] {
        var summary: [String: JSON] = [
            "resources": .object(entry.capacity.mapValues { ["capacity": .int($0.capacity), "used": .int($0.used)] })
        ]
        if shape != .resources { summary["traits"] = JSON(entry.traits.sorted()) }
        if shape == .tree {
            summary["parent_provider_uuid"] = JSON(entry.node.parent)
            summary["root_provider_uuid"] = .string(entry.node.root)
        }
        return JSON.object(summary).serializedBytes()
    }
}
