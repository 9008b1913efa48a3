import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import StratusCore
import StratusTestSupport
import XCTest

@testable import Placement

final class PlacementTests: XCTestCase {
    static let latest: HTTPFields = [.openStackAPIVersion: "placement 1.39"]

    func withPlacement(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-placement-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let postgres = try await PostgresTestDatabase.make()
        var values: [String: String] = [:]
        if let postgres { values["connection"] = postgres.url }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let service = try await PlacementService.open(config: Config(values: ["placement": values]), dataDir: dir, validator: StaticTokens(), logger: logger)
        do {
            try await Application(router: service.makeRouter()).test(.router) { client in try await body(client) }
        } catch {
            await service.close()
            throw error
        }
        await service.close()
        try? FileManager.default.removeItem(atPath: dir)
        try await postgres?.drop()
    }

    /// Creates a provider with `vcpus` VCPU (ratio 1) and returns its uuid.
    static func provider(_ client: any TestClientProtocol, name: String, vcpus: Int, traits: [String] = []) async throws -> String {
        let uuid = UUID().uuidString.lowercased()
        let created = try await client.request(.post, "/resource_providers", body: ["uuid": .string(uuid), "name": .string(name)], headers: latest)
        XCTAssertEqual(created.status, .ok, created.text)
        let inventory = try await client.request(.put, "/resource_providers/\(uuid)/inventories", body: [
            "resource_provider_generation": 0,
            "inventories": ["VCPU": ["total": .int(vcpus), "allocation_ratio": 1.0], "MEMORY_MB": ["total": 4096]],
        ], headers: latest)
        XCTAssertEqual(inventory.status, .ok, inventory.text)
        if !traits.isEmpty {
            let reply = try await client.request(.put, "/resource_providers/\(uuid)/traits", body: ["resource_provider_generation": 1, "traits": JSON(traits)], headers: latest)
            XCTAssertEqual(reply.status, .ok, reply.text)
        }
        return uuid
    }

    /// 50 claims at once on room for 10: exactly 10 win, the rest get 409, usage is 10.
    func testConcurrentClaimsNeverOversubscribe() async throws {
        try await withPlacement { client in
            let rp = try await Self.provider(client, name: "host1", vcpus: 10)
            let replies = try await withThrowingTaskGroup(of: TestReply.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await client.request(.put, "/allocations/\(UUID().uuidString.lowercased())", body: [
                            "allocations": [.init(rp): ["resources": ["VCPU": 1]]], "project_id": "p", "user_id": "u", "consumer_generation": .null,
                        ], headers: Self.latest)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            XCTAssertEqual(replies.filter { $0.status == .noContent }.count, 10, replies.map(\.text).joined(separator: "\n"))
            XCTAssertTrue(replies.allSatisfy { $0.status == .noContent || $0.status == .conflict })
            let usages = try await client.request(.get, "/resource_providers/\(rp)/usages", headers: Self.latest)
            XCTAssertEqual(usages.json["usages"]?["VCPU"]?.intValue, 10)
            let project = try await client.request(.get, "/usages?project_id=p", headers: Self.latest)
            XCTAssertEqual(project.json["usages"]?["VCPU"]?.intValue, 10)
        }
    }

    func testAllocationCandidatesHonourTraitsAndCapacity() async throws {
        try await withPlacement { client in
            let ssd = try await Self.provider(client, name: "ssd", vcpus: 4, traits: ["STORAGE_DISK_SSD"])
            let hdd = try await Self.provider(client, name: "hdd", vcpus: 4, traits: ["STORAGE_DISK_HDD"])
            let small = try await Self.provider(client, name: "small", vcpus: 1)
            let any = try await client.request(.get, "/allocation_candidates?resources=VCPU:2", headers: Self.latest)
            XCTAssertEqual(any.status, .ok, any.text)
            let found = Set((any.json["allocation_requests"]?.arrayValue ?? []).compactMap { $0["allocations"]?.objectValue?.keys.first })
            XCTAssertEqual(found, [ssd, hdd], "the 1-VCPU provider cannot take 2")
            XCTAssertFalse(found.contains(small))
            let required = try await client.request(.get, "/allocation_candidates?resources=VCPU:1&required=STORAGE_DISK_SSD", headers: Self.latest)
            XCTAssertEqual(required.json["allocation_requests"]?.arrayValue?.count, 1)
            XCTAssertNotNil(required.json["allocation_requests"]?.arrayValue?.first?["allocations"]?[ssd])
            let forbidden = try await client.request(.get, "/allocation_candidates?resources=VCPU:1&required=!STORAGE_DISK_SSD", headers: Self.latest)
            let names = Set((forbidden.json["allocation_requests"]?.arrayValue ?? []).compactMap { $0["allocations"]?.objectValue?.keys.first })
            XCTAssertEqual(names, [hdd, small])
            XCTAssertEqual(forbidden.json["provider_summaries"]?[hdd]?["resources"]?["VCPU"]?["capacity"]?.intValue, 4)
        }
    }

    /// Candidates come from a cache refreshed by provider generation: each kind of change
    /// (claim, release, inventory, traits, a new or deleted provider) shows in the next answer.
    func testCandidatesFollowEveryChange() async throws {
        try await withPlacement { client in
            func candidates(_ query: String = "resources=VCPU:2") async throws -> (providers: Set<String>, summaries: JSON) {
                let reply = try await client.request(.get, "/allocation_candidates?\(query)", headers: Self.latest)
                XCTAssertEqual(reply.status, .ok, reply.text)
                let providers = (reply.json["allocation_requests"]?.arrayValue ?? []).compactMap { $0["allocations"]?.objectValue?.keys.first }
                return (Set(providers), reply.json["provider_summaries"] ?? [:])
            }
            let a = try await Self.provider(client, name: "a", vcpus: 2)
            let b = try await Self.provider(client, name: "b", vcpus: 4)
            var seen = try await candidates()
            XCTAssertEqual(seen.providers, [a, b])

            let consumer = UUID().uuidString.lowercased()
            let claim: JSON = ["allocations": [.init(a): ["resources": ["VCPU": 1]]], "project_id": "p", "user_id": "u", "consumer_generation": .null]
            let claimed = try await client.request(.put, "/allocations/\(consumer)", body: claim, headers: Self.latest).status
            XCTAssertEqual(claimed, .noContent)
            seen = try await candidates()
            XCTAssertEqual(seen.providers, [b], "a claim leaves a with 1 VCPU")
            XCTAssertEqual(seen.summaries[b]?["resources"]?["VCPU"]?["used"]?.intValue, 0)
            let usedOnA = try await candidates("resources=VCPU:1").summaries[a]?["resources"]?["VCPU"]?["used"]?.intValue
            XCTAssertEqual(usedOnA, 1)

            let released = try await client.request(.delete, "/allocations/\(consumer)", headers: Self.latest).status
            XCTAssertEqual(released, .noContent)
            let afterRelease = try await candidates().providers
            XCTAssertEqual(afterRelease, [a, b], "the release shows")

            let grown = try await client.request(.put, "/resource_providers/\(a)/inventories", body: [
                "resource_provider_generation": 3, "inventories": ["VCPU": ["total": 8, "allocation_ratio": 1.0]],
            ], headers: Self.latest)
            XCTAssertEqual(grown.status, .ok, grown.text)
            let afterGrowth = try await candidates("resources=VCPU:6").providers
            XCTAssertEqual(afterGrowth, [a], "the new inventory shows")

            let traits = try await client.request(.put, "/resource_providers/\(b)/traits", body: [
                "resource_provider_generation": 1, "traits": ["HW_CPU_X86_AVX2"],
            ], headers: Self.latest)
            XCTAssertEqual(traits.status, .ok, traits.text)
            let withTrait = try await candidates("resources=VCPU:1&required=HW_CPU_X86_AVX2").providers
            XCTAssertEqual(withTrait, [b], "the new trait shows")

            let c = try await Self.provider(client, name: "c", vcpus: 2)
            let withC = try await candidates().providers
            XCTAssertEqual(withC, [a, b, c], "a new provider shows")
            let deleted = try await client.request(.delete, "/resource_providers/\(b)", headers: Self.latest).status
            XCTAssertEqual(deleted, .noContent)
            seen = try await candidates()
            XCTAssertEqual(seen.providers, [a, c], "a deleted provider is gone")
            XCTAssertNil(seen.summaries[b])
        }
    }

    func testGenerationsAndErrors() async throws {
        try await withPlacement { client in
            let rp = try await Self.provider(client, name: "gen", vcpus: 2)
            let stale = try await client.request(.put, "/resource_providers/\(rp)/inventories", body: [
                "resource_provider_generation": 0, "inventories": ["VCPU": ["total": 8]],
            ], headers: Self.latest)
            XCTAssertEqual(stale.status, .conflict)
            XCTAssertEqual(stale.json["errors"]?.arrayValue?.first?["code"]?.stringValue, "placement.concurrent_update")
            let consumer = UUID().uuidString.lowercased()
            let claim: JSON = ["allocations": [.init(rp): ["resources": ["VCPU": 2]]], "project_id": "p", "user_id": "u", "consumer_generation": .null]
            let r1 = try await client.request(.put, "/allocations/\(consumer)", body: claim, headers: Self.latest)

            XCTAssertEqual(r1.status, .noContent)
            let again = try await client.request(.put, "/allocations/\(consumer)", body: claim, headers: Self.latest)
            XCTAssertEqual(again.status, .conflict, "a null consumer generation for an existing consumer")
            let shrink = try await client.request(.delete, "/resource_providers/\(rp)/inventories/VCPU", headers: Self.latest)
            XCTAssertEqual(shrink.json["errors"]?.arrayValue?.first?["code"]?.stringValue, "placement.inventory.inuse")
            let busy = try await client.request(.delete, "/resource_providers/\(rp)", headers: Self.latest)
            XCTAssertEqual(busy.status, .conflict)
            let r2 = try await client.request(.delete, "/allocations/\(consumer)", headers: Self.latest)

            XCTAssertEqual(r2.status, .noContent)
            let r3 = try await client.request(.delete, "/resource_providers/\(rp)", headers: Self.latest)

            XCTAssertEqual(r3.status, .noContent)

            let tooNew = try await client.request(.get, "/resource_providers", headers: [.openStackAPIVersion: "placement 1.99"])
            XCTAssertEqual(tooNew.status, .notAcceptable)
            let garbage = try await client.request(.get, "/resource_providers", headers: [.openStackAPIVersion: "placement one"])
            XCTAssertEqual(garbage.status, .badRequest)
            let member = try await client.request(.get, "/resource_providers", token: "alice")
            XCTAssertEqual(member.status, .forbidden, "placement is for admins and services")
        }
    }

    /// The reshaper moves a class into a child provider together with its allocations, in one
    /// step; a reshape that would leave an allocation without inventory changes nothing.
    func testReshaperMovesInventoryAndAllocationsTogether() async throws {
        try await withPlacement { client in
            let root = try await Self.provider(client, name: "root", vcpus: 8)
            let child = UUID().uuidString.lowercased()
            let created = try await client.request(.post, "/resource_providers", body: [
                "uuid": .string(child), "name": "root_numa0", "parent_provider_uuid": .string(root),
            ], headers: Self.latest)
            XCTAssertEqual(created.status, .ok, created.text)
            let consumer = UUID().uuidString.lowercased()
            let claimed = try await client.request(.put, "/allocations/\(consumer)", body: [
                "allocations": [.init(root): ["resources": ["VCPU": 2, "MEMORY_MB": 512]]], "project_id": "p", "user_id": "u", "consumer_generation": .null,
            ], headers: Self.latest)
            XCTAssertEqual(claimed.status, .noContent, claimed.text)
            let rootGeneration = try await client.request(.get, "/resource_providers/\(root)", headers: Self.latest).json["generation"]?.intValue ?? -1

            // Moving VCPU without moving the allocation is refused, and nothing changes.
            let unmoved = try await client.request(.post, "/reshaper", body: [
                "inventories": [
                    .init(root): ["resource_provider_generation": .int(rootGeneration), "inventories": ["MEMORY_MB": ["total": 4096]]],
                    .init(child): ["resource_provider_generation": 0, "inventories": ["VCPU": ["total": 8]]],
                ],
                "allocations": [:],
            ], headers: Self.latest)
            XCTAssertEqual(unmoved.status, .conflict, unmoved.text)
            let still = try await client.request(.get, "/resource_providers/\(root)/inventories", headers: Self.latest)
            XCTAssertEqual(still.json["inventories"]?["VCPU"]?["total"]?.intValue, 8)

            let old = try await client.request(.post, "/reshaper", body: ["inventories": [:], "allocations": [:]], headers: [.openStackAPIVersion: "placement 1.29"])
            XCTAssertEqual(old.status, .notFound)

            let reshaped = try await client.request(.post, "/reshaper", body: [
                "inventories": [
                    .init(root): ["resource_provider_generation": .int(rootGeneration), "inventories": ["MEMORY_MB": ["total": 4096]]],
                    .init(child): ["resource_provider_generation": 0, "inventories": ["VCPU": ["total": 8]]],
                ],
                "allocations": [
                    .init(consumer): [
                        "allocations": [.init(root): ["resources": ["MEMORY_MB": 512]], .init(child): ["resources": ["VCPU": 2]]],
                        "project_id": "p", "user_id": "u", "consumer_generation": 0,
                    ]
                ],
            ], headers: Self.latest)
            XCTAssertEqual(reshaped.status, .noContent, reshaped.text)
            let usages = try await client.request(.get, "/resource_providers/\(child)/usages", headers: Self.latest)
            XCTAssertEqual(usages.json["usages"]?["VCPU"]?.intValue, 2)
            let allocations = try await client.request(.get, "/allocations/\(consumer)", headers: Self.latest)
            XCTAssertEqual(allocations.json["allocations"]?[child]?["resources"]?["VCPU"]?.intValue, 2)
            XCTAssertEqual(allocations.json["allocations"]?[root]?["resources"]?["VCPU"], nil)
            XCTAssertEqual(allocations.json["consumer_generation"]?.intValue, 1)
        }
    }
}
