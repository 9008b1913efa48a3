import SQLKit
import StratusCore

/// Reads and writes records of any kind through the kind's `RecordTable` (one table per
/// kind, one column per stored attribute), and their tags.
enum RecordStore {
    static func createTable(_ kind: ResourceKind) -> [String] {
        var indexes = kind.indexes
        if kind.attribute("project_id") != nil { indexes.append(["project_id"]) }
        if let parent = kind.parentAttribute { indexes.append([parent]) }
        return kind.storage.createStatements(indexes: indexes)
    }

    static func insert(_ kind: ResourceKind, _ record: Record, db: any SQLDatabase) async throws {
        try await kind.storage.insert(record, db: db)
    }

    static func update(_ kind: ResourceKind, id: String, values: Record, db: any SQLDatabase) async throws {
        try await kind.storage.update(id: id, values: values, db: db)
    }

    static func delete(_ kind: ResourceKind, id: String, db: any SQLDatabase) async throws {
        try await kind.storage.delete(id: id, db: db)
        if kind.hasTags {
            try await db.delete(from: "tags").where("resource_type", .equal, kind.member).where("resource_id", .equal, id).run()
        }
    }

    /// Rows of `kind` matching `condition` (SQL after WHERE), in `order`, at most `limit`.
    static func select(
        _ kind: ResourceKind, where condition: SQLQueryString? = nil, order: SQLQueryString? = nil, limit: Int? = nil,
        db: any SQLDatabase
    ) async throws -> [Record] {
        try await kind.storage.select(where: condition, order: order, limit: limit, db: db)
    }

    static func get(_ kind: ResourceKind, id: String, db: any SQLDatabase) async throws -> Record? {
        try await kind.storage.get(id: id, db: db)
    }

    static func count(_ kind: ResourceKind, where condition: SQLQueryString, db: any SQLDatabase) async throws -> Int {
        try await kind.storage.count(where: condition, db: db)
    }

    static func exists(_ kind: ResourceKind, where condition: SQLQueryString, db: any SQLDatabase) async throws -> Bool {
        try await kind.storage.exists(where: condition, db: db)
    }

    /// Tags of `ids`, by id.
    static func tags(member: String, ids: [String], db: any SQLDatabase) async throws -> [String: [String]] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await db.raw(
            "SELECT resource_id, tag FROM tags WHERE resource_type = \(bind: member) AND resource_id IN " + inList(ids) + " ORDER BY tag"
        ).all()
        var result: [String: [String]] = [:]
        for row in rows {
            result[try row.decode(column: "resource_id", as: String.self), default: []].append(try row.decode(column: "tag", as: String.self))
        }
        return result
    }

    static func setTags(member: String, id: String, tags: [String], db: any SQLDatabase) async throws {
        try await db.delete(from: "tags").where("resource_type", .equal, member).where("resource_id", .equal, id).run()
        for tag in Set(tags) {
            try await db.insert(into: "tags").columns("resource_type", "resource_id", "tag").values(SQLBind(member), SQLBind(id), SQLBind(tag)).run()
        }
    }

    /// `(?, ?, ...)` binding each value; `(NULL)` for an empty list so `IN` matches nothing.
    static func inList(_ values: [String]) -> SQLQueryString {
        guard !values.isEmpty else { return "(NULL)" }
        var query: SQLQueryString = "("
        for (i, value) in values.enumerated() {
            if i > 0 { query = query + ", " }
            query = query + "\(bind: value)"
        }
        return query + ")"
    }
}
