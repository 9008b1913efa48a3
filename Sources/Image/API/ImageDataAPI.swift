import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SQLKit
import StratusCore

extension ImageAPI {
    func registerImageData(on router: Router<StratusContext>) {
        router.put("/v2/images/:image_id/file") { request, context in
            // Multi-store Glance: `X-Image-Meta-Store` names the store an upload goes to.
            var store = stores.defaultStore
            if let id = request.headers[HTTPField.Name("X-Image-Meta-Store")!] {
                guard let chosen = stores[id] else { throw APIError.badRequest("Unknown store '\(id)'") }
                guard chosen.isWritable else { throw APIError.badRequest("Store '\(id)' is read-only.") }
                store = chosen
            }
            let storeID = store.id
            try await receive(request, context, into: store, from: .queued, during: .saving) { image, data, db in
                image.record(data)
                image.status = .active
                image.setLocation(store: storeID, path: data.path)
            }
            return Response.noContent()
        }
        router.put("/v2/images/:image_id/stage") { request, context in
            guard importMethods.contains("glance-direct") else {
                throw APIError.notFound("'glance-direct' method is not available at this site.")
            }
            try await receive(request, context, into: staging, from: .queued, during: .uploading) { image, data, _ in
                image.size = data.size
            }
            return Response.noContent()
        }
        router.get("/v2/images/:image_id/file") { request, context in try await download(request, context) }
    }

    /// What arrived: where it is and what it is.
    struct ReceivedData: Sendable {
        let path: String
        let size: Int64
        let checksum: String
        let hash: String
        let virtualSize: Int64?
    }

    /// Streams a request body into `store` while the image is in status `during`, then lets
    /// `complete` finish the image in the same transaction that records the data. A failed or
    /// interrupted transfer puts the image back in `from` and leaves no data behind.
    func receive(
        _ request: Request, _ context: StratusContext, into store: any DataStore, from: ImageStatus, during: ImageStatus,
        complete: @escaping @Sendable (inout ImageRecord, ReceivedData, any SQLDatabase) async throws -> Void
    ) async throws {
        let auth = try context.requireAuth()
        let type = request.headers[.contentType] ?? "none"
        guard type.lowercased().hasPrefix("application/octet-stream") else {
            throw APIError(.unsupportedMediaType, "Invalid content type \(type): image data must be sent as application/octet-stream.")
        }
        let (image, room) = try await db.transaction { db in
            var (image, membership) = try await visibleImage(context, in: db)
            try policy.enforce("upload_image", auth: auth, target: image.policyTarget(memberID: membership?.member))
            guard image.status == from else {
                throw APIError.conflict("Image status transition from \(image.status.rawValue) to \(during.rawValue) is not allowed")
            }
            let missing = [("disk_format", image.diskFormat), ("container_format", image.containerFormat)].filter { $0.1 == nil }.map(\.0)
            if during == .saving, !missing.isEmpty {
                throw APIError.badRequest("Propert\(missing.count > 1 ? "ies" : "y") \(missing.joined(separator: ", ")) must be set prior to saving data.")
            }
            var room = limits.sizeCap
            if limits.userStorageQuota > 0, let owner = image.owner {
                room = min(room, limits.userStorageQuota - (try await repository.usage(owner: owner, in: db)))
            }
            let previous = image
            image.status = during
            image.updatedAt = Date().timeIntervalSince1970
            try await repository.save(image, previous: previous, in: db)
            return (image, room)
        }
        var inspector = DataInspector(
            limit: max(room, 0),
            limitMessage: room < limits.sizeCap ? "Denying attempt to upload image because it exceeds the quota." : "Image exceeds the size limit of \(limits.sizeCap) bytes.")
        let path: String
        do {
            path = try await store.write(imageID: image.id, from: request.body) { chunk in try inspector.observe(chunk) }
        } catch {
            await restoreStatus(image.id, from: during, to: from)
            throw error
        }
        let digest = inspector.finish()
        let virtualSize: Int64?
        do {
            virtualSize = try formats.check(
                try await inspector.inspect(), diskFormat: image.diskFormat, containerFormat: image.containerFormat)
        } catch {
            await discard(path, from: store)
            await restoreStatus(image.id, from: during, to: from)
            throw error
        }
        let data = ReceivedData(
            path: path, size: inspector.size, checksum: digest.checksum, hash: digest.hash, virtualSize: virtualSize)
        do {
            try await db.transaction { db in
                guard var current = try await repository.get(image.id, in: db), current.status == during else {
                    throw APIError(.gone, "Image \(image.id) was deleted during the upload.")
                }
                let previous = current
                current.updatedAt = Date().timeIntervalSince1970
                try await complete(&current, data, db)
                try await repository.save(current, previous: previous, in: db)
            }
        } catch {
            await discard(path, from: store)
            await restoreStatus(image.id, from: during, to: from)
            throw error
        }
    }

    func restoreStatus(_ id: String, from: ImageStatus, to: ImageStatus) async {
        await logger.bestEffort("restoring the status of image \(id)") {
            try await db.transaction { db in
                guard var image = try await repository.get(id, in: db), image.status == from else { return }
                let previous = image
                image.status = to
                image.updatedAt = Date().timeIntervalSince1970
                try await repository.save(image, previous: previous, in: db)
            }
        }
    }

    func download(_ request: Request, _ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        let (image, membership) = try await db.read { db in try await visibleImage(context, in: db) }
        try policy.enforce("download_image", auth: auth, target: image.policyTarget(memberID: membership?.member))
        if image.status == .deactivated && !context.viewer.isAdmin {
            throw APIError.forbidden("The requested image has been deactivated. Image data download is forbidden.")
        }
        guard image.status == .active || image.status == .deactivated,
            let location = image.location(in: stores.defaultID) ?? image.locations.first,
            let storeHolding = stores[location.store], let size = image.size
        else {
            return Response(status: .noContent)
        }
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        // A cached copy (see ImageCacheAPI) is served from the cache directory.
        var (store, path): (any DataStore, String) = (storeHolding, location.path)
        if let cached = await cachedCopy(image.id) { (store, path) = (cache, cached) }
        if let checksum = image.checksum { headers[HTTPField.Name("Content-MD5")!] = checksum }
        if let range = request.headers[.range] {
            if range.contains(",") {
                throw APIError.badRequest("Requests with multiple ranges are not supported in Glance. You may make multiple single-range requests instead.")
            }
            guard let bytes = Self.parseRange(range, size: size) else {
                headers[.contentRange] = "bytes */\(size)"
                throw APIError(.rangeNotSatisfiable, "Requested range not satisfiable", headers: headers)
            }
            headers[.contentRange] = "bytes \(bytes.lowerBound)-\(bytes.upperBound)/\(size)"
            return Response(status: .partialContent, headers: headers, body: store.read(path: path, range: bytes))
        }
        return Response(status: .ok, headers: headers, body: store.read(path: path, range: nil))
    }

    /// `bytes=a-b`, `bytes=a-` or `bytes=-n` within `size`; nil when unsatisfiable or malformed.
    static func parseRange(_ header: String, size: Int64) -> ClosedRange<Int64>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst("bytes=".count)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let start = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let end = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if start.isEmpty {
            guard let suffix = Int64(end), suffix > 0 else { return nil }
            return max(size - suffix, 0)...(size - 1)
        }
        guard let first = Int64(start), first < size else { return nil }
        if end.isEmpty { return first...(size - 1) }
        guard let last = Int64(end), last >= first else { return nil }
        return first...min(last, size - 1)
    }
}

extension ImageRecord {
    /// Takes the size, checksums and virtual size of newly stored data.
    mutating func record(_ data: ImageAPI.ReceivedData) {
        size = data.size
        checksum = data.checksum
        osHashAlgo = "sha512"
        osHashValue = data.hash
        virtualSize = data.virtualSize
    }
}
