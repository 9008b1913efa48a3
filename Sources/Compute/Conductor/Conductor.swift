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
        try await bus.listen(topic: ConductorRPC.topic, server: "conductor") { message in
            switch message.method {
            case "build_instances":
                let uuids = message.args["instance_uuids"]?.arrayValue?.compactMap(\.stringValue) ?? []
                await withTaskGroup(of: Void.self) { group in
                    for uuid in uuids { group.addTask { await self.schedule(uuid) } }
                }
                return .null
            case "migrate_server":
                await self.migrate(
                    message.args["instance_uuid"]?.stringValue ?? "", migrationUUID: message.args["migration_uuid"]?.stringValue ?? "",
                    host: message.args["host"]?.stringValue)
                return .null
            case "live_migrate_instance", "evacuate_instance":
                await self.liveMigrate(
                    message.args["instance_uuid"]?.stringValue ?? "", migrationUUID: message.args["migration_uuid"]?.stringValue ?? "",
                    host: message.args["host"]?.stringValue)
                return .null
            case "unshelve_instance":
                await self.unshelve(message.args["instance_uuid"]?.stringValue ?? "")
                return .null
            default:
                throw BusError.remote("unknown method \(message.method)")
            }
        }
    }

    /// Picks a host (the scheduler claims it in Placement) and casts the build to it.
    func schedule(_ uuid: String) async {
        do {
            guard let instance = try await instances.get(uuid), instance.vmState == .building, instance.taskState != .deleting else { return }
            try await actions.startEvent("conductor_schedule_and_build_instances", action: "create", instance: uuid, host: nil)
            let tried = instance["tried_hosts"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let reply: JSON
            do {
                reply = try await bus.call(topic: SchedulerRPC.topic, method: "select_destinations", args: [
                    "instance_uuid": .string(uuid), "excluded_hosts": JSON(tried),
                ], timeout: .seconds(120))
            } catch {
                try await fail(uuid, message: "No valid host was found. \(Self.reason(error))", event: "conductor_schedule_and_build_instances")
                return
            }
            guard let host = reply["host"]?.stringValue else {
                try await fail(uuid, message: "No valid host was found. There are not enough hosts available.", event: "conductor_schedule_and_build_instances")
                return
            }
            let placed = try await instances.update(uuid) { instance in
                guard instance.taskState != .deleting else { return }
                instance.host = host
                instance.node = reply["node"]?.stringValue ?? host
                if instance.string("requested_zone") == nil, let zone = reply["zone"]?.stringValue { instance.availabilityZone = zone }
                instance["tried_hosts"] = JSON(tried + [host])
            }
            try await actions.finishEvent("conductor_schedule_and_build_instances", action: "create", instance: uuid)
            guard let placed, placed.taskState != .deleting else {
                _ = try await clients.placement.send(.DELETE, "/allocations/\(uuid)")
                return
            }
            try await bus.cast(topic: ComputeRPC.topic, server: host, method: "build_and_run_instance", args: ["instance_uuid": .string(uuid)])
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
            instance["fault"] = ["code": 500, "message": .string(message), "created": .string(Timestamp.iso8601(Date()))]
        }
        try await actions.finishEvent(event, action: "create", instance: uuid, error: message)
    }
}
