import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SQLKit
import StratusCore
import StratusTestSupport
import XCTest

@testable import Identity

/// A bootstrapped identity service on a temporary data directory, driven through its router.
struct TestCloud {
    static let adminPassword = "s3cret-admin"
    let service: IdentityService
    let dataDir: String
    var postgres: PostgresTestDatabase?
    var connectionURL: String { postgres?.url ?? "\(dataDir)/identity.db" }

    static func make(settings: [String: [String: String]] = [:]) async throws -> TestCloud {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var values = settings
        values["identity", default: [:]]["password_hash_rounds"] = "1000"
        let postgres = try await PostgresTestDatabase.make()
        if let postgres { values["identity", default: [:]]["connection"] = postgres.url }
        let config = Config(values: values)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let service = try await IdentityService.open(config: config, dataDir: dir, logger: logger)
        var options = BootstrapOptions()
        options.adminPassword = adminPassword
        options.publicURL = "http://localhost:5000/v3"
        try await service.bootstrap(options)
        return TestCloud(service: service, dataDir: dir, postgres: postgres)
    }

    func run(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: service.makeRouter())
        try await app.test(.router) { client in try await body(client) }
        await service.close()
        try? FileManager.default.removeItem(atPath: dataDir)
        try await postgres?.drop()
    }
}

struct Reply: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String

    var json: JSON { (try? JSON.parse(text)) ?? .null }
    var subjectToken: String { headers[.subjectToken] ?? "" }
    /// Keystone's error message, for asserting on the error body shape.
    var errorMessage: String? { json["error"]?["message"]?.stringValue }
}

extension TestClientProtocol {
    func call(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, body: JSON? = nil, raw: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authToken] = token }
        if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let text = raw ?? body?.serialized()
        return try await execute(uri: path, method: method, headers: headers, body: text.map { ByteBuffer(string: $0) }) { response in
            Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
    }

    static func passwordAuth(user: JSON, password: String, scope: JSON? = nil) -> JSON {
        var auth: [String: JSON] = [
            "identity": ["methods": ["password"], "password": ["user": .object((user.objectValue ?? [:]).merging(["password": .string(password)]) { a, _ in a })]]
        ]
        if let scope { auth["scope"] = scope }
        return ["auth": .object(auth)]
    }

    /// A token for a user in the Default domain, scoped to a project (by name) when given.
    func token(user: String = "admin", password: String = TestCloud.adminPassword, project: String? = "admin") async throws -> String {
        let scope: JSON? = project.map { ["project": ["name": .string($0), "domain": ["id": "default"]]] }
        let reply = try await call(.post, "/v3/auth/tokens", body: Self.passwordAuth(user: ["name": .string(user), "domain": ["id": "default"]], password: password, scope: scope))
        XCTAssertEqual(reply.status, .created, reply.text)
        return reply.subjectToken
    }

    /// Creates a resource through the API and returns its id.
    func create(_ collection: String, _ key: String, _ fields: JSON, token: String) async throws -> String {
        let reply = try await call(.post, "/v3/\(collection)", token: token, body: [key: fields])
        XCTAssertEqual(reply.status, .created, reply.text)
        return reply.json[key]?["id"]?.stringValue ?? ""
    }

    func roleID(_ name: String, token: String) async throws -> String {
        let reply = try await call(.get, "/v3/roles?name=\(name)", token: token)
        return reply.json["roles"]?.arrayValue?.first?["id"]?.stringValue ?? ""
    }

    /// A user with `role` on a new project; returns (user id, project id, project-scoped token).
    func member(_ name: String, role: String = "member", adminToken: String) async throws -> (user: String, project: String, token: String) {
        let project = try await create("projects", "project", ["name": .string("\(name)-project"), "domain_id": "default"], token: adminToken)
        let user = try await create("users", "user", ["name": .string(name), "password": .string("pw-\(name)"), "domain_id": "default"], token: adminToken)
        let roleID = try await self.roleID(role, token: adminToken)
        let grant = try await call(.put, "/v3/projects/\(project)/users/\(user)/roles/\(roleID)", token: adminToken)
        XCTAssertEqual(grant.status, HTTPResponse.Status.noContent)
        let token = try await self.token(user: name, password: "pw-\(name)", project: "\(name)-project")
        return (user, project, token)
    }
}

extension TestClientProtocol {
    /// Asserts the status of one request.
    func expect(
        _ status: HTTPResponse.Status, _ method: HTTPRequest.Method, _ path: String, token: String? = nil, body: JSON? = nil,
        _ message: String = "", file: StaticString = #filePath, line: UInt = #line
    ) async throws {
        let reply = try await call(method, path, token: token, body: body)
        XCTAssertEqual(reply.status, status, "\(message) \(reply.text)", file: file, line: line)
    }
}
