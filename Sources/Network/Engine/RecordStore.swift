import SQLKit
import StratusCore

/// Reads and writes records of any kind: one table per kind, one column per stored
/// attribute (lists and maps as JSON text).
enum RecordStore {
    static func createTable(_ kind: ResourceKind) -> [String] {
        var columns = ["\"id\" VARCHAR(64) PRIMARY KEY"]
        for attribute in kind.columns where attribute.name != "id" {
            let type: String
            switch attribute.column {
            case .text, .json, .virtual: type = "TEXT"
            case .bool: type = "BOOLEAN"
            case .int: type = "BIGINT"
            }
            columns.append("\"\(attribute.columnName)\" \(type)")
        }
        var statements = ["CREATE TABLE \"\(kind.table)\" (\(columns.joined(separator: ", ")))"]
        var indexes = kind.indexes
        if kind.attribute("project_id") != nil { indexes.append(["project_id"]) }
        if let parent = kind.parentAttribute { indexes.append([parent]) }
        for columns in indexes {
            let name = "ix_\(kind.table)_" + columns.joined(separator: "_")
            statements.append("CREATE INDEX \"\(name)\" ON \"\(kind.table)\" (\(columns.map { "\"\(Attribute.columnName($0))\"" }.joined(separator: ", ")))")
        }
        return statements
    }

    static func bind(_ value: JSON?, as column: ColumnType) -> any SQLExpression {
        guard let value, !value.isNull else { return SQLLiteral.null }
        switch (column, value) {
        case (.json, _): return SQLBind(value.serialized())
        case (_, .string(let s)): return SQLBind(s)
        case (_, .bool(let b)): return SQLBind(b)
        case (_, .int(let i)): return SQLBind(i)
        case (_, .double(let d)): return SQLBind(d)
        default: return SQLBind(value.serialized())
        }
    }

    static func insert(_ kind: ResourceKind, _ record: Record, db: any SQLDatabase) async throws {
        let columns = kind.columns
        try await db.insert(into: kind.table)
            .columns(columns.map { SQLIdentifier($0.columnName) })
            .values(columns.map { bind(record[$0.name], as: $0.column) })
            .run()
    }

    static func update(_ kind: ResourceKind, id: String, values: Record, db: any SQLDatabase) async throws {
        var query = db.update(kind.table).where("id", .equal, id)
        var any = false
        for attribute in kind.columns {
            guard let value = values[attribute.name], attribute.name != "id" else { continue }
            query = query.set(SQLIdentifier(attribute.columnName), to: bind(value, as: attribute.column))
            any = true
        }
        if any { try await query.run() }
    }

    static func delete(_ kind: ResourceKind, id: String, db: any SQLDatabase) async throws {
        try await db.delete(from: kind.table).where("id", .equal, id).run()
        if kind.hasTags {
            try await db.delete(from: "tags").where("resource_type", .equal, kind.member).where("resource_id", .equal, id).run()
        }
    }

    /// Rows of `kind` matching `condition` (SQL after WHERE), in `order`, at most `limit`.
    /// Each row comes back as one JSON object built by the database, which decodes far
    /// faster than one Decodable call per column.
    static func select(
        _ kind: ResourceKind, where condition: SQLQueryString? = nil, order: SQLQueryString? = nil, limit: Int? = nil,
        db: any SQLDatabase
    ) async throws -> [Record] {
        var query: SQLQueryString = "SELECT \(unsafeRaw: rowObject(kind, dialect: db.dialect.name)) AS r FROM \(ident: kind.table)"
        if let condition { query = query + " WHERE " + condition }
        if let order { query = query + " ORDER BY " + order }
        if let limit { query = query + " LIMIT \(unsafeRaw: String(limit))" }
        return try await db.raw(query).all().map { try decode(JSON.parse(try $0.decode(column: "r", as: String.self)), kind: kind) }
    }

    static func get(_ kind: ResourceKind, id: String, db: any SQLDatabase) async throws -> Record? {
        try await select(kind, where: "id = \(bind: id)", db: db).first
    }

    /// `json_object('col', "col", ...)` (SQLite) or `json_build_object(...)::text` (PostgreSQL).
    static func rowObject(_ kind: ResourceKind, dialect: String) -> String {
        let pairs = kind.columns.map { "'\($0.columnName)', \"\($0.columnName)\"" }.joined(separator: ", ")
        return dialect == "sqlite" ? "json_object(\(pairs))" : "json_build_object(\(pairs))::text"
    }

    /// The record in a row object: SQLite's 0/1 booleans become booleans, JSON columns are parsed.
    static func decode(_ row: JSON, kind: ResourceKind) -> Record {
        var record: Record = [:]
        record.reserveCapacity(kind.attributes.count + 4)
        for attribute in kind.columns {
            let value = row[attribute.columnName] ?? .null
            switch (attribute.column, value) {
            case (.bool, .int(let n)): record[attribute.name] = .bool(n != 0)
            case (.json, .string(let text)): record[attribute.name] = (try? JSON.parse(text)) ?? .null
            default: record[attribute.name] = value
            }
        }
        return record
    }

    static func count(_ kind: ResourceKind, where condition: SQLQueryString, db: any SQLDatabase) async throws -> Int {
        let row = try await db.raw("SELECT COUNT(*) AS n FROM \(ident: kind.table) WHERE " + condition).first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    static func exists(_ kind: ResourceKind, where condition: SQLQueryString, db: any SQLDatabase) async throws -> Bool {
        try await db.raw("SELECT 1 AS one FROM \(ident: kind.table) WHERE " + condition + " LIMIT 1").first() != nil
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
