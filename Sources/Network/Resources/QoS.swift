import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ResourceKind {
    /// QoS policies (`qos`, `qos-default`): admins create them; projects see their own,
    /// shared ones and those shared with them through RBAC.
    static let qosPolicy = ResourceKind(
        collection: "policies", member: "policy", table: "qos_policies", displayName: "QoS policy",
        attributes: StandardAttributes.all + [
            Attribute("shared", .bool, default: false, convert: Validate.bool),
            Attribute("is_default", .bool, default: false, convert: Validate.bool),
            Attribute("rules", .virtual, post: false, put: false, filterable: false),
        ],
        hooks: QoSPolicyHooks(), path: "qos/policies", notFoundType: "QosPolicyNotFound")

    static let bandwidthLimitRule = QoSRuleType.bandwidthLimit.makeKind(fields: [
        Attribute("max_kbps", .int, required: true, convert: Validate.int(min: 0, max: QoSRuleType.maxKbps)),
        Attribute("max_burst_kbps", .int, default: 0, convert: Validate.int(min: 0, max: QoSRuleType.maxKbps)),
        Attribute("direction", .text, default: "egress", convert: Validate.oneOf(["egress", "ingress"])),
    ])

    static let dscpMarkingRule = QoSRuleType.dscpMarking.makeKind(fields: [
        Attribute("dscp_mark", .int, required: true, convert: { value in
            let mark = try Validate.int()(value)
            guard let n = mark.intValue, QoSRuleType.validDSCP.contains(n) else {
                throw InvalidValue("'\(value.display)' is not in [\(QoSRuleType.validDSCP.map(String.init).joined(separator: ", "))]")
            }
            return mark
        })
    ])

    static let minimumBandwidthRule = QoSRuleType.minimumBandwidth.makeKind(fields: [
        Attribute("min_kbps", .int, required: true, convert: Validate.int(min: 0, max: QoSRuleType.maxKbps)),
        Attribute("direction", .text, default: "egress", convert: Validate.oneOf(["egress", "ingress"])),
    ])
}

/// The rule types of a QoS policy, each a collection nested under `/qos/policies/{id}/<type>_rules`.
enum QoSRuleType: String, CaseIterable, Sendable {
    case bandwidthLimit = "bandwidth_limit"
    case dscpMarking = "dscp_marking"
    case minimumBandwidth = "minimum_bandwidth"

    static let maxKbps = 2_147_483_647
    static let validDSCP = [0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 46, 48, 56]

    var kind: ResourceKind {
        switch self {
        case .bandwidthLimit: .bandwidthLimitRule
        case .dscpMarking: .dscpMarkingRule
        case .minimumBandwidth: .minimumBandwidthRule
        }
    }

    var hasDirection: Bool { self != .dscpMarking }

    /// Rules show no project: they belong to their policy (`qos_policy_id` is the parent in the URL).
    func makeKind(fields: [Attribute]) -> ResourceKind {
        ResourceKind(
            collection: "\(rawValue)_rules", member: "\(rawValue)_rule", table: "qos_\(rawValue)_rules", displayName: "QoS rule",
            attributes: [StandardAttributes.id, Attribute("qos_policy_id", .text, post: false, put: false, readRule: "!")] + fields,
            hooks: QoSRuleHooks(type: self), path: "qos/policies/{parent}/\(rawValue)_rules", parentAttribute: "qos_policy_id",
            parentKind: "policy", hasTags: false, projectScoped: false, notFoundType: "QosRuleNotFound")
    }

    /// `rule-types/{type}`: what the driver accepts for each parameter.
    var supportedParameters: [JSON] {
        func range(_ name: String) -> JSON {
            ["parameter_name": .string(name), "parameter_type": "range", "parameter_values": ["start": 0, "end": .int(Self.maxKbps)]]
        }
        let directions: JSON = ["parameter_name": "direction", "parameter_type": "choices", "parameter_values": ["ingress", "egress"]]
        switch self {
        case .bandwidthLimit: return [range("max_kbps"), directions, range("max_burst_kbps")]
        case .dscpMarking:
            return [["parameter_name": "dscp_mark", "parameter_type": "choices", "parameter_values": .array(Self.validDSCP.map { .int($0) })]]
        case .minimumBandwidth: return [range("min_kbps"), directions]
        }
    }
}

enum QoS {
    static func requireAdmin(_ action: String, _ ctx: HookContext) throws {
        guard ctx.caller.isAdmin else { throw NeutronError.policy(action) }
    }

    /// For ports, networks, floating IPs and router gateways naming `id` as their
    /// `qos_policy_id`: the policy must exist and be visible to the caller.
    static func requirePolicy(_ id: String, ctx: HookContext) async throws {
        var condition: SQLQueryString = "id = \(bind: id)"
        if !ctx.caller.isAdmin, let visible = ResourceKind.qosPolicy.hooks.visibility(ctx.caller) {
            condition = condition + " AND " + visible
        }
        guard try await RecordStore.exists(.qosPolicy, where: condition, db: ctx.db) else {
            throw NeutronError.notFound("QosPolicyNotFound", "QoS policy \(id) could not be found.")
        }
    }

    /// Checks the `qos_policy_id` a create or update names, if it names one.
    static func checkBinding(_ changes: Record, ctx: HookContext) async throws {
        if let id = changes.string("qos_policy_id") { try await requirePolicy(id, ctx: ctx) }
    }

    /// The project's default policy (`qos-default`), given to its new networks without one.
    static func defaultPolicy(project: String, db: any SQLDatabase) async throws -> String? {
        try await RecordStore.select(.qosPolicy, where: "project_id = \(bind: project) AND is_default = \(bind: true)", limit: 1, db: db).first?.id
    }

    /// Rule changes revise their policy, as Neutron's rule models do (`revises_on_change`).
    static func touchPolicy(_ id: String, db: any SQLDatabase) async throws {
        try await db.raw(
            "UPDATE qos_policies SET revision_number = revision_number + 1, updated_at = \(bind: Timestamp.iso8601(Date())) WHERE id = \(bind: id)"
        ).run()
    }
}

struct QoSPolicyHooks: ResourceHooks {
    func visibility(_ caller: Caller) -> SQLQueryString? {
        "(project_id = \(bind: caller.projectID) OR shared = \(bind: true) OR id IN " + RBAC.sharedWith(caller.projectID, type: "qos_policy") + ")"
    }

    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        try QoS.requireAdmin("create_policy", ctx)
        if record.bool("is_default") { try await checkDefault(record, ctx: ctx) }
    }

    func didCreate(_ record: inout Record, ctx: HookContext) async throws {
        if record.bool("shared") {
            try await RBAC.insertWildcard(objectType: "qos_policy", objectID: record.id, project: record.projectID, db: ctx.db)
        }
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        try QoS.requireAdmin("update_policy", ctx)
        if changes["is_default"]?.boolValue == true, !old.bool("is_default") { try await checkDefault(record, ctx: ctx) }
        // `old.shared` is as the caller sees it (RBAC grants included); the column holds the wildcard share
        let wasShared = try await RecordStore.get(.qosPolicy, id: old.id, db: ctx.db)?.bool("shared") ?? false
        let shared = changes["shared"]?.boolValue ?? wasShared
        record["shared"] = .bool(shared)
        guard shared != wasShared else { return }
        if shared {
            try await RBAC.insertWildcard(objectType: "qos_policy", objectID: old.id, project: old.projectID, db: ctx.db)
        } else {
            if let found = try await firstUser(of: old.id, db: ctx.db, otherThan: old.projectID) {
                throw NeutronError.conflict(
                    "RbacPolicyInUse",
                    "RBAC policy on object \(old.id) cannot be removed because other objects depend on it.\nDetails: tenant_id=\(found.user.projectID)")
            }
            try await RBAC.deleteWildcard(objectType: "qos_policy", objectID: old.id, db: ctx.db)
        }
    }

    func willDeleteByUser(_ record: Record, ctx: HookContext) async throws {
        try QoS.requireAdmin("delete_policy", ctx)
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        if let found = try await firstUser(of: record.id, db: ctx.db) {
            throw NeutronError.inUse("QosPolicyInUse", "QoS Policy \(record.id) is used by \(found.type) \(found.user.id).")
        }
        for type in QoSRuleType.allCases {
            try await ctx.db.raw("DELETE FROM \(ident: type.kind.table) WHERE qos_policy_id = \(bind: record.id)").run()
        }
        try await ctx.db.raw("DELETE FROM rbac_policies WHERE object_type = 'qos_policy' AND object_id = \(bind: record.id)").run()
    }

    /// `rules` (each with its `type`), and sharing as the reader sees it: a policy shared
    /// with the reader's project through RBAC shows `shared: true` (Neutron's `is_shared_with_project`).
    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {
        let ids = records.map(\.id)
        var rules: [String: [JSON]] = [:]
        for type in QoSRuleType.allCases {
            for rule in try await RecordStore.select(type.kind, where: "qos_policy_id IN " + RecordStore.inList(ids), order: "id", db: db) {
                var item = rule
                item["type"] = .string(type.rawValue)
                rules[rule.string("qos_policy_id") ?? "", default: []].append(.object(item))
            }
        }
        var granted: Set<String> = []
        if let caller {
            let rows = try await db.raw(
                "SELECT object_id FROM rbac_policies WHERE object_type = 'qos_policy' AND action = 'access_as_shared' AND target_tenant IN ("
                    + "\(bind: caller.projectID), '*') AND object_id IN " + RecordStore.inList(ids)
            ).all()
            granted = Set(try rows.map { try $0.decode(column: "object_id", as: String.self) })
        }
        for i in records.indices {
            records[i]["rules"] = .array(rules[records[i].id] ?? [])
            if granted.contains(records[i].id) {
                records[i]["shared"] = true
                records[i]["rbac_shared"] = true
            }
        }
    }

    /// `QoSPolicyDefaultAlreadyExists`: one default policy per project.
    private func checkDefault(_ record: Record, ctx: HookContext) async throws {
        let other = try await RecordStore.exists(
            .qosPolicy, where: "project_id = \(bind: record.projectID) AND is_default = \(bind: true) AND id <> \(bind: record.id)", db: ctx.db)
        if other {
            throw NeutronError.conflict("QoSPolicyDefaultAlreadyExists", "A default QoS policy exists for project \(record.projectID).")
        }
    }

    /// The first port, network, floating IP or router (gateway) bound to the policy, in
    /// Neutron's order, optionally only among other projects' objects.
    private func firstUser(of policy: String, db: any SQLDatabase, otherThan project: String? = nil) async throws -> (type: String, user: Record)? {
        let bindings: [(String, ResourceKind, SQLQueryString)] = [
            ("port", .port, "qos_policy_id = \(bind: policy)"),
            ("network", .network, "qos_policy_id = \(bind: policy)"),
            ("fip", .floatingIP, "qos_policy_id = \(bind: policy)"),
            ("router", .router, "external_gateway_info LIKE \(bind: "%\"qos_policy_id\"%" + policy + "%")"),
        ]
        for (type, kind, condition) in bindings {
            var condition = condition
            if let project { condition = condition + " AND project_id <> \(bind: project)" }
            if let user = try await RecordStore.select(kind, where: condition, limit: 1, db: db).first { return (type, user) }
        }
        return nil
    }
}

/// Admin-only writes, one rule per type (and direction) in a policy, and minimum
/// bandwidth never above the limit in the same direction.
struct QoSRuleHooks: ResourceHooks {
    let type: QoSRuleType

    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        try QoS.requireAdmin("create_policy_\(type.rawValue)_rule", ctx)
        try await checkConflicts(record, changes: record, ctx: ctx)
    }

    func didCreate(_ record: inout Record, ctx: HookContext) async throws {
        try await QoS.touchPolicy(record.string("qos_policy_id") ?? "", db: ctx.db)
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        try QoS.requireAdmin("update_policy_\(type.rawValue)_rule", ctx)
        try await checkConflicts(record, changes: changes, ctx: ctx)
    }

    func didUpdate(_ record: inout Record, old: Record, ctx: HookContext) async throws {
        try await QoS.touchPolicy(record.string("qos_policy_id") ?? "", db: ctx.db)
    }

    func willDeleteByUser(_ record: Record, ctx: HookContext) async throws {
        try QoS.requireAdmin("delete_policy_\(type.rawValue)_rule", ctx)
    }

    func didDelete(_ record: Record, ctx: HookContext) async throws {
        try await QoS.touchPolicy(record.string("qos_policy_id") ?? "", db: ctx.db)
    }

    /// Neutron's `check_rules_conflict` and `check_bandwidth_rule_conflict`; `changes` is
    /// the request's data (the whole rule on create).
    private func checkConflicts(_ record: Record, changes: Record, ctx: HookContext) async throws {
        let policy = record.string("qos_policy_id") ?? ""
        var duplicate: SQLQueryString = "qos_policy_id = \(bind: policy) AND id <> \(bind: record.id)"
        if type.hasDirection { duplicate = duplicate + " AND direction = \(bind: record.string("direction") ?? "egress")" }
        if let existing = try await RecordStore.select(type.kind, where: duplicate, limit: 1, db: ctx.db).first {
            throw NeutronError.conflict(
                "QoSRulesConflict", "Rule \(type.rawValue) conflicts with rule \(existing.id) which already exists in QoS Policy \(policy).")
        }
        let bound: (value: Int, other: QoSRuleType, field: String, conflicts: (Int, Int) -> Bool)
        switch type {
        case .bandwidthLimit:
            guard let max = changes.int("max_kbps") else { return }
            bound = (max, .minimumBandwidth, "min_kbps", { existingMin, newMax in existingMin > newMax })
        case .minimumBandwidth:
            guard let min = changes.int("min_kbps") else { return }
            bound = (min, .bandwidthLimit, "max_kbps", { existingMax, newMin in existingMax < newMin })
        case .dscpMarking:
            return
        }
        var others: SQLQueryString = "qos_policy_id = \(bind: policy)"
        if let direction = changes.string("direction") { others = others + " AND direction = \(bind: direction)" }
        for other in try await RecordStore.select(bound.other.kind, where: others, db: ctx.db) {
            guard let existing = other.int(bound.field), bound.conflicts(existing, bound.value) else { continue }
            throw NeutronError.conflict(
                "QoSRuleParameterConflict",
                "Unable to add the rule with value \(bound.value) to the policy \(policy) as the existing rule of type \(bound.other.rawValue) restricts the bandwidth to \(existing).")
        }
    }
}

extension NetworkAPI {
    /// `/qos/rule-types`: the rule types the (no-op) Linux bridge dataplane accepts; the
    /// details of one type, with its driver's parameters, are for admins.
    func registerQoSExtras(on router: Router<StratusContext>) {
        router.get("/v2.0/qos/rule-types") { request, context -> Response in
            _ = try self.caller(context)
            for (key, value) in Self.queryItems(request) where key == "all_supported" || key == "all_rules" {
                guard (try? Validate.bool(.string(value))) != nil else {
                    throw NeutronError.badRequest("Invalid input for \(key). Reason: '\(value)' cannot be converted to boolean.")
                }
            }
            return .json(["rule_types": .array(QoSRuleType.allCases.map { ["type": .string($0.rawValue)] })])
        }
        router.get("/v2.0/qos/rule-types/:type") { _, context -> Response in
            let caller = try self.caller(context)
            guard caller.isAdmin else { throw NeutronError.make(.forbidden, "NotAuthorized", "Not authorized.") }
            let name = context.parameters.get("type") ?? ""
            guard let type = QoSRuleType(rawValue: name) else {
                throw NeutronError.notFound("QosRuleTypeNotFound", "QoS rule type \(name) could not be found.")
            }
            let driver: JSON = ["name": "linuxbridge", "supported_parameters": .array(type.supportedParameters)]
            return .json(["rule_type": ["type": .string(type.rawValue), "drivers": [driver]]])
        }
    }
}
