import Crypto
import Logging
import NIOCore

/// One object's bytes going to its replicas' open data files: each chunk is written to every
/// replica at once (a replica that fails is dropped while a quorum remains), the MD5 is taken
/// on the way, and the write succeeds when a quorum has committed (fsync and rename).
struct ReplicaWrite {
    var writers: [ObjectWriter]
    let needed: Int
    let logger: Logger

    func store<Body: AsyncSequence>(
        _ metadata: ObjectMetadata, expectedETag: String?, body: Body
    ) async throws -> ObjectMetadata where Body.Element == ByteBuffer {
        var open = self
        var stored = metadata
        stored.contentLength = 0
        do {
            guard writers.count >= needed else {
                throw ReplicaError.noQuorum(succeeded: writers.count, needed: needed)
            }
            var md5 = Insecure.MD5()
            for try await chunk in body {
                chunk.withUnsafeReadableBytes { md5.update(bufferPointer: $0) }
                try await open.write(chunk, at: stored.contentLength)
                stored.contentLength += Int64(chunk.readableBytes)
            }
            stored.etag = md5.finalize().hexEncoded()
            if let expectedETag, expectedETag.lowercased() != stored.etag {
                throw ObjectDiskError.etagMismatch(expected: expectedETag, actual: stored.etag)
            }
        } catch {
            await Self.abort(open.writers, logger: logger)
            throw error
        }
        let final = stored
        let committed = await Self.succeeded(open.writers, logger: logger) { writer in
            try await writer.commit(final, logger: logger)
        }
        guard committed.count >= needed else {
            throw ReplicaError.noQuorum(succeeded: committed.count, needed: needed)
        }
        return stored
    }

    private mutating func write(_ chunk: ByteBuffer, at offset: Int64) async throws {
        if writers.count == 1, let writer = writers.first {
            try await writer.write(chunk, at: offset)
            return
        }
        let alive = await Self.succeeded(writers, logger: logger) { try await $0.write(chunk, at: offset) }
        let failed = writers.indices.filter { !alive.contains($0) }
        await Self.abort(failed.map { writers[$0] }, logger: logger)
        writers = alive.sorted().map { writers[$0] }
        guard writers.count >= needed else { throw ReplicaError.noQuorum(succeeded: writers.count, needed: needed) }
    }

    static func abort(_ writers: [ObjectWriter], logger: Logger) async {
        for writer in writers { await writer.abort(logger: logger) }
    }

    /// Runs `body` for every item at once; the indices of the items it succeeded for (failures are logged).
    static func succeeded<Item: Sendable>(
        _ items: [Item], logger: Logger, _ body: @escaping @Sendable (Item) async throws -> Void
    ) async -> Set<Int> {
        await withTaskGroup(of: (Int, Bool).self) { group in
            for (index, item) in items.enumerated() {
                group.addTask {
                    do {
                        try await body(item)
                        return (index, true)
                    } catch {
                        logger.error("replica operation on \(item) failed: \(error)")
                        return (index, false)
                    }
                }
            }
            return await group.reduce(into: Set<Int>()) { if $1.1 { $0.insert($1.0) } }
        }
    }
}
