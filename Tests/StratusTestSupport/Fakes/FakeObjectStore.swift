import Foundation
import NIOCore
import StratusCore
import Synchronization

/// Object Storage in memory, for services' flows with a `swift` store.
public final class FakeObjectStore: ObjectStoreClient {
    let state = Mutex<[String: [UInt8]]>([:])

    public init() {}

    /// `<container>/<object>` to bytes.
    public var objects: [String: [UInt8]] { state.withLock { $0 } }

    public func ensureContainer(_ container: String) async throws {}

    public func put<Body: AsyncSequence & Sendable>(
        container: String, object: String, body: Body
    ) async throws -> String where Body.Element == ByteBuffer {
        var bytes: [UInt8] = []
        for try await chunk in body { bytes += chunk.readableBytesView }
        let stored = bytes
        state.withLock { $0["\(container)/\(object)"] = stored }
        return ""
    }

    public func get<R>(
        container: String, object: String, range: ClosedRange<Int64>?,
        _ body: (any AsyncSequence<ByteBuffer, any Error>) async throws -> R
    ) async throws -> R {
        guard var bytes = state.withLock({ $0["\(container)/\(object)"] }) else {
            throw ServiceClientError.status(404, "no object \(container)/\(object)")
        }
        if let range {
            bytes = Array(bytes[Int(range.lowerBound)...Int(min(range.upperBound, Int64(bytes.count - 1)))])
        }
        let chunk = ByteBuffer(bytes: bytes)
        let stream = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
            continuation.yield(chunk)
            continuation.finish()
        }
        return try await body(stream)
    }

    public func delete(container: String, object: String) async throws {
        _ = state.withLock { $0.removeValue(forKey: "\(container)/\(object)") }
    }

    public func list(container: String, prefix: String) async throws -> [String] {
        state.withLock { $0.keys.filter { $0.hasPrefix("\(container)/\(prefix)") } }
            .map { String($0.dropFirst(container.count + 1)) }.sorted()
    }
}
