import SQLKit
import StratusCore

/// Fixed IP allocation. Each address is a row in `ip_allocations` whose primary key
/// (subnet, address) makes two concurrent allocations of one address fail; the
/// create path retries, so concurrent requests end with distinct addresses.
enum IPAM {
    struct Subnet {
        let record: Record
        let cidr: CIDR
        var id: String { record.id }
        var pools: [IPRange]
        var gateway: IPAddress?
        var autoAddress: Bool {
            let mode = record.string("ipv6_address_mode")
            return mode == "slaac" || mode == "dhcpv6-stateless"
        }
    }

    static func subnets(network: String, db: any SQLDatabase) async throws -> [Subnet] {
        try await RecordStore.select(.subnet, where: "network_id = \(bind: network)", order: "created_at, id", db: db).compactMap(subnet)
    }

    static func subnet(_ record: Record) -> Subnet? {
        guard let cidr = CIDR(record.string("cidr") ?? "") else { return nil }
        let pools = (try? SubnetHooks.parsePools(record["allocation_pools"] ?? [], cidr: cidr)) ?? []
        return Subnet(record: record, cidr: cidr, pools: pools, gateway: record.string("gateway_ip").flatMap { IPAddress($0) })
    }

    /// Allocates the port's fixed IPs: the requested ones (`[{subnet_id?, ip_address?}]`),
    /// or by default one address from the first IPv4 subnet with room, one from the
    /// first stateful IPv6 subnet, and a SLAAC address on every auto-address subnet.
    static func allocate(
        port: String, network: String, mac: String, requested: JSON?, deviceOwner: String, includeAuto: Bool = true, db: any SQLDatabase
    ) async throws -> [JSON] {
        let subnets = try await subnets(network: network, db: db)
        var chosen: [(Subnet, IPAddress?)] = []
        if let requested, let items = requested.arrayValue {
            for item in items {
                chosen.append(try resolve(item, subnets: subnets, network: network))
            }
            // SLAAC addresses come with every port (router ports excepted) unless asked for already
            if includeAuto && !deviceOwner.hasPrefix("network:router_interface") {
                for subnet in subnets where subnet.autoAddress && !chosen.contains(where: { $0.0.id == subnet.id }) {
                    chosen.append((subnet, nil))
                }
            }
        } else {
            var v4Done = false, v6Done = false
            for subnet in subnets {
                if subnet.cidr.version == 4 {
                    if !v4Done, try await hasRoom(subnet, db: db) { chosen.append((subnet, nil)); v4Done = true }
                } else if subnet.autoAddress {
                    if !deviceOwner.hasPrefix("network:router_interface") { chosen.append((subnet, nil)) }
                } else if !v6Done, try await hasRoom(subnet, db: db) {
                    chosen.append((subnet, nil))
                    v6Done = true
                }
            }
            let v6Stateful = subnets.contains { $0.cidr.version == 6 && !$0.autoAddress }
            if !v4Done && subnets.contains(where: { $0.cidr.version == 4 }) || v6Stateful && !v6Done && !subnets.contains(where: { $0.cidr.version == 4 }) {
                throw NeutronError.ipGenerationFailure(network: network)
            }
        }
        let start = try await nextPosition(port: port, db: db)
        var result: [JSON] = []
        for (i, (subnet, wanted)) in chosen.enumerated() {
            let address: IPAddress
            if let wanted {
                if try await inUse(subnet: subnet.id, address: wanted, db: db) {
                    throw NeutronError.conflict(
                        "IpAddressAlreadyAllocated", "IP address \(wanted) already allocated in subnet \(subnet.id)")
                }
                address = wanted
            } else if subnet.autoAddress, let eui = IPAddress.eui64(prefix: subnet.cidr, mac: mac) {
                address = eui
            } else {
                guard let free = try await firstFree(subnet, db: db) else { throw NeutronError.ipGenerationFailure(network: network) }
                address = free
            }
            if result.contains(where: { $0["subnet_id"]?.stringValue == subnet.id && $0["ip_address"]?.stringValue == address.description }) {
                continue
            }
            try await db.insert(into: "ip_allocations")
                .columns("subnet_id", "ip_address", "network_id", "port_id", "position")
                .values(SQLBind(subnet.id), SQLBind(address.description), SQLBind(network), SQLBind(port), SQLBind(start + i))
                .run()
            result.append(["subnet_id": .string(subnet.id), "ip_address": .string(address.description)])
        }
        return result
    }

    /// The subnet (and address, if given) one fixed_ips entry asks for.
    private static func resolve(_ item: JSON, subnets: [Subnet], network: String) throws -> (Subnet, IPAddress?) {
        guard case .object(let o) = item else { throw NeutronError.badRequest("Invalid input for fixed_ips. Reason: '\(item.display)' is not a dictionary.") }
        for key in o.keys where key != "subnet_id" && key != "ip_address" {
            throw NeutronError.badRequest("Invalid input for fixed_ips. Reason: Unrecognized attribute '\(key)'.")
        }
        var address: IPAddress?
        if let text = o["ip_address"]?.stringValue {
            guard let ip = IPAddress(text) else {
                throw NeutronError.badRequest("Invalid input for fixed_ips. Reason: '\(text)' is not a valid IP address.")
            }
            address = ip
        }
        if let subnetID = o["subnet_id"]?.stringValue {
            guard let subnet = subnets.first(where: { $0.id == subnetID }) else {
                throw NeutronError.badRequest(
                    "Invalid input for operation: Failed to create port on network \(network), because fixed_ips included invalid subnet \(subnetID).")
                    .typed("InvalidInput")
            }
            if let address, !subnet.cidr.contains(address) {
                throw NeutronError.make(.badRequest, "InvalidIpForSubnet", "IP address \(address) is not a valid IP for the specified subnet.")
            }
            return (subnet, address)
        }
        guard let address else { throw NeutronError.badRequest("Invalid input for fixed_ips. Reason: Exactly one of subnet_id and ip_address is required.") }
        guard let subnet = subnets.first(where: { $0.cidr.contains(address) }) else {
            throw NeutronError.make(.badRequest, "InvalidIpForNetwork", "IP address \(address) is not a valid IP for any of the subnets on the specified network.")
        }
        return (subnet, address)
    }

    static func inUse(subnet: String, address: IPAddress, db: any SQLDatabase) async throws -> Bool {
        try await db.raw(
            "SELECT 1 AS one FROM ip_allocations WHERE subnet_id = \(bind: subnet) AND ip_address = \(bind: address.description)"
        ).first() != nil
    }

    static func used(subnet: String, db: any SQLDatabase) async throws -> Set<UInt128> {
        let rows = try await db.raw("SELECT ip_address FROM ip_allocations WHERE subnet_id = \(bind: subnet)").all()
        return Set(try rows.compactMap { IPAddress(try $0.decode(column: "ip_address", as: String.self))?.value })
    }

    static func hasRoom(_ subnet: Subnet, db: any SQLDatabase) async throws -> Bool {
        try await firstFree(subnet, db: db, spread: 1) != nil
    }

    /// A free address in the subnet's pools. Large, sparsely used pools get a random
    /// address checked with one indexed lookup (cost independent of how many ports exist);
    /// otherwise one of the lowest few free ones, at random so that concurrent requests
    /// rarely collide (the loser retries).
    static func firstFree(_ subnet: Subnet, db: any SQLDatabase, spread: Int = 8) async throws -> IPAddress? {
        let size = subnet.pools.reduce(UInt128(0)) { $0 &+ $1.count }
        if size > 1024 {
            for _ in 0..<8 {
                var offset = UInt128.random(in: 0..<size)
                guard let pool = subnet.pools.first(where: { pool in
                    if offset < pool.count { return true }
                    offset -= pool.count
                    return false
                }) else { break }
                let candidate = pool.start.adding(offset)
                if candidate != subnet.gateway, try await !inUse(subnet: subnet.id, address: candidate, db: db) { return candidate }
            }
        }
        let taken = try await used(subnet: subnet.id, db: db)
        var candidates: [IPAddress] = []
        for pool in subnet.pools {
            var value = pool.start.value
            while value <= pool.end.value && candidates.count < spread {
                if !taken.contains(value), value != subnet.gateway?.value { candidates.append(IPAddress(value: value, version: pool.start.version)) }
                if value == UInt128.max { break }
                value += 1
            }
        }
        return candidates.randomElement()
    }

    private static func nextPosition(port: String, db: any SQLDatabase) async throws -> Int {
        let row = try await db.raw("SELECT MAX(position) AS p FROM ip_allocations WHERE port_id = \(bind: port)").first()
        return ((try? row?.decode(column: "p", as: Int?.self)) ?? nil).map { $0 + 1 } ?? 0
    }

    static func release(port: String, db: any SQLDatabase) async throws {
        try await db.raw("DELETE FROM ip_allocations WHERE port_id = \(bind: port)").run()
    }

    /// Replaces a port's fixed IPs: addresses kept stay, others are released, new ones allocated.
    static func reallocate(
        port: String, network: String, mac: String, requested: JSON, deviceOwner: String, db: any SQLDatabase
    ) async throws -> [JSON] {
        let current = try await fixedIPs(ports: [port], db: db)[port] ?? []
        let subnets = try await subnets(network: network, db: db)
        var keep: [JSON] = []
        var new: [JSON] = []
        for item in requested.arrayValue ?? [] {
            let (subnet, address) = try resolve(item, subnets: subnets, network: network)
            if let match = current.first(where: {
                $0["subnet_id"]?.stringValue == subnet.id && (address == nil || $0["ip_address"]?.stringValue == address?.description)
            }), !keep.contains(match) {
                keep.append(match)
            } else {
                new.append(item)
            }
        }
        for old in current where !keep.contains(old) {
            try await db.raw(
                "DELETE FROM ip_allocations WHERE port_id = \(bind: port) AND subnet_id = \(bind: old["subnet_id"]?.stringValue ?? "") AND ip_address = \(bind: old["ip_address"]?.stringValue ?? "")"
            ).run()
        }
        if !new.isEmpty {
            _ = try await allocate(port: port, network: network, mac: mac, requested: .array(new), deviceOwner: deviceOwner, includeAuto: false, db: db)
        }
        return try await fixedIPs(ports: [port], db: db)[port] ?? []
    }

    /// Fixed IPs by port, in allocation order.
    static func fixedIPs(ports: [String], db: any SQLDatabase) async throws -> [String: [JSON]] {
        guard !ports.isEmpty else { return [:] }
        let rows = try await db.raw(
            "SELECT port_id, subnet_id, ip_address FROM ip_allocations WHERE port_id IN " + RecordStore.inList(ports) + " ORDER BY position"
        ).all()
        var result: [String: [JSON]] = [:]
        for row in rows {
            result[try row.decode(column: "port_id", as: String.self), default: []].append([
                "subnet_id": .string(try row.decode(column: "subnet_id", as: String.self)),
                "ip_address": .string(try row.decode(column: "ip_address", as: String.self)),
            ])
        }
        return result
    }

    /// Gives every port on the subnet's network its SLAAC address (router ports excepted).
    static func addAutoAddresses(subnet record: Record, ctx: HookContext) async throws {
        guard let subnet = subnet(record) else { return }
        let network = record.string("network_id") ?? ""
        let ports = try await RecordStore.select(.port, where: "network_id = \(bind: network)", db: ctx.db)
        for port in ports {
            let owner = port.string("device_owner") ?? ""
            guard !owner.hasPrefix("network:router"), owner != "network:dhcp",
                let address = IPAddress.eui64(prefix: subnet.cidr, mac: port.string("mac_address") ?? "")
            else { continue }
            _ = try await allocate(
                port: port.id, network: network, mac: port.string("mac_address") ?? "",
                requested: [["subnet_id": .string(subnet.id), "ip_address": .string(address.description)]], deviceOwner: owner,
                includeAuto: false, db: ctx.db)
        }
    }

    /// Bumps a port's revision after its addresses changed underneath it.
    static func touch(port: String, db: any SQLDatabase) async throws {
        try await db.raw("UPDATE ports SET revision_number = revision_number + 1 WHERE id = \(bind: port)").run()
    }
}
