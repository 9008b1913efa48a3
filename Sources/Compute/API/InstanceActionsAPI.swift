import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ComputeAPI {
    /// `/servers/{id}/os-instance-actions`: what was done to a server, and (for admins, or
    /// from 2.51 for everyone without tracebacks) the events of each action.
    func registerInstanceActions(on router: RouterGroup<StratusContext>) {
        router.get("/servers/:id/os-instance-actions") { request, context -> Response in
            let auth = try self.caller(context)
            let uuid = try await self.actionServer(context, auth, rule: "os_compute_api:os-instance-actions:list")
            let paged = context.version(atLeast: 2, 58)
            var since: Date?, before: Date?
            if paged {
                try request.rejectUnknownQuery(Set(["limit", "marker", "changes-since"] + (context.version(atLeast: 2, 66) ? ["changes-before"] : [])))
                since = try request.dateQuery("changes-since")
                before = context.version(atLeast: 2, 66) ? try request.dateQuery("changes-before") : nil
            }
            let (from, to) = (since, before)
            var rows = try await self.db.read { db in
                var query = db.select().columns("*").from("instance_actions").where("instance_uuid", .equal, SQLBind(uuid))
                if let from { query = query.where("updated_at", .greaterThanOrEqual, SQLBind(from.timeIntervalSince1970)) }
                if let to { query = query.where("updated_at", .lessThanOrEqual, SQLBind(to.timeIntervalSince1970)) }
                return try await query.orderBy("start_time", .descending).orderBy("id", .descending).all()
            }
            var body: [String: JSON] = [:]
            if paged {
                if let marker = request.query("marker") {
                    guard let index = try rows.firstIndex(where: { try $0.decode(column: "request_id", as: String.self) == marker }) else {
                        throw APIError.badRequest("Marker \(marker) could not be found.")
                    }
                    rows = Array(rows[(index + 1)...])
                }
                let limit = min(try request.intQuery("limit") ?? self.settings.maxLimit, self.settings.maxLimit)
                if rows.count > limit { rows = Array(rows.prefix(limit)) }
                if rows.count == limit, let last = rows.last {
                    let marker = try last.decode(column: "request_id", as: String.self)
                    body["links"] = [["rel": "next", "href": .string(Self.nextLink(request, marker: marker, limit: limit))]]
                }
            }
            body["instanceActions"] = .array(try rows.map { try Self.actionView($0, context) })
            return .json(.object(body))
        }
        router.get("/servers/:id/os-instance-actions/:request") { _, context -> Response in
            let auth = try self.caller(context)
            let uuid = try await self.actionServer(context, auth, rule: "os_compute_api:os-instance-actions:show")
            let requestID = context.parameters.get("request") ?? ""
            let (action, events) = try await self.db.read { db -> ((any SQLRow)?, [any SQLRow]) in
                guard let action = try await db.select().columns("*").from("instance_actions").where("instance_uuid", .equal, SQLBind(uuid))
                    .where("request_id", .equal, SQLBind(requestID)).first()
                else { return (nil, []) }
                let events = try await db.select().columns("*").from("instance_action_events")
                    .where("action_id", .equal, SQLBind(try action.decode(column: "id", as: String.self))).orderBy("start_time").all()
                return (action, events)
            }
            guard let action else { throw APIError.notFound("Action for request_id \(requestID) on instance \(uuid) not found") }
            var view = try Self.actionView(action, context).objectValue ?? [:]
            let admin = self.isAdmin(auth)
            // From 2.84 a failed event says why, to those the policy lets see it (admins by default).
            let project = try action.decode(column: "project_id", as: String.self)
            let details =
                context.version(atLeast: 2, 84)
                && self.policy.check(
                    "os_compute_api:os-instance-actions:events:details", creds: auth.policyCredentials,
                    target: ["project_id": project])
            if admin || context.version(atLeast: 2, 51) {
                view["events"] = .array(try events.map { row in
                    var event: [String: JSON] = [
                        "event": .string(try row.decode(column: "event", as: String.self)),
                        "start_time": .string(Timestamp.nova(Date(timeIntervalSince1970: try row.decode(column: "start_time", as: Double.self)))),
                        "finish_time": JSON(try row.decode(column: "finish_time", as: Double?.self).map { Timestamp.nova(Date(timeIntervalSince1970: $0)) }),
                        "result": JSON(try row.decode(column: "result", as: String?.self)),
                    ]
                    if admin { event["traceback"] = JSON(try row.decode(column: "traceback", as: String?.self)) }
                    if details {
                        let failed = event["result"]?.stringValue == "Error"
                        event["details"] = failed ? JSON(try row.decode(column: "traceback", as: String?.self)) : .null
                    }
                    if admin, context.version(atLeast: 2, 62) { event["host"] = JSON(try row.decode(column: "host", as: String?.self)) }
                    if context.version(atLeast: 2, 62) { event["hostId"] = .string(ServerView.hostID(project: try action.decode(column: "project_id", as: String.self), host: try row.decode(column: "host", as: String?.self))) }
                    return .object(event)
                })
            }
            return .json(["instanceAction": .object(view)])
        }
    }

    /// Actions stay readable for deleted servers (from 2.21).
    private func actionServer(_ context: StratusContext, _ auth: AuthContext, rule: String) async throws -> String {
        let id = context.parameters.get("id") ?? ""
        guard let instance = try await instances.get(id, includeDeleted: context.version(atLeast: 2, 21)),
            isAdmin(auth) || instance.projectID == auth.projectID
        else { throw ComputeError.instanceNotFound(id) }
        try enforce(rule, auth, projectID: instance.projectID)
        return instance.uuid
    }

    static func actionView(_ row: any SQLRow, _ context: StratusContext) throws -> JSON {
        var view: [String: JSON] = [
            "action": .string(try row.decode(column: "action", as: String.self)),
            "instance_uuid": .string(try row.decode(column: "instance_uuid", as: String.self)),
            "request_id": .string(try row.decode(column: "request_id", as: String.self)),
            "user_id": .string(try row.decode(column: "user_id", as: String.self)),
            "project_id": .string(try row.decode(column: "project_id", as: String.self)),
            "start_time": .string(Timestamp.nova(Date(timeIntervalSince1970: try row.decode(column: "start_time", as: Double.self)))),
            "message": JSON(try row.decode(column: "message", as: String?.self)),
        ]
        if context.version(atLeast: 2, 58) {
            view["updated_at"] = .string(Timestamp.nova(Date(timeIntervalSince1970: try row.decode(column: "updated_at", as: Double.self))))
        }
        return .object(view)
    }
}
