import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import StratusCore
import StratusTestSupport
import XCTest

@testable import ObjectStorage

/// An Object Storage service on a temporary directory (and PostgreSQL when the test run has
/// one), reached in process with `StaticTokens` callers: alice owns `AUTH_p-alice`.
struct ObjectStorageCloud: Sendable {
    let client: any TestClientProtocol
    let dataDir: String
    static let account = "/v1/AUTH_p-alice"

    static func run(
        devices: Int = 1, s3: (any S3CredentialVerifier)? = nil,
        _ body: @Sendable (ObjectStorageCloud) async throws -> Void
    ) async throws {
        let dataDir = FileManager.default.temporaryDirectory
            .appendingPathComponent("stratus-objects-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical  // quarantine tests log corrupt replicas on purpose
        var values = [
            "devices": (0..<devices).map { "\(dataDir)/d\($0):\($0)" }.joined(separator: ","), "part_power": "6",
        ]
        try await PostgresTestDatabase.with { connection in
            if let connection { values["connection"] = connection }
            let service = try await ObjectStorageService.open(
                config: Config(values: ["object_storage": values]), dataDir: dataDir, validator: StaticTokens(),
                s3Credentials: s3, logger: logger)
            do {
                try await Application(router: service.makeRouter()).test(.router) { client in
                    try await body(ObjectStorageCloud(client: client, dataDir: dataDir))
                }
            } catch {
                await service.close()
                throw error
            }
            await service.close()
        }
    }

    /// A request with raw bytes; `token: nil` is anonymous.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ path: String, token: String? = "alice", body: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestReply {
        var headers = extra
        if let token { headers[.authToken] = token }
        if let body, headers[.contentLength] == nil { headers[.contentLength] = String(body.utf8.count) }
        return try await client.execute(
            uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            TestReply(status: response.status, text: String(buffer: response.body), headers: response.headers)
        }
    }

    /// A request whose status must be `status`.
    @discardableResult
    func expect(
        _ status: HTTPResponse.Status, _ method: HTTPRequest.Method, _ path: String, body: String? = nil,
        headers: HTTPFields = [:], file: StaticString = #filePath, line: UInt = #line
    ) async throws -> TestReply {
        let reply = try await send(method, path, body: body, headers: headers)
        XCTAssertEqual(reply.status, status, file: file, line: line)
        return reply
    }

    func header(_ reply: TestReply, _ name: String) -> String? {
        HTTPField.Name(name).flatMap { reply.headers[$0] }
    }
}
