import Foundation
import Hummingbird
import Logging
import NIOCore
import StratusCore
import _NIOFileSystem

/// Glance's `swift` store, single tenant: image data as objects `<image id>` of container
/// `glance` in the Image service user's account of Object Storage, reached through its API.
/// An upload is first staged in a local file (its chunks inspected on the way), then streamed
/// to Object Storage, so a cut-off upload leaves nothing there.
struct SwiftStore: DataStore {
    let id: String
    let client: any ObjectStoreClient
    let staging: FileStore
    let logger: Logger
    static let container = "glance"

    var type: String { "swift" }
    var description: String { "Object Storage (Swift) container \(Self.container)" }
    var isWritable: Bool { true }

    init(id: String, client: any ObjectStoreClient, stagingDirectory: String, logger: Logger) throws {
        self.id = id
        self.client = client
        self.logger = logger
        staging = try FileStore(id: "\(id)-staging", directory: stagingDirectory, logger: logger)
    }

    /// Paths are `glance/<image id>`.
    func url(for path: String) -> String { "swift+config://ref1/\(path)" }

    func object(_ path: String) -> String { String(path.dropFirst(Self.container.count + 1)) }

    func write<Source: AsyncSequence>(
        imageID: String, from source: Source, observe: (ByteBuffer) throws -> Void
    ) async throws -> String where Source.Element == ByteBuffer {
        let staged = try await staging.write(imageID: imageID, from: source, observe: observe)
        do {
            try await client.ensureContainer(Self.container)
            try await FileSystem.shared.withFileHandle(forReadingAt: .init(staged)) { handle in
                _ = try await client.put(
                    container: Self.container, object: imageID,
                    body: handle.readChunks(chunkLength: .bytes(Int64(FileStore.chunkSize))))
            }
        } catch {
            await logger.bestEffort("removing the staged upload \(staged)") { try await staging.delete(path: staged) }
            throw error
        }
        await logger.bestEffort("removing the staged upload \(staged)") { try await staging.delete(path: staged) }
        return "\(Self.container)/\(imageID)"
    }

    func read(path: String, range: ClosedRange<Int64>?) -> ResponseBody {
        ResponseBody { writer in
            try await client.get(container: Self.container, object: object(path), range: range) { chunks in
                for try await chunk in chunks { try await writer.write(chunk) }
            }
            try await writer.finish(nil)
        }
    }

    func withChunks<R>(path: String, _ body: (any AsyncSequence<ByteBuffer, any Error>) async throws -> R) async throws
        -> R
    {
        try await client.get(container: Self.container, object: object(path), range: nil, body)
    }

    func delete(path: String) async throws {
        try await client.delete(container: Self.container, object: object(path))
    }

    func removeIncompleteWrites() async throws {
        try await staging.removeIncompleteWrites()
    }
}
