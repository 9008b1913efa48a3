import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import StratusCore
import StratusTestSupport
import XCTest

@testable import Networking

/// A network service on a fresh database (PostgreSQL when configured), with its local
/// no-op agents on an in-process bus, driven through its router.
struct NetworkTestCloud {
    let service: NetworkService
    let dataDir: String
    var postgres: PostgresTestDatabase?

    static func make(settings: [String: String] = [:]) async throws -> NetworkTestCloud {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-network-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var values = ["host": "testhost", "dataplane": "noop"]
        values.merge(settings) { _, new in new }
        let postgres = try await PostgresTestDatabase.make()
        if let postgres { values["connection"] = postgres.url }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let service = try await NetworkService.open(
            config: Config(values: ["network": values]), dataDir: dir, validator: StaticTokens(), bus: InProcessBus(), logger: logger)
        return NetworkTestCloud(service: service, dataDir: dir, postgres: postgres)
    }

    func run(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: service.makeRouter())
        do {
            try await app.test(.router) { client in try await body(client) }
        } catch {
            await service.close()
            throw error
        }
        await service.close()
        try? FileManager.default.removeItem(atPath: dataDir)
        try await postgres?.drop()
    }
}

struct Reply: Sendable {
    let status: HTTPResponse.Status
    let text: String

    var json: JSON { (try? JSON.parse(text)) ?? .null }
    /// Neutron's error type, e.g. `NetworkInUse`.
    var errorType: String? { json["NeutronError"]?["type"]?.stringValue }
}

extension TestClientProtocol {
    func call(_ method: HTTPRequest.Method, _ path: String, token: String = "alice", body: JSON? = nil, headers extra: HTTPFields = [:]) async throws -> Reply {
        var headers = extra
        headers[.authToken] = token
        headers[.contentType] = "application/json"
        return try await execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0.serialized()) }) { response in
            Reply(status: response.status, text: String(buffer: response.body))
        }
    }

    /// Creates `member` in `collection` and returns it; fails the test unless 201.
    func create(_ collection: String, _ member: String, _ fields: JSON, token: String = "alice") async throws -> JSON {
        let reply = try await call(.post, "/v2.0/\(collection)", token: token, body: [member: fields])
        XCTAssertEqual(reply.status, .created, "\(collection): \(reply.text)")
        return reply.json[member] ?? .null
    }
}
