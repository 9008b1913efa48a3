import StratusCore

/// One `block_device_mapping_v2` item with a volume destination, as the server was created
/// with it (the items are kept as the client gave them in the instance's `block_devices`).
struct BlockDeviceRequest: Sendable, Equatable {
    var source: VolumeMapping.Source
    /// The volume, image or snapshot named; nil for a blank volume.
    var uuid: String?
    var bootIndex: Int?
    /// GiB; nil lets a snapshot's size decide.
    var volumeSize: Int?
    var deleteOnTermination: Bool
    var tag: String?

    /// The item, or nil when it is not a volume (`destination_type` `local`).
    init?(_ item: JSON) {
        guard (item["destination_type"]?.stringValue ?? "volume") == "volume",
            let source = item["source_type"]?.stringValue.flatMap(VolumeMapping.Source.init)
        else { return nil }
        self.source = source
        uuid = item["uuid"]?.stringValue?.lowercased()
        bootIndex = Self.int(item["boot_index"]).flatMap { $0 >= 0 ? $0 : nil }
        volumeSize = Self.int(item["volume_size"])
        let delete = item["delete_on_termination"]
        deleteOnTermination = delete?.boolValue ?? (delete?.stringValue?.lowercased() == "true")
        tag = item["tag"]?.stringValue
    }

    /// Nova takes numbers and numeric strings alike.
    private static func int(_ value: JSON?) -> Int? { value?.intValue ?? value?.stringValue.flatMap { Int($0) } }
}

extension Instance {
    /// The volumes the server was asked to have, the one it boots from first.
    var volumeRequests: [BlockDeviceRequest] {
        let requests = details.blockDevices.compactMap(BlockDeviceRequest.init)
        return requests.sorted { ($0.bootIndex ?? .max) < ($1.bootIndex ?? .max) }
    }

    var bootsFromVolume: Bool {
        details.volumes.contains(where: \.isRoot) || volumeRequests.contains { $0.bootIndex == 0 }
    }
}

extension BlockDeviceRequest {
    /// What Cinder is asked to make for the item: nil for an existing volume.
    func volumeToCreate(zone: String?) -> VolumeRequest? {
        guard source != .volume else { return nil }
        return VolumeRequest(
            size: volumeSize ?? 0, name: "", imageID: source == .image ? uuid : nil,
            snapshotID: source == .snapshot ? uuid : nil, availabilityZone: zone)
    }
}

extension Instance {
    /// The mapping of `request` to `volumeID`, on `/dev/vda` for the root and the next free
    /// device otherwise.
    func mapping(for request: BlockDeviceRequest, volumeID: String) -> VolumeMapping {
        var mapping = VolumeMapping(volumeID: volumeID, device: request.bootIndex == 0 ? "/dev/vda" : nextVolumeDevice)
        mapping.bootIndex = request.bootIndex
        mapping.deleteOnTermination = request.deleteOnTermination
        mapping.tag = request.tag
        mapping.source = request.source
        return mapping
    }
}
