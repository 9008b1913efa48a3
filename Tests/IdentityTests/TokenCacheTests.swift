import Foundation
import StratusCore
import XCTest

@testable import Identity

final class TokenCacheTests: XCTestCase {
    /// Thousands of distinct tokens validated: the cache keeps the most recent within its bytes.
    func testValidationCacheStaysWithinItsByteBound() async throws {
        let cloud = try await TestCloud.make()
        let api = cloud.service.api
        let bound = 64 << 10
        let tokens = TokenProvider(
            keys: api.tokens.keys, store: api.store, revocations: api.tokens.revocations, lifetime: 3600,
            validationCacheBytes: bound)
        try await cloud.run { client in
            let reply = try await client.call(
                .post, "/v3/auth/tokens",
                body: type(of: client).passwordAuth(
                    user: ["name": "admin", "domain": ["id": "default"]], password: TestCloud.adminPassword,
                    scope: ["project": ["name": "admin", "domain": ["id": "default"]]]))
            let userID = reply.json["token"]?["user"]?["id"]?.stringValue ?? ""
            let projectID = reply.json["token"]?["project"]?["id"]?.stringValue ?? ""
            var last = ""
            for _ in 0..<500 {
                let payload = TokenPayload(
                    userID: userID, methods: ["password"], scope: .project(projectID), issuedAt: Date(),
                    expiresAt: Date().addingTimeInterval(3600), auditIDs: [TokenPayload.newAuditID()],
                    applicationCredentialID: nil)
                last = try tokens.seal(payload)
                _ = try await tokens.validate(last)
                let (bytes, count) = tokens.validations.withLock { ($0.entries.bytes, $0.entries.count) }
                XCTAssertLessThanOrEqual(bytes, bound)
                XCTAssertLessThan(count, 500)
            }
            let cached = tokens.validations.withLock { $0.entries.value(for: last) }
            XCTAssertNotNil(cached, "the newest validation is kept")
            let body = try await tokens.body(of: try await tokens.validate(last), catalog: true)
            let parsed = try JSON.parse(body)
            XCTAssertEqual(parsed["token"]?["project"]?["id"]?.stringValue, projectID)
            XCTAssertEqual(parsed["token"]?["catalog"]?.arrayValue?.isEmpty, false)
        }
    }
}
