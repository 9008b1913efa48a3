import Foundation
import SQLKit
import StratusCore

/// The metadata tables and the state changes every process of the service makes.
enum VolumeStore {
    static let metadata = MetadataTable(owner: "volume")
    static let snapshotMetadata = MetadataTable(owner: "snapshot")
    /// Leaves out the hidden records an attached volume's migration makes while Nova swaps.
    static let notMigrationTarget: SQLQueryString =
        "(migration_status IS NULL OR migration_status NOT LIKE 'target:%')"

    static func volume(_ id: String, in db: any SQLDatabase) async throws -> Volume? {
        guard var volume = try await Volume.get(id, in: db) else { return nil }
        volume.metadata = try await metadata.get(id, in: db)
        return volume
    }

    static func snapshot(_ id: String, in db: any SQLDatabase) async throws -> Snapshot? {
        guard var snapshot = try await Snapshot.get(id, in: db) else { return nil }
        snapshot.metadata = try await snapshotMetadata.get(id, in: db)
        return snapshot
    }
}

/// A record whose changes are stamped.
protocol Touched: StoredRow {
    var updatedAt: Date? { get set }
}

extension Volume: Touched {}
extension Snapshot: Touched {}
extension Backup: Touched {}

extension Database {
    /// Changes the row in one transaction if `allowed` holds for it (the row is locked while
    /// it is read); nil, and no change, otherwise.
    @discardableResult
    func change<Row: Touched>(
        _: Row.Type, _ id: String, when allowed: @escaping @Sendable (Row) -> Bool,
        body: @escaping @Sendable (inout Row) -> Void
    ) async throws -> Row? {
        try await transaction { db in
            guard var row = try await Row.getForUpdate(id, in: db), allowed(row) else { return nil }
            body(&row)
            row.updatedAt = Date()
            try await row.save(in: db)
            return row
        }
    }

    /// Changes the volume if it is in one of `states`.
    @discardableResult
    func changeVolume(
        _ id: String, from states: VolumeStatus..., body: @escaping @Sendable (inout Volume) -> Void
    ) async throws -> Volume? {
        let allowed = Set(states)
        return try await change(Volume.self, id, when: { allowed.contains($0.status) }, body: body)
    }

    @discardableResult
    func changeSnapshot(
        _ id: String, from state: SnapshotStatus, body: @escaping @Sendable (inout Snapshot) -> Void
    ) async throws -> Snapshot? {
        try await change(Snapshot.self, id, when: { $0.status == state }, body: body)
    }

    @discardableResult
    func changeBackup(
        _ id: String, from state: BackupStatus, body: @escaping @Sendable (inout Backup) -> Void
    ) async throws -> Backup? {
        try await change(Backup.self, id, when: { $0.status == state }, body: body)
    }
}
