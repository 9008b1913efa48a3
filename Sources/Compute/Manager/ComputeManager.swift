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
        try await bus.listen(topic: ComputeRPC.topic, server: host) { message in
            let uuid = message.args["instance_uuid"]?.stringValue ?? message.args["server_uuid"]?.stringValue ?? ""
            switch message.method {
            case "build_and_run_instance": await build(uuid)
            case "terminate_instance": await terminate(uuid)
            case "reboot_instance":
                await operate(uuid, action: "reboot", event: "compute_reboot_instance", final: (.active, .running)) {
                    try await driver.reboot(uuid, hard: message.args["hard"]?.boolValue ?? false)
                }
            case "stop_instance":
                await operate(uuid, action: "stop", event: "compute_stop_instance", final: (.stopped, .shutdown)) { try await driver.powerOff(uuid) }
            case "start_instance":
                await operate(uuid, action: "start", event: "compute_start_instance", final: (.active, .running)) { try await driver.powerOn(uuid) }
            case "pause_instance":
                await operate(uuid, action: "pause", event: "compute_pause_instance", final: (.paused, .paused)) { try await driver.pause(uuid) }
            case "unpause_instance":
                await operate(uuid, action: "unpause", event: "compute_unpause_instance", final: (.active, .running)) { try await driver.unpause(uuid) }
            case "suspend_instance":
                await operate(uuid, action: "suspend", event: "compute_suspend_instance", final: (.suspended, .suspended)) { try await driver.suspend(uuid) }
            case "resume_instance":
                await operate(uuid, action: "resume", event: "compute_resume_instance", final: (.active, .running)) { try await driver.resume(uuid) }
            case "rescue_instance":
                let image = message.args["rescue_image_ref"]?.stringValue
                await operate(uuid, action: "rescue", event: "compute_rescue_instance", final: (.rescued, .running)) {
                    var ref = image ?? ""
                    if ref.isEmpty { ref = try await instances.get(uuid)?.imageRef ?? "" }
                    try await driver.rescue(uuid, imagePath: ref.isEmpty ? nil : try await cache.fetch(ref))
                }
            case "unrescue_instance":
                await operate(uuid, action: "unrescue", event: "compute_unrescue_instance", final: (.active, .running)) { try await driver.unrescue(uuid) }
            case "set_admin_password":
                let password = message.args["admin_password"]?.stringValue ?? ""
                await operate(uuid, action: "changePassword", event: "compute_set_admin_password", final: nil) {
                    try await driver.setAdminPassword(uuid, password: password)
                }
            case "trigger_crash_dump":
                await operate(uuid, action: "trigger_crash_dump", event: "compute_trigger_crash_dump", final: nil) { try await driver.triggerCrashDump(uuid) }
            case "soft_delete_instance":
                await operate(uuid, action: "delete", event: "compute_soft_delete_instance", final: (.softDeleted, .shutdown)) {
                    if await driver.powerState(uuid) != .shutdown { try await driver.powerOff(uuid) }
                }
            case "restore_instance":
                await operate(uuid, action: "restore", event: "compute_restore_instance", final: (.active, .running)) { try await driver.powerOn(uuid) }
            case "attach_interface": return await attachInterface(uuid, message.args)
            case "detach_interface": return await detachInterface(uuid, portID: message.args["port_id"]?.stringValue ?? "")
            case "rebuild_instance": await rebuild(uuid)
            case "snapshot_instance":
                await snapshot(uuid, imageID: message.args["image_id"]?.stringValue ?? "", backupType: message.args["backup_type"]?.stringValue,
                    rotation: message.args["rotation"]?.intValue)
            case "get_diagnostics":
                return .object(try await driver.diagnostics(uuid).mapValues { .int($0) })
            case "get_console_output":
                return ["output": .string(try await driver.consoleOutput(uuid))]
            case "cache_images":
                for image in message.args["image_ids"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                    do { _ = try await cache.fetch(image) } catch { logger.warning("\(host) could not cache image \(image): \(error)") }
                }
            case "external_instance_event":
                if message.args["name"]?.stringValue == "network-changed" { await refreshNetworkInfo(uuid) }
                let key = (message.args["name"]?.stringValue ?? "") + "-" + (message.args["tag"]?.stringValue ?? "")
                await events.deliver(instance: uuid, key: key)
            default:
                var handled = await handleMove(message.method, message.args)
                if !handled { handled = await handleShelve(message.method, message.args) }
                guard handled else { throw BusError.remote("unknown method \(message.method)") }
            }
            return .null
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
            if instance["block_devices"]?.arrayValue?.contains(where: { $0["destination_type"]?.stringValue == "volume" }) == true {
                throw BuildError.abort("Block Storage is not available, so volumes cannot be attached.")
            }
            let imagePath = instance.imageRef.isEmpty ? nil : try await cache.fetch(instance.imageRef)
            try await setTask(uuid, .spawning)
            do {
                try await driver.spawn(try await guestSpec(instance, flavor: [:], imagePath: imagePath, ports: ports))
            } catch {
                throw BuildError.reschedule("\(error)")
            }
            spawned = true
            if waitsForNetwork, !ports.isEmpty {
                let expected = Set(ports.map { "network-vif-plugged-" + $0.id })
                let plugged = await events.wait(instance: uuid, expected: expected, timeout: .seconds(settings.vifPluggingTimeout))
                if !plugged, settings.vifPluggingIsFatal { throw BuildError.abort("Timed out waiting for network-vif-plugged events.") }
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
        await cleanup.releasePorts(uuid, given: instance.doc["given_ports"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        await cleanup.releaseAllocation(uuid)
        let tried = (instance["tried_hosts"]?.arrayValue ?? []).count
        let message = "\(error)"
        if case BuildError.reschedule = error, tried < settings.maxAttempts {
            await eventFinished("compute_build_and_run_instance", action: "create", instance: uuid, error: message)
            let requeued = await logger.bestEffort("rescheduling instance \(uuid)") {
                try await instances.update(uuid) { instance in
                    guard instance.taskState != .deleting else { return }
                    instance.host = nil
                    instance.node = nil
                    instance.taskState = .scheduling
                    instance["addresses"] = [:]
                    instance["ports"] = []
                }
            }
            if requeued?.taskState == .scheduling {
                await logger.bestEffort("asking the conductor to schedule again") {
                    try await bus.cast(topic: ConductorRPC.topic, server: nil, method: "build_instances", args: ["instance_uuids": [.string(uuid)]])
                }
                return
            }
        }
        let fault: JSON = [
            "code": 500, "created": .string(Timestamp.iso8601(Date())),
            "message": .string(tried >= settings.maxAttempts ? "Exceeded maximum number of retries. \(message)" : message),
            "details": .string(message),
        ]
        await logger.bestEffort("updating instance \(uuid)") {
            try await instances.update(uuid) { instance in
                instance.vmState = .error
                instance.taskState = instance.taskState == .deleting ? .deleting : nil
                instance["fault"] = fault
            }
        }
        await eventFinished("compute_build_and_run_instance", action: "create", instance: uuid, error: message)
    }

    private func setTask(_ uuid: String, _ task: TaskState) async throws {
        let updated = try await instances.update(uuid) { instance in
            if instance.taskState != .deleting { instance.taskState = task }
        }
        guard let updated, updated.taskState == task else { throw BuildError.abort("The server was deleted during its build.") }
    }

    /// Creates (or binds the given) ports on this host and records the addresses.
    private func allocateNetwork(_ instance: Instance) async throws -> [GuestPort] {
        let requested = instance["requested_networks"]?.arrayValue ?? []
        guard !requested.isEmpty else { return [] }
        let groups = instance["security_groups"]?.arrayValue?.compactMap(\.stringValue) ?? ["default"]
        var groupIDs: [JSON]?
        if groups != ["default"] {
            let reply = try await clients.network.get("/v2.0/security-groups?project_id=\(instance.projectID)&fields=id&fields=name")
            let known = reply.body["security_groups"]?.arrayValue ?? []
            groupIDs = groups.compactMap { name in
                known.first { $0["name"]?.stringValue == name || $0["id"]?.stringValue == name }?["id"]
            }
        }
        var ports: [JSON] = []
        var given: [String] = []
        for request in requested {
            let binding: [String: JSON] = [
                "device_id": .string(instance.uuid), "device_owner": .string("compute:\(instance.availabilityZone ?? "nova")"),
                "binding:host_id": .string(host),
            ]
            let reply: ServiceReply
            if let portID = request["port"]?.stringValue {
                given.append(portID)
                reply = try await clients.network.send(.PUT, "/v2.0/ports/\(portID)", body: ["port": .object(binding)])
            } else {
                var port = binding
                port["network_id"] = request["uuid"] ?? .null
                port["project_id"] = .string(instance.projectID)
                if let groupIDs { port["security_groups"] = .array(groupIDs) }
                if let ip = request["fixed_ip"]?.stringValue { port["fixed_ips"] = [["ip_address": .string(ip)]] }
                reply = try await clients.network.send(.POST, "/v2.0/ports", body: ["port": .object(port)])
            }
            guard reply.ok, let port = reply.body["port"] else {
                let givenSoFar = given
                await logger.bestEffort("updating instance \(instance.uuid)") {
                    try await instances.update(instance.uuid) { $0["given_ports"] = JSON(givenSoFar) }
                }
                throw BuildError.abort("Network setup failed: \(reply.faultMessage)")
            }
            ports.append(port)
            let ids = ports.compactMap { $0["id"] }
            let givenSoFar = given
            try await instances.update(instance.uuid) { instance in
                instance["ports"] = .array(ids)
                instance["given_ports"] = JSON(givenSoFar)
            }
        }
        let addresses = try await addresses(of: ports)
        try await instances.update(instance.uuid) { $0["addresses"] = addresses }
        return ports.map(GuestPort.init(neutron:))
    }

    /// The server's `addresses` by network name, from its Neutron ports: each fixed address followed
    /// by the floating addresses that map to it, as Nova's network info cache lists them.
    func addresses(of ports: [JSON]) async throws -> JSON {
        var names: [String: String] = [:]
        var addresses: [String: [JSON]] = [:]
        let portIDs = ports.compactMap { $0["id"]?.stringValue }
        var floating: [String: [(fixed: String, address: String)]] = [:]
        if !portIDs.isEmpty {
            let query = portIDs.map { "port_id=\($0)" }.joined(separator: "&")
            let reply = try await clients.network.get("/v2.0/floatingips?\(query)")
            guard reply.ok else { throw DriverError("Listing floating IPs failed: \(reply.faultMessage)") }
            for ip in reply.body["floatingips"]?.arrayValue ?? [] {
                guard let port = ip["port_id"]?.stringValue, let address = ip["floating_ip_address"]?.stringValue else { continue }
                floating[port, default: []].append((ip["fixed_ip_address"]?.stringValue ?? "", address))
            }
        }
        for port in ports {
            let network = port["network_id"]?.stringValue ?? ""
            if names[network] == nil {
                names[network] = try await clients.network.get("/v2.0/networks/\(network)").body["network"]?["name"]?.stringValue ?? network
            }
            let mac = port["mac_address"] ?? ""
            func entry(_ address: String, _ type: String) -> JSON {
                ["version": .int(address.contains(":") ? 6 : 4), "addr": .string(address), "OS-EXT-IPS:type": .string(type),
                 "OS-EXT-IPS-MAC:mac_addr": mac]
            }
            let floatingIPs = floating[port["id"]?.stringValue ?? ""] ?? []
            for ip in port["fixed_ips"]?.arrayValue ?? [] {
                let address = ip["ip_address"]?.stringValue ?? ""
                var list = addresses[names[network] ?? network] ?? []
                list.append(entry(address, "fixed"))
                list += floatingIPs.filter { $0.fixed == address }.map { entry($0.address, "floating") }
                addresses[names[network] ?? network] = list
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
