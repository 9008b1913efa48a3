import Crypto
import Foundation
import Hummingbird
import StratusCore

/// How a server looks in responses, by microversion and by who is asking.
struct ServerView {
    let request: Request
    let context: StratusContext
    let isAdmin: Bool
    /// Whether a service is down, by host (`host_status` from 2.16).
    var hostStatus: [String: String] = [:]
    /// `hostId`s already computed, by project and host (a list repeats a few pairs).
    var hostIDs: [String: String] = [:]

    /// Computes the `hostId` of every project and host pair of a page once.
    mutating func prepareHostIDs(_ instances: [Instance]) {
        for instance in instances {
            guard let host = instance.host else { continue }
            let key = instance.projectID + "\u{0}" + host
            if hostIDs[key] == nil { hostIDs[key] = Self.hostID(project: instance.projectID, host: host) }
        }
    }

    static func status(vmState: VMState, taskState: TaskState?) -> String {
        switch vmState {
        case .building: return "BUILD"
        case .active:
            switch taskState {
            case .rebooting, .rebootPending, .rebootStarted: return "REBOOT"
            case .rebootingHard, .rebootPendingHard, .rebootStartedHard: return "HARD_REBOOT"
            case .rebuilding, .rebuildBlockDeviceMapping, .rebuildSpawning: return "REBUILD"
            case .resizePrep, .resizeMigrating, .resizeMigrated, .resizeFinish: return "RESIZE"
            case .migrating: return "MIGRATING"
            case .updatingPassword: return "PASSWORD"
            default: return "ACTIVE"
            }
        case .stopped:
            switch taskState {
            case .resizePrep, .resizeMigrating, .resizeMigrated, .resizeFinish: return "RESIZE"
            case .rebuilding, .rebuildBlockDeviceMapping, .rebuildSpawning: return "REBUILD"
            default: return "SHUTOFF"
            }
        case .paused: return "PAUSED"
        case .suspended: return "SUSPENDED"
        case .rescued: return "RESCUE"
        case .resized: return "VERIFY_RESIZE"
        case .softDeleted: return "SOFT_DELETED"
        case .shelved: return "SHELVED"
        case .shelvedOffloaded: return "SHELVED_OFFLOADED"
        case .error: return "ERROR"
        case .deleted: return "DELETED"
        }
    }

    /// Nova's `hostId`: a hash of project and host, so projects can tell co-location apart
    /// without learning host names.
    static func hostID(project: String, host: String?) -> String {
        guard let host, !host.isEmpty else { return "" }
        return String(SHA256.hash(data: Data((project + host).utf8)).hexEncoded().prefix(56))
    }

    func brief(_ instance: Instance) -> JSON {
        ["id": .string(instance.uuid), "name": .string(instance.name), "links": ComputeAPI.links(request, "servers", instance.uuid)]
    }

    /// The show/detail view; `full: false` is the 2.1 update response, which has no extended attributes.
    /// `groups` (the server's group, shown from 2.71) is given by show, update and rebuild.
    func detail(_ instance: Instance, tags: [String] = [], full: Bool = true, groups: [String]? = nil) -> JSON {
        let status = Self.status(vmState: instance.vmState, taskState: instance.taskState)
        var view: [String: JSON] = [
            "id": .string(instance.uuid), "name": .string(instance.name), "status": .string(status),
            "tenant_id": .string(instance.projectID), "user_id": .string(instance.userID),
            "metadata": .object(instance.metadata.mapValues { .string($0) }),
            "hostId": .string(instance.host.flatMap { hostIDs[instance.projectID + "\u{0}" + $0] } ?? Self.hostID(project: instance.projectID, host: instance.host)),
            "created": .string(Timestamp.iso8601(instance.createdAt)), "updated": .string(Timestamp.iso8601(instance.updatedAt)),
            "links": ComputeAPI.links(request, "servers", instance.uuid),
            "accessIPv4": .string(instance.accessIPv4), "accessIPv6": .string(instance.accessIPv6),
            "OS-DCF:diskConfig": .string(instance.diskConfig),
        ]
        if ["ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"].contains(status) {
            view["progress"] = .int(status == "ACTIVE" ? 100 : 0)
        }
        view["image"] = instance.imageRef.isEmpty
            ? ""
            : ["id": .string(instance.imageRef), "links": [["rel": "bookmark", "href": .string("\(request.baseURL)/images/\(instance.imageRef)")]]]
        let flavor = instance.flavor
        if context.version(atLeast: 2, 47) {
            var embedded: [String: JSON] = [
                "vcpus": flavor["vcpus"] ?? .int(instance.vcpus), "ram": flavor["ram"] ?? .int(instance.memoryMB),
                "disk": flavor["disk"] ?? .int(instance.rootGB), "ephemeral": flavor["ephemeral"] ?? 0, "swap": flavor["swap"] ?? 0,
                "original_name": flavor["name"] ?? .string(instance.flavorID),
            ]
            embedded["extra_specs"] = flavor["extra_specs"] ?? [:]
            view["flavor"] = .object(embedded)
        } else {
            view["flavor"] = [
                "id": .string(instance.flavorID), "links": [["rel": "bookmark", "href": .string("\(request.baseURL)/flavors/\(instance.flavorID)")]],
            ]
        }
        view["addresses"] = addresses(instance, extended: full)
        if let fault = instance.fault, ["ERROR", "DELETED"].contains(status) {
            var shown = fault.objectValue ?? [:]
            if !isAdmin, (shown["code"]?.intValue ?? 500) >= 500 { shown["details"] = nil }
            view["fault"] = .object(shown)
        }
        if context.version(atLeast: 2, 19) { view["description"] = JSON(instance.description) }
        if context.version(atLeast: 2, 9) { view["locked"] = .bool(instance.locked) }
        if context.version(atLeast: 2, 73) { view["locked_reason"] = JSON(instance.lockedReason) }
        if context.version(atLeast: 2, 26) { view["tags"] = JSON(tags) }
        if context.version(atLeast: 2, 63) { view["trusted_image_certificates"] = .null }
        if context.version(atLeast: 2, 71), let groups { view["server_groups"] = JSON(groups) }
        guard full || context.version(atLeast: 2, 75) else { return .object(view) }

        view["key_name"] = JSON(instance.keyName)
        // Nova leaves the key out for a server without security groups.
        if !instance.securityGroups.isEmpty { view["security_groups"] = .array(instance.securityGroups.map { ["name": .string($0)] }) }
        view["OS-SRV-USG:launched_at"] = JSON(instance.launchedAt.map(Timestamp.nova))
        view["OS-SRV-USG:terminated_at"] = JSON(instance.deletedAt.map(Timestamp.nova))
        view["OS-EXT-AZ:availability_zone"] = .string(instance.availabilityZone ?? "")
        view["OS-EXT-STS:task_state"] = JSON(instance.taskState?.rawValue)
        view["OS-EXT-STS:vm_state"] = .string(instance.vmState.rawValue)
        view["OS-EXT-STS:power_state"] = .int(instance.powerState.rawValue)
        view["os-extended-volumes:volumes_attached"] = .array(
            instance.volumes.map { volume in
                var attached: [String: JSON] = ["id": .string(volume.volumeID)]
                if context.version(atLeast: 2, 3) {
                    attached["delete_on_termination"] = .bool(volume.deleteOnTermination)
                }
                return .object(attached)
            })
        view["config_drive"] = .string(instance.configDrive ? "True" : "")
        if isAdmin {
            view["OS-EXT-SRV-ATTR:host"] = JSON(instance.host)
            view["OS-EXT-SRV-ATTR:hypervisor_hostname"] = JSON(instance.node)
            view["OS-EXT-SRV-ATTR:instance_name"] = .string(Self.instanceName(instance.uuid))
            if context.version(atLeast: 2, 3) {
                view["OS-EXT-SRV-ATTR:reservation_id"] = .string(instance.reservationID)
                view["OS-EXT-SRV-ATTR:launch_index"] = .int(instance.launchIndex)
                view["OS-EXT-SRV-ATTR:hostname"] = .string(instance.hostname ?? instance.name)
                view["OS-EXT-SRV-ATTR:kernel_id"] = ""
                view["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
                view["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
                view["OS-EXT-SRV-ATTR:user_data"] = JSON(instance.userData)
            }
        }
        if context.version(atLeast: 2, 16), let host = instance.host {
            view["host_status"] = .string(hostStatus[host] ?? "UP")
        } else if context.version(atLeast: 2, 16) {
            view["host_status"] = ""
        }
        return .object(view)
    }

    static func instanceName(_ uuid: String) -> String { "instance-" + uuid.prefix(8) }

    func addresses(_ instance: Instance, extended: Bool) -> JSON {
        guard extended, case .object(let networks) = instance.addresses else {
            guard case .object(let networks) = instance.addresses else { return [:] }
            return .object(networks.mapValues { list in
                .array((list.arrayValue ?? []).map { ["version": $0["version"] ?? 4, "addr": $0["addr"] ?? ""] })
            })
        }
        return .object(networks)
    }
}
