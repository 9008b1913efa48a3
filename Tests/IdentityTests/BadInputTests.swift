import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import XCTest

@testable import Identity

/// Bad input gets a 4xx in Keystone's error body, never a 5xx, and writes nothing.
final class BadInputTests: XCTestCase {
    private static func assertKeystoneError(_ reply: Reply, _ status: HTTPResponse.Status, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(reply.status, status, reply.text, file: file, line: line)
        XCTAssertEqual(reply.json["error"]?["code"]?.intValue, Int(status.code), reply.text, file: file, line: line)
        XCTAssertNotNil(reply.json["error"]?["message"]?.stringValue, file: file, line: line)
        XCTAssertNotNil(reply.json["error"]?["title"]?.stringValue, file: file, line: line)
    }

    func testMalformedBodies() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            Self.assertKeystoneError(try await client.call(.post, "/v3/projects", token: admin, raw: "{\"project\": {"), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/projects", token: admin, raw: "[1,2]"), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/projects", token: admin, raw: ""), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/auth/tokens", raw: "not json"), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/auth/tokens", body: ["auth": ["identity": ["methods": []]]]), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/auth/tokens", body: ["auth": ["identity": ["methods": ["password"], "password": ["user": ["name": "admin"]]]]]), .badRequest)
        }
    }

    func testMissingAndMistypedFields() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            Self.assertKeystoneError(try await client.call(.post, "/v3/projects", token: admin, body: ["project": ["description": "no name"]]), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/projects", token: admin, body: ["project": ["name": 42]]), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/projects", token: admin, body: ["project": ["name": "x", "enabled": "True"]]), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/users", token: admin, body: ["user": ["name": ""]]), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/users", token: admin, body: ["user": "admin"]), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/projects", token: admin, body: ["project": ["name": .string(String(repeating: "p", count: 65))]]), .badRequest)
            let service = try await client.create("services", "service", ["type": "compute", "name": "nova"], token: admin)
            Self.assertKeystoneError(try await client.call(.post, "/v3/endpoints", token: admin,
                body: ["endpoint": ["service_id": .string(service), "interface": "sideways", "url": "http://x"]]), .badRequest)
            let list = try await client.call(.get, "/v3/projects?name=x", token: admin)
            XCTAssertEqual(list.json["projects"]?.arrayValue?.count, 0, "nothing was half-written")
        }
    }

    func testUnknownIDsAre404() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            for path in ["/v3/projects/nope", "/v3/users/nope", "/v3/groups/nope", "/v3/roles/nope", "/v3/domains/nope", "/v3/regions/nope",
                "/v3/services/nope", "/v3/endpoints/nope", "/v3/credentials/nope"]
            {
                Self.assertKeystoneError(try await client.call(.get, path, token: admin), .notFound)
                Self.assertKeystoneError(try await client.call(.delete, path, token: admin), .notFound)
            }
            let role = try await client.roleID("member", token: admin)
            Self.assertKeystoneError(try await client.call(.put, "/v3/projects/nope/users/nope/roles/\(role)", token: admin), .notFound)
            // Keystone answers a reference to a missing parent or domain in a body with 400.
            Self.assertKeystoneError(try await client.call(.post, "/v3/projects", token: admin, body: ["project": ["name": "orphan", "parent_id": "nope"]]), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/projects", token: admin, body: ["project": ["name": "orphan", "domain_id": "nope"]]), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/users", token: admin, body: ["user": ["name": "orphan", "domain_id": "nope"]]), .notFound)
            Self.assertKeystoneError(try await client.call(.get, "/v3/projects?enabled=maybe", token: admin), .badRequest)
            Self.assertKeystoneError(try await client.call(.post, "/v3/projects", token: admin, raw: "{\"project\": {\"name\": \"t\"}}",
                headers: [.contentType: "text/plain"]), .badRequest)
            Self.assertKeystoneError(try await client.call(.get, "/v3/no/such/route", token: admin), .notFound)
        }
    }

    func testDuplicatesAre409() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            _ = try await client.create("projects", "project", ["name": "dup"], token: admin)
            Self.assertKeystoneError(try await client.call(.post, "/v3/projects", token: admin, body: ["project": ["name": "dup"]]), .conflict)
            Self.assertKeystoneError(try await client.call(.post, "/v3/users", token: admin, body: ["user": ["name": "admin"]]), .conflict)
            Self.assertKeystoneError(try await client.call(.post, "/v3/domains", token: admin, body: ["domain": ["name": "Default"]]), .conflict)
            Self.assertKeystoneError(try await client.call(.post, "/v3/roles", token: admin, body: ["role": ["name": "member"]]), .conflict)
        }
    }

    func testEnabledDomainCannotBeDeleted() async throws {
        try await TestCloud.make().run { client in
            let admin = try await client.token()
            let domain = try await client.create("domains", "domain", ["name": "keep"], token: admin)
            Self.assertKeystoneError(try await client.call(.delete, "/v3/domains/\(domain)", token: admin), .forbidden)
        }
    }
}
