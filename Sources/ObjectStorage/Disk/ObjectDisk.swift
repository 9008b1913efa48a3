import Crypto
import Foundation
import Logging
import NIOCore
import StratusCore
import _NIOFileSystem

/// What is stored with an object's bytes.
public struct ObjectMetadata: Codable, Sendable, Equatable {
    /// `/account/container/object`.
    public var name: String
    /// Swift's normalized timestamp (`0000001700000000.12345`): newer sorts later.
    public var timestamp: String
    public var contentType: String
    /// The MD5 of the bytes, hex.
    public var etag: String
    public var contentLength: Int64
    /// The other headers kept with the object (`X-Object-Meta-*`, `Content-Encoding` ...).
    public var headers: [String: String]
    /// The last POST's timestamp, when one changed the metadata after the data was written.
    public var modified: String?

    public init(name: String, timestamp: String, contentType: String, headers: [String: String] = [:]) {
        self.name = name
        self.timestamp = timestamp
        self.contentType = contentType
        etag = ""
        contentLength = 0
        self.headers = headers
    }
}

/// A POST's new metadata: it replaces the object's kept headers and, when given, its type.
public struct MetadataUpdate: Codable, Sendable, Equatable {
    public var timestamp: String
    public var contentType: String?
    public var headers: [String: String]

    public init(timestamp: String, contentType: String?, headers: [String: String]) {
        self.timestamp = timestamp
        self.contentType = contentType
        self.headers = headers
    }
}

extension ObjectMetadata {
    /// The metadata after a POST: Swift keeps the data's timestamp for `X-Timestamp`
    /// but reports the POST's time as `Last-Modified`.
    mutating func apply(_ update: MetadataUpdate) {
        headers = update.headers
        if let contentType = update.contentType { self.contentType = contentType }
        modified = update.timestamp
    }
}

public enum ObjectDiskError: Error, Equatable, CustomStringConvertible {
    /// The bytes' MD5 is not the `ETag` the client sent (Swift's 422).
    case etagMismatch(expected: String, actual: String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .etagMismatch(let expected, let actual): return "ETag \(expected) does not match the data's \(actual)"
        case .corrupt(let path): return "\(path) is not an object file"
        }
    }
}

/// One device's objects, as Swift's object server keeps them: a directory per object
/// (`objects/<partition>/<last 3 hex of the hash>/<hash>`) holding `<timestamp>.data` (a
/// header with the metadata, then the bytes) or a `<timestamp>.ts` tombstone; the newest
/// file is the object's state. A write goes to a hidden file that is fsynced, then renamed
/// into place, so a crash leaves the old state or the new one, never half an object.
public struct ObjectDisk: Sendable, CustomStringConvertible {
    public let root: String
    public var description: String { root }
    let logger: Logger
    static let magic: [UInt8] = Array("SOB1".utf8)

    public init(root: String, logger: Logger = Logger(label: "stratus.object-disk")) {
        self.root = root
        self.logger = logger
    }

    /// The hash naming an object's directory (the path and the ring's suffix, as partitions).
    public static func hash(_ path: String, suffix: String) -> String {
        Insecure.MD5.hash(data: Data((path + suffix).utf8)).hexEncoded()
    }

    public func directory(partition: Int, hash: String) -> String {
        "\(root)/objects/\(partition)/\(hash.suffix(3))/\(hash)"
    }

    /// The newest state of an object: its data file, a tombstone, or nothing.
    public enum State: Sendable, Equatable {
        case object(ObjectMetadata, path: String, bodyOffset: Int64)
        case deleted(timestamp: String)
        case missing
    }

    /// Stores `body` as the object's data at `metadata.timestamp`; the bytes' MD5 must be
    /// `expectedETag` when one is given. Older files of the object are removed after.
    public func put<Body: AsyncSequence>(
        partition: Int, hash: String, metadata: ObjectMetadata, expectedETag: String? = nil, body: Body
    ) async throws -> ObjectMetadata where Body.Element == ByteBuffer {
        let writer = try await create(partition: partition, hash: hash, timestamp: metadata.timestamp)
        return try await ReplicaWrite(writers: [writer], needed: 1, logger: logger)
            .store(metadata, expectedETag: expectedETag, body: body)
    }

    /// Opens a new data file for an object; the caller writes the bytes, then commits the
    /// metadata (which renames the file into place) or aborts.
    public func create(partition: Int, hash: String, timestamp: String) async throws -> ObjectWriter {
        let directory = directory(partition: partition, hash: hash)
        try await FileSystem.shared.createDirectory(at: .init(directory), withIntermediateDirectories: true)
        let partial = "\(directory)/.\(timestamp).\(UUID().uuidString.prefix(8)).part"
        let handle = try await FileSystem.shared.openFile(
            forWritingAt: .init(partial), options: .newFile(replaceExisting: true))
        return ObjectWriter(handle: handle, directory: directory, partial: partial, timestamp: timestamp)
    }

    /// Marks the object deleted at `timestamp` (a tombstone replicas can learn from).
    public func delete(partition: Int, hash: String, timestamp: String) async throws {
        let directory = directory(partition: partition, hash: hash)
        try await FileSystem.shared.createDirectory(at: .init(directory), withIntermediateDirectories: true)
        try await Self.install(ByteBuffer(), as: "\(timestamp).ts", in: directory)
        try await Self.removeOlder(than: timestamp, in: directory)
    }

    public func state(partition: Int, hash: String) async throws -> State {
        let directory = directory(partition: partition, hash: hash)
        let names = try await Self.names(in: directory)
        guard let newest = names.filter({ $0.hasSuffix(".data") || $0.hasSuffix(".ts") }).max() else {
            return .missing
        }
        if newest.hasSuffix(".ts") { return .deleted(timestamp: String(newest.dropLast(3))) }
        let path = "\(directory)/\(newest)"
        var (metadata, offset) = try await Self.readHeader(path)
        if let meta = names.filter({ $0.hasSuffix(".meta") && $0 > newest }).max() {
            let update = try await Self.readMeta("\(directory)/\(meta)")
            metadata.apply(update)
        }
        return .object(metadata, path: path, bodyOffset: offset)
    }

    /// Replaces an object's metadata at `update.timestamp` without rewriting its bytes (Swift's
    /// fast POST): a `<timestamp>.meta` file that `state` lays over the newest data file.
    public func post(partition: Int, hash: String, update: MetadataUpdate) async throws {
        let directory = directory(partition: partition, hash: hash)
        let json = try JSONEncoder().encode(update)
        try await Self.install(ByteBuffer(bytes: json), as: "\(update.timestamp).meta", in: directory)
        for name in try await Self.names(in: directory)
        where name.hasSuffix(".meta") && name < "\(update.timestamp).meta" {
            try await FileSystem.shared.removeItem(at: .init("\(directory)/\(name)"))
        }
    }

    /// Writes a small file durably: a hidden partial file, fsynced, renamed to `name`, and the
    /// directory fsynced so that the rename survives a crash.
    static func install(_ bytes: ByteBuffer, as name: String, in directory: String) async throws {
        try await FileSystem.shared.createDirectory(at: .init(directory), withIntermediateDirectories: true)
        let partial = "\(directory)/.\(name).\(UUID().uuidString.prefix(8)).part"
        try await FileSystem.shared.withFileHandle(
            forWritingAt: .init(partial), options: .newFile(replaceExisting: true)
        ) { handle in
            try await handle.write(contentsOf: bytes, toAbsoluteOffset: 0)
            try await handle.synchronize()
        }
        try await rename(partial, to: "\(directory)/\(name)", in: directory)
    }

    /// Renames a written file into place and fsyncs the directory holding it.
    static func rename(_ partial: String, to final: String, in directory: String) async throws {
        try await FileSystem.shared.replaceItem(at: .init(final), withItemAt: .init(partial))
        try await FileSystem.shared.withDirectoryHandle(atPath: .init(directory)) { try await $0.synchronize() }
    }

    static func readMeta(_ path: String) async throws -> MetadataUpdate {
        let bytes = try await FileSystem.shared.withFileHandle(forReadingAt: .init(path)) { handle in
            try await handle.readToEnd(maximumSizeAllowed: .bytes(Int64(headerCapacity)))
        }
        return try JSONDecoder().decode(MetadataUpdate.self, from: Data(bytes.readableBytesView))
    }

    /// Whether the data file's bytes still have their ETag (the auditor's check).
    public func verify(_ path: String) async throws -> Bool {
        try await check(path).intact
    }

    /// Whether the data file's bytes have their ETag and length, and how many bytes were read.
    public func check(_ path: String) async throws -> (intact: Bool, bytes: Int64) {
        let (metadata, offset) = try await Self.readHeader(path)
        var md5 = Insecure.MD5()
        var length: Int64 = 0
        try await FileSystem.shared.withFileHandle(forReadingAt: .init(path)) { handle in
            let end = try await handle.info().size
            guard end > offset else { return }
            for try await chunk in handle.readChunks(in: offset..<end, chunkLength: .mebibytes(1)) {
                chunk.withUnsafeReadableBytes { md5.update(bufferPointer: $0) }
                length += Int64(chunk.readableBytes)
            }
        }
        let etag = md5.finalize().hexEncoded()
        return (etag == metadata.etag && length == metadata.contentLength, length)
    }

    /// Moves an object's directory out of the way (`quarantined/objects/<hash>`), so it is
    /// never served and a replicator restores a good copy.
    public func quarantine(partition: Int, hash: String) async throws {
        let target = "\(root)/quarantined/objects"
        try await FileSystem.shared.createDirectory(at: .init(target), withIntermediateDirectories: true)
        let destination = "\(target)/\(hash)-\(UUID().uuidString.prefix(8))"
        try await FileSystem.shared.moveItem(
            at: .init(directory(partition: partition, hash: hash)), to: .init(destination))
    }

    // MARK: the file format

    /// The header's room: magic, a 4-byte length, the metadata JSON, padding.
    static let headerCapacity = 8192

    static func header(_ metadata: ObjectMetadata) throws -> ByteBuffer {
        let json = try JSONEncoder().encode(metadata)
        guard json.count + 8 <= headerCapacity else {
            throw ObjectDiskError.corrupt("metadata of \(metadata.name) is over \(headerCapacity - 8) bytes")
        }
        var buffer = ByteBuffer(bytes: magic)
        buffer.writeInteger(UInt32(json.count))
        buffer.writeBytes(json)
        buffer.writeRepeatingByte(0, count: headerCapacity - buffer.readableBytes)
        return buffer
    }

    static func readHeader(_ path: String) async throws -> (ObjectMetadata, Int64) {
        let head = try await FileSystem.shared.withFileHandle(forReadingAt: .init(path)) { handle in
            try await handle.readChunk(fromAbsoluteOffset: 0, length: .bytes(Int64(headerCapacity)))
        }
        var buffer = head
        guard buffer.readBytes(length: 4) == magic, let length = buffer.readInteger(as: UInt32.self),
            Int(length) + 8 <= headerCapacity, let json = buffer.readBytes(length: Int(length))
        else { throw ObjectDiskError.corrupt(path) }
        return (try JSONDecoder().decode(ObjectMetadata.self, from: Data(json)), Int64(headerCapacity))
    }

    /// The names in `directory`; none when it does not exist.
    static func names(in directory: String) async throws -> [String] {
        do {
            return try await FileSystem.shared.withDirectoryHandle(atPath: .init(directory)) { handle in
                try await handle.listContents().reduce(into: []) { $0.append($1.name.string) }
            }
        } catch let error as FileSystemError where error.code == .notFound {
            return []
        }
    }

    static func removeOlder(than timestamp: String, in directory: String) async throws {
        for name in try await Self.names(in: directory) where !name.hasPrefix(".") && name < timestamp {
            try await FileSystem.shared.removeItem(at: .init("\(directory)/\(name)"))
        }
    }
}

/// One replica's data file being written: bytes at the offsets the caller gives, then the
/// header, an fsync and the rename that makes the new state visible at once.
public struct ObjectWriter: Sendable, CustomStringConvertible {
    let handle: WriteFileHandle
    let directory: String
    let partial: String
    let timestamp: String

    public var description: String { partial }

    public func write(_ chunk: ByteBuffer, at offset: Int64) async throws {
        try await handle.write(contentsOf: chunk, toAbsoluteOffset: Int64(ObjectDisk.headerCapacity) + offset)
    }

    public func commit(_ metadata: ObjectMetadata, logger: Logger) async throws {
        do {
            try await handle.write(contentsOf: try ObjectDisk.header(metadata), toAbsoluteOffset: 0)
            try await handle.synchronize()
            try await handle.close()
            try await ObjectDisk.rename(partial, to: "\(directory)/\(timestamp).data", in: directory)
        } catch {
            await abort(logger: logger)
            throw error
        }
        try await ObjectDisk.removeOlder(than: timestamp, in: directory)
    }

    public func abort(logger: Logger) async {
        await logger.bestEffort("closing \(partial)") { try await handle.close() }
        await logger.bestEffort("removing \(partial)") { try await FileSystem.shared.removeItem(at: .init(partial)) }
    }
}
