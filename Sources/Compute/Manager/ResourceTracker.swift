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
        do {
            try await clients.placement.ensureProvider(uuid: uuid, name: host)
            let reservedMemory = min(settings.reservedHostMemoryMB, resources.memoryMB - 1)
            try await clients.placement.setInventories(of: uuid, [
                "VCPU": ProviderInventory(total: resources.vcpus, allocationRatio: settings.cpuAllocationRatio),
                "MEMORY_MB": ProviderInventory(
                    total: resources.memoryMB, reserved: reservedMemory, allocationRatio: settings.ramAllocationRatio),
                "DISK_GB": ProviderInventory(total: resources.diskGB, allocationRatio: settings.diskAllocationRatio),
            ])
        } catch let fault as ServiceFault {
            throw DriverFacingError("Placement refused provider \(host): \(fault.message)")
        }
        await logger.bestEffort("reporting the traits of \(host)") {
            try await clients.placement.setTraits(of: uuid, resources.traits + ["COMPUTE_NODE"])
        }
        return uuid
    }
}
