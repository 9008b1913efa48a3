import SQLKit
import StratusCore

/// Per-project limits on volumes, gigabytes and snapshots (Cinder's quota engine without
/// reservations: the check and the insert share one transaction).
enum Quotas {
    static let defaults: [String: Int] = [
        "volumes": 10, "gigabytes": 1000, "snapshots": 10, "backups": 10, "backup_gigabytes": 1000,
        "per_volume_gigabytes": -1, "groups": 10,
    ]

    struct Usage: Sendable {
        var volumes = 0
        var gigabytes = 0
        var snapshots = 0
    }

    /// Quota classes are kept beside projects, under this prefix (`class:default`).
    static func classKey(_ name: String) -> String { "class:\(name)" }

    /// The built-in defaults, then the `default` class's, then the project's own.
    static func limits(_ project: String, in db: any SQLDatabase) async throws -> [String: Int] {
        var limits = try await classLimits("default", in: db)
        for (resource, limit) in try await stored(project, in: db) { limits[resource] = limit }
        return limits
    }

    static func classLimits(_ name: String, in db: any SQLDatabase) async throws -> [String: Int] {
        var limits = defaults
        for (resource, limit) in try await stored(classKey("default"), in: db) { limits[resource] = limit }
        if name != "default" {
            for (resource, limit) in try await stored(classKey(name), in: db) { limits[resource] = limit }
        }
        return limits
    }

    private static func stored(_ owner: String, in db: any SQLDatabase) async throws -> [String: Int] {
        var limits: [String: Int] = [:]
        let rows = try await db.raw("SELECT resource, hard_limit FROM quotas WHERE project_id = \(bind: owner)").all()
        for row in rows {
            limits[try row.decode(column: "resource", as: String.self)] = try row.decode(
                column: "hard_limit", as: Int.self)
        }
        return limits
    }

    static func set(_ project: String, _ changes: [String: Int], in db: any SQLDatabase) async throws {
        for (resource, limit) in changes {
            try await db.delete(from: "quotas").where("project_id", .equal, SQLBind(project))
                .where("resource", .equal, SQLBind(resource)).run()
            try await db.insert(into: "quotas").columns("project_id", "resource", "hard_limit")
                .values(SQLBind(project), SQLBind(resource), SQLBind(limit)).run()
        }
    }

    static func reset(_ project: String, in db: any SQLDatabase) async throws {
        try await db.delete(from: "quotas").where("project_id", .equal, SQLBind(project)).run()
    }

    static func usage(_ project: String, in db: any SQLDatabase) async throws -> Usage {
        let volumes = try await db.raw(
            "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS gb FROM volumes WHERE project_id = \(bind: project) AND "
                + VolumeStore.notMigrationTarget
        ).first()
        let snapshots = try await db.raw(
            "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS gb FROM snapshots WHERE project_id = \(bind: project)"
        ).first()
        return Usage(
            volumes: try volumes?.decode(column: "n", as: Int.self) ?? 0,
            gigabytes: (try volumes?.decode(column: "gb", as: Int.self) ?? 0)
                + (try snapshots?.decode(column: "gb", as: Int.self) ?? 0),
            snapshots: try snapshots?.decode(column: "n", as: Int.self) ?? 0)
    }

    /// 413 when adding `extra` would pass one of the project's limits.
    static func check(project: String, adding extra: Usage, in db: any SQLDatabase) async throws {
        let limits = try await limits(project, in: db)
        let used = try await usage(project, in: db)
        if let perVolume = limits["per_volume_gigabytes"], perVolume >= 0, extra.volumes > 0,
            extra.gigabytes > perVolume
        {
            throw APIError(
                .contentTooLarge,
                "VolumeSizeExceedsLimit: Requested volume size \(extra.gigabytes)G is larger than maximum allowed "
                    + "limit \(perVolume)G."
            )
        }
        for (resource, used, adding) in [
            ("volumes", used.volumes, extra.volumes), ("gigabytes", used.gigabytes, extra.gigabytes),
            ("snapshots", used.snapshots, extra.snapshots),
        ] where adding > 0 {
            guard let limit = limits[resource], limit >= 0, used + adding > limit else { continue }
            throw APIError(
                .contentTooLarge,
                "VolumeLimitExceeded: Maximum number of \(resource) allowed (\(limit)) exceeded for quota "
                    + "'\(resource)'."
            )
        }
    }
}
