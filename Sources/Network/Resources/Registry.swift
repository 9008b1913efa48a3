import Hummingbird
import StratusCore

/// Every resource kind of the Network API. The database schema and the policy defaults
/// are derived from this list.
extension ResourceKind {
    static let all: [ResourceKind] = [
        .network, .subnet, .port, .securityGroup, .securityGroupRule, .router, .floatingIP, .portForwarding,
        .subnetPool, .addressScope, .rbacPolicy, .agent, .segment,
        .qosPolicy, .bandwidthLimitRule, .dscpMarkingRule, .minimumBandwidthRule,
        .meteringLabel, .meteringLabelRule,
    ]
}

extension NetworkAPI {
    /// Routes beyond the generic CRUD of each kind.
    func registerActions(on router: Router<StratusContext>) {
        registerRouterInterfaces(on: router)
        registerQuotas(on: router)
        registerIPAvailability(on: router)
        registerAgentScheduling(on: router)
        registerAvailabilityZones(on: router)
        registerQoSExtras(on: router)
        registerServiceProviders(on: router)
    }
}
