import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ComputeAPI {
    var records: ServiceRecords { ServiceRecords(db: db, settings: settings) }

    /// os-services, os-hypervisors, os-availability-zone and os-simple-tenant-usage.
    func registerOperatorViews(on router: RouterGroup<StratusContext>) {
        registerServices(on: router)
        registerHypervisors(on: router)
        router.get("/os-availability-zone") { _, context -> Response in
            try self.enforce("os_compute_api:os-availability-zone:list", try self.caller(context))
            let zones = try await self.records.zones().sorted()
            return .json(["availabilityZoneInfo": .array(zones.map { ["zoneName": .string($0), "zoneState": ["available": true], "hosts": .null] })])
        }
        router.get("/os-availability-zone/detail") { _, context -> Response in
            try self.enforce("os_compute_api:os-availability-zone:detail", try self.caller(context))
            var hosts: [String: [String: [String: JSON]]] = [:]
            for service in try await self.records.all() {
                let state: JSON = [
                    "available": .bool(!service.disabled), "active": .bool(service.isUp(downTime: self.settings.serviceDownTime)),
                    "updated_at": JSON(service.updatedAt.map(Timestamp.nova)),
                ]
                hosts[service.zone, default: [:]][service.host, default: [:]][service.binary] = state
            }
            let info: [JSON] = hosts.keys.sorted().map { zone in
                ["zoneName": .string(zone), "zoneState": ["available": true],
                 "hosts": .object((hosts[zone] ?? [:]).mapValues { .object($0) })]
            }
            return .json(["availabilityZoneInfo": .array(info)])
        }
        router.get("/os-simple-tenant-usage") { request, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:os-simple-tenant-usage:list", auth)
            // `/os-simple-tenant-usage/` is a show of an empty project id, which Nova does not find.
            if request.uri.path.hasSuffix("/") { throw APIError.notFound("The resource could not be found.") }
            let page = try await self.tenantUsage(request, context, project: nil)
            var body: [String: JSON] = ["tenant_usages": .array(page.usages)]
            if let next = page.next { body["tenant_usages_links"] = next }
            return .json(.object(body))
        }
        router.get("/os-simple-tenant-usage/:project") { request, context -> Response in
            let auth = try self.caller(context)
            let project = context.parameters.get("project") ?? ""
            guard !project.isEmpty else { throw APIError.notFound("The resource could not be found.") }
            try self.enforce("os_compute_api:os-simple-tenant-usage:show", auth, projectID: project)
            let page = try await self.tenantUsage(request, context, project: project)
            var body: [String: JSON] = ["tenant_usage": page.usages.first ?? [:]]
            if let next = page.next { body["tenant_usage_links"] = next }
            return .json(.object(body))
        }
    }

    private func registerServices(on router: RouterGroup<StratusContext>) {
        router.get("/os-services") { request, context -> Response in
            try self.enforce("os_compute_api:os-services:list", try self.caller(context))
            let services = try await self.records.all().filter { service in
                (request.query("host").map { $0 == service.host } ?? true) && (request.query("binary").map { $0 == service.binary } ?? true)
            }
            return .json(["services": .array(services.map { self.serviceView($0, context) })])
        }
        router.put("/os-services/:id") { request, context -> Response in
            try self.enforce("os_compute_api:os-services:update", try self.caller(context))
            let body = try await request.jsonObject(context: context)
            let id = context.parameters.get("id") ?? ""
            if !context.version(atLeast: 2, 53) {
                // Legacy actions: PUT /os-services/{disable,enable,disable-log-reason,force-down} with host and binary.
                guard let host = body["host"]?.stringValue, let binary = body["binary"]?.stringValue else {
                    throw APIError.badRequest("Invalid input: host and binary are required")
                }
                guard let service = try await self.records.all().first(where: { $0.host == host && $0.binary == binary }) else {
                    throw APIError.notFound("Service \(binary) on host \(host) could not be found.")
                }
                var changes: [String: JSON] = [:]
                switch id {
                case "enable": changes = ["status": "enabled"]
                case "disable": changes = ["status": "disabled"]
                case "disable-log-reason": changes = ["status": "disabled", "disabled_reason": body["disabled_reason"] ?? .null]
                case "force-down": changes = ["forced_down": body["forced_down"] ?? false]
                default: throw APIError.notFound("Unknown action")
                }
                let updated = try await self.updateService(service.id, changes)
                var view: [String: JSON] = ["host": .string(updated.host), "binary": .string(updated.binary)]
                if id == "force-down" { view["forced_down"] = .bool(updated.forcedDown) } else {
                    view["status"] = updated.disabled ? "disabled" : "enabled"
                    if id == "disable-log-reason" { view["disabled_reason"] = JSON(updated.disabledReason) }
                }
                return .json(["service": .object(view)])
            }
            for key in body.keys where !["status", "disabled_reason", "forced_down"].contains(key) {
                throw APIError.badRequest("Additional properties are not allowed ('\(key)' was unexpected)")
            }
            if body["disabled_reason"] != nil, body["status"]?.stringValue != "disabled" {
                throw APIError.badRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
            }
            guard try await self.records.all().contains(where: { $0.id == id }) else { throw APIError.notFound("Service \(id) not found.") }
            let updated = try await self.updateService(id, body)
            return .json(["service": self.serviceView(updated, context)])
        }
        router.delete("/os-services/:id") { _, context -> Response in
            try self.enforce("os_compute_api:os-services:delete", try self.caller(context))
            let id = context.parameters.get("id") ?? ""
            guard let service = try await self.records.all().first(where: { $0.id == id || String($0.legacyID) == id }) else {
                throw APIError.notFound("Service \(id) not found.")
            }
            if service.binary == "nova-compute" {
                let busy = try await self.db.read { db in
                    try await db.raw("SELECT uuid FROM instances WHERE host = \(bind: service.host) AND deleted = \(bind: false) LIMIT 1").first() != nil
                }
                if busy { throw APIError.conflict("Unable to delete compute service that is hosting instances. Migrate or delete the instances first.") }
            }
            try await self.db.read { db in try await db.delete(from: "services").where("id", .equal, SQLBind(service.id)).run() }
            return Response(status: .noContent)
        }
    }

    func updateService(_ id: String, _ changes: [String: JSON]) async throws -> ServiceRecords.Service {
        try await db.transaction { db in
            var update = db.update("services").set("updated_at", to: SQLBind(Date().timeIntervalSince1970))
            if let status = changes["status"] {
                guard let text = status.stringValue, ["enabled", "disabled"].contains(text) else {
                    throw APIError.badRequest("Invalid input for field/attribute status. Value: \(status.serialized()). is not one of ['enabled', 'disabled']")
                }
                update = update.set("disabled", to: SQLBind(text == "disabled"))
                update = update.set("disabled_reason", to: SQLBind(text == "disabled" ? changes["disabled_reason"]?.stringValue : nil))
            }
            if let down = changes["forced_down"] {
                guard let flag = down.boolValue else { throw APIError.badRequest("Invalid input for field/attribute forced_down.") }
                update = update.set("forced_down", to: SQLBind(flag))
            }
            try await update.where("id", .equal, SQLBind(id)).run()
            guard let row = try await db.select().columns("*").from("services").where("id", .equal, SQLBind(id)).first() else {
                throw APIError.notFound("Service \(id) not found.")
            }
            return try ServiceRecords.Service(row: row)
        }
    }

    private func serviceView(_ service: ServiceRecords.Service, _ context: StratusContext) -> JSON {
        var view: [String: JSON] = [
            "id": context.version(atLeast: 2, 53) ? .string(service.id) : .int(service.legacyID), "binary": .string(service.binary),
            "host": .string(service.host), "zone": .string(service.zone), "status": service.disabled ? "disabled" : "enabled",
            "state": service.isUp(downTime: settings.serviceDownTime) ? "up" : "down",
            "updated_at": JSON(service.updatedAt.map(Timestamp.nova)), "disabled_reason": JSON(service.disabledReason),
        ]
        if context.version(atLeast: 2, 11) { view["forced_down"] = .bool(service.forcedDown) }
        return .object(view)
    }

    /// Usage of the instances alive in the period, by project. From 2.40 it pages as Nova does: by instance,
    /// ordered by project and uuid, `marker` the last instance of the previous page (so the page after the
    /// last one is empty), and a `next` link when a page is full.
    private func tenantUsage(
        _ request: Request, _ context: StratusContext, project: String?
    ) async throws -> (usages: [JSON], next: JSON?) {
        let paged = context.version(atLeast: 2, 40)
        var known: Set<String> = project == nil ? ["start", "end", "detailed"] : ["start", "end"]
        if paged { known.formUnion(["limit", "marker"]) }
        if context.version(atLeast: 2, 75) { try request.rejectUnknownQuery(known) }
        let now = Date()
        let invalid = "Datetime is in invalid format"
        let start = try request.dateQuery("start", invalid: invalid) ?? now.addingTimeInterval(-30 * 86400)
        let end = min(try request.dateQuery("end", invalid: invalid) ?? now, now)
        guard start < end else {
            throw APIError.badRequest("Invalid start time. The start time cannot occur after the end time.")
        }
        let detailed = try project != nil || request.boolQuery("detailed") ?? false
        let asked = paged ? try request.intQuery("limit") : nil
        let limit = min(asked ?? settings.maxLimit, settings.maxLimit)
        var condition: SQLQueryString = """
            created_at < \(bind: end.timeIntervalSince1970) \
            AND (deleted_at IS NULL OR deleted_at > \(bind: start.timeIntervalSince1970))
            """
        if let project { condition = condition + " AND project_id = \(bind: project)" }
        if paged, let marker = request.query("marker") {
            guard let last = try await instances.get(marker, includeDeleted: true) else {
                throw APIError.badRequest("Marker \(marker) could not be found.")
            }
            condition = condition + """
                 AND (project_id > \(bind: last.projectID) OR (project_id = \(bind: last.projectID) \
                AND uuid > \(bind: last.uuid)))
                """
        }
        let query = condition + " ORDER BY project_id, uuid LIMIT \(unsafeRaw: String(limit))"
        let list = try await db.read { db in try await self.instances.select(where: query, in: db) }
        var next: JSON?
        if paged, limit > 0, list.count == limit, let last = list.last {
            next = [["rel": "next", "href": .string(Self.nextLink(request, marker: last.uuid, limit: limit))]]
        }
        var byProject: [(project: String, instances: [Instance])] = []
        for instance in list {
            if byProject.last?.project == instance.projectID {
                byProject[byProject.count - 1].instances.append(instance)
            } else {
                byProject.append((instance.projectID, [instance]))
            }
        }
        let usages = byProject.map { tenant, instances in
            tenantUsageView(tenant, instances, start: start, end: end, now: now, detailed: detailed)
        }
        return (usages, next)
    }

    private func tenantUsageView(
        _ tenant: String, _ instances: [Instance], start: Date, end: Date, now: Date, detailed: Bool
    ) -> JSON {
        var totals = (hours: 0.0, vcpus: 0.0, ram: 0.0, disk: 0.0)
        var servers: [JSON] = []
        for instance in instances {
            let from = max(instance.createdAt, start)
            let to = min(instance.deletedAt ?? end, end)
            let hours = max(0, to.timeIntervalSince(from)) / 3600
            totals.hours += hours
            totals.vcpus += hours * Double(instance.vcpus)
            totals.ram += hours * Double(instance.memoryMB)
            totals.disk += hours * Double(instance.rootGB)
            servers.append([
                "instance_id": .string(instance.uuid), "name": .string(instance.name), "hours": .double(hours),
                "memory_mb": .int(instance.memoryMB), "local_gb": .int(instance.rootGB), "vcpus": .int(instance.vcpus),
                "tenant_id": .string(tenant), "flavor": instance.flavor["name"] ?? "",
                "started_at": .string(Timestamp.nova(instance.createdAt)),
                "ended_at": JSON(instance.deletedAt.map(Timestamp.nova)),
                "state": .string(instance.deleted ? "terminated" : instance.vmState.rawValue),
                "uptime": .int(Int((instance.deletedAt ?? now).timeIntervalSince(instance.createdAt))),
            ])
        }
        var usage: [String: JSON] = [
            "tenant_id": .string(tenant), "total_hours": .double(totals.hours),
            "total_vcpus_usage": .double(totals.vcpus), "total_memory_mb_usage": .double(totals.ram), "total_local_gb_usage": .double(totals.disk),
            "start": .string(Timestamp.nova(start)), "stop": .string(Timestamp.nova(end)),
        ]
        if detailed { usage["server_usages"] = .array(servers) }
        return .object(usage)
    }
}
