import Foundation
import SQLKit
import StratusCore

/// Keystone's resource kinds kept in their `RecordTable`: create, read, list, update,
/// delete, with Keystone's 404 and 409 answers.
extension ResourceKind {
    /// The kind's columns, and `extra` for kinds that keep unknown fields. A NULL boolean
    /// reads as false.
    var storage: RecordTable {
        var stored = columns.map { column in
            RecordColumn(column.name, column.kind.storedAs, default: column.kind == .bool ? false : nil)
        }
        if storesExtra { stored.append(RecordColumn("extra", .json, default: [:])) }
        return RecordTable(table, columns: stored)
    }

    func insert(_ record: Record, into db: any SQLDatabase) async throws {
        do {
            try await storage.insert(record, db: db)
        } catch {
            throw conflictOrRethrow(error, record: record)
        }
    }

    func fetch(id: String, from db: any SQLDatabase) async throws -> Record? {
        try await storage.get(id: id, db: db)
    }

    /// The record or a Keystone-style 404.
    func require(id: String, from db: any SQLDatabase) async throws -> Record {
        guard let record = try await fetch(id: id, from: db) else {
            throw APIError.notFound("Could not find \(singular): \(id).")
        }
        return record
    }

    /// Records whose columns equal `filters` (NULL for a null value), among `idIn` if given, by id.
    func list(from db: any SQLDatabase, filters: [(String, JSON)] = [], idIn: [String]? = nil) async throws -> [Record] {
        if let idIn, idIn.isEmpty { return [] }
        let table = storage
        var conditions = try filters.map { name, value in try table.equals(name, value) }
        if let idIn { conditions.append("id IN " + SQLQueryString.list(idIn)) }
        let condition = conditions.isEmpty ? nil : conditions.dropFirst().reduce(conditions[0]) { $0 + " AND " + $1 }
        return try await table.select(where: condition, order: "id", db: db)
    }

    func update(id: String, changes: Record, in db: any SQLDatabase) async throws {
        guard !changes.isEmpty else { return }
        do {
            try await storage.update(id: id, values: changes, db: db)
        } catch {
            throw conflictOrRethrow(error, record: changes)
        }
    }

    func delete(id: String, from db: any SQLDatabase) async throws {
        try await storage.delete(id: id, db: db)
    }

    private func conflictOrRethrow(_ error: any Error, record: Record) -> any Error {
        guard Database.isUniqueViolation(error) else { return error }
        let name = record["name"]?.stringValue.map { " with name \($0)" } ?? ""
        return APIError.conflict("Conflict occurred attempting to store \(singular) - Duplicate entry found\(name).")
    }
}

extension Column.Kind {
    var storedAs: RecordColumn.Kind {
        switch self {
        case .string: return .text
        case .bool: return .bool
        case .int: return .int
        case .timestamp: return .timestamp
        case .json: return .json
        }
    }
}
