import Foundation
import SQLKit
import StratusCore

/// What a backend tells the scheduler about its pool (Cinder's capabilities report).
struct PoolCapabilities: Codable, Sendable, Equatable {
    var backendName: String
    var pool: String
    var stats: BackendStats
    /// GiB of the volumes placed here.
    var allocatedGB: Int
    var maxOverSubscriptionRatio: Double
    var reservedPercentage: Int

    enum CodingKeys: String, CodingKey {
        case backendName = "volume_backend_name"
        case pool = "pool_name"
        case stats
        case allocatedGB = "allocated_capacity_gb"
        case maxOverSubscriptionRatio = "max_over_subscription_ratio"
        case reservedPercentage = "reserved_percentage"
    }

    /// Capabilities as extra specs and the pools API name them.
    var flattened: [String: JSON] {
        [
            "volume_backend_name": .string(backendName), "pool_name": .string(pool),
            "total_capacity_gb": .double(stats.totalGB), "free_capacity_gb": .double(stats.freeGB),
            "allocated_capacity_gb": .int(allocatedGB), "provisioned_capacity_gb": .int(allocatedGB),
            "max_over_subscription_ratio": .string(String(maxOverSubscriptionRatio)),
            "reserved_percentage": .int(reservedPercentage),
            "thin_provisioning_support": .bool(stats.thinProvisioning),
            "thick_provisioning_support": .bool(!stats.thinProvisioning),
            "storage_protocol": .string(stats.storageProtocol), "vendor_name": .string(stats.vendorName),
            "driver_version": .string(stats.driverVersion), "multiattach": true, "QoS_support": false,
            "online_extend_support": true, "timestamp": .string(Timestamp.iso8601(Date(), fractional: true)),
        ]
    }
}

/// A Block Storage process: `cinder-scheduler` on a host, `cinder-volume` on `host@backend`.
struct ServiceRecord: Sendable {
    var host: String
    var binary: String
    var zone: String
    var disabled: Bool
    var disabledReason: String?
    var capabilities: PoolCapabilities?
    var createdAt: Date
    var updatedAt: Date

    static let volumeBinary = "cinder-volume"
    static let schedulerBinary = "cinder-scheduler"
    static let backupBinary = "cinder-backup"

    init(row: any SQLRow) throws {
        host = try row.decode(column: "host", as: String.self)
        binary = try row.decode(column: "binary", as: String.self)
        zone = try row.decode(column: "zone", as: String.self)
        disabled = try row.decode(column: "disabled", as: Bool.self)
        disabledReason = try row.decode(column: "disabled_reason", as: String?.self)
        capabilities = try row.decode(column: "capabilities", as: String?.self).map {
            try JSONDecoder().decode(PoolCapabilities.self, from: Data($0.utf8))
        }
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
        updatedAt = Date(timeIntervalSince1970: try row.decode(column: "updated_at", as: Double.self))
    }

    /// Up when it reported within `downTime` seconds.
    func isUp(downTime: TimeInterval) -> Bool { Date().timeIntervalSince(updatedAt) <= downTime }

    static func all(in db: any SQLDatabase) async throws -> [ServiceRecord] {
        try await db.raw("SELECT * FROM services ORDER BY \(ident: "binary"), host").all().map(
            ServiceRecord.init(row:))
    }

    /// Records a heartbeat (and the capabilities of a volume service), creating the row on
    /// the first one.
    static func heartbeat(
        host: String, binary: String, zone: String, capabilities: PoolCapabilities?, in db: any SQLDatabase
    ) async throws {
        let now = Date().timeIntervalSince1970
        let text = try capabilities.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let updated = try await db.raw(
            """
            UPDATE services SET updated_at = \(bind: now), zone = \(bind: zone), capabilities = \(bind: text)
            WHERE host = \(bind: host) AND \(ident: "binary") = \(bind: binary) RETURNING host
            """
        ).first()
        guard updated == nil else { return }
        try await db.insert(into: "services")
            .columns("host", "binary", "zone", "disabled", "capabilities", "created_at", "updated_at")
            .values(
                SQLBind(host), SQLBind(binary), SQLBind(zone), SQLBind(false), SQLBind(text), SQLBind(now),
                SQLBind(now)
            )
            .run()
    }

    static func setDisabled(
        host: String, binary: String, disabled: Bool, reason: String?, in db: any SQLDatabase
    ) async throws -> Bool {
        let row = try await db.raw(
            """
            UPDATE services SET disabled = \(bind: disabled), disabled_reason = \(bind: reason)
            WHERE host = \(bind: host) AND \(ident: "binary") = \(bind: binary) RETURNING host
            """
        ).first()
        return row != nil
    }
}
