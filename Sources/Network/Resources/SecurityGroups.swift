import Foundation
import SQLKit
import StratusCore

extension ResourceKind {
    static let securityGroup = ResourceKind(
        collection: "security_groups", member: "security_group", displayName: "Security group",
        attributes: StandardAttributes.all + [
            Attribute("stateful", .bool, default: true, convert: Validate.bool),
            Attribute("shared", .bool, post: false, put: false),
            Attribute("security_group_rules", .virtual, post: false, put: false, filterable: false),
        ],
        hooks: SecurityGroupHooks(), path: "security-groups", quotaResource: "security_group",
        notFoundType: "SecurityGroupNotFound")

    static let securityGroupRule = ResourceKind(
        collection: "security_group_rules", member: "security_group_rule", displayName: "Security group rule",
        attributes: [
            StandardAttributes.id, StandardAttributes.projectID, StandardAttributes.description,
            StandardAttributes.createdAt,
            StandardAttributes.updatedAt, StandardAttributes.revision, StandardAttributes.tags,
            Attribute("security_group_id", .text, put: false, required: true, convert: Validate.uuid),
            Attribute("direction", .text, put: false, required: true, convert: Validate.oneOf(["ingress", "egress"])),
            Attribute(
                "ethertype", .text, put: false, default: "IPv4",
                convert: { value in
                    switch value.stringValue?.lowercased() {
                    case "ipv4": return "IPv4"
                    case "ipv6": return "IPv6"
                    default: throw InvalidValue("'\(value.display)' is not in ['IPv4', 'IPv6']")
                    }
                }),
            Attribute("protocol", .text, put: false, default: .null, convert: SecurityGroupRules.convertProtocol),
            Attribute("port_range_min", .int, put: false, default: .null, convert: Validate.intOrNull()),
            Attribute("port_range_max", .int, put: false, default: .null, convert: Validate.intOrNull()),
            Attribute(
                "remote_ip_prefix", .text, put: false, default: .null,
                convert: { value in
                    value.isNull ? .null : try Validate.checked(Validate.ipOrCIDR)(value)
                }),
            Attribute("remote_group_id", .text, put: false, default: .null, convert: Validate.stringOrNull(255)),
            Attribute("remote_address_group_id", .text, post: false, put: false),
            Attribute("normalized_cidr", .virtual, post: false, put: false, filterable: false),
            Attribute("belongs_to_default_sg", .virtual, post: false, put: false, filterable: false),
        ],
        hooks: SecurityGroupRuleHooks(), path: "security-group-rules", quotaResource: "security_group_rule",
        indexes: [["security_group_id"], ["remote_group_id"]],
        notFoundType: "SecurityGroupRuleNotFound")
}

struct SecurityGroupHooks: ResourceHooks {
    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        record["shared"] = false
        _ = try await SecurityGroups.ensureDefault(project: record.projectID, ctx: ctx)
        if record.string("name") == "default" {
            throw NeutronError.conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
        }
    }

    func didCreate(_ record: inout Record, ctx: HookContext) async throws {
        try await SecurityGroups.addDefaultRules(
            group: record.id, project: record.projectID, isDefault: record.string("name") == "default", db: ctx.db)
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        if old.string("name") == "default", let name = changes["name"]?.stringValue, name != "default" {
            throw NeutronError.conflict(
                "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
        }
        if old.string("name") != "default", changes["name"]?.stringValue == "default" {
            throw NeutronError.conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
        }
    }

    /// Its rules, and rules elsewhere naming it as remote, went with it.
    func didDelete(_ record: Record, ctx: HookContext) async throws {
        ctx.onCommit { await ctx.api.notifySecurityGroups() }
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        if record.string("name") == "default", !ctx.caller.isAdmin {
            throw NeutronError.conflict(
                "SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.")
        }
        if try await RecordStore.exists(
            .port, where: "security_groups LIKE \(bind: "%" + record.id + "%")", db: ctx.db)
        {
            throw NeutronError.conflict("SecurityGroupInUse", "Security Group \(record.id) in use.")
        }
        try await ctx.db.raw(
            "DELETE FROM security_group_rules WHERE security_group_id = \(bind: record.id) OR remote_group_id = \(bind: record.id)"
        ).run()
    }

    func beforeRead(_ caller: Caller, api: NetworkAPI) async throws {
        // Services (Nova) read other projects' groups; a `default` group of their own
        // project would only make the name ambiguous for admins.
        guard !caller.projectID.isEmpty, !caller.auth.hasRole("service") else { return }
        let exists = try await api.db.read { db in
            try await RecordStore.exists(
                .securityGroup, where: "project_id = \(bind: caller.projectID) AND name = 'default'", db: db)
        }
        if !exists {
            try await api.db.transactionRetryingConflicts { db in
                _ = try await SecurityGroups.ensureDefault(
                    project: caller.projectID, ctx: HookContext(db: db, caller: caller, api: api))
            }
        }
    }

    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {
        var rules = try await RecordStore.select(
            .securityGroupRule, where: "security_group_id IN " + RecordStore.inList(records.map(\.id)),
            order: "created_at, id", db: db)
        try await SecurityGroupRuleHooks().expand(&rules, caller: caller, db: db, api: api)
        var byGroup: [String: [JSON]] = [:]
        for rule in rules {
            var rule = rule
            rule["tenant_id"] = rule["project_id"]
            rule["tags"] = []
            byGroup[rule.string("security_group_id") ?? "", default: []].append(.object(rule))
        }
        for i in records.indices { records[i]["security_group_rules"] = .array(byGroup[records[i].id] ?? []) }
    }
}

struct SecurityGroupRuleHooks: ResourceHooks {
    func didCreate(_ record: inout Record, ctx: HookContext) async throws {
        ctx.onCommit { await ctx.api.notifySecurityGroups() }
    }
    func didDelete(_ record: Record, ctx: HookContext) async throws {
        ctx.onCommit { await ctx.api.notifySecurityGroups() }
    }

    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        let groupID = record.string("security_group_id") ?? ""
        guard let group = try await RecordStore.get(.securityGroup, id: groupID, db: ctx.db) else {
            throw NeutronError.notFound("SecurityGroupNotFound", "Security group \(groupID) does not exist")
        }
        // Another project's group: refused by the policy, as Neutron's hook answers (403).
        guard ctx.caller.isAdmin || group.projectID == ctx.caller.projectID else {
            throw NeutronError.policy("create_security_group_rule")
        }
        if let remote = record.string("remote_group_id"),
            try await RecordStore.get(.securityGroup, id: remote, db: ctx.db) == nil
        {
            throw NeutronError.notFound("SecurityGroupNotFound", "Security group \(remote) does not exist")
        }
        try SecurityGroupRules.validate(&record)
        record["remote_address_group_id"] = .null
        if let existing = try await SecurityGroupRules.duplicate(of: record, db: ctx.db) {
            throw NeutronError.conflict(
                "SecurityGroupRuleExists", "Security group rule already exists. Rule id is \(existing).")
        }
    }

    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {
        let groups = Set(records.compactMap { $0.string("security_group_id") })
        let defaults = try await db.raw(
            "SELECT id FROM security_groups WHERE name = 'default' AND id IN " + RecordStore.inList(Array(groups))
        ).all().map { try $0.decode(column: "id", as: String.self) }
        for i in records.indices {
            let prefix = records[i].string("remote_ip_prefix")
            records[i]["normalized_cidr"] = JSON(
                prefix.flatMap { p in (try? Validate.ipOrCIDR(.string(p)))?.stringValue })
            records[i]["belongs_to_default_sg"] = .bool(
                defaults.contains(records[i].string("security_group_id") ?? ""))
        }
    }
}

/// Rule validation after Neutron's security group DB mixin.
enum SecurityGroupRules {
    static let protocolNames: [String: Int] = [
        "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2, "ipip": 4,
        "ipv6-encap": 41,
        "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43,
        "ospf": 89, "pgm": 113,
        "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112, "any": -1,
    ]

    static let convertProtocol: @Sendable (JSON) throws -> JSON = { value in
        switch value {
        case .null: return .null
        case .int(let n) where (0...255).contains(n): return .string(String(n))
        case .string(let s):
            if let n = Int(s), (0...255).contains(n) { return .string(String(n)) }
            let name = s.lowercased()
            if name == "any" || name.isEmpty { return .null }
            if protocolNames[name] != nil { return .string(name) }
        default: break
        }
        throw NeutronError.badRequest(
            "Security group rule protocol \(value.display) not supported. Only protocol values [None, \(protocolNames.keys.sorted().joined(separator: ", "))] and integer representations [0 to 255] are supported."
        ).typed("SecurityGroupRuleInvalidProtocol")
    }

    static func number(_ proto: String?) -> Int? {
        guard let proto else { return nil }
        return Int(proto) ?? protocolNames[proto]
    }

    static func validate(_ record: inout Record) throws {
        let ethertype = record.string("ethertype") ?? "IPv4"
        if record.string("remote_ip_prefix") != nil, record.string("remote_group_id") != nil {
            throw NeutronError.badRequest("Only remote_ip_prefix or remote_group_id may be provided.").typed(
                "SecurityGroupRemoteGroupAndRemoteIpPrefix")
        }
        if let prefix = record.string("remote_ip_prefix"),
            let cidr = (try? Validate.ipOrCIDR(.string(prefix)))?.stringValue.flatMap({ CIDR($0) })
        {
            if (cidr.version == 4 ? "IPv4" : "IPv6") != ethertype {
                throw NeutronError.badRequest("Conflicting value ethertype \(ethertype) for CIDR \(prefix)").typed(
                    "SecurityGroupRuleParameterConflict")
            }
        }
        let proto = record.string("protocol")
        let number = number(proto)
        if ethertype == "IPv4", number == 58 {
            throw NeutronError.badRequest("Conflicting value ethertype IPv4 for protocol \(proto ?? "")").typed(
                "SecurityGroupRuleParameterConflict")
        }
        let low = record.int("port_range_min")
        let high = record.int("port_range_max")
        guard low != nil || high != nil else { return }
        guard let number else {
            throw NeutronError.badRequest("Must also specify protocol if port range is given.").typed(
                "SecurityGroupProtocolRequiredWithPorts")
        }
        switch number {
        case 6, 17, 33, 132, 136:
            for port in [low, high].compactMap({ $0 }) where port < 0 || port > 65535 {
                throw NeutronError.badRequest("Invalid value for port \(port)").typed("SecurityGroupInvalidPortValue")
            }
            guard let low, let high else {
                if (low ?? high) == 0 {
                    throw NeutronError.badRequest("Invalid value for port 0").typed("SecurityGroupInvalidPortValue")
                }
                if low == nil {
                    throw NeutronError.badRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max")
                        .typed("SecurityGroupInvalidPortRange")
                }
                return
            }
            if low == 0 || high == 0 {
                throw NeutronError.badRequest("Invalid value for port 0").typed("SecurityGroupInvalidPortValue")
            }
            if low > high {
                throw NeutronError.badRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max").typed(
                    "SecurityGroupInvalidPortRange")
            }
        case 1, 58:
            for (name, value) in [("type", low), ("code", high)] {
                if let value, value > 255 || value < 0 {
                    throw NeutronError.badRequest(
                        "Invalid value for ICMP \(name) (port_range_\(name == "type" ? "min" : "max")) \(value). It must be 0 to 255."
                    )
                    .typed("SecurityGroupInvalidIcmpValue")
                }
            }
            if low == nil, high != nil {
                throw NeutronError.badRequest(
                    "ICMP code (port-range-max) \(high ?? 0) is provided but ICMP type (port-range-min) is missing."
                )
                .typed("SecurityGroupMissingIcmpType")
            }
        default:
            throw NeutronError.badRequest(
                "Invalid protocol \(proto ?? "") for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP."
            )
            .typed("SecurityGroupInvalidProtoForPortRange")
        }
    }

    /// The id of an existing rule of the group equal to `rule` in every matching field.
    static func duplicate(of rule: Record, db: any SQLDatabase) async throws -> String? {
        let existing = try await RecordStore.select(
            .securityGroupRule, where: "security_group_id = \(bind: rule.string("security_group_id") ?? "")", db: db)
        let keys = ["direction", "ethertype", "port_range_min", "port_range_max", "remote_group_id"]
        func normalizedPrefix(_ r: Record) -> String? {
            r.string("remote_ip_prefix").flatMap { (try? Validate.ipOrCIDR(.string($0)))?.stringValue }
        }
        func proto(_ r: Record) -> Int? { number(r.string("protocol")) }
        return existing.first { other in
            keys.allSatisfy { (other[$0] ?? .null) == (rule[$0] ?? .null) } && proto(other) == proto(rule)
                && normalizedPrefix(other) == normalizedPrefix(rule)
        }?.id
    }
}

/// Each project's `default` group, created on first use with Neutron's default rules.
enum SecurityGroups {
    static func ensureDefault(project: String, ctx: HookContext) async throws -> String {
        if let row = try await ctx.db.raw(
            "SELECT id FROM security_groups WHERE project_id = \(bind: project) AND name = 'default'"
        ).first() {
            return try row.decode(column: "id", as: String.self)
        }
        let now = Timestamp.iso8601(Date())
        let id = UUID().uuidString.lowercased()
        try await RecordStore.insert(
            .securityGroup,
            [
                "id": .string(id), "project_id": .string(project), "name": "default",
                "description": "Default security group",
                "created_at": .string(now), "updated_at": .string(now), "revision_number": 0, "stateful": true,
                "shared": false,
            ], db: ctx.db)
        try await addDefaultRules(group: id, project: project, isDefault: true, db: ctx.db)
        return id
    }

    /// Egress to anywhere for both ethertypes; the default group also admits ingress from its members.
    static func addDefaultRules(group: String, project: String, isDefault: Bool, db: any SQLDatabase) async throws {
        let now = Timestamp.iso8601(Date())
        var rules: [(String, String, String?)] = [("egress", "IPv4", nil), ("egress", "IPv6", nil)]
        if isDefault { rules += [("ingress", "IPv4", group), ("ingress", "IPv6", group)] }
        for (direction, ethertype, remote) in rules {
            try await RecordStore.insert(
                .securityGroupRule,
                [
                    "id": .string(UUID().uuidString.lowercased()), "project_id": .string(project), "description": "",
                    "created_at": .string(now), "updated_at": .string(now), "revision_number": 0,
                    "security_group_id": .string(group),
                    "direction": .string(direction), "ethertype": .string(ethertype), "protocol": .null,
                    "port_range_min": .null,
                    "port_range_max": .null, "remote_ip_prefix": .null, "remote_group_id": JSON(remote),
                    "remote_address_group_id": .null,
                ], db: db)
        }
    }
}
