import Foundation
import Logging
import StratusCore
import Virt

/// Reports a host to Placement (its resource provider, inventory and traits) and to the
/// compute database (its node record), as Nova's resource tracker does.
struct ResourceTracker: Sendable {
    let host: String
    let driver: any HypervisorDriver
    let records: ServiceRecords
    let clients: ServiceClients
    let settings: ComputeSettings
    let logger: Logger

    /// Returns the node's UUID, which is also its resource provider's.
    @discardableResult
    func report() async throws -> String {
        let resources = try await driver.hostResources()
        let uuid = try await records.saveNode(host: host, doc: [
            "hypervisor_hostname": .string(host), "vcpus": .int(resources.vcpus), "memory_mb": .int(resources.memoryMB),
            "local_gb": .int(resources.diskGB), "hypervisor_type": .string(resources.hypervisorType),
            "hypervisor_version": .int(resources.hypervisorVersion), "cpu_info": .string(resources.cpuInfo), "host_ip": "127.0.0.1",
        ])
        var provider = try await clients.placement.get("/resource_providers/\(uuid)")
        if provider.status == 404 {
            let created = try await clients.placement.send(.POST, "/resource_providers", body: ["uuid": .string(uuid), "name": .string(host)])
            guard created.ok || created.status == 409 else { throw DriverFacingError("Placement refused provider \(host): \(created.faultMessage)") }
            provider = try await clients.placement.get("/resource_providers/\(uuid)")
        }
        let inventories: JSON = [
            "VCPU": Self.inventory(total: resources.vcpus, reserved: 0, ratio: settings.cpuAllocationRatio),
            "MEMORY_MB": Self.inventory(total: resources.memoryMB, reserved: min(settings.reservedHostMemoryMB, resources.memoryMB - 1), ratio: settings.ramAllocationRatio),
            "DISK_GB": Self.inventory(total: resources.diskGB, reserved: 0, ratio: settings.diskAllocationRatio),
        ]
        try await putWithGeneration(uuid, path: "/resource_providers/\(uuid)/inventories", key: "inventories", value: inventories)
        let traits = resources.traits + ["COMPUTE_NODE"]
        do {
            try await putWithGeneration(uuid, path: "/resource_providers/\(uuid)/traits", key: "traits", value: JSON(traits))
        } catch {
            logger.warning("traits of \(host) not reported: \(error)")
        }
        return uuid
    }

    static func inventory(total: Int, reserved: Int, ratio: Double) -> JSON {
        ["total": .int(total), "reserved": .int(reserved), "min_unit": 1, "max_unit": .int(total), "step_size": 1, "allocation_ratio": .double(ratio)]
    }

    /// A PUT guarded by the provider generation, retried when another writer got there first.
    private func putWithGeneration(_ uuid: String, path: String, key: String, value: JSON) async throws {
        for _ in 0..<5 {
            let provider = try await clients.placement.get("/resource_providers/\(uuid)")
            let generation = provider.body["generation"]?.intValue ?? 0
            let reply = try await clients.placement.send(.PUT, path, body: ["resource_provider_generation": .int(generation), .init(key): value])
            if reply.ok { return }
            guard reply.status == 409 else { throw DriverFacingError("Placement refused \(path): \(reply.status) \(reply.faultMessage)") }
        }
        throw DriverFacingError("Placement kept refusing \(path) with generation conflicts")
    }
}
