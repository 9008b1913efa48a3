import SQLKit
import StratusCore

extension ResourceKind {
    /// Subnet pools (`subnet_allocation`, `default-subnetpools`): prefixes subnets are carved from.
    static let subnetPool = ResourceKind(
        collection: "subnetpools", member: "subnetpool", displayName: "Subnet pool",
        attributes: StandardAttributes.all + [
            Attribute("prefixes", .json, required: true, convert: Validate.list(Validate.cidr)),
            Attribute("ip_version", .int, post: false, put: false),
            Attribute("default_prefixlen", .int, convert: Validate.int(min: 0, max: 128)),
            Attribute("min_prefixlen", .int, convert: Validate.int(min: 0, max: 128)),
            Attribute("max_prefixlen", .int, convert: Validate.int(min: 0, max: 128)),
            Attribute("default_quota", .int, default: .null, convert: Validate.intOrNull(min: 0)),
            Attribute("shared", .bool, put: false, default: false, writeRule: "rule:admin_only", convert: Validate.bool),
            Attribute("is_default", .bool, default: false, writeRule: "rule:admin_only", convert: Validate.bool),
            Attribute("address_scope_id", .text, default: .null, convert: Validate.uuidOrNull),
        ],
        hooks: SubnetPoolHooks(), quotaResource: "subnetpool", notFoundType: "SubnetPoolNotFound")

    static let addressScope = ResourceKind(
        collection: "address_scopes", member: "address_scope", table: "address_scopes", displayName: "Address scope",
        attributes: [
            StandardAttributes.id, StandardAttributes.projectID, StandardAttributes.name,
            Attribute("shared", .bool, default: false, writeRule: "rule:admin_only", convert: Validate.bool),
            Attribute("ip_version", .int, put: false, required: true, convert: { value in
                let v = try Validate.int()(value)
                guard v == 4 || v == 6 else { throw InvalidValue("'\(value.display)' is not in [4, 6]") }
                return v
            }),
        ],
        hooks: AddressScopeHooks(), path: "address-scopes", hasTags: false, notFoundType: "AddressScopeNotFound")
}

struct SubnetPoolHooks: ResourceHooks {
    func visibility(_ caller: Caller) -> SQLQueryString? {
        "(project_id = \(bind: caller.projectID) OR shared = \(bind: true) OR is_default = \(bind: true) OR id IN "
            + RBAC.sharedWith(caller.projectID, type: "subnetpool") + ")"
    }

    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        let prefixes = (record["prefixes"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { CIDR($0) } }
        guard let version = prefixes.first?.version, prefixes.allSatisfy({ $0.version == version }) else {
            throw NeutronError.badRequest("Illegal subnetpool prefixes: Prefixes must all be of one IP version")
        }
        record["ip_version"] = .int(version)
        record["prefixes"] = JSON(SubnetPools.merge(prefixes).map(\.description))
        try Self.checkLengths(&record, version: version)
        try await Self.checkScope(record, version: version, ctx: ctx)
        try await Self.checkDefault(record, version: version, ctx: ctx)
        if record.bool("shared") {
            try await RBAC.insertWildcard(objectType: "subnetpool", objectID: record.id, project: record.projectID, db: ctx.db)
        }
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        let version = old.int("ip_version") ?? 4
        if changes["prefixes"] != nil {
            let new = (record["prefixes"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { CIDR($0) } }
            let current = (old["prefixes"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { CIDR($0) } }
            guard new.allSatisfy({ $0.version == version }) else {
                throw NeutronError.badRequest("Illegal subnetpool prefixes: Prefixes must all be of one IP version")
            }
            // prefixes may only grow: every old prefix must stay covered
            for prefix in current where !new.contains(where: { $0.contains(prefix.network) && $0.prefixLength <= prefix.prefixLength }) {
                throw NeutronError.badRequest("Illegal prefix bounds: Existing prefix \(prefix) must be a subset of the new prefixes")
            }
            record["prefixes"] = JSON(SubnetPools.merge(new).map(\.description))
        }
        try Self.checkLengths(&record, version: version)
        if changes["address_scope_id"] != nil { try await Self.checkScope(record, version: version, ctx: ctx) }
        if changes["is_default"]?.boolValue == true { try await Self.checkDefault(record, version: version, ctx: ctx) }
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        if try await RecordStore.exists(.subnet, where: "subnetpool_id = \(bind: record.id)", db: ctx.db) {
            throw NeutronError.conflict("SubnetPoolInUse", "Subnet pool \(record.id) could not be deleted: Subnets are using it.")
        }
        try await ctx.db.raw("DELETE FROM rbac_policies WHERE object_type = 'subnetpool' AND object_id = \(bind: record.id)").run()
    }

    /// min <= default <= max, within the version's bits, with Neutron's defaults.
    static func checkLengths(_ record: inout Record, version: Int) throws {
        let bits = version == 4 ? 32 : 128
        let min = record.int("min_prefixlen") ?? (version == 4 ? 8 : 64)
        let max = record.int("max_prefixlen") ?? bits
        let preferred = record.int("default_prefixlen") ?? min
        guard min <= preferred, preferred <= max, max <= bits else {
            throw NeutronError.badRequest(
                "Illegal prefix bounds: prefix_type=default_prefixlen, prefixlen=\(preferred), base_prefix_type=min_prefixlen, base_prefixlen=\(min).")
        }
        record["min_prefixlen"] = .int(min)
        record["max_prefixlen"] = .int(max)
        record["default_prefixlen"] = .int(preferred)
    }

    static func checkScope(_ record: Record, version: Int, ctx: HookContext) async throws {
        guard let scopeID = record.string("address_scope_id") else { return }
        guard let scope = try await RecordStore.get(.addressScope, id: scopeID, db: ctx.db),
            ctx.caller.isAdmin || scope.projectID == ctx.caller.projectID || scope.bool("shared")
        else {
            throw NeutronError.notFound(.addressScope, id: scopeID)
        }
        if scope.int("ip_version") != version {
            throw NeutronError.badRequest(
                "Illegal subnetpool association: subnetpool \(record.id) cannot be associated with address scope \(scopeID) because subnetpool ip_version is not \(scope.int("ip_version") ?? 0).")
        }
    }

    static func checkDefault(_ record: Record, version: Int, ctx: HookContext) async throws {
        guard record.bool("is_default") else { return }
        if try await RecordStore.exists(
            .subnetPool, where: "is_default = \(bind: true) AND ip_version = \(bind: version) AND id <> \(bind: record.id)", db: ctx.db)
        {
            throw NeutronError.conflict("InvalidInput", "Invalid input for operation: A default subnetpool for this IP family has already been set.")
        }
    }
}

struct AddressScopeHooks: ResourceHooks {
    func visibility(_ caller: Caller) -> SQLQueryString? {
        "(project_id = \(bind: caller.projectID) OR shared = \(bind: true) OR id IN " + RBAC.sharedWith(caller.projectID, type: "address_scope") + ")"
    }

    func willDelete(_ record: Record, ctx: HookContext) async throws {
        if try await RecordStore.exists(.subnetPool, where: "address_scope_id = \(bind: record.id)", db: ctx.db) {
            throw NeutronError.conflict("AddressScopeInUse", "Unable to complete operation on address scope \(record.id). There are one or more subnet pools in use on the address scope.")
        }
    }
}

/// Prefix allocation from subnet pools.
enum SubnetPools {
    static func defaultPool(version: Int, db: any SQLDatabase) async throws -> Record? {
        try await RecordStore.select(.subnetPool, where: "is_default = \(bind: true) AND ip_version = \(bind: version)", db: db).first
    }

    /// Drops prefixes contained in others.
    static func merge(_ prefixes: [CIDR]) -> [CIDR] {
        let sorted = prefixes.sorted { ($0.network, $0.prefixLength) < ($1.network, $1.prefixLength) }
        var result: [CIDR] = []
        for prefix in sorted where !result.contains(where: { $0.contains(prefix.network) && $0.prefixLength <= prefix.prefixLength }) {
            result.append(prefix)
        }
        return result
    }

    private static func pool(_ id: String, ctx: HookContext) async throws -> Record {
        guard let pool = try await RecordStore.get(.subnetPool, id: id, db: ctx.db) else { throw NeutronError.notFound(.subnetPool, id: id) }
        return pool
    }

    private static func taken(poolID: String, db: any SQLDatabase) async throws -> [CIDR] {
        try await db.raw("SELECT cidr FROM subnets WHERE subnetpool_id = \(bind: poolID)").all()
            .compactMap { CIDR(try $0.decode(column: "cidr", as: String.self)) }
    }

    /// A client's own prefix must lie in the pool, within its length bounds, and be free.
    static func checkPrefix(_ cidr: CIDR, poolID: String, ctx: HookContext) async throws {
        let pool = try await pool(poolID, ctx: ctx)
        let prefixes = (pool["prefixes"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { CIDR($0) } }
        guard prefixes.contains(where: { $0.contains(cidr.network) && $0.prefixLength <= cidr.prefixLength }) else {
            throw NeutronError.badRequest("Cidr \(cidr) not within the subnet pool \(poolID).").typed("CidrOutOfPool")
        }
        guard (pool.int("min_prefixlen") ?? 0)...(pool.int("max_prefixlen") ?? 128) ~= cidr.prefixLength else {
            throw NeutronError.badRequest("Illegal prefix bounds: prefixlen \(cidr.prefixLength) outside the pool's bounds.")
        }
        if try await taken(poolID: poolID, db: ctx.db).contains(where: { $0.overlaps(cidr) }) {
            throw NeutronError.badRequest("Cidr \(cidr) overlaps a subnet already allocated from pool \(poolID).").typed("SubnetAllocationError")
        }
    }

    /// The first free block of `prefixLength` (or the pool's default) in the pool.
    static func allocate(poolID: String, version: Int, prefixLength: Int?, ctx: HookContext) async throws -> CIDR {
        let pool = try await pool(poolID, ctx: ctx)
        if pool.int("ip_version") != version {
            throw NeutronError.badRequest("Bad subnets request: Cannot allocate IPv\(version) subnet from IPv\(pool.int("ip_version") ?? 0) subnet pool.")
        }
        let length = prefixLength ?? pool.int("default_prefixlen") ?? 24
        guard (pool.int("min_prefixlen") ?? 0)...(pool.int("max_prefixlen") ?? 128) ~= length else {
            throw NeutronError.badRequest("Illegal prefix bounds: prefixlen \(length) outside the pool's bounds.")
        }
        let used = try await taken(poolID: poolID, db: ctx.db)
        for prefix in (pool["prefixes"]?.arrayValue ?? []).compactMap({ $0.stringValue.flatMap { CIDR($0) } }) where prefix.prefixLength <= length {
            let step = CIDR(network: prefix.network, prefixLength: length).size
            var candidate = CIDR(network: prefix.network, prefixLength: length)
            while prefix.contains(candidate.network) {
                guard let clash = used.first(where: { $0.overlaps(candidate) }) else { return candidate }
                // skip past whatever overlaps
                let after = clash.last.value &+ 1
                let next = max(candidate.network.value &+ step, (after &+ step &- 1) & ~(step &- 1))
                if next <= candidate.network.value { break }
                candidate = CIDR(network: IPAddress(value: next, version: version), prefixLength: length)
            }
        }
        throw NeutronError.conflict("SubnetAllocationError", "Failed to allocate subnet: Insufficient prefix space to allocate subnet size /\(length).")
    }
}
