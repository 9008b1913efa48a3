import Foundation
import SQLKit
import StratusCore

/// Managing existing data (Cinder's `manage_existing`): a record made by the API takes over
/// data of this backend as it is, where it is. Nothing is copied or renamed, so the record's
/// one transaction is the whole change and a crash before it leaves the data untouched.
extension VolumeManager {
    /// A `managing` volume takes over the data: `available` with its size, or `error_managing`.
    func manageVolume(_ args: ManageArgs) async throws {
        guard let volume = try await db.read({ try await Volume.get(args.id, in: $0) }), volume.status == .managing
        else { return }
        do {
            let data = try await unowned(args.name)
            try await db.transaction { db in
                guard var current = try await Volume.getForUpdate(volume.id, in: db), current.status == .managing
                else { return }
                try await Quotas.check(project: current.projectID, adding: .init(gigabytes: data.sizeGB), in: db)
                current.size = data.sizeGB
                current.providerLocation = data.location
                current.status = .available
                current.updatedAt = Date()
                try await current.save(in: db)
            }
            logger.info("volume \(volume.id) manages \(data.location)")
        } catch {
            logger.error("managing '\(args.name)' as volume \(volume.id) failed: \(error)")
            try await db.changeVolume(volume.id, from: .managing) { $0.status = .errorManaging }
        }
    }

    /// A `creating` snapshot takes over the data: `available`, or `error`.
    func manageSnapshot(_ args: ManageArgs) async throws {
        guard let snapshot = try await db.read({ try await Snapshot.get(args.id, in: $0) }),
            snapshot.status == .creating
        else { return }
        do {
            let data = try await unowned(args.name)
            try await db.changeSnapshot(snapshot.id, from: .creating) { snapshot in
                snapshot.providerLocation = data.location
                snapshot.status = .available
            }
            logger.info("snapshot \(snapshot.id) manages \(data.location)")
        } catch {
            logger.error("managing '\(args.name)' as snapshot \(snapshot.id) failed: \(error)")
            try await db.changeSnapshot(snapshot.id, from: .creating) { $0.status = .error }
        }
    }

    /// Every piece of data of the backend, with the record owning it.
    func manageable() async throws -> [ManageableData] {
        let found = try await driver.allExisting()
        let owners = try await owners(of: found.map(\.location))
        return found.map { ManageableData(data: $0, ownerID: owners[$0.location]) }
    }

    /// The data `name`, which no volume or snapshot may own already.
    private func unowned(_ name: String) async throws -> ExistingData {
        let data = try await driver.existing(name: name)
        if let owner = try await owners(of: [data.location])[data.location] {
            throw ManageError("'\(name)' is already managed, by \(owner).")
        }
        return data
    }

    /// The volume or snapshot owning each of `locations`, by location.
    private func owners(of locations: [String]) async throws -> [String: String] {
        try await db.read { db in
            let condition: SQLQueryString = "provider_location IN " + .list(locations)
            let volumes = try await Volume.select(where: condition, in: db)
            let snapshots = try await Snapshot.select(where: condition, in: db)
            var owners: [String: String] = [:]
            for volume in volumes { if let location = volume.providerLocation { owners[location] = volume.id } }
            for snapshot in snapshots {
                if let location = snapshot.providerLocation { owners[location] = snapshot.id }
            }
            return owners
        }
    }
}
