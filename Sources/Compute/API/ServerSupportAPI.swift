import Foundation
import Hummingbird
import StratusCore
import Virt

extension ComputeAPI {
    /// Diagnostics (admin) and the server password the guest posts to the metadata service.
    func registerServerSupport(on router: RouterGroup<StratusContext>) {
        router.get("/servers/:id/diagnostics") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-server-diagnostics")
            guard let host = instance.host, [.active, .paused, .suspended, .rescued, .stopped].contains(instance.vmState) else {
                throw APIError.conflict("Cannot 'get_diagnostics' instance \(instance.uuid) while it is in vm_state \(instance.vmState)")
            }
            let raw = try await self.bus.call(ComputeRPC.diagnostics, on: host, InstanceRef(instance.uuid)).mapValues { JSON.int($0) }
            guard context.version(atLeast: 2, 48) else { return .json(.object(raw)) }
            let memory = raw["memory"]?.intValue ?? instance.memoryMB * 1024
            return .json([
                "state": .string(Self.powerStateName(instance.powerState)), "driver": "libvirt",
                "hypervisor": .string(raw["hypervisor"]?.stringValue ?? "fake"), "hypervisor_os": .string(raw["hypervisor_os"]?.stringValue ?? "linux"),
                "uptime": .int(Int(Date().timeIntervalSince(instance.launchedAt ?? instance.createdAt))), "config_drive": .bool(instance.configDrive),
                "num_cpus": .int(instance.vcpus), "num_nics": .int(instance.portIDs.count), "num_disks": 1,
                "cpu_details": .array((0..<instance.vcpus).map { ["id": .int($0), "time": raw["cpu\($0)_time"] ?? 0, "utilisation": .null] }),
                "nic_details": .array(instance.portIDs.map { _ in
                    ["mac_address": .null, "rx_octets": 0, "rx_errors": 0, "rx_drop": 0, "rx_packets": 0, "rx_rate": .null,
                     "tx_octets": 0, "tx_errors": 0, "tx_drop": 0, "tx_packets": 0, "tx_rate": .null]
                }),
                "disk_details": [["read_bytes": raw["vda_read"] ?? 0, "read_requests": 0, "write_bytes": raw["vda_write"] ?? 0, "write_requests": 0, "errors_count": 0]],
                "memory_details": ["maximum": .int(memory / 1024), "used": .int(memory / 1024)],
            ])
        }
        router.get("/servers/:id/os-server-password") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-server-password:show")
            return .json(["password": .string(instance.password ?? "")])
        }
        router.delete("/servers/:id/os-server-password") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-server-password:clear")
            try await self.instances.update(instance.uuid) { $0.password = nil }
            return Response(status: .noContent)
        }
    }

    static func powerStateName(_ state: PowerState) -> String {
        switch state {
        case .running: return "running"
        case .paused: return "paused"
        case .shutdown: return "shutdown"
        case .crashed: return "crashed"
        case .suspended: return "suspended"
        case .noState: return "pending"
        }
    }
}
