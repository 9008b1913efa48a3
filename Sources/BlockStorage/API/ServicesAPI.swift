import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// Extensions, availability zones, services, hosts, pools and capabilities.
extension BlockStorageAPI {
    static let extensions: [(alias: String, name: String)] = [
        ("os-hosts", "Hosts"), ("os-vol-tenant-attr", "VolumeTenantAttribute"),
        ("os-availability-zone", "AvailabilityZones"), ("os-volume-actions", "VolumeActions"),
        ("os-vol-host-attr", "VolumeHostAttribute"), ("os-vol-image-meta", "VolumeImageMetadata"),
        ("os-vol-mig-status-attr", "VolumeMigStatusAttribute"),
        ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes"), ("os-snapshot-actions", "SnapshotActions"),
        ("os-types-manage", "TypesManage"), ("os-types-extra-specs", "TypesExtraSpecs"),
        ("os-volume-type-access", "VolumeTypeAccess"), ("os-services", "Services"),
        ("os-admin-actions", "AdminActions"), ("scheduler-stats", "Scheduler_stats"), ("capabilities", "Capabilities"),
        ("os-quota-sets", "Quotas"), ("os-used-limits", "UsedLimits"),
    ]

    func registerServices(on router: RouterGroup<StratusContext>) {
        router.get("/extensions") { _, context -> Response in
            _ = try self.caller(context)
            let items: [JSON] = Self.extensions.map { item in
                [
                    "alias": .string(item.alias), "name": .string(item.name), "description": .string(item.name),
                    "links": [], "updated": "2013-04-18T00:00:00+00:00",
                ]
            }
            return .json(["extensions": .array(items)])
        }
        router.get("/os-availability-zone") { _, context -> Response in
            _ = try self.caller(context)
            let services = try await db.read { try await ServiceRecord.all(in: $0) }
            var zones = Set(services.map(\.zone))
            zones.insert(settings.defaultZone)
            let items: [JSON] = zones.sorted().map { zone in
                let up = services.contains { $0.zone == zone && !$0.disabled && $0.isUp(downTime: 60) }
                return [
                    "zoneName": .string(zone), "zoneState": ["available": .bool(up || zone == settings.defaultZone)],
                ]
            }
            return .json(["availabilityZoneInfo": .array(items)])
        }
        router.get("/os-services") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:services:index", auth)
            let services = try await db.read { try await ServiceRecord.all(in: $0) }.filter { service in
                (request.formQuery("host").map { $0 == service.host || service.host.hasPrefix($0 + "@") } ?? true)
                    && (request.formQuery("binary").map { $0 == service.binary } ?? true)
            }
            return .json(["services": .array(services.map { Self.serviceView($0, context) })])
        }
        for action in ["enable", "disable", "disable-log-reason", "freeze", "thaw"] {
            router.put(RouterPath("/os-services/\(action)")) { request, context -> Response in
                let auth = try self.caller(context)
                try enforce("volume_extension:services:update", auth)
                let body = try await request.jsonObject(context: context)
                guard let host = body["host"]?.stringValue else {
                    throw APIError.badRequest("Missing required element 'host' in request body.")
                }
                // Freezing a backend stops changes to its volumes: its service is disabled.
                let binary =
                    ["freeze", "thaw"].contains(action) ? ServiceRecord.volumeBinary : body["binary"]?.stringValue
                guard let binary else {
                    throw APIError.badRequest("Missing required element 'binary' in request body.")
                }
                let disabled = action != "enable" && action != "thaw"
                var reason: String?
                if action == "disable-log-reason" {
                    guard let text = body["disabled_reason"]?.stringValue, !text.isEmpty, text.count <= 255 else {
                        throw BlockStorageError.invalidInput(
                            "Disabled reason contains invalid characters or is too long")
                    }
                    reason = text
                }
                if action == "freeze" { reason = "frozen" }
                let given = reason
                let found = try await db.transaction { db in
                    try await ServiceRecord.setDisabled(
                        host: host, binary: binary, disabled: disabled, reason: given, in: db)
                }
                guard found else {
                    if ["freeze", "thaw"].contains(action) { throw APIError.badRequest("Invalid host: \(host)") }
                    throw APIError.notFound("Service \(binary) on host \(host) could not be found.")
                }
                if ["freeze", "thaw"].contains(action) { return Response(status: .ok) }
                var view: [String: JSON] = [
                    "host": .string(host), "binary": .string(binary), "service": .string(binary),
                    "status": disabled ? "disabled" : "enabled", "disabled": .bool(disabled),
                ]
                if action != "disable" { view["disabled_reason"] = reason.map(JSON.string) ?? .null }
                return .json(.object(view))
            }
        }
        router.get("/os-hosts") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:hosts", auth)
            let services = try await db.read { try await ServiceRecord.all(in: $0) }
            let items: [JSON] = services.map { service in
                [
                    "service": .string(service.binary), "host_name": .string(service.host),
                    "zone": .string(service.zone),
                    "service-status": service.isUp(downTime: 60) ? "available" : "unavailable",
                    "service-state": service.disabled ? "disabled" : "enabled",
                    "last-update": .string(Timestamp.iso8601(service.updatedAt, fractional: true)),
                ]
            }
            return .json(["hosts": .array(items)])
        }
        router.get("/os-hosts/:host") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:hosts", auth)
            let host = context.parameters.get("host") ?? ""
            let pattern = host + "@%"
            let (volumes, snapshots) = try await db.read { db in
                let volumes = try await Volume.select(
                    where: "host = \(bind: host) OR host LIKE \(bind: pattern)", in: db)
                let snapshots = try await Snapshot.select(where: "volume_id IN " + .list(volumes.map(\.id)), in: db)
                return (volumes, snapshots)
            }
            let services = try await db.read { try await ServiceRecord.all(in: $0) }
            guard !volumes.isEmpty || services.contains(where: { $0.host == host || $0.host.hasPrefix(host + "@") })
            else {
                throw APIError.notFound("Host \(host) could not be found.")
            }
            func resource(_ project: String, _ volumes: [Volume], _ snapshots: [Snapshot]) -> JSON {
                [
                    "resource": [
                        "host": .string(host), "project": .string(project),
                        "volume_count": .string(String(volumes.count)),
                        "total_volume_gb": .string(String(volumes.reduce(0) { $0 + $1.size })),
                        "snapshot_count": .string(String(snapshots.count)),
                        "total_snapshot_gb": .string(String(snapshots.reduce(0) { $0 + $1.size })),
                    ]
                ]
            }
            var items = [resource("(total)", volumes, snapshots)]
            for project in Set(volumes.map(\.projectID)).sorted() {
                items.append(
                    resource(
                        project, volumes.filter { $0.projectID == project },
                        snapshots.filter { $0.projectID == project }))
            }
            return .json(["host": .array(items)])
        }
        router.get("/scheduler-stats/get_pools") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("scheduler_extension:scheduler_stats:get_pools", auth)
            let detail = try request.boolQuery("detail") ?? false
            let services = try await db.read { try await ServiceRecord.all(in: $0) }
            let pools: [JSON] = services.compactMap { service in
                guard let capabilities = service.capabilities else { return nil }
                if let name = request.formQuery("volume_backend_name"), name != capabilities.backendName { return nil }
                let name = "\(service.host)#\(capabilities.pool)"
                guard detail else { return ["name": .string(name)] }
                return ["name": .string(name), "capabilities": .object(capabilities.flattened)]
            }
            return .json(["pools": .array(pools)])
        }
        router.get("/capabilities/:host") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:capabilities", auth)
            let host = context.parameters.get("host") ?? ""
            let services = try await db.read { try await ServiceRecord.all(in: $0) }
            guard let capabilities = services.first(where: { $0.host == host })?.capabilities else {
                throw APIError.notFound("Service \(host) could not be found.")
            }
            let flat = capabilities.flattened
            let properties = flat.filter { $0.value.stringValue == nil }.mapValues { value -> JSON in
                ["title": .string("\(value)"), "description": .string("\(value)"), "type": .string(value.typeName)]
            }
            return .json([
                "namespace": .string("OS::Storage::Capabilities::\(host)"),
                "vendor_name": flat["vendor_name"] ?? .null,
                "volume_backend_name": flat["volume_backend_name"] ?? .null, "pool_name": flat["pool_name"] ?? .null,
                "driver_version": flat["driver_version"] ?? .null,
                "storage_protocol": flat["storage_protocol"] ?? .null,
                "display_name": .null, "description": .null, "visibility": "pool", "replication_targets": [],
                "properties": .object(properties),
            ])
        }
    }

    static func serviceView(_ service: ServiceRecord, _ context: StratusContext) -> JSON {
        var view: [String: JSON] = [
            "binary": .string(service.binary), "host": .string(service.host), "zone": .string(service.zone),
            "status": service.disabled ? "disabled" : "enabled", "state": service.isUp(downTime: 60) ? "up" : "down",
            "updated_at": .string(Timestamp.iso8601(service.updatedAt, fractional: true)),
            "disabled_reason": service.disabledReason.map(JSON.string) ?? .null,
        ]
        if context.version(atLeast: 3, 7) { view["cluster"] = .null }
        if context.version(atLeast: 3, 49) { view["backend_state"] = "up" }
        if service.binary == ServiceRecord.volumeBinary {
            view["replication_status"] = "disabled"
            view["frozen"] = false
        }
        if service.binary == ServiceRecord.volumeBinary { view["active_backend_id"] = .null }
        return .object(view)
    }
}
