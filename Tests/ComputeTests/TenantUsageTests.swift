import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StratusCore
import StratusTestSupport
import XCTest

@testable import Compute

extension ComputeAPITests {
    /// Usage pages by instance from 2.40, as novaclient (and so Horizon's overview) walks it: the
    /// marker is the last instance of the previous page, and the page after the last is empty.
    func testTenantUsagePagesByInstance() async throws {
        try await withCompute { client in
            for (token, count) in [("alice", 3), ("bob", 2)] {
                let created = try await client.request(.post, "/v2.1/servers", token: token, body: [
                    "server": [
                        "name": "metered", "flavorRef": "1", "networks": "none", "min_count": .int(count),
                        "block_device_mapping_v2": [[
                            "boot_index": 0, "uuid": .string(UUID().uuidString.lowercased()),
                            "source_type": "volume", "destination_type": "volume",
                        ]],
                    ],
                ], headers: Self.latest)
                XCTAssertEqual(created.status, .accepted, created.text)
            }
            let v240: HTTPFields = [.openStackAPIVersion: "compute 2.40"]

            // The all-projects list, two instances a page, walked as novaclient walks it.
            var seen: [String] = []
            var marker: String?
            var pages = 0
            while pages < 10 {
                pages += 1
                let query = "detailed=1&limit=2" + (marker.map { "&marker=\($0)" } ?? "")
                let page = try await client.request(.get, "/v2.1/os-simple-tenant-usage?\(query)", headers: v240)
                XCTAssertEqual(page.status, .ok, page.text)
                let ids = page.json["tenant_usages"]?.arrayValue?.flatMap {
                    $0["server_usages"]?.arrayValue?.compactMap { $0["instance_id"]?.stringValue } ?? []
                } ?? []
                guard let last = ids.last else { break }
                XCTAssertLessThanOrEqual(ids.count, 2)
                XCTAssertEqual(page.json["tenant_usages_links"] != nil, ids.count == 2, page.text)
                seen += ids
                marker = last
            }
            XCTAssertEqual(pages, 4, "three pages of 2, 2 and 1 instances, then an empty one")
            XCTAssertEqual(seen.count, 5)
            XCTAssertEqual(Set(seen).count, 5, "no instance on two pages")

            // One project's usage pages the same way.
            let usage = "/v2.1/os-simple-tenant-usage/p-alice?limit=2"
            let first = try await client.request(.get, usage, token: "alice", headers: v240)
            let firstIDs = first.json["tenant_usage"]?["server_usages"]?.arrayValue?
                .compactMap { $0["instance_id"]?.stringValue }
            XCTAssertEqual(firstIDs?.count, 2, first.text)
            let links = first.json["tenant_usage_links"]?.arrayValue
            guard let next = links?.first?["href"]?.stringValue, let last = firstIDs?.last else {
                return XCTFail("no next link: \(first.text)")
            }
            XCTAssertTrue(next.contains("/os-simple-tenant-usage/p-alice?") && next.contains("marker=\(last)"), next)
            let second = try await client.request(.get, usage + "&marker=\(last)", token: "alice", headers: v240)
            XCTAssertEqual(second.json["tenant_usage"]?["server_usages"]?.arrayValue?.count, 1, second.text)
            XCTAssertNil(second.json["tenant_usage_links"])
            let lastOfAll = second.json["tenant_usage"]?["server_usages"]?.arrayValue?.first?["instance_id"]
            let third = try await client.request(
                .get, usage + "&marker=\(lastOfAll?.stringValue ?? "")", token: "alice", headers: v240)
            XCTAssertEqual(third.json["tenant_usage"], [:], "past the last page: Nova's empty usage")

            let unknown = try await client.request(.get, "/v2.1/os-simple-tenant-usage?marker=nonesuch", headers: v240)
            XCTAssertEqual(unknown.status, .badRequest, unknown.text)
            let backwards = try await client.request(
                .get, "/v2.1/os-simple-tenant-usage?start=2030-01-01T00:00:00&end=2029-01-01T00:00:00", headers: v240)
            XCTAssertEqual(backwards.status, .badRequest, backwards.text)
            let strict = try await client.request(.get, "/v2.1/os-simple-tenant-usage?color=blue", headers: Self.latest)
            XCTAssertEqual(strict.status, .badRequest, "2.75 refuses unknown parameters: \(strict.text)")
        }
    }
}
