import Foundation
import Hummingbird
import StratusCore

/// Nova's image proxy (`/images`, up to microversion 2.35): the Image service's images in
/// Nova's shape, read and changed with the caller's own token.
extension ComputeAPI {
    func registerImagesProxy(on router: RouterGroup<StratusContext>) {
        router.get("/images") { request, context in try await self.listImages(request, context, detail: false) }
        router.get("/images/detail") { request, context in try await self.listImages(request, context, detail: true) }
        router.get("/images/:image") { request, context -> Response in
            let (image, _) = try await self.proxiedImage(context)
            return .json(["image": Self.imageView(image, request: request, detail: true)])
        }
        router.delete("/images/:image") { _, context -> Response in
            let (image, auth) = try await self.proxiedImage(context)
            let reply = try await self.clients.imageProxy.send(
                .DELETE, "/v2/images/\(image["id"]?.stringValue ?? "")", token: auth.token)
            guard reply.ok else { throw Self.imageError(reply) }
            return Response(status: .noContent)
        }
        router.get("/images/:image/metadata") { _, context -> Response in
            let (image, _) = try await self.proxiedImage(context)
            return .json(["metadata": .object(Self.imageProperties(image))])
        }
        router.get("/images/:image/metadata/:key") { _, context -> Response in
            let (image, _) = try await self.proxiedImage(context)
            let key = context.parameters.get("key") ?? ""
            guard let value = Self.imageProperties(image)[key] else {
                throw APIError.notFound("Image metadata key \(key) not found.")
            }
            return .json(["meta": [key: value]])
        }
        router.put("/images/:image/metadata") { request, context -> Response in
            try await self.changeImageMetadata(request, context, replace: true)
        }
        router.post("/images/:image/metadata") { request, context -> Response in
            try await self.changeImageMetadata(request, context, replace: false)
        }
        router.put("/images/:image/metadata/:key") { request, context -> Response in
            let key = context.parameters.get("key") ?? ""
            let meta = try await request.computeBody("meta", context: context)
            guard meta.count == 1, let value = meta[key] else {
                throw APIError.badRequest("Request body and URI mismatch")
            }
            try ServerMetadataRules.validate(meta)
            let (image, auth) = try await self.proxiedImage(context)
            let updated = try await self.patchImage(image, auth, set: [key: value], remove: [])
            return .json(["meta": [key: Self.imageProperties(updated)[key] ?? value]])
        }
        router.delete("/images/:image/metadata/:key") { _, context -> Response in
            let key = context.parameters.get("key") ?? ""
            let (image, auth) = try await self.proxiedImage(context)
            guard Self.imageProperties(image)[key] != nil else {
                throw APIError.notFound("Image metadata key \(key) not found.")
            }
            _ = try await self.patchImage(image, auth, set: [:], remove: [key])
            return Response(status: .noContent)
        }
    }

    /// The image named in the path as the caller sees it; 404 from 2.36 on, as in Nova.
    private func proxiedImage(_ context: StratusContext) async throws -> (JSON, AuthContext) {
        let auth = try caller(context)
        guard !context.version(atLeast: 2, 36) else { throw APIError.notFound("The resource could not be found.") }
        let id = context.parameters.get("image") ?? ""
        let reply = try await clients.imageProxy.get("/v2/images/\(id.pathSegment)", token: auth.token)
        guard reply.ok else { throw Self.imageError(reply) }
        return (reply.body, auth)
    }

    private static func imageError(_ reply: ServiceReply) -> APIError {
        switch reply.status {
        case 404: return .notFound("Image not found.")
        case 403: return .forbidden(reply.faultMessage)
        case 409: return .conflict(reply.faultMessage)
        case 400, 413: return .badRequest(reply.faultMessage)
        default: return APIError(.serviceUnavailable, "The image service answered \(reply.status).")
        }
    }

    /// Filters (`name`, `status`, `server`, `type`, `minRam`, `minDisk`, `changes-since`)
    /// and `marker`/`limit` paging, over every image the caller can see.
    private func listImages(_ request: Request, _ context: StratusContext, detail: Bool) async throws -> Response {
        let auth = try caller(context)
        guard !context.version(atLeast: 2, 36) else { throw APIError.notFound("The resource could not be found.") }
        var query = ["limit=1000"]
        if let name = request.query("name") {
            query.append("name=" + (name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name))
        }
        if let server = request.query("server") {
            let id = server.split(separator: "/").last.map(String.init) ?? server
            query.append("instance_uuid=" + (id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id))
        }
        if let type = request.query("type") {
            query.append("image_type=" + (type.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? type))
        }
        var images: [JSON] = []
        var next: String? = "/v2/images?" + query.joined(separator: "&")
        while let path = next {
            let reply = try await clients.imageProxy.get(path, token: auth.token)
            guard reply.ok else { throw Self.imageError(reply) }
            images += reply.body["images"]?.arrayValue ?? []
            next = reply.body["next"]?.stringValue
        }
        let status = request.query("status")?.uppercased()
        let minRAM = Int(request.query("minRam") ?? "")
        let minDisk = Int(request.query("minDisk") ?? "")
        let since = try request.dateQuery("changes-since")
        images = images.filter { image in
            if let status, Self.novaImageStatus(image["status"]?.stringValue) != status { return false }
            if let minRAM, (image["min_ram"]?.intValue ?? 0) < minRAM { return false }
            if let minDisk, (image["min_disk"]?.intValue ?? 0) < minDisk { return false }
            if let since, let updated = image["updated_at"]?.stringValue.flatMap(Timestamp.parse), updated < since {
                return false
            }
            return true
        }
        if let marker = request.query("marker") {
            guard let index = images.firstIndex(where: { $0["id"]?.stringValue == marker }) else {
                throw APIError.badRequest("marker [\(marker)] not found")
            }
            images = Array(images[(index + 1)...])
        }
        var body: [String: JSON] = [:]
        if let limit = try request.intQuery("limit"), images.count > limit {
            images = Array(images.prefix(limit))
            if let last = images.last?["id"]?.stringValue {
                body["images_links"] = [
                    [
                        "rel": "next",
                        "href": .string(
                            "\(request.baseURL)/v2.1/images\(detail ? "/detail" : "")?limit=\(limit)&marker=\(last)"),
                    ]
                ]
            }
        }
        body["images"] = .array(images.map { Self.imageView($0, request: request, detail: detail) })
        return .json(.object(body))
    }

    /// `PUT` replaces every custom property, `POST` merges into them.
    private func changeImageMetadata(_ request: Request, _ context: StratusContext, replace: Bool) async throws
        -> Response
    {
        let metadata = try await request.computeBody("metadata", context: context)
        try ServerMetadataRules.validate(metadata)
        let (image, auth) = try await proxiedImage(context)
        let current = Self.imageProperties(image)
        let remove = replace ? current.keys.filter { metadata[$0] == nil } : []
        let total = replace ? metadata.count : current.merging(metadata) { $1 }.count
        let limit = try await quotaLimit("metadata_items", project: auth.projectID ?? "")
        if limit >= 0, total > limit {
            throw APIError.forbidden(
                "Quota exceeded for metadata_items: maximum number of metadata items exceeds \(limit)")
        }
        let updated = try await patchImage(image, auth, set: metadata, remove: remove)
        return .json(["metadata": .object(Self.imageProperties(updated))])
    }

    private func patchImage(_ image: JSON, _ auth: AuthContext, set: [String: JSON], remove: [String]) async throws
        -> JSON
    {
        let existing = image.objectValue ?? [:]
        var operations: [JSON] = remove.sorted().map { ["op": "remove", "path": .string("/" + Self.pointer($0))] }
        for (key, value) in set.sorted(by: { $0.key < $1.key }) {
            operations.append([
                "op": existing[key] == nil ? "add" : "replace", "path": .string("/" + Self.pointer(key)),
                "value": value,
            ])
        }
        let reply = try await clients.imageProxy.send(
            .PATCH, "/v2/images/\(image["id"]?.stringValue ?? "")", body: .array(operations), token: auth.token,
            contentType: "application/openstack-images-v2.1-json-patch")
        guard reply.ok else { throw Self.imageError(reply) }
        return reply.body
    }

    private static func pointer(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// The image's custom properties, which Nova shows as `metadata`.
    static func imageProperties(_ image: JSON) -> [String: JSON] {
        (image.objectValue ?? [:]).filter { key, value in
            value.stringValue != nil && !glanceImageFields.contains(key) && !key.hasPrefix("os_hash")
                && key != "os_hidden"
        }
    }

    private static let glanceImageFields: Set<String> = [
        "id", "name", "status", "checksum", "size", "virtual_size", "created_at", "updated_at", "owner", "visibility",
        "protected",
        "direct_url", "file", "schema", "self", "stores", "container_format", "disk_format", "min_ram", "min_disk",
        "tags", "locations",
    ]

    static func novaImageStatus(_ glance: String?) -> String {
        switch glance {
        case "active": return "ACTIVE"
        case "queued", "saving", "importing", "uploading": return "SAVING"
        case "deleted", "pending_delete": return "DELETED"
        case "killed": return "ERROR"
        default: return "UNKNOWN"
        }
    }

    static func imageView(_ image: JSON, request: Request, detail: Bool) -> JSON {
        let id = image["id"]?.stringValue ?? ""
        var links = (links(request, "images", id).arrayValue ?? [])
        links.append([
            "rel": "alternate", "type": "application/vnd.openstack.image",
            "href": .string("\(request.baseURL)/images/\(id)"),
        ])
        var view: [String: JSON] = ["id": .string(id), "name": image["name"] ?? .null, "links": .array(links)]
        guard detail else { return .object(view) }
        let status = novaImageStatus(image["status"]?.stringValue)
        let properties = imageProperties(image)
        view["status"] = .string(status)
        view["progress"] = .int(
            status == "ACTIVE" ? 100 : status == "SAVING" ? (image["status"]?.stringValue == "queued" ? 25 : 50) : 0)
        view["minRam"] = .int(image["min_ram"]?.intValue ?? 0)
        view["minDisk"] = .int(image["min_disk"]?.intValue ?? 0)
        view["created"] = image["created_at"] ?? .null
        view["updated"] = image["updated_at"] ?? .null
        view["metadata"] = .object(properties)
        view["OS-EXT-IMG-SIZE:size"] = image["size"] ?? .null
        if let server = properties["instance_uuid"]?.stringValue {
            view["server"] = ["id": .string(server), "links": ComputeAPI.links(request, "servers", server)]
        }
        return .object(view)
    }
}
