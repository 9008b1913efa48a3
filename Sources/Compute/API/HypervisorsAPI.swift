import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ComputeAPI {
    func registerHypervisors(on router: RouterGroup<StratusContext>) {
        router.get("/os-hypervisors") { request, context in try await self.listHypervisors(request, context, detail: false) }
        router.get("/os-hypervisors/detail") { request, context in try await self.listHypervisors(request, context, detail: true) }
        router.get("/os-hypervisors/statistics") { _, context -> Response in
            try self.enforce("os_compute_api:os-hypervisors:statistics", try self.caller(context))
            let nodes = try await self.records.nodes()
            let usage = try await self.records.usageByHost()
            var stats: [String: Int] = [:]
            for node in nodes {
                let used = usage[node.host] ?? (0, 0, 0, 0)
                let memoryUsed = used.ram + self.settings.reservedHostMemoryMB
                for (key, value) in [
                    ("count", 1), ("vcpus", node.int("vcpus")), ("memory_mb", node.int("memory_mb")), ("local_gb", node.int("local_gb")),
                    ("vcpus_used", used.vcpus), ("memory_mb_used", memoryUsed), ("local_gb_used", used.disk),
                    ("free_ram_mb", node.int("memory_mb") - memoryUsed), ("free_disk_gb", node.int("local_gb") - used.disk),
                    ("current_workload", 0), ("running_vms", used.servers), ("disk_available_least", node.int("local_gb") - used.disk),
                ] { stats[key, default: 0] += value }
            }
            return .json(["hypervisor_statistics": .object(stats.mapValues { .int($0) })])
        }
        router.get("/os-hypervisors/:id") { request, context -> Response in
            try self.enforce("os_compute_api:os-hypervisors:show", try self.caller(context))
            let node = try await self.hypervisor(context)
            let view = try await self.hypervisorViews([node], context, detail: true, withServers: try request.boolQuery("with_servers") ?? false)
            return .json(["hypervisor": view.first ?? [:]])
        }
        router.get("/os-hypervisors/:id/uptime") { _, context -> Response in
            try self.enforce("os_compute_api:os-hypervisors:uptime", try self.caller(context))
            let node = try await self.hypervisor(context)
            var view = try await self.hypervisorViews([node], context, detail: false, withServers: false).first?.objectValue ?? [:]
            view["uptime"] = .string(" 00:00:01 up 1 day,  1 user,  load average: 0.00, 0.00, 0.00")
            return .json(["hypervisor": .object(view)])
        }
        for suffix in ["search", "servers"] {
            router.get(RouterPath("/os-hypervisors/:id/\(suffix)")) { _, context -> Response in
                guard !context.version(atLeast: 2, 53) else { throw APIError.notFound("The resource could not be found.") }
                try self.enforce("os_compute_api:os-hypervisors:\(suffix)", try self.caller(context))
                let pattern = context.parameters.get("id") ?? ""
                let nodes = try await self.records.nodes().filter { $0.host.contains(pattern) }
                guard !nodes.isEmpty else { throw APIError.notFound("No hypervisor matching '\(pattern)' could be found.") }
                return .json(["hypervisors": .array(try await self.hypervisorViews(nodes, context, detail: false, withServers: suffix == "servers"))])
            }
        }
    }

    private func listHypervisors(_ request: Request, _ context: StratusContext, detail: Bool) async throws -> Response {
        try enforce(detail ? "os_compute_api:os-hypervisors:detail" : "os_compute_api:os-hypervisors:list", try caller(context))
        var nodes = try await records.nodes()
        if context.version(atLeast: 2, 53), let pattern = request.query("hypervisor_hostname_pattern") {
            nodes = nodes.filter { $0.host.contains(pattern) }
            if nodes.isEmpty { throw APIError.notFound("No hypervisor matching '\(pattern)' could be found.") }
        }
        var limit: Int?
        if context.version(atLeast: 2, 33) {
            limit = try request.intQuery("limit")
            if let marker = request.query("marker") {
                guard let index = nodes.firstIndex(where: { $0.uuid == marker || String(Self.legacyNodeID($0.uuid)) == marker }) else {
                    throw APIError.badRequest("marker [\(marker)] not found")
                }
                nodes.removeFirst(index + 1)
            }
            if let limit { nodes = Array(nodes.prefix(limit)) }
        }
        let withServers = context.version(atLeast: 2, 53) ? (try request.boolQuery("with_servers") ?? false) : false
        var body: [String: JSON] = ["hypervisors": .array(try await hypervisorViews(nodes, context, detail: detail, withServers: withServers))]
        if let limit, nodes.count == limit, let last = nodes.last {
            body["hypervisors_links"] = [["rel": "next", "href": .string(Self.nextLink(request, marker: context.version(atLeast: 2, 53) ? last.uuid : String(Self.legacyNodeID(last.uuid)), limit: limit))]]
        }
        return .json(.object(body))
    }

    static func legacyNodeID(_ uuid: String) -> Int { Int(uuid.prefix(7), radix: 16) ?? 0 }

    private func hypervisor(_ context: StratusContext) async throws -> ServiceRecords.Node {
        let id = context.parameters.get("id") ?? ""
        guard let node = try await records.nodes().first(where: { $0.uuid == id || (!context.version(atLeast: 2, 53) && String(Self.legacyNodeID($0.uuid)) == id) }) else {
            if context.version(atLeast: 2, 53), UUID(uuidString: id) == nil { throw APIError.badRequest("Invalid uuid \(id)") }
            throw APIError.notFound("Hypervisor with ID '\(id)' could not be found.")
        }
        return node
    }

    private func hypervisorViews(_ nodes: [ServiceRecords.Node], _ context: StratusContext, detail: Bool, withServers: Bool) async throws -> [JSON] {
        let services = try await records.all()
        let usage = try await records.usageByHost()
        var servers: [String: [Instance]] = [:]
        if withServers {
            let hosts = nodes.map(\.host)
            let list = try await db.read { db in
                try await self.instances.select(where: "deleted = \(bind: false) AND host IN " + SQLQueryString.list(hosts), in: db)
            }
            for instance in list { servers[instance.host ?? "", default: []].append(instance) }
        }
        return nodes.map { node in
            let service = services.first { $0.host == node.host && $0.binary == "nova-compute" }
            let up = service?.isUp(downTime: settings.serviceDownTime) ?? false
            var view: [String: JSON] = [
                "id": context.version(atLeast: 2, 53) ? .string(node.uuid) : .int(Self.legacyNodeID(node.uuid)),
                "hypervisor_hostname": .string(node.host), "state": up ? "up" : "down", "status": service?.disabled == true ? "disabled" : "enabled",
            ]
            if withServers {
                view["servers"] = .array((servers[node.host] ?? []).map { ["uuid": .string($0.uuid), "name": .string(ServerView.instanceName($0.uuid))] })
            }
            guard detail else { return .object(view) }
            let used = usage[node.host] ?? (0, 0, 0, 0)
            let memoryUsed = used.ram + settings.reservedHostMemoryMB
            view["vcpus"] = .int(node.int("vcpus"))
            view["memory_mb"] = .int(node.int("memory_mb"))
            view["local_gb"] = .int(node.int("local_gb"))
            view["vcpus_used"] = .int(used.vcpus)
            view["memory_mb_used"] = .int(memoryUsed)
            view["local_gb_used"] = .int(used.disk)
            view["free_ram_mb"] = .int(node.int("memory_mb") - memoryUsed)
            view["free_disk_gb"] = .int(node.int("local_gb") - used.disk)
            view["disk_available_least"] = .int(node.int("local_gb") - used.disk)
            view["current_workload"] = 0
            view["running_vms"] = .int(used.servers)
            view["hypervisor_type"] = node.doc["hypervisor_type"] ?? "fake"
            view["hypervisor_version"] = node.doc["hypervisor_version"] ?? 1000
            view["host_ip"] = node.doc["host_ip"] ?? "127.0.0.1"
            let cpuInfo = node.doc["cpu_info"]?.stringValue ?? "{}"
            // From 2.28 cpu_info is an object, before it the JSON text.
            view["cpu_info"] = context.version(atLeast: 2, 28) ? ((try? JSON.parse(cpuInfo)) ?? [:]) : .string(cpuInfo)
            view["service"] = [
                "host": .string(node.host), "id": context.version(atLeast: 2, 53) ? JSON(service?.id) : .int(service?.legacyID ?? 0),
                "disabled_reason": JSON(service?.disabledReason),
            ]
            return .object(view)
        }
    }
}
