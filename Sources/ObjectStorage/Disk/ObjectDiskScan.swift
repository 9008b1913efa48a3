import Foundation
import NIOCore
import _NIOFileSystem

/// What the replicator and auditor read and change on a device, object directory by directory.
extension ObjectDisk {
    /// The files of one object directory, newest state first where it matters.
    struct ObjectFiles: Sendable, Equatable {
        var names: [String]
        /// Hidden `.part` files: writes in progress, or left by a crash.
        var partials: [String] = []

        /// The newest `.data` or `.ts` file: the object's state.
        var newest: String? { names.filter { $0.hasSuffix(".data") || $0.hasSuffix(".ts") }.max(by: Self.older) }
        /// The newest `.meta` newer than the state.
        var meta: String? {
            guard let newest else { return nil }
            return names.filter { $0.hasSuffix(".meta") && Self.older(newest, $0) }.max(by: Self.older)
        }

        /// Orders file names by their timestamp (the name without its extension).
        static func older(_ a: String, _ b: String) -> Bool { stamp(a) < stamp(b) }
        /// `0001700000000.12345` of `0001700000000.12345.data`.
        static func stamp(_ name: String) -> String { name.split(separator: ".").prefix(2).joined(separator: ".") }
    }

    /// The partitions this device holds objects of.
    func partitions() async throws -> [Int] {
        try await Self.names(in: "\(root)/objects").compactMap(Int.init).sorted()
    }

    /// Every object directory of `partition`: hash to its (visible) files.
    func objects(in partition: Int) async throws -> [String: ObjectFiles] {
        var objects: [String: ObjectFiles] = [:]
        let base = "\(root)/objects/\(partition)"
        for suffix in try await Self.names(in: base) {
            for hash in try await Self.names(in: "\(base)/\(suffix)") {
                let all = try await Self.names(in: "\(base)/\(suffix)/\(hash)")
                let files = ObjectFiles(
                    names: all.filter { !$0.hasPrefix(".") }, partials: all.filter { $0.hasPrefix(".") })
                if !all.isEmpty { objects[hash] = files }
            }
        }
        return objects
    }

    /// Copies another replica's file `name` (a data file with its header, a tombstone or a
    /// POST's metadata) into this device's directory for the object, durably, then drops the
    /// states it supersedes.
    func receive(_ name: String, from source: String, partition: Int, hash: String) async throws {
        let directory = directory(partition: partition, hash: hash)
        try await FileSystem.shared.createDirectory(at: .init(directory), withIntermediateDirectories: true)
        let partial = "\(directory)/.\(name).\(UUID().uuidString.prefix(8)).part"
        do {
            try await FileSystem.shared.withFileHandle(
                forWritingAt: .init(partial), options: .newFile(replaceExisting: true)
            ) { target in
                try await FileSystem.shared.withFileHandle(forReadingAt: .init(source)) { input in
                    var offset: Int64 = 0
                    for try await chunk in input.readChunks(chunkLength: .mebibytes(1)) {
                        try await target.write(contentsOf: chunk, toAbsoluteOffset: offset)
                        offset += Int64(chunk.readableBytes)
                    }
                }
                try await target.synchronize()
            }
            try await Self.rename(partial, to: "\(directory)/\(name)", in: directory)
        } catch {
            await logger.bestEffort("removing \(partial)") {
                try await FileSystem.shared.removeItem(at: .init(partial))
            }
            throw error
        }
        if !name.hasSuffix(".meta") {
            try await Self.removeOlder(than: ObjectFiles.stamp(name), in: directory)
        }
    }

    /// Removes partial files older than `cutoff` (left by writes a crash cut short: no write
    /// of this process started before it).
    func removePartials(_ names: [String], partition: Int, hash: String, olderThan cutoff: Date) async throws -> Int {
        var removed = 0
        let directory = directory(partition: partition, hash: hash)
        for name in names {
            let path = FilePath("\(directory)/\(name)")
            // Gone already: its write finished or failed since the directory was listed.
            guard let info = try await FileSystem.shared.info(forFileAt: path) else { continue }
            let modified = Date(timeIntervalSince1970: TimeInterval(info.lastDataModificationTime.seconds))
            if modified < cutoff {
                try await FileSystem.shared.removeItem(at: path)
                removed += 1
            }
        }
        return removed
    }

    /// Removes an object's directory from a device that should not hold it (a handoff).
    func removeObject(partition: Int, hash: String) async throws {
        try await FileSystem.shared.removeItem(
            at: .init(directory(partition: partition, hash: hash)), recursively: true)
    }
}
