import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import XCTest

@testable import Identity

final class SecurityComplianceTests: XCTestCase {
    func testLockoutAfterFailedLogins() async throws {
        let settings = ["security_compliance": ["lockout_failure_attempts": "2", "lockout_duration": "1"]]
        try await TestCloud.make(settings: settings).run { client in
            let admin = try await client.token()
            let user = try await client.create("users", "user", ["name": "lou", "password": "right"], token: admin)
            let auth = { (password: String) in type(of: client).passwordAuth(user: ["id": .string(user)], password: password) }
            try await client.expect(.unauthorized, .post, "/v3/auth/tokens", body: auth("wrong"))
            try await client.expect(.unauthorized, .post, "/v3/auth/tokens", body: auth("wrong"))
            try await client.expect(.unauthorized, .post, "/v3/auth/tokens", body: auth("right"), "locked out")
            try await Task.sleep(for: .milliseconds(1100))
            try await client.expect(.created, .post, "/v3/auth/tokens", body: auth("right"), "lock expired")
        }
    }

    func testPasswordHistoryOnSelfServiceChangeOnly() async throws {
        try await TestCloud.make(settings: ["security_compliance": ["unique_last_password_count": "2"]]).run { client in
            let admin = try await client.token()
            let (user, _, token) = try await client.member("pat", adminToken: admin)
            try await client.expect(.badRequest, .post, "/v3/users/\(user)/password", token: token,
                body: ["user": ["original_password": "pw-pat", "password": "pw-pat"]], "reusing the current password")
            try await client.expect(.noContent, .post, "/v3/users/\(user)/password", token: token,
                body: ["user": ["original_password": "pw-pat", "password": "second"]])
            try await client.expect(.ok, .patch, "/v3/users/\(user)", token: admin, body: ["user": ["password": "second"]],
                "an administrator's reset is not checked")
        }
    }

    func testTokenMethodWithRevokedTokenIs404() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let doomed = try await client.token()
            let revoke = try await client.call(.delete, "/v3/auth/tokens", token: admin, headers: [.subjectToken: doomed])
            XCTAssertEqual(revoke.status, .noContent)
            try await client.expect(.notFound, .post, "/v3/auth/tokens",
                body: ["auth": ["identity": ["methods": ["token"], "token": ["id": .string(doomed)]]]])
        }
    }
}
