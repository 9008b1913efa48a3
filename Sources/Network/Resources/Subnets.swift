import SQLKit
import StratusCore

extension ResourceKind {
    static let subnet = ResourceKind(
        collection: "subnets", member: "subnet", displayName: "Subnet",
        attributes: StandardAttributes.all + [
            Attribute("network_id", .text, put: false, required: true, convert: Validate.uuid),
            Attribute(
                "ip_version", .int, put: false, required: true,
                convert: { value in
                    let v = try Validate.int()(value)
                    guard v == 4 || v == 6 else { throw InvalidValue("'\(value.display)' is not in [4, 6]") }
                    return v
                }),
            Attribute(
                "cidr", .text, put: false, convert: { $0.isNull ? .null : try Validate.checked(Validate.cidr)($0) }),
            Attribute("prefixlen", .virtual, put: false, filterable: false, convert: Validate.int(min: 0, max: 128)),
            Attribute(
                "subnetpool_id", .text, put: false,
                convert: { $0.isNull || $0 == "prefix_delegation" ? $0 : try Validate.uuid($0) }),
            Attribute("use_default_subnetpool", .virtual, put: false, filterable: false, convert: Validate.bool),
            Attribute("gateway_ip", .text, convert: Validate.ipOrNull),
            Attribute(
                "allocation_pools", .json,
                convert: Validate.list(
                    Validate.dict(required: ["start", "end"], ["start": Validate.ip, "end": Validate.ip]))),
            Attribute("dns_nameservers", .json, default: [], convert: Validate.list(Validate.ip)),
            Attribute(
                "host_routes", .json, default: [],
                convert: Validate.list(
                    Validate.dict(
                        required: ["destination", "nexthop"], ["destination": Validate.cidr, "nexthop": Validate.ip]))),
            Attribute("enable_dhcp", .bool, default: true, convert: Validate.bool),
            Attribute(
                "ipv6_ra_mode", .text, put: false, default: .null,
                convert: Validate.oneOf(["slaac", "dhcpv6-stateful", "dhcpv6-stateless"], nullable: true)),
            Attribute(
                "ipv6_address_mode", .text, put: false, default: .null,
                convert: Validate.oneOf(["slaac", "dhcpv6-stateful", "dhcpv6-stateless"], nullable: true)),
            Attribute("service_types", .json, default: [], convert: Validate.stringList),
            Attribute("segment_id", .text, default: .null, convert: Validate.uuidOrNull),
            Attribute("dns_publish_fixed_ip", .bool, default: false, convert: Validate.bool),
        ],
        hooks: SubnetHooks(), quotaResource: "subnet", indexes: [["subnetpool_id"]])
}

struct SubnetHooks: ResourceHooks {
    static let maxDNS = 5
    static let maxRoutes = 20

    func visibility(_ caller: Caller) -> SQLQueryString? {
        "(project_id = \(bind: caller.projectID) OR network_id IN (SELECT id FROM networks WHERE shared = \(bind: true) OR id IN "
            + RBAC.sharedWith(caller.projectID, type: "network") + "))"
    }

    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {
        try await NetworkOwners.annotate(&records, db: db)
    }

    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        let networkID = record.string("network_id") ?? ""
        let network = try await ctx.api.loadParent(
            .network, id: networkID, caller: ctx.caller, action: "create_subnet", db: ctx.db)
        record["network:tenant_id"] = .string(network.projectID)
        if network.bool("shared") || network["rbac_shared"] == true { record["network:shared"] = true }
        let version = record.int("ip_version") ?? 4

        // the prefix: given, or carved from a subnet pool
        var poolID = record.string("subnetpool_id")
        if poolID == nil, record["use_default_subnetpool"]?.boolValue == true {
            poolID = try await SubnetPools.defaultPool(version: version, db: ctx.db)?.id
            guard poolID != nil else { throw NeutronError.badRequest("No default subnetpool found for IPv\(version)") }
        }
        let cidr: CIDR
        if let text = record.string("cidr") {
            guard let parsed = CIDR(text) else {
                throw NeutronError.badRequest("Invalid input for cidr. Reason: '\(text)' is not a valid IP subnet.")
            }
            cidr = parsed
            if let poolID { try await SubnetPools.checkPrefix(cidr, poolID: poolID, ctx: ctx) }
        } else if let poolID {
            cidr = try await SubnetPools.allocate(
                poolID: poolID, version: version, prefixLength: record.int("prefixlen"), ctx: ctx)
        } else {
            throw NeutronError.badRequest(
                "Bad subnets request: a cidr must be specified in the absence of a subnet pool.")
        }
        record["subnetpool_id"] = JSON(poolID)
        record.removeValue(forKey: "prefixlen")
        record.removeValue(forKey: "use_default_subnetpool")
        guard cidr.version == version else {
            throw NeutronError.invalidInput("Cidr \(cidr) does not match the ip_version \(version)")
        }
        if cidr.prefixLength == cidr.bits {
            throw NeutronError.badRequest(
                "Invalid input for operation: Invalid CIDR \(cidr) for IPv\(version) subnet.")
        }
        if cidr.prefixLength == 0 {
            throw NeutronError.badRequest("Invalid input for operation: 0 is not allowed as CIDR prefix length.")
        }
        if let text = record.string("cidr"), let given = CIDR(text),
            IPAddress(text.split(separator: "/")[0]) != given.network
        {
            throw NeutronError.badRequest(
                "Invalid input for operation: '\(text)' isn't a recognized IP subnet cidr, '\(given)' is recommended.")
        }
        record["cidr"] = .string(cidr.description)
        try await checkOverlap(cidr, networkID: networkID, excluding: nil, ctx: ctx)
        try Self.checkIPv6Modes(record, cidr: cidr)

        // gateway: the first address unless given or null
        let gateway: IPAddress?
        if let value = record["gateway_ip"] {
            if let text = value.stringValue {
                gateway = IPAddress(text)
                try Self.checkGateway(gateway, cidr: cidr)
            } else {
                gateway = nil
            }
        } else {
            gateway = cidr.first.adding(1)
            record["gateway_ip"] = .string(cidr.first.adding(1).description)
        }
        let pools: [IPRange]
        if let given = record["allocation_pools"], !given.isNull {
            pools = try Self.parsePools(given, cidr: cidr)
            try Self.checkPools(pools, cidr: cidr, gateway: gateway)
        } else {
            pools = Self.defaultPools(cidr, gateway: gateway)
        }
        record["allocation_pools"] = Self.render(pools)
        try Self.checkDNS(record["dns_nameservers"])
        try Self.checkRoutes(record["host_routes"], version: version)
    }

    func didCreate(_ record: inout Record, ctx: HookContext) async throws {
        let subnet = record
        if subnet.string("ipv6_address_mode") == "slaac" || subnet.string("ipv6_address_mode") == "dhcpv6-stateless" {
            try await IPAM.addAutoAddresses(subnet: subnet, ctx: ctx)
        }
        if subnet.bool("enable_dhcp") {
            try await DHCPScheduling.schedule(network: subnet.string("network_id") ?? "", ctx: ctx)
        }
        ctx.onCommit { await ctx.api.notifyDHCP(DHCPAgentMethods.subnetCreated, ["subnet": .object(subnet)]) }
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        guard let cidr = CIDR(old.string("cidr") ?? "") else { return }
        var gateway = record.string("gateway_ip").flatMap { IPAddress($0) }
        if changes["gateway_ip"] != nil {
            try Self.checkGateway(gateway, cidr: cidr)
            if let gateway, changes["allocation_pools"] == nil,
                let pools = try? Self.parsePools(old["allocation_pools"] ?? [], cidr: cidr),
                pools.contains(where: { $0.contains(gateway) })
            {
                throw NeutronError.conflict(
                    "GatewayConflictWithAllocationPools",
                    "Gateway ip \(gateway) conflicts with allocation pool \(Self.render(pools).serialized())")
            }
        } else {
            gateway = old.string("gateway_ip").flatMap { IPAddress($0) }
        }
        if let given = changes["allocation_pools"] {
            let pools =
                given.isNull || given.arrayValue?.isEmpty == true
                ? Self.defaultPools(cidr, gateway: gateway) : try Self.parsePools(given, cidr: cidr)
            try Self.checkPools(pools, cidr: cidr, gateway: gateway)
            record["allocation_pools"] = Self.render(pools)
        }
        if changes["dns_nameservers"] != nil { try Self.checkDNS(record["dns_nameservers"]) }
        if changes["host_routes"] != nil { try Self.checkRoutes(record["host_routes"], version: cidr.version) }
        if changes["enable_dhcp"]?.boolValue == true {
            try await DHCPScheduling.schedule(network: old.string("network_id") ?? "", ctx: ctx)
        }
        let subnet = record
        ctx.onCommit { await ctx.api.notifyDHCP(DHCPAgentMethods.subnetUpdated, ["subnet": .object(subnet)]) }
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        let used = try await ctx.db.raw(
            "SELECT a.port_id, p.device_owner FROM ip_allocations a JOIN ports p ON p.id = a.port_id WHERE a.subnet_id = \(bind: record.id)"
        ).all()
        var autoRemovable: [String] = []
        for row in used {
            let owner = try row.decode(column: "device_owner", as: String.self)
            let port = try row.decode(column: "port_id", as: String.self)
            let slaac =
                record.string("ipv6_address_mode") == "slaac"
                || record.string("ipv6_address_mode") == "dhcpv6-stateless"
            if owner == "network:dhcp" || (slaac && !owner.hasPrefix("network:router")) {
                autoRemovable.append(port)
                continue
            }
            throw NeutronError.inUse(
                "SubnetInUse",
                "Unable to complete operation on subnet \(record.id): One or more ports have an IP allocation from this subnet."
            )
        }
        try await ctx.db.raw("DELETE FROM ip_allocations WHERE subnet_id = \(bind: record.id)").run()
        for port in Set(autoRemovable) { try await IPAM.touch(port: port, db: ctx.db) }
        let id = record.id
        let network = record.string("network_id") ?? ""
        ctx.onCommit {
            await ctx.api.notifyDHCP(
                DHCPAgentMethods.subnetDeleted, ["subnet_id": .string(id), "network_id": .string(network)])
        }
    }

    private func checkOverlap(_ cidr: CIDR, networkID: String, excluding: String?, ctx: HookContext) async throws {
        let rows = try await ctx.db.raw("SELECT id, cidr FROM subnets WHERE network_id = \(bind: networkID)").all()
        for row in rows {
            guard let other = CIDR(try row.decode(column: "cidr", as: String.self)), other.overlaps(cidr) else {
                continue
            }
            throw NeutronError.invalidInput(
                "Requested subnet with cidr: \(cidr) for network: \(networkID) overlaps with another subnet")
        }
    }

    static func checkIPv6Modes(_ record: Record, cidr: CIDR) throws {
        let ra = record.string("ipv6_ra_mode")
        let address = record.string("ipv6_address_mode")
        if cidr.version == 4 {
            guard ra == nil, address == nil else {
                throw NeutronError.invalidInput(
                    "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False or ip_version is 4"
                )
            }
            return
        }
        if let ra, let address, ra != address {
            throw NeutronError.invalidInput(
                "ipv6_ra_mode set to '\(ra)' with ipv6_address_mode set to '\(address)' is not valid. If both attributes are set, they must be the same value"
            )
        }
        if (ra ?? address) != nil, record["enable_dhcp"]?.boolValue == false {
            throw NeutronError.invalidInput(
                "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False")
        }
        if ra == "slaac" || address == "slaac" || ra == "dhcpv6-stateless" || address == "dhcpv6-stateless",
            cidr.prefixLength != 64
        {
            throw NeutronError.invalidInput(
                "Invalid CIDR \(cidr) for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64"
            )
        }
    }

    static func checkGateway(_ gateway: IPAddress?, cidr: CIDR) throws {
        guard let gateway else { return }
        guard cidr.contains(gateway) || cidr.version == 6 && gateway.version == 6 && isLinkLocal(gateway) else {
            throw NeutronError.invalidInput("Gateway IP \(gateway) is not in subnet \(cidr)")
        }
        if cidr.version == 4, cidr.prefixLength < 31, gateway == cidr.first || gateway == cidr.last {
            throw NeutronError.invalidInput("Gateway is not valid on subnet")
        }
    }

    static func isLinkLocal(_ ip: IPAddress) -> Bool { CIDR("fe80::/10")?.contains(ip) ?? false }

    static func parsePools(_ value: JSON, cidr: CIDR) throws -> [IPRange] {
        try (value.arrayValue ?? []).map { pool in
            guard let start = pool["start"]?.stringValue.flatMap({ IPAddress($0) }),
                let end = pool["end"]?.stringValue.flatMap({ IPAddress($0) })
            else {
                throw NeutronError.badRequest(
                    "Invalid input for allocation_pools. Reason: Invalid data format for IP pool: '\(pool.serialized())'."
                )
            }
            guard start.version == cidr.version, end.version == cidr.version, start <= end else {
                throw NeutronError.badRequest(
                    "The allocation pool \(start)-\(end) spans beyond the subnet cidr \(cidr)."
                )
                .typed("InvalidAllocationPool")
            }
            return IPRange(start: start, end: end)
        }
    }

    static func checkPools(_ pools: [IPRange], cidr: CIDR, gateway: IPAddress?) throws {
        for pool in pools {
            let firstUsable = cidr.version == 4 && cidr.prefixLength < 31 ? cidr.first.adding(1) : cidr.first
            let lastUsable =
                cidr.version == 4 && cidr.prefixLength < 31
                ? IPAddress(value: cidr.last.value - 1, version: 4) : cidr.last
            guard cidr.contains(pool.start), cidr.contains(pool.end), pool.start >= firstUsable, pool.end <= lastUsable
            else {
                throw NeutronError.make(
                    .badRequest, "OutOfBoundsAllocationPool",
                    "The allocation pool \(pool.start)-\(pool.end) spans beyond the subnet cidr \(cidr).")
            }
            if let gateway, pool.contains(gateway) {
                throw NeutronError.conflict(
                    "GatewayConflictWithAllocationPools",
                    "Gateway ip \(gateway) conflicts with allocation pool \(pool.start)-\(pool.end)")
            }
        }
        for (i, a) in pools.enumerated() {
            for b in pools[(i + 1)...] where a.overlaps(b) {
                throw NeutronError.make(
                    .badRequest, "OverlappingAllocationPools",
                    "Found overlapping allocation pools: \(a.start)-\(a.end) and \(b.start)-\(b.end) for subnet \(cidr)."
                )
            }
        }
    }

    /// Every usable address (network and broadcast excluded for IPv4, the subnet-router
    /// anycast address for IPv6) except the gateway.
    static func defaultPools(_ cidr: CIDR, gateway: IPAddress?) -> [IPRange] {
        let first: IPAddress
        let last: IPAddress
        if cidr.version == 4 {
            if cidr.prefixLength >= 31 { return [IPRange(start: cidr.first, end: cidr.last)] }
            first = cidr.first.adding(1)
            last = IPAddress(value: cidr.last.value - 1, version: 4)
        } else {
            first = cidr.first.adding(1)
            last = cidr.last
        }
        guard first <= last else { return [] }
        guard let gateway, gateway >= first, gateway <= last else { return [IPRange(start: first, end: last)] }
        var pools: [IPRange] = []
        if gateway > first {
            pools.append(IPRange(start: first, end: IPAddress(value: gateway.value - 1, version: gateway.version)))
        }
        if gateway < last { pools.append(IPRange(start: gateway.adding(1), end: last)) }
        return pools
    }

    static func render(_ pools: [IPRange]) -> JSON {
        .array(
            pools.sorted { $0.start < $1.start }.map {
                ["start": .string($0.start.description), "end": .string($0.end.description)]
            })
    }

    static func checkDNS(_ value: JSON?) throws {
        let servers = value?.arrayValue ?? []
        if servers.count > maxDNS {
            throw NeutronError.badRequest(
                "Unable to complete operation for \(servers.count) DNS nameservers. The number of DNS nameservers exceeds the limit \(maxDNS)."
            )
            .typed("DNSNameServersExhausted")
        }
        for (i, server) in servers.enumerated() where servers[..<i].contains(server) {
            throw NeutronError.badRequest(
                "Invalid input for dns_nameservers. Reason: Duplicate nameserver '\(server.display)'.")
        }
    }

    static func checkRoutes(_ value: JSON?, version: Int) throws {
        let routes = value?.arrayValue ?? []
        if routes.count > maxRoutes {
            throw NeutronError.badRequest(
                "Unable to complete operation for \(routes.count) host routes. The number of host routes exceeds the limit \(maxRoutes)."
            )
            .typed("HostRoutesExhausted")
        }
        for (i, route) in routes.enumerated() {
            if routes[..<i].contains(route) {
                throw NeutronError.badRequest(
                    "Invalid input for host_routes. Reason: Duplicate hostroute '\(route.serialized())'.")
            }
            let destination = route["destination"]?.stringValue.flatMap { CIDR($0) }
            let nexthop = route["nexthop"]?.stringValue.flatMap { IPAddress($0) }
            if destination?.version != version || nexthop?.version != version {
                throw NeutronError.invalidInput(
                    "Host route \(route.serialized()) does not match the subnet's IP version \(version)")
            }
        }
    }
}

extension APIError {
    /// The same error with Neutron's type name.
    func typed(_ type: String) -> APIError {
        var copy = self
        copy.type = type
        return copy
    }
}
