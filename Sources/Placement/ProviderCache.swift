import Foundation
import SQLKit
import StratusCore
import Synchronization

/// Every provider's place in its tree, capacity and traits, as allocation candidates read
/// them, kept between requests. Placement bumps a provider's generation with every change
/// to its inventory, allocations, traits, aggregates or parent, so a refresh reads only
/// the providers' generations and reloads the providers whose generation moved: one
/// provider after a claim instead of every inventory, usage and trait of the cloud.
/// The entries kept are bounded in bytes; a cloud with more providers than fit has the
/// least recently refreshed ones read again.
final class ProviderCache: Sendable {
    struct Entry: Sendable {
        var node: PlacementAPI.TreeNode
        var generation: Int
        var capacity: [String: PlacementAPI.Capacity] = [:]
        var traits: Set<String> = []
        /// Its `provider_summaries` entry in each shape (see `PlacementAPI.SummaryShape`), as
        /// JSON text: a thousand candidates copy their summaries instead of serialising them.
        var summaries: [[UInt8]] = []

        /// Bytes held, estimated: strings, dictionary slots and the summaries' text.
        var cost: Int {
            let strings = node.uuid.utf8.count * 3 + traits.reduce(0) { $0 + $1.utf8.count + 48 }
            return 256 + strings + capacity.count * 160 + summaries.reduce(0) { $0 + $1.count + 32 }
        }
    }

    /// 64 MiB holds about 60,000 providers with three classes of inventory each.
    static let defaultByteLimit = 64 << 20

    /// Above this many changed providers one read of everything beats a long `IN` list.
    static let partialReloadLimit = 200

    private let entries: Mutex<LRUCache<String, Entry>>

    init(byteLimit: Int = ProviderCache.defaultByteLimit) {
        entries = Mutex(LRUCache(byteLimit: byteLimit))
    }

    /// The bytes the entries kept are estimated to hold, never above the limit.
    var bytes: Int { entries.withLock { $0.bytes } }

    /// The providers as `db` has them now, and their uuids in the database's order (roots
    /// before the children created under them), which candidates keep.
    func refresh(in db: any SQLDatabase, api: PlacementAPI) async throws -> (entries: [String: Entry], order: [String]) {
        var nodes: [(node: PlacementAPI.TreeNode, generation: Int)] = []
        for row in try await db.raw("SELECT uuid, generation, parent_uuid, root_uuid FROM resource_providers").all() {
            let node = PlacementAPI.TreeNode(
                uuid: try row.decode(column: "uuid", as: String.self),
                parent: try row.decode(column: "parent_uuid", as: String?.self),
                root: try row.decode(column: "root_uuid", as: String.self))
            nodes.append((node, try row.decode(column: "generation", as: Int.self)))
        }
        var current: [String: Entry] = [:]
        var stale: [String] = []
        let order = nodes.map(\.node.uuid)
        entries.withLock { cached in
            for (node, generation) in nodes {
                // Moving a parent changes its descendants' root, not their generation.
                if let entry = cached.value(for: node.uuid), entry.generation == generation, entry.node == node {
                    current[node.uuid] = entry
                } else {
                    current[node.uuid] = Entry(node: node, generation: generation)
                    stale.append(node.uuid)
                }
            }
        }
        if !stale.isEmpty {
            let subset = stale.count > Self.partialReloadLimit ? nil : Set(stale)
            let capacity = try await api.capacities(subset, in: db)
            var traits: [String: Set<String>] = [:]
            var sql: SQLQueryString = "SELECT provider, trait FROM provider_traits"
            if let subset { sql = sql + " WHERE provider IN " + SQLQueryString.list(Array(subset)) }
            for row in try await db.raw(sql).all() {
                traits[try row.decode(column: "provider", as: String.self), default: []].insert(try row.decode(column: "trait", as: String.self))
            }
            for uuid in stale {
                guard var entry = current[uuid] else { continue }
                entry.capacity = capacity[uuid] ?? [:]
                entry.traits = traits[uuid] ?? []
                entry.summaries = PlacementAPI.SummaryShape.allCases.map { PlacementAPI.summary(entry, shape: $0) }
                current[uuid] = entry
            }
        }
        let reloaded = stale.compactMap { current[$0] }
        entries.withLock { cached in
            for entry in reloaded { cached.set(entry, for: entry.node.uuid, cost: entry.cost) }
            if cached.count > current.count {  // providers deleted since they were cached
                for uuid in Array(cached.keys) where current[uuid] == nil { cached.remove(uuid) }
            }
        }
        return (current, order)
    }
}
