import SQLKit
import StratusCore

/// A record kept as one row of a fixed-shape table, keyed by `id`.
protocol StoredRow: Sendable {
    static var table: String { get }
    static var columns: [String] { get }
    init(row: any SQLRow) throws
    var id: String { get }
    /// Every column's value, in `columns` order.
    var values: [any Encodable & Sendable] { get }
}

extension StoredRow {
    func insert(in db: any SQLDatabase) async throws {
        try await db.insert(into: Self.table).columns(Self.columns).values(values.map { SQLBind($0) }).run()
    }

    /// Writes every column of the row back.
    func save(in db: any SQLDatabase) async throws {
        var update = db.update(Self.table)
        for (column, value) in zip(Self.columns, values) where column != "id" {
            update = update.set(column, to: SQLBind(value))
        }
        try await update.where("id", .equal, SQLBind(id)).run()
    }

    static func delete(_ id: String, in db: any SQLDatabase) async throws {
        try await db.delete(from: table).where("id", .equal, SQLBind(id)).run()
    }

    static func get(_ id: String, in db: any SQLDatabase) async throws -> Self? {
        try await select(where: "id = \(bind: id)", in: db).first
    }

    /// The row to change in this transaction: on PostgreSQL it stays locked until the
    /// transaction ends, so concurrent state changes of one record run one after another.
    static func getForUpdate(_ id: String, in db: any SQLDatabase) async throws -> Self? {
        let lock: SQLQueryString = db.dialect.name == "postgresql" ? " FOR UPDATE" : ""
        let sql: SQLQueryString = "SELECT * FROM \(ident: table) WHERE id = \(bind: id)"
        return try await db.raw(sql + lock).all().map(Self.init(row:)).first
    }

    static func select(
        where condition: SQLQueryString, order: SQLQueryString = "created_at DESC, id DESC", limit: Int? = nil,
        in db: any SQLDatabase
    ) async throws -> [Self] {
        var sql: SQLQueryString = "SELECT * FROM \(ident: table) WHERE " + condition + " ORDER BY " + order
        if let limit { sql = sql + " LIMIT \(unsafeRaw: String(limit))" }
        return try await db.raw(sql).all().map(Self.init(row:))
    }
}

/// Key-value metadata of volumes and snapshots, one row per key.
struct MetadataTable: Sendable {
    let table: String
    /// The owner's id column.
    let column: String

    /// `<owner>_metadata` keyed by `<owner>_id`.
    init(owner: String) {
        self.init(table: "\(owner)_metadata", column: "\(owner)_id")
    }

    init(table: String, column: String) {
        self.table = table
        self.column = column
    }

    func get(_ id: String, in db: any SQLDatabase) async throws -> [String: String] {
        try await get([id], in: db)[id] ?? [:]
    }

    /// The metadata of several owners at once (a list page).
    func get(_ ids: [String], in db: any SQLDatabase) async throws -> [String: [String: String]] {
        guard !ids.isEmpty else { return [:] }
        let sql: SQLQueryString =
            "SELECT \(ident: column), \(ident: "key"), value FROM \(ident: table) WHERE "
            + "\(ident: column) IN " + .list(ids)
        var result: [String: [String: String]] = [:]
        for row in try await db.raw(sql).all() {
            let owner = try row.decode(column: column, as: String.self)
            result[owner, default: [:]][try row.decode(column: "key", as: String.self)] = try row.decode(
                column: "value", as: String.self)
        }
        return result
    }

    /// Replaces the whole set.
    func replace(_ id: String, with metadata: [String: String], in db: any SQLDatabase) async throws {
        try await db.delete(from: table).where(SQLIdentifier(column), .equal, SQLBind(id)).run()
        try await merge(id, metadata, in: db)
    }

    /// Adds or overwrites the given keys.
    func merge(_ id: String, _ metadata: [String: String], in db: any SQLDatabase) async throws {
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            try await db.delete(from: table).where(SQLIdentifier(column), .equal, SQLBind(id))
                .where("key", .equal, SQLBind(key)).run()
            try await db.insert(into: table).columns(column, "key", "value")
                .values(SQLBind(id), SQLBind(key), SQLBind(value)).run()
        }
    }

    /// Removes one key; false when it was not there.
    func remove(_ id: String, key: String, in db: any SQLDatabase) async throws -> Bool {
        let row = try await db.raw(
            "DELETE FROM \(ident: table) WHERE \(ident: column) = \(bind: id) AND \(ident: "key") = \(bind: key) "
                + "RETURNING value"
        ).first()
        return row != nil
    }

    func removeAll(_ id: String, in db: any SQLDatabase) async throws {
        try await db.delete(from: table).where(SQLIdentifier(column), .equal, SQLBind(id)).run()
    }

    /// A condition: the owner row (of `ownerTable`) has every pair.
    func hasAll(_ pairs: [String: String], ownerTable: String) -> SQLQueryString {
        .all(
            pairs.sorted(by: { $0.key < $1.key }).map { key, value in
                "EXISTS (SELECT 1 FROM \(ident: table) m WHERE m.\(ident: column) = \(ident: ownerTable).id AND "
                    + "m.\(ident: "key") = \(bind: key) AND m.value = \(bind: value))"
            })
    }
}

extension Volume: StoredRow {
    static let table = "volumes"
}
