import Hummingbird
import SQLKit
import StratusCore

extension NetworkAPI {
    /// `/availability_zones`: the zones the agents report, for networks (DHCP) and routers (L3).
    func registerAvailabilityZones(on router: Router<StratusContext>) {
        router.get("/v2.0/availability_zones") { request, context -> Response in
            _ = try self.caller(context)
            let rows = try await self.db.read { db in
                try await db.raw(
                    "SELECT DISTINCT agent_type, availability_zone, admin_state_up FROM agents WHERE availability_zone IS NOT NULL"
                ).all()
            }
            var zones: [JSON] = []
            for row in rows {
                let type = try row.decode(column: "agent_type", as: String.self)
                guard let resource = ["DHCP agent": "network", "L3 agent": "router"][type] else { continue }
                let zone: JSON = [
                    "name": .string(try row.decode(column: "availability_zone", as: String.self)), "resource": .string(resource),
                    "state": (try? row.decode(column: "admin_state_up", as: Bool.self)) == false ? "unavailable" : "available",
                ]
                if !zones.contains(zone) { zones.append(zone) }
            }
            for (key, value) in Self.queryItems(request) where ["name", "resource", "state"].contains(key) {
                zones = zones.filter { $0[key]?.stringValue == value }
            }
            return .json(["availability_zones": .array(zones)])
        }
    }

    /// `/service-providers`: the drivers behind the advanced services.
    func registerServiceProviders(on router: Router<StratusContext>) {
        router.get("/v2.0/service-providers") { _, context -> Response in
            _ = try self.caller(context)
            let providers: [JSON] = [
                ["service_type": "L3_ROUTER_NAT", "name": "stratus", "default": true],
                ["service_type": "QOS", "name": "stratus", "default": true],
                ["service_type": "METERING", "name": "stratus", "default": true],
            ]
            return .json(["service_providers": .array(providers)])
        }
    }
}
