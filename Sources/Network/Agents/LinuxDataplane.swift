import Foundation
import Logging
import StratusCore

#if canImport(Glibc)
    import Glibc
#endif

/// What the local agents change on the machine.
protocol Dataplane: Sendable {
    /// Whether the L3 agent should fetch routers for `syncRouters`.
    var wiresRouters: Bool { get }
    /// The bridge agent: true once the port's device is on the machine (plugged by the
    /// hypervisor driver), false if it never appears.
    func waitForDevice(port: String) async -> Bool
    /// The L3 agent: makes the machine's routers what `routers` (from `sync_routers`) say.
    func syncRouters(_ routers: [JSON]) async
    /// Whether the bridge agent should fetch security groups for `syncFirewall`.
    var filtersPorts: Bool { get }
    /// The bridge agent: filters the machine's ports as `info` (from
    /// `security_group_info_for_host`) says.
    func syncFirewall(_ info: JSON) async
}

/// Changes nothing: ports are "up" at once (simulated hosts, tests, machines without root).
struct NoopDataplane: Dataplane {
    var wiresRouters: Bool { false }
    var filtersPorts: Bool { false }
    func waitForDevice(port: String) async -> Bool { true }
    func syncRouters(_ routers: [JSON]) async {}
    func syncFirewall(_ info: JSON) async {}
}

/// Neutron's Linux bridge and legacy L3 agents: a bridge per network (`brq<network>`), which
/// the QEMU driver plugs guests' taps into; a namespace per router (`qrouter-<id>`) with a
/// veth leg on each of its networks (`qr-`/`qg-<port>`), a default route through the
/// external subnet's gateway, SNAT for its subnets and DNAT/SNAT for floating IPs. This
/// machine is the external network's gateway, as DevStack's br-ex is. Security groups are
/// iptables rules on the bridged traffic of guests' taps (`PortFirewall`).
struct LinuxDataplane: Dataplane {
    let routers: RouterNamespaces
    let filters: PortFilters

    init(logger: Logger) {
        routers = RouterNamespaces(logger: logger)
        filters = PortFilters(logger: logger)
    }

    static func available() -> Bool {
        #if canImport(Glibc)
            guard geteuid() == 0 else { return false }
        #endif
        return ["ip", "iptables-restore", "qemu-system-x86_64"].allSatisfy(HostCommand.exists)
    }

    var wiresRouters: Bool { true }

    func waitForDevice(port: String) async -> Bool {
        let device = LinuxNames.tap(port: port)
        for _ in 0..<600 {
            if LinuxNames.deviceExists(device) { return true }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return false
    }

    func syncRouters(_ routers: [JSON]) async { await self.routers.sync(routers) }

    var filtersPorts: Bool { true }

    func syncFirewall(_ info: JSON) async { await filters.sync(info) }
}

/// The routers wired on this machine, re-wired only when what the server says changes.
actor RouterNamespaces {
    let logger: Logger
    private var applied: [String: JSON] = [:]
    private var cleaned = false

    init(logger: Logger) { self.logger = logger }

    private var queue = SyncQueue<[JSON]>()

    func sync(_ routers: [JSON]) async {
        var next = queue.enter(routers)
        while let routers = next {
            await converge(routers)
            next = queue.next()
        }
    }

    private func converge(_ routers: [JSON]) async {
        var wanted: [String: JSON] = [:]
        for router in routers where router["admin_state_up"]?.boolValue != false {
            if let id = router["id"]?.stringValue { wanted[id] = router }
        }
        if !cleaned {
            // namespaces left by an earlier run for routers that are gone
            let listed = await logger.bestEffort("listing network namespaces") {
                try await HostCommand.run(["ip", "netns", "list"])
            }
            let names = (listed ?? "").split(separator: "\n").compactMap { $0.split(separator: " ").first }
            for name in names where name.hasPrefix("qrouter-") && wanted[String(name.dropFirst(8))] == nil {
                await remove(String(name.dropFirst(8)))
            }
            cleaned = true
        }
        for id in applied.keys where wanted[id] == nil {
            await remove(id)
            applied[id] = nil
        }
        for (id, router) in wanted where applied[id] != router {
            do {
                try await apply(router)
                applied[id] = router
            } catch {
                logger.warning("router \(id): \(error)")
            }
        }
    }

    private func apply(_ router: JSON) async throws {
        let id = router["id"]?.stringValue ?? ""
        let ns = "qrouter-" + id
        if !FileManager.default.fileExists(atPath: "/run/netns/\(ns)") {
            try await HostCommand.run(["ip", "netns", "add", ns])
        }
        try await HostCommand.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        try await HostCommand.run(["ip", "-n", ns, "link", "set", "lo", "up"])

        var legs: [String: [String]] = [:]  // device in the namespace -> addresses
        var snatSources: [String] = []
        for interface in router["interfaces"]?.arrayValue ?? [] {
            let device = try await leg(ns, prefix: "qr-", interface)
            legs[device] = Self.addresses(interface)
            snatSources += (interface["addresses"]?.arrayValue ?? []).compactMap { $0["cidr"]?.stringValue }
        }
        let gateway = router["gateway"]?.nonNull
        let floating = (router["floating_ips"]?.arrayValue ?? []).compactMap { ip -> (outer: String, inner: String)? in
            guard let outer = ip["floating"]?.stringValue, let inner = ip["fixed"]?.stringValue else { return nil }
            return (outer, inner)
        }
        var gatewayDevice: String?
        if let gateway {
            let device = try await leg(ns, prefix: "qg-", gateway)
            legs[device] = Self.addresses(gateway) + floating.map { $0.outer + "/32" }
            gatewayDevice = device
        }
        try await pruneLegs(ns, keeping: legs)

        var nat: [String] = []
        if let gateway, let device = gatewayDevice {
            let primary = gateway["addresses"]?.arrayValue?.first
            if let next = primary?["gateway"]?.stringValue, let cidr = primary?["cidr"]?.stringValue {
                // this machine is the external network's gateway
                let prefix = cidr.split(separator: "/").last.map(String.init) ?? "24"
                let bridge = LinuxNames.bridge(network: gateway["network"]?.stringValue ?? "")
                try await HostCommand.run(["ip", "addr", "replace", "\(next)/\(prefix)", "dev", bridge])
                try await HostCommand.run(["ip", "-n", ns, "route", "replace", "default", "via", next, "dev", device])
            }
            for ip in floating {
                nat.append("-A PREROUTING -d \(ip.outer)/32 -j DNAT --to-destination \(ip.inner)")
                nat.append("-A OUTPUT -d \(ip.outer)/32 -j DNAT --to-destination \(ip.inner)")
                nat.append("-A POSTROUTING -s \(ip.inner)/32 -o \(device) -j SNAT --to-source \(ip.outer)")
            }
            if router["enable_snat"]?.boolValue != false, let address = primary?["ip"]?.stringValue {
                for source in snatSources {
                    nat.append("-A POSTROUTING -s \(source) -o \(device) -j SNAT --to-source \(address)")
                }
            }
        }
        let rules = (["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]"] + nat + ["COMMIT", ""])
            .joined(separator: "\n")
        try await HostCommand.run(["ip", "netns", "exec", ns, "iptables-restore"], input: Data(rules.utf8))
    }

    static func addresses(_ leg: JSON) -> [String] {
        (leg["addresses"]?.arrayValue ?? []).compactMap { address in
            guard let ip = address["ip"]?.stringValue, let prefix = address["cidr"]?.stringValue?.split(separator: "/").last else { return nil }
            return "\(ip)/\(prefix)"
        }
    }

    /// A veth pair: `tap<port>` on the network's bridge, `<prefix><port>` in the namespace.
    private func leg(_ ns: String, prefix: String, _ leg: JSON) async throws -> String {
        let port = leg["port"]?.stringValue ?? ""
        let outer = LinuxNames.tap(port: port)
        let inner = prefix + port.prefix(11)
        let bridge = LinuxNames.bridge(network: leg["network"]?.stringValue ?? "")
        try await LinuxNames.ensureBridge(bridge)
        if !LinuxNames.deviceExists(outer) {
            try await HostCommand.run(["ip", "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns])
        }
        try await HostCommand.run(["ip", "link", "set", outer, "master", bridge, "up"])
        try await HostCommand.run(["ip", "-n", ns, "link", "set", inner, "up"])
        return inner
    }

    /// Removes legs and addresses the router no longer has, and adds the missing addresses.
    private func pruneLegs(_ ns: String, keeping legs: [String: [String]]) async throws {
        for name in await Self.legNames(ns) where legs[name] == nil {
            try await HostCommand.run(["ip", "-n", ns, "link", "del", name])
        }
        for (device, wanted) in legs {
            let shown = try await HostCommand.run(["ip", "-n", ns, "-o", "-4", "addr", "show", "dev", device])
            let present = Set(shown.split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                guard let index = fields.firstIndex(of: "inet"), index + 1 < fields.count else { return nil }
                return String(fields[index + 1])
            })
            for address in present where !wanted.contains(address) {
                try await HostCommand.run(["ip", "-n", ns, "addr", "del", address, "dev", device])
            }
            for address in wanted where !present.contains(address) {
                try await HostCommand.run(["ip", "-n", ns, "addr", "add", address, "dev", device])
            }
        }
    }

    private func remove(_ id: String) async {
        let ns = "qrouter-" + id
        for name in await Self.legNames(ns) {
            await logger.bestEffort("removing \(name) of \(ns)") {
                try await HostCommand.run(["ip", "-n", ns, "link", "del", name])
            }
        }
        await logger.bestEffort("removing namespace \(ns)") { try await HostCommand.run(["ip", "netns", "del", ns]) }
    }

    /// The `qr-`/`qg-` devices in a router's namespace.
    static func legNames(_ ns: String) async -> [String] {
        let links = (try? await HostCommand.run(["ip", "-n", ns, "-o", "link", "show"])) ?? ""
        return links.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ":")
            guard parts.count > 1 else { return nil }
            let name = String(parts[1].trimmingCharacters(in: .whitespaces).split(separator: "@")[0])
            return name.hasPrefix("qr-") || name.hasPrefix("qg-") ? name : nil
        }
    }
}
