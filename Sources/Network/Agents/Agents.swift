import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ResourceKind {
    /// Agents report themselves over the bus (`report_state`); admins list, disable and delete them.
    static let agent = ResourceKind(
        collection: "agents", member: "agent", displayName: "Agent",
        attributes: [
            StandardAttributes.id,
            Attribute("agent_type", .text, post: false, put: false),
            Attribute("binary", .text, post: false, put: false),
            Attribute("topic", .text, post: false, put: false),
            Attribute("host", .text, post: false, put: false),
            Attribute("admin_state_up", .bool, post: false, convert: Validate.bool),
            Attribute("alive", .virtual, post: false, put: false, filterable: false),
            Attribute("created_at", .text, post: false, put: false),
            Attribute("started_at", .text, post: false, put: false),
            Attribute("heartbeat_timestamp", .text, post: false, put: false),
            Attribute("configurations", .json, post: false, put: false),
            Attribute("resource_versions", .json, post: false, put: false),
            Attribute("description", .text, post: false, convert: Validate.stringOrNull(255)),
            Attribute("availability_zone", .text, post: false, put: false),
            Attribute("resources_synced", .bool, post: false, put: false),
            Attribute("load", .int, post: false, put: false),
        ],
        hooks: AgentHooks(), hasTags: false, projectScoped: false, notFoundType: "AgentNotFound")
}

struct AgentHooks: ResourceHooks {
    /// Agent types match case-insensitively, as on Neutron's MySQL (`DHCP Agent`).
    func filter(_ key: String, values: [String]) throws -> SQLQueryString? {
        guard key == "agent_type" else { return nil }
        return "LOWER(agent_type) IN " + RecordStore.inList(values.map { $0.lowercased() })
    }

    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {
        let now = Date()
        for i in records.indices {
            let beat = records[i].string("heartbeat_timestamp").flatMap(Agents.parse)
            records[i]["alive"] = .bool(beat.map { now.timeIntervalSince($0) < Double(api.settings.agentDownTime) } ?? false)
        }
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        try await ctx.db.raw("DELETE FROM network_dhcp_agents WHERE agent_id = \(bind: record.id)").run()
        try await ctx.db.raw("DELETE FROM router_l3_agents WHERE agent_id = \(bind: record.id)").run()
    }
}

enum Agents {
    /// Neutron's agent timestamp format: `2026-11-22 06:00:00`.
    static func format(_ date: Date) -> String {
        Timestamp.iso8601(date).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
    }

    static func parse(_ text: String) -> Date? {
        Timestamp.parse(text.replacingOccurrences(of: " ", with: "T") + (text.hasSuffix("Z") ? "" : "Z"))
    }

    /// Records a heartbeat, registering the agent on its first report.
    static func report(_ state: JSON, api: NetworkAPI) async throws {
        guard let type = state["agent_type"]?.stringValue, let host = state["host"]?.stringValue else { return }
        let now = format(Date())
        try await api.db.transaction { db in
            let existing = try await RecordStore.select(.agent, where: "agent_type = \(bind: type) AND host = \(bind: host)", db: db).first
            let values: Record = [
                "binary": state["binary"] ?? "", "topic": state["topic"] ?? "N/A", "heartbeat_timestamp": .string(now),
                "configurations": state["configurations"] ?? [:], "resource_versions": state["resource_versions"] ?? [:],
                "availability_zone": state["availability_zone"] ?? .null, "resources_synced": .null, "load": 0,
            ]
            if let existing {
                var update = values
                if state["start_flag"]?.boolValue == true { update["started_at"] = .string(now) }
                try await RecordStore.update(.agent, id: existing.id, values: update, db: db)
            } else {
                var record = values
                record["id"] = .string(UUID().uuidString.lowercased())
                record["agent_type"] = .string(type)
                record["host"] = .string(host)
                record["admin_state_up"] = true
                record["created_at"] = .string(now)
                record["started_at"] = .string(now)
                record["description"] = .null
                try await RecordStore.insert(.agent, record, db: db)
            }
        }
    }

    /// Alive, enabled agents of `type`.
    static func alive(type: String, api: NetworkAPI, db: any SQLDatabase) async throws -> [Record] {
        let cutoff = format(Date().addingTimeInterval(-Double(api.settings.agentDownTime)))
        return try await RecordStore.select(
            .agent, where: "agent_type = \(bind: type) AND admin_state_up = \(bind: true) AND heartbeat_timestamp >= \(bind: cutoff)", order: "host",
            db: db)
    }
}

/// Which DHCP agents serve a network, chosen when its first DHCP-enabled subnet appears.
enum DHCPScheduling {
    static func schedule(network: String, ctx: HookContext) async throws {
        let bound = try await ctx.db.raw("SELECT agent_id FROM network_dhcp_agents WHERE network_id = \(bind: network)").all()
        guard bound.isEmpty else { return }
        for agent in try await Agents.alive(type: "DHCP agent", api: ctx.api, db: ctx.db).prefix(ctx.api.settings.dhcpAgentsPerNetwork) {
            try await ctx.db.raw("INSERT INTO network_dhcp_agents (network_id, agent_id) VALUES (\(bind: network), \(bind: agent.id))").run()
        }
    }
}

/// Which L3 agent hosts a router.
enum L3Scheduling {
    static func schedule(router: String, ctx: HookContext) async throws {
        guard let agent = try await Agents.alive(type: "L3 agent", api: ctx.api, db: ctx.db).first else { return }
        try await ctx.db.raw("INSERT INTO router_l3_agents (router_id, agent_id) VALUES (\(bind: router), \(bind: agent.id))").run()
    }
}

extension NetworkAPI {
    /// `/agents/{id}/dhcp-networks`, `/networks/{id}/dhcp-agents`, `/agents/{id}/l3-routers`, `/routers/{id}/l3-agents`.
    func registerAgentScheduling(on router: Router<StratusContext>) {
        let bindings: [(path: String, table: String, column: String, kind: ResourceKind, agentType: String)] = [
            ("dhcp-networks", "network_dhcp_agents", "network_id", .network, "DHCP agent"),
            ("l3-routers", "router_l3_agents", "router_id", .router, "L3 agent"),
        ]
        for binding in bindings {
            router.get(RouterPath("/v2.0/agents/:id/\(binding.path)")) { _, context -> Response in
                let caller = try self.adminCaller(context)
                let agent = context.parameters.get("id") ?? ""
                let records = try await self.db.read { db in
                    _ = try await self.load(.agent, id: agent, caller: caller, db: db)
                    var rows = try await RecordStore.select(
                        binding.kind, where: "id IN (SELECT \(unsafeRaw: binding.column) FROM \(unsafeRaw: binding.table) WHERE agent_id = \(bind: agent))",
                        db: db)
                    try await self.expand(binding.kind, &rows, caller: caller, db: db)
                    return rows
                }
                return .json([binding.kind.collection: .array(records.map { .object(self.render(binding.kind, $0, caller: caller)) })])
            }
            router.post(RouterPath("/v2.0/agents/:id/\(binding.path)")) { request, context -> Response in
                let caller = try self.adminCaller(context)
                let agent = context.parameters.get("id") ?? ""
                let body = try await request.jsonObject(context: context)
                guard let target = body[binding.column]?.stringValue else {
                    throw NeutronError.badRequest("Failed to parse request. Required attribute '\(binding.column)' not specified")
                }
                try await self.db.transaction { db in
                    let record = try await self.load(.agent, id: agent, caller: caller, db: db)
                    guard record.string("agent_type") == binding.agentType else {
                        throw NeutronError.conflict("InvalidAgent", "Agent \(agent) is not a valid \(binding.agentType) Agent or has been disabled")
                    }
                    _ = try await self.load(binding.kind, id: target, caller: caller, db: db)
                    let exists = try await db.raw(
                        "SELECT 1 AS one FROM \(unsafeRaw: binding.table) WHERE agent_id = \(bind: agent) AND \(unsafeRaw: binding.column) = \(bind: target)"
                    ).first()
                    if exists != nil {
                        throw NeutronError.conflict("NetworkHostedByDHCPAgent", "The \(binding.kind.member) \(target) has been already hosted by the agent \(agent).")
                    }
                    try await db.raw(
                        "INSERT INTO \(unsafeRaw: binding.table) (\(unsafeRaw: binding.column), agent_id) VALUES (\(bind: target), \(bind: agent))"
                    ).run()
                }
                return .json(.null, status: .created)
            }
            router.delete(RouterPath("/v2.0/agents/:id/\(binding.path)/:target")) { _, context -> Response in
                let caller = try self.adminCaller(context)
                let agent = context.parameters.get("id") ?? ""
                let target = context.parameters.get("target") ?? ""
                try await self.db.transaction { db in
                    _ = try await self.load(.agent, id: agent, caller: caller, db: db)
                    let exists = try await db.raw(
                        "SELECT 1 AS one FROM \(unsafeRaw: binding.table) WHERE agent_id = \(bind: agent) AND \(unsafeRaw: binding.column) = \(bind: target)"
                    ).first()
                    guard exists != nil else {
                        throw NeutronError.conflict("NetworkNotHostedByDhcpAgent", "The \(binding.kind.member) \(target) is not hosted by the agent \(agent).")
                    }
                    try await db.raw(
                        "DELETE FROM \(unsafeRaw: binding.table) WHERE agent_id = \(bind: agent) AND \(unsafeRaw: binding.column) = \(bind: target)"
                    ).run()
                }
                return .noContent()
            }
            let reverse = binding.kind.member == "network" ? "dhcp-agents" : "l3-agents"
            router.get(RouterPath("/v2.0/\(binding.kind.collection)/:id/\(reverse)")) { _, context -> Response in
                let caller = try self.adminCaller(context)
                let target = context.parameters.get("id") ?? ""
                let records = try await self.db.read { db in
                    _ = try await self.load(binding.kind, id: target, caller: caller, db: db)
                    var rows = try await RecordStore.select(
                        .agent, where: "id IN (SELECT agent_id FROM \(unsafeRaw: binding.table) WHERE \(unsafeRaw: binding.column) = \(bind: target))",
                        db: db)
                    try await self.expand(.agent, &rows, caller: caller, db: db)
                    return rows
                }
                return .json(["agents": .array(records.map { .object(self.render(.agent, $0, caller: caller)) })])
            }
        }
    }

    func adminCaller(_ context: StratusContext) throws -> Caller {
        let caller = try caller(context)
        guard caller.isAdmin else { throw NeutronError.policy("admin_only") }
        return caller
    }
}
