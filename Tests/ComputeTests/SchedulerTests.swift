import StratusCore
import XCTest

@testable import Compute

/// The scheduler's pure parts: each filter, the extra-spec operators, the JSON filter's query
/// language and the weighers' ranking.
final class SchedulerTests: XCTestCase {
    static func host(_ name: String, freeRAM: Int = 4096, zone: String = "nova") -> HostState {
        HostState(
            host: name, node: name, providerUUID: "rp-\(name)", allocation: [:],
            capacity: ["VCPU": 8, "MEMORY_MB": 8192, "DISK_GB": 100],
            used: ["VCPU": 2, "MEMORY_MB": 8192 - freeRAM, "DISK_GB": 10],
            traits: [], serviceUp: true, serviceDisabled: false, zone: zone, nodeDoc: ["hypervisor_type": "QEMU"],
            numInstances: 2, ioOps: 0, recentFailures: 0)
    }

    static func spec(
        extraSpecs: [String: String] = [:], image: [String: String] = [:], hints: JSON = [:], zone: String? = nil
    ) -> RequestSpec {
        RequestSpec(
            uuid: "server", projectID: "p-alice", zone: zone, forcedHost: nil, flavorExtraSpecs: extraSpecs,
            imageProperties: image, hints: hints, excludedHosts: [])
    }

    static let noContext = HostFilters.FilterContext(hostsOfInstances: [:], group: nil, groupHosts: [:])

    /// Whether the named filter lets `host` take `spec`.
    func passes(
        _ filter: String, _ host: HostState, _ spec: RequestSpec, _ context: HostFilters.FilterContext = noContext
    ) throws -> Bool {
        let found = try XCTUnwrap(HostFilters.all.first { $0.0 == filter }, "no filter \(filter)")
        return found.1(host, spec, context)
    }

    func testEveryFilterKeepsOnlyWhatFits() throws {
        var host = Self.host("h1", zone: "az1")
        XCTAssertTrue(try passes("AvailabilityZoneFilter", host, Self.spec(zone: "az1")))
        XCTAssertFalse(try passes("AvailabilityZoneFilter", host, Self.spec(zone: "az2")))
        XCTAssertTrue(try passes("AvailabilityZoneFilter", host, Self.spec()), "no zone asked: any")

        var retry = Self.spec()
        retry.excludedHosts = ["h1"]
        XCTAssertFalse(try passes("RetryFilter", host, retry), "a host that failed this build is not tried again")
        var forced = Self.spec()
        forced.forcedHost = "h2"
        XCTAssertFalse(try passes("ForcedHost", host, forced))

        host.serviceDisabled = true
        XCTAssertFalse(try passes("ComputeFilter", host, Self.spec()))
        host.serviceDisabled = false
        host.serviceUp = false
        XCTAssertFalse(try passes("ComputeFilter", host, Self.spec()))
        host.serviceUp = true
        XCTAssertTrue(try passes("ComputeFilter", host, Self.spec()))

        let capabilities = "ComputeCapabilitiesFilter", hypervisor = "capabilities:hypervisor_type"
        XCTAssertTrue(try passes(capabilities, host, Self.spec(extraSpecs: [hypervisor: "s== QEMU"])))
        XCTAssertFalse(try passes(capabilities, host, Self.spec(extraSpecs: [hypervisor: "s== Xen"])))
        let otherScope = Self.spec(extraSpecs: ["hw:cpu_policy": "dedicated"])
        XCTAssertTrue(try passes(capabilities, host, otherScope), "other scopes")

        let image = "ImagePropertiesFilter"
        XCTAssertFalse(try passes(image, host, Self.spec(image: ["hw_architecture": "aarch64"])))
        XCTAssertTrue(try passes(image, host, Self.spec(image: ["hw_architecture": "x86_64", "img_hv_type": "qemu"])))
        XCTAssertFalse(try passes(image, host, Self.spec(image: ["img_hv_type": "xen"])))

        host.aggregateMetadata = ["ssd": ["true"], "filter_tenant_id": ["p-bob, p-carol"]]
        let ssd = "aggregate_instance_extra_specs:ssd", specs = "AggregateInstanceExtraSpecsFilter"
        XCTAssertTrue(try passes(specs, host, Self.spec(extraSpecs: [ssd: "true"])))
        XCTAssertFalse(try passes(specs, host, Self.spec(extraSpecs: [ssd: "false"])))
        XCTAssertFalse(try passes(specs, Self.host("plain"), Self.spec(extraSpecs: [ssd: "true"])))
        let isolation = "AggregateMultiTenancyIsolation"
        XCTAssertFalse(try passes(isolation, host, Self.spec()), "the aggregate is for other projects")
        host.aggregateMetadata["filter_tenant_id"] = ["p-bob,p-alice"]
        XCTAssertTrue(try passes(isolation, host, Self.spec()))
        XCTAssertTrue(try passes(isolation, Self.host("open"), Self.spec()), "no isolation: anyone")
    }

    func testHintAndGroupFilters() throws {
        let context = HostFilters.FilterContext(hostsOfInstances: ["a": "h1", "b": "h2"], group: nil, groupHosts: [:])
        let apart = Self.spec(hints: ["different_host": ["a", "b"]])
        XCTAssertTrue(try passes("SameHostFilter", Self.host("h1"), Self.spec(hints: ["same_host": "a"]), context))
        let both = Self.spec(hints: ["same_host": ["a", "b"]])
        XCTAssertFalse(try passes("SameHostFilter", Self.host("h1"), both, context))
        XCTAssertFalse(try passes("DifferentHostFilter", Self.host("h2"), apart, context))
        XCTAssertTrue(try passes("DifferentHostFilter", Self.host("h3"), apart, context))

        var anti = ServerGroup(uuid: "g", name: "g", policy: "anti-affinity", rules: [:], projectID: "p", userID: "u")
        let antiFilter = "ServerGroupAntiAffinityFilter"
        let taken = HostFilters.FilterContext(hostsOfInstances: [:], group: anti, groupHosts: ["h1": 1])
        XCTAssertFalse(try passes(antiFilter, Self.host("h1"), Self.spec(), taken))
        XCTAssertTrue(try passes(antiFilter, Self.host("h2"), Self.spec(), taken))
        anti.rules = ["max_server_per_host": 2]
        let roomy = HostFilters.FilterContext(hostsOfInstances: [:], group: anti, groupHosts: ["h1": 1])
        XCTAssertTrue(try passes(antiFilter, Self.host("h1"), Self.spec(), roomy), "room for a second member")

        let affinity = ServerGroup(uuid: "g", name: "g", policy: "affinity", rules: [:], projectID: "p", userID: "u")
        let first = HostFilters.FilterContext(hostsOfInstances: [:], group: affinity, groupHosts: [:])
        XCTAssertTrue(try passes("ServerGroupAffinityFilter", Self.host("h2"), Self.spec(), first), "first: anywhere")
        let placed = HostFilters.FilterContext(hostsOfInstances: [:], group: affinity, groupHosts: ["h1": 1])
        XCTAssertTrue(try passes("ServerGroupAffinityFilter", Self.host("h1"), Self.spec(), placed))
        XCTAssertFalse(try passes("ServerGroupAffinityFilter", Self.host("h2"), Self.spec(), placed))
    }

    func testExtraSpecOperators() {
        let cases: [(actual: String, wanted: String, matches: Bool)] = [
            ("4", "= 2", true), ("1", "= 2", false),          // `=` means at least, as in Nova
            ("4", ">= 4", true), ("4", "<= 3", false),
            ("4", "== 4.0", true), ("4", "!= 4", false),
            ("QEMU", "s== QEMU", true), ("QEMU", "s!= QEMU", false),
            ("x86_64", "<in> 86", true), ("x86_64", "<in> arm", false),
            ("b", "<or> a <or> b", true), ("c", "<or> a <or> b", false),
            ("plain", "plain", true), ("plain", "other", false),
            ("true", "True", false),
        ]
        for item in cases {
            let matched = ExtraSpecMatch.matches(item.actual, item.wanted)
            XCTAssertEqual(matched, item.matches, "'\(item.actual)' against '\(item.wanted)'")
        }
    }

    func testJSONFilterQueries() throws {
        let host = Self.host("h1", freeRAM: 2048)
        func evaluate(_ text: String) throws -> Bool? { JSONQuery.evaluate(try JSON.parse(text), host) }
        XCTAssertEqual(try evaluate(#"[">=", "$free_ram_mb", 1024]"#), true)
        XCTAssertEqual(try evaluate(#"["<", "$free_ram_mb", 1024]"#), false)
        XCTAssertEqual(try evaluate(#"["and", [">=", "$free_ram_mb", 1024], ["=", "$vcpus_total", 8]]"#), true)
        XCTAssertEqual(try evaluate(#"["and", [">=", "$free_ram_mb", 1024], ["=", "$vcpus_total", 4]]"#), false)
        XCTAssertEqual(try evaluate(#"["or", ["<", "$free_ram_mb", 1024], ["in", "$num_instances", 1, 2, 3]]"#), true)
        XCTAssertEqual(try evaluate(#"["not", ["=", "$vcpus_used", 2]]"#), false)
        XCTAssertEqual(try evaluate(#"[">", "$free_disk_mb", "1000"]"#), true, "90 GB free, numbers given as text")
        XCTAssertNil(try evaluate(#"["~", "$free_ram_mb", 1]"#), "an unknown operator")
        XCTAssertNil(try evaluate(#"["<", "$nonesuch", 1]"#), "an unknown variable")
        XCTAssertNil(try evaluate(#"{"op": "<"}"#))
    }

    func testWeighersSpreadAndAvoidFailingHosts() {
        let roomy = Self.host("roomy", freeRAM: 6000)
        let tight = Self.host("tight", freeRAM: 1000)
        XCTAssertEqual(HostWeighers.rank([tight, roomy]).map(\.host), ["roomy", "tight"], "RAM spreads")
        var failing = roomy
        failing.host = "failing"
        failing.recentFailures = 1
        XCTAssertEqual(HostWeighers.rank([failing, tight]).map(\.host), ["tight", "failing"], "failures outweigh RAM")
        var busy = Self.host("busy")
        busy.ioOps = 3
        XCTAssertEqual(HostWeighers.rank([busy, Self.host("idle")]).map(\.host), ["idle", "busy"], "fewer builds first")
        var grouped = tight
        grouped.host = "grouped"
        grouped.groupAffinity = 1
        XCTAssertEqual(HostWeighers.rank([roomy, grouped]).map(\.host), ["grouped", "roomy"], "soft affinity wins")
        XCTAssertEqual(HostWeighers.rank([tight]).map(\.host), ["tight"])
    }
}
