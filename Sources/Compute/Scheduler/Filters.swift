import Foundation
import StratusCore

/// Nova's host filters: each keeps the hosts that can take the request.
enum HostFilters {
    typealias Filter = @Sendable (HostState, RequestSpec, FilterContext) -> Bool

    struct FilterContext: Sendable {
        /// The host of each server the request's hints name (SameHost, DifferentHost).
        var hostsOfInstances: [String: String]
        /// The server group of the request and how many of its other members each host has.
        var group: ServerGroup?
        var groupHosts: [String: Int]
    }

    /// The servers a request's hints refer to.
    static func namedServers(_ hints: JSON) -> [String] {
        uuids(hints["same_host"]) + uuids(hints["different_host"])
    }

    static let all: [(String, Filter)] = [
        ("RetryFilter", { host, spec, _ in !spec.excludedHosts.contains(host.host) }),
        ("AvailabilityZoneFilter", { host, spec, _ in spec.zone.map { $0 == host.zone } ?? true }),
        ("ComputeFilter", { host, _, _ in host.serviceUp && !host.serviceDisabled }),
        ("ForcedHost", { host, spec, _ in spec.forcedHost.map { $0 == host.host } ?? true }),
        ("ComputeCapabilitiesFilter", { host, spec, _ in computeCapabilities(host, spec) }),
        ("ImagePropertiesFilter", { host, spec, _ in imageProperties(host, spec) }),
        ("AggregateInstanceExtraSpecsFilter", { host, spec, _ in
            let scope = "aggregate_instance_extra_specs:"
            return spec.flavorExtraSpecs.allSatisfy { key, wanted in
                guard key.hasPrefix(scope) else { return true }
                let values = host.aggregateMetadata[String(key.dropFirst(scope.count))] ?? []
                return values.contains { ExtraSpecMatch.matches($0, wanted) }
            }
        }),
        ("AggregateMultiTenancyIsolation", { host, spec, _ in
            let projects = host.aggregateMetadata.filter { $0.key.hasPrefix("filter_tenant_id") }.values
                .flatMap { $0.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } }
            return projects.isEmpty || projects.contains(spec.projectID)
        }),
        ("SameHostFilter", { host, spec, context in
            let wanted = uuids(spec.hints["same_host"])
            return wanted.isEmpty || wanted.allSatisfy { context.hostsOfInstances[$0] == host.host }
        }),
        ("DifferentHostFilter", { host, spec, context in
            uuids(spec.hints["different_host"]).allSatisfy { context.hostsOfInstances[$0] != host.host }
        }),
        ("ServerGroupAntiAffinityFilter", { host, _, context in
            guard let group = context.group, group.policy == "anti-affinity" else { return true }
            return (context.groupHosts[host.host] ?? 0) < group.maxServersPerHost
        }),
        ("ServerGroupAffinityFilter", { host, _, context in
            guard context.group?.policy == "affinity" else { return true }
            return context.groupHosts.isEmpty || context.groupHosts[host.host] != nil
        }),
        ("JsonFilter", { host, spec, _ in
            guard let text = spec.hints["query"]?.stringValue, let query = try? JSON.parse(text) else { return true }
            return JSONQuery.evaluate(query, host) ?? true
        }),
    ]

    static func uuids(_ value: JSON?) -> [String] {
        switch value {
        case .string(let one)?: return [one]
        case .array(let many)?: return many.compactMap(\.stringValue)
        default: return []
        }
    }

    /// `capabilities:<key>` extra specs against the node's reported values (`s== x`, `>= n`, or equal).
    static func computeCapabilities(_ host: HostState, _ spec: RequestSpec) -> Bool {
        for (key, wanted) in spec.flavorExtraSpecs where key.hasPrefix("capabilities:") {
            let name = String(key.dropFirst("capabilities:".count))
            let actual = host.nodeDoc[name].map { $0.stringValue ?? $0.serialized() } ?? ""
            guard ExtraSpecMatch.matches(actual, wanted) else { return false }
        }
        return true
    }

    /// `hw_architecture`, `img_hv_type` and `hypervisor_type` image properties.
    static func imageProperties(_ host: HostState, _ spec: RequestSpec) -> Bool {
        if let arch = spec.imageProperties["hw_architecture"] ?? spec.imageProperties["architecture"], arch != "x86_64" { return false }
        if let type = spec.imageProperties["img_hv_type"] ?? spec.imageProperties["hypervisor_type"] {
            return type.lowercased() == (host.nodeDoc["hypervisor_type"]?.stringValue ?? "").lowercased() || type == "qemu" || type == "kvm"
        }
        return true
    }
}

/// Nova's extra-spec operators.
enum ExtraSpecMatch {
    static func matches(_ actual: String, _ wanted: String) -> Bool {
        let words = wanted.split(separator: " ", maxSplits: 1).map(String.init)
        guard words.count == 2 else { return actual == wanted }
        let value = words[1]
        switch words[0] {
        case "=", ">=": return (Double(actual) ?? 0) >= (Double(value) ?? 0)
        case "<=": return (Double(actual) ?? 0) <= (Double(value) ?? 0)
        case "==": return Double(actual) == Double(value)
        case "!=": return Double(actual) != Double(value)
        case "s==": return actual == value
        case "s!=": return actual != value
        case "<in>": return actual.contains(value)
        case "<or>": return wanted.components(separatedBy: "<or>").map { $0.trimmingCharacters(in: .whitespaces) }.contains(actual)
        default: return actual == wanted
        }
    }
}

/// The JSON filter's query language: `["and", ["<", "$free_ram_mb", 1024], ...]`.
enum JSONQuery {
    static func evaluate(_ query: JSON, _ host: HostState) -> Bool? {
        guard case .array(let items) = query, let op = items.first?.stringValue else { return nil }
        let args = items.dropFirst().map { arg -> JSON in
            if case .array = arg { return evaluate(arg, host).map { .bool($0) } ?? .null }
            if let name = arg.stringValue, name.hasPrefix("$") { return host.variable(name).map { .double($0) } ?? .null }
            return arg
        }
        func numbers() -> [Double] { args.compactMap { $0.numberValue ?? $0.stringValue.flatMap(Double.init) } }
        switch op {
        case "=": let n = numbers(); return n.count == 2 ? n[0] == n[1] : nil
        case "<": let n = numbers(); return n.count == 2 ? n[0] < n[1] : nil
        case ">": let n = numbers(); return n.count == 2 ? n[0] > n[1] : nil
        case "<=": let n = numbers(); return n.count == 2 ? n[0] <= n[1] : nil
        case ">=": let n = numbers(); return n.count == 2 ? n[0] >= n[1] : nil
        case "in": let n = numbers(); return n.count >= 2 ? n.dropFirst().contains(n[0]) : nil
        case "not": return args.first?.boolValue.map { !$0 }
        case "or": return args.contains { $0.boolValue == true }
        case "and": return args.allSatisfy { $0.boolValue == true }
        default: return nil
        }
    }
}
