import Foundation
import SQLKit
import StratusCore

/// Generic row storage for resource kinds: the SQL for create, read, list, update, delete.
extension ResourceKind {
    func insert(_ record: Record, into db: any SQLDatabase) async throws {
        var names: [String] = []
        var values: [any SQLExpression] = []
        for column in columns {
            names.append(column.name)
            values.append(Self.bind(record[column.name] ?? .null, column.kind))
        }
        if storesExtra {
            names.append("extra")
            values.append(SQLBind((record["extra"] ?? [:]).serialized()))
        }
        do {
            try await db.insert(into: table).columns(names).values(values).run()
        } catch {
            throw conflictOrRethrow(error, record: record)
        }
    }

    func fetch(id: String, from db: any SQLDatabase) async throws -> Record? {
        try await db.select().column("*").from(table).where("id", .equal, SQLBind(id)).first().map(decode)
    }

    /// The record or a Keystone-style 404.
    func require(id: String, from db: any SQLDatabase) async throws -> Record {
        guard let record = try await fetch(id: id, from: db) else {
            throw APIError.notFound("Could not find \(singular): \(id).")
        }
        return record
    }

    func list(from db: any SQLDatabase, filters: [(String, JSON)] = [], idIn: [String]? = nil) async throws -> [Record] {
        if let idIn, idIn.isEmpty { return [] }
        var query = db.select().column("*").from(table)
        for (name, value) in filters {
            if value.isNull {
                query = query.where(SQLIdentifier(name), .is, SQLLiteral.null)
            } else {
                query = query.where(SQLIdentifier(name), .equal, Self.bind(value, column(name)?.kind ?? .string))
            }
        }
        if let idIn { query = query.where("id", .in, SQLBind.group(idIn)) }
        return try await query.orderBy("id").all().map(decode)
    }

    func update(id: String, changes: Record, in db: any SQLDatabase) async throws {
        guard !changes.isEmpty else { return }
        var query = db.update(table).where("id", .equal, SQLBind(id))
        for (name, value) in changes {
            if name == "extra" {
                query = query.set(SQLIdentifier("extra"), to: SQLBind(value.serialized()))
            } else if let column = column(name) {
                query = query.set(SQLIdentifier(name), to: Self.bind(value, column.kind))
            }
        }
        do {
            try await query.run()
        } catch {
            throw conflictOrRethrow(error, record: changes)
        }
    }

    func delete(id: String, from db: any SQLDatabase) async throws {
        try await db.delete(from: table).where("id", .equal, SQLBind(id)).run()
    }

    func decode(_ row: any SQLRow) throws -> Record {
        var record: Record = [:]
        for column in columns {
            switch column.kind {
            case .string:
                record[column.name] = JSON(try row.decode(column: column.name, as: String?.self))
            case .bool:
                record[column.name] = .bool(try row.decode(column: column.name, as: Bool?.self) ?? false)
            case .int:
                record[column.name] = JSON(try row.decode(column: column.name, as: Int?.self))
            case .timestamp:
                record[column.name] = JSON(try row.decode(column: column.name, as: Double?.self).map {
                    Timestamp.iso8601(Date(timeIntervalSince1970: $0), fractional: true)
                })
            case .json:
                let text = try row.decode(column: column.name, as: String?.self)
                record[column.name] = try text.map { try JSON.parse($0) } ?? .null
            }
        }
        if storesExtra, let text = try row.decode(column: "extra", as: String?.self) {
            record["extra"] = (try? JSON.parse(text)) ?? [:]
        }
        return record
    }

    static func bind(_ value: JSON, _ kind: Column.Kind) -> any SQLExpression {
        switch (kind, value) {
        case (_, .null): return SQLLiteral.null
        case (.timestamp, .string(let s)): return SQLBind(Timestamp.parse(s)?.timeIntervalSince1970)
        case (.timestamp, .double(let d)): return SQLBind(d)
        case (.json, _): return SQLBind(value.serialized())
        case (_, .string(let s)): return SQLBind(s)
        case (_, .bool(let b)): return SQLBind(b)
        case (_, .int(let i)): return SQLBind(i)
        case (_, .double(let d)): return SQLBind(d)
        default: return SQLBind(value.serialized())
        }
    }

    private func conflictOrRethrow(_ error: any Error, record: Record) -> any Error {
        guard Database.isUniqueViolation(error) else { return error }
        let name = record["name"]?.stringValue.map { " with name \($0)" } ?? ""
        return APIError.conflict("Conflict occurred attempting to store \(singular) - Duplicate entry found\(name).")
    }
}
