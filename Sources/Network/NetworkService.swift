import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StratusCore

/// Network options, `[network]` in the config file.
public enum NetworkOptions {
    public static let port = CoreOptions.port("network", default: 9696)
    public static let baseMAC = ConfigOption(
        "network", "base_mac", default: "fa:16:3e:00:00:00", help: "MAC addresses of ports start with the first three octets of this.")
    public static let tenantNetworkType = ConfigOption(
        "network", "tenant_network_types", default: "vxlan", help: "Network type of project networks created without provider attributes (vxlan, vlan, local).")
    public static let vniRanges = ConfigOption("network", "vni_ranges", default: "1:1000", help: "VXLAN VNI ranges for project networks, min:max, comma-separated.")
    public static let vlanRanges = ConfigOption(
        "network", "network_vlan_ranges", default: "physnet1:1000:2999",
        help: "VLAN ranges as physnet:min:max (a bare physnet allows provider VLANs only), comma-separated.")
    public static let flatNetworks = ConfigOption(
        "network", "flat_networks", default: "*", help: "Physical networks flat networks may use; * for any.")
    public static let mtu = ConfigOption("network", "global_physnet_mtu", default: 1500, help: "MTU of the physical networks.")
    public static let dnsDomain = ConfigOption("network", "dns_domain", default: "openstacklocal.", help: "Domain of port DNS names.")
    public static let host = ConfigOption("network", "host", default: "", help: "Host name the local agents report (default: this machine's name).")
    public static let agentDownTime = ConfigOption("network", "agent_down_time", default: 75, help: "Seconds without a heartbeat before an agent is down.")
    public static let reportInterval = ConfigOption("network", "report_interval", default: 30, help: "Seconds between agent heartbeats.")
    public static let paginationMax = ConfigOption("network", "pagination_max_limit", default: -1, help: "Largest page a list returns (-1: no limit).")
    public static let dataplane = ConfigOption(
        "network", "dataplane", default: "auto",
        help: "What the local agents change on the machine: linux (bridges, router namespaces, NAT), noop, or auto (linux where the local compute host runs QEMU guests: root, with QEMU, iproute2 and iptables installed).")
    public static let dhcpAgentsPerNetwork = ConfigOption("network", "dhcp_agents_per_network", default: 1, help: "DHCP agents scheduled per network.")
}

/// Settings read once at start.
struct NetworkSettings: Sendable {
    var baseMAC: String
    var tenantNetworkType: String
    var vniRanges: [ClosedRange<Int>]
    /// physnet -> VLAN ranges for project networks (empty: provider VLANs only).
    var vlanRanges: [String: [ClosedRange<Int>]]
    var flatNetworks: [String]
    var mtu: Int
    var dnsDomain: String
    var host: String
    var agentDownTime: Int
    var reportInterval: Int
    var paginationMax: Int?
    var dhcpAgentsPerNetwork: Int
    var dataplane: String

    /// `localGuests`: whether this machine's compute host runs real guests, whose taps the
    /// `auto` dataplane then wires (simulated hosts have no devices to wire).
    init(config: Config, localGuests: Bool = false) {
        baseMAC = config[NetworkOptions.baseMAC]
        tenantNetworkType = config[NetworkOptions.tenantNetworkType].split(separator: ",").first.map(String.init) ?? "vxlan"
        vniRanges = config[NetworkOptions.vniRanges].split(separator: ",").compactMap { Self.range(String($0)) }
        var vlans: [String: [ClosedRange<Int>]] = [:]
        for item in config[NetworkOptions.vlanRanges].split(separator: ",") {
            let parts = item.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let physnet = parts.first, !physnet.isEmpty else { continue }
            if parts.count == 3, let low = Int(parts[1]), let high = Int(parts[2]), low <= high {
                vlans[physnet, default: []].append(low...high)
            } else {
                vlans[physnet, default: []] += []
            }
        }
        vlanRanges = vlans
        flatNetworks = config[NetworkOptions.flatNetworks].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        mtu = config[NetworkOptions.mtu]
        dnsDomain = config[NetworkOptions.dnsDomain]
        let host = config[NetworkOptions.host]
        self.host = host.isEmpty ? ProcessInfo.processInfo.hostName : host
        agentDownTime = config[NetworkOptions.agentDownTime]
        reportInterval = config[NetworkOptions.reportInterval]
        dataplane = config[NetworkOptions.dataplane]
        if dataplane == "auto" { dataplane = localGuests && LinuxDataplane.available() ? "linux" : "noop" }
        let max = config[NetworkOptions.paginationMax]
        paginationMax = max > 0 ? max : nil
        dhcpAgentsPerNetwork = config[NetworkOptions.dhcpAgentsPerNetwork]
    }

    static func range(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: ":").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, parts[0] <= parts[1] else { return nil }
        return parts[0]...parts[1]
    }
}

/// Neutron v2.0: the service entry the executable runs.
public final class NetworkService: StratusService {
    public let name = "network"
    public let port: Int
    let api: NetworkAPI
    let validator: any TokenValidator
    let agents: [any Service]

    /// Opens (and migrates) the database and starts the local agents on `bus`; `localGuests`
    /// says whether the local compute host runs real guests (the `auto` dataplane wires them).
    public static func open(
        config: Config, dataDir: String, validator: any TokenValidator, bus: any BusTransport, logger: Logger,
        serviceAuth: ServiceAuth? = nil, localGuests: Bool = false
    ) async throws -> NetworkService {
        let connection = CoreOptions.databaseURL(config, service: "network", dataDir: dataDir)
        let db = try await Database.open(connection: connection, logger: logger)
        do {
            let settings = NetworkSettings(config: config, localGuests: localGuests)
            return try await start(db: db, config: config, settings: settings, validator: validator, bus: bus, logger: logger,
                serviceAuth: serviceAuth)
        } catch {
            await db.close()
            throw error
        }
    }

    private static func start(
        db: Database, config: Config, settings: NetworkSettings, validator: any TokenValidator, bus: any BusTransport,
        logger: Logger, serviceAuth: ServiceAuth?
    ) async throws -> NetworkService {
        try await db.migrate(NetworkMigrations.all, logger: logger)
        let policy = try PolicyEngine(
            defaults: NetworkPolicies.defaults(for: ResourceKind.all), overrides: PolicyEngine.loadOverrides(path: config[CoreOptions.policyFile]))
        let compute = serviceAuth.map { ServiceClient(auth: $0, serviceType: "compute") }
        let api = NetworkAPI(db: db, policy: policy, settings: settings, bus: bus, logger: logger, compute: compute)
        let plugin = PluginRPC(api: api)
        try await plugin.listen()
        let dataplane: any Dataplane = settings.dataplane == "linux" ? LinuxDataplane(logger: logger) : NoopDataplane()
        logger.info("network agents on \(settings.host) use the \(settings.dataplane) dataplane")
        let agents = LocalAgent.all(host: settings.host, bus: bus, dataplane: dataplane, reportInterval: settings.reportInterval, logger: logger)
        for agent in agents { try await agent.start() }
        return NetworkService(api: api, port: config[NetworkOptions.port], validator: validator, agents: agents)
    }

    init(api: NetworkAPI, port: Int, validator: any TokenValidator, agents: [any Service]) {
        self.api = api
        self.port = port
        self.validator = validator
        self.agents = agents
    }

    public var workers: [any Service] { agents }

    public func makeRouter() -> Router<StratusContext> {
        let router = Router(context: StratusContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: FaultMiddleware(style: .network))
        router.add(middleware: AuthMiddleware(validator: validator))
        api.register(on: router)
        return router
    }

    /// DevStack's starting topology (external `public`, the admin project's `private` and
    /// `router1`), created once.
    public func bootstrap(adminProjectID: String, publicCIDR: String = "172.24.4.0/24") async throws {
        try await Bootstrap(api: api).run(adminProjectID: adminProjectID, publicCIDR: publicCIDR)
    }

    public func close() async {
        await api.db.close()
    }
}

/// The routes of the network API and what they share.
struct NetworkAPI: Sendable {
    let db: Database
    let policy: PolicyEngine
    let settings: NetworkSettings
    let bus: any BusTransport
    let logger: Logger
    let kinds: [String: ResourceKind]
    let computeEvents: ComputeEvents

    init(db: Database, policy: PolicyEngine, settings: NetworkSettings, bus: any BusTransport, logger: Logger, compute: ServiceClient? = nil) {
        self.db = db
        self.policy = policy
        self.settings = settings
        self.bus = bus
        self.logger = logger
        self.kinds = Dictionary(uniqueKeysWithValues: ResourceKind.all.map { ($0.member, $0) })
        self.computeEvents = ComputeEvents(logger: logger, compute: compute)
    }

    func register(on router: Router<StratusContext>) {
        registerVersions(on: router)
        for kind in ResourceKind.all where kind.routed { registerResource(kind, on: router) }
        registerActions(on: router)
    }
}
