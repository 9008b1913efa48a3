import Foundation
import HTTPTypes
import Hummingbird
import SQLKit
import StratusCore

/// Glance's image cache: copies of image data kept next to the API (`<images>/cache`), filled
/// on request (`PUT /v2/cache/{id}`) and used for downloads. Queued entries are jobs that a
/// restarted process resumes.
extension ImageAPI {
    static let cacheMigration = Migration(3, "image cache") { db in
        try await db.create(table: "image_cache")
            .column("image_id", type: .text, .primaryKey(autoIncrement: false))
            .column("state", type: .text, .notNull)
            .column("size", type: .bigint, .notNull)
            .column("hits", type: .bigint, .notNull)
            .column("last_accessed", type: .double, .notNull)
            .column("last_modified", type: .double, .notNull)
            .run()
    }

    func registerCache(on router: Router<StratusContext>) {
        router.get("/v2/cache") { _, context in
            try policy.enforce("manage_image_cache", auth: context.auth)
            let rows = try await db.read { db in
                try await db.select().columns("*").from("image_cache").orderBy("image_id").all()
            }
            var cached: [JSON] = []
            var queued: [JSON] = []
            for row in rows {
                let id = try row.decode(column: "image_id", as: String.self)
                if try row.decode(column: "state", as: String.self) == "queued" {
                    queued.append(.string(id))
                    continue
                }
                cached.append([
                    "image_id": .string(id), "size": .int(try row.decode(column: "size", as: Int.self)),
                    "hits": .int(try row.decode(column: "hits", as: Int.self)),
                    "last_accessed": .double(try row.decode(column: "last_accessed", as: Double.self)),
                    "last_modified": .double(try row.decode(column: "last_modified", as: Double.self)),
                ])
            }
            return Response.json(["cached_images": .array(cached), "queued_images": .array(queued)])
        }
        router.put("/v2/cache/:image_id") { _, context in
            try policy.enforce("manage_image_cache", auth: context.auth)
            let id = context.parameters.get("image_id") ?? ""
            try await db.transaction { db in
                guard let image = try await repository.get(id, in: db) else {
                    throw APIError.notFound("No image found with ID \(id)")
                }
                guard image.status == .active else {
                    throw APIError.badRequest("Image \(id) is not active; only active images can be cached.")
                }
                let now = Date().timeIntervalSince1970
                try await db.raw(
                    """
                    INSERT INTO image_cache (image_id, state, size, hits, last_accessed, last_modified)
                    VALUES (\(bind: id), 'queued', 0, 0, \(bind: now), \(bind: now)) ON CONFLICT (image_id) DO NOTHING
                    """
                ).run()
            }
            queue.submit(.cache(imageID: id))
            return Response(status: .accepted)
        }
        router.delete("/v2/cache/:image_id") { _, context in
            try policy.enforce("manage_image_cache", auth: context.auth)
            // Only an image's own entry: the id names a file in the cache directory.
            let id = context.parameters.get("image_id") ?? ""
            guard try await db.read({ db in try await repository.get(id, in: db) }) != nil else {
                throw APIError.notFound("No image found with ID \(id)")
            }
            try await dropCached(id)
            return Response.noContent()
        }
        router.delete("/v2/cache") { request, context in
            try policy.enforce("manage_image_cache", auth: context.auth)
            let target = request.headers[HTTPField.Name("x-image-cache-clear-target")!] ?? ""
            guard ["", "cache", "queue"].contains(target) else {
                throw APIError.badRequest(
                    "If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.")
            }
            let ids = try await db.read { db in
                var select = db.select().column("image_id").from("image_cache")
                if target == "cache" { select = select.where("state", .equal, SQLBind("cached")) }
                if target == "queue" { select = select.where("state", .equal, SQLBind("queued")) }
                return try await select.all().map { try $0.decode(column: "image_id", as: String.self) }
            }
            for id in ids { try await dropCached(id) }
            return Response.noContent()
        }
    }

    /// Forgets an image's cache entry and deletes its cached copy.
    func dropCached(_ id: String) async throws {
        try await db.transaction { db in
            try await db.delete(from: "image_cache").where("image_id", .equal, SQLBind(id)).run()
        }
        try await cache.delete(path: "\(cache.directory)/\(id)")
    }

    /// Copies an image's data into the cache; the entry becomes `cached` once complete.
    func fillCache(_ id: String) async {
        do {
            guard let image = try await db.read({ db in try await repository.get(id, in: db) }),
                let location = image.locations.first, let store = stores[location.store]
            else {
                try await dropCached(id)
                return
            }
            _ = try await store.withChunks(path: location.path) { chunks in
                try await cache.write(imageID: id, from: chunks) { _ in }
            }
            try await db.transaction { db in
                try await db.update("image_cache").set("state", to: SQLBind("cached")).set(
                    "size", to: SQLBind(image.size ?? 0)
                )
                .set("last_modified", to: SQLBind(Date().timeIntervalSince1970)).where("image_id", .equal, SQLBind(id))
                .run()
            }
        } catch {
            logger.warning("caching image \(id) failed: \(error)")
            await logger.bestEffort("dropping the cache entry of \(id)") { try await dropCached(id) }
        }
    }

    /// The cached copy of an image's data, counting the hit; nil when not cached. Downloads
    /// call this, so a miss costs one read and no write.
    func cachedCopy(_ id: String) async -> String? {
        let path = "\(cache.directory)/\(id)"
        // A cache that cannot be read is a miss: the download is served from the store.
        let entry = await logger.bestEffort("reading the cache entry of \(id)") {
            try await db.read { db in
                try await db.select().column("image_id").from("image_cache").where("image_id", .equal, SQLBind(id))
                    .where("state", .equal, SQLBind("cached")).first()
            }
        }
        guard entry != nil, FileManager.default.fileExists(atPath: path) else { return nil }
        await logger.bestEffort("counting a cache hit of \(id)") {
            try await db.transaction { db in
                try await db.update("image_cache").set(SQLIdentifier("hits"), to: SQLRaw("hits + 1"))
                    .set("last_accessed", to: SQLBind(Date().timeIntervalSince1970)).where(
                        "image_id", .equal, SQLBind(id)
                    ).run()
            }
        }
        return path
    }

    /// Images whose cache fill was still queued when the process stopped.
    func queuedCacheFills() async throws -> [String] {
        try await db.read { db in
            try await db.select().column("image_id").from("image_cache").where("state", .equal, SQLBind("queued"))
                .all()
                .map { try $0.decode(column: "image_id", as: String.self) }
        }
    }
}
