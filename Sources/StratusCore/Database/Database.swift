import Foundation
import Logging
import NIOCore
import NIOPosix
@preconcurrency import PostgresKit
import SQLKit
import SQLiteKit

/// A service's database: one SQLite file (all-in-one) or one PostgreSQL database (split mode).
///
/// SQLite allows a single writer, so it gets one connection behind an async gate; every
/// access through it is serialized, which keeps transactions isolated without SQLITE_BUSY
/// retries. A file database also gets read-only connections for `snapshot` reads, which WAL
/// lets run beside the writer. PostgreSQL gets a connection pool and sessions per transaction.
public final class Database: Sendable {
    public enum Kind: Sendable { case sqlite, postgres }

    public let kind: Kind
    private let backend: Backend
    private let logger: Logger
    private let gate = SlotPool(count: 1)
    private let readerSlots: SlotPool

    private enum Backend: @unchecked Sendable {  // the pool is thread-safe (it locks internally)
        case sqlite(SQLiteConnection, any SQLDatabase, readers: [(SQLiteConnection, any SQLDatabase)])
        case postgres(EventLoopGroupConnectionPool<PostgresConnectionSource>, any SQLDatabase)
    }

    /// Opens `connection`, either a `postgresql://` URL or a path to a SQLite file
    /// (`sqlite:///path`, a bare path, or `:memory:`); a SQLite file gets `readers` read-only
    /// connections for `snapshot`.
    public static func open(connection: String, readers readerCount: Int = 0, logger: Logger) async throws -> Database {
        if connection.hasPrefix("postgres") {
            let url = connection.replacingOccurrences(of: "postgresql+psycopg2://", with: "postgres://")
                .replacingOccurrences(of: "postgresql://", with: "postgres://")
            let config = try SQLPostgresConfiguration(url: url)
            let pool = EventLoopGroupConnectionPool(
                source: PostgresConnectionSource(sqlConfiguration: config),
                maxConnectionsPerEventLoop: 4,
                logger: logger,
                on: MultiThreadedEventLoopGroup.singleton
            )
            let db = pool.database(logger: logger).sql()
            return Database(kind: .postgres, backend: .postgres(pool, db), logger: logger)
        }
        var path = connection
        if path.hasPrefix("sqlite://") { path = String(path.dropFirst("sqlite://".count)) }
        let storage: SQLiteConnection.Storage = path == ":memory:" ? .memory : .file(path: path)
        let writerPragmas = ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON"]
        let (conn, db) = try await openSQLite(storage, pragmas: writerPragmas, threads: .singleton, logger: logger)
        var readers: [(SQLiteConnection, any SQLDatabase)] = []
        if case .file = storage {
            for _ in 0..<readerCount {
                let reader = try await openSQLite(
                    storage, pragmas: ["PRAGMA query_only = ON"], threads: readerThreads, logger: logger)
                readers.append(reader)
            }
        }
        let backend = Backend.sqlite(conn, db, readers: readers)
        return Database(kind: .sqlite, backend: backend, readers: readers.count, logger: logger)
    }

    /// The threads snapshot reads block on: not the writers', so that writes never queue
    /// behind long reads.
    private static let readerThreads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    private static func openSQLite(
        _ storage: SQLiteConnection.Storage, pragmas: [String], threads: NIOThreadPool, logger: Logger
    ) async throws -> (SQLiteConnection, any SQLDatabase) {
        let conn = try await SQLiteConnection.open(
            storage: storage, threadPool: threads, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any()
        ).get()
        let db = conn.sql(queryLogLevel: nil)
        // Reads go through a memory map instead of copying pages into SQLite's small cache.
        for pragma in pragmas + ["PRAGMA busy_timeout = 5000", "PRAGMA mmap_size = 268435456"] {
            try await db.raw(SQLQueryString(pragma)).run()
        }
        return (conn, db)
    }

    private init(kind: Kind, backend: Backend, readers: Int = 0, logger: Logger) {
        self.kind = kind
        self.backend = backend
        self.readerSlots = SlotPool(count: readers)
        self.logger = logger
    }

    /// Runs `body`, which only reads (SELECTs), on a read-only connection of a SQLite file, so
    /// that it neither waits for the writer nor holds it up; it sees every committed write.
    /// Elsewhere (PostgreSQL, an in-memory SQLite) it is `read`.
    public func snapshot<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard case .sqlite(_, _, let readers) = backend, !readers.isEmpty else { return try await read(body) }
        return try await readerSlots.holding { slot in try await body(readers[slot].1) }
    }

    /// Runs `body` outside an explicit transaction (single statements, reads).
    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(_, let db, _):
            return try await gate.holding { _ in try await body(db) }
        case .postgres(_, let db):
            return try await body(db)
        }
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(_, let db, _):
            return try await gate.holding { _ in try await self.inTransaction(db, body) }
        case .postgres(_, let db):
            return try await db.withSession { session in try await self.inTransaction(session, body) }
        }
    }

    private func inTransaction<T: Sendable>(
        _ db: any SQLDatabase, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await db.raw("BEGIN").run()
        do {
            let result = try await body(db)
            try await db.raw("COMMIT").run()
            return result
        } catch {
            await logger.bestEffort("rolling back after \(error)") { try await db.raw("ROLLBACK").run() }
            throw error
        }
    }

    /// Whether `error` is a unique-constraint violation (on SQLite or PostgreSQL).
    public static func isUniqueViolation(_ error: any Error) -> Bool {
        // PostgreSQL errors only show their details when reflected (sqlState 23505 is unique_violation).
        let text = String(reflecting: error).lowercased()
        return text.contains("unique") || text.contains("duplicate key") || text.contains("23505")
    }

    /// Runs `body` in a transaction, again (up to `attempts` times) when it loses a race on
    /// a unique constraint: concurrent allocations of one address or id retry with the
    /// winner's row visible.
    public func transactionRetryingConflicts<T: Sendable>(
        attempts: Int = 25, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await transaction(body)
            } catch where attempt < attempts && Self.isUniqueViolation(error) {
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
            }
        }
    }

    /// Serializes transactions that take the same `key` until they end: an advisory lock on
    /// PostgreSQL; on SQLite every transaction already runs alone.
    public func lock(_ key: String, in db: any SQLDatabase) async throws {
        guard kind == .postgres else { return }
        try await db.raw("SELECT pg_advisory_xact_lock(hashtext(\(bind: key)))").run()
    }

    public func close() async {
        switch backend {
        case .sqlite(let conn, _, let readers):
            for (reader, _) in readers {
                await logger.bestEffort("closing a database reader") { try await reader.close().get() }
            }
            await logger.bestEffort("closing the database") { try await conn.close().get() }
        case .postgres(let pool, _):
            await logger.bestEffort("closing the database pool") { try await pool.shutdownAsync() }
        }
    }
}

/// `count` slots handed out first come, first served (one slot: an async mutex).
actor SlotPool {
    private var idle: [Int]
    private var waiters: [CheckedContinuation<Int, Never>] = []

    init(count: Int) { idle = Array(0..<count) }

    func acquire() async -> Int {
        if let slot = idle.popLast() { return slot }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func release(_ slot: Int) {
        if waiters.isEmpty {
            idle.append(slot)
        } else {
            waiters.removeFirst().resume(returning: slot)
        }
    }

    /// Runs `body` with a slot, given back however `body` ends.
    nonisolated func holding<T: Sendable>(_ body: (Int) async throws -> T) async throws -> T {
        let slot = await acquire()
        do {
            let result = try await body(slot)
            await release(slot)
            return result
        } catch {
            await release(slot)
            throw error
        }
    }
}
