import Foundation
import SQLKit
import StratusCore

/// A host aggregate: named hosts with metadata; `availability_zone` metadata makes its
/// hosts an availability zone.
struct Aggregate: Sendable {
    var id: Int
    var uuid: String
    var name: String
    var hosts: [String] = []
    var metadata: [String: String] = [:]
    var createdAt: Date
    var updatedAt: Date?

    var availabilityZone: String? { metadata["availability_zone"] }
}

struct AggregateStore: Sendable {
    let db: Database

    func all(in db: any SQLDatabase) async throws -> [Aggregate] {
        try await select(where: "deleted = \(bind: false)", in: db)
    }

    func get(_ id: Int, in db: any SQLDatabase) async throws -> Aggregate? {
        try await select(where: "deleted = \(bind: false) AND id = \(bind: id)", in: db).first
    }

    private func select(where condition: SQLQueryString, in db: any SQLDatabase) async throws -> [Aggregate] {
        let rows = try await db.raw("SELECT id, uuid, name, created_at, updated_at FROM aggregates WHERE " + condition + " ORDER BY id").all()
        var aggregates = try rows.map { row in
            Aggregate(
                id: try row.decode(column: "id", as: Int.self), uuid: try row.decode(column: "uuid", as: String.self),
                name: try row.decode(column: "name", as: String.self),
                createdAt: Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self)),
                updatedAt: try row.decode(column: "updated_at", as: Double?.self).map(Date.init(timeIntervalSince1970:)))
        }
        guard !aggregates.isEmpty else { return [] }
        let ids = SQLQueryString.list(aggregates.map { String($0.id) })
        let hosts = try await db.raw("SELECT aggregate_id, host FROM aggregate_hosts WHERE CAST(aggregate_id AS TEXT) IN " + ids + " ORDER BY host").all()
        let metadata = try await db.raw("SELECT aggregate_id, \(ident: "key"), value FROM aggregate_metadata WHERE CAST(aggregate_id AS TEXT) IN " + ids).all()
        var index: [Int: Int] = [:]
        for (position, aggregate) in aggregates.enumerated() { index[aggregate.id] = position }
        for row in hosts {
            guard let position = index[try row.decode(column: "aggregate_id", as: Int.self)] else { continue }
            aggregates[position].hosts.append(try row.decode(column: "host", as: String.self))
        }
        for row in metadata {
            guard let position = index[try row.decode(column: "aggregate_id", as: Int.self)] else { continue }
            aggregates[position].metadata[try row.decode(column: "key", as: String.self)] = try row.decode(column: "value", as: String.self)
        }
        return aggregates
    }

    func insert(name: String, in db: any SQLDatabase) async throws -> Int {
        let row = try await db.raw("""
            INSERT INTO aggregates (uuid, name, deleted, created_at) VALUES (\(bind: UUID().uuidString.lowercased()), \(bind: name),
            \(bind: false), \(bind: Date().timeIntervalSince1970)) RETURNING id
            """).first()
        return try row?.decode(column: "id", as: Int.self) ?? 0
    }

    func rename(_ id: Int, to name: String, in db: any SQLDatabase) async throws {
        try await db.update("aggregates").set("name", to: SQLBind(name)).set("updated_at", to: SQLBind(Date().timeIntervalSince1970))
            .where("id", .equal, SQLBind(id)).run()
    }

    func touch(_ id: Int, in db: any SQLDatabase) async throws {
        try await db.update("aggregates").set("updated_at", to: SQLBind(Date().timeIntervalSince1970)).where("id", .equal, SQLBind(id)).run()
    }

    func delete(_ id: Int, in db: any SQLDatabase) async throws {
        try await db.delete(from: "aggregate_metadata").where("aggregate_id", .equal, SQLBind(id)).run()
        try await db.update("aggregates").set("deleted", to: SQLBind(true)).set("deleted_at", to: SQLBind(Date().timeIntervalSince1970))
            .where("id", .equal, SQLBind(id)).run()
    }

    func setMetadata(_ id: Int, _ changes: [String: String?], in db: any SQLDatabase) async throws {
        for (key, value) in changes {
            try await db.delete(from: "aggregate_metadata").where("aggregate_id", .equal, SQLBind(id)).where("key", .equal, SQLBind(key)).run()
            if let value {
                try await db.insert(into: "aggregate_metadata").columns("aggregate_id", "key", "value").values(SQLBind(id), SQLBind(key), SQLBind(value)).run()
            }
        }
        try await touch(id, in: db)
    }

    func addHost(_ id: Int, _ host: String, in db: any SQLDatabase) async throws {
        try await db.insert(into: "aggregate_hosts").columns("aggregate_id", "host").values(SQLBind(id), SQLBind(host)).run()
        try await touch(id, in: db)
    }

    func removeHost(_ id: Int, _ host: String, in db: any SQLDatabase) async throws {
        try await db.delete(from: "aggregate_hosts").where("aggregate_id", .equal, SQLBind(id)).where("host", .equal, SQLBind(host)).run()
        try await touch(id, in: db)
    }

    /// Per host, the metadata of its aggregates: each key with every value it has there.
    func metadataByHost(in db: any SQLDatabase) async throws -> [String: [String: Set<String>]] {
        var byHost: [String: [String: Set<String>]] = [:]
        for aggregate in try await all(in: db) {
            for host in aggregate.hosts {
                for (key, value) in aggregate.metadata { byHost[host, default: [:]][key, default: []].insert(value) }
            }
        }
        return byHost
    }

    /// The availability zone of each host in a zoned aggregate.
    func zonesByHost(in db: any SQLDatabase) async throws -> [String: String] {
        var zones: [String: String] = [:]
        for aggregate in try await all(in: db) {
            guard let zone = aggregate.availabilityZone else { continue }
            for host in aggregate.hosts { zones[host] = zone }
        }
        return zones
    }
}
