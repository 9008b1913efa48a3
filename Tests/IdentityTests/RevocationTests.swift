import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import XCTest

@testable import Identity

/// Each change that must end existing tokens, checked through the API.
final class RevocationTests: XCTestCase {
    func testDisablingUserRevokesItsTokens() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let (user, _, token) = try await client.member("dave", adminToken: admin)
            try await client.expect(.ok, .get, "/v3/users/\(user)", token: token)
            _ = try await client.call(.patch, "/v3/users/\(user)", token: admin, body: ["user": ["enabled": false]])
            try await client.expect(.unauthorized, .get, "/v3/users/\(user)", token: token)
            _ = try await client.call(.patch, "/v3/users/\(user)", token: admin, body: ["user": ["enabled": true]])
            try await client.expect(.unauthorized, .get, "/v3/users/\(user)", token: token, "revocation is permanent")
        }
    }

    func testPasswordChangeRevokesAndOldPasswordFails() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let (user, _, token) = try await client.member("erin", adminToken: admin)
            let change = try await client.call(.post, "/v3/users/\(user)/password", token: token,
                body: ["user": ["original_password": "pw-erin", "password": "new-pass"]])
            XCTAssertEqual(change.status, .noContent, change.text)
            try await client.expect(.unauthorized, .get, "/v3/users/\(user)", token: token)
            let old = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(user: ["id": .string(user)], password: "pw-erin"))
            XCTAssertEqual(old.status, .unauthorized)
            let new = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(user: ["id": .string(user)], password: "new-pass"))
            XCTAssertEqual(new.status, .created)
            let wrongOriginal = try await client.call(.post, "/v3/users/\(user)/password", token: new.subjectToken,
                body: ["user": ["original_password": "bad", "password": "x"]])
            XCTAssertEqual(wrongOriginal.status, .unauthorized)
        }
    }

    func testRemovingRoleInvalidatesProjectToken() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let (user, project, token) = try await client.member("frank", adminToken: admin)
            let member = try await client.roleID("member", token: admin)
            try await client.expect(.ok, .get, "/v3/auth/catalog", token: token)
            let removed = try await client.call(.delete, "/v3/projects/\(project)/users/\(user)/roles/\(member)", token: admin)
            XCTAssertEqual(removed.status, .noContent)
            try await client.expect(.unauthorized, .get, "/v3/auth/catalog", token: token)
        }
    }

    func testDisablingProjectAndDomainRevokes() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let (_, project, token) = try await client.member("gina", adminToken: admin)
            _ = try await client.call(.patch, "/v3/projects/\(project)", token: admin, body: ["project": ["enabled": false]])
            try await client.expect(.unauthorized, .get, "/v3/auth/catalog", token: token)

            let domain = try await client.create("domains", "domain", ["name": "d-revoke"], token: admin)
            let user = try await client.create("users", "user", ["name": "hank", "password": "pw", "domain_id": .string(domain)], token: admin)
            let reader = try await client.roleID("reader", token: admin)
            _ = try await client.call(.put, "/v3/domains/\(domain)/users/\(user)/roles/\(reader)", token: admin)
            let domainToken = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(
                user: ["id": .string(user)], password: "pw", scope: ["domain": ["id": .string(domain)]]))
            XCTAssertEqual(domainToken.status, .created, domainToken.text)
            _ = try await client.call(.patch, "/v3/domains/\(domain)", token: admin, body: ["domain": ["enabled": false]])
            try await client.expect(.unauthorized, .get, "/v3/auth/domains", token: domainToken.subjectToken)
        }
    }

    func testExpiredTokenIsRejected() async throws {
        let cloud = try await TestCloud.make()
        let tokens = cloud.service.api.tokens
        let admin = try await cloud.service.api.store.read { db in
            try await Kinds.user.list(from: db, filters: [("name", "admin")]).first?["id"]?.stringValue ?? ""
        }
        let past = Date().addingTimeInterval(-10)
        let expired = try tokens.seal(TokenPayload(
            userID: admin, methods: ["password"], scope: .unscoped, issuedAt: past.addingTimeInterval(-60), expiresAt: past,
            auditIDs: [TokenPayload.newAuditID()], applicationCredentialID: nil))
        try await cloud.run { client in
            let reply = try await client.call(.get, "/v3/auth/domains", token: expired)
            XCTAssertEqual(reply.status, .unauthorized)
        }
    }

    func testKeyRotationKeepsRecentTokensAndDropsOld() async throws {
        let cloud = try await TestCloud.make(settings: ["fernet_tokens": ["max_active_keys": "3"]])
        try await cloud.run { client in
            let token = try await client.token()
            try cloud.service.rotateKeys()
            try await client.expect(.ok, .get, "/v3/auth/catalog", token: token, "still valid after one rotation")
            try cloud.service.rotateKeys()
            try cloud.service.rotateKeys()
            let afterPrune = try await client.call(.get, "/v3/auth/projects", token: token)
            XCTAssertEqual(afterPrune.status, .unauthorized, "its key was pruned")
            let fresh = try await client.token()
            try await client.expect(.ok, .get, "/v3/auth/projects", token: fresh)
        }
    }
}
