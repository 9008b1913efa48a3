import Foundation
import Logging
import Hummingbird
import NIOCore
import _NIOFileSystem

/// Image data as files in a directory: `<dir>/<image id>`. Writes go to `<name>.partial`
/// and are renamed into place once complete.
struct FileStore: DataStore {
    let id: String
    let directory: String
    var type: String { "file" }
    var description: String { "Local file store in \(directory)" }

    var isWritable: Bool { true }

    func url(for path: String) -> String { "file://\(path)" }

    static let partialSuffix = ".partial"
    static let chunkSize = 1 << 20
    /// Downloads read smaller chunks: the connection buffers a number of chunks when the client
    /// reads slower than the disk, so their size bounds the memory a download holds.
    static let downloadChunkSize = 256 << 10

    let logger: Logger

    init(id: String, directory: String, logger: Logger = Logger(label: "stratus.image.store")) throws {
        self.id = id
        self.directory = directory
        self.logger = logger
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func write<Source: AsyncSequence>(
        imageID: String, from source: Source, observe: (ByteBuffer) throws -> Void
    ) async throws -> String where Source.Element == ByteBuffer {
        let path = "\(directory)/\(imageID)"
        let partial = path + Self.partialSuffix + "-" + UUID().uuidString.prefix(8)
        do {
            try await FileSystem.shared.withFileHandle(forWritingAt: .init(partial), options: .newFile(replaceExisting: true)) { handle in
                try await handle.withBufferedWriter(capacity: .bytes(Int64(Self.chunkSize))) { writer in
                    for try await chunk in source {
                        try observe(chunk)
                        try await writer.write(contentsOf: chunk)
                    }
                }
            }
            try await FileSystem.shared.replaceItem(at: .init(path), withItemAt: .init(partial))
            return path
        } catch {
            // What is left is also removed at the next start (`removeIncompleteWrites`).
            await logger.bestEffort("removing the partial write \(partial)") {
                try await FileSystem.shared.removeItem(at: .init(partial))
            }
            throw error
        }
    }

    func read(path: String, range: ClosedRange<Int64>?) -> ResponseBody {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        let range = range ?? 0...max(size - 1, 0)
        guard size > 0 else { return ResponseBody() }
        return ResponseBody(contentLength: Int(range.upperBound - range.lowerBound + 1)) { writer in
            try await FileSystem.shared.withFileHandle(forReadingAt: .init(path)) { handle in
                let chunks = handle.readChunks(in: range, chunkLength: .bytes(Int64(Self.downloadChunkSize)))
                for try await chunk in chunks {
                    try await writer.write(chunk)
                }
            }
            try await writer.finish(nil)
        }
    }

    func withChunks<R>(path: String, _ body: (any AsyncSequence<ByteBuffer, any Error>) async throws -> R) async throws -> R {
        try await FileSystem.shared.withFileHandle(forReadingAt: .init(path)) { handle in
            try await body(handle.readChunks(chunkLength: .bytes(Int64(Self.chunkSize))))
        }
    }

    func delete(path: String) async throws {
        _ = try await FileSystem.shared.removeItem(at: .init(path))
    }

    func removeIncompleteWrites() async throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.contains(Self.partialSuffix) {
            try await delete(path: "\(directory)/\(name)")
        }
    }
}
