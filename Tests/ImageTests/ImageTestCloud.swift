import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import StratusCore
import StratusTestSupport
import XCTest

@testable import Image

/// An image service on a temporary data directory with two file stores, driven through its
/// router, with its import runner working.
struct ImageTestCloud {
    let service: ImageService
    let dataDir: String
    var postgres: PostgresTestDatabase?

    static func make(
        settings: [String: String] = [:], objectStore: (any ObjectStoreClient)? = nil
    ) async throws -> ImageTestCloud {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-image-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var values = ["enabled_backends": "fast:file,cheap:file"]
        values.merge(settings) { _, new in new }
        let postgres = try await PostgresTestDatabase.make()
        if let postgres { values["connection"] = postgres.url }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let service = try await ImageService.open(
            config: Config(values: ["image": values]), dataDir: dir, validator: StaticTokens(), identityURL: "",
            objectStore: objectStore, logger: logger)
        return ImageTestCloud(service: service, dataDir: dir, postgres: postgres)
    }

    func run(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let runner = Task { try await ImportRunner(api: service.api).run() }
        let app = Application(router: service.makeRouter())
        try await app.test(.router) { client in try await body(client) }
        runner.cancel()
        await service.close()
        try? FileManager.default.removeItem(atPath: dataDir)
        try await postgres?.drop()
    }

    /// Files under the stores' directory, staging included.
    func storedFiles() -> [String] {
        let root = "\(dataDir)/images"
        let names = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []
        return names.filter { name in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(root)/\(name)", isDirectory: &isDir) && !isDir.boolValue
        }
    }
}

struct Reply: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: ByteBuffer

    var text: String { String(buffer: body) }
    var json: JSON { (try? JSON.parse(text)) ?? .null }
}

extension TestClientProtocol {
    func call(
        _ method: HTTPRequest.Method, _ path: String, token: String? = "alice", json: JSON? = nil, data: ByteBuffer? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authToken] = token }
        if headers[.contentType] == nil { headers[.contentType] = data == nil ? "application/json" : "application/octet-stream" }
        let body = data ?? json.map { ByteBuffer(string: $0.serialized()) }
        return try await execute(uri: path, method: method, headers: headers, body: body) { response in
            Reply(status: response.status, headers: response.headers, body: response.body)
        }
    }

    func createImage(_ fields: JSON = [:], token: String = "alice") async throws -> String {
        var body = fields.objectValue ?? [:]
        if body["name"] == nil { body["name"] = "test-image" }
        let reply = try await call(.post, "/v2/images", token: token, json: .object(body))
        XCTAssertEqual(reply.status, .created, reply.text)
        return reply.json["id"]?.stringValue ?? ""
    }

    func patch(_ id: String, _ operations: JSON, token: String = "alice") async throws -> Reply {
        try await call(.patch, "/v2/images/\(id)", token: token, json: operations,
                       headers: [.contentType: "application/openstack-images-v2.1-json-patch"])
    }

    func image(_ id: String, token: String = "alice") async throws -> JSON {
        try await call(.get, "/v2/images/\(id)", token: token).json
    }

    /// Polls until the image reaches `status` (imports run in the background).
    func waitFor(_ id: String, status: String, token: String = "alice") async throws -> JSON {
        for _ in 0..<200 {
            let image = try await self.image(id, token: token)
            if image["status"]?.stringValue == status { return image }
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTFail("image \(id) never reached \(status)")
        return .null
    }
}
