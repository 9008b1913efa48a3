import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ComputeAPI {
    /// API status -> vm states (and task states that show as that status).
    static let statusStates: [String: [VMState]] = [
        "ACTIVE": [.active], "BUILD": [.building], "SHUTOFF": [.stopped], "PAUSED": [.paused], "SUSPENDED": [.suspended],
        "RESCUE": [.rescued], "VERIFY_RESIZE": [.resized], "SOFT_DELETED": [.softDeleted], "SHELVED": [.shelved],
        "SHELVED_OFFLOADED": [.shelvedOffloaded], "ERROR": [.error], "DELETED": [.deleted], "REBOOT": [.active],
        "HARD_REBOOT": [.active], "REBUILD": [.active, .stopped], "RESIZE": [.active, .stopped], "MIGRATING": [.active],
        "PASSWORD": [.active],
    ]

    static let sortColumns: [String: String] = [
        "created_at": "created_at", "updated_at": "updated_at", "display_name": "name", "uuid": "uuid", "vm_state": "vm_state",
        "task_state": "task_state", "power_state": "power_state", "host": "host", "node": "node", "launched_at": "launched_at",
        "availability_zone": "availability_zone", "user_id": "user_id", "project_id": "project_id", "instance_type_id": "flavor_id",
        "key_name": "created_at", "hostname": "name", "locked": "locked", "display_description": "created_at", "terminated_at": "deleted_at",
        "image_ref": "image_ref", "kernel_id": "created_at", "ramdisk_id": "created_at", "launch_index": "created_at",
        "root_device_name": "created_at", "config_drive": "created_at", "access_ip_v4": "created_at", "access_ip_v6": "created_at",
    ]

    func listServers(_ request: Request, _ context: StratusContext, detail: Bool) async throws -> Response {
        let auth = try caller(context)
        try enforce(detail ? "os_compute_api:servers:detail" : "os_compute_api:servers:index", auth)
        let admin = isAdmin(auth)
        var conditions: [SQLQueryString] = []
        let allTenants = try request.boolQuery("all_tenants") ?? false
        if allTenants { try enforce("os_compute_api:servers:detail:get_all_tenants", auth) }
        if !(admin && allTenants) {
            conditions.append("project_id = \(bind: auth.projectID ?? "")")
        } else if let project = request.query("project_id") ?? request.query("tenant_id") {
            conditions.append("project_id = \(bind: project)")
        }
        var showDeleted = false
        for (name, op) in [("changes-since", ">="), ("changes-before", "<=")] {
            guard let date = try request.dateQuery(name) else { continue }
            conditions.append("updated_at \(unsafeRaw: op) \(bind: date.timeIntervalSince1970)")
            showDeleted = true
        }
        if admin, let deleted = try request.boolQuery("deleted") {
            conditions.append("deleted = \(bind: deleted)")
        } else if !showDeleted {
            conditions.append("deleted = \(bind: false)")
        }
        if let status = request.query("status") {
            guard let states = Self.statusStates[status.uppercased()] else {
                if admin { throw APIError.badRequest("Invalid status value") }
                return .json(detail ? ["servers": []] : ["servers": []])
            }
            conditions.append("vm_state IN " + SQLQueryString.list(states.map(\.rawValue)))
        }
        for (query, column) in [("flavor", "flavor_id"), ("image", "image_ref"), ("reservation_id", "reservation_id"), ("availability_zone", "availability_zone"), ("user_id", "user_id")] {
            if let value = request.query(query) {
                let text = query == "image" || query == "flavor" ? (value.split(separator: "/").last.map(String.init) ?? value) : value
                conditions.append("\(ident: column) = \(bind: text)")
            }
        }
        if admin {
            for (query, column) in [("host", "host"), ("node", "node")] {
                if let value = request.query(query) { conditions.append("\(ident: column) = \(bind: value)") }
            }
        }
        // Admins may filter on these at any version, everyone from 2.83 (Nova ignores them before).
        let stateFilters = admin || context.version(atLeast: 2, 83)
        if stateFilters {
            for (query, column) in [("vm_state", "vm_state"), ("task_state", "task_state")] {
                let values = request.uri.queryParameters.getAll(query).map { String($0) }
                if !values.isEmpty { conditions.append("\(ident: column) IN " + SQLQueryString.list(values)) }
            }
        }
        if let locked = try request.boolQuery("locked"), context.version(atLeast: 2, 73) { conditions.append("locked = \(bind: locked)") }
        for (query, any, negate) in [("tags", false, false), ("tags-any", true, false), ("not-tags", false, true), ("not-tags-any", true, true)] {
            guard let text = request.query(query), context.version(atLeast: 2, 26) else { continue }
            let tags = text.split(separator: ",").map(String.init)
            let sub: SQLQueryString = any
                ? "uuid IN (SELECT instance_uuid FROM instance_tags WHERE tag IN " + SQLQueryString.list(tags) + ")"
                : "uuid IN (SELECT instance_uuid FROM instance_tags WHERE tag IN " + SQLQueryString.list(tags) + " GROUP BY instance_uuid HAVING COUNT(*) = \(bind: tags.count))"
            conditions.append(negate ? "NOT (" + sub + ")" : sub)
        }
        // Regex filters Nova applies in Python; here after the query.
        let namePattern = try Self.pattern(request, "name")
        let ipPattern = try Self.pattern(request, "ip")
        let ip6Pattern = try Self.pattern(request, "ip6")
        let fieldPatterns = stateFilters ? try Self.fieldPatterns(request) : []
        let postFilter = namePattern != nil || ipPattern != nil || ip6Pattern != nil || !fieldPatterns.isEmpty

        let sortKey = request.query("sort_key") ?? "created_at"
        guard let sortColumn = Self.sortColumns[sortKey] else { throw APIError.badRequest("Invalid sort_key \(sortKey)") }
        let sortDir = request.query("sort_dir") ?? "desc"
        guard ["asc", "desc"].contains(sortDir) else { throw APIError.badRequest("Invalid sort_dir \(sortDir)") }
        if let text = request.query("limit"), (Int(text) ?? -1) < 0 {
            throw APIError.badRequest("Invalid input for query parameters limit. Value: \(text). '\(text)' does not match '^[0-9]*$'")
        }
        let limit = min(Int(request.query("limit") ?? "") ?? settings.maxLimit, settings.maxLimit)
        let marker = request.query("marker")
        let frozen = conditions
        let (page, tags): ([Instance], [String: [String]]) = try await db.read { db in
            var conditions = frozen
            if let marker {
                guard let row = try await self.instances.get(marker, includeDeleted: true, in: db) else {
                    throw APIError.badRequest("marker [\(marker)] not found")
                }
                if !postFilter {
                    let op: SQLQueryString = sortDir == "desc" ? "<" : ">"
                    let value = Self.sortValue(row, column: sortColumn)
                    let column: SQLQueryString = "\(ident: sortColumn)"
                    let bound: SQLQueryString = "\(value)"
                    let tie: SQLQueryString = " AND uuid " + op + " \(bind: row.uuid)))"
                    conditions.append("(" + column + " " + op + " " + bound + " OR (" + column + " = " + bound + tie)
                }
            }
            let order: SQLQueryString = "\(ident: sortColumn) \(unsafeRaw: sortDir.uppercased()), uuid \(unsafeRaw: sortDir.uppercased())"
            let needsDoc = detail || ipPattern != nil || ip6Pattern != nil
            let columns = needsDoc ? Instance.columns : Instance.listColumns
            var sql = "SELECT \(unsafeRaw: columns.joined(separator: ", ")) FROM instances WHERE " + SQLQueryString.all(conditions) + " ORDER BY " + order
            if !postFilter { sql = sql + " LIMIT \(literal: limit)" }
            var page = try await db.raw(sql).all().map(Instance.init(row:))
            if postFilter {
                page = page.filter { instance in
                    if let namePattern, !Self.matches(namePattern, instance.name) { return false }
                    for (pattern, field) in fieldPatterns where !Self.matches(pattern, field(instance)) {
                        return false
                    }
                    let addresses = (instance.addresses.objectValue ?? [:]).values.flatMap { $0.arrayValue ?? [] }
                        .filter { $0["OS-EXT-IPS:type"]?.stringValue != "floating" }  // Nova matches fixed addresses
                    if let ipPattern, !addresses.contains(where: { $0["version"]?.intValue == 4 && Self.matches(ipPattern, $0["addr"]?.stringValue ?? "") }) {
                        return false
                    }
                    if let ip6Pattern, !addresses.contains(where: { $0["version"]?.intValue == 6 && Self.matches(ip6Pattern, $0["addr"]?.stringValue ?? "") }) {
                        return false
                    }
                    return true
                }
                if let marker, let index = page.firstIndex(where: { $0.uuid == marker }) { page.removeFirst(index + 1) }
                page = Array(page.prefix(limit))
            }
            let tags = detail && context.version(atLeast: 2, 26) ? try await self.instances.tags(of: page.map(\.uuid), in: db) : [:]
            return (page, tags)
        }
        var view = try await self.view(request, context, auth)
        if detail { view.prepareHostIDs(page) }
        let shown = view
        let full = page.count == limit && limit > 0
        let next = full ? page.last.map { Self.nextLink(request, marker: $0.uuid, limit: limit) } : nil
        return .jsonList(
            "servers", page,
            element: { instance, servers in
                if detail {
                    shown.write(instance, to: &servers, tags: tags[instance.uuid] ?? [])
                } else {
                    servers.value(shown.brief(instance))
                }
            },
            after: { body in
                if let next { body.field("servers_links", [["rel": "next", "href": .string(next)]]) }
            })
    }

    /// The list filters Nova matches as regular expressions against a server's stored value
    /// (from 2.83 for everyone): each given one's pattern, and the text it searches.
    static func fieldPatterns(_ request: Request) throws -> [(NSRegularExpression, @Sendable (Instance) -> String)] {
        let fields: [(String, @Sendable (Instance) -> String)] = [
            ("key_name", { $0.keyName ?? "" }),
            ("config_drive", { $0.configDrive ? "True" : "" }),
            ("power_state", { String($0.powerState.rawValue) }),
            ("progress", {
                ServerView.status(vmState: $0.vmState, taskState: $0.taskState) == "ACTIVE" ? "100" : "0"
            }),
            ("created_at", { Timestamp.iso8601($0.createdAt) }),
            ("launched_at", { $0.launchedAt.map { Timestamp.iso8601($0) } ?? "" }),
            ("terminated_at", { $0.deletedAt.map { Timestamp.iso8601($0) } ?? "" }),
        ]
        return try fields.compactMap { name, field in try pattern(request, name).map { ($0, field) } }
    }

    /// A query parameter Nova takes as a regular expression; one that is not is a 400.
    static func pattern(_ request: Request, _ name: String) throws -> NSRegularExpression? {
        guard let text = request.query(name) else { return nil }
        do {
            return try NSRegularExpression(pattern: text)
        } catch {
            throw APIError.badRequest("Invalid input for query parameters \(name). Value: \(text).")
        }
    }

    static func matches(_ pattern: NSRegularExpression, _ text: String) -> Bool {
        pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static func sortValue(_ instance: Instance, column: String) -> SQLBind {
        switch column {
        case "created_at": return SQLBind(instance.createdAt.timeIntervalSince1970)
        case "updated_at": return SQLBind(instance.updatedAt.timeIntervalSince1970)
        case "launched_at": return SQLBind(instance.launchedAt?.timeIntervalSince1970 ?? 0)
        case "deleted_at": return SQLBind(instance.deletedAt?.timeIntervalSince1970 ?? 0)
        case "name": return SQLBind(instance.name)
        case "vm_state": return SQLBind(instance.vmState.rawValue)
        case "task_state": return SQLBind(instance.taskState?.rawValue ?? "")
        case "power_state": return SQLBind(instance.powerState.rawValue)
        case "host": return SQLBind(instance.host ?? "")
        case "node": return SQLBind(instance.node ?? "")
        case "availability_zone": return SQLBind(instance.availabilityZone ?? "")
        case "user_id": return SQLBind(instance.userID)
        case "project_id": return SQLBind(instance.projectID)
        case "flavor_id": return SQLBind(instance.flavorID)
        case "image_ref": return SQLBind(instance.imageRef)
        case "locked": return SQLBind(instance.locked)
        default: return SQLBind(instance.uuid)
        }
    }
}
