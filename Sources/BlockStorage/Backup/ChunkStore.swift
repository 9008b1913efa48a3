import Crypto
import Foundation
import NIOCore
import NIOPosix
import StratusCore
import _NIOFileSystem

/// What a backup holds: the volume's bytes as fixed-size chunks, each kept by this backup
/// or, unchanged since the parent, by an earlier one of its chain. Chunks of zeros are not
/// stored at all (thin volumes back up as what they hold).
struct BackupManifest: Codable, Sendable, Equatable {
    struct Chunk: Codable, Sendable, Equatable {
        var index: Int
        /// Of the chunk's bytes as the volume holds them.
        var sha256: String
        /// The backup whose directory holds the chunk; nil for zeros.
        var backup: String?
        /// How the stored file is compressed (chunks of a parent keep the parent's).
        var compression: BackupCompression?
    }

    /// What a restore gives the volume besides its bytes.
    struct VolumeInfo: Codable, Sendable, Equatable {
        var metadata: [String: String]
        var bootable: Bool
        var imageMetadata: [String: String]?

        enum CodingKeys: String, CodingKey {
            case metadata, bootable
            case imageMetadata = "image_metadata"
        }
    }

    var backupID: String
    var sizeBytes: Int64
    var chunkSize: Int
    var chunks: [Chunk]
    var volume: VolumeInfo?

    enum CodingKeys: String, CodingKey {
        case backupID = "backup_id"
        case sizeBytes = "size_bytes"
        case chunkSize = "chunk_size"
        case chunks, volume
    }

    /// Chunks this backup itself stored.
    var ownChunks: Int { chunks.filter { $0.backup == backupID }.count }
}

/// `backup_compression_algorithm`: how new chunk files are compressed.
enum BackupCompression: String, Codable, Sendable {
    case none, zlib
}

/// Backups as checksummed, compressed chunks (zero chunks and a parent's unchanged chunks are
/// not stored again) and a manifest, written last, so a backup without one is incomplete; the
/// objects go to a `BackupTarget` (posix files or Object Storage).
struct ChunkStore: Sendable {
    let target: any BackupTarget
    let chunkSize: Int
    var compression = BackupCompression.zlib

    /// Stores `source` (a raw image) as backup `id`, reusing `parent`'s unchanged chunks.
    func write(
        _ id: String, container: String, source: String, parent: BackupManifest?, volume: BackupManifest.VolumeInfo
    ) async throws -> BackupManifest {
        var chunks: [BackupManifest.Chunk] = []
        let size = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(source)) { handle in
            let size = try await handle.info().size
            var offset: Int64 = 0
            var index = 0
            while offset < size {
                let buffer = try await handle.readChunk(fromAbsoluteOffset: offset, length: .bytes(Int64(chunkSize)))
                // Hashing a chunk is CPU work: off the cooperative pool, so other requests keep running.
                let (digest, zero) = try await NIOThreadPool.singleton.runIfActive {
                    (Self.sha256(buffer), Self.isZero(buffer))
                }
                var chunk = BackupManifest.Chunk(index: index, sha256: digest, backup: id)
                if zero {
                    chunk.backup = nil
                } else if let previous = parent?.chunks.first(where: { $0.index == index }), previous.sha256 == digest
                {
                    chunk = previous
                } else {
                    let (stored, compressed) = try await store(buffer)
                    chunk.compression = compressed
                    try await target.put(stored, container: container, backup: id, name: "chunk-\(index)")
                }
                chunks.append(chunk)
                offset += Int64(buffer.readableBytes)
                index += 1
            }
            return size
        }
        let manifest = BackupManifest(
            backupID: id, sizeBytes: size, chunkSize: chunkSize, chunks: chunks, volume: volume)
        try await target.put(
            ByteBuffer(bytes: try JSONEncoder().encode(manifest)), container: container, backup: id,
            name: "manifest.json")
        return manifest
    }

    func manifest(_ id: String, container: String) async throws -> BackupManifest {
        let buffer = try await target.get(container: container, backup: id, name: "manifest.json", limit: 64 << 20)
        return try JSONDecoder().decode(BackupManifest.self, from: Data(buffer.readableBytesView))
    }

    /// Writes the backup's bytes into a new raw file `path` of `sizeBytes`, checking each
    /// chunk against its checksum.
    func restore(_ manifest: BackupManifest, container: String, to path: String, sizeBytes: Int64) async throws {
        let options = OpenOptions.Write.newFile(replaceExisting: true)
        try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(path), options: options) { out in
            for chunk in manifest.chunks {
                guard let owner = chunk.backup else { continue }
                // zlib makes incompressible data a little larger than it was
                let limit = manifest.chunkSize + manifest.chunkSize / 1000 + 64
                let stored = try await target.get(
                    container: container, backup: owner, name: "chunk-\(chunk.index)", limit: limit)
                let (buffer, digest) = try await NIOThreadPool.singleton.runIfActive {
                    let buffer =
                        chunk.compression == .zlib ? try Zlib.inflate(stored, limit: manifest.chunkSize) : stored
                    return (buffer, Self.sha256(buffer))
                }
                guard digest == chunk.sha256 else {
                    throw VolumeDriverError("backup chunk \(chunk.index) of \(owner) does not match its checksum")
                }
                try await out.write(
                    contentsOf: buffer, toAbsoluteOffset: Int64(chunk.index) * Int64(manifest.chunkSize))
            }
            try await out.resize(to: .bytes(max(sizeBytes, manifest.sizeBytes)))
        }
    }

    /// The chunk's bytes as its file holds them, compressed off the cooperative pool, and how.
    /// Data whose first 64 KiB do not shrink by a tenth (encrypted, already compressed) is
    /// stored as it is: compressing it would cost time and save nothing.
    private func store(_ buffer: ByteBuffer) async throws -> (ByteBuffer, BackupCompression) {
        guard compression == .zlib else { return (buffer, .none) }
        let compressed: ByteBuffer? = try await NIOThreadPool.singleton.runIfActive {
            let probe = buffer.getSlice(at: buffer.readerIndex, length: min(buffer.readableBytes, 1 << 16)) ?? buffer
            guard try Zlib.deflate(probe).readableBytes * 10 < probe.readableBytes * 9 else { return nil }
            let whole = try Zlib.deflate(buffer)
            return whole.readableBytes < buffer.readableBytes ? whole : nil
        }
        return compressed.map { ($0, .zlib) } ?? (buffer, .none)
    }

    func delete(_ id: String, container: String) async throws {
        try await target.delete(container: container, backup: id)
    }

    static func sha256(_ buffer: ByteBuffer) -> String {
        buffer.withUnsafeReadableBytes { SHA256.hash(data: $0) }.hexEncoded()
    }

    /// Whether every byte is zero, a word at a time.
    static func isZero(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { bytes in
            let words = bytes.count / 8
            for index in 0..<words where bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) != 0 {
                return false
            }
            for index in (words * 8)..<bytes.count where bytes[index] != 0 { return false }
            return true
        }
    }
}
