import Foundation

/// Nova's power states, as numbers in `OS-EXT-STS:power_state`.
public enum PowerState: Int, Sendable {
    case noState = 0
    case running = 1
    case paused = 3
    case shutdown = 4
    case crashed = 6
    case suspended = 7
}

/// What a driver needs to create a guest.
public struct GuestSpec: Sendable, Codable {
    public var uuid: String
    public var name: String
    public var vcpus: Int
    public var memoryMB: Int
    public var rootGB: Int
    /// The cached base image the root disk is made from; nil for boot-from-volume.
    public var imagePath: String?
    /// The Neutron ports the guest plugs, in order.
    public var ports: [GuestPort]
    public var userData: String?
    /// Direct kernel boot (images with `kernel_id` / `ramdisk_id`, Nova's AMI style).
    public var kernelPath: String?
    public var ramdiskPath: String?
    public var kernelArgs: String?
    /// Files of the config drive (`openstack/latest/meta_data.json` ...), nil for none.
    public var configDrive: [String: String]?
    /// The Cinder volumes the guest starts with; one with boot index 0 is its root disk.
    /// Drivers keep them with the guest's own state (they change with attach and detach).
    public var volumes: [GuestVolume] = []

    enum CodingKeys: String, CodingKey {
        case uuid, name, vcpus, memoryMB, rootGB, imagePath, ports, userData, kernelPath, ramdiskPath, kernelArgs
        case configDrive
    }

    public init(
        uuid: String, name: String, vcpus: Int, memoryMB: Int, rootGB: Int, imagePath: String?,
        ports: [GuestPort] = [],
        userData: String? = nil
    ) {
        self.uuid = uuid
        self.name = name
        self.vcpus = vcpus
        self.memoryMB = memoryMB
        self.rootGB = rootGB
        self.imagePath = imagePath
        self.ports = ports
        self.userData = userData
    }
}

/// A guest's network interface: the Neutron port (its tap is named for it, its MAC is the
/// guest's) and the network whose bridge the tap joins.
public struct GuestPort: Sendable, Codable, Hashable {
    public var id: String
    public var mac: String
    public var network: String

    public init(id: String, mac: String, network: String) {
        self.id = id
        self.mac = mac
        self.network = network
    }
}

/// A Cinder volume in a guest: the file or block device of a `local` connection, seen by
/// the guest as `device`.
public struct GuestVolume: Sendable, Codable, Hashable {
    public var volumeID: String
    /// `/dev/vdb` ...
    public var device: String
    /// Cinder's `driver_volume_type`; drivers here reach only `local` volumes.
    public var driverType: String
    public var path: String
    /// `raw` or `qcow2`.
    public var format: String
    public var readOnly: Bool
    /// 0 for the disk the guest boots from.
    public var bootIndex: Int?
    /// The volume's front-end QoS specs, by Cinder's names (`total_bytes_sec`, `read_iops_sec` ...).
    public var qosSpecs: [String: Int]?
    /// The key manager's id of the key of an encrypted (LUKS) volume; nil: not encrypted.
    public var encryptionKeyID: String?
    /// Whose name the disk's block node (and secret) carry when not the volume's own: after a
    /// swap, the volume whose data the guest now uses.
    public var nodeKey: String?

    public init(
        volumeID: String, device: String, driverType: String, path: String, format: String, readOnly: Bool,
        bootIndex: Int? = nil, qosSpecs: [String: Int]? = nil, encryptionKeyID: String? = nil, nodeKey: String? = nil
    ) {
        self.volumeID = volumeID
        self.device = device
        self.driverType = driverType
        self.path = path
        self.format = format
        self.readOnly = readOnly
        self.bootIndex = bootIndex
        self.qosSpecs = qosSpecs
        self.encryptionKeyID = encryptionKeyID
        self.nodeKey = nodeKey
    }

    public var isRoot: Bool { bootIndex == 0 }
}

/// What the host offers, reported to Placement as inventory and traits.
public struct HostResources: Sendable {
    public var vcpus: Int
    public var memoryMB: Int
    public var diskGB: Int
    public var hypervisorType: String
    public var hypervisorVersion: Int
    public var cpuInfo: String
    public var traits: [String]

    public init(
        vcpus: Int, memoryMB: Int, diskGB: Int, hypervisorType: String, hypervisorVersion: Int, cpuInfo: String,
        traits: [String]
    ) {
        self.vcpus = vcpus
        self.memoryMB = memoryMB
        self.diskGB = diskGB
        self.hypervisorType = hypervisorType
        self.hypervisorVersion = hypervisorVersion
        self.cpuInfo = cpuInfo
        self.traits = traits
    }
}

public struct DriverError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The hypervisor interface the compute manager drives (Nova's `ComputeDriver`). Every
/// operation is idempotent where it can be: destroying a guest that is gone succeeds.
public protocol HypervisorDriver: Sendable {
    var name: String { get }
    func hostResources() async throws -> HostResources
    /// UUIDs of the guests the hypervisor knows, for reconciliation after a restart.
    func listGuests() async -> [String]
    func powerState(_ uuid: String) async -> PowerState

    func spawn(_ guest: GuestSpec) async throws
    func destroy(_ uuid: String) async throws
    func reboot(_ uuid: String, hard: Bool) async throws
    func powerOn(_ uuid: String) async throws
    func powerOff(_ uuid: String) async throws
    func pause(_ uuid: String) async throws
    func unpause(_ uuid: String) async throws
    func suspend(_ uuid: String) async throws
    func resume(_ uuid: String) async throws
    /// Writes the guest's root disk as an image file at `path`.
    func snapshot(_ uuid: String, to path: String) async throws
    /// Moves the guest's disk and definition to another host's driver.
    func migrate(_ uuid: String, toHost host: String) async throws
    func attachInterface(_ uuid: String, port: GuestPort) async throws
    func detachInterface(_ uuid: String, portID: String) async throws
    /// Hot-plugs the volume (or, for a guest that is not running, adds it for its next start).
    func attachVolume(_ uuid: String, volume: GuestVolume) async throws
    /// Hot-unplugs the volume; one the guest does not have is not an error.
    func detachVolume(_ uuid: String, volumeID: String) async throws
    /// Cinder extended the volume: the guest's disk grows to `newSize` bytes (Cinder's new
    /// size), or to the size its file has if that is larger; never shrinks. A running guest
    /// sees the new size at once, a stopped one at its next start.
    func extendVolume(_ uuid: String, volumeID: String, newSize: Int64) async throws
    /// Moves a running guest's disk of `volumeID` onto `target` (another volume's data, named
    /// by `target.nodeKey`) while the guest goes on writing: a full copy, then the pivot.
    func swapVolume(_ uuid: String, volumeID: String, to target: GuestVolume) async throws
    /// Ends a `swapVolume` a crash cut off: true when the guest already writes to `target`
    /// (the swap is done), false when it still uses its old disk (the copy is dropped).
    func settleSwap(_ uuid: String, volumeID: String, to target: GuestVolume) async throws -> Bool
    /// Boots the guest from `imagePath` with its own disk attached second; unrescue undoes it.
    func rescue(_ uuid: String, imagePath: String?) async throws
    func unrescue(_ uuid: String) async throws
    func setAdminPassword(_ uuid: String, password: String) async throws
    /// Injects an NMI so the guest's kernel writes a crash dump.
    func triggerCrashDump(_ uuid: String) async throws
    func consoleOutput(_ uuid: String) async throws -> String
    func diagnostics(_ uuid: String) async throws -> [String: Int]
}
