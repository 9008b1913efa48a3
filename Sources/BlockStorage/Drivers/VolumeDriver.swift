import Foundation

/// What a backend reports to the scheduler.
struct BackendStats: Codable, Sendable, Equatable {
    var totalGB: Double
    var freeGB: Double
    var thinProvisioning: Bool
    var storageProtocol: String
    var vendorName = "Open Source"
    var driverVersion = "1.0.0"

    enum CodingKeys: String, CodingKey {
        case totalGB = "total_capacity_gb"
        case freeGB = "free_capacity_gb"
        case thinProvisioning = "thin_provisioning_support"
        case storageProtocol = "storage_protocol"
        case vendorName = "vendor_name"
        case driverVersion = "driver_version"
    }
}

/// Where a new volume's data comes from.
enum VolumeSource: Sendable {
    case blank
    /// Another volume's or a snapshot's data, encrypted or not: the driver's own location,
    /// or another backend's data in `format` (a path the host opens, as its connection gives it).
    case copy(location: String, format: String? = nil, encrypted: Bool = false)
    /// An image file already on this host, in `format` (raw or qcow2).
    case imageFile(path: String, format: String)
}

/// One storage backend: makes, copies, grows and removes volumes and snapshots, and
/// tells hosts how to open them. Locations are the driver's own names for the data.
protocol VolumeDriver: Sendable {
    /// `file`, `lvm`.
    var kind: String { get }
    func stats() async throws -> BackendStats
    /// Makes volume `id` of `sizeGB` from `source`, encrypted with `encryption` if given;
    /// returns its location. Every call below that names an encryption is for encrypted data.
    func createVolume(
        id: String, sizeGB: Int, from source: VolumeSource, encryption: VolumeEncryption?
    ) async throws -> String
    func deleteVolume(location: String) async throws
    func extendVolume(location: String, sizeGB: Int, encryption: VolumeEncryption?) async throws
    /// Whether the driver can grow a volume a hypervisor has open; if not, the hypervisor
    /// grows it when Compute hears `volume-extended`.
    var extendsAttached: Bool { get }
    /// A point-in-time copy of the volume (crash-consistent when it is in use).
    func createSnapshot(id: String, of volumeLocation: String, encryption: VolumeEncryption?) async throws -> String
    func deleteSnapshot(location: String) async throws
    /// Puts the snapshot's data back into the volume.
    func revert(volumeLocation: String, to snapshotLocation: String, encryption: VolumeEncryption?) async throws
    /// Writes the volume's data to `path` as an image in `format`; with `encryption`, the
    /// data stays encrypted (`path` is a LUKS container, QEMU's `luks` format, for `raw`).
    func export(location: String, to path: String, format: String, encryption: VolumeEncryption?) async throws
    /// How a host opens the volume.
    func connection(location: String, readOnly: Bool) -> VolumeConnection
    /// Locations this backend holds, to find what no record owns after a crash.
    func locations() async throws -> [String]
    /// The volume or snapshot id a location was made for, from its name (`volume-<id>`);
    /// nil for data this driver did not make (unmanaged, or made by someone else).
    func recordID(of location: String) -> String?
    /// The data `name` (Cinder's `source-name` reference) on this backend, for a volume or
    /// snapshot to take over as it is (`manage_existing`).
    func existing(name: String) async throws -> ExistingData
    /// What `existing(name:)` could find: every piece of data this backend holds.
    func allExisting() async throws -> [ExistingData]
}

/// Data on a backend, as `manage_existing` takes it over: where it is, what it is called in
/// a reference, and its size in GiB (rounded up).
struct ExistingData: Codable, Sendable, Equatable {
    var location: String
    var name: String
    var sizeGB: Int

    enum CodingKeys: String, CodingKey {
        case location, name
        case sizeGB = "size_gb"
    }
}

struct VolumeDriverError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Data a manage request names that cannot be taken over (Cinder's `ManageExistingInvalidReference`).
struct ManageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
