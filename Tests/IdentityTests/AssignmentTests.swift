import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import XCTest

@testable import Identity

final class AssignmentTests: XCTestCase {
    func testEffectiveAssignmentsExpandGroupsInheritanceAndImpliedRoles() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let parent = try await client.create("projects", "project", ["name": "parent"], token: admin)
            let child = try await client.create("projects", "project", ["name": "child", "parent_id": .string(parent)], token: admin)
            let user = try await client.create("users", "user", ["name": "jo", "password": "pw"], token: admin)
            let group = try await client.create("groups", "group", ["name": "ops"], token: admin)
            try await client.expect(.noContent, .put, "/v3/groups/\(group)/users/\(user)", token: admin)
            let member = try await client.roleID("member", token: admin)
            let reader = try await client.roleID("reader", token: admin)
            let inherit = try await client.call(.put, "/v3/OS-INHERIT/projects/\(parent)/groups/\(group)/roles/\(member)/inherited_to_projects", token: admin)
            XCTAssertEqual(inherit.status, .noContent)

            let effective = try await client.call(.get, "/v3/role_assignments?effective&include_names&user.id=\(user)", token: admin)
            let rows = effective.json["role_assignments"]?.arrayValue ?? []
            let pairs = Set(rows.compactMap { row -> String? in
                guard let project = row["scope"]?["project"]?["id"]?.stringValue, let role = row["role"]?["id"]?.stringValue else { return nil }
                return "\(project):\(role)"
            })
            XCTAssertEqual(pairs, ["\(child):\(member)", "\(child):\(reader)"], effective.text)
            XCTAssertEqual(rows.first?["user"]?["name"], "jo")
            XCTAssertNotNil(rows.first?["links"]?["membership"])

            let direct = try await client.call(.get, "/v3/role_assignments?group.id=\(group)", token: admin)
            XCTAssertEqual(direct.json["role_assignments"]?.arrayValue?.first?["scope"]?["OS-INHERIT:inherited_to"], "projects")

            let token = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(
                user: ["id": .string(user)], password: "pw", scope: ["project": ["id": .string(child)]]))
            XCTAssertEqual(token.status, .created, "inherited group role grants access to the child project")
            let parentToken = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(
                user: ["id": .string(user)], password: "pw", scope: ["project": ["id": .string(parent)]]))
            XCTAssertEqual(parentToken.status, .unauthorized, "inherited roles do not apply to the project itself")
        }
    }

    func testGrantIsIdempotentAndCheckable() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let project = try await client.create("projects", "project", ["name": "p"], token: admin)
            let user = try await client.create("users", "user", ["name": "kim"], token: admin)
            let role = try await client.roleID("member", token: admin)
            let path = "/v3/projects/\(project)/users/\(user)/roles/\(role)"
            try await client.expect(.notFound, .head, path, token: admin)
            try await client.expect(.noContent, .put, path, token: admin)
            try await client.expect(.noContent, .put, path, token: admin)
            try await client.expect(.noContent, .head, path, token: admin)
            let list = try await client.call(.get, "/v3/projects/\(project)/users/\(user)/roles", token: admin)
            XCTAssertEqual(list.json["roles"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, ["member"])
            try await client.expect(.noContent, .delete, "/v3/users/\(user)", token: admin)
            let after = try await client.call(.get, "/v3/role_assignments?scope.project.id=\(project)", token: admin)
            XCTAssertEqual(after.json["role_assignments"]?.arrayValue?.count, 0, "deleting a user drops its assignments")
        }
    }
}
