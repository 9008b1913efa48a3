import StratusCore

/// A pool the scheduler may place a volume on.
struct PoolCandidate: Sendable, Equatable {
    /// `host@backend`.
    var host: String
    var zone: String
    var capabilities: PoolCapabilities
}

/// What a volume asks of its pool.
struct PoolRequest: Sendable {
    var sizeGB: Int
    var zone: String
    var extraSpecs: [String: String]
    var multiattach = false
}

/// Cinder's AvailabilityZone, Capacity and Capabilities filters and its capacity weigher.
enum PoolFilters {
    static func choose(_ pools: [PoolCandidate], for request: PoolRequest) -> PoolCandidate? {
        pools.filter {
            $0.zone == request.zone && hasCapacity($0.capabilities, request.sizeGB) && matches($0, request)
        }
        .max { weight($0.capabilities) < weight($1.capabilities) }
    }

    /// Thick pools need the free space; thin pools may promise up to the over-subscription
    /// ratio times their size.
    static func hasCapacity(_ pool: PoolCapabilities, _ size: Int) -> Bool {
        let stats = pool.stats
        let reserved = stats.totalGB * Double(pool.reservedPercentage) / 100
        let free = stats.freeGB - reserved
        guard stats.thinProvisioning, pool.maxOverSubscriptionRatio >= 1 else { return free >= Double(size) }
        let virtualFree = stats.totalGB * pool.maxOverSubscriptionRatio - Double(pool.allocatedGB) - reserved
        return free > 0 && virtualFree >= Double(size)
    }

    /// The free space the capacity weigher prefers (virtual for thin pools).
    static func weight(_ pool: PoolCapabilities) -> Double {
        let stats = pool.stats
        guard stats.thinProvisioning else { return stats.freeGB }
        return stats.totalGB * pool.maxOverSubscriptionRatio - Double(pool.allocatedGB)
    }

    static func matches(_ pool: PoolCandidate, _ request: PoolRequest) -> Bool {
        let capabilities = pool.capabilities.flattened
        if request.multiattach, capabilities["multiattach"]?.boolValue != true { return false }
        for (key, requirement) in request.extraSpecs {
            var name = key
            if let colon = key.firstIndex(of: ":") {
                guard key[..<colon] == "capabilities" else { continue }
                name = String(key[key.index(after: colon)...])
            }
            guard let value = capabilities[name] else {
                if name == "volume_backend_name" || key.hasPrefix("capabilities:") { return false }
                continue
            }
            if !satisfies(value, requirement) { return false }
        }
        return true
    }

    /// Cinder's extra-spec operators: `<is> True`, `<in> x`, `<or> a <or> b`, `>= n`, `<= n`,
    /// `== n`, `s== x`, or plain equality.
    static func satisfies(_ value: JSON, _ requirement: String) -> Bool {
        let text: String
        switch value {
        case .bool(let flag): text = flag ? "True" : "False"
        case .string(let string): text = string
        case .int(let number): text = String(number)
        case .double(let number): text = String(number)
        default: text = value.serialized()
        }
        let words = requirement.split(separator: " ", maxSplits: 1).map(String.init)
        guard words.count == 2 else { return text == requirement }
        let (op, operand) = (words[0], words[1])
        switch op {
        case "<is>": return text.lowercased() == operand.lowercased()
        case "<in>": return text.contains(operand)
        case "<or>":
            return requirement.components(separatedBy: "<or>").map { $0.trimmingCharacters(in: .whitespaces) }
                .contains(text)
        case "s==": return text == operand
        case "==", ">=", "<=":
            guard let number = Double(text), let wanted = Double(operand) else { return false }
            return op == "==" ? number == wanted : op == ">=" ? number >= wanted : number <= wanted
        default: return text == requirement
        }
    }
}
