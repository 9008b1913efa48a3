import SQLKit
import StratusCore

/// The listing schema: accounts, their containers and the containers' objects, as Swift's
/// account and container databases hold them. Names sort by code point (PostgreSQL's "C"
/// collation), so marker, prefix and delimiter listings are index range scans.
enum ObjectStorageMigrations {
    static let all: [Migration] = [
        Migration(1, "accounts, containers, objects") { db in
            let name = db.dialect.name == "postgresql" ? "TEXT COLLATE \"C\" NOT NULL" : "TEXT NOT NULL"
            let statements = [
                """
                CREATE TABLE os_accounts (name \(name) PRIMARY KEY, created_at TEXT NOT NULL, metadata TEXT NOT NULL,
                container_count BIGINT NOT NULL, object_count BIGINT NOT NULL, bytes_used BIGINT NOT NULL)
                """,
                """
                CREATE TABLE os_containers (account \(name), name \(name), created_at TEXT NOT NULL,
                modified_at TEXT NOT NULL, metadata TEXT NOT NULL, policy TEXT NOT NULL,
                object_count BIGINT NOT NULL, bytes_used BIGINT NOT NULL, PRIMARY KEY (account, name))
                """,
                """
                CREATE TABLE os_objects (account \(name), container \(name), name \(name), timestamp TEXT NOT NULL,
                size BIGINT NOT NULL, content_type TEXT NOT NULL, etag TEXT NOT NULL, delete_at DOUBLE PRECISION,
                PRIMARY KEY (account, container, name))
                """,
                "CREATE INDEX os_objects_delete_at ON os_objects (delete_at)",
            ]
            for statement in statements { try await db.raw(SQLQueryString(statement)).run() }
        },
        Migration(2, "symlink targets in listings") { db in
            try await db.raw("ALTER TABLE os_objects ADD COLUMN symlink TEXT").run()
        },
    ]
}
