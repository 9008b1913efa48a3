import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import StratusCore
import XCTest

@testable import Identity

/// Two identity processes on one database: a revocation in one reaches the other.
final class CoherenceTests: XCTestCase {
    func testRevocationInOneProcessReachesAnother() async throws {
        let first = try await TestCloud.make()
        let config = Config(values: ["identity": ["password_hash_rounds": "1000", "connection": first.connectionURL]])
        let second = try await IdentityService.open(config: config, dataDir: first.dataDir, logger: Logger(label: "second"))
        var secondSeen = -1
        try await second.api.sync(lastSeen: &secondSeen)
        let initialSeen = secondSeen
        let secondApp = Application(router: second.makeRouter())
        try await first.run { client in
            let admin = try await client.token()
            let doomed = try await client.token()
            try await secondApp.test(.router) { other in
                var seen = initialSeen
                try await other.expect(.ok, .get, "/v3/auth/catalog", token: doomed, "valid in the second process")
                let revoke = try await client.call(.delete, "/v3/auth/tokens", token: admin, headers: [.subjectToken: doomed])
                XCTAssertEqual(revoke.status, .noContent)
                try await other.expect(.ok, .get, "/v3/auth/catalog", token: doomed, "cached until the next sync")
                try await second.api.sync(lastSeen: &seen)
                try await other.expect(.unauthorized, .get, "/v3/auth/catalog", token: doomed, "revoked everywhere after sync")
            }
            // Before the first cloud drops its database.
            await second.close()
        }
    }
}
