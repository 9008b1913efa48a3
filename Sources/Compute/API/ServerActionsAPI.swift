import Foundation
import Hummingbird
import StratusCore

extension ComputeAPI {
    /// `POST /servers/{id}/action`: the state checks happen here, the work on the host.
    func registerServerActions(on router: RouterGroup<StratusContext>) {
        router.post("/servers/:id/action") { request, context -> Response in
            let auth = try self.caller(context)
            let body = try await request.jsonObject(context: context)
            // An unknown server is 404 whatever the action (Nova looks it up first).
            _ = try await self.server(context, auth, rule: "os_compute_api:servers:show")
            guard body.count == 1, let (name, args) = body.first else { throw APIError.badRequest("There is no such action: \(body.keys.sorted())") }
            switch name {
            case "reboot":
                guard let type = args["type"]?.stringValue?.uppercased(), ["SOFT", "HARD"].contains(type) else {
                    throw APIError.badRequest("Invalid input for field/attribute type. Value: \(args["type"]?.serialized() ?? "None"). is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']")
                }
                let hard = type == "HARD"
                try await self.hostAction(context, auth, rule: "os_compute_api:servers:reboot", action: "reboot",
                    allowed: hard ? ["active", "stopped", "paused", "suspended", "error"] : ["active"],
                    taskState: hard ? "rebooting_hard" : "rebooting", method: "reboot_instance", args: ["hard": .bool(hard)])
            case "os-stop":
                try await self.hostAction(context, auth, rule: "os_compute_api:servers:stop", action: "stop", allowed: ["active", "error"],
                    taskState: "powering-off", method: "stop_instance")
            case "os-start":
                try await self.hostAction(context, auth, rule: "os_compute_api:servers:start", action: "start", allowed: ["stopped"],
                    taskState: "powering-on", method: "start_instance")
            case "lock", "unlock":
                let instance = try await self.server(context, auth, rule: "os_compute_api:os-lock-server:\(name)")
                let reason = name == "lock" && context.version(atLeast: 2, 73) ? args["locked_reason"]?.stringValue : nil
                try await self.instances.update(instance.uuid) { instance in
                    instance.locked = name == "lock"
                    instance["locked_reason"] = JSON(reason)
                }
                try await self.db.transaction { db in
                    try await self.actions.start(name, instance: instance.uuid, requestID: context.requestID, projectID: instance.projectID, userID: auth.userID, in: db)
                }
            default:
                throw APIError.badRequest("There is no such action: \(name)")
            }
            return Response(status: .accepted)
        }
    }

    /// Checks state and lock, sets the task state, records the action, and casts to the host.
    private func hostAction(
        _ context: StratusContext, _ auth: AuthContext, rule: String, action: String, allowed: Set<String>, taskState: String,
        method: String, args: JSON = [:]
    ) async throws {
        let instance = try await server(context, auth, rule: rule)
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        let nova = action == "stop" ? "stop" : action == "start" ? "start" : action
        guard let host = instance.host else { throw ComputeError.invalidState(instance, action: nova) }
        let updated = try await db.transaction { db in
            guard var current = try await self.instances.get(instance.uuid, in: db) else { throw ComputeError.instanceNotFound(instance.uuid) }
            guard allowed.contains(current.vmState), current.taskState == nil else {
                throw APIError.conflict("Cannot '\(nova)' instance \(current.uuid) while it is in \(current.taskState.map { "task_state \($0)" } ?? "vm_state \(current.vmState)")")
            }
            current.taskState = taskState
            try await self.instances.save(current, in: db)
            try await self.actions.start(action, instance: current.uuid, requestID: context.requestID, projectID: current.projectID, userID: auth.userID, in: db)
            return current
        }
        var arguments = args.objectValue ?? [:]
        arguments["instance_uuid"] = .string(updated.uuid)
        try await bus.cast(topic: ComputeRPC.topic, server: host, method: method, args: .object(arguments))
    }
}
