import Foundation
import Logging
import SQLKit
import StratusCore

/// A throwaway PostgreSQL database per test, when STRATUS_TEST_POSTGRES_URL names a server
/// whose user may create databases (scripts/test.sh runs the service tests that way too).
public struct PostgresTestDatabase: Sendable {
    public let name: String
    public let url: String

    static var adminURL: String? {
        ProcessInfo.processInfo.environment["STRATUS_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A fresh database, or nil when the tests run on SQLite.
    public static func make() async throws -> PostgresTestDatabase? {
        guard let admin = adminURL, let slash = admin.lastIndex(of: "/") else { return nil }
        let name = "stratus_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let db = try await Database.open(connection: admin, logger: Logger(label: "test"))
        try await db.read { sql in try await sql.raw(SQLQueryString("CREATE DATABASE \(unsafeRaw: name)")).run() }
        await db.close()
        return PostgresTestDatabase(name: name, url: String(admin[...slash]) + name)
    }

    public func drop() async throws {
        guard let admin = Self.adminURL else { return }
        let db = try await Database.open(connection: admin, logger: Logger(label: "test"))
        try await db.read { sql in try await sql.raw(SQLQueryString("DROP DATABASE IF EXISTS \(unsafeRaw: name)")).run() }
        await db.close()
    }

    /// Runs `body` with a fresh database's URL when the tests run on PostgreSQL (nil on
    /// SQLite), and drops the database after, whether `body` throws or not.
    public static func with<T>(_ body: (String?) async throws -> T) async throws -> T {
        let database = try await make()
        let result: T
        do {
            result = try await body(database?.url)
        } catch {
            try await database?.drop()
            throw error
        }
        try await database?.drop()
        return result
    }
}
