import Foundation
import Hummingbird
import StratusCore

/// `addSecurityGroup`/`removeSecurityGroup` and `os-interface` attach/detach: the
/// server's Neutron ports changed through the Network API.
extension ComputeAPI {
    func registerInterfaceChanges(on router: RouterGroup<StratusContext>) {
        router.post("/servers/:id/os-interface") { request, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-attach-interfaces:create")
            if instance.locked, !self.isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
            let body = try await request.computeBody("interfaceAttachment", context: context)
            let portID = body["port_id"]?.stringValue
            var networkID = body["net_id"]?.stringValue
            if portID != nil, networkID != nil { throw APIError.badRequest("Must not input both network_id and port_id") }
            let fixedIP = body["fixed_ips"]?.arrayValue?.first?["ip_address"]?.stringValue
            if fixedIP != nil, networkID == nil { throw APIError.badRequest("Must input network_id when request IP address") }
            if let fixedIP, !IPText.isAddress(fixedIP) { throw APIError.badRequest("Invalid fixed IP address (\(fixedIP))") }
            guard [.active, .paused, .stopped].contains(instance.vmState), instance.taskState == nil, let host = instance.host else {
                throw ComputeError.invalidState(instance, action: "attach_interface")
            }
            if let portID {
                guard let port = try await self.clients.network.port(portID, token: auth.token) else {
                    throw APIError.notFound("Port \(portID) could not be found.")
                }
                if !port.deviceID.isEmpty { throw APIError.conflict("Port \(portID) is still in use.") }
            } else if let network = networkID {
                guard try await self.clients.network.networkName(network, token: auth.token) != nil else {
                    throw APIError.notFound("Network \(network) could not be found.")
                }
            } else {
                let ids = try await self.clients.network.networkIDs(.project(instance.projectID), token: auth.token)
                guard ids.count == 1 else { throw APIError.badRequest("Unable to automatically allocate a network; give net_id or port_id.") }
                networkID = ids[0]
            }
            _ = try await self.db.transaction { db in
                try await self.actions.start("attach_interface", instance: instance.uuid, requestID: context.requestID, projectID: instance.projectID,
                    userID: auth.userID, in: db)
            }
            let attach = AttachInterfaceArgs(instance: instance.uuid, port: portID, network: networkID, fixedIP: fixedIP)
            let reply = try await self.bus.call(ComputeRPC.attachInterface, on: host, attach, timeout: .seconds(300))
            guard let port = reply.port, !port.isNull else {
                let reason = reply.error ?? "unknown error"
                throw APIError.badRequest("Failed to attach network adapter device to \(instance.uuid): \(reason)")
            }
            return .json(["interfaceAttachment": Self.interfaceView(port)])
        }
        router.delete("/servers/:id/os-interface/:port") { _, context -> Response in
            let auth = try self.caller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-attach-interfaces:delete")
            if instance.locked, !self.isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
            let port = context.parameters.get("port") ?? ""
            guard instance.portIDs.contains(port) else { throw APIError.notFound("Port \(port) is not attached") }
            guard [.active, .paused, .stopped].contains(instance.vmState), instance.taskState == nil, let host = instance.host else {
                throw ComputeError.invalidState(instance, action: "detach_interface")
            }
            _ = try await self.db.transaction { db in
                try await self.actions.start("detach_interface", instance: instance.uuid, requestID: context.requestID, projectID: instance.projectID,
                    userID: auth.userID, in: db)
            }
            _ = try await self.bus.call(
                ComputeRPC.detachInterface, on: host, DetachInterfaceArgs(instance: instance.uuid, port: port), timeout: .seconds(300))
            return Response(status: .accepted)
        }
    }

    /// Adds or removes a security group on every port of the server.
    func changeSecurityGroup(_ context: StratusContext, _ auth: AuthContext, _ args: JSON, add: Bool) async throws {
        let action = add ? "addSecurityGroup" : "removeSecurityGroup"
        let instance = try await server(context, auth, rule: add ? "os_compute_api:os-security-groups:add" : "os_compute_api:os-security-groups:remove")
        if instance.locked, !isAdmin(auth) { throw APIError.conflict("Instance \(instance.uuid) is locked") }
        guard let name = args["name"]?.stringValue, !name.isEmpty else {
            throw APIError.badRequest("Invalid input for field/attribute \(action). 'name' is a required property")
        }
        let groups = try await clients.network.securityGroups(project: instance.projectID, token: auth.token)
        let matches = groups.filter { $0.name == name || $0.id == name }
        guard let group = matches.first?.id else {
            throw APIError.notFound("Security group \(name) not found for project \(instance.projectID).")
        }
        if matches.count > 1 { throw APIError.conflict("Multiple security groups named \(name) found; use its id.") }
        let ports = instance.portIDs
        guard !ports.isEmpty else { throw APIError.badRequest("Instance \(instance.uuid) has no network ports to change.") }
        var changes: [(String, [String])] = []
        for port in ports {
            var current = try await clients.network.port(port, token: nil)?.securityGroups ?? []
            let present = current.contains(group)
            if add {
                if present { throw APIError.badRequest("Security group \(name) is already associated with the instance \(instance.uuid)") }
                current.append(group)
            } else {
                if !present { throw APIError.badRequest("Security group \(name) not associated with the instance \(instance.uuid)") }
                current.removeAll { $0 == group }
            }
            changes.append((port, current))
        }
        for (port, groups) in changes {
            do {
                _ = try await clients.network.updatePort(port, .securityGroups(groups))
            } catch let fault as ServiceFault {
                throw APIError.badRequest("Updating the security groups of port \(port) failed: \(fault.message)")
            }
        }
        let groupName = matches.first?.name ?? name
        try await instances.update(instance.uuid) { instance in
            var names = instance.securityGroups
            names.removeAll { $0 == groupName || $0 == group }
            if add { names.append(groupName) }
            instance.securityGroups = names
        }
        _ = try await db.transaction { db in
            try await self.actions.start(action, instance: instance.uuid, requestID: context.requestID, projectID: instance.projectID, userID: auth.userID, in: db)
        }
    }
}
