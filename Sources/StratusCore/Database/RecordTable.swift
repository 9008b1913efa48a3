import Foundation
import SQLKit
import Synchronization

/// A stored resource as its API shows it: attribute name to value. Services whose
/// resources are attribute maps (Identity, Network) keep them through `RecordTable`.
public typealias Record = [String: JSON]

/// One column of a record table: the attribute it holds, its SQL name and type.
public struct RecordColumn: Sendable {
    public enum Kind: Sendable {
        case text, bool, int, double
        /// Lists and maps, as JSON text.
        case json
        /// Seconds since 1970 in the table, an ISO 8601 string (with microseconds) in the record.
        case timestamp
    }

    public let attribute: String
    public let name: String
    public let kind: Kind
    /// What a record holds for the attribute when the column is NULL (and what a record
    /// without it stores).
    public let defaultValue: JSON?

    public init(_ attribute: String, _ kind: Kind, column: String? = nil, default defaultValue: JSON? = nil) {
        self.attribute = attribute
        self.name = column ?? attribute
        self.kind = kind
        self.defaultValue = defaultValue
    }

    var sqlType: String {
        switch self.kind {
        case .text, .json: return "TEXT"
        case .bool: return "BOOLEAN"
        case .int: return "BIGINT"
        case .double, .timestamp: return "DOUBLE PRECISION"
        }
    }
}

/// Rows of one table read and written as records, one column per attribute. Reads build
/// each row as one JSON object in the database, which decodes far faster than one
/// Decodable call per column.
public struct RecordTable: Sendable {
    public let name: String
    public let columns: [RecordColumn]

    public init(_ name: String, columns: [RecordColumn]) {
        self.name = name
        self.columns = columns
    }

    /// `CREATE TABLE` with `id` as the primary key, and an index per column list.
    public func createStatements(indexes: [[String]] = []) -> [String] {
        var definitions = ["\"id\" VARCHAR(64) PRIMARY KEY"]
        for column in columns where column.name != "id" { definitions.append("\"\(column.name)\" \(column.sqlType)") }
        var statements = ["CREATE TABLE \"\(name)\" (\(definitions.joined(separator: ", ")))"]
        for index in indexes {
            let names = index.map { attribute in columns.first { $0.attribute == attribute }?.name ?? attribute }
            let quoted = names.map { "\"\($0)\"" }.joined(separator: ", ")
            statements.append("CREATE INDEX \"ix_\(name)_\(names.joined(separator: "_"))\" ON \"\(name)\" (\(quoted))")
        }
        return statements
    }

    public func insert(_ record: Record, db: any SQLDatabase) async throws {
        try await db.insert(into: name)
            .columns(columns.map { SQLIdentifier($0.name) })
            .values(columns.map { Self.bind(record[$0.attribute] ?? $0.defaultValue, as: $0.kind) })
            .run()
    }

    /// Sets the attributes `values` holds (never the id).
    public func update(id: String, values: Record, db: any SQLDatabase) async throws {
        var query = db.update(name).where("id", .equal, SQLBind(id))
        var changed = false
        for column in columns where column.attribute != "id" {
            guard let value = values[column.attribute] else { continue }
            query = query.set(SQLIdentifier(column.name), to: Self.bind(value, as: column.kind))
            changed = true
        }
        if changed { try await query.run() }
    }

    public func delete(id: String, db: any SQLDatabase) async throws {
        try await db.delete(from: name).where("id", .equal, SQLBind(id)).run()
    }

    /// Records matching `condition` (SQL after WHERE), in `order`, at most `limit`.
    public func select(
        where condition: SQLQueryString? = nil, order: SQLQueryString? = nil, limit: Int? = nil, db: any SQLDatabase
    ) async throws -> [Record] {
        var query: SQLQueryString = "SELECT \(unsafeRaw: rowObject(dialect: db.dialect.name)) AS r FROM \(ident: name)"
        if let condition { query = query + " WHERE " + condition }
        if let order { query = query + " ORDER BY " + order }
        if let limit { query = query + " LIMIT \(unsafeRaw: String(limit))" }
        return try await db.raw(query).all().map { try record(fromRow: try $0.decode(column: "r", as: String.self)) }
    }

    private struct RowKey: Hashable {
        let table: String
        let text: String
    }

    /// Records decoded from their rows' text, for every table, the least recently used forgotten
    /// past 16 MiB. Lists read the same unchanged rows again and again, and parsing and decoding
    /// them was a third of `GET /v3/projects`; the text is the key, so a changed row is read anew.
    private static let decoded = Mutex(LRUCache<RowKey, Record>(byteLimit: 16 << 20))

    private func record(fromRow text: String) throws -> Record {
        let key = RowKey(table: name, text: text)
        if let cached = Self.decoded.withLock({ $0.value(for: key) }) { return cached }
        let record = try decode(JSON.parse(text))
        // The text twice over (key and parsed strings) and the parsed values' own structure.
        Self.decoded.withLock { $0.set(record, for: key, cost: 3 * text.utf8.count + 256) }
        return record
    }

    public func get(id: String, db: any SQLDatabase) async throws -> Record? {
        try await select(where: "id = \(bind: id)", db: db).first
    }

    public func count(where condition: SQLQueryString, db: any SQLDatabase) async throws -> Int {
        let row = try await db.raw("SELECT COUNT(*) AS n FROM \(ident: name) WHERE " + condition).first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    public func exists(where condition: SQLQueryString, db: any SQLDatabase) async throws -> Bool {
        try await db.raw("SELECT 1 AS one FROM \(ident: name) WHERE " + condition + " LIMIT 1").first() != nil
    }

    /// `"column" = value` for an attribute (`IS NULL` for null); an attribute the table does
    /// not keep is a programming error, thrown.
    public func equals(_ attribute: String, _ value: JSON) throws -> SQLQueryString {
        guard let column = columns.first(where: { $0.attribute == attribute }) else {
            throw DatabaseError.unknownColumn(table: name, attribute: attribute)
        }
        guard !value.isNull else { return "\(ident: column.name) IS NULL" }
        switch (column.kind, value) {
        case (.json, _): return "\(ident: column.name) = \(bind: value.serialized())"
        case (.timestamp, .string(let text)):
            return "\(ident: column.name) = \(bind: Timestamp.parse(text)?.timeIntervalSince1970)"
        case (_, .string(let s)): return "\(ident: column.name) = \(bind: s)"
        case (_, .bool(let b)): return "\(ident: column.name) = \(bind: b)"
        case (_, .int(let i)): return "\(ident: column.name) = \(bind: i)"
        case (_, .double(let d)): return "\(ident: column.name) = \(bind: d)"
        default: return "\(ident: column.name) = \(bind: value.serialized())"
        }
    }

    /// The SQL value of an attribute: JSON text for lists and maps, seconds for timestamps.
    public static func bind(_ value: JSON?, as kind: RecordColumn.Kind) -> any SQLExpression {
        guard let value, !value.isNull else { return SQLLiteral.null }
        switch (kind, value) {
        case (.json, _): return SQLBind(value.serialized())
        case (.timestamp, .string(let text)): return SQLBind(Timestamp.parse(text)?.timeIntervalSince1970)
        case (.double, .int(let n)), (.timestamp, .int(let n)): return SQLBind(Double(n))
        case (_, .string(let s)): return SQLBind(s)
        case (_, .bool(let b)): return SQLBind(b)
        case (_, .int(let i)): return SQLBind(i)
        case (_, .double(let d)): return SQLBind(d)
        default: return SQLBind(value.serialized())
        }
    }

    /// `json_object('col', "col", ...)` (SQLite) or `json_build_object(...)::text` (PostgreSQL).
    /// SQLite renders reals with 15 digits, so timestamps travel as text with microseconds.
    func rowObject(dialect: String) -> String {
        let sqlite = dialect == "sqlite"
        let pairs = columns.map { column -> String in
            let quoted = "\"\(column.name)\""
            let value = sqlite && column.kind == .timestamp
                ? "CASE WHEN \(quoted) IS NULL THEN NULL ELSE printf('%.6f', \(quoted)) END" : quoted
            return "'\(column.name)', \(value)"
        }.joined(separator: ", ")
        return sqlite ? "json_object(\(pairs))" : "json_build_object(\(pairs))::text"
    }

    /// The record in a row object: SQLite's 0/1 booleans become booleans, JSON columns are
    /// parsed, timestamps formatted, NULLs take the column's default.
    func decode(_ row: JSON) throws -> Record {
        var record: Record = [:]
        record.reserveCapacity(columns.count + 4)
        for column in columns {
            let value = row[column.name] ?? .null
            switch (column.kind, value) {
            case (_, .null): record[column.attribute] = column.defaultValue ?? .null
            case (.bool, .int(let n)): record[column.attribute] = .bool(n != 0)
            case (.json, .string(let text)): record[column.attribute] = try JSON.parse(text)
            case (.timestamp, _):
                let seconds = value.numberValue ?? value.stringValue.flatMap(Double.init)
                let date = seconds.map { Date(timeIntervalSince1970: $0) }
                record[column.attribute] = JSON(date.map { Timestamp.iso8601($0, fractional: true) })
            case (.double, .int(let n)): record[column.attribute] = .double(Double(n))
            default: record[column.attribute] = value
            }
        }
        return record
    }
}

public enum DatabaseError: Error, CustomStringConvertible {
    case unknownColumn(table: String, attribute: String)

    public var description: String {
        switch self {
        case .unknownColumn(let table, let attribute): return "table \(table) keeps no attribute \(attribute)"
        }
    }
}
