import Crypto
import Foundation
import Logging
import NIOCore
import StratusCore

public enum ReplicaError: Error, Equatable, CustomStringConvertible {
    /// Fewer replicas than a quorum took the write (Swift's 503).
    case noQuorum(succeeded: Int, needed: Int)

    public var description: String {
        switch self {
        case .noQuorum(let succeeded, let needed): return "\(succeeded) replicas stored the write, \(needed) needed"
        }
    }
}

/// Where one object's replicas live.
public struct ObjectLocation: Sendable {
    public let partition: Int
    public let hash: String
    public let disks: [ObjectDisk]
}

/// An object's copies on the ring's devices, as the proxy writes and reads them: a write
/// goes to every replica at once and succeeds when a majority has it on disk; a read takes
/// the newest state any replica holds.
public struct ObjectReplicas: Sendable {
    public let ring: Ring
    /// Each device's disk, by device id.
    let disks: [Int: ObjectDisk]
    let logger: Logger

    public init(ring: Ring, logger: Logger) {
        self.ring = ring
        self.disks = Dictionary(
            uniqueKeysWithValues: ring.devices.map { ($0.id, ObjectDisk(root: $0.path, logger: logger)) })
        self.logger = logger
    }

    public func locate(account: String, container: String, object: String) -> ObjectLocation {
        let partition = ring.partition(account: account, container: container, object: object)
        let path = "/\(account)/\(container)/\(object)"
        return ObjectLocation(
            partition: partition, hash: ObjectDisk.hash(path, suffix: ring.hashSuffix),
            disks: ring.devices(forPartition: partition).compactMap { disks[$0.id] })
    }

    static func quorum(_ replicas: Int) -> Int { replicas / 2 + 1 }

    /// Streams `body` to every replica; the bytes' MD5 must be `expectedETag` when given.
    public func put<Body: AsyncSequence>(
        _ location: ObjectLocation, metadata: ObjectMetadata, expectedETag: String?, body: Body
    ) async throws -> ObjectMetadata where Body.Element == ByteBuffer {
        let needed = Self.quorum(location.disks.count)
        var writers: [ObjectWriter] = []
        for disk in location.disks {
            do {
                writers.append(
                    try await disk.create(
                        partition: location.partition, hash: location.hash, timestamp: metadata.timestamp))
            } catch {
                logger.error("cannot write \(metadata.name) to \(disk.root): \(error)")
            }
        }
        return try await ReplicaWrite(writers: writers, needed: needed, logger: logger)
            .store(metadata, expectedETag: expectedETag, body: body)
    }

    /// The newest state among the replicas, and the disk holding it (nil when none has it).
    public func newest(_ location: ObjectLocation) async -> (state: ObjectDisk.State, disk: ObjectDisk?) {
        var best: (state: ObjectDisk.State, disk: ObjectDisk?) = (.missing, nil)
        for disk in location.disks {
            let state: ObjectDisk.State
            do {
                state = try await disk.state(partition: location.partition, hash: location.hash)
            } catch {
                logger.error("cannot read \(location.hash) on \(disk.root): \(error)")
                continue
            }
            if Self.timestamp(state) > Self.timestamp(best.state) { best = (state, disk) }
        }
        return best
    }

    static func timestamp(_ state: ObjectDisk.State) -> String {
        switch state {
        case .object(let metadata, _, _): return metadata.timestamp
        case .deleted(let timestamp): return timestamp
        case .missing: return ""
        }
    }

    /// A tombstone on every replica.
    public func delete(_ location: ObjectLocation, timestamp: String) async throws {
        try await everyReplica(location) { disk in
            try await disk.delete(partition: location.partition, hash: location.hash, timestamp: timestamp)
        }
    }

    /// New metadata on every replica.
    public func post(_ location: ObjectLocation, update: MetadataUpdate) async throws {
        try await everyReplica(location) { disk in
            try await disk.post(partition: location.partition, hash: location.hash, update: update)
        }
    }

    private func everyReplica(
        _ location: ObjectLocation, _ body: @escaping @Sendable (ObjectDisk) async throws -> Void
    ) async throws {
        let needed = Self.quorum(location.disks.count)
        let succeeded = await ReplicaWrite.succeeded(location.disks, logger: logger, body).count
        guard succeeded >= needed else { throw ReplicaError.noQuorum(succeeded: succeeded, needed: needed) }
    }
}
