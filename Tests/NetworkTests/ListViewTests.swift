import HTTPTypes
import HummingbirdTesting
import StratusCore
import XCTest

@testable import Networking

/// Lists write each item as they go; an item must look exactly as its own GET shows it.
final class ListViewTests: XCTestCase {
    func testListedItemsEqualShownItems() async throws {
        let cloud = try await NetworkTestCloud.make()
        try await cloud.run { client in
            let net = try await client.create("networks", "network", ["name": "listed \"net\""])
            let subnet = try await client.create(
                "subnets", "subnet", ["network_id": net["id"] ?? .null, "cidr": "10.9.0.0/24", "ip_version": 4])
            let port = try await client.create("ports", "port", ["network_id": net["id"] ?? .null])
            for (collection, member, item) in [
                ("networks", "network", net), ("subnets", "subnet", subnet), ("ports", "port", port),
            ] {
                let id = item["id"]?.stringValue ?? ""
                let list = try await client.call(.get, "/v2.0/\(collection)")
                XCTAssertEqual(list.status, .ok, list.text)
                let listed = list.json[collection]?.arrayValue?.first { $0["id"]?.stringValue == id }
                let shown = try await client.call(.get, "/v2.0/\(collection)/\(id)").json[member]
                XCTAssertEqual(listed, shown, collection)
                XCTAssertEqual(listed?["tenant_id"], listed?["project_id"])
            }

            let picked = try await client.call(.get, "/v2.0/networks?fields=id&fields=tenant_id&limit=1")
            let first = picked.json["networks"]?.arrayValue?.first
            XCTAssertEqual(first?.objectValue.map { Set($0.keys) }, ["id", "tenant_id"], picked.text)
            XCTAssertNotNil(picked.json["networks_links"]?.arrayValue, "a limited list links its pages")
            let whole = try await client.call(.get, "/v2.0/networks")
            XCTAssertNil(whole.json["networks_links"], "an unlimited list has no page links")
        }
    }
}
