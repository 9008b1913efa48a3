import Foundation
import StratusCore

/// How a Cinder volume appears in QEMU: a block node (a `raw` or `qcow2` format node over
/// the volume's file or block device) and a `virtio-blk-pci` device on it. The same node is
/// put on the command line of a guest that starts with the volume and hot-plugged over QMP
/// (`blockdev-add`) into a running one, under names derived from the volume id.
enum QemuVolumes {
    /// Block node names are at most 31 characters.
    static func nodeName(_ volume: GuestVolume) -> String { nodeName(volumeID: volume.volumeID) }
    static func nodeName(volumeID: String) -> String { "vol-" + key(volumeID) }
    static func deviceID(volumeID: String) -> String { "disk-" + key(volumeID) }

    private static func key(_ volumeID: String) -> String {
        String(volumeID.replacingOccurrences(of: "-", with: "").prefix(20))
    }

    /// Refuses what this driver cannot reach: only `local` volumes, in raw or qcow2.
    static func check(_ volume: GuestVolume) throws {
        guard volume.driverType == "local" else {
            throw DriverError(
                "Volume \(volume.volumeID) has driver_volume_type '\(volume.driverType)'; "
                    + "the QEMU driver attaches only 'local' volumes.")
        }
        guard ["raw", "qcow2"].contains(volume.format) else {
            throw DriverError("Volume \(volume.volumeID) is in format '\(volume.format)', not raw or qcow2.")
        }
        guard volume.path.hasPrefix("/") else {
            throw DriverError("Volume \(volume.volumeID) has no absolute device path ('\(volume.path)').")
        }
    }

    /// The `blockdev-add` arguments (also `-blockdev`'s JSON form).
    static func blockdev(_ volume: GuestVolume) -> JSON {
        let protocolDriver = isBlockDevice(volume.path) ? "host_device" : "file"
        let readOnly = JSON.bool(volume.readOnly)
        return [
            "driver": .string(volume.format), "node-name": .string(nodeName(volume)), "read-only": readOnly,
            "file": ["driver": .string(protocolDriver), "filename": .string(volume.path), "read-only": readOnly],
        ]
    }

    /// The `device_add` arguments. The serial is the volume id, as Nova's: the guest reads
    /// its first 20 characters in `/sys/block/vdX/serial` (`/dev/disk/by-id/virtio-...`).
    static func device(_ volume: GuestVolume) -> JSON {
        [
            "driver": "virtio-blk-pci", "drive": .string(nodeName(volume)),
            "id": .string(deviceID(volumeID: volume.volumeID)), "serial": .string(volume.volumeID),
        ]
    }

    /// The `block_resize` arguments: the volume's node grown to `size` bytes.
    static func resize(_ volume: GuestVolume, size: Int64) -> JSON {
        ["node-name": .string(nodeName(volume)), "size": .int(Int(size))]
    }

    /// The size in bytes the guest sees of the volume's file or device (`qemu-img info`'s
    /// `virtual-size`), read even while a guest holds it open.
    static func virtualSize(_ volume: GuestVolume) async throws -> Int64 {
        let arguments = ["qemu-img", "info", "-U", "--output=json", "-f", volume.format, volume.path]
        return try virtualSize(info: try await HostCommand.run(arguments))
    }

    static func virtualSize(info: String) throws -> Int64 {
        guard let size = try JSON.parse(info)["virtual-size"]?.intValue else {
            throw DriverError("qemu-img info shows no virtual-size: \(info.prefix(200))")
        }
        return Int64(size)
    }

    /// The command-line arguments of a guest that starts with the volume.
    static func arguments(_ volume: GuestVolume) -> [String] {
        let id = volume.volumeID
        var device = "virtio-blk-pci,drive=\(nodeName(volume)),id=\(deviceID(volumeID: id)),serial=\(id)"
        if volume.isRoot { device += ",bootindex=1" }
        return ["-blockdev", blockdev(volume).serialized(), "-device", device]
    }

    private static func isBlockDevice(_ path: String) -> Bool {
        let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
        return type == .typeBlockSpecial
    }
}
