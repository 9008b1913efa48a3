import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import XCTest

@testable import Identity

/// One project's member cannot see or change another's users and assignments.
final class IdentityPolicyTests: XCTestCase {
    func testMemberIsConfinedToItself() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let (alice, aliceProject, aliceToken) = try await client.member("alice", adminToken: admin)
            let (bob, bobProject, _) = try await client.member("bob", adminToken: admin)

            try await client.expect(.forbidden, .get, "/v3/users", token: aliceToken)
            try await client.expect(.forbidden, .get, "/v3/users/\(bob)", token: aliceToken)
            try await client.expect(.ok, .get, "/v3/users/\(alice)", token: aliceToken)
            try await client.expect(.forbidden, .get, "/v3/role_assignments", token: aliceToken)
            try await client.expect(.forbidden, .get, "/v3/projects/\(bobProject)", token: aliceToken)
            try await client.expect(.ok, .get, "/v3/projects/\(aliceProject)", token: aliceToken)
            try await client.expect(.forbidden, .patch, "/v3/users/\(bob)", token: aliceToken, body: ["user": ["enabled": false]])
            let member = try await client.roleID("member", token: admin)
            try await client.expect(.forbidden, .put, "/v3/projects/\(bobProject)/users/\(alice)/roles/\(member)", token: aliceToken)
            try await client.expect(.forbidden, .get, "/v3/users/\(bob)/projects", token: aliceToken)

            let own = try await client.call(.get, "/v3/users/\(alice)/projects", token: aliceToken)
            XCTAssertEqual(own.json["projects"]?.arrayValue?.compactMap { $0["id"]?.stringValue }, [aliceProject])
            let auth = try await client.call(.get, "/v3/auth/projects", token: aliceToken)
            XCTAssertEqual(auth.json["projects"]?.arrayValue?.compactMap { $0["id"]?.stringValue }, [aliceProject])
        }
    }

    func testPolicyFileOverridesDefaults() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID().uuidString).yaml").path
        try "\"identity:list_users\": \"role:member\"\n".write(toFile: dir, atomically: true, encoding: .utf8)
        try await TestCloud.make(settings: ["oslo_policy": ["policy_file": dir]]).run { client in
            let admin = try await client.token()
            let (_, _, token) = try await client.member("ivy", adminToken: admin)
            try await client.expect(.ok, .get, "/v3/users", token: token)
        }
    }
}
