import Hummingbird
import SQLKit
import StratusCore

/// `/volumes/{id}/metadata` and `/snapshots/{id}/metadata`: the same key-value API.
extension BlockStorageAPI {
    func registerMetadata(on router: RouterGroup<StratusContext>) {
        registerMetadata(on: router, collection: "volumes", table: VolumeStore.metadata) { context, auth, write in
            try await visibleVolume(
                context, auth, rule: write ? "volume:update_volume_metadata" : "volume:get_volume_metadata"
            ).id
        }
        registerMetadata(on: router, collection: "snapshots", table: VolumeStore.snapshotMetadata) {
            context, auth, write in
            try await visibleSnapshot(
                context, auth, rule: write ? "volume:update_snapshot_metadata" : "volume:get_snapshot_metadata"
            ).id
        }
    }

    /// `owner` finds the id of the record in the path (404 if the caller cannot see it);
    /// its flag says whether the request changes metadata.
    private func registerMetadata(
        on router: RouterGroup<StratusContext>, collection: String, table: MetadataTable,
        owner: @escaping @Sendable (StratusContext, AuthContext, Bool) async throws -> String
    ) {
        let path = "/\(collection)/:id/metadata"
        router.get(RouterPath(path)) { _, context -> Response in
            let id = try await owner(context, try caller(context), false)
            let metadata = try await db.read { try await table.get(id, in: $0) }
            return .json(["metadata": .object(metadata.mapValues(JSON.string))])
        }
        for replace in [false, true] {
            let handler: @Sendable (Request, StratusContext) async throws -> Response = { request, context in
                let id = try await owner(context, try caller(context), true)
                let body = try await request.jsonObject(context: context)
                guard let given = body["metadata"] else { throw APIError.badRequest("Malformed request body") }
                let metadata = try Self.metadata(given)
                let result = try await db.transaction { db in
                    if replace {
                        try await table.replace(id, with: metadata, in: db)
                    } else {
                        try await table.merge(id, metadata, in: db)
                    }
                    return try await table.get(id, in: db)
                }
                return .json(["metadata": .object(result.mapValues(JSON.string))])
            }
            if replace {
                router.put(RouterPath(path), use: handler)
            } else {
                router.post(RouterPath(path), use: handler)
            }
        }
        router.get(RouterPath(path + "/:key")) { _, context -> Response in
            let id = try await owner(context, try caller(context), false)
            let key = context.parameters.get("key") ?? ""
            guard let value = try await db.read({ try await table.get(id, in: $0) })[key] else {
                throw APIError.notFound("Metadata key \(key) could not be found.")
            }
            return .json(["meta": [key: .string(value)]])
        }
        router.put(RouterPath(path + "/:key")) { request, context -> Response in
            let id = try await owner(context, try caller(context), true)
            let key = context.parameters.get("key") ?? ""
            let body = try await request.jsonObject(context: context)
            guard let meta = body["meta"]?.objectValue else { throw APIError.badRequest("Malformed request body") }
            guard meta.count == 1 else { throw APIError.badRequest("Request body contains too many items") }
            guard meta[key] != nil else { throw APIError.badRequest("Request body and URI mismatch") }
            let item = try Self.metadata(.object(meta))
            try await db.transaction { try await table.merge(id, item, in: $0) }
            return .json(["meta": .object(item.mapValues(JSON.string))])
        }
        router.delete(RouterPath(path + "/:key")) { _, context -> Response in
            let id = try await owner(context, try caller(context), true)
            let key = context.parameters.get("key") ?? ""
            guard try await db.transaction({ try await table.remove(id, key: key, in: $0) }) else {
                throw APIError.notFound("Metadata key \(key) could not be found.")
            }
            return Response(status: .ok)
        }
    }
}
