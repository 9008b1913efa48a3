import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import StratusCore
import StratusTestSupport
import XCTest

@testable import BlockStorage

/// A whole Block Storage inside `swift test`: API, scheduler and one file backend on an
/// in-process bus, volumes as real qcow2 files in a temporary directory, Glance in memory.
enum BlockStorageCloud {
    static let imageID = "5a1e0000-0000-4000-8000-000000000001"

    struct Cloud: Sendable {
        let client: any TestClientProtocol
        let images: FakeImage
        let dataDir: String

        /// The volume as `token` sees it, once `done` holds (30 s at most: an encrypted 1 GiB
        /// backup takes about 10 s on a busy 2-core machine).
        func waitFor(
            _ id: String, token: String = "alice", collection: String = "volumes",
            _ done: @Sendable (JSON) -> Bool
        ) async throws -> JSON {
            let key = String(collection.dropLast())
            var last = JSON.null
            for _ in 0..<1500 {
                let reply = try await client.request(.get, "/v3/\(collection)/\(id)", token: token)
                last = reply.json[key] ?? .null
                if done(last) { return last }
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTFail("\(collection) \(id) never reached the state: \(last.serialized())")
            return last
        }

        func waitUntilGone(_ id: String, collection: String = "volumes") async throws {
            for _ in 0..<500 {
                let reply = try await client.request(.get, "/v3/\(collection)/\(id)", token: "admin")
                if reply.status == .notFound { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTFail("\(collection) \(id) was never deleted")
        }

        /// Creates a volume as `token` and waits for it to be available.
        func createVolume(_ body: JSON, token: String = "alice") async throws -> JSON {
            let reply = try await client.request(.post, "/v3/volumes", token: token, body: ["volume": body])
            XCTAssertEqual(reply.status, .accepted, reply.text)
            let id = try XCTUnwrap(reply.json["volume"]?["id"]?.stringValue)
            return try await waitFor(id, token: token) {
                !["creating", "downloading"].contains($0["status"]?.stringValue ?? "")
            }
        }

        var volumesDir: String { "\(dataDir)/volumes/file" }
    }

    /// `connection`: a PostgreSQL database (see `PostgresTestDatabase`), else SQLite in `dataDir`.
    static func open(
        dataDir: String, connection: String? = nil, backends: String = "file",
        sections: [String: [String: String]] = [:],
        bus: any BusTransport, images: FakeImage, compute: FakeCompute? = nil,
        objectStore: (any ObjectStoreClient)? = nil
    ) async throws -> BlockStorageService {
        var logger = Logger(label: "test")
        // errors only: a volume that fails in a test says why in the test log
        logger.logLevel = .error
        var values = ["host": "testhost", "enabled_backends": backends]
        if let connection { values["connection"] = connection }
        values.merge(sections["block_storage"] ?? [:]) { $1 }
        return try await BlockStorageService.open(
            config: Config(values: sections.merging(["block_storage": values]) { $1 }), dataDir: dataDir,
            validator: StaticTokens(),
            bus: bus, images: images, compute: compute, objectStore: objectStore, logger: logger)
    }

    /// `backends`: the enabled backends, each a file backend named after itself; `sections`:
    /// more config (a backend's own section).
    static func run(
        dataDir given: String? = nil, backends: String = "file", sections: [String: [String: String]] = [:],
        compute: FakeCompute? = nil, objectStore: (any ObjectStoreClient)? = nil,
        _ body: @Sendable (Cloud) async throws -> Void
    ) async throws {
        let dataDir =
            given
            ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("stratus-volume-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        defer { if given == nil { try? FileManager.default.removeItem(atPath: dataDir) } }
        let images = FakeImage(images: [imageID: Array(repeating: 7, count: 4096)], diskFormat: "raw")
        let postgres = try await PostgresTestDatabase.make()
        let service = try await open(
            dataDir: dataDir, connection: postgres?.url, backends: backends, sections: sections, bus: InProcessBus(),
            images: images, compute: compute, objectStore: objectStore)
        do {
            let app = Application(router: service.makeRouter())
            try await app.test(.router) { client in
                try await body(Cloud(client: client, images: images, dataDir: dataDir))
            }
        } catch {
            await service.close()
            try await postgres?.drop()
            throw error
        }
        await service.close()
        try await postgres?.drop()
    }
}
