import Foundation
import Logging
import SQLKit
import StratusCore
import Virt

/// nova-compute for one host: builds, deletes and operates servers through its driver,
/// listening on `compute.<host>`. Every step is written to the instance row before it is
/// taken, so a restart knows where a build stopped (see `recover`).
struct ComputeManager: Sendable {
    let host: String
    let driver: any HypervisorDriver
    let db: Database
    let instances: InstanceStore
    let actions: InstanceActions
    let bus: any BusTransport
    let clients: ServiceClients
    let cache: ImageCache
    let events: EventWaiter
    let settings: ComputeSettings
    /// Whether builds wait for Neutron's `network-vif-plugged` (hosts with a bridge agent).
    let waitsForNetwork: Bool
    let logger: Logger

    var cleanup: ComputeCleanup { ComputeCleanup(clients: clients, instances: instances, logger: logger) }

    func listen() async throws {
        try await bus.listen(handlers, server: host)
    }

    /// One handler per method of `ComputeRPC`.
    var handlers: RPCHandlers {
        var rpc = RPCHandlers(topic: ComputeRPC.topic)
        rpc.on(ComputeRPC.buildAndRun) { await build($0.instance); return NoReply() }
        rpc.on(ComputeRPC.terminate) { await terminate($0.instance); return NoReply() }
        rpc.on(ComputeRPC.reboot) { args in
            await operate(args.instance, action: "reboot", event: "compute_reboot_instance", final: (.active, .running)) {
                try await driver.reboot(args.instance, hard: args.hard)
            }
            return NoReply()
        }
        powerOperation(&rpc, ComputeRPC.stop, "stop", final: (.stopped, .shutdown)) { try await driver.powerOff($0) }
        powerOperation(&rpc, ComputeRPC.start, "start", final: (.active, .running)) { try await driver.powerOn($0) }
        powerOperation(&rpc, ComputeRPC.pause, "pause", final: (.paused, .paused)) { try await driver.pause($0) }
        powerOperation(&rpc, ComputeRPC.unpause, "unpause", final: (.active, .running)) { try await driver.unpause($0) }
        powerOperation(&rpc, ComputeRPC.suspend, "suspend", final: (.suspended, .suspended)) {
            try await driver.suspend($0)
        }
        powerOperation(&rpc, ComputeRPC.resume, "resume", final: (.active, .running)) { try await driver.resume($0) }
        powerOperation(&rpc, ComputeRPC.unrescue, "unrescue", final: (.active, .running)) {
            try await driver.unrescue($0)
        }
        powerOperation(&rpc, ComputeRPC.triggerCrashDump, "trigger_crash_dump", event: "compute_trigger_crash_dump", final: nil) {
            try await driver.triggerCrashDump($0)
        }
        powerOperation(&rpc, ComputeRPC.softDelete, "delete", event: "compute_soft_delete_instance", final: (.softDeleted, .shutdown)) {
            if await driver.powerState($0) != .shutdown { try await driver.powerOff($0) }
        }
        powerOperation(&rpc, ComputeRPC.restore, "restore", final: (.active, .running)) { try await driver.powerOn($0) }
        rpc.on(ComputeRPC.rescue) { args in
            await operate(args.instance, action: "rescue", event: "compute_rescue_instance", final: (.rescued, .running)) {
                var ref = args.image ?? ""
                if ref.isEmpty { ref = try await instances.get(args.instance)?.imageRef ?? "" }
                try await driver.rescue(args.instance, imagePath: ref.isEmpty ? nil : try await cache.fetch(ref))
            }
            return NoReply()
        }
        rpc.on(ComputeRPC.setAdminPassword) { args in
            await operate(args.instance, action: "changePassword", event: "compute_set_admin_password", final: nil) {
                try await driver.setAdminPassword(args.instance, password: args.password)
            }
            return NoReply()
        }
        rpc.on(ComputeRPC.attachInterface) { await attachInterface($0) }
        rpc.on(ComputeRPC.detachInterface) { await detachInterface($0.instance, portID: $0.port) }
        rpc.on(ComputeRPC.attachVolume) { await attachVolume($0); return NoReply() }
        rpc.on(ComputeRPC.detachVolume) { await detachVolume($0); return NoReply() }
        rpc.on(ComputeRPC.swapVolume) { await swapVolume($0); return NoReply() }
        rpc.on(ComputeRPC.rebuild) { await rebuild($0.instance); return NoReply() }
        rpc.on(ComputeRPC.snapshot) { args in
            await snapshot(args.instance, imageID: args.image, backupType: args.backupType, rotation: args.rotation)
            return NoReply()
        }
        rpc.on(ComputeRPC.diagnostics) { try await driver.diagnostics($0.instance) }
        rpc.on(ComputeRPC.consoleOutput) { ConsoleOutput(output: try await driver.consoleOutput($0.instance)) }
        rpc.on(ComputeRPC.cacheImages) { args in
            for image in args.images {
                await logger.bestEffort("caching image \(image) on \(host)") { _ = try await cache.fetch(image) }
            }
            return NoReply()
        }
        rpc.on(ComputeRPC.externalEvent) { event in
            if event.name == "network-changed" { await refreshNetworkInfo(event.instance) }
            if event.name == "volume-extended", let volume = event.tag { await extendVolume(event.instance, volume) }
            await events.deliver(instance: event.instance, key: event.key)
            return NoReply()
        }
        addMoveHandlers(to: &rpc)
        addShelveHandlers(to: &rpc)
        return rpc
    }

    /// A method that runs one driver operation on the server: `compute_<action>_instance`.
    private func powerOperation(
        _ rpc: inout RPCHandlers, _ method: RPCMethod<InstanceRef, NoReply>, _ action: String, event: String? = nil,
        final: (VMState, PowerState)?, _ work: @escaping @Sendable (String) async throws -> Void
    ) {
        let event = event ?? "compute_\(action)_instance"
        rpc.on(method) { args in
            await operate(args.instance, action: action, event: event, final: final) { try await work(args.instance) }
            return NoReply()
        }
    }

    // MARK: action events

    /// The server's action history (`os-instance-actions`) is worth less than the operation it
    /// describes: failing to write an event is logged, and the operation goes on.
    func eventStarted(_ event: String, action: String, instance: String) async {
        await logger.bestEffort("recording the start of \(event) for \(instance)") {
            try await actions.startEvent(event, action: action, instance: instance, host: host)
        }
    }

    func eventFinished(_ event: String, action: String, instance: String, error: String? = nil) async {
        await logger.bestEffort("recording the end of \(event) for \(instance)") {
            try await actions.finishEvent(event, action: action, instance: instance, error: error)
        }
    }

    // MARK: build

    func build(_ uuid: String) async {
        let found = await logger.bestEffort("reading instance \(uuid) to build it") { try await instances.get(uuid) }
        guard let instance = found, instance.host == host, instance.vmState == .building, instance.taskState != .deleting else {
            return
        }
        await eventStarted("compute_build_and_run_instance", action: "create", instance: uuid)
        var spawned = false
        do {
            try await setTask(uuid, .networking)
            let ports = try await allocateNetwork(instance)
            try await setTask(uuid, .blockDeviceMapping)
            let mapped = try await prepareVolumes(instance)
            let fromImage = !instance.imageRef.isEmpty && !mapped.bootsFromVolume
            let imagePath = fromImage ? try await cache.fetch(instance.imageRef) : nil
            try await setTask(uuid, .spawning)
            do {
                try await driver.spawn(try await guestSpec(mapped, flavor: [:], imagePath: imagePath, ports: ports))
            } catch {
                throw BuildError.reschedule("\(error)")
            }
            spawned = true
            if waitsForNetwork, !ports.isEmpty {
                let expected = Set(ports.map { "network-vif-plugged-" + $0.id })
                let plugged = await events.wait(
                    instance: uuid, expected: expected, timeout: .seconds(settings.vifPluggingTimeout))
                if !plugged, settings.vifPluggingIsFatal {
                    throw BuildError.abort("Timed out waiting for network-vif-plugged events.")
                }
            }
            let finished = try await instances.update(uuid) { instance in
                guard instance.taskState != .deleting else { return }
                instance.vmState = .active
                instance.taskState = nil
                instance.powerState = .running
                instance.launchedAt = Date()
            }
            await eventFinished("compute_build_and_run_instance", action: "create", instance: uuid)
            if finished == nil || finished?.taskState == .deleting { await terminate(uuid) }
        } catch {
            if spawned { await logger.bestEffort("destroying guest \(uuid)") { try await driver.destroy(uuid) } }
            await handleBuildFailure(instance, error: error)
        }
    }

    enum BuildError: Error, CustomStringConvertible {
        case reschedule(String)
        case abort(String)

        var description: String {
            switch self {
            case .reschedule(let message), .abort(let message): return message
            }
        }
    }

    /// Gives back what the build took; a driver failure goes to the next host, anything
    /// else (or the last host) leaves the server in ERROR with a fault.
    private func handleBuildFailure(_ instance: Instance, error: any Error) async {
        let uuid = instance.uuid
        logger.warning("build of \(uuid) on \(host) failed: \(error)")
        await cleanup.releasePorts(uuid, given: instance.givenPorts)
        await cleanup.releaseAllocation(uuid)
        await releaseBuildVolumes(uuid)
        let tried = instance.triedHosts.count
        let message = "\(error)"
        if case BuildError.reschedule = error, tried < settings.maxAttempts {
            await eventFinished("compute_build_and_run_instance", action: "create", instance: uuid, error: message)
            let requeued = await logger.bestEffort("rescheduling instance \(uuid)") {
                try await instances.update(uuid) { instance in
                    guard instance.taskState != .deleting else { return }
                    instance.host = nil
                    instance.node = nil
                    instance.taskState = .scheduling
                    instance.addresses = [:]
                    instance.portIDs = []
                }
            }
            if requeued?.taskState == .scheduling {
                await logger.bestEffort("asking the conductor to schedule again") {
                    try await bus.cast(ConductorRPC.buildInstances, BuildInstancesArgs(instances: [uuid]))
                }
                return
            }
        }
        await deleteBuildVolumes(uuid)
        let fault: JSON = [
            "code": 500, "created": .string(Timestamp.iso8601(Date())),
            "message": .string(tried >= settings.maxAttempts ? "Exceeded maximum number of retries. \(message)" : message),
            "details": .string(message),
        ]
        await logger.bestEffort("updating instance \(uuid)") {
            try await instances.update(uuid) { instance in
                instance.vmState = .error
                instance.taskState = instance.taskState == .deleting ? .deleting : nil
                instance.fault = fault
            }
        }
        await eventFinished("compute_build_and_run_instance", action: "create", instance: uuid, error: message)
    }

    private func setTask(_ uuid: String, _ task: TaskState) async throws {
        let updated = try await instances.update(uuid) { instance in
            if instance.taskState != .deleting { instance.taskState = task }
        }
        guard let updated, updated.taskState == task else {
            throw BuildError.abort("The server was deleted during its build.")
        }
    }

    /// Creates (or binds the given) ports on this host and records the addresses.
    private func allocateNetwork(_ instance: Instance) async throws -> [GuestPort] {
        let requested = instance.requestedNetworks
        guard !requested.isEmpty else { return [] }
        let groups = instance.securityGroups
        var groupIDs: [String]?
        if groups != ["default"] {
            let known = try await clients.network.securityGroups(project: instance.projectID, token: nil)
            groupIDs = groups.compactMap { name in known.first { $0.name == name || $0.id == name }?.id }
        }
        var ports: [NetworkPort] = []
        var given: [String] = []
        let binding = PortBinding(
            deviceID: instance.uuid, deviceOwner: "compute:\(instance.availabilityZone ?? "nova")", host: host)
        for request in requested {
            let port: NetworkPort
            do {
                if let portID = request["port"]?.stringValue {
                    given.append(portID)
                    port = try await clients.network.updatePort(portID, .bind(binding))
                } else {
                    port = try await clients.network.createPort(PortRequest(
                        networkID: request["uuid"]?.stringValue ?? "", projectID: instance.projectID, binding: binding,
                        securityGroups: groupIDs, fixedIP: request["fixed_ip"]?.stringValue))
                }
            } catch let fault as ServiceFault {
                let givenSoFar = given
                await logger.bestEffort("updating instance \(instance.uuid)") {
                    try await instances.update(instance.uuid) { $0.givenPorts = givenSoFar }
                }
                throw BuildError.abort("Network setup failed: \(fault.message)")
            }
            ports.append(port)
            let ids = ports.map(\.id)
            let givenSoFar = given
            try await instances.update(instance.uuid) { instance in
                instance.portIDs = ids
                instance.givenPorts = givenSoFar
            }
        }
        let addresses = try await addresses(of: ports)
        try await instances.update(instance.uuid) { $0.addresses = addresses }
        return ports.map(GuestPort.init)
    }

    /// The server's `addresses` by network name, from its Neutron ports: each fixed address followed
    /// by the floating addresses that map to it, as Nova's network info cache lists them.
    func addresses(of ports: [NetworkPort]) async throws -> JSON {
        var names: [String: String] = [:]
        var addresses: [String: [JSON]] = [:]
        let floating = Dictionary(
            grouping: try await clients.network.floatingIPs(onPorts: ports.map(\.id)), by: \.portID)
        for port in ports {
            let network = port.networkID
            if names[network] == nil {
                names[network] = try await clients.network.networkName(network, token: nil) ?? network
            }
            let name = names[network] ?? network
            func entry(_ address: String, _ type: String) -> JSON {
                [
                    "version": .int(address.contains(":") ? 6 : 4), "addr": .string(address), "OS-EXT-IPS:type": .string(type),
                    "OS-EXT-IPS-MAC:mac_addr": .string(port.macAddress),
                ]
            }
            for ip in port.fixedIPs {
                var list = addresses[name] ?? []
                list.append(entry(ip.address, "fixed"))
                list += (floating[port.id] ?? []).filter { $0.fixedAddress == ip.address }.map { entry($0.address, "floating") }
                addresses[name] = list
            }
        }
        return .object(addresses.mapValues { .array($0) })
    }

    // MARK: delete and operations

    func terminate(_ uuid: String) async {
        await eventStarted("compute_terminate_instance", action: "delete", instance: uuid)
        do {
            try await driver.destroy(uuid)
            await events.forget(uuid)
            try await cleanup.finishDelete(uuid)
            await eventFinished("compute_terminate_instance", action: "delete", instance: uuid)
        } catch {
            logger.error("delete of \(uuid) failed: \(error)")
            await logger.bestEffort("updating instance \(uuid)") {
                try await instances.update(uuid) { instance in
                    instance.vmState = .error
                    instance.taskState = nil
                }
            }
            await eventFinished("compute_terminate_instance", action: "delete", instance: uuid, error: "\(error)")
        }
    }

    /// A driver operation with its action event; the instance ends in `final` or back
    /// where it was, with the error recorded.
    private func operate(
        _ uuid: String, action: String, event: String, final: (VMState, PowerState)?, _ body: @Sendable () async throws -> Void
    ) async {
        await eventStarted(event, action: action, instance: uuid)
        do {
            try await body()
            try await instances.update(uuid) { instance in
                if let final {
                    instance.vmState = final.0
                    instance.powerState = final.1
                }
                instance.taskState = nil
            }
            await eventFinished(event, action: action, instance: uuid)
        } catch {
            await logger.bestEffort("updating instance \(uuid)") {
                try await instances.update(uuid) { $0.taskState = nil }
            }
            await eventFinished(event, action: action, instance: uuid, error: "\(error)")
        }
    }
}
