import Hummingbird
import SQLKit
import StratusCore

extension ResourceKind {
    /// QoS policies (`qos`): admins create them; projects see their own and shared ones.
    static let qosPolicy = ResourceKind(
        collection: "policies", member: "policy", table: "qos_policies", displayName: "QoS policy",
        attributes: StandardAttributes.all + [
            Attribute("shared", .bool, default: false, convert: Validate.bool),
            Attribute("is_default", .bool, default: false, convert: Validate.bool),
            Attribute("rules", .virtual, post: false, put: false, filterable: false),
        ],
        hooks: QoSPolicyHooks(), path: "qos/policies", notFoundType: "QosPolicyNotFound")

    static let bandwidthLimitRule = QoSRules.kind(
        "bandwidth_limit", table: "qos_bandwidth_limit_rules", displayName: "Bandwidth limit rule",
        fields: [
            Attribute("max_kbps", .int, required: true, convert: Validate.int(min: 0, max: 2_147_483_647)),
            Attribute("max_burst_kbps", .int, default: 0, convert: Validate.int(min: 0, max: 2_147_483_647)),
            Attribute("direction", .text, default: "egress", convert: Validate.oneOf(["egress", "ingress"])),
        ])
    static let dscpMarkingRule = QoSRules.kind(
        "dscp_marking", table: "qos_dscp_marking_rules", displayName: "DSCP marking rule",
        fields: [
            Attribute("dscp_mark", .int, required: true, convert: { value in
                let mark = try Validate.int()(value)
                guard let n = mark.intValue, QoSRules.validDSCP.contains(n) else {
                    throw InvalidValue("'\(value.display)' is not a valid DSCP mark")
                }
                return mark
            })
        ])
    static let minimumBandwidthRule = QoSRules.kind(
        "minimum_bandwidth", table: "qos_minimum_bandwidth_rules", displayName: "Minimum bandwidth rule",
        fields: [
            Attribute("min_kbps", .int, required: true, convert: Validate.int(min: 0, max: 2_147_483_647)),
            Attribute("direction", .text, default: "egress", convert: Validate.oneOf(["egress", "ingress"])),
        ])
}

struct QoSPolicyHooks: ResourceHooks {
    func visibility(_ caller: Caller) -> SQLQueryString? {
        "(project_id = \(bind: caller.projectID) OR shared = \(bind: true) OR id IN " + RBAC.sharedWith(caller.projectID, type: "qos_policy") + ")"
    }

    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        guard ctx.caller.isAdmin else { throw NeutronError.policy("create_policy") }
        if record.bool("shared") {
            try await RBAC.insertWildcard(objectType: "qos_policy", objectID: record.id, project: record.projectID, db: ctx.db)
        }
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        guard ctx.caller.isAdmin else { throw NeutronError.policy("update_policy") }
        if let shared = changes["shared"]?.boolValue, shared != old.bool("shared") {
            if shared {
                try await RBAC.insertWildcard(objectType: "qos_policy", objectID: old.id, project: old.projectID, db: ctx.db)
            } else {
                try await RBAC.deleteWildcard(objectType: "qos_policy", objectID: old.id, db: ctx.db)
            }
        }
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        guard ctx.caller.isAdmin else { throw NeutronError.policy("delete_policy") }
        for kind in [ResourceKind.port, .network] {
            if let user = try await RecordStore.select(kind, where: "qos_policy_id = \(bind: record.id)", limit: 1, db: ctx.db).first {
                throw NeutronError.conflict(
                    "QosPolicyInUse", "QoS Policy \(record.id) is used by \(kind.member) \(user.id).")
            }
        }
        for kind in QoSRules.kinds { try await ctx.db.raw("DELETE FROM \(ident: kind.table) WHERE qos_policy_id = \(bind: record.id)").run() }
        try await ctx.db.raw("DELETE FROM rbac_policies WHERE object_type = 'qos_policy' AND object_id = \(bind: record.id)").run()
    }

    /// `rules`: every rule of each policy, with its type.
    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {
        var rules: [String: [JSON]] = [:]
        for kind in QoSRules.kinds {
            for rule in try await RecordStore.select(kind, where: "qos_policy_id IN " + RecordStore.inList(records.map(\.id)), db: db) {
                var item = rule
                item["type"] = .string(String(kind.member.dropLast("_rule".count)))
                rules[rule.string("qos_policy_id") ?? "", default: []].append(.object(item))
            }
        }
        for i in records.indices { records[i]["rules"] = .array(rules[records[i].id] ?? []) }
    }
}

/// The rule kinds of a QoS policy, nested under `/qos/policies/{id}/<type>_rules`.
enum QoSRules {
    static let validDSCP: Set<Int> = [0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 46, 48, 56]
    static var kinds: [ResourceKind] { [.bandwidthLimitRule, .dscpMarkingRule, .minimumBandwidthRule] }
    static let types = ["bandwidth_limit", "dscp_marking", "minimum_bandwidth"]

    static func kind(_ type: String, table: String, displayName: String, fields: [Attribute]) -> ResourceKind {
        ResourceKind(
            collection: "\(type)_rules", member: "\(type)_rule", table: table, displayName: displayName,
            attributes: [StandardAttributes.id, Attribute("qos_policy_id", .text, post: false, put: false)] + fields,
            hooks: QoSRuleHooks(member: "\(type)_rule"), path: "qos/policies/{parent}/\(type)_rules", parentAttribute: "qos_policy_id", parentKind: "policy",
            hasTags: false, projectScoped: false, notFoundType: "QoSRuleNotFound")
    }
}

struct QoSRuleHooks: ResourceHooks {
    let member: String

    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        guard ctx.caller.isAdmin else { throw NeutronError.policy("create_policy_rule") }
        try await checkConflict(record, ctx: ctx)
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        guard ctx.caller.isAdmin else { throw NeutronError.policy("update_policy_rule") }
        try await checkConflict(record, ctx: ctx)
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        guard ctx.caller.isAdmin else { throw NeutronError.policy("delete_policy_rule") }
    }

    /// One rule of a type (and direction) per policy.
    private func checkConflict(_ record: Record, ctx: HookContext) async throws {
        guard let kind = ctx.api.kinds[member] else { return }
        var condition: SQLQueryString = "qos_policy_id = \(bind: record.string("qos_policy_id") ?? "") AND id <> \(bind: record.id)"
        if let direction = record.string("direction") { condition = condition + " AND direction = \(bind: direction)" }
        if try await RecordStore.exists(kind, where: condition, db: ctx.db) {
            throw NeutronError.conflict(
                "QoSRulesConflict", "Rule \(kind.member) of the same type and direction already exists in QoS policy \(record.string("qos_policy_id") ?? "").")
        }
    }
}

extension NetworkAPI {
    /// `/qos/rule-types`: what the (no-op) dataplane driver supports.
    func registerQoSExtras(on router: Router<StratusContext>) {
        router.get("/v2.0/qos/rule-types") { _, context -> Response in
            _ = try self.caller(context)
            return .json(["rule_types": .array(QoSRules.types.map { ["type": .string($0)] })])
        }
        router.get("/v2.0/qos/rule-types/:type") { _, context -> Response in
            _ = try self.caller(context)
            let type = context.parameters.get("type") ?? ""
            guard QoSRules.types.contains(type) else {
                throw NeutronError.notFound("QoSRuleTypeNotFound", "QoS rule type \(type) could not be found.")
            }
            return .json(["rule_type": ["type": .string(type), "drivers": [["name": "linuxbridge", "supported_parameters": []]]]])
        }
    }
}
