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
        [
            "id": .string(instance.uuid), "name": .string(instance.name),
            "links": ComputeAPI.links(request, "servers", instance.uuid),
        ]
    }

    /// The show/detail view; `full: false` is the 2.1 update response, which has no extended attributes.
    /// `groups` (the server's group, shown from 2.71) is given by show, update and rebuild.
    func detail(_ instance: Instance, tags: [String] = [], full: Bool = true, groups: [String]? = nil) throws -> JSON {
        var out = JSONWriter()
        write(instance, to: &out, tags: tags, full: full, groups: groups)
        return try JSON.parse(out.bytes)
    }

    /// The same view written into `out`, as the detailed list writes each server of its page.
    func write(
        _ instance: Instance, to out: inout JSONWriter, tags: [String] = [], full: Bool = true, groups: [String]? = nil
    ) {
        let status = Self.status(vmState: instance.vmState, taskState: instance.taskState)
        out.object { view in
            view.field("id", instance.uuid)
            view.field("name", instance.name)
            view.field("status", status)
            view.field("tenant_id", instance.projectID)
            view.field("user_id", instance.userID)
            view.key("metadata")
            view.object { metadata in
                for (key, value) in instance.metadata.sorted(by: { $0.key < $1.key }) { metadata.field(key, value) }
            }
            view.field(
                "hostId",
                instance.host.flatMap { hostIDs[instance.projectID + "\u{0}" + $0] }
                    ?? Self.hostID(project: instance.projectID, host: instance.host))
            view.field("created", Timestamp.iso8601(instance.createdAt))
            view.field("updated", Timestamp.iso8601(instance.updatedAt))
            view.key("links")
            ComputeAPI.writeLinks(request, "servers", instance.uuid, to: &view)
            view.field("accessIPv4", instance.accessIPv4)
            view.field("accessIPv6", instance.accessIPv6)
            view.field("OS-DCF:diskConfig", instance.diskConfig)
            if ["ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"].contains(status) {
                view.field("progress", status == "ACTIVE" ? 100 : 0)
            }
            if instance.imageRef.isEmpty {
                view.field("image", "")
            } else {
                view.key("image")
                view.object { image in
                    image.field("id", instance.imageRef)
                    image.key("links")
                    let href = "\(request.baseURL)/images/\(instance.imageRef)"
                    ComputeAPI.write(links: [("bookmark", href)], to: &image)
                }
            }
            writeFlavor(instance, to: &view)
            view.field("addresses", addresses(instance, extended: full))
            if let fault = instance.fault, ["ERROR", "DELETED"].contains(status) {
                var shown = fault.objectValue ?? [:]
                if !isAdmin, (shown["code"]?.intValue ?? 500) >= 500 { shown["details"] = nil }
                view.field("fault", .object(shown))
            }
            if context.version(atLeast: 2, 19) { view.field("description", instance.description) }
            if context.version(atLeast: 2, 9) { view.field("locked", instance.locked) }
            if context.version(atLeast: 2, 73) { view.field("locked_reason", instance.lockedReason) }
            if context.version(atLeast: 2, 26) { view.field("tags", JSON(tags)) }
            if context.version(atLeast: 2, 63) { view.field("trusted_image_certificates", JSON.null) }
            if context.version(atLeast: 2, 71), let groups { view.field("server_groups", JSON(groups)) }
            if full || context.version(atLeast: 2, 75) { writeExtended(instance, to: &view) }
        }
    }

    private func writeFlavor(_ instance: Instance, to view: inout JSONWriter) {
        let flavor = instance.flavor
        view.key("flavor")
        view.object { embedded in
            guard context.version(atLeast: 2, 47) else {
                embedded.field("id", instance.flavorID)
                embedded.key("links")
                let href = "\(request.baseURL)/flavors/\(instance.flavorID)"
                ComputeAPI.write(links: [("bookmark", href)], to: &embedded)
                return
            }
            embedded.field("vcpus", flavor["vcpus"] ?? .int(instance.vcpus))
            embedded.field("ram", flavor["ram"] ?? .int(instance.memoryMB))
            embedded.field("disk", flavor["disk"] ?? .int(instance.rootGB))
            embedded.field("ephemeral", flavor["ephemeral"] ?? 0)
            embedded.field("swap", flavor["swap"] ?? 0)
            embedded.field("original_name", flavor["name"] ?? .string(instance.flavorID))
            embedded.field("extra_specs", flavor["extra_specs"] ?? [:])
        }
    }

    /// What the 2.1 update response leaves out.
    private func writeExtended(_ instance: Instance, to view: inout JSONWriter) {
        view.field("key_name", instance.keyName)
        // Nova leaves the key out for a server without security groups.
        if !instance.securityGroups.isEmpty {
            view.key("security_groups")
            view.array { groups in
                for name in instance.securityGroups { groups.object { $0.field("name", name) } }
            }
        }
        view.field("OS-SRV-USG:launched_at", instance.launchedAt.map(Timestamp.nova))
        view.field("OS-SRV-USG:terminated_at", instance.deletedAt.map(Timestamp.nova))
        view.field("OS-EXT-AZ:availability_zone", instance.availabilityZone ?? "")
        view.field("OS-EXT-STS:task_state", instance.taskState?.rawValue)
        view.field("OS-EXT-STS:vm_state", instance.vmState.rawValue)
        view.field("OS-EXT-STS:power_state", instance.powerState.rawValue)
        view.key("os-extended-volumes:volumes_attached")
        view.array { volumes in
            for volume in instance.volumes {
                volumes.object { attached in
                    attached.field("id", volume.volumeID)
                    if context.version(atLeast: 2, 3) {
                        attached.field("delete_on_termination", volume.deleteOnTermination)
                    }
                }
            }
        }
        view.field("config_drive", instance.configDrive ? "True" : "")
        if isAdmin {
            view.field("OS-EXT-SRV-ATTR:host", instance.host)
            view.field("OS-EXT-SRV-ATTR:hypervisor_hostname", instance.node)
            view.field("OS-EXT-SRV-ATTR:instance_name", Self.instanceName(instance.uuid))
            if context.version(atLeast: 2, 3) {
                view.field("OS-EXT-SRV-ATTR:reservation_id", instance.reservationID)
                view.field("OS-EXT-SRV-ATTR:launch_index", instance.launchIndex)
                view.field("OS-EXT-SRV-ATTR:hostname", instance.hostname ?? instance.name)
                view.field("OS-EXT-SRV-ATTR:kernel_id", "")
                view.field("OS-EXT-SRV-ATTR:ramdisk_id", "")
                view.field("OS-EXT-SRV-ATTR:root_device_name", "/dev/vda")
                view.field("OS-EXT-SRV-ATTR:user_data", instance.userData)
            }
        }
        if context.version(atLeast: 2, 16) {
            view.field("host_status", instance.host.map { hostStatus[$0] ?? "UP" } ?? "")
        }
    }

    static func instanceName(_ uuid: String) -> String { "instance-" + uuid.prefix(8) }

    func addresses(_ instance: Instance, extended: Bool) -> JSON {
        guard extended, case .object(let networks) = instance.addresses else {
            guard case .object(let networks) = instance.addresses else { return [:] }
            return .object(
                networks.mapValues { list in
                    .array((list.arrayValue ?? []).map { ["version": $0["version"] ?? 4, "addr": $0["addr"] ?? ""] })
                })
        }
        return .object(networks)
    }
}
