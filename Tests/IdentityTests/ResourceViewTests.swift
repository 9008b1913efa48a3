import Foundation
import StratusCore
import XCTest

@testable import Identity

/// Lists are written straight into the response and single resources rendered as objects; both
/// must show the same view, with each kind's differences from its record.
final class ResourceViewTests: XCTestCase {
    func testListedViewsEqualShownViews() async throws {
        let cloud = try await TestCloud.make()
        try await cloud.run { client in
            let admin = try await client.token()
            let tagged = try await client.create(
                "projects", "project",
                ["name": "tagged", "domain_id": "default", "tags": ["a", "b"], "colour": "blue \"quoted\""],
                token: admin)
            let child = try await client.create(
                "projects", "project", ["name": "child", "parent_id": .string(tagged)], token: admin)
            let domain = try await client.create("domains", "domain", ["name": "other"], token: admin)
            let user = try await client.create(
                "users", "user", ["name": "viewer", "password": "pw", "domain_id": "default"], token: admin)
            let role = try await client.create("roles", "role", ["name": "viewer-role"], token: admin)

            for (collection, key, id) in [
                ("projects", "project", tagged), ("projects", "project", child), ("domains", "domain", domain),
                ("users", "user", user), ("roles", "role", role),
            ] {
                let list = try await client.call(.get, "/v3/\(collection)", token: admin)
                XCTAssertEqual(list.status, .ok, list.text)
                let listed = list.json[collection]?.arrayValue?.first { $0["id"]?.stringValue == id }
                let shown = try await client.call(.get, "/v3/\(collection)/\(id)", token: admin)
                XCTAssertEqual(listed, shown.json[key], "\(collection) \(id)")
                XCTAssertEqual(
                    listed?["links"]?["self"]?.stringValue.map { $0.hasSuffix("/v3/\(collection)/\(id)") }, true)
            }

            let projects = try await client.call(.get, "/v3/projects", token: admin).json["projects"]
            let shown = projects?.arrayValue?.first { $0["id"]?.stringValue == tagged }
            XCTAssertEqual(shown?["tags"], ["a", "b"])
            XCTAssertEqual(shown?["colour"], "blue \"quoted\"", "extra attributes are shown")
            XCTAssertEqual(shown?["parent_id"], "default", "a top-level project's parent is its domain")
            XCTAssertEqual(shown?["options"], [:])
            let childShown = projects?.arrayValue?.first { $0["id"]?.stringValue == child }
            XCTAssertEqual(childShown?["parent_id"]?.stringValue, tagged)
            XCTAssertEqual(childShown?["tags"], [])

            let domainShown = try await client.call(.get, "/v3/domains", token: admin).json["domains"]?
                .arrayValue?.first { $0["id"]?.stringValue == domain }
            XCTAssertNil(domainShown?["domain_id"])
            XCTAssertNil(domainShown?["is_domain"])
            XCTAssertNil(domainShown?["parent_id"])

            let userShown = try await client.call(.get, "/v3/users", token: admin).json["users"]?
                .arrayValue?.first { $0["id"]?.stringValue == user }
            XCTAssertNil(userShown?["default_project_id"], "an unset default project is left out")
            XCTAssertNil(userShown?["password_hash"])
            XCTAssertEqual(userShown?["password_expires_at"], .null)

            let roleShown = try await client.call(.get, "/v3/roles", token: admin).json["roles"]?
                .arrayValue?.first { $0["id"]?.stringValue == role }
            XCTAssertEqual(roleShown?["domain_id"], .null, "a global role shows no domain")

            let filtered = try await client.call(.get, "/v3/projects?name=tagged", token: admin)
            XCTAssertEqual(
                filtered.json["links"]?["self"]?.stringValue.map { $0.hasSuffix("/v3/projects?name=tagged") }, true)
            XCTAssertEqual(filtered.json["links"]?["next"], .null)
        }
    }
}
