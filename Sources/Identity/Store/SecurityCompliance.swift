import Foundation
import SQLKit
import StratusCore

/// Keystone's `[security_compliance]` rules: account lockout after failed logins and
/// password history. Both are off by default, as in Keystone.
struct SecurityCompliance: Sendable {
    var lockoutFailureAttempts = 0
    var lockoutDuration: TimeInterval = 1800
    var uniqueLastPasswordCount = 0

    static let migration = Migration(3, "lockout counters and password history") { db in
        try await db.create(table: "auth_failures")
            .column("user_id", type: .text, .primaryKey(autoIncrement: false))
            .column("count", type: .bigint, .notNull)
            .column("last_at", type: .double, .notNull)
            .run()
        try await db.create(table: "password_history")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("user_id", type: .text, .notNull)
            .column("hash", type: .text, .notNull)
            .column("created_at", type: .double, .notNull)
            .run()
        try await db.create(index: "password_history_user").on("password_history").column("user_id").run()
    }
}

extension IdentityStore {
    /// Whether too many recent failures lock the user out. Counters live outside the
    /// generation-tracked tables: failed logins must not flush the token caches.
    func isLockedOut(userID: String, rules: SecurityCompliance) async throws -> Bool {
        guard rules.lockoutFailureAttempts > 0 else { return false }
        let row = try await db.read { db in
            try await db.select().columns("count", "last_at").from("auth_failures").where("user_id", .equal, SQLBind(userID)).first()
        }
        guard let row, try row.decode(column: "count", as: Int.self) >= rules.lockoutFailureAttempts else { return false }
        return try row.decode(column: "last_at", as: Double.self) + rules.lockoutDuration > Date().timeIntervalSince1970
    }

    func recordAuthFailure(userID: String, rules: SecurityCompliance) async throws {
        guard rules.lockoutFailureAttempts > 0 else { return }
        try await db.transaction { db in
            let count = try await db.select().column("count").from("auth_failures").where("user_id", .equal, SQLBind(userID)).first()
                .map { try $0.decode(column: "count", as: Int.self) } ?? 0
            try await db.delete(from: "auth_failures").where("user_id", .equal, SQLBind(userID)).run()
            try await db.insert(into: "auth_failures").columns("user_id", "count", "last_at")
                .values(SQLBind(userID), SQLBind(count + 1), SQLBind(Date().timeIntervalSince1970)).run()
        }
    }

    func clearAuthFailures(userID: String, rules: SecurityCompliance) async throws {
        guard rules.lockoutFailureAttempts > 0 else { return }
        try await db.transaction { db in try await db.delete(from: "auth_failures").where("user_id", .equal, SQLBind(userID)).run() }
    }

    func recordPassword(userID: String, hash: String, in db: any SQLDatabase) async throws {
        try await db.insert(into: "password_history").columns("id", "user_id", "hash", "created_at")
            .values(SQLBind(newID()), SQLBind(userID), SQLBind(hash), SQLBind(Date().timeIntervalSince1970)).run()
    }

    /// 400 when `password` matches one of the user's last `count` passwords.
    func checkPasswordHistory(userID: String, password: String, count: Int, in db: any SQLDatabase) async throws {
        guard count > 0 else { return }
        let recent = try await db.select().column("hash").from("password_history").where("user_id", .equal, SQLBind(userID))
            .orderBy("created_at", .descending).limit(count).all().map { try $0.decode(column: "hash", as: String.self) }
        if recent.contains(where: { hasher.verify(password, against: $0) }) {
            throw APIError.badRequest(
                "The new password cannot be identical to a previous password. The number of previous passwords that must be unique is: \(count).")
        }
    }
}
