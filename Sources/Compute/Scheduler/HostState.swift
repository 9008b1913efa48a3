import Foundation
import StratusCore

/// A candidate host as the filters and weighers see it: its Placement capacity and usage,
/// its service, its node record and the servers on it.
struct HostState: Sendable {
    var host: String
    var node: String
    var providerUUID: String
    var allocation: [String: [String: Int]]
    var capacity: [String: Int]
    var used: [String: Int]
    var traits: Set<String>
    var serviceUp: Bool
    var serviceDisabled: Bool
    var zone: String
    var nodeDoc: [String: JSON]
    var numInstances: Int
    /// Builds in progress on the host (the IoOps weigher's measure).
    var ioOps: Int
    var recentFailures: Int
    /// Members of a soft-affinity group on the host, negated for soft-anti-affinity.
    var groupAffinity: Double = 0
    /// The metadata of the host's aggregates: each key with every value it has there.
    var aggregateMetadata: [String: Set<String>] = [:]

    func free(_ resource: String) -> Int { (capacity[resource] ?? 0) - (used[resource] ?? 0) }

    /// Values the JSON filter's `$variables` name.
    func variable(_ name: String) -> Double? {
        switch name {
        case "$free_ram_mb": return Double(free("MEMORY_MB"))
        case "$free_disk_mb": return Double(free("DISK_GB") * 1024)
        case "$total_usable_ram_mb": return Double(capacity["MEMORY_MB"] ?? 0)
        case "$total_usable_disk_gb": return Double(capacity["DISK_GB"] ?? 0)
        case "$vcpus_total": return Double(capacity["VCPU"] ?? 0)
        case "$vcpus_used": return Double(used["VCPU"] ?? 0)
        case "$num_instances": return Double(numInstances)
        case "$num_io_ops": return Double(ioOps)
        default: return nil
        }
    }
}

/// What the scheduler needs to know about the request.
struct RequestSpec: Sendable {
    var uuid: String
    var projectID: String
    var zone: String?
    var forcedHost: String?
    var flavorExtraSpecs: [String: String]
    var imageProperties: [String: String]
    var hints: JSON
    var excludedHosts: Set<String>
}
