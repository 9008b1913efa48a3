import StratusCore

/// The topology DevStack leaves: an external flat network `public` with a subnet, and for
/// the admin project a `private` network and subnet behind `router1`, whose gateway is on
/// `public`. Created once; later starts find `public` and do nothing.
struct Bootstrap {
    let api: NetworkAPI

    func run(adminProjectID: String, publicCIDR: String) async throws {
        let auth = AuthContext(
            token: "", userID: "stratus-bootstrap", userName: "stratus", userDomainID: "default", userDomainName: "Default",
            projectID: adminProjectID, roles: ["admin", "member", "reader"])
        let caller = Caller(auth: auth, isAdmin: true)
        try await api.db.transaction { db in
            if try await RecordStore.exists(.network, where: "name = 'public' AND router_external = \(bind: true)", db: db) { return }
            let ctx = HookContext(db: db, caller: caller, api: api)
            let project = JSON.string(adminProjectID)
            let publicNet = try await ctx.createInternal(
                .network,
                [
                    "name": "public", "project_id": project, "router:external": true, "provider:network_type": "flat",
                    "provider:physical_network": "public", "description": "External network",
                ])
            let cidr = CIDR(publicCIDR) ?? CIDR(network: IPAddress(value: 0xAC18_0400, version: 4), prefixLength: 24)
            _ = try await ctx.createInternal(
                .subnet,
                [
                    "name": "public-subnet", "project_id": project, "network_id": .string(publicNet.id), "ip_version": 4,
                    "cidr": .string(cidr.description), "enable_dhcp": false,
                ])
            let privateNet = try await ctx.createInternal(.network, ["name": "private", "project_id": project])
            let privateSubnet = try await ctx.createInternal(
                .subnet,
                [
                    "name": "private-subnet", "project_id": project, "network_id": .string(privateNet.id), "ip_version": 4,
                    "cidr": "10.0.0.0/26",
                ])
            let router = try await ctx.createInternal(
                .router, ["name": "router1", "project_id": project, "external_gateway_info": ["network_id": .string(publicNet.id)]])
            _ = try await RouterInterfaces.add(router: router, subnetID: privateSubnet.id, portID: nil, ctx: ctx)
        }
    }
}
