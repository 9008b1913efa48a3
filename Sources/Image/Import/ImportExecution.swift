import AsyncHTTPClient
import Foundation
import NIOCore
import SQLKit
import StratusCore

extension ImageAPI {
    /// Runs one import task to its end. Safe to run again after a crash: every step writes
    /// data under the image's own name and the final transaction checks the image still wants it.
    func runTask(_ taskID: String) async {
        let tasks = TaskRepository()
        let claimed = await logger.bestEffort("starting import task \(taskID)") {
            try await db.transaction { db -> TaskRecord? in
                guard var task = try await tasks.get(taskID, in: db), ["pending", "processing"].contains(task.status) else { return nil }
                task.status = "processing"
                task.updatedAt = Date().timeIntervalSince1970
                try await tasks.save(task, in: db)
                return task
            }
        }
        guard let task = claimed else { return }
        let imageID = task.imageID ?? ""
        let method = task.input["import_req"]?["method"]?["name"]?.stringValue ?? ""
        let targets = task.input["backend"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var written: [String: String] = [:]
        var adopted: [String: JSON] = [:]
        do {
            guard let image = try await db.read({ db in try await repository.get(imageID, in: db) }) else {
                throw APIError.notFound("Image \(imageID) no longer exists.")
            }
            var data: ReceivedData?
            switch method {
            case "glance-direct":
                let staged = "\(staging.directory)/\(imageID)"
                data = try await staging.withChunks(path: staged) { chunks in
                    try await storeFirst(image, from: chunks, targets: targets, written: &written)
                }
            case "web-download":
                let url = try webDownloadURL(task.input["import_req"]?["method"]?["uri"])
                data = try await RemoteImage.download(url.absoluteString, token: nil) { body in
                    try await storeFirst(image, from: body, targets: targets, written: &written)
                }
            case "glance-download":
                let (received, remote) = try await glanceDownload(
                    task, image: image, targets: targets, written: &written)
                data = received
                adopted = remote
            case "copy-image":
                guard let location = image.locations.first, let source = stores[location.store] else {
                    throw APIError.conflict("Image \(imageID) has no data to copy.")
                }
                for target in targets {
                    guard let store = stores[target] else { continue }
                    written[target] = try await source.withChunks(path: location.path) { chunks in
                        try await store.write(imageID: imageID, from: chunks) { _ in }
                    }
                }
            default:
                throw APIError.badRequest("Import method \(method) is not valid")
            }
            if let data, let first = targets.first, let firstPath = written[first], let store = stores[first] {
                for target in targets.dropFirst() {
                    guard let other = stores[target] else { continue }
                    written[target] = try await store.withChunks(path: firstPath) { chunks in
                        try await other.write(imageID: imageID, from: chunks) { _ in }
                    }
                }
                _ = data
            }
            try await finishTask(
                taskID, imageID: imageID, method: method, data: data, written: written, adopted: adopted)
            if method == "glance-direct" { await discard("\(staging.directory)/\(imageID)", from: staging) }
        } catch {
            logger.warning("image import task \(taskID) failed: \(error)")
            for (storeID, path) in written { await discard(path, from: stores[storeID]) }
            await failTask(taskID, imageID: imageID, method: method, targets: targets, message: "\(error)")
        }
    }

    /// Streams the import's source into the first target store, inspecting it on the way.
    private func storeFirst<Source: AsyncSequence>(
        _ image: ImageRecord, from source: Source, targets: [String], written: inout [String: String]
    ) async throws -> ReceivedData where Source.Element == ByteBuffer {
        guard let first = targets.first, let store = stores[first] else {
            throw APIError.badRequest("No store to import into.")
        }
        var inspector = DataInspector(
            limit: limits.sizeCap, limitMessage: "Image exceeds the size limit of \(limits.sizeCap) bytes.")
        let path = try await store.write(imageID: image.id, from: source) { chunk in try inspector.observe(chunk) }
        written[first] = path
        let digest = inspector.finish()
        let virtualSize = try formats.check(
            try await inspector.inspect(), diskFormat: image.diskFormat, containerFormat: image.containerFormat)
        return ReceivedData(
            path: path, size: inspector.size, checksum: digest.checksum, hash: digest.hash, virtualSize: virtualSize)
    }

    /// glance-download: finds the source image through the caller's catalog and streams its data.
    private func glanceDownload(
        _ task: TaskRecord, image: ImageRecord, targets: [String], written: inout [String: String]
    ) async throws -> (ReceivedData, [String: JSON]) {
        guard let token = queue.takeToken(for: task.id) else {
            throw APIError.badRequest("The caller's credentials are no longer available (the service restarted).")
        }
        let method = task.input["import_req"]?["method"]
        let sourceID = method?["glance_image_id"]?.stringValue ?? ""
        let endpoint = try await RemoteImage.imageEndpoint(
            identityURL: identityURL, token: token, region: method?["glance_region"]?.stringValue ?? "RegionOne",
            interface: method?["glance_service_interface"]?.stringValue ?? "public")
        let source = try await RemoteImage.getJSON("\(endpoint)/v2/images/\(sourceID)", token: token)
        guard source["status"]?.stringValue == "active" else {
            throw APIError.conflict("Remote image \(sourceID) is not active.")
        }
        var adopted: [String: JSON] = [:]
        for (key, value) in source.objectValue ?? [:] where Self.downloadedProperties.contains(where: { key.hasPrefix($0) }) {
            adopted[key] = value
        }
        adopted["disk_format"] = source["disk_format"]
        adopted["container_format"] = source["container_format"]
        let data = try await RemoteImage.download("\(endpoint)/v2/images/\(sourceID)/file", token: token) { body in
            try await storeFirst(image, from: body, targets: targets, written: &written)
        }
        return (data, adopted)
    }

    /// Properties glance-download copies from the source image (Glance's default list).
    static let downloadedProperties = ["hw_", "trait:", "os_distro", "os_secure_boot", "os_type"]

    private func finishTask(
        _ taskID: String, imageID: String, method: String, data: ReceivedData?, written: [String: String], adopted: [String: JSON]
    ) async throws {
        let tasks = TaskRepository()
        try await db.transaction { db in
            guard var image = try await repository.get(imageID, in: db), image.properties["os_glance_import_task"] == taskID,
                image.status == (method == "copy-image" ? .active : .importing)
            else { throw APIError.conflict("Image \(imageID) was deleted or changed during the import.") }
            let previous = image
            if let data { image.record(data) }
            for (key, value) in adopted {
                switch key {
                case "disk_format": image.diskFormat = value.stringValue
                case "container_format": image.containerFormat = value.stringValue
                default: if let text = value.stringValue { image.properties[key] = text }
                }
            }
            for (store, path) in written.sorted(by: { $0.key < $1.key }) { image.setLocation(store: store, path: path) }
            image.status = .active
            image.properties["os_glance_importing_to_stores"] = ""
            image.updatedAt = Date().timeIntervalSince1970
            try await repository.save(image, previous: previous, in: db)
            guard var task = try await tasks.get(taskID, in: db) else { return }
            task.status = "success"
            task.result = ["image_id": .string(imageID)]
            task.updatedAt = image.updatedAt
            task.expiresAt = image.updatedAt + 48 * 3600
            try await tasks.save(task, in: db)
        }
    }

    private func failTask(_ taskID: String, imageID: String, method: String, targets: [String], message: String) async {
        let tasks = TaskRepository()
        await logger.bestEffort("failing import task \(taskID)") {
            try await db.transaction { db in
                if var image = try await repository.get(imageID, in: db), image.properties["os_glance_import_task"] == taskID {
                    let previous = image
                    if image.status == .importing {
                        let staged = FileManager.default.fileExists(atPath: "\(staging.directory)/\(imageID)")
                        image.status = method == "glance-direct" && staged ? .uploading : .queued
                    }
                    image.properties["os_glance_importing_to_stores"] = ""
                    image.properties["os_glance_failed_import"] = targets.joined(separator: ",")
                    image.updatedAt = Date().timeIntervalSince1970
                    try await repository.save(image, previous: previous, in: db)
                }
                guard var task = try await tasks.get(taskID, in: db) else { return }
                task.status = "failure"
                task.message = message
                task.updatedAt = Date().timeIntervalSince1970
                task.expiresAt = task.updatedAt + 48 * 3600
                try await tasks.save(task, in: db)
            }
        }
    }

    /// At start-up: uploads a crash cut off go back to where they started, and unfinished
    /// import tasks run again.
    func recoverInterruptedWork() async throws {
        for store in stores.all + [staging, cache] {
            await logger.bestEffort("removing incomplete writes of store \(store.id)") {
                try await store.removeIncompleteWrites()
            }
        }
        let pending = try await db.transaction { db in
            try await db.update("images").set("status", to: SQLBind(ImageStatus.queued.rawValue))
                .where("status", .equal, SQLBind(ImageStatus.saving.rawValue)).where("deleted_at", .is, SQLLiteral.null).run()
            return try await TaskRepository().unfinished(in: db)
        }
        for id in pending { queue.submit(.task(id)) }
        for id in try await queuedCacheFills() { queue.submit(.cache(imageID: id)) }
    }
}
