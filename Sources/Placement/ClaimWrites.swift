import SQLKit
import StratusCore

extension ClaimLedger {
    /// The consumers the claims name, with their allocations, and every provider those or the
    /// claims touch, with generation and capacity: two statements.
    static func load(for claims: [PlacementAPI.Claim], in db: any SQLDatabase) async throws -> ClaimLedger {
        var consumers: [String: Consumer] = [:]
        let named = Array(Set(claims.map(\.consumer)))
        // Allocations never outlive their consumer's record (every writer keeps both together).
        let consumerRows = try await db.raw(
            """
            SELECT c.uuid, c.project_id, c.user_id, c.generation, c.consumer_type, a.provider, a.resource_class, a.used
            FROM consumers c LEFT JOIN allocations a ON a.consumer = c.uuid WHERE c.uuid IN
            """ + SQLQueryString.list(named)
        ).all()
        for row in consumerRows {
            let uuid = try row.decode(column: "uuid", as: String.self)
            if consumers[uuid] == nil {
                consumers[uuid] = Consumer(
                    project: try row.decode(column: "project_id", as: String.self),
                    user: try row.decode(column: "user_id", as: String.self),
                    generation: try row.decode(column: "generation", as: Int.self),
                    type: try row.decode(column: "consumer_type", as: String?.self), allocations: [:])
            }
            if let provider = try row.decode(column: "provider", as: String?.self) {
                consumers[uuid]?.allocations[provider, default: [:]][
                    try row.decode(column: "resource_class", as: String.self)] = try row.decode(
                        column: "used", as: Int.self)
            }
        }
        var wanted = Set(claims.flatMap(\.allocations.keys))
        for consumer in consumers.values { wanted.formUnion(consumer.allocations.keys) }
        var providers: [String: Provider] = [:]
        guard !wanted.isEmpty else { return ClaimLedger(consumers: consumers, providers: providers) }
        let providerRows = try await db.raw(
            "SELECT p.uuid, p.generation, " + PlacementAPI.capacityColumns
                + " FROM resource_providers p LEFT JOIN inventories i ON i.provider = p.uuid WHERE p.uuid IN "
                + SQLQueryString.list(Array(wanted))
        ).all()
        for row in providerRows {
            let uuid = try row.decode(column: "uuid", as: String.self)
            if providers[uuid] == nil {
                providers[uuid] = Provider(
                    generation: try row.decode(column: "generation", as: Int.self), capacity: [:])
            }
            if let rc = try row.decode(column: "resource_class", as: String?.self) {
                providers[uuid]?.capacity[rc] = try PlacementAPI.Capacity(row: row)
            }
        }
        return ClaimLedger(consumers: consumers, providers: providers)
    }

    /// Rows per multi-row INSERT, well inside every database's limit on bound values.
    static let rowsPerInsert = 500

    /// Writes what the applied claims changed: each changed consumer's allocations replaced and
    /// its record upserted (deleted with its last allocation), then one compare-and-swap on the
    /// generations of the providers touched, which throws `ProviderMoved` if one moved since
    /// `load` (PostgreSQL; SQLite's single writer rules that out).
    func store(in db: any SQLDatabase) async throws {
        guard !changed.isEmpty else { return }
        let replaced = changed.filter { loaded[$0] != nil }.sorted()
        if !replaced.isEmpty {
            try await db.raw("DELETE FROM allocations WHERE consumer IN " + SQLQueryString.list(replaced)).run()
        }
        let kept = changed.sorted().compactMap { uuid in consumers[uuid].map { (uuid, $0) } }
        let allocationRows = kept.flatMap { uuid, consumer in
            consumer.allocations.flatMap { provider, resources in
                resources.map { rc, amount in [SQLBind(uuid), SQLBind(provider), SQLBind(rc), SQLBind(amount)] }
            }
        }
        for start in stride(from: 0, to: allocationRows.count, by: Self.rowsPerInsert) {
            let insert = db.insert(into: "allocations").columns("consumer", "provider", "resource_class", "used")
            for row in allocationRows[start..<min(start + Self.rowsPerInsert, allocationRows.count)] {
                insert.values(row)
            }
            try await insert.run()
        }
        for start in stride(from: 0, to: kept.count, by: Self.rowsPerInsert) {
            let upsert = db.insert(into: "consumers").columns(
                "uuid", "project_id", "user_id", "generation", "consumer_type")
            for (uuid, consumer) in kept[start..<min(start + Self.rowsPerInsert, kept.count)] {
                upsert.values(
                    SQLBind(uuid), SQLBind(consumer.project), SQLBind(consumer.user), SQLBind(consumer.generation),
                    SQLBind(consumer.type))
            }
            try await upsert.onConflict(with: "uuid") { update in
                update.set(excludedValueOf: "project_id").set(excludedValueOf: "user_id")
                    .set(excludedValueOf: "generation").set(excludedValueOf: "consumer_type")
            }.run()
        }
        let gone = replaced.filter { consumers[$0] == nil }
        if !gone.isEmpty {
            try await db.raw("DELETE FROM consumers WHERE uuid IN " + SQLQueryString.list(gone)).run()
        }
        try await bumpTouched(in: db)
    }

    private func bumpTouched(in db: any SQLDatabase) async throws {
        guard !touched.isEmpty else { return }
        let expected = touched.map { ($0, providers[$0]?.generation ?? -1) }
        var pairs: SQLQueryString = ""
        for (index, (uuid, generation)) in expected.enumerated() {
            pairs = pairs + (index == 0 ? "" : ", ") + "(\(bind: uuid), \(bind: generation))"
        }
        let bumped = try await db.raw(
            "UPDATE resource_providers SET generation = generation + 1 WHERE (uuid, generation) IN (VALUES "
                + pairs + ") RETURNING uuid"
        ).all().map { try $0.decode(column: "uuid", as: String.self) }
        if bumped.count < expected.count, let moved = expected.first(where: { !bumped.contains($0.0) }) {
            throw ProviderMoved(uuid: moved.0)
        }
    }
}
