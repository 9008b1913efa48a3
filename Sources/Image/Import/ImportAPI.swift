import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ImageAPI {
    func registerImport(on router: Router<StratusContext>) {
        router.post("/v2/images/:image_id/import") { request, context in try await startImport(request, context) }
        router.get("/v2/info/import") { _, _ in
            Response.json([
                "import-methods": ["description": "Import methods available.", "type": "array", "value": JSON(importMethods)],
            ])
        }
        router.get("/v2/info/stores") { _, context in
            _ = try context.requireAuth()
            return Response.json(["stores": .array(stores.all.map { store in
                var out: [String: JSON] = ["id": .string(store.id), "description": .string(store.description)]
                if store.id == stores.defaultID { out["default"] = true }
                if let weight = stores.weights[store.id] { out["weight"] = .int(weight) }
                if !store.isWritable { out["read-only"] = "true" }
                return .object(out)
            })])
        }
        router.get("/v2/info/stores/detail") { _, context in
            try policy.enforce("stores_info_detail", auth: context.auth)
            return Response.json(["stores": .array(stores.all.map { store in
                var out: [String: JSON] = [
                    "id": .string(store.id), "description": .string(store.description), "type": .string(store.type), "weight": .int(stores.weights[store.id] ?? 0),
                    "properties": ["datadir": .string((store as? FileStore)?.directory ?? "")],
                ]
                if store.id == stores.defaultID { out["default"] = true }
                return .object(out)
            })])
        }
        router.get("/v2/info/usage") { _, context in
            let auth = try context.requireAuth()
            let project = auth.projectID ?? ""
            let (bytes, count, staged, uploading) = try await db.read { db in
                let bytes = try await repository.usage(owner: project, in: db)
                let rows = try await db.select().column("status").column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n")
                    .from("images").where("owner", .equal, SQLBind(project)).where("deleted_at", .is, SQLLiteral.null)
                    .groupBy("status").all()
                var counts: [String: Int] = [:]
                for row in rows { counts[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self) }
                return (bytes, counts.values.reduce(0, +), counts["uploading", default: 0], counts["uploading", default: 0] + counts["saving", default: 0] + counts["importing", default: 0])
            }
            let limit = limits.userStorageQuota > 0 ? Int(limits.userStorageQuota) : -1
            return Response.json(["usage": [
                "image_size_total": ["limit": .int(limit), "usage": .int(Int(bytes))],
                "image_stage_total": ["limit": -1, "usage": .int(staged)],
                "image_count_total": ["limit": -1, "usage": .int(count)],
                "image_count_uploading": ["limit": -1, "usage": .int(uploading)],
            ]])
        }
    }

    /// `POST /v2/images/{id}/import`: checks the method and the image's status, records the
    /// task and the image's new status in one transaction, then queues the task.
    func startImport(_ request: Request, _ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        let body = try await request.jsonObject(context: context)
        guard let method = body["method"]?.objectValue, let name = method["name"]?.stringValue else {
            throw APIError.badRequest("Import request requires a 'method' object with a 'name'.")
        }
        guard importMethods.contains(name) else { throw APIError.badRequest("Import method \(name) is not valid") }
        let requested: [String]
        if body["all_stores"]?.boolValue == true {
            requested = stores.writable.map(\.id)
        } else if let list = body["stores"] {
            guard let items = list.arrayValue?.compactMap(\.stringValue), items.count == list.arrayValue?.count else {
                throw APIError.badRequest("'stores' must be a list of store ids.")
            }
            requested = items
        } else if let header = request.headers[.init("X-Image-Meta-Store")!] {
            requested = [header]
        } else {
            requested = name == "copy-image" ? stores.writable.map(\.id) : [stores.defaultID]
        }
        for id in requested where stores[id] == nil { throw APIError.badRequest("Unknown store '\(id)'") }
        for id in requested where stores[id]?.isWritable == false { throw APIError.badRequest("Store '\(id)' is read-only.") }
        if name == "web-download" {
            let url = try webDownloadURL(method["uri"])
            guard await RemoteImage.resolves(url.host ?? "") else {
                throw APIError.badRequest("URI for web-download does not pass filtering: host \(url.host ?? "") of \(url.absoluteString) cannot be resolved.")
            }
        }
        if name == "glance-download" {
            guard let id = method["glance_image_id"]?.stringValue, UUID(uuidString: id) != nil else {
                throw APIError.badRequest("Remote image id does not look like a UUID: \(method["glance_image_id"]?.serialized() ?? "null")")
            }
        }
        let taskID = UUID().uuidString.lowercased()
        try await db.transaction { db in
            var (image, membership) = try await visibleImage(context, in: db)
            var targets = requested
            if name == "copy-image" {
                try policy.enforce("copy_image", auth: auth, target: image.policyTarget(memberID: membership?.member))
                guard image.status == .active else { throw APIError.conflict("Image \(image.id) is not active; only active images can be copied.") }
                targets = targets.filter { image.location(in: $0) == nil }
                guard !targets.isEmpty else { throw APIError.conflict("Image \(image.id) is already in the requested stores.") }
            } else {
                try policy.enforce("modify_image", auth: auth, target: image.policyTarget(memberID: membership?.member))
                if name == "glance-direct", image.status != .uploading {
                    throw APIError.conflict("Image needs to be staged before 'glance-direct' method can be used")
                }
                if name == "web-download" || name == "glance-download", image.status != .queued {
                    throw APIError.conflict("Image status must be queued for the \(name) method, not \(image.status.rawValue).")
                }
                guard name == "glance-download" || (image.containerFormat != nil && image.diskFormat != nil) else {
                    throw APIError.badRequest("'disk_format' and 'container_format' must be set prior to importing data.")
                }
            }
            if let running = image.properties["os_glance_import_task"],
                let task = try await TaskRepository().get(running, in: db), ["pending", "processing"].contains(task.status)
            {
                throw APIError.conflict("Image \(image.id) has an active import task \(running).")
            }
            let previous = image
            if name != "copy-image" { image.status = .importing }
            image.properties["os_glance_import_task"] = taskID
            image.properties["os_glance_importing_to_stores"] = targets.joined(separator: ",")
            image.properties["os_glance_failed_import"] = ""
            image.updatedAt = Date().timeIntervalSince1970
            try await repository.save(image, previous: previous, in: db)
            let input: JSON = [
                "image_id": .string(image.id), "import_req": .object(body), "backend": JSON(targets),
                "all_stores_must_succeed": .bool(body["all_stores_must_succeed"]?.boolValue ?? true),
            ]
            try await TaskRepository().insert(
                TaskRecord(id: taskID, type: "api_image_import", owner: auth.projectID, userID: auth.userID, requestID: context.requestID,
                           imageID: image.id, input: input, now: image.updatedAt), in: db)
        }
        if name == "glance-download" { queue.keepToken(auth.token, for: taskID) }
        queue.submit(.task(taskID))
        return Response(status: .accepted)
    }

    /// A web-download URL Glance would fetch: http(s), on an allowed port.
    func webDownloadURL(_ value: JSON?) throws -> URL {
        guard let text = value?.stringValue, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
            ["http", "https"].contains(scheme), url.host != nil
        else { throw APIError.badRequest("URI for web-download must be an http or https URL.") }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        guard allowedPorts.isEmpty || allowedPorts.contains(port) else {
            throw APIError.badRequest("URI for web-download does not pass filtering: port \(port) is not allowed.")
        }
        return url
    }
}
