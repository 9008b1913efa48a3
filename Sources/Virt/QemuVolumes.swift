import Foundation
import StratusCore

/// How a Cinder volume appears in QEMU: a block node (a `raw` or `qcow2` format node over
/// the volume's file or block device) and a `virtio-blk-pci` device on it. The same node is
/// put on the command line of a guest that starts with the volume and hot-plugged over QMP
/// (`blockdev-add`) into a running one. The device is named after the volume id; the node
/// and secret after the volume whose data it holds (`nodeKey`, another one after a swap).
enum QemuVolumes {
    /// Block node names are at most 31 characters.
    static func nodeName(_ volume: GuestVolume) -> String { "vol-" + key(volume.nodeKey ?? volume.volumeID) }
    static func deviceID(volumeID: String) -> String { "disk-" + key(volumeID) }
    /// The `secret` object holding an encrypted volume's passphrase.
    static func secretID(_ volume: GuestVolume) -> String { "sec-" + key(volume.nodeKey ?? volume.volumeID) }
    /// The block job that mirrors the volume's disk onto another during a swap.
    static func mirrorJobID(volumeID: String) -> String { "mirror-" + key(volumeID) }

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

    /// The `blockdev-add` arguments (also `-blockdev`'s JSON form). An encrypted volume is
    /// opened with its secret: QEMU's `luks` over raw data, or qcow2's LUKS.
    static func blockdev(_ volume: GuestVolume) -> JSON {
        let protocolDriver = isBlockDevice(volume.path) ? "host_device" : "file"
        let readOnly = JSON.bool(volume.readOnly)
        var node: [String: JSON] = [
            "driver": .string(volume.format), "node-name": .string(nodeName(volume)), "read-only": readOnly,
            "file": ["driver": .string(protocolDriver), "filename": .string(volume.path), "read-only": readOnly],
        ]
        if volume.encryptionKeyID != nil {
            let secret = JSON.string(secretID(volume))
            if volume.format == "raw" {
                node["driver"] = "luks"
                node["key-secret"] = secret
            } else {
                node["encrypt"] = ["format": "luks", "key-secret": secret]
            }
        }
        return .object(node)
    }

    /// The `object-add` arguments of an encrypted volume's secret.
    static func secretObject(_ volume: GuestVolume, passphrase: String) -> JSON {
        [
            "qom-type": "secret", "id": .string(secretID(volume)),
            "data": .string(Data(passphrase.utf8).base64EncodedString()), "format": "base64",
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

    /// Cinder's front-end QoS keys (as Nova's libvirt driver reads them) and QEMU's throttle names.
    static let throttleNames: [(cinder: String, qemu: String)] = [
        ("total_bytes_sec", "bps"), ("read_bytes_sec", "bps_rd"), ("write_bytes_sec", "bps_wr"),
        ("total_iops_sec", "iops"), ("read_iops_sec", "iops_rd"), ("write_iops_sec", "iops_wr"),
        ("total_bytes_sec_max", "bps_max"), ("read_bytes_sec_max", "bps_rd_max"),
        ("write_bytes_sec_max", "bps_wr_max"), ("total_iops_sec_max", "iops_max"),
        ("read_iops_sec_max", "iops_rd_max"), ("write_iops_sec_max", "iops_wr_max"),
        ("total_bytes_sec_max_length", "bps_max_length"), ("read_bytes_sec_max_length", "bps_rd_max_length"),
        ("write_bytes_sec_max_length", "bps_wr_max_length"), ("total_iops_sec_max_length", "iops_max_length"),
        ("read_iops_sec_max_length", "iops_rd_max_length"), ("write_iops_sec_max_length", "iops_wr_max_length"),
        ("size_iops_sec", "iops_size"),
    ]

    /// The `block_set_io_throttle` arguments for the volume's QoS specs, or nil when it has
    /// none. QEMU refuses a total limit next to a read or write one, and a burst (`_max`)
    /// without its base limit or below it: a total wins, such bursts are left out.
    static func throttle(_ volume: GuestVolume) -> JSON? {
        let specs = volume.qosSpecs ?? [:]
        var limits: [String: Int] = [:]
        for (cinder, qemu) in throttleNames { if let value = specs[cinder], value > 0 { limits[qemu] = value } }
        guard !limits.isEmpty else { return nil }
        for base in ["bps", "iops"] where limits[base] != nil {
            for key in limits.keys where key.hasPrefix(base + "_rd") || key.hasPrefix(base + "_wr") {
                limits[key] = nil
            }
        }
        for base in ["bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"] {
            guard let burst = limits[base + "_max"] else { continue }
            if burst < limits[base] ?? .max { limits[base + "_max"] = nil }
            if limits[base + "_max"] == nil { limits[base + "_max_length"] = nil }
        }
        // The limits belong to the block backend of the virtio device inside the PCI proxy.
        var arguments: [String: JSON] = ["id": .string(deviceID(volumeID: volume.volumeID) + "/virtio-backend")]
        for key in ["bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"] { arguments[key] = .int(0) }
        for (key, value) in limits { arguments[key] = .int(value) }
        return .object(arguments)
    }

    /// The `block_resize` arguments: the volume's node grown to `size` bytes.
    static func resize(_ volume: GuestVolume, size: Int64) -> JSON {
        ["node-name": .string(nodeName(volume)), "size": .int(Int(size))]
    }

    /// The `blockdev-mirror` arguments: a full copy of `old`'s node onto `new`'s, as one job.
    static func mirror(from old: GuestVolume, to new: GuestVolume) -> JSON {
        [
            "job-id": .string(mirrorJobID(volumeID: old.volumeID)), "device": .string(nodeName(old)),
            "target": .string(nodeName(new)), "sync": "full",
        ]
    }

    /// The size in bytes the guest sees of the volume's file or device (`qemu-img info`'s
    /// `virtual-size`), read even while a guest holds it open.
    static func virtualSize(_ volume: GuestVolume) async throws -> Int64 {
        let format = volume.encryptionKeyID == nil ? volume.format : LuksImage.diskFormat(volume.format)
        let arguments = ["qemu-img", "info", "-U", "--output=json", "-f", format, volume.path]
        return try virtualSize(info: try await HostCommand.run(arguments))
    }

    static func virtualSize(info: String) throws -> Int64 {
        guard let size = try JSON.parse(info)["virtual-size"]?.intValue else {
            throw DriverError("qemu-img info shows no virtual-size: \(info.prefix(200))")
        }
        return Int64(size)
    }

    /// The command-line arguments of a guest that starts with the volume; an encrypted one
    /// reads its passphrase from `secretFile`.
    static func arguments(_ volume: GuestVolume, secretFile: String? = nil) -> [String] {
        let id = volume.volumeID
        var device = "virtio-blk-pci,drive=\(nodeName(volume)),id=\(deviceID(volumeID: id)),serial=\(id)"
        if volume.isRoot { device += ",bootindex=1" }
        var arguments: [String] = []
        if let secretFile {
            let file = secretFile.replacingOccurrences(of: ",", with: ",,")
            arguments += ["-object", "secret,id=\(secretID(volume)),file=\(file),format=raw"]
        }
        return arguments + ["-blockdev", blockdev(volume).serialized(), "-device", device]
    }

    private static func isBlockDevice(_ path: String) -> Bool {
        let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
        return type == .typeBlockSpecial
    }
}
