import Foundation
import Hummingbird
import StratusCore

/// Nova's floating IP proxy (`os-floating-ips` up to 2.35, `addFloatingIp` and
/// `removeFloatingIp` up to 2.43): Neutron's floating IPs in Nova's shape.
extension ComputeAPI {
    func registerFloatingIPsProxy(on router: RouterGroup<StratusContext>) {
        router.get("/os-floating-ips") { _, context -> Response in
            let auth = try self.proxyCaller(context)
            let reply = try await self.clients.networkProxy.get(
                "/v2.0/floatingips?project_id=\(auth.projectID ?? "")", token: auth.token)
            guard reply.ok else { throw Self.networkError(reply) }
            var views: [JSON] = []
            for ip in reply.body["floatingips"]?.arrayValue ?? [] {
                views.append(try await self.floatingIPView(ip, auth))
            }
            return .json(["floating_ips": .array(views)])
        }
        router.post("/os-floating-ips") { request, context -> Response in
            let auth = try self.proxyCaller(context)
            let body = try await request.jsonObject(context: context)
            let pool = body["pool"]?.stringValue
            let networks = try await self.clients.networkProxy.get(
                "/v2.0/networks?router:external=true", token: auth.token)
            let externals = networks.body["networks"]?.arrayValue ?? []
            let chosen =
                pool.map { wanted in
                    externals.first { $0["id"]?.stringValue == wanted || $0["name"]?.stringValue == wanted }
                }
                ?? externals.first { $0["name"]?.stringValue == "public" } ?? externals.first
            guard let network = chosen ?? nil, let networkID = network["id"]?.stringValue else {
                throw APIError.notFound("Floating IP pool not found.")
            }
            let reply = try await self.clients.networkProxy.send(
                .POST, "/v2.0/floatingips",
                body: [
                    "floatingip": ["floating_network_id": .string(networkID), "project_id": JSON(auth.projectID)]
                ], token: auth.token)
            guard reply.ok, let ip = reply.body["floatingip"] else {
                if reply.status == 409 || reply.status == 413 {
                    throw APIError.forbidden("No more floating IPs available: \(reply.faultMessage)")
                }
                throw Self.networkError(reply)
            }
            return .json(["floating_ip": try await self.floatingIPView(ip, auth)])
        }
        router.get("/os-floating-ips/:id") { _, context -> Response in
            let auth = try self.proxyCaller(context)
            let ip = try await self.proxiedFloatingIP(context, auth)
            return .json(["floating_ip": try await self.floatingIPView(ip, auth)])
        }
        router.delete("/os-floating-ips/:id") { _, context -> Response in
            let auth = try self.proxyCaller(context)
            let ip = try await self.proxiedFloatingIP(context, auth)
            let reply = try await self.clients.networkProxy.send(
                .DELETE, "/v2.0/floatingips/\(ip["id"]?.stringValue ?? "")", token: auth.token)
            guard reply.ok else { throw Self.networkError(reply) }
            return Response(status: .accepted)
        }
    }

    private func proxiedFloatingIP(_ context: StratusContext, _ auth: AuthContext) async throws -> JSON {
        let id = context.parameters.get("id") ?? ""
        guard UUID(uuidString: id) != nil else { throw APIError.notFound("Floating IP not found for ID \(id)") }
        let reply = try await clients.networkProxy.get("/v2.0/floatingips/\(id.pathSegment)", token: auth.token)
        guard reply.ok, let ip = reply.body["floatingip"] else {
            throw APIError.notFound("Floating IP not found for ID \(id)")
        }
        return ip
    }

    private func floatingIPView(_ ip: JSON, _ auth: AuthContext) async throws -> JSON {
        var instance: JSON = .null
        if let port = ip["port_id"]?.stringValue {
            let reply = try await clients.networkProxy.get("/v2.0/ports/\(port.pathSegment)", token: auth.token)
            if let device = reply.body["port"]?["device_id"]?.stringValue, !device.isEmpty {
                instance = .string(device)
            }
        }
        var pool: JSON = ip["floating_network_id"] ?? .null
        if let network = ip["floating_network_id"]?.stringValue {
            let reply = try await clients.networkProxy.get("/v2.0/networks/\(network.pathSegment)", token: auth.token)
            pool = reply.body["network"]?["name"] ?? pool
        }
        return [
            "id": ip["id"] ?? .null, "ip": ip["floating_ip_address"] ?? .null,
            "fixed_ip": ip["fixed_ip_address"] ?? .null,
            "instance_id": instance, "pool": pool,
        ]
    }

    /// `addFloatingIp` / `removeFloatingIp` on a server (its first port, or the one with `fixed_address`).
    func changeFloatingIP(_ context: StratusContext, _ auth: AuthContext, _ args: JSON, add: Bool) async throws {
        let action = add ? "addFloatingIp" : "removeFloatingIp"
        guard !context.version(atLeast: 2, 44) else { throw APIError.badRequest("There is no such action: \(action)") }
        let instance = try await server(context, auth, rule: "os_compute_api:servers:show")
        try enforce(
            add ? "os_compute_api:os-floating-ips:add" : "os_compute_api:os-floating-ips:remove", auth,
            projectID: instance.projectID)
        guard let address = args["address"]?.stringValue, !address.isEmpty else {
            throw APIError.badRequest(
                "Invalid input for field/attribute address. Value: \(args["address"]?.serialized() ?? "None"). is not a valid IP address"
            )
        }
        let found = try await clients.networkProxy.get(
            "/v2.0/floatingips?floating_ip_address=\(address.queryValue)", token: auth.token)
        guard let ip = found.body["floatingips"]?.arrayValue?.first, let id = ip["id"]?.stringValue else {
            throw APIError.notFound("floating IP not found")
        }
        if !add {
            let port = ip["port_id"]?.stringValue ?? ""
            guard instance.portIDs.contains(port) else {
                throw APIError.conflict("Floating IP \(address) is not associated with instance \(instance.uuid).")
            }
            let reply = try await clients.networkProxy.send(
                .PUT, "/v2.0/floatingips/\(id.pathSegment)", body: ["floatingip": ["port_id": .null]],
                token: auth.token)
            guard reply.ok else { throw Self.networkError(reply) }
            return
        }
        var target: (port: String, fixed: String?)?
        for port in instance.portIDs {
            let reply = try await clients.networkProxy.get("/v2.0/ports/\(port.pathSegment)", token: auth.token)
            let fixed =
                reply.body["port"]?["fixed_ips"]?.arrayValue?.compactMap { $0["ip_address"]?.stringValue } ?? []
            if let wanted = args["fixed_address"]?.stringValue {
                if fixed.contains(wanted) { target = (port, wanted) }
            } else if let v4 = fixed.first(where: { !$0.contains(":") }) {
                target = (port, v4)
            }
            if target != nil { break }
        }
        guard let target else {
            throw APIError.badRequest(
                "Unable to associate floating IP \(address) to any fixed IPs for instance \(instance.uuid).")
        }
        if let current = ip["port_id"]?.stringValue, current != target.port {
            _ = try await clients.networkProxy.send(
                .PUT, "/v2.0/floatingips/\(id.pathSegment)", body: ["floatingip": ["port_id": .null]],
                token: auth.token)
        }
        let reply = try await clients.networkProxy.send(
            .PUT, "/v2.0/floatingips/\(id.pathSegment)",
            body: [
                "floatingip": ["port_id": .string(target.port), "fixed_ip_address": JSON(target.fixed)]
            ], token: auth.token)
        guard reply.ok else {
            if reply.status == 409 || reply.status == 400 {
                throw APIError.badRequest("Unable to associate floating IP \(address): \(reply.faultMessage)")
            }
            throw Self.networkError(reply)
        }
    }
}
