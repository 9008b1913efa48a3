import Foundation
import SQLKit
import StratusCore

/// An account as its HEAD shows it.
public struct AccountInfo: Sendable, Equatable {
    public var name: String
    public var createdAt: String
    /// Kept headers by lower-cased name (`x-account-meta-*`, `x-account-access-control` ...).
    public var metadata: [String: String]
    public var containerCount: Int64
    public var objectCount: Int64
    public var bytesUsed: Int64
}

public struct ContainerInfo: Sendable, Equatable {
    public var account: String
    public var name: String
    public var createdAt: String
    public var modifiedAt: String
    /// Kept headers by lower-cased name (`x-container-meta-*`, `x-container-read` ...).
    public var metadata: [String: String]
    public var policy: String
    public var objectCount: Int64
    public var bytesUsed: Int64
}

/// A container's row for one object.
public struct ObjectEntry: Sendable, Equatable {
    public var name: String
    public var timestamp: String
    public var size: Int64
    public var contentType: String
    public var etag: String
    /// When the expirer removes the object (seconds since 1970).
    public var deleteAt: Double?
    /// A symlink's target, `/v1/<account>/<container>/<object>`.
    public var symlink: String?

    public init(
        name: String, timestamp: String, size: Int64, contentType: String, etag: String, deleteAt: Double? = nil,
        symlink: String? = nil
    ) {
        self.name = name
        self.timestamp = timestamp
        self.size = size
        self.contentType = contentType
        self.etag = etag
        self.deleteAt = deleteAt
        self.symlink = symlink
    }
}

public enum ListingItem<Entry: Sendable>: Sendable {
    case entry(Entry)
    /// A pseudo-directory: the names up to and including the delimiter.
    case subdir(String)
}

public enum ListingStoreError: Error, Equatable {
    case containerNotFound
    case containerNotEmpty
}

/// The account and container listings of Object Storage, in the service's database. Object
/// bytes live on the ring's devices; a row is written once the object is durable there.
public struct ListingStore: Sendable {
    let db: Database

    public init(db: Database) { self.db = db }

    // MARK: accounts

    public func account(_ name: String) async throws -> AccountInfo? {
        try await db.snapshot { db in try await Self.account(name, in: db) }
    }

    static func account(_ name: String, in db: any SQLDatabase) async throws -> AccountInfo? {
        let sql: SQLQueryString = "SELECT * FROM os_accounts WHERE name = \(bind: name)"
        guard let row = try await db.raw(sql).first() else { return nil }
        return AccountInfo(
            name: name, createdAt: try row.decode(column: "created_at", as: String.self),
            metadata: try Self.metadata(row),
            containerCount: try row.decode(column: "container_count", as: Int64.self),
            objectCount: try row.decode(column: "object_count", as: Int64.self),
            bytesUsed: try row.decode(column: "bytes_used", as: Int64.self))
    }

    /// Creates the account on first use (Swift's `account_autocreate`).
    static func ensureAccount(_ name: String, in db: any SQLDatabase) async throws {
        let sql: SQLQueryString = """
            INSERT INTO os_accounts (name, created_at, metadata, container_count, object_count, bytes_used)
            VALUES (\(bind: name), \(bind: SwiftTimestamp.now()), '{}', 0, 0, 0) ON CONFLICT (name) DO NOTHING
            """
        try await db.raw(sql).run()
    }

    /// Applies metadata changes (a nil or empty value removes the header).
    public func updateAccount(_ name: String, changes: [String: String?]) async throws {
        try await db.transaction { db in
            try await Self.ensureAccount(name, in: db)
            let current = try await Self.account(name, in: db)?.metadata ?? [:]
            let sql: SQLQueryString = """
                UPDATE os_accounts SET metadata = \(bind: try Self.encode(Self.merge(current, changes)))
                WHERE name = \(bind: name)
                """
            try await db.raw(sql).run()
        }
    }

    public func listContainers(_ account: String, _ query: ListingQuery) async throws -> [ListingItem<ContainerInfo>] {
        try await db.snapshot { db in
            // Names below U+0002 are the service's own (versions containers): never listed.
            try await Self.list(
                table: "os_containers", scope: "account = \(bind: account) AND name >= \(bind: "\u{2}")", query: query,
                in: db
            ) { row in try Self.container(row) }
        }
    }

    // MARK: containers

    public func container(_ account: String, _ name: String) async throws -> ContainerInfo? {
        try await db.snapshot { db in try await Self.container(account, name, in: db) }
    }

    static func container(
        _ account: String, _ name: String, forUpdate: Bool = false, in db: any SQLDatabase
    ) async throws -> ContainerInfo? {
        var sql: SQLQueryString =
            "SELECT * FROM os_containers WHERE account = \(bind: account) AND name = \(bind: name)"
        if forUpdate && db.dialect.name == "postgresql" { sql = sql + " FOR UPDATE" }
        return try await db.raw(sql).first().map(Self.container)
    }

    /// Creates the container, or merges `metadata` into the existing one; true when created.
    public func putContainer(
        _ account: String, _ name: String, metadata: [String: String?], policy: String
    ) async throws -> Bool {
        try await db.transaction { db in
            try await Self.ensureAccount(account, in: db)
            if let existing = try await Self.container(account, name, forUpdate: true, in: db) {
                try await Self.saveMetadata(existing, Self.merge(existing.metadata, metadata), in: db)
                return false
            }
            let now = SwiftTimestamp.now()
            let sql: SQLQueryString = """
                INSERT INTO os_containers (account, name, created_at, modified_at, metadata, policy, object_count,
                bytes_used) VALUES (\(bind: account), \(bind: name), \(bind: now), \(bind: now),
                \(bind: try Self.encode(Self.merge([:], metadata))), \(bind: policy), 0, 0)
                """
            try await db.raw(sql).run()
            try await db.raw(
                "UPDATE os_accounts SET container_count = container_count + 1 WHERE name = \(bind: account)"
            ).run()
            return true
        }
    }

    /// Applies metadata changes; false when there is no such container.
    public func updateContainer(_ account: String, _ name: String, changes: [String: String?]) async throws -> Bool {
        try await db.transaction { db in
            guard let existing = try await Self.container(account, name, forUpdate: true, in: db) else { return false }
            try await Self.saveMetadata(existing, Self.merge(existing.metadata, changes), in: db)
            return true
        }
    }

    public func deleteContainer(_ account: String, _ name: String) async throws {
        try await db.transaction { db in
            guard let existing = try await Self.container(account, name, forUpdate: true, in: db) else {
                throw ListingStoreError.containerNotFound
            }
            let any: SQLQueryString = """
                SELECT name FROM os_objects WHERE account = \(bind: account) AND container = \(bind: name) LIMIT 1
                """
            guard existing.objectCount == 0, try await db.raw(any).first() == nil else {
                throw ListingStoreError.containerNotEmpty
            }
            try await db.raw("DELETE FROM os_containers WHERE account = \(bind: account) AND name = \(bind: name)")
                .run()
            try await db.raw(
                "UPDATE os_accounts SET container_count = container_count - 1 WHERE name = \(bind: account)"
            ).run()
        }
    }

    public func listObjects(
        _ account: String, _ container: String, _ query: ListingQuery
    ) async throws -> [ListingItem<ObjectEntry>] {
        try await db.snapshot { db in
            // Expired objects answer 404 at once, so listings leave them out before the expirer runs.
            let now = Date().timeIntervalSince1970
            let scope: SQLQueryString = """
                account = \(bind: account) AND container = \(bind: container)
                AND (delete_at IS NULL OR delete_at > \(bind: now))
                """
            return try await Self.list(
                table: "os_objects", scope: scope, query: query, in: db
            ) { row in try Self.object(row) }
        }
    }

    // MARK: objects

    public func object(_ account: String, _ container: String, _ name: String) async throws -> ObjectEntry? {
        try await db.snapshot { db in
            let sql: SQLQueryString = """
                SELECT * FROM os_objects WHERE account = \(bind: account) AND container = \(bind: container)
                AND name = \(bind: name)
                """
            return try await db.raw(sql).first().map(Self.object)
        }
    }

    /// The sizes of the named objects of a container (those listed).
    public func sizes(_ account: String, _ container: String, names: [String]) async throws -> [String: Int64] {
        try await db.snapshot { db in
            let sql: SQLQueryString = """
                SELECT name, size FROM os_objects WHERE account = \(bind: account) AND container = \(bind: container)
                AND name IN (\(binds: names))
                """
            var sizes: [String: Int64] = [:]
            for row in try await db.raw(sql).all() {
                sizes[try row.decode(column: "name", as: String.self)] = try row.decode(column: "size", as: Int64.self)
            }
            return sizes
        }
    }

    /// Lists a durable object, unless a newer write of the same name is listed already.
    public func recordObject(_ account: String, _ container: String, _ entry: ObjectEntry) async throws {
        try await db.transaction { db in
            guard try await Self.container(account, container, forUpdate: true, in: db) != nil else { return }
            let old = try await Self.objectRow(account, container, entry.name, in: db)
            if let old, old.timestamp >= entry.timestamp { return }
            let sql: SQLQueryString = """
                INSERT INTO os_objects (account, container, name, timestamp, size, content_type, etag, delete_at,
                symlink) VALUES (\(bind: account), \(bind: container), \(bind: entry.name), \(bind: entry.timestamp),
                \(bind: entry.size), \(bind: entry.contentType), \(bind: entry.etag), \(bind: entry.deleteAt),
                \(bind: entry.symlink))
                ON CONFLICT (account, container, name) DO UPDATE SET timestamp = excluded.timestamp,
                size = excluded.size, content_type = excluded.content_type, etag = excluded.etag,
                delete_at = excluded.delete_at, symlink = excluded.symlink
                """
            try await db.raw(sql).run()
            try await Self.count(
                account, container, objects: old == nil ? 1 : 0, bytes: entry.size - (old?.size ?? 0), in: db)
        }
    }

    /// Unlists an object deleted at `timestamp` (not a newer write of the same name).
    public func removeObject(_ account: String, _ container: String, _ name: String, timestamp: String) async throws {
        try await db.transaction { db in
            guard try await Self.container(account, container, forUpdate: true, in: db) != nil,
                let old = try await Self.objectRow(account, container, name, in: db), old.timestamp < timestamp
            else { return }
            let sql: SQLQueryString = """
                DELETE FROM os_objects WHERE account = \(bind: account) AND container = \(bind: container)
                AND name = \(bind: name)
                """
            try await db.raw(sql).run()
            try await Self.count(account, container, objects: -1, bytes: -old.size, in: db)
        }
    }

    /// A POST's changes to a listed object: its type and expiry.
    public func updateObject(
        _ account: String, _ container: String, _ name: String, contentType: String, deleteAt: Double?
    ) async throws {
        try await db.transaction { db in
            let sql: SQLQueryString = """
                UPDATE os_objects SET content_type = \(bind: contentType), delete_at = \(bind: deleteAt)
                WHERE account = \(bind: account) AND container = \(bind: container) AND name = \(bind: name)
                """
            try await db.raw(sql).run()
        }
    }

    /// Objects whose `X-Delete-At` has passed, oldest first (of one container, when given).
    public func expired(
        before time: Double, in scope: (account: String, container: String)? = nil, limit: Int
    ) async throws -> [(account: String, container: String, entry: ObjectEntry)] {
        try await db.snapshot { db in
            var sql: SQLQueryString =
                "SELECT * FROM os_objects WHERE delete_at IS NOT NULL AND delete_at <= \(bind: time)"
            if let scope {
                sql = sql + " AND account = \(bind: scope.account) AND container = \(bind: scope.container)"
            }
            sql = sql + " ORDER BY delete_at LIMIT \(unsafeRaw: String(limit))"
            return try await db.raw(sql).all().map { row in
                (
                    try row.decode(column: "account", as: String.self),
                    try row.decode(column: "container", as: String.self), try Self.object(row)
                )
            }
        }
    }

    static func objectRow(
        _ account: String, _ container: String, _ name: String, in db: any SQLDatabase
    ) async throws -> ObjectEntry? {
        let sql: SQLQueryString = """
            SELECT * FROM os_objects WHERE account = \(bind: account) AND container = \(bind: container)
            AND name = \(bind: name)
            """
        return try await db.raw(sql).first().map(Self.object)
    }

    static func count(
        _ account: String, _ container: String, objects: Int64, bytes: Int64, in db: any SQLDatabase
    ) async throws {
        try await db.raw(
            """
            UPDATE os_containers SET object_count = object_count + \(bind: objects),
            bytes_used = bytes_used + \(bind: bytes) WHERE account = \(bind: account) AND name = \(bind: container)
            """
        ).run()
        try await db.raw(
            """
            UPDATE os_accounts SET object_count = object_count + \(bind: objects),
            bytes_used = bytes_used + \(bind: bytes) WHERE name = \(bind: account)
            """
        ).run()
    }

    // MARK: rows

    static func container(_ row: any SQLRow) throws -> ContainerInfo {
        ContainerInfo(
            account: try row.decode(column: "account", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            modifiedAt: try row.decode(column: "modified_at", as: String.self), metadata: try metadata(row),
            policy: try row.decode(column: "policy", as: String.self),
            objectCount: try row.decode(column: "object_count", as: Int64.self),
            bytesUsed: try row.decode(column: "bytes_used", as: Int64.self))
    }

    static func object(_ row: any SQLRow) throws -> ObjectEntry {
        ObjectEntry(
            name: try row.decode(column: "name", as: String.self),
            timestamp: try row.decode(column: "timestamp", as: String.self),
            size: try row.decode(column: "size", as: Int64.self),
            contentType: try row.decode(column: "content_type", as: String.self),
            etag: try row.decode(column: "etag", as: String.self),
            deleteAt: try row.decode(column: "delete_at", as: Double?.self),
            symlink: try row.decode(column: "symlink", as: String?.self))
    }

    static func metadata(_ row: any SQLRow) throws -> [String: String] {
        let text = try row.decode(column: "metadata", as: String.self)
        return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }

    static func encode(_ metadata: [String: String]) throws -> String {
        String(decoding: try JSONEncoder().encode(metadata), as: UTF8.self)
    }

    static func merge(_ current: [String: String], _ changes: [String: String?]) -> [String: String] {
        var merged = current
        for (key, value) in changes {
            if let value, !value.isEmpty { merged[key.lowercased()] = value } else { merged[key.lowercased()] = nil }
        }
        return merged
    }

    static func saveMetadata(
        _ container: ContainerInfo, _ metadata: [String: String], in db: any SQLDatabase
    ) async throws {
        let sql: SQLQueryString = """
            UPDATE os_containers SET metadata = \(bind: try encode(metadata)),
            modified_at = \(bind: SwiftTimestamp.now())
            WHERE account = \(bind: container.account) AND name = \(bind: container.name)
            """
        try await db.raw(sql).run()
    }
}
