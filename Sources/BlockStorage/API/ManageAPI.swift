import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// Managing and unmanaging (admins only): `os-volume-manage` and `os-snapshot-manage` (as
/// `manageable_volumes` and `manageable_snapshots` from 3.8) make records for data a backend
/// already holds, listed by the same paths' GET; `os-unmanage` forgets a record and leaves
/// its data on the backend.
extension BlockStorageAPI {
    func registerManage(on router: RouterGroup<StratusContext>) {
        for path in ["/os-volume-manage", "/manageable_volumes"] {
            router.post(RouterPath(path)) { request, context -> Response in
                try self.requireManageableVersion(path, context)
                let auth = try self.caller(context)
                try enforce("volume_extension:volume_manage", auth)
                let body = try await request.volumeBody("volume", context: context)
                let volume = try await manageVolume(body, auth: auth)
                let view = try await self.view(request, context, auth)
                return .json(["volume": view.detail(volume, attachments: [], extended: true)], status: .accepted)
            }
            for suffix in ["", "/detail"] {
                router.get(RouterPath(path + suffix)) { request, context -> Response in
                    try self.requireManageableVersion(path, context)
                    let auth = try self.caller(context)
                    try enforce("volume_extension:list_manageable", auth)
                    let found = try await manageable(request)
                    return .json([
                        "manageable-volumes": .array(found.map { manageableView($0, detail: !suffix.isEmpty) })
                    ])
                }
            }
        }
        for path in ["/os-snapshot-manage", "/manageable_snapshots"] {
            router.post(RouterPath(path)) { request, context -> Response in
                try self.requireManageableVersion(path, context)
                let auth = try self.caller(context)
                try enforce("snapshot_extension:snapshot_manage", auth)
                let body = try await request.volumeBody("snapshot", context: context)
                let snapshot = try await manageSnapshot(body, auth: auth)
                return .json(["snapshot": snapshotView(snapshot, context, auth, extended: false)], status: .accepted)
            }
            for suffix in ["", "/detail"] {
                router.get(RouterPath(path + suffix)) { request, context -> Response in
                    try self.requireManageableVersion(path, context)
                    let auth = try self.caller(context)
                    try enforce("snapshot_extension:list_manageable", auth)
                    let found = try await manageable(request)
                    let views = found.map { manageableView($0, detail: !suffix.isEmpty, snapshot: true) }
                    return .json(["manageable-snapshots": .array(views)])
                }
            }
        }
    }

    /// `manageable_*` paths exist from 3.8; the `os-*-manage` ones always.
    private func requireManageableVersion(_ path: String, _ context: StratusContext) throws {
        if path.hasPrefix("/manageable"), !context.version(atLeast: 3, 8) {
            throw APIError.notFound("The resource could not be found.")
        }
    }

    /// Records a `managing` volume on the backend the body's `host` names and asks that
    /// backend to take over the data its `ref` names.
    private func manageVolume(_ body: [String: JSON], auth: AuthContext) async throws -> Volume {
        let reference = try Self.sourceName(body)
        guard let host = body["host"]?.stringValue, !host.isEmpty else {
            throw BlockStorageError.invalidInput("The 'host' of the volume to manage is required.")
        }
        let name = try Self.optionalText(body, "name", "display_name") ?? nil
        let description = try Self.optionalText(body, "description", "display_description") ?? nil
        let metadata = try body["metadata"]?.nonNull.map { try Self.metadata($0) } ?? [:]
        let flag = body["bootable"]?.nonNull
        let parsed = flag.map { $0.boolValue ?? $0.stringValue.flatMap(Self.boolWord) }
        guard parsed != .some(nil) else { throw BlockStorageError.invalidInput("bootable must be a boolean") }
        let bootable = parsed.flatMap { $0 } ?? false
        let project = auth.projectID ?? ""
        let volume: Volume = try await db.transaction { db in
            let service = try await self.managingService(host, in: db)
            let type: VolumeType
            if let typeName = body["volume_type"]?.stringValue {
                guard let found = try await VolumeTypes.get(typeName, in: db) else {
                    throw APIError.notFound("Volume type with name \(typeName) could not be found.")
                }
                type = found
            } else {
                type = try await VolumeTypes.ensureDefault(in: db)
            }
            if try await EncryptionType.of(type: type.id, in: db) != nil {
                throw BlockStorageError.invalidInput("Volumes of encrypted type \(type.name) cannot be managed.")
            }
            let zone = body["availability_zone"]?.stringValue ?? service.zone
            guard zone == service.zone else {
                throw BlockStorageError.invalidInput("Host \(host) is not in availability zone '\(zone)'.")
            }
            try await Quotas.check(project: project, adding: .init(volumes: 1), in: db)
            var volume = Volume(
                projectID: project, userID: auth.userID, size: 0, availabilityZone: zone, typeID: type.id)
            volume.status = .managing
            volume.host = "\(service.host)#\(service.capabilities?.pool ?? "")"
            volume.name = name
            volume.description = description
            volume.bootable = bootable
            volume.metadata = metadata
            try await volume.insert(in: db)
            try await VolumeStore.metadata.replace(volume.id, with: metadata, in: db)
            return volume
        }
        guard let backend = volume.backend else { throw BlockStorageError.invalidVolume("Volume has no host") }
        try await bus.cast(VolumeRPC.manageVolume, to: backend, ManageArgs(id: volume.id, name: reference))
        return volume
    }

    /// Records a `creating` snapshot of the body's volume and asks the volume's backend to
    /// take over the data its `ref` names.
    private func manageSnapshot(_ body: [String: JSON], auth: AuthContext) async throws -> Snapshot {
        let reference = try Self.sourceName(body)
        guard let volumeID = body["volume_id"]?.stringValue else {
            throw BlockStorageError.invalidInput("The 'volume_id' of the snapshot to manage is required.")
        }
        let name = try Self.optionalText(body, "name", "display_name") ?? nil
        let description = try Self.optionalText(body, "description", "display_description") ?? nil
        let metadata = try body["metadata"]?.nonNull.map { try Self.metadata($0) } ?? [:]
        let (snapshot, backend): (Snapshot, String) = try await db.transaction { db in
            guard let volume = try await Volume.getForUpdate(volumeID, in: db) else {
                throw BlockStorageError.volumeNotFound(volumeID)
            }
            guard [.available, .inUse].contains(volume.status), let backend = volume.backend else {
                throw BlockStorageError.invalidVolume(
                    "Volume \(volumeID) status must be available or in-use, but current status is: "
                        + "\(volume.status.shown).")
            }
            let snapshot = try await Snapshot.record(
                of: volume, userID: auth.userID, name: name, description: description, metadata: metadata, in: db)
            return (snapshot, backend)
        }
        try await bus.cast(VolumeRPC.manageSnapshot, to: backend, ManageArgs(id: snapshot.id, name: reference))
        return snapshot
    }

    /// Forgets the volume (`unmanaging`, then gone); its data stays on the backend.
    func unmanageVolume(_ volume: Volume) async throws {
        let backend: String? = try await db.transaction { db in
            guard var current = try await Volume.getForUpdate(volume.id, in: db) else {
                throw BlockStorageError.volumeNotFound(volume.id)
            }
            let snapshots = try await Snapshot.select(where: "volume_id = \(bind: volume.id)", in: db)
            guard VolumeStatus.deletable.contains(current.status), current.attachStatus == .detached,
                current.groupID == nil, current.migrationStatus == nil || current.migrationStatus == "success",
                snapshots.isEmpty
            else {
                throw BlockStorageError.invalidVolume(
                    "Volume status must be available or error and must not be attached, migrating, in a group "
                        + "or have snapshots to be unmanaged.")
            }
            current.status = .unmanaging
            current.updatedAt = Date()
            try await current.save(in: db)
            return current.backend
        }
        guard let backend else { throw BlockStorageError.invalidVolume("Volume \(volume.id) has no host.") }
        try await bus.cast(VolumeRPC.deleteVolume, to: backend, VolumeArgs(volumeID: volume.id))
    }

    /// Forgets the snapshot (`unmanaging`, then gone); its data stays on the backend.
    func unmanageSnapshot(_ snapshot: Snapshot) async throws {
        let backend: String? = try await db.transaction { db in
            guard var current = try await Snapshot.getForUpdate(snapshot.id, in: db) else {
                throw BlockStorageError.snapshotNotFound(snapshot.id)
            }
            guard [.available, .error].contains(current.status), current.groupSnapshotID == nil else {
                throw APIError.badRequest(
                    "Invalid snapshot: Snapshot status must be available or error and must not be part of a group.")
            }
            current.status = .unmanaging
            current.updatedAt = Date()
            try await current.save(in: db)
            return try await Volume.get(current.volumeID, in: db)?.backend
        }
        guard let backend else { throw BlockStorageError.invalidInput("Snapshot \(snapshot.id) has no host.") }
        try await bus.cast(
            VolumeRPC.deleteSnapshot, to: backend, SnapshotArgs(volumeID: snapshot.volumeID, snapshotID: snapshot.id))
    }

    /// The `source-name` of the body's `ref`, the one kind of reference the drivers know.
    private static func sourceName(_ body: [String: JSON]) throws -> String {
        guard let reference = body["ref"]?.objectValue else {
            throw BlockStorageError.invalidInput("The 'ref' of the data to manage is required.")
        }
        guard let name = reference["source-name"]?.stringValue, !name.isEmpty else {
            let shown = JSON.object(reference).serialized()
            throw BlockStorageError.invalidInput(
                "Manage existing volume failed due to invalid backend reference \(shown): "
                    + "a 'source-name' is required.")
        }
        return name
    }

    /// The up volume service of `host` (`host@backend`, with or without `#pool`).
    private func managingService(_ host: String, in db: any SQLDatabase) async throws -> ServiceRecord {
        let parts = host.split(separator: "#", maxSplits: 1).map(String.init)
        let services = try await ServiceRecord.all(in: db).filter { $0.binary == ServiceRecord.volumeBinary }
        guard let service = services.first(where: { $0.host == parts[0] }),
            parts.count == 1 || parts[1] == service.capabilities?.pool
        else { throw APIError.notFound("Host '\(host)' not found.") }
        guard service.isUp(downTime: 60), !service.disabled else {
            throw BlockStorageError.invalidInput("Service \(service.host) is down or disabled.")
        }
        return service
    }

    /// The data of the `host` query's backend.
    private func manageable(_ request: Request) async throws -> [ManageableData] {
        guard let host = request.formQuery("host"), !host.isEmpty else {
            throw BlockStorageError.invalidInput("The 'host' to list is required.")
        }
        let service = try await db.read { try await self.managingService(host, in: $0) }
        return try await bus.call(VolumeRPC.listManageable, on: service.host, NoReply())
    }

    private func manageableView(_ found: ManageableData, detail: Bool, snapshot: Bool = false) -> JSON {
        var view: [String: JSON] = [
            "reference": ["source-name": .string(found.data.name)], "size": .int(found.data.sizeGB),
            "safe_to_manage": .bool(found.ownerID == nil),
        ]
        if snapshot { view["source_reference"] = .null }
        if detail {
            view["reason_not_safe"] = found.ownerID == nil ? .null : "already managed"
            view["cinder_id"] = found.ownerID.map(JSON.string) ?? .null
            view["extra_info"] = .null
        }
        return .object(view)
    }
}
