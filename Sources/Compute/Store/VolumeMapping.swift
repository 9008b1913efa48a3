import StratusCore

/// One of a server's Cinder volumes (Nova's volume block-device mapping), kept in the
/// instance's doc under `volumes`: the device the API named, the attachment that holds the
/// volume, and once a host attached it, how the host reaches its disk.
struct VolumeMapping: Sendable, Equatable {
    /// Where the volume's content came from (`block_device_mapping_v2` `source_type`).
    enum Source: String, Sendable {
        case volume, image, snapshot, blank
    }

    var volumeID: String
    /// Cinder's attachment; nil between the mapping's creation and the reservation.
    var attachmentID: String?
    /// `/dev/vdb` ...
    var device: String
    var deleteOnTermination = false
    var tag: String?
    /// 0 for the volume the server boots from; nil for data volumes.
    var bootIndex: Int?
    var source = Source.volume
    /// How the host reached the disk when it attached it; nil until then.
    var connection: VolumeConnection?
    /// The swap Block Storage's migration asked for, until it ends.
    var swap: VolumeSwap?

    init(volumeID: String, device: String) {
        self.volumeID = volumeID
        self.device = device
    }

    init?(_ doc: JSON) {
        guard let id = doc["volume_id"]?.stringValue, let device = doc["device_name"]?.stringValue else { return nil }
        self.init(volumeID: id, device: device)
        attachmentID = doc["attachment_id"]?.stringValue
        deleteOnTermination = doc["delete_on_termination"]?.boolValue ?? false
        tag = doc["tag"]?.stringValue
        bootIndex = doc["boot_index"]?.intValue
        source = doc["source_type"]?.stringValue.flatMap(Source.init) ?? .volume
        connection = doc["connection_info"].flatMap(VolumeConnection.init(nested:))
        swap = doc["swap"].flatMap(VolumeSwap.init)
    }

    var document: JSON {
        var doc: [String: JSON] = [
            "volume_id": .string(volumeID), "device_name": .string(device),
            "delete_on_termination": .bool(deleteOnTermination), "source_type": .string(source.rawValue),
        ]
        if let attachmentID { doc["attachment_id"] = .string(attachmentID) }
        if let tag { doc["tag"] = .string(tag) }
        if let bootIndex { doc["boot_index"] = .int(bootIndex) }
        if let connection { doc["connection_info"] = connection.nested }
        if let swap { doc["swap"] = swap.document }
        return .object(doc)
    }

    var isRoot: Bool { bootIndex == 0 }
}

/// A volume swap under way: the volume whose data the guest is to use, the attachment Nova
/// made for it and, once this host connected it, how the host reaches it; `pivoted` once the
/// guest writes to it.
struct VolumeSwap: Sendable, Equatable {
    var volumeID: String
    var attachmentID: String
    var connection: VolumeConnection?
    var pivoted = false

    init(volumeID: String, attachmentID: String) {
        self.volumeID = volumeID
        self.attachmentID = attachmentID
    }

    init?(_ doc: JSON) {
        guard let volume = doc["volume_id"]?.stringValue, let attachment = doc["attachment_id"]?.stringValue else {
            return nil
        }
        self.init(volumeID: volume, attachmentID: attachment)
        connection = doc["connection_info"].flatMap(VolumeConnection.init(nested:))
        pivoted = doc["pivoted"]?.boolValue ?? false
    }

    var document: JSON {
        var doc: [String: JSON] = [
            "volume_id": .string(volumeID), "attachment_id": .string(attachmentID), "pivoted": .bool(pivoted),
        ]
        if let connection { doc["connection_info"] = connection.nested }
        return .object(doc)
    }
}

extension Instance {
    /// The mapping of a volume, if the server has it.
    func volumeMapping(_ volumeID: String) -> VolumeMapping? {
        details.volumes.first { $0.volumeID == volumeID }
    }

    /// The next free `/dev/vdX`: after the root disk (`vda`), the flavor's ephemeral and
    /// swap disks, and the volumes already mapped.
    var nextVolumeDevice: String {
        var index = 1
        if (details.flavor["ephemeral"]?.intValue ?? 0) > 0 { index += 1 }
        if (details.flavor["swap"]?.intValue ?? 0) > 0 { index += 1 }
        let used = Set(details.volumes.map(\.device))
        while used.contains(Self.diskName(index)) { index += 1 }
        return Self.diskName(index)
    }

    /// `/dev/vda` for 0, then `vdb` ... `vdz`, `vdaa` ..., as Linux names virtio disks.
    static func diskName(_ index: Int) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var name = ""
        var rest = index
        repeat {
            name = String(letters[rest % 26]) + name
            rest = rest / 26 - 1
        } while rest >= 0
        return "/dev/vd" + name
    }
}
