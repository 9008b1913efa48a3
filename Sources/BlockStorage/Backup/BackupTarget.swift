import Foundation
import NIOCore
import StratusCore
import _NIOFileSystem

/// Where backup chunks and manifests are kept: Cinder's backup drivers. Each backup is a
/// set of named objects (`chunk-<n>`, `manifest.json`) in a container.
protocol BackupTarget: Sendable {
    func put(_ buffer: ByteBuffer, container: String, backup: String, name: String) async throws
    /// The object's bytes, up to `limit`.
    func get(container: String, backup: String, name: String, limit: Int) async throws -> ByteBuffer
    /// Removes every object of the backup; nothing there is no error.
    func delete(container: String, backup: String) async throws
    /// The backups held (container, backup id), for the recovery of data no record owns.
    func held() async throws -> [(container: String, backup: String)]
}

/// The posix driver: `<root>/<container>/<backup>/<name>` files.
struct PosixBackupTarget: BackupTarget {
    let root: String

    func directory(_ container: String, _ backup: String) -> String { "\(root)/\(container)/\(backup)" }

    func put(_ buffer: ByteBuffer, container: String, backup: String, name: String) async throws {
        let directory = directory(container, backup)
        try await FileSystem.shared.createDirectory(at: FilePath(directory), withIntermediateDirectories: true)
        let options = OpenOptions.Write.newFile(replaceExisting: true)
        try await FileSystem.shared.withFileHandle(forWritingAt: FilePath("\(directory)/\(name)"), options: options) {
            handle in
            try await handle.write(contentsOf: buffer, toAbsoluteOffset: 0)
        }
    }

    func get(container: String, backup: String, name: String, limit: Int) async throws -> ByteBuffer {
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath("\(directory(container, backup))/\(name)")) {
            try await $0.readToEnd(maximumSizeAllowed: .bytes(Int64(limit)))
        }
    }

    func delete(container: String, backup: String) async throws {
        try FileManager.default.removeItemIfPresent(atPath: directory(container, backup))
    }

    func held() async throws -> [(container: String, backup: String)] {
        var held: [(String, String)] = []
        // A root or container that does not exist yet holds nothing.
        let containers = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for container in containers where !container.hasPrefix(".") {
            for id in (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(container)")) ?? [] {
                held.append((container, id))
            }
        }
        return held
    }
}

/// The swift driver: objects `<backup>/<name>` of the container in the `cinder` service
/// user's Object Storage account, through its API.
struct SwiftBackupTarget: BackupTarget {
    let client: any ObjectStoreClient

    func put(_ buffer: ByteBuffer, container: String, backup: String, name: String) async throws {
        try await client.ensureContainer(container)
        let chunk = buffer
        let body = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
            continuation.yield(chunk)
            continuation.finish()
        }
        _ = try await client.put(container: container, object: "\(backup)/\(name)", body: body)
    }

    func get(container: String, backup: String, name: String, limit: Int) async throws -> ByteBuffer {
        try await client.get(container: container, object: "\(backup)/\(name)", range: nil) { chunks in
            var buffer = ByteBuffer()
            for try await var chunk in chunks {
                guard buffer.readableBytes + chunk.readableBytes <= limit else {
                    throw VolumeDriverError("backup object \(backup)/\(name) is larger than \(limit) bytes")
                }
                buffer.writeBuffer(&chunk)
            }
            return buffer
        }
    }

    func delete(container: String, backup: String) async throws {
        for name in try await client.list(container: container, prefix: "\(backup)/") {
            try await client.delete(container: container, object: name)
        }
    }

    /// Swift keeps no local trace to reconcile: backups' objects go with their records.
    func held() async throws -> [(container: String, backup: String)] { [] }
}
