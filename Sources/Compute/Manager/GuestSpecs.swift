import Foundation
import StratusCore
import Virt

extension ComputeManager {
    /// What the driver is given to start a server: the flavor's sizes, the cached base image,
    /// the kernel and ramdisk of an AMI-style image (`kernel_id`, `ramdisk_id`,
    /// `os_command_line`), and the config drive a guest reads its keys and addresses from.
    func guestSpec(_ instance: Instance, flavor: JSON, imagePath: String?, ports: [GuestPort]) async throws -> GuestSpec {
        var spec = GuestSpec(
            uuid: instance.uuid, name: ServerView.instanceName(instance.uuid), vcpus: flavor["vcpus"]?.intValue ?? instance.vcpus,
            memoryMB: flavor["ram"]?.intValue ?? instance.memoryMB, rootGB: flavor["disk"]?.intValue ?? instance.rootGB,
            imagePath: imagePath, ports: ports, userData: instance.userData)
        spec.volumes = try await guestVolumes(instance)
        // The fake driver has no guest to boot a kernel or read a drive.
        guard driver.name != "fake" else { return spec }
        let properties = instance.image["properties"]
        if let kernel = properties?["kernel_id"]?.stringValue, !kernel.isEmpty { spec.kernelPath = try await cache.fetch(kernel) }
        if let ramdisk = properties?["ramdisk_id"]?.stringValue, !ramdisk.isEmpty { spec.ramdiskPath = try await cache.fetch(ramdisk) }
        spec.kernelArgs = properties?["os_command_line"]?.stringValue
        if settings.forceConfigDrive || instance.configDrive {
            spec.configDrive = try await ConfigDrive.files(instance, clients: clients)
        }
        return spec
    }
}

/// The files of Nova's config drive: the metadata service's documents, for guests that
/// read them from a disk instead of over the network.
enum ConfigDrive {
    static func files(_ instance: Instance, clients: ServiceClients) async throws -> [String: String] {
        var files = [
            "openstack/latest/meta_data.json": MetadataDocuments.metaData(instance).serialized(),
            "openstack/latest/network_data.json": try await MetadataDocuments.networkData(instance: instance.uuid, clients: clients).serialized(),
            "openstack/latest/vendor_data.json": "{}", "openstack/latest/vendor_data2.json": "{}",
            "ec2/latest/meta-data.json": MetadataDocuments.ec2(instance).serialized(),
        ]
        if let encoded = instance.userData, let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) {
            let text = String(decoding: data, as: UTF8.self)
            files["openstack/latest/user_data"] = text
            files["ec2/latest/user-data"] = text
        }
        return files
    }
}

extension GuestPort {
    /// The interface of a Neutron port.
    init(_ port: NetworkPort) {
        self.init(id: port.id, mac: port.macAddress, network: port.networkID)
    }
}
