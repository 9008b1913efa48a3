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
                    allowed: hard ? [.active, .stopped, .paused, .suspended, .error] : [.active],
                    taskState: hard ? .rebootingHard : .rebooting, method: ComputeRPC.reboot) { RebootArgs(instance: $0, hard: hard) }
            case "os-stop":
                try await self.hostAction(context, auth, rule: "os_compute_api:servers:stop", action: "stop", allowed: [.active, .error],
                    taskState: .poweringOff, method: ComputeRPC.stop)
            case "os-start":
                try await self.hostAction(context, auth, rule: "os_compute_api:servers:start", action: "start", allowed: [.stopped],
                    taskState: .poweringOn, method: ComputeRPC.start)
            case "pause", "unpause", "suspend", "resume":
                let (rule, from, task, method): (String, VMState, TaskState, RPCMethod<InstanceRef, NoReply>) = switch name {
                case "pause": ("os_compute_api:os-pause-server:pause", .active, .pausing, ComputeRPC.pause)
                case "unpause": ("os_compute_api:os-pause-server:unpause", .paused, .unpausing, ComputeRPC.unpause)
                case "suspend": ("os_compute_api:os-suspend-server:suspend", .active, .suspending, ComputeRPC.suspend)
                default: ("os_compute_api:os-suspend-server:resume", .suspended, .resuming, ComputeRPC.resume)
                }
                try await self.hostAction(context, auth, rule: rule, action: name, allowed: [from], taskState: task, method: method)
            case "rescue":
                let password = args["adminPass"]?.stringValue ?? Self.generatePassword()
                let image = args["rescue_image_ref"]?.stringValue
                try await self.hostAction(context, auth, rule: "os_compute_api:os-rescue", action: "rescue", allowed: [.active, .stopped, .error],
                    taskState: .rescuing, method: ComputeRPC.rescue) { RescueArgs(instance: $0, image: image) }
                return self.settings.returnGeneratedPassword || args["adminPass"] != nil ? .json(["adminPass": .string(password)]) : .json([:])
            case "unrescue":
                try await self.hostAction(context, auth, rule: "os_compute_api:os-unrescue", action: "unrescue", allowed: [.rescued],
                    taskState: .unrescuing, method: ComputeRPC.unrescue)
            case "changePassword":
                guard let password = args["adminPass"]?.stringValue else {
                    throw APIError.badRequest("Invalid input for field/attribute changePassword. 'adminPass' is a required property")
                }
                try await self.hostAction(context, auth, rule: "os_compute_api:os-admin-password", action: "changePassword", allowed: [.active],
                    taskState: .updatingPassword, method: ComputeRPC.setAdminPassword) { PasswordArgs(instance: $0, password: password) }
            case "trigger_crash_dump":
                guard context.version(atLeast: 2, 17) else { throw APIError.badRequest("There is no such action: \(name)") }
                try await self.hostAction(context, auth, rule: "os_compute_api:servers:trigger_crash_dump", action: "trigger_crash_dump",
                    allowed: [.active, .paused, .rescued, .resized, .error], taskState: nil, method: ComputeRPC.triggerCrashDump)
            case "resize":
                guard args.objectValue?.keys.contains("flavorRef") == true else {
                    throw APIError.badRequest("Invalid input for field/attribute resize. 'flavorRef' is a required property")
                }
                if let disk = args["OS-DCF:diskConfig"], !["AUTO", "MANUAL"].contains(disk.stringValue ?? "") {
                    throw APIError.badRequest("Invalid input for field/attribute OS-DCF:diskConfig. Value: \(disk.serialized()). is not one of ['AUTO', 'MANUAL']")
                }
                try await self.startMove(context, auth, resizeTo: args["flavorRef"] ?? .null, targetHost: nil, diskConfig: args["OS-DCF:diskConfig"])
            case "migrate":
                let host = context.version(atLeast: 2, 56) ? args["host"]?.stringValue : nil
                try await self.startMove(context, auth, resizeTo: nil, targetHost: host, diskConfig: nil)
            case "evacuate":
                return try await self.evacuate(context, auth, args)
            case "os-migrateLive":
                try await self.startLiveMigration(context, auth, args)
            case "confirmResize":
                try await self.finishMove(context, auth, confirm: true)
                return Response(status: .noContent)
            case "revertResize":
                try await self.finishMove(context, auth, confirm: false)
            case "rebuild":
                return try await self.rebuild(request, context, auth, args)
            case "createImage", "createBackup":
                return try await self.snapshot(request, context, auth, args, backup: name == "createBackup")
            case "shelve":
                try await self.shelve(context, auth)
            case "shelveOffload":
                try await self.shelveOffload(context, auth)
            case "unshelve":
                try await self.unshelve(context, auth, args)
            case "restore":
                try await self.hostAction(context, auth, rule: "os_compute_api:os-deferred-delete:restore", action: "restore", allowed: [.softDeleted],
                    taskState: .restoring, method: ComputeRPC.restore)
            case "forceDelete":
                let instance = try await self.server(context, auth, rule: "os_compute_api:os-deferred-delete:force")
                if instance.locked, !self.isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
                // As in Nova, a force delete is taken in any vm_state and task_state.
                try await self.deleteServer(instance, auth: auth, requestID: context.requestID)
            case "addFloatingIp", "removeFloatingIp":
                try await self.changeFloatingIP(context, auth, args, add: name == "addFloatingIp")
            case "addSecurityGroup", "removeSecurityGroup":
                try await self.changeSecurityGroup(context, auth, args, add: name == "addSecurityGroup")
            case "os-getVNCConsole", "os-getSPICEConsole", "os-getRDPConsole", "os-getSerialConsole":
                return try await self.legacyConsole(request, context, auth, action: name, args)
            case "injectNetworkInfo":
                // Neutron's agents and the metadata service configure guests: nothing to push.
                let instance = try await self.server(context, auth, rule: "os_compute_api:os-admin-actions:inject_network_info")
                guard instance.host != nil else { throw ComputeError.invalidState(instance, action: "injectNetworkInfo") }
            case "os-resetState":
                try await self.resetState(context, auth, args)
            case "os-getConsoleOutput":
                return try await self.consoleOutput(context, auth, args)
            case "lock", "unlock":
                let instance = try await self.server(context, auth, rule: "os_compute_api:os-lock-server:\(name)")
                let reason = name == "lock" && context.version(atLeast: 2, 73) ? args["locked_reason"]?.stringValue : nil
                try await self.instances.update(instance.uuid) { instance in
                    instance.locked = name == "lock"
                    instance.lockedReason = reason
                }
                _ = try await self.db.transaction { db in
                    try await self.actions.start(name, instance: instance.uuid, requestID: context.requestID, projectID: instance.projectID, userID: auth.userID, in: db)
                }
            default:
                throw APIError.badRequest("There is no such action: \(name)")
            }
            return Response(status: .accepted)
        }
    }

    /// Checks state and lock, sets the task state, records the action, and casts to the host.
    func hostAction(
        _ context: StratusContext, _ auth: AuthContext, rule: String, action: String, allowed: Set<VMState>, taskState: TaskState?,
        method: RPCMethod<InstanceRef, NoReply>
    ) async throws {
        try await hostAction(context, auth, rule: rule, action: action, allowed: allowed, taskState: taskState, method: method, InstanceRef.init)
    }

    /// `hostAction` for a method with more arguments than the server, made by `args` from its uuid.
    func hostAction<Args>(
        _ context: StratusContext, _ auth: AuthContext, rule: String, action: String, allowed: Set<VMState>, taskState: TaskState?,
        method: RPCMethod<Args, NoReply>, _ args: (String) -> Args
    ) async throws {
        let instance = try await server(context, auth, rule: rule)
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        let nova = action
        guard let host = instance.host else { throw ComputeError.invalidState(instance, action: nova) }
        let updated = try await db.transaction { db in
            guard var current = try await self.instances.getForUpdate(instance.uuid, in: db) else { throw ComputeError.instanceNotFound(instance.uuid) }
            guard allowed.contains(current.vmState), current.taskState == nil else {
                throw ComputeError.invalidState(current, action: nova)
            }
            if let taskState {
                current.taskState = taskState
                try await self.instances.save(current, in: db)
            }
            try await self.actions.start(action, instance: current.uuid, requestID: context.requestID, projectID: current.projectID, userID: auth.userID, in: db)
            return current
        }
        try await bus.cast(method, to: host, args(updated.uuid))
    }

    /// `os-resetState` (admin): sets the vm_state to active or error and clears the task.
    private func resetState(_ context: StratusContext, _ auth: AuthContext, _ args: JSON) async throws {
        let instance = try await server(context, auth, rule: "os_compute_api:os-admin-actions:reset_state")
        guard let state = args["state"]?.stringValue.flatMap(VMState.init(rawValue:)), [.active, .error].contains(state) else {
            throw APIError.badRequest("Invalid input for field/attribute state. Value: \(args["state"]?.serialized() ?? "None"). 'state' is not one of ['active', 'error']")
        }
        guard try await instances.update(instance.uuid, { current in
            current.vmState = state
            current.taskState = nil
        }) != nil else { throw ComputeError.instanceNotFound(instance.uuid) }
        _ = try await db.transaction { db in
            try await self.actions.start("resetState", instance: instance.uuid, requestID: context.requestID, projectID: instance.projectID, userID: auth.userID, in: db)
        }
    }

    /// `os-getConsoleOutput`: the guest's serial log from its host, the last `length` lines.
    private func consoleOutput(_ context: StratusContext, _ auth: AuthContext, _ args: JSON) async throws -> Response {
        let instance = try await server(context, auth, rule: "os_compute_api:os-console-output")
        var length: Int?
        switch args["length"] {
        case nil, .null?: length = nil
        case .int(let n)?: length = n
        case .string(let text)?: length = Int(text)
        default: length = nil
        }
        if let text = args["length"]?.stringValue, Int(text) == nil {
            throw APIError.badRequest("Invalid input for field/attribute length. Value: \(text). '\(text)' does not match '^-?[0-9]+$'")
        }
        if let n = length, n < -1 { throw APIError.badRequest("Invalid input for field/attribute length. Value: \(n). \(n) is less than the minimum of -1") }
        guard let host = instance.host, ![.building, .deleted, .softDeleted, .shelvedOffloaded].contains(instance.vmState) else {
            throw APIError.conflict("Cannot 'get_console_output' instance \(instance.uuid) while it is in vm_state \(instance.vmState)")
        }
        let reply = try await bus.call(ComputeRPC.consoleOutput, on: host, InstanceRef(instance.uuid))
        // Nova's tail: the last `length` pieces of the log split at newlines, joined again.
        var lines = reply.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let n = length, n >= 0 { lines = Array(lines.suffix(n)) }
        return .json(["output": .string(lines.joined(separator: "\n"))])
    }
}
