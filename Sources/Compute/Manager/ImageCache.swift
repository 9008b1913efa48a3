import Foundation
import Logging
import StratusCore

/// Base images downloaded from the Image API once per process (Nova's `_base` directory),
/// shared by the hosts this process runs. Concurrent builds of one image share a download.
actor ImageCache {
    let directory: String
    let clients: ServiceClients
    let logger: Logger
    private var downloads: [String: Task<String, any Error>] = [:]

    init(directory: String, clients: ServiceClients, logger: Logger) {
        self.directory = directory
        self.clients = clients
        self.logger = logger
        logger.bestEffort("creating the image cache \(directory)") {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    func path(for image: String) -> String { "\(directory)/\(image)" }

    /// The cached file of `image`, downloading it first if needed, and checked before every use.
    func fetch(_ image: String) async throws -> String {
        let target = try await download(image)
        try await verify(target, image: image)
        return target
    }

    /// Checks the cached file against the image's declared `disk_format` (Nova's image
    /// inspection): the format the inspector reads must be that one (ami, aki and ari are raw,
    /// which may hold a partition table or an ISO), alone, and pass its safety checks. A file
    /// that does not (a download that was never inspected, or one planted in the cache) fails
    /// the build with a fault before qemu-img or QEMU opens it.
    private func verify(_ path: String, image: String) async throws {
        // An image deleted since it was cached has no declared format left: it must still be safe.
        let declared = try await clients.image.image(image, token: nil)?["disk_format"]?.stringValue
        let expected = declared.map { ["ami", "aki", "ari"].contains($0) ? "raw" : $0 }
        let inspection = try await FormatInspector.inspect(try await FileImageData.open(path))
        do {
            let rules = FormatEnforcement(requireMatch: expected != nil)
            _ = try rules.check(inspection, diskFormat: expected ?? inspection.format, containerFormat: "bare")
        } catch let error as APIError {
            throw DriverFacingError("Image \(image) is not acceptable: \(error.message)")
        }
    }

    private func download(_ image: String) async throws -> String {
        let target = path(for: image)
        if FileManager.default.fileExists(atPath: target) { return target }
        if let running = downloads[image] { return try await running.value }
        let task = Task { [clients, logger] in
            do {
                try await clients.image.download(image, to: target)
            } catch let fault as ServiceFault {
                throw DriverFacingError(fault.message)
            }
            logger.info("cached image \(image)")
            return target
        }
        downloads[image] = task
        defer { downloads[image] = nil }
        return try await task.value
    }

    /// Removes cached images no server uses (and leftovers of interrupted downloads) once
    /// they are `minimumAge` old: images pre-cached for an aggregate wait for their servers
    /// (Nova's `remove_unused_original_minimum_age_seconds`).
    func prune(keeping used: Set<String>, minimumAge: TimeInterval = 86400) {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let cutoff = Date().addingTimeInterval(-minimumAge)
        for file in files where downloads[file] == nil && !used.contains(file) {
            if file.hasSuffix(".part"), downloads[String(file.dropLast(5))] != nil { continue }
            let modified =
                (try? FileManager.default.attributesOfItem(atPath: "\(directory)/\(file)")[.modificationDate]) as? Date
            if let modified, modified > cutoff { continue }
            logger.bestEffort("pruning \(file) from the image cache") {
                try FileManager.default.removeItemIfPresent(atPath: "\(directory)/\(file)")
            }
        }
    }
}
