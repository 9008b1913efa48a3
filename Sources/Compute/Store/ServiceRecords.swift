import Foundation
import SQLKit
import StratusCore

/// The `services` and `compute_nodes` tables: who runs where, heartbeats, and what each
/// hypervisor offers.
struct ServiceRecords: Sendable {
    let db: Database
    let settings: ComputeSettings

    struct Service: Sendable {
        var id: String
        var host: String
        var binary: String
        var disabled: Bool
        var disabledReason: String?
        var forcedDown: Bool
        var lastSeenUp: Date?
        var createdAt: Date
        var updatedAt: Date?

        init(row: any SQLRow) throws {
            id = try row.decode(column: "id", as: String.self)
            host = try row.decode(column: "host", as: String.self)
            binary = try row.decode(column: "binary", as: String.self)
            disabled = try row.decode(column: "disabled", as: Bool.self)
            disabledReason = try row.decode(column: "disabled_reason", as: String?.self)
            forcedDown = try row.decode(column: "forced_down", as: Bool.self)
            lastSeenUp = try row.decode(column: "last_seen_up", as: Double?.self).map(Date.init(timeIntervalSince1970:))
            createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
            updatedAt = try row.decode(column: "updated_at", as: Double?.self).map(Date.init(timeIntervalSince1970:))
        }

        func isUp(downTime: Int) -> Bool {
            guard !forcedDown, let lastSeenUp else { return false }
            return Date().timeIntervalSince(lastSeenUp) <= Double(downTime)
        }

        /// Set by `all()`: a compute host's aggregate zone or the default one; `internal` otherwise.
        var zone = "internal"

        /// The integer id of microversions before 2.53, stable for a service's life.
        var legacyID: Int { Int(id.prefix(7), radix: 16) ?? 0 }
    }

    /// Registers (or revives) a service and records a heartbeat.
    func heartbeat(host: String, binary: String) async throws {
        let now = Date().timeIntervalSince1970
        try await db.transactionRetryingConflicts { db in
            try await db.raw(
                "UPDATE services SET last_seen_up = \(bind: now), updated_at = \(bind: now) WHERE host = \(bind: host) AND \(ident: "binary") = \(bind: binary)"
            ).run()
            let exists = try await db.select().column("id").from("services").where("host", .equal, SQLBind(host)).where("binary", .equal, SQLBind(binary)).first()
            if exists == nil {
                try await db.insert(into: "services").columns("id", "host", "binary", "disabled", "forced_down", "last_seen_up", "created_at", "updated_at")
                    .values(SQLBind(UUID().uuidString.lowercased()), SQLBind(host), SQLBind(binary), SQLBind(false), SQLBind(false), SQLBind(now), SQLBind(now), SQLBind(now))
                    .run()
            }
        }
    }

    func all(in db: (any SQLDatabase)? = nil) async throws -> [Service] {
        try await self.db.read { db in
            var services = try await db.select().columns("*").from("services").orderBy("created_at").all().map(Service.init(row:))
            let zones = try await AggregateStore(db: self.db).zonesByHost(in: db)
            for index in services.indices where services[index].binary == "nova-compute" {
                services[index].zone = zones[services[index].host] ?? settings.defaultAvailabilityZone
            }
            return services
        }
    }

    /// UP, DOWN, MAINTENANCE (disabled) or UNKNOWN per compute host (`host_status`).
    func hostStatuses() async throws -> [String: String] {
        var statuses: [String: String] = [:]
        for service in try await all() where service.binary == "nova-compute" {
            statuses[service.host] = service.isUp(downTime: settings.serviceDownTime) ? (service.disabled ? "MAINTENANCE" : "UP") : "DOWN"
        }
        return statuses
    }

    /// Availability zones with a compute service in them.
    func zones() async throws -> Set<String> {
        let services = try await all()
        let zones = Set(services.filter { $0.binary == "nova-compute" }.map(\.zone))
        return zones.isEmpty ? [settings.defaultAvailabilityZone] : zones
    }

    /// Records what a host's hypervisor offers; returns the node's UUID (its resource provider).
    func saveNode(host: String, doc: [String: JSON]) async throws -> String {
        try await db.transactionRetryingConflicts { db in
            let now = Date().timeIntervalSince1970
            if let row = try await db.select().column("uuid").from("compute_nodes").where("host", .equal, SQLBind(host)).first() {
                let uuid = try row.decode(column: "uuid", as: String.self)
                try await db.update("compute_nodes").set("doc", to: SQLBind(JSON.object(doc).serialized())).set("updated_at", to: SQLBind(now))
                    .where("uuid", .equal, SQLBind(uuid)).run()
                return uuid
            }
            let uuid = UUID().uuidString.lowercased()
            try await db.insert(into: "compute_nodes").columns("uuid", "host", "doc", "updated_at")
                .values(SQLBind(uuid), SQLBind(host), SQLBind(JSON.object(doc).serialized()), SQLBind(now)).run()
            return uuid
        }
    }

    struct Node: Sendable {
        var uuid: String
        var host: String
        var doc: [String: JSON]

        func int(_ key: String) -> Int { doc[key]?.intValue ?? 0 }
    }

    func nodes() async throws -> [Node] {
        try await db.read { db in
            try await db.select().columns("uuid", "host", "doc").from("compute_nodes").orderBy("host").all().map { row in
                Node(uuid: try row.decode(column: "uuid", as: String.self), host: try row.decode(column: "host", as: String.self),
                     doc: (try JSON.parse(try row.decode(column: "doc", as: String.self))).objectValue ?? [:])
            }
        }
    }

    /// Per host: servers, vCPUs, MiB and GiB in use by live instances.
    func usageByHost() async throws -> [String: (servers: Int, vcpus: Int, ram: Int, disk: Int)] {
        try await db.read { db in
            let rows = try await db.raw(
                "SELECT host, COUNT(*) AS n, CAST(SUM(vcpus) AS BIGINT) AS vcpus, CAST(SUM(memory_mb) AS BIGINT) AS ram, CAST(SUM(root_gb) AS BIGINT) AS disk FROM instances WHERE deleted = \(bind: false) AND host IS NOT NULL GROUP BY host"
            ).all()
            var usage: [String: (servers: Int, vcpus: Int, ram: Int, disk: Int)] = [:]
            for row in rows {
                usage[try row.decode(column: "host", as: String.self)] = (
                    try row.decode(column: "n", as: Int.self), try row.decode(column: "vcpus", as: Int?.self) ?? 0,
                    try row.decode(column: "ram", as: Int?.self) ?? 0, try row.decode(column: "disk", as: Int?.self) ?? 0
                )
            }
            return usage
        }
    }
}
