import Foundation
import Logging

/// Reads every object's newest data file and compares its bytes with its ETag, as Swift's
/// object auditor: a mismatch moves the object to quarantine (and the next replication pass
/// brings a good copy back). Reads are paced to `bytesPerSecond` so serving stays fast.
struct Auditor: Sendable {
    let disks: [ObjectDisk]
    let bytesPerSecond: Int64
    let logger: Logger

    struct Report: Sendable, Equatable {
        var checked = 0
        var quarantined = 0
    }

    func pass() async throws -> Report {
        var report = Report()
        let start = ContinuousClock.now
        var bytes: Int64 = 0
        for disk in disks {
            for partition in try await disk.partitions() {
                for (hash, files) in try await disk.objects(in: partition) {
                    guard let newest = files.newest, newest.hasSuffix(".data") else { continue }
                    let path = "\(disk.directory(partition: partition, hash: hash))/\(newest)"
                    report.checked += 1
                    var intact = false
                    do {
                        let result = try await disk.check(path)
                        intact = result.intact
                        bytes += result.bytes
                    } catch ObjectDiskError.corrupt {
                        intact = false  // a header that does not parse is corrupt too
                    }
                    if !intact {
                        logger.error("object \(hash) on \(disk.root) fails its checksum: quarantined")
                        try await disk.quarantine(partition: partition, hash: hash)
                        report.quarantined += 1
                    }
                    try await pace(bytes: bytes, since: start)
                }
            }
        }
        return report
    }

    /// Sleeps while the pass is ahead of its byte budget.
    func pace(bytes: Int64, since start: ContinuousClock.Instant) async throws {
        guard bytesPerSecond > 0 else { return }
        let due = Duration.seconds(Double(bytes) / Double(bytesPerSecond))
        let elapsed = ContinuousClock.now - start
        if due > elapsed { try await Task.sleep(for: due - elapsed) }
    }
}
