import Hummingbird
import StratusCore

// Stub: replaced by the QoS implementation.
extension ResourceKind {
    static let qosPolicy = ResourceKind(collection: "qos/policies", member: "policy", table: "qos_policies", displayName: "QoS policy", attributes: StandardAttributes.all)
    static let bandwidthLimitRule = ResourceKind(collection: "bandwidth_limit_rules", member: "bandwidth_limit_rule", table: "qos_bandwidth_limit_rules", displayName: "Bandwidth limit rule", attributes: [StandardAttributes.id])
    static let dscpMarkingRule = ResourceKind(collection: "dscp_marking_rules", member: "dscp_marking_rule", table: "qos_dscp_marking_rules", displayName: "DSCP marking rule", attributes: [StandardAttributes.id])
    static let minimumBandwidthRule = ResourceKind(collection: "minimum_bandwidth_rules", member: "minimum_bandwidth_rule", table: "qos_minimum_bandwidth_rules", displayName: "Minimum bandwidth rule", attributes: [StandardAttributes.id])
}

extension NetworkAPI {
    func registerQoSExtras(on router: Router<StratusContext>) {}
}
