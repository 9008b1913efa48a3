import Foundation
import Logging
import SQLKit
import StratusTestSupport
import XCTest

@testable import StratusCore

/// The record engine on SQLite, and on PostgreSQL when the test run has one.
final class RecordTableTests: XCTestCase {
    static let table = RecordTable("widgets", columns: [
        RecordColumn("id", .text), RecordColumn("name", .text),
        RecordColumn("router:external", .bool, column: "router_external"),
        RecordColumn("size", .int), RecordColumn("ratio", .double), RecordColumn("tags", .json),
        RecordColumn("expires_at", .timestamp), RecordColumn("enabled", .bool, default: false),
    ])

    func withDatabase(_ body: (Database) async throws -> Void) async throws {
        let postgres = try await PostgresTestDatabase.make()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("records-\(UUID().uuidString).db").path
        let db = try await Database.open(connection: postgres?.url ?? path, logger: Logger(label: "test"))
        for statement in Self.table.createStatements(indexes: [["router:external"]]) {
            try await db.read { sql in try await sql.raw(SQLQueryString(statement)).run() }
        }
        do {
            try await body(db)
        } catch {
            await db.close()
            throw error
        }
        await db.close()
        try await postgres?.drop()
        try? FileManager.default.removeItem(atPath: path)
    }

    func testRecordsRoundTripWithTheirKinds() async throws {
        let table = Self.table
        try await withDatabase { db in
            let record: Record = [
                "id": "w1", "name": "one", "router:external": true, "size": 3, "ratio": 1.5, "tags": ["a", ["b": 1]],
                "expires_at": "2026-12-06T07:20:00.123456Z",
            ]
            try await db.transaction { sql in try await table.insert(record, db: sql) }
            let read = try await db.read { sql in try await table.get(id: "w1", db: sql) }
            var expected = record
            expected["enabled"] = false
            XCTAssertEqual(read, expected, "booleans, JSON, microseconds and column defaults survive")

            try await db.transaction { sql in
                let values: Record = ["name": "renamed", "id": "other", "expires_at": .null]
                try await table.update(id: "w1", values: values, db: sql)
            }
            let updated = try await db.read { sql in try await table.get(id: "w1", db: sql) }
            XCTAssertEqual(updated?["name"], "renamed")
            XCTAssertEqual(updated?["expires_at"], .null)

            let external = try await db.read { sql in
                try await table.select(where: try table.equals("router:external", true), db: sql)
            }
            XCTAssertEqual(external.map(\.["id"]), ["w1"])
            let none = try await db.read { sql in
                try await table.count(where: try table.equals("name", "one"), db: sql)
            }
            XCTAssertEqual(none, 0)
            XCTAssertThrowsError(try table.equals("colour", "red"), "an attribute the table does not keep")
        }
    }
}
