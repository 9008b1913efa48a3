import Foundation

/// Nova's weighers: each scores hosts, scores are normalized to 0...1 across the
/// candidates and summed with their multipliers; the best host first.
enum HostWeighers {
    static let all: [(multiplier: Double, measure: @Sendable (HostState) -> Double)] = [
        (1.0, { Double($0.free("MEMORY_MB")) }),        // RAMWeigher: spread
        (1.0, { Double($0.free("DISK_GB")) }),          // DiskWeigher
        (1.0, { Double($0.free("VCPU")) }),             // CPUWeigher
        (-1.0, { Double($0.ioOps) }),                   // IoOpsWeigher: fewer builds in flight
        (-1_000_000.0, { Double($0.recentFailures) }),  // BuildFailureWeigher
        (10.0, { $0.groupAffinity }),                   // ServerGroupSoft(Anti)AffinityWeigher
    ]

    static func rank(_ hosts: [HostState]) -> [HostState] {
        guard hosts.count > 1 else { return hosts }
        var scores = [Double](repeating: 0, count: hosts.count)
        for weigher in all {
            let values = hosts.map(weigher.measure)
            guard let low = values.min(), let high = values.max(), high > low else { continue }
            for index in hosts.indices {
                scores[index] += weigher.multiplier * (values[index] - low) / (high - low)
            }
        }
        return hosts.indices.sorted { scores[$0] > scores[$1] }.map { hosts[$0] }
    }
}
