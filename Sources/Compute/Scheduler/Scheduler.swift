import Foundation
import Logging
import SQLKit
import StratusCore

/// nova-scheduler: Placement's allocation candidates, then the filters and weighers,
/// then a claim in Placement on the best host (the next on a conflict). Claims go one at
/// a time per scheduler so a burst of builds does not stampede one host's generation.
actor Scheduler {
    let db: Database
    let instances: InstanceStore
    let bus: any BusTransport
    let clients: ServiceClients
    let settings: ComputeSettings
    let logger: Logger

    init(db: Database, bus: any BusTransport, clients: ServiceClients, settings: ComputeSettings, logger: Logger) {
        self.db = db
        self.instances = InstanceStore(db: db)
        self.bus = bus
        self.clients = clients
        self.settings = settings
        self.logger = logger
    }

    struct NoValidHost: Error, CustomStringConvertible {
        let description: String
    }

    nonisolated func listen() async throws {
        var rpc = RPCHandlers(topic: SchedulerRPC.topic)
        rpc.on(SchedulerRPC.selectDestinations) { request in
            do {
                return try await self.select(
                    uuid: request.instance, excluded: Set(request.excludedHosts), flavor: request.flavor, forcedHost: request.forcedHost)
            } catch let error as NoValidHost {
                throw BusError.remote(error.description)
            }
        }
        try await bus.listen(rpc, server: "scheduler")
    }

    /// Picks and claims a host for the server; `flavor` (a flavor snapshot) replaces the
    /// server's own for a resize, `forcedHost` is a migration's target.
    func select(uuid: String, excluded: Set<String>, flavor: [String: JSON]? = nil, forcedHost: String? = nil) async throws -> Destination {
        guard var instance = try await instances.get(uuid), !instance.deleted, instance.taskState != .deleting else {
            throw NoValidHost(description: "Instance \(uuid) is gone.")
        }
        if let flavor {
            instance.vcpus = flavor["vcpus"]?.intValue ?? instance.vcpus
            instance.memoryMB = flavor["ram"]?.intValue ?? instance.memoryMB
            instance.rootGB = flavor["disk"]?.intValue ?? instance.rootGB
            instance.flavor = .object(flavor)
        }
        var spec = requestSpec(instance, excluded: excluded)
        if let forcedHost { spec.forcedHost = forcedHost }
        if excluded.count >= settings.maxAttempts {
            throw NoValidHost(description: "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance \(uuid).")
        }
        let group = try await ServerGroupStore(db: db).group(of: uuid)
        guard let group else { return try await place(instance, spec, group: nil) }
        // Members of one group are placed one after another, so each sees the others' hosts.
        let (placing, request) = (instance, spec)
        return try await groupLocks.withLock(group.uuid) { try await self.place(placing, request, group: group) }
    }

    /// Filters, weighs and claims: the host for `instance`, with its alternates.
    private func place(_ instance: Instance, _ spec: RequestSpec, group: ServerGroup?) async throws -> Destination {
        let uuid = instance.uuid
        let groupHosts = try await hostsOfMembers(group, except: uuid)
        var hosts = try await candidates(instance, spec)
        if let group, group.policy.hasPrefix("soft-") {
            for index in hosts.indices {
                let members = Double(groupHosts[hosts[index].host] ?? 0)
                hosts[index].groupAffinity = group.policy == "soft-affinity" ? members : -members
            }
        }
        let context = HostFilters.FilterContext(
            hostsOfInstances: hostsOfInstances, group: group, groupHosts: groupHosts)
        let passed = hosts.filter { host in HostFilters.all.allSatisfy { $0.1(host, spec, context) } }
        guard !passed.isEmpty else { throw NoValidHost(description: "There are not enough hosts available.") }
        var ranked = HostWeighers.rank(passed)
        let subset = min(settings.hostSubsetSize, ranked.count)
        if subset > 1 { ranked.swapAt(0, Int.random(in: 0..<subset)) }
        for (index, host) in ranked.enumerated() {
            let claimed: Bool
            do {
                claimed = try await clients.placement.claim(
                    uuid, allocations: host.allocation, project: instance.projectID, user: instance.userID)
            } catch let fault as ServiceFault {
                throw NoValidHost(description: "Placement refused the claim: \(fault.message)")
            }
            if claimed {
                if group != nil { recentPlacements[uuid] = (host.host, Date()) }
                let alternates = ranked.dropFirst(index + 1).prefix(settings.maxAttempts).map(\.host)
                return Destination(host: host.host, node: host.node, zone: host.zone, alternates: Array(alternates))
            }
            logger.debug("claim of \(uuid) on \(host.host) lost to a concurrent claim")
        }
        throw NoValidHost(description: "There are not enough hosts available.")
    }

    private var hostsOfInstances: [String: String] = [:]
    private let groupLocks = KeyedLock<String>()
    /// Group members placed in the last minutes, whose host the conductor may not have written yet.
    private var recentPlacements: [String: (host: String, at: Date)] = [:]

    private func hostsOfMembers(_ group: ServerGroup?, except uuid: String) async throws -> [String: Int] {
        guard let group else { return [:] }
        recentPlacements = recentPlacements.filter { $0.value.at.timeIntervalSinceNow > -300 }
        let others = group.members.filter { $0 != uuid }
        guard !others.isEmpty else { return [:] }
        let rows = try await db.read { db in
            try await db.raw("SELECT uuid, host FROM instances WHERE host IS NOT NULL AND uuid IN " + SQLQueryString.list(others)).all()
        }
        var hostOf: [String: String] = [:]
        for member in others { if let placed = recentPlacements[member] { hostOf[member] = placed.host } }
        for row in rows {
            hostOf[try row.decode(column: "uuid", as: String.self)] = try row.decode(column: "host", as: String.self)
        }
        var counts: [String: Int] = [:]
        for host in hostOf.values { counts[host, default: 0] += 1 }
        return counts
    }

    private func requestSpec(_ instance: Instance, excluded: Set<String>) -> RequestSpec {
        let requested = instance.requestedZone
        var zone: String?
        var forcedHost: String?
        if let requested {
            let parts = requested.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            zone = parts[0].isEmpty ? nil : parts[0]
            if parts.count > 1, !parts[1].isEmpty { forcedHost = parts[1] }
        }
        let specs = (instance.flavor["extra_specs"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
        let properties = (instance.image["properties"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
        return RequestSpec(
            uuid: instance.uuid, projectID: instance.projectID, zone: zone, forcedHost: forcedHost, flavorExtraSpecs: specs,
            imageProperties: properties, hints: instance.hints, excludedHosts: excluded)
    }

    /// Placement's candidates joined with the compute nodes, services and servers.
    private func candidates(_ instance: Instance, _ spec: RequestSpec) async throws -> [HostState] {
        var resources: [String: Int] = ["VCPU": instance.vcpus, "MEMORY_MB": instance.memoryMB, "DISK_GB": instance.rootGB]
        var required: [String] = []
        for (key, value) in spec.flavorExtraSpecs {
            if key.hasPrefix("resources:"), let amount = Int(value) {
                resources[String(key.dropFirst("resources:".count))] = amount
            }
            if key.hasPrefix("trait:") {
                let trait = String(key.dropFirst("trait:".count))
                if value == "required" { required.append(trait) } else if value == "forbidden" { required.append("!" + trait) }
            }
        }
        let reply: AllocationCandidates
        do {
            reply = try await clients.placement.allocationCandidates(
                resources: resources, required: required, limit: 1000)
        } catch let fault as ServiceFault {
            throw NoValidHost(description: "Placement answered \(fault.status): \(fault.message)")
        }
        let records = ServiceRecords(db: db, settings: settings)
        let nodes = Dictionary(try await records.nodes().map { ($0.uuid, $0) }, uniquingKeysWith: { a, _ in a })
        let services = Dictionary(try await records.all().filter { $0.binary == "nova-compute" }.map { ($0.host, $0) }, uniquingKeysWith: { a, _ in a })
        // Per host counts from a covering index, and hosts only of the servers the hints
        // name: the cost of a decision does not grow with the number of servers.
        let named = HostFilters.namedServers(spec.hints)
        let (counts, located, metadata) = try await db.read { db in
            let counts = try await db.raw("""
                SELECT host, COUNT(*) AS n, SUM(CASE WHEN vm_state = 'building' THEN 1 ELSE 0 END) AS building FROM instances
                WHERE host IS NOT NULL AND deleted = \(bind: false) GROUP BY host
                """).all()
            let located = named.isEmpty
                ? []
                : try await db.raw("SELECT uuid, host FROM instances WHERE host IS NOT NULL AND uuid IN " + SQLQueryString.list(named)).all()
            return (counts, located, try await AggregateStore(db: self.db).metadataByHost(in: db))
        }
        var numInstances: [String: Int] = [:]
        var building: [String: Int] = [:]
        for row in counts {
            let host = try row.decode(column: "host", as: String.self)
            numInstances[host] = try row.decode(column: "n", as: Int.self)
            building[host] = try row.decode(column: "building", as: Int?.self) ?? 0
        }
        hostsOfInstances = [:]
        for row in located {
            hostsOfInstances[try row.decode(column: "uuid", as: String.self)] = try row.decode(
                column: "host", as: String.self)
        }
        var hosts: [HostState] = []
        for allocations in reply.requests {
            // The compute node is the root provider the request draws from.
            guard let provider = allocations.keys.first(where: { nodes[$0] != nil }), let node = nodes[provider] else { continue }
            let summary = reply.summaries[provider] ?? ProviderSummary(capacity: [:], used: [:], traits: [])
            let service = services[node.host]
            hosts.append(HostState(
                host: node.host, node: node.host, providerUUID: provider, allocation: allocations,
                capacity: summary.capacity, used: summary.used, traits: summary.traits,
                serviceUp: service?.isUp(downTime: settings.serviceDownTime) ?? false, serviceDisabled: service?.disabled ?? true,
                zone: service?.zone ?? settings.defaultAvailabilityZone, nodeDoc: node.doc, numInstances: numInstances[node.host] ?? 0,
                ioOps: building[node.host] ?? 0, recentFailures: 0, aggregateMetadata: metadata[node.host] ?? [:]))
        }
        return hosts
    }
}
