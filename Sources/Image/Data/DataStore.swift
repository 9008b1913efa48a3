import Foundation
import Hummingbird
import NIOCore

/// A place image data lives (Glance's "store"): the local file store now, object storage later.
/// Paths are opaque to everything but the store that made them.
protocol DataStore: Sendable {
    var id: String { get }
    var type: String { get }
    var description: String { get }

    /// Writes `source` as the data of `imageID` and returns its path. `observe` sees every chunk
    /// before it is written and may throw to abort. The data becomes visible only once it is
    /// complete: a failed or cut-off write leaves nothing behind.
    func write<Source: AsyncSequence>(
        imageID: String, from source: Source, observe: (ByteBuffer) throws -> Void
    ) async throws -> String where Source.Element == ByteBuffer

    /// The bytes of `path` in `range` (the whole file when nil), streamed.
    func read(path: String, range: ClosedRange<Int64>?) -> ResponseBody

    /// Runs `body` on the bytes of `path` as a sequence of chunks (for copying between stores).
    func withChunks<R>(path: String, _ body: (any AsyncSequence<ByteBuffer, any Error>) async throws -> R) async throws -> R

    func delete(path: String) async throws

    /// The location URL clients see for `path`.
    func url(for path: String) -> String

    /// Whether clients may import into this store (http stores only point at data elsewhere).
    var isWritable: Bool { get }

    /// Removes leftovers of writes a crash interrupted.
    func removeIncompleteWrites() async throws
}
