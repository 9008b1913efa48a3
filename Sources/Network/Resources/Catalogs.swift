import Hummingbird
import SQLKit
import StratusCore

extension NetworkAPI {
    /// `/availability_zones`: the zones the agents report, for networks (DHCP agents) and
    /// routers (L3 agents); a zone is available while one of its agents is administratively up.
    func registerAvailabilityZones(on router: Router<StratusContext>) {
        router.get("/v2.0/availability_zones") { request, context -> Response in
            let caller = try self.caller(context)
            let agents = try await self.db.read { db in
                try await RecordStore.select(.agent, where: "availability_zone IS NOT NULL", db: db)
            }
            let resources = ["DHCP agent": "network", "L3 agent": "router"]
            var zones: [String: (name: String, resource: String, available: Bool)] = [:]
            for agent in agents {
                guard let name = agent.string("availability_zone"), let resource = agent.string("agent_type").flatMap({ resources[$0] }) else {
                    continue
                }
                let key = resource + "\u{0}" + name
                zones[key] = (name, resource, (zones[key]?.available ?? false) || agent.bool("admin_state_up"))
            }
            let items: [Record] = zones.keys.sorted().compactMap { zones[$0] }.map {
                ["name": .string($0.name), "resource": .string($0.resource), "state": $0.available ? "available" : "unavailable"]
            }
            return .json(["availability_zones": .array(try self.catalog(items, "availability_zone", request: request, caller: caller))])
        }
    }

    /// `/service-providers`: the drivers behind the advanced services. Only the L3 router
    /// plugin registers providers (Neutron's built-in ones, none marked default); QoS and
    /// metering have none.
    func registerServiceProviders(on router: Router<StratusContext>) {
        router.get("/v2.0/service-providers") { request, context -> Response in
            let caller = try self.caller(context)
            let providers: [Record] = ["dvrha", "dvr", "ha", "single_node"].map {
                ["service_type": "L3_ROUTER_NAT", "name": .string($0), "default": false]
            }
            return .json(["service_providers": .array(try self.catalog(providers, "service_provider", request: request, caller: caller))])
        }
    }

    /// A read-only listing: `?key=value` filters (repeated keys match any value; unknown
    /// keys are ignored, as by plugins without filter validation), `fields`, and the
    /// `get_<member>` rule per item.
    private func catalog(_ items: [Record], _ member: String, request: Request, caller: Caller) throws -> [JSON] {
        var filters: [String: [String]] = [:]
        var fields: [String] = []
        for (key, value) in Self.queryItems(request) {
            if key == "fields" {
                fields += value.split(separator: ",").map(String.init)
            } else if items.first?[key] != nil {
                filters[key, default: []].append(value)
            }
        }
        return items.filter { item in
            filters.allSatisfy { key, values in
                values.contains { value in
                    switch item[key] {
                    case .bool(let flag)?: return (try? Validate.bool(.string(value)))?.boolValue == flag
                    case let other?: return other.display == value
                    case nil: return false
                    }
                }
            }
        }
        .filter { policy.check("get_\(member)", creds: caller.auth.policyCredentials, target: Self.target($0)) }
        .map { item in .object(fields.isEmpty ? item : item.filter { fields.contains($0.key) }) }
    }
}
