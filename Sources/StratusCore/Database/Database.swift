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
/// access is serialized, which keeps transactions isolated without SQLITE_BUSY retries.
/// PostgreSQL gets a connection pool and sessions per transaction.
public final class Database: Sendable {
    public enum Kind: Sendable { case sqlite, postgres }

    public let kind: Kind
    private let backend: Backend
    private let logger: Logger
    private let gate = AsyncGate()

    private enum Backend: @unchecked Sendable {  // the pool is thread-safe (it locks internally)
        case sqlite(SQLiteConnection, any SQLDatabase)
        case postgres(EventLoopGroupConnectionPool<PostgresConnectionSource>, any SQLDatabase)
    }

    /// Opens `connection`, either a `postgresql://` URL or a path to a SQLite file
    /// (`sqlite:///path`, a bare path, or `:memory:`).
    public static func open(connection: String, logger: Logger) async throws -> Database {
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
        let conn = try await SQLiteConnection.open(storage: storage, logger: logger).get()
        let db = conn.sql(queryLogLevel: nil)
        for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000",
            // Reads through a memory map instead of copying pages into SQLite's small cache.
            "PRAGMA mmap_size = 268435456"] {
            try await db.raw(SQLQueryString(pragma)).run()
        }
        return Database(kind: .sqlite, backend: .sqlite(conn, db), logger: logger)
    }

    private init(kind: Kind, backend: Backend, logger: Logger) {
        self.kind = kind
        self.backend = backend
        self.logger = logger
    }

    /// Runs `body` outside an explicit transaction (single statements, reads).
    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(_, let db):
            await gate.acquire()
            do {
                let result = try await body(db)
                await gate.release()
                return result
            } catch {
                await gate.release()
                throw error
            }
        case .postgres(_, let db):
            return try await body(db)
        }
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(_, let db):
            await gate.acquire()
            do {
                let result = try await self.inTransaction(db, body)
                await gate.release()
                return result
            } catch {
                await gate.release()
                throw error
            }
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
        case .sqlite(let conn, _):
            await logger.bestEffort("closing the database") { try await conn.close().get() }
        case .postgres(let pool, _):
            await logger.bestEffort("closing the database pool") { try await pool.shutdownAsync() }
        }
    }
}

/// A FIFO async mutex.
actor AsyncGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
