import Foundation
import Logging
import StratusCore

/// Security groups as Neutron's iptables firewall enforces them for the Linux bridge agent:
/// bridged traffic to or from a guest's tap device passes one chain per direction and port,
/// which returns for what the port's rules allow (and for replies to allowed traffic) and
/// drops the rest; a guest may only send from its own addresses and MAC (or its allowed
/// address pairs). IPv4 only. Ports without port security are not filtered.
enum PortFirewall {
    static let chain = "stratus-sg-chain"
    static let prefix = "stratus-"

    /// The `iptables-restore --noflush` input for the filter table from
    /// `security_group_info_for_host`, and the names of the chains it fills. Chains in
    /// `removing` are flushed by being declared, and deleted once nothing jumps to them.
    static func rules(_ info: JSON, removing stale: [String] = []) -> (text: String, chains: [String]) {
        var chains = [chain]
        var lines: [String] = []
        var jumps: [String] = []
        let rules = info["rules"]?.arrayValue ?? []
        let members = info["members"]?.objectValue ?? [:]
        for port in (info["ports"]?.arrayValue ?? []).sorted(by: { ($0["id"]?.stringValue ?? "") < ($1["id"]?.stringValue ?? "") }) {
            guard let id = port["id"]?.stringValue else { continue }
            let tap = LinuxNames.tap(port: id)
            let (ingress, egress, spoof) = ("\(prefix)i\(id.prefix(10))", "\(prefix)o\(id.prefix(10))", "\(prefix)s\(id.prefix(10))")
            chains += [ingress, egress, spoof]
            jumps.append("-A \(chain) -m physdev --physdev-out \(tap) --physdev-is-bridged -j \(ingress)")
            jumps.append("-A \(chain) -m physdev --physdev-in \(tap) --physdev-is-bridged -j \(egress)")
            let groups = Set(port["security_groups"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            let own = rules.filter { groups.contains($0["security_group_id"]?.stringValue ?? "") }

            lines.append("-A \(ingress) -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN")
            lines.append("-A \(ingress) -p udp --sport 67 --dport 68 -j RETURN")
            lines += allowed(ingress, own, direction: "ingress", members: members)

            let mac = port["mac"]?.stringValue ?? ""
            for ip in port["ips"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                lines.append("-A \(spoof) -s \(ip)/32 -m mac --mac-source \(mac) -j RETURN")
            }
            for pair in port["allowed_address_pairs"]?.arrayValue ?? [] {
                guard let ip = pair["ip_address"]?.stringValue, !ip.contains(":") else { continue }
                lines.append("-A \(spoof) -s \(ip) -m mac --mac-source \(pair["mac_address"]?.stringValue ?? mac) -j RETURN")
            }
            lines.append("-A \(spoof) -j DROP")

            lines.append("-A \(egress) -s 0.0.0.0/32 -d 255.255.255.255/32 -p udp --sport 68 --dport 67 -j RETURN")
            lines.append("-A \(egress) -j \(spoof)")
            lines.append("-A \(egress) -p udp --sport 68 --dport 67 -j RETURN")
            lines.append("-A \(egress) -p udp --sport 67 --dport 68 -j DROP")
            lines.append("-A \(egress) -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN")
            lines += allowed(egress, own, direction: "egress", members: members)
        }
        let text = (["*filter"] + (chains + stale).map { ":\($0) - [0:0]" } + jumps + ["-A \(chain) -j ACCEPT"] + lines
            + stale.map { "-X \($0)" } + ["COMMIT", ""]).joined(separator: "\n")
        return (text, chains)
    }

    /// A port chain's end: a return for what each rule of `direction` allows (the remote
    /// is the source of ingress and the destination of egress), then drop.
    static func allowed(_ chain: String, _ rules: [JSON], direction: String, members: [String: JSON]) -> [String] {
        let flag = direction == "ingress" ? "-s" : "-d"
        let returns = rules.filter { $0["direction"]?.stringValue == direction }.flatMap { rule in
            matches(rule, members: members, remoteFlag: flag).map { $0.isEmpty ? "-A \(chain) -j RETURN" : "-A \(chain) \($0) -j RETURN" }
        }
        return returns + ["-A \(chain) -m conntrack --ctstate INVALID -j DROP", "-A \(chain) -j DROP"]
    }

    /// The iptables matches of one rule: one per remote address (a remote group is its
    /// members' addresses; a group without members matches nothing).
    static func matches(_ rule: JSON, members: [String: JSON], remoteFlag: String) -> [String] {
        guard rule["ethertype"]?.stringValue ?? "IPv4" == "IPv4" else { return [] }
        var match: [String] = []
        let proto = rule["protocol"]?.stringValue.map(protocolName)
        if let proto { match += ["-p", proto] }
        let low = rule["port_range_min"]?.intValue
        let high = rule["port_range_max"]?.intValue
        switch proto {
        case "tcp", "udp", "sctp", "dccp", "udplite":
            if let low { match += ["--dport", high.map { $0 == low ? "\(low)" : "\(low):\($0)" } ?? "\(low)"] }
        case "icmp":
            if let low { match += ["--icmp-type", high.map { "\(low)/\($0)" } ?? "\(low)"] }
        default:
            break
        }
        var remotes: [String?] = [nil]
        if let prefix = rule["remote_ip_prefix"]?.stringValue {
            guard !prefix.contains(":") else { return [] }
            remotes = prefix == "0.0.0.0/0" ? [nil] : [prefix]
        } else if let group = rule["remote_group_id"]?.stringValue {
            remotes = (members[group]?.arrayValue ?? []).compactMap(\.stringValue).map { "\($0)/32" }
        }
        return remotes.map { remote in (remote.map { [remoteFlag, $0] + match } ?? match).joined(separator: " ") }
    }

    /// iptables names the common protocols; Neutron stores some as numbers.
    static func protocolName(_ value: String) -> String {
        switch value {
        case "1": return "icmp"
        case "6": return "tcp"
        case "17": return "udp"
        case "132": return "sctp"
        default: return value
        }
    }
}

/// The filter rules applied on this machine, re-applied only when they change.
actor PortFilters {
    let logger: Logger
    private var applied: String?
    private var chains: Set<String> = []
    private var queue = SyncQueue<JSON>()

    init(logger: Logger) { self.logger = logger }

    func sync(_ info: JSON) async {
        var next = queue.enter(info)
        while let info = next {
            await apply(info)
            next = queue.next()
        }
    }

    private func apply(_ info: JSON) async {
        let (rules, wanted) = PortFirewall.rules(info)
        guard rules != applied else { return }
        do {
            if applied == nil {
                // chains an earlier run left behind
                let listed = try await HostCommand.run(["iptables", "-S"])
                for line in listed.split(separator: "\n") where line.hasPrefix("-N \(PortFirewall.prefix)") { chains.insert(String(line.dropFirst(3))) }
            }
            let stale = chains.subtracting(wanted).sorted()
            let text = stale.isEmpty ? rules : PortFirewall.rules(info, removing: stale).text
            try await HostCommand.run(["iptables-restore", "--noflush"], input: Data(text.utf8))
            for direction in ["--physdev-out", "--physdev-in"] {
                let rule = ["FORWARD", "-m", "physdev", direction, "tap+", "--physdev-is-bridged", "-j", PortFirewall.chain]
                if (try? await HostCommand.run(["iptables", "-C"] + rule)) == nil { try await HostCommand.run(["iptables", "-I"] + rule) }
            }
            chains = Set(wanted)
            applied = rules
        } catch {
            logger.warning("security group rules: \(error)")
        }
    }
}
