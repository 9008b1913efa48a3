import Foundation
import Logging
import StratusCore

/// nova-conductor: turns a build request into a scheduled build on a host, and gives a
/// failed build its next host (one reschedule per alternate, up to `max_attempts`).
struct Conductor: Sendable {
    let instances: InstanceStore
    let actions: InstanceActions
    let bus: any BusTransport
    let clients: ServiceClients
    let settings: ComputeSettings
    let logger: Logger

    func listen() async throws {
        var rpc = RPCHandlers(topic: ConductorRPC.topic)
        rpc.on(ConductorRPC.buildInstances) { args in
            await withTaskGroup(of: Void.self) { group in
                for uuid in args.instances { group.addTask { await self.schedule(uuid) } }
            }
            return NoReply()
        }
        rpc.on(ConductorRPC.migrate) {
            await self.migrate($0.instance, migrationUUID: $0.migration, host: $0.host)
            return NoReply()
        }
        rpc.on(ConductorRPC.liveMigrate) {
            await self.liveMigrate($0.instance, migrationUUID: $0.migration, host: $0.host)
            return NoReply()
        }
        rpc.on(ConductorRPC.evacuate) {
            await self.liveMigrate($0.instance, migrationUUID: $0.migration, host: $0.host)
            return NoReply()
        }
        rpc.on(ConductorRPC.unshelve) { await self.unshelve($0.instance); return NoReply() }
        try await bus.listen(rpc, server: "conductor")
    }

    /// Picks a host (the scheduler claims it in Placement) and casts the build to it.
    func schedule(_ uuid: String) async {
        do {
            guard let instance = try await instances.get(uuid), instance.vmState == .building, instance.taskState != .deleting else { return }
            try await actions.startEvent(
                "conductor_schedule_and_build_instances", action: "create", instance: uuid, host: nil)
            let tried = instance.triedHosts
            let reply: Destination
            do {
                reply = try await bus.call(
                    SchedulerRPC.selectDestinations, DestinationRequest(instance: uuid, excludedHosts: tried), timeout: .seconds(120))
            } catch {
                try await fail(uuid, message: "No valid host was found. \(Self.reason(error))", event: "conductor_schedule_and_build_instances")
                return
            }
            let host = reply.host
            let placed = try await instances.update(uuid) { instance in
                guard instance.taskState != .deleting else { return }
                instance.host = host
                instance.node = reply.node
                if instance.requestedZone == nil { instance.availabilityZone = reply.zone }
                instance.triedHosts = tried + [host]
            }
            try await actions.finishEvent("conductor_schedule_and_build_instances", action: "create", instance: uuid)
            guard let placed, placed.taskState != .deleting else {
                try await clients.placement.deleteAllocations(of: uuid)
                return
            }
            try await bus.cast(ComputeRPC.buildAndRun, to: host, InstanceRef(uuid))
        } catch {
            logger.error("scheduling \(uuid) failed: \(error)")
            await logger.bestEffort("failing the build of \(uuid)") {
                try await fail(uuid, message: "Build of instance \(uuid) aborted: \(error)", event: "conductor_schedule_and_build_instances")
            }
        }
    }

    static func reason(_ error: any Error) -> String {
        if case BusError.remote(let message) = error { return message }
        return "\(error)"
    }

    private func fail(_ uuid: String, message: String, event: String) async throws {
        try await instances.update(uuid) { instance in
            instance.vmState = .error
            instance.taskState = nil
            instance.fault = ["code": 500, "message": .string(message), "created": .string(Timestamp.iso8601(Date()))]
        }
        try await actions.finishEvent(event, action: "create", instance: uuid, error: message)
    }
}
