import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import XCTest

@testable import Identity

final class AuthTests: XCTestCase {
    func testVersionDiscovery() async throws {
        try await TestCloud.make().run { client in
            let root = try await client.call(.get, "/")
            XCTAssertEqual(root.status, .multipleChoices)
            XCTAssertEqual(root.json["versions"]?["values"]?.arrayValue?.first?["id"], "v3.14")
            let v3 = try await client.call(.get, "/v3")
            XCTAssertEqual(v3.status, .ok)
            XCTAssertEqual(v3.json["version"]?["status"], "stable")
            XCTAssertEqual(v3.json["version"]?["media-types"]?.arrayValue?.first?["type"], "application/vnd.openstack.identity-v3+json")
            XCTAssertNotNil(v3.headers[.openStackRequestID])
        }
    }

    func testProjectScopedTokenCarriesImpliedRolesAndCatalog() async throws {
        try await TestCloud.make().run { client in
            let reply = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(
                user: ["name": "admin", "domain": ["name": "Default"]], password: TestCloud.adminPassword,
                scope: ["project": ["name": "admin", "domain": ["name": "Default"]]]))
            XCTAssertEqual(reply.status, .created)
            XCTAssertTrue(reply.subjectToken.hasPrefix("gAAAAA"))
            let token = reply.json["token"]
            let roles = Set(token?["roles"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
            XCTAssertEqual(roles, ["admin", "manager", "member", "reader"])
            XCTAssertEqual(token?["catalog"]?.arrayValue?.first?["type"], "identity")
            XCTAssertEqual(token?["project"]?["name"], "admin")
            XCTAssertEqual(token?["methods"], ["password"])
            let expires = token?["expires_at"]?.stringValue ?? ""
            XCTAssertTrue(expires.hasSuffix("Z") && expires.contains("."), expires)
            XCTAssertGreaterThan(expires, token?["issued_at"]?.stringValue ?? "")

            let nocatalog = try await client.call(.post, "/v3/auth/tokens?nocatalog", body: type(of: client).passwordAuth(
                user: ["name": "admin", "domain": ["id": "default"]], password: TestCloud.adminPassword,
                scope: ["project": ["name": "admin", "domain": ["id": "default"]]]))
            XCTAssertNil(nocatalog.json["token"]?["catalog"])
        }
    }

    func testWrongPasswordAndUnknownUserGetTheSame401() async throws {
        try await TestCloud.make().run { client in
            let wrong = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(
                user: ["name": "admin", "domain": ["id": "default"]], password: "nope"))
            let unknown = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(
                user: ["name": "ghost", "domain": ["id": "default"]], password: "nope"))
            XCTAssertEqual(wrong.status, .unauthorized)
            XCTAssertEqual(unknown.status, .unauthorized)
            XCTAssertEqual(wrong.text, unknown.text)
            XCTAssertEqual(wrong.json["error"]?["code"]?.intValue, 401)
            XCTAssertNotNil(wrong.headers[HTTPField.Name("WWW-Authenticate")!])
        }
    }

    func testValidateCheckAndRevokeToken() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let issued = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(
                user: ["name": "admin", "domain": ["id": "default"]], password: TestCloud.adminPassword))
            let subject = issued.subjectToken
            XCTAssertNil(issued.json["token"]?["catalog"], "unscoped tokens have no catalog")
            XCTAssertNil(issued.json["token"]?["roles"])

            let shown = try await client.call(.get, "/v3/auth/tokens", token: admin, headers: [.subjectToken: subject])
            XCTAssertEqual(shown.status, .ok)
            XCTAssertEqual(shown.json["token"], issued.json["token"], "GET must return what POST returned")
            let head = try await client.call(.head, "/v3/auth/tokens", token: admin, headers: [.subjectToken: subject])
            XCTAssertEqual(head.status, .ok)
            XCTAssertEqual(head.text, "")

            let revoke = try await client.call(.delete, "/v3/auth/tokens", token: admin, headers: [.subjectToken: subject])
            XCTAssertEqual(revoke.status, .noContent)
            let after = try await client.call(.get, "/v3/auth/tokens", token: admin, headers: [.subjectToken: subject])
            XCTAssertEqual(after.status, .notFound)
            let asCaller = try await client.call(.get, "/v3/projects", token: subject)
            XCTAssertEqual(asCaller.status, .unauthorized)
        }
    }

    func testGarbageTokenIs401() async throws {
        try await TestCloud.make().run { client in
            let reply = try await client.call(.get, "/v3/projects", token: "gAAAAA-not-a-token")
            XCTAssertEqual(reply.status, .unauthorized)
            XCTAssertEqual(reply.json["error"]?["title"], "Unauthorized")
            let none = try await client.call(.get, "/v3/projects")
            XCTAssertEqual(none.status, .unauthorized)
        }
    }

    func testRescopedTokenKeepsExpiryAndAddsMethod() async throws {
        try await TestCloud.make().run { client in
            let unscoped = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(
                user: ["name": "admin", "domain": ["id": "default"]], password: TestCloud.adminPassword))
            let rescoped = try await client.call(.post, "/v3/auth/tokens", body: [
                "auth": ["identity": ["methods": ["token"], "token": ["id": .string(unscoped.subjectToken)]],
                         "scope": ["project": ["name": "admin", "domain": ["id": "default"]]]],
            ])
            XCTAssertEqual(rescoped.status, .created, rescoped.text)
            XCTAssertEqual(rescoped.json["token"]?["expires_at"], unscoped.json["token"]?["expires_at"])
            XCTAssertEqual(rescoped.json["token"]?["methods"], ["password", "token"])
            XCTAssertEqual(rescoped.json["token"]?["audit_ids"]?.arrayValue?.count, 2)
        }
    }

    func testScopeWithoutRoleIs401() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            _ = try await client.member("alice", adminToken: admin)
            _ = try await client.create("projects", "project", ["name": "other"], token: admin)
            let reply = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(
                user: ["name": "alice", "domain": ["id": "default"]], password: "pw-alice",
                scope: ["project": ["name": "other", "domain": ["id": "default"]]]))
            XCTAssertEqual(reply.status, .unauthorized)
            XCTAssertNotNil(reply.errorMessage)
        }
    }

    func testDefaultProjectScopesTokenWithoutScope() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let (user, project, _) = try await client.member("bob", adminToken: admin)
            let patch = try await client.call(.patch, "/v3/users/\(user)", token: admin, body: ["user": ["default_project_id": .string(project)]])
            XCTAssertEqual(patch.status, .ok)
            let reply = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(user: ["id": .string(user)], password: "pw-bob"))
            XCTAssertEqual(reply.json["token"]?["project"]?["id"]?.stringValue, project)
        }
    }

    func testApplicationCredentialAuthenticates() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let (user, project, token) = try await client.member("carol", adminToken: admin)
            let created = try await client.call(.post, "/v3/users/\(user)/application_credentials", token: token, body: ["application_credential": ["name": "ci"]])
            XCTAssertEqual(created.status, .created, created.text)
            let id = created.json["application_credential"]?["id"]?.stringValue ?? ""
            let secret = created.json["application_credential"]?["secret"]?.stringValue ?? ""
            XCTAssertFalse(secret.isEmpty)
            let auth = try await client.call(.post, "/v3/auth/tokens", body: [
                "auth": ["identity": ["methods": ["application_credential"], "application_credential": ["id": .string(id), "secret": .string(secret)]]],
            ])
            XCTAssertEqual(auth.status, .created, auth.text)
            XCTAssertEqual(auth.json["token"]?["project"]?["id"]?.stringValue, project)
            XCTAssertEqual(auth.json["token"]?["application_credential"]?["id"]?.stringValue, id)
            let bad = try await client.call(.post, "/v3/auth/tokens", body: [
                "auth": ["identity": ["methods": ["application_credential"], "application_credential": ["id": .string(id), "secret": "wrong"]]],
            ])
            XCTAssertEqual(bad.status, .unauthorized)
            let listed = try await client.call(.get, "/v3/users/\(user)/application_credentials", token: token)
            XCTAssertNil(listed.json["application_credentials"]?.arrayValue?.first?["secret"], "secrets are shown once")
        }
    }

    func testSystemScopedToken() async throws {
        try await TestCloud.make().run { client in
            let reply = try await client.call(.post, "/v3/auth/tokens", body: type(of: client).passwordAuth(
                user: ["name": "admin", "domain": ["id": "default"]], password: TestCloud.adminPassword, scope: ["system": ["all": true]]))
            XCTAssertEqual(reply.status, .created, reply.text)
            XCTAssertEqual(reply.json["token"]?["system"], ["all": true])
            let system = try await client.call(.get, "/v3/auth/system", token: reply.subjectToken)
            XCTAssertEqual(system.json["system"], [["all": true]])
        }
    }
}
