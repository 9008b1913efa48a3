import Foundation
import StratusCore

/// Cinder in memory: volumes owned by projects, attachments moving them through Cinder's
/// states (available → reserved → attaching → in-use; in-use → detaching; the last
/// attachment deleted → available), and refusals a test injects. A caller's token is one of
/// `StaticTokens`: a project sees only its own volumes unless it is an admin; the service
/// user (no token) sees all.
public actor FakeVolume: VolumeClient {
    public enum Call: Sendable, Hashable {
        case reserve, updateAttachment, completeAttachment, deleteAttachment, beginDetaching, rollDetaching
        case createVolume, deleteVolume, migrateVolumeCompletion
    }

    public struct Attachment: Sendable, Equatable {
        public var volumeID: String
        public var instanceID: String
        public var status: String
        public var connector: VolumeConnector?
    }

    public private(set) var volumes: [String: Volume] = [:]
    public private(set) var attachments: [String: Attachment] = [:]
    public private(set) var deletedVolumes: [String] = []
    /// What `createVolume` was asked for, in order.
    public private(set) var created: [VolumeRequest] = []
    /// The `os-migrate_volume_completion` calls: old volume, new volume, error.
    public private(set) var completions: [(old: String, new: String, error: Bool)] = []
    private var slowCreation = false
    private var refusals: [Call: (fault: ServiceFault, skipping: Int)] = [:]
    private let directory: String

    /// `directory` is where the fake says the volumes' files are (`<directory>/volume-<id>`).
    public init(directory: String = "/var/lib/stratus/volumes") {
        self.directory = directory
    }

    /// A volume of `project`, `available` unless said otherwise.
    @discardableResult
    public func add(
        _ id: String = UUID().uuidString.lowercased(), project: String, size: Int = 1, status: String = "available"
    ) -> String {
        volumes[id] = Volume(id: id, name: "volume-\(id.prefix(8))", status: status, size: size, projectID: project)
        return id
    }

    /// The next `call` (after `skipping` more that succeed) fails with Cinder's `status` and
    /// `message`.
    public func refuse(_ call: Call, status: Int = 400, message: String, skipping: Int = 0) {
        refusals[call] = (ServiceFault(service: "volume", status: status, message: message), skipping)
    }

    public func status(of id: String) -> String? { volumes[id]?.status }

    public func volume(_ id: String, token: String?) -> Volume? {
        guard let volume = volumes[id], visible(volume, token: token) else { return nil }
        if volume.status == "creating" { volumes[id]?.status = "available" }
        return volume
    }

    public func reserve(volumeID: String, instanceID: String, token: String?) throws -> String {
        try check(.reserve)
        guard let volume = volumes[volumeID], visible(volume, token: token) else { throw notFound(volumeID) }
        guard volume.status == "available" || volume.multiattach && volume.status == "in-use" else {
            let message = "Invalid volume: Volume \(volumeID) status must be available or downloading to reserve, "
                + "but the current status is \(volume.status)."
            throw ServiceFault(service: "volume", status: 400, message: message)
        }
        let id = UUID().uuidString.lowercased()
        attachments[id] = Attachment(volumeID: volumeID, instanceID: instanceID, status: "reserved")
        if volume.status == "available" { volumes[volumeID]?.status = "reserved" }
        return id
    }

    public func updateAttachment(_ id: String, connector: VolumeConnector) throws -> VolumeConnection {
        try check(.updateAttachment)
        guard var attachment = attachments[id] else { throw attachmentNotFound(id) }
        attachment.status = "attaching"
        attachment.connector = connector
        attachments[id] = attachment
        if volumes[attachment.volumeID]?.status == "reserved" { volumes[attachment.volumeID]?.status = "attaching" }
        return VolumeConnection(driverVolumeType: "local", data: [
            "device_path": .string("\(directory)/volume-\(attachment.volumeID)"), "format": "raw",
            "access_mode": "rw", "attachment_id": .string(id),
        ])
    }

    public func completeAttachment(_ id: String) throws {
        try check(.completeAttachment)
        guard let attachment = attachments[id] else { throw attachmentNotFound(id) }
        attachments[id]?.status = "attached"
        volumes[attachment.volumeID]?.status = "in-use"
        volumes[attachment.volumeID]?.attachments.append(
            Volume.Attachment(attachmentID: id, serverID: attachment.instanceID))
    }

    public func deleteAttachment(_ id: String) throws {
        try check(.deleteAttachment)
        guard let attachment = attachments.removeValue(forKey: id) else { return }
        guard var volume = volumes[attachment.volumeID] else { return }
        volume.attachments.removeAll { $0.attachmentID == id }
        let others = attachments.values.filter { $0.volumeID == volume.id }
        let attached = others.contains { $0.status == "attached" }
        volume.status = others.isEmpty ? "available" : attached ? "in-use" : "reserved"
        volumes[volume.id] = volume
    }

    public func beginDetaching(_ volumeID: String, token: String?) throws {
        try check(.beginDetaching)
        guard let volume = volumes[volumeID], visible(volume, token: token) else { throw notFound(volumeID) }
        guard volume.status == "in-use" else {
            let message = "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and "
                + "attach_status must be 'attached' to detach."
            throw ServiceFault(service: "volume", status: 400, message: message)
        }
        volumes[volumeID]?.status = "detaching"
    }

    public func rollDetaching(_ volumeID: String) throws {
        try check(.rollDetaching)
        if volumes[volumeID]?.status == "detaching" { volumes[volumeID]?.status = "in-use" }
    }

    /// Owned by the token's project (`service` without one), `creating` until the next time
    /// it is read when `slowCreation` is set, else `available` at once.
    public func createVolume(_ request: VolumeRequest, token: String?) throws -> Volume {
        try check(.createVolume)
        let id = UUID().uuidString.lowercased()
        let project = token.map { StaticTokens.callers[$0]?.project ?? $0 } ?? "service"
        let volume = Volume(
            id: id, name: request.name, status: slowCreation ? "creating" : "available", size: request.size,
            bootable: request.imageID != nil, projectID: project)
        volumes[id] = volume
        created.append(request)
        return volume
    }

    /// New volumes answer `creating` once before they are `available`, as Cinder's do.
    public func createSlowly() { slowCreation = true }

    public func deleteVolume(_ id: String) throws {
        try check(.deleteVolume)
        guard let volume = volumes[id] else { return }
        guard !["in-use", "attaching", "reserved", "detaching"].contains(volume.status) else {
            let message = "Invalid volume: Volume status must be available or error, but current status is: "
                + "\(volume.status)."
            throw ServiceFault(service: "volume", status: 400, message: message)
        }
        volumes[id] = nil
        deletedVolumes.append(id)
    }

    /// Marks the volume as Block Storage's migration does before it asks Nova for a swap.
    public func startMigration(_ id: String) { volumes[id]?.migrationStatus = "migrating" }

    /// As Cinder: on success the old volume takes the new one's attachments and the new
    /// record goes; on error only the new record goes.
    public func migrateVolumeCompletion(old: String, new: String, error: Bool) throws -> String {
        try check(.migrateVolumeCompletion)
        guard volumes[old] != nil, let target = volumes.removeValue(forKey: new) else { throw notFound(new) }
        completions.append((old, new, error))
        volumes[old]?.migrationStatus = error ? "error" : "success"
        if !error {
            for (id, attachment) in attachments where attachment.volumeID == new {
                attachments[id]?.volumeID = old
            }
            volumes[old]?.attachments += target.attachments
        }
        return old
    }

    private func check(_ call: Call) throws {
        guard let refusal = refusals[call] else { return }
        guard refusal.skipping == 0 else {
            refusals[call]?.skipping -= 1
            return
        }
        refusals[call] = nil
        throw refusal.fault
    }

    private func visible(_ volume: Volume, token: String?) -> Bool {
        guard let token else { return true }
        guard let caller = StaticTokens.callers[token] else { return false }
        return caller.roles.contains("admin") || caller.project == volume.projectID
    }

    private func notFound(_ id: String) -> ServiceFault {
        ServiceFault(service: "volume", status: 404, message: "Volume \(id) could not be found.")
    }

    private func attachmentNotFound(_ id: String) -> ServiceFault {
        ServiceFault(service: "volume", status: 404, message: "VolumeAttachment \(id) could not be found.")
    }
}
