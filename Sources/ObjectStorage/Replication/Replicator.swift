import Foundation
import Logging

/// Makes each partition's replicas agree, as Swift's object replicator: for every object any
/// device holds, the newest state (data or tombstone, and a newer POST's metadata) is copied
/// to the partition's devices that lack it, and a device the ring no longer assigns the
/// partition to (a handoff) gives its copy up once the assigned devices have it.
struct Replicator: Sendable {
    let ring: Ring
    let disks: [Int: ObjectDisk]
    let logger: Logger
    /// Partial files older than this belong to no write in progress (the process started then).
    let partialsBefore: Date

    init(replicas: ObjectReplicas, partialsBefore: Date = Date()) {
        ring = replicas.ring
        disks = replicas.disks
        logger = replicas.logger
        self.partialsBefore = partialsBefore
    }

    struct Report: Sendable, Equatable {
        var objects = 0
        var copied = 0
        var removedHandoffs = 0
        var removedPartials = 0
    }

    func pass() async throws -> Report {
        var report = Report()
        var partitions = Set<Int>()
        for disk in disks.values { partitions.formUnion(try await disk.partitions()) }
        for partition in partitions.sorted() {
            try await replicate(partition, into: &report)
        }
        return report
    }

    func replicate(_ partition: Int, into report: inout Report) async throws {
        let assigned = ring.devices(forPartition: partition).map(\.id)
        var held: [(id: Int, disk: ObjectDisk, objects: [String: ObjectDisk.ObjectFiles])] = []
        for (id, disk) in disks.sorted(by: { $0.key < $1.key }) {
            let objects = try await disk.objects(in: partition)
            if !objects.isEmpty || assigned.contains(id) { held.append((id, disk, objects)) }
        }
        for holder in held {
            for (hash, files) in holder.objects where !files.partials.isEmpty {
                report.removedPartials += try await holder.disk.removePartials(
                    files.partials, partition: partition, hash: hash, olderThan: partialsBefore)
            }
        }
        let hashes = Set(held.flatMap { $0.objects.keys })
        for hash in hashes.sorted() {
            report.objects += 1
            // The newest state and the newest POST over it, with a device holding each.
            var state: (name: String, disk: ObjectDisk)?
            for holder in held {
                guard let newest = holder.objects[hash]?.newest else { continue }
                if state == nil || ObjectDisk.ObjectFiles.older(state?.name ?? "", newest) {
                    state = (newest, holder.disk)
                }
            }
            guard let state else { continue }  // only partial files
            var meta: (name: String, disk: ObjectDisk)?
            for holder in held {
                guard let files = holder.objects[hash], files.newest == state.name, let newer = files.meta else {
                    continue
                }
                if meta == nil || ObjectDisk.ObjectFiles.older(meta?.name ?? "", newer) { meta = (newer, holder.disk) }
            }
            let directory = { (disk: ObjectDisk) in disk.directory(partition: partition, hash: hash) }
            var complete = true
            for holder in held where assigned.contains(holder.id) {
                let files = holder.objects[hash]
                do {
                    if files?.newest != state.name {
                        try await holder.disk.receive(
                            state.name, from: "\(directory(state.disk))/\(state.name)", partition: partition,
                            hash: hash)
                        report.copied += 1
                    }
                    if let meta, files?.meta != meta.name {
                        try await holder.disk.receive(
                            meta.name, from: "\(directory(meta.disk))/\(meta.name)", partition: partition, hash: hash)
                        report.copied += 1
                    }
                } catch {
                    complete = false
                    logger.error("replicating \(hash) of partition \(partition) to \(holder.disk.root): \(error)")
                }
            }
            guard complete else { continue }
            for holder in held where !assigned.contains(holder.id) && holder.objects[hash] != nil {
                try await holder.disk.removeObject(partition: partition, hash: hash)
                report.removedHandoffs += 1
            }
        }
    }
}
