import SQLKit
import StratusCore

extension ResourceKind {
    static let port = ResourceKind(
        collection: "ports", member: "port", displayName: "Port",
        attributes: StandardAttributes.all + [
            Attribute("network_id", .text, put: false, required: true, convert: Validate.uuid),
            Attribute("admin_state_up", .bool, default: true, convert: Validate.bool),
            Attribute(
                "mac_address", .text, writeRule: "rule:context_is_admin or rule:admin_or_network_owner",
                convert: Validate.mac),
            Attribute("fixed_ips", .virtual, convert: Validate.list(Validate.object)),
            Attribute("device_id", .text, default: "", convert: Validate.string(255)),
            Attribute("device_owner", .text, default: "", convert: Validate.string(255)),
            Attribute("status", .text, post: false, put: false),
            Attribute("security_groups", .json, convert: Validate.uuidList),
            Attribute(
                "allowed_address_pairs", .json, default: [],
                convert: Validate.list(
                    Validate.dict(
                        required: ["ip_address"], optional: ["mac_address"],
                        ["ip_address": Validate.checked(Validate.ipOrCIDR), "mac_address": Validate.mac]))),
            Attribute(
                "extra_dhcp_opts", .json, default: [],
                convert: Validate.list(Validate.dict(required: ["opt_name", "opt_value"], optional: ["ip_version"]))),
            Attribute("port_security_enabled", .bool, convert: Validate.bool),
            Attribute(
                "binding:host_id", .text, default: "", readRule: "rule:admin_only", writeRule: "rule:admin_only",
                convert: Validate.string(255)),
            Attribute("binding:vif_type", .text, post: false, put: false, readRule: "rule:admin_only"),
            Attribute("binding:vif_details", .json, post: false, put: false, readRule: "rule:admin_only"),
            Attribute(
                "binding:vnic_type", .text, default: "normal",
                convert: Validate.oneOf([
                    "normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder", "smart-nic",
                    "vdpa", "accelerator-direct", "accelerator-direct-physical", "remote-managed",
                ])),
            Attribute(
                "binding:profile", .json, default: [:], readRule: "rule:admin_only", writeRule: "rule:admin_only",
                convert: Validate.object),
            Attribute("dns_name", .text, default: "", convert: Validate.string(255)),
            Attribute("dns_domain", .text, default: "", convert: Validate.string(255)),
            Attribute("dns_assignment", .virtual, post: false, put: false, filterable: false),
            Attribute("qos_policy_id", .text, default: .null, convert: Validate.uuidOrNull),
            Attribute("qos_network_policy_id", .virtual, post: false, put: false, filterable: false),
            Attribute("propagate_uplink_status", .bool, default: false, convert: Validate.bool),
            Attribute("ip_allocation", .text, post: false, put: false),
            Attribute("resource_request", .virtual, post: false, put: false, filterable: false),
            Attribute("mac_learning_enabled", .virtual, post: false, put: false, filterable: false),
        ],
        hooks: PortHooks(), quotaResource: "port", indexes: [["network_id"], ["device_owner"]])
}

struct PortHooks: ResourceHooks {
    func visibility(_ caller: Caller) -> SQLQueryString? {
        "(project_id = \(bind: caller.projectID) OR network_id IN (SELECT id FROM networks WHERE project_id = \(bind: caller.projectID)))"
    }

    func filter(_ key: String, values: [String]) throws -> SQLQueryString? {
        switch key {
        case "fixed_ips":
            var terms: [SQLQueryString] = []
            for value in values {
                let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw NeutronError.badRequest("Invalid fixed_ips filter '\(value)'") }
                switch parts[0] {
                case "ip_address": terms.append("ip_address = \(bind: IPAddress(parts[1])?.description ?? parts[1])")
                case "subnet_id": terms.append("subnet_id = \(bind: parts[1])")
                case "ip_address_substr": terms.append("ip_address LIKE \(bind: "%" + parts[1] + "%")")
                default: throw NeutronError.badRequest("Invalid fixed_ips filter '\(value)'")
                }
            }
            return "id IN (SELECT port_id FROM ip_allocations WHERE " + ListQuery.join(terms, " OR ") + ")"
        case "security_groups":
            return "(" + ListQuery.join(values.map { "security_groups LIKE \(bind: "%" + $0 + "%")" }, " OR ") + ")"
        case "mac_address":
            return "mac_address IN " + RecordStore.inList(values.map { $0.lowercased() })
        default:
            return nil
        }
    }

    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        let networkID = record.string("network_id") ?? ""
        let network = try await ctx.api.loadParent(
            .network, id: networkID, caller: ctx.caller, action: "create_port", db: ctx.db)
        record["network:tenant_id"] = .string(network.projectID)
        try await QoS.checkBinding(record, ctx: ctx)
        let owner = record.string("device_owner") ?? ""
        if !ctx.caller.isAdmin, network.projectID != ctx.caller.projectID,
            !(network.bool("shared") || network["rbac_shared"] == true),
            !owner.hasPrefix("network:")
        {
            throw NeutronError.policy("create_port")
        }
        record["status"] =
            owner.hasPrefix("network:") && owner != "network:floatingip"
            ? "ACTIVE" : (owner == "network:floatingip" ? "N/A" : "DOWN")
        record["ip_allocation"] = "immediate"
        if record["port_security_enabled"] == nil || record["port_security_enabled"] == .null {
            record["port_security_enabled"] = .bool(network["port_security_enabled"]?.boolValue ?? true)
        }
        if let mac = record.string("mac_address") {
            if try await RecordStore.exists(
                .port, where: "network_id = \(bind: networkID) AND mac_address = \(bind: mac)", db: ctx.db)
            {
                throw NeutronError.conflict(
                    "MacAddressInUse",
                    "Unable to complete operation for network \(networkID). The mac address \(mac) is in use.")
            }
        } else {
            record["mac_address"] = .string(
                try await Self.generateMAC(network: networkID, base: ctx.api.settings.baseMAC, db: ctx.db))
        }
        try await Self.checkSecurity(&record, creating: true, ctx: ctx)
        record["fixed_ips"] = .array(
            try await IPAM.allocate(
                port: record.id, network: networkID, mac: record.string("mac_address") ?? "",
                requested: record["fixed_ips"], deviceOwner: owner, db: ctx.db))
        Self.bind(&record, ctx: ctx)
    }

    func didCreate(_ record: inout Record, ctx: HookContext) async throws {
        let port = record
        if !(port.string("binding:host_id") ?? "").isEmpty {
            ctx.onCommit { await ctx.api.notifyPortUpdate(port) }
        }
        Self.notifyGroupMembers(port, ctx: ctx)
    }

    /// A guest's port joining, changing or leaving its groups changes who the groups'
    /// remote-group rules admit, on every host.
    static func notifyGroupMembers(_ port: Record, ctx: HookContext) {
        guard (port.string("device_owner") ?? "").hasPrefix("compute:") else { return }
        ctx.onCommit { await ctx.api.notifySecurityGroups() }
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        try await QoS.checkBinding(changes, ctx: ctx)
        let network = try await RecordStore.get(.network, id: old.string("network_id") ?? "", db: ctx.db) ?? [:]
        record["network:tenant_id"] = .string(network.projectID)
        if let mac = changes["mac_address"]?.stringValue, mac != old.string("mac_address") {
            if !(old.string("binding:host_id") ?? "").isEmpty,
                old.string("device_owner")?.hasPrefix("compute:") == true
            {
                throw NeutronError.conflict(
                    "PortBound",
                    "Unable to complete operation on port \(old.id), port is already bound, port type: \(old.string("binding:vif_type") ?? ""), old_mac \(old.string("mac_address") ?? ""), new_mac \(mac)."
                )
            }
            if try await RecordStore.exists(
                .port, where: "network_id = \(bind: network.id) AND mac_address = \(bind: mac)", db: ctx.db)
            {
                throw NeutronError.conflict(
                    "MacAddressInUse",
                    "Unable to complete operation for network \(network.id). The mac address \(mac) is in use.")
            }
        }
        if changes["fixed_ips"] != nil {
            let owner = record.string("device_owner") ?? ""
            if owner == "network:router_interface" || owner == "network:router_gateway" {
                // router ports change addresses through the router API only
            }
            record["fixed_ips"] = .array(
                try await IPAM.reallocate(
                    port: old.id, network: network.id, mac: record.string("mac_address") ?? "",
                    requested: changes["fixed_ips"] ?? [],
                    deviceOwner: owner, db: ctx.db))
        }
        if changes["security_groups"] != nil || changes["port_security_enabled"] != nil
            || changes["allowed_address_pairs"] != nil
        {
            try await Self.checkSecurity(&record, creating: false, ctx: ctx)
        }
        if changes["binding:host_id"] != nil || changes["binding:vnic_type"] != nil { Self.bind(&record, ctx: ctx) }
        if changes["binding:host_id"] != nil, record.string("binding:host_id") != old.string("binding:host_id") {
            record["status"] = (record.string("device_owner") ?? "").hasPrefix("network:") ? record["status"] : "DOWN"
        }
    }

    func didUpdate(_ record: inout Record, old: Record, ctx: HookContext) async throws {
        let port = record
        if !(port.string("binding:host_id") ?? "").isEmpty { ctx.onCommit { await ctx.api.notifyPortUpdate(port) } }
        Self.notifyGroupMembers(port, ctx: ctx)
    }

    func willDeleteByUser(_ record: Record, ctx: HookContext) async throws {
        let owner = record.string("device_owner") ?? ""
        if [
            "network:router_interface", "network:router_gateway", "network:floatingip", "network:router_ha_interface",
            "network:router_interface_distributed", "network:router_centralized_snat",
        ].contains(owner) {
            throw NeutronError.conflict(
                "L3PortInUse",
                "Port \(record.id) cannot be deleted directly via the port API: has device owner \(owner).")
        }
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        try await ctx.db.raw(
            "UPDATE floatingips SET port_id = NULL, fixed_ip_address = NULL, router_id = NULL, status = 'DOWN' WHERE port_id = \(bind: record.id)"
        ).run()
        try await IPAM.release(port: record.id, db: ctx.db)
    }

    func didDelete(_ record: Record, ctx: HookContext) async throws { Self.notifyGroupMembers(record, ctx: ctx) }

    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {
        try await NetworkOwners.annotate(&records, db: db)
        let ips = try await IPAM.fixedIPs(ports: records.map(\.id), db: db)
        for i in records.indices {
            let fixed = ips[records[i].id] ?? []
            records[i]["fixed_ips"] = .array(fixed)
            let name = records[i].string("dns_name") ?? ""
            records[i]["dns_assignment"] = .array(
                fixed.map { ip in
                    let address = ip["ip_address"]?.stringValue ?? ""
                    let host =
                        name.isEmpty
                        ? "host-"
                            + address.replacingOccurrences(of: ".", with: "-").replacingOccurrences(of: ":", with: "-")
                        : name
                    return [
                        "hostname": .string(host), "ip_address": .string(address),
                        "fqdn": .string(host + "." + api.settings.dnsDomain),
                    ]
                })
            records[i]["qos_network_policy_id"] = .null
            records[i]["resource_request"] = .null
            records[i]["mac_learning_enabled"] = false
        }
    }

    /// Fills binding attributes: bound ports get the bridge VIF type of the dataplane.
    static func bind(_ record: inout Record, ctx: HookContext) {
        let host = record.string("binding:host_id") ?? ""
        if host.isEmpty {
            record["binding:vif_type"] = "unbound"
            record["binding:vif_details"] = [:]
        } else {
            record["binding:vif_type"] = "bridge"
            record["binding:vif_details"] = ["port_filter": true, "connectivity": "l2"]
        }
    }

    /// Security groups and address pairs against port security: ports with it get their
    /// project's default group unless given groups; without it they may have none.
    static func checkSecurity(_ record: inout Record, creating: Bool, ctx: HookContext) async throws {
        let secured = record["port_security_enabled"]?.boolValue ?? true
        let owner = record.string("device_owner") ?? ""
        var groups = record["security_groups"]?.arrayValue?.compactMap(\.stringValue)
        if creating, groups == nil || record["security_groups"] == .null {
            groups =
                secured && !owner.hasPrefix("network:")
                ? [try await SecurityGroups.ensureDefault(project: record.projectID, ctx: ctx)] : []
        }
        let list = groups ?? []
        if !secured {
            if !list.isEmpty {
                if creating && record["security_groups"] != nil || !creating {
                    throw NeutronError.conflict(
                        "PortSecurityAndIPRequiredForSecurityGroups",
                        "Port security must be enabled and port must have an IP address in order to use security groups."
                    )
                }
            }
            if !(record["allowed_address_pairs"]?.arrayValue ?? []).isEmpty {
                throw NeutronError.conflict(
                    "AddressPairAndPortSecurityRequired",
                    "Port Security must be enabled in order to have allowed address pairs on a port.")
            }
        }
        for group in list {
            guard let found = try await RecordStore.get(.securityGroup, id: group, db: ctx.db),
                ctx.caller.isAdmin || found.projectID == record.projectID || found.projectID == ctx.caller.projectID
                    || found.bool("shared")
            else {
                throw NeutronError.notFound("SecurityGroupNotFound", "Security group \(group) does not exist")
            }
        }
        record["security_groups"] = JSON(list)
        var pairs: [JSON] = []
        for pair in record["allowed_address_pairs"]?.arrayValue ?? [] {
            var pair = pair.objectValue ?? [:]
            if pair["mac_address"] == nil { pair["mac_address"] = record["mac_address"] }
            if pairs.contains(.object(pair)) {
                throw NeutronError.badRequest(
                    "Invalid input for allowed_address_pairs. Reason: Duplicate address pair in request.")
            }
            pairs.append(.object(pair))
        }
        record["allowed_address_pairs"] = .array(pairs)
    }

    static func generateMAC(network: String, base: String, db: any SQLDatabase) async throws -> String {
        let prefix = base.split(separator: ":").prefix(3).joined(separator: ":")
        for _ in 0..<16 {
            let tail = (0..<3).map { _ in UInt8.random(in: 0...255) }.hexEncoded(separator: ":")
            let mac = prefix + ":" + tail
            if try await !RecordStore.exists(
                .port, where: "network_id = \(bind: network) AND mac_address = \(bind: mac)", db: db)
            {
                return mac
            }
        }
        throw NeutronError.conflict(
            "MacAddressGenerationFailure", "Unable to generate unique mac on network \(network).")
    }
}
