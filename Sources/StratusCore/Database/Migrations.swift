import Logging
import SQLKit

/// One schema step. Versions are applied in order, once, each in its own transaction.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let apply: @Sendable (any SQLDatabase) async throws -> Void

    public init(_ version: Int, _ name: String, apply: @escaping @Sendable (any SQLDatabase) async throws -> Void) {
        self.version = version
        self.name = name
        self.apply = apply
    }
}

extension Database {
    /// Applies the migrations newer than the recorded schema version.
    public func migrate(_ migrations: [Migration], logger: Logger) async throws {
        try await transaction { db in
            try await db.create(table: "schema_migrations").ifNotExists()
                .column("version", type: .bigint, .primaryKey(autoIncrement: false))
                .column("name", type: .text, .notNull)
                .run()
        }
        let applied = try await read { db in
            try await db.select().column("version").from("schema_migrations").all()
                .map { try $0.decode(column: "version", as: Int.self) }
        }
        let done = Set(applied)
        for migration in migrations.sorted(by: { $0.version < $1.version }) where !done.contains(migration.version) {
            logger.info("applying migration \(migration.version) \(migration.name)")
            try await transaction { db in
                try await migration.apply(db)
                try await db.insert(into: "schema_migrations")
                    .columns("version", "name")
                    .values(SQLBind(migration.version), SQLBind(migration.name))
                    .run()
            }
        }
    }
}

extension SQLDataType {
    /// A boolean column on both SQLite and PostgreSQL.
    public static var boolean: SQLDataType { .custom(SQLRaw("BOOLEAN")) }
    /// A double-precision column (epoch seconds for timestamps).
    public static var double: SQLDataType { .custom(SQLRaw("DOUBLE PRECISION")) }
}
