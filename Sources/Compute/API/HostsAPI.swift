import Foundation
import Hummingbird
import StratusCore

/// `os-hosts` (admin, up to 2.42): the hosts of the services, a compute host's resources,
/// and enabling or disabling its compute service.
extension ComputeAPI {
    func registerHosts(on router: RouterGroup<StratusContext>) {
        router.get("/os-hosts") { request, context -> Response in
            try self.hostsCaller(context, rule: "os_compute_api:os-hosts:list")
            let zone = request.query("zone") ?? ""
            let hosts = try await self.records.all().filter { zone.isEmpty || $0.zone == zone }.map { service -> JSON in
                let kind = service.binary.hasPrefix("nova-") ? String(service.binary.dropFirst(5)) : service.binary
                return ["host_name": .string(service.host), "service": .string(kind), "zone": .string(service.zone)]
            }
            return .json(["hosts": .array(hosts)])
        }
        router.get("/os-hosts/:host") { _, context -> Response in
            try self.hostsCaller(context, rule: "os_compute_api:os-hosts:show")
            let host = try await self.computeHost(context)
            guard let node = try await self.records.nodes().first(where: { $0.host == host }) else {
                throw APIError.notFound("Compute host \(host) could not be found.")
            }
            let used = try await self.records.usageByHost()[host] ?? (0, 0, 0, 0)
            func resource(_ project: String, cpu: Int, memory: Int, disk: Int) -> JSON {
                ["resource": ["host": .string(host), "project": .string(project), "cpu": .int(cpu), "memory_mb": .int(memory), "disk_gb": .int(disk)]]
            }
            var resources = [
                resource("(total)", cpu: node.int("vcpus"), memory: node.int("memory_mb"), disk: node.int("local_gb")),
                resource("(used_now)", cpu: used.vcpus, memory: used.ram + self.settings.reservedHostMemoryMB, disk: used.disk),
                resource("(used_max)", cpu: used.vcpus, memory: used.ram, disk: used.disk),
            ]
            let perProject = try await self.db.read { db in
                try await db.raw("""
                    SELECT project_id, CAST(SUM(vcpus) AS BIGINT) AS cpu, CAST(SUM(memory_mb) AS BIGINT) AS ram, CAST(SUM(root_gb) AS BIGINT) AS disk
                    FROM instances WHERE host = \(bind: host) AND deleted = \(bind: false) GROUP BY project_id ORDER BY project_id
                    """).all()
            }
            for row in perProject {
                resources.append(resource(try row.decode(column: "project_id", as: String.self), cpu: try row.decode(column: "cpu", as: Int?.self) ?? 0,
                    memory: try row.decode(column: "ram", as: Int?.self) ?? 0, disk: try row.decode(column: "disk", as: Int?.self) ?? 0))
            }
            return .json(["host": .array(resources)])
        }
        router.put("/os-hosts/:host") { request, context -> Response in
            try self.hostsCaller(context, rule: "os_compute_api:os-hosts:update")
            let body = try await request.jsonObject(context: context)
            if let extra = body.keys.sorted().first(where: { !["status", "maintenance_mode"].contains($0) }) {
                throw APIError.badRequest("Invalid input for field/attribute host. Additional properties are not allowed ('\(extra)' was unexpected)")
            }
            guard !body.isEmpty else { throw APIError.badRequest("'status' or 'maintenance_mode' needed for host update") }
            for key in body.keys.sorted() where !["enable", "disable"].contains(body[key]?.stringValue ?? "") {
                throw APIError.badRequest("Invalid input for field/attribute \(key). Value: \(body[key]?.serialized() ?? "None"). is not one of ['enable', 'disable']")
            }
            let host = try await self.computeHost(context)
            if body["maintenance_mode"] != nil {
                throw APIError(.notImplemented, "Virt driver does not implement host maintenance mode.")
            }
            let disable = body["status"]?.stringValue == "disable"
            guard let service = try await self.records.all().first(where: { $0.host == host && $0.binary == "nova-compute" }) else {
                throw APIError.notFound("Compute host \(host) could not be found.")
            }
            _ = try await self.updateService(service.id, ["status": .string(disable ? "disabled" : "enabled")])
            return .json(["host": .string(host), "status": .string(disable ? "disabled" : "enabled")])
        }
        for (action, rule) in [("reboot", "os_compute_api:os-hosts:reboot"), ("shutdown", "os_compute_api:os-hosts:shutdown"), ("startup", "os_compute_api:os-hosts:start")] {
            router.get(RouterPath("/os-hosts/:host/\(action)")) { _, context -> Response in
                try self.hostsCaller(context, rule: rule)
                _ = try await self.computeHost(context)
                throw APIError(.notImplemented, "Virt driver does not implement host power management.")
            }
        }
    }

    /// `os-hosts` is gone from 2.43 on.
    private func hostsCaller(_ context: StratusContext, rule: String) throws {
        let auth = try caller(context)
        guard !context.version(atLeast: 2, 43) else { throw APIError.notFound("The resource could not be found.") }
        try enforce(rule, auth)
    }

    private func computeHost(_ context: StratusContext) async throws -> String {
        let host = context.parameters.get("host") ?? ""
        guard try await records.all().contains(where: { $0.host == host && $0.binary == "nova-compute" }) else {
            throw APIError.notFound("Compute host \(host) could not be found.")
        }
        return host
    }
}
