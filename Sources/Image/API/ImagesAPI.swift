import Foundation
import HTTPTypes
import Hummingbird
import SQLKit
import StratusCore

extension ImageAPI {
    func registerImages(on router: Router<StratusContext>) {
        router.post("/v2/images") { request, context in try await createImage(request, context) }
        router.get("/v2/images") { request, context in try await listImages(request, context) }
        router.get("/v2/images/:image_id") { _, context in
            let (image, _) = try await db.read { db in try await visibleImage(context, in: db) }
            return Response.json(view(image))
        }
        router.patch("/v2/images/:image_id") { request, context in try await patchImage(request, context) }
        router.delete("/v2/images/:image_id") { _, context in try await deleteImage(context) }
        router.delete("/v2/stores/:store_id/:image_id") { _, context in try await deleteFromStore(context) }
        router.post("/v2/images/:image_id/actions/deactivate") { _, context in
            try await changeActivation(context, rule: "deactivate", from: .active, to: .deactivated)
        }
        router.post("/v2/images/:image_id/actions/reactivate") { _, context in
            try await changeActivation(context, rule: "reactivate", from: .deactivated, to: .active)
        }
    }

    /// The image named in the path if the caller may see it (404 otherwise), and the caller's
    /// membership of it.
    func visibleImage(_ context: StratusContext, in db: any SQLDatabase) async throws -> (ImageRecord, ImageMember?) {
        let auth = try context.requireAuth()
        let id = context.parameters.get("image_id") ?? ""
        let viewer = context.viewer
        guard let image = try await repository.get(id, in: db) else { throw APIError.notFound("No image found with ID \(id)") }
        var membership: ImageMember?
        if let project = viewer.projectID, image.owner != project {
            membership = try await repository.member(image: id, member: project, in: db)
        }
        let visible = viewer.isAdmin || (image.owner != nil && image.owner == viewer.projectID) || image.visibility == .public
            || image.visibility == .community || (image.visibility == .shared && membership != nil)
        guard visible else { throw APIError.notFound("No image found with ID \(id)") }
        try policy.enforce("get_image", auth: auth, target: image.policyTarget(memberID: membership?.member))
        return (image, membership)
    }

    /// Headers Glance puts on image create and show answers for the import workflow.
    var importHeaders: HTTPFields {
        var headers = HTTPFields()
        headers[HTTPField.Name("OpenStack-image-import-methods")!] = importMethods.joined(separator: ",")
        headers[HTTPField.Name("OpenStack-image-store-ids")!] = stores.all.map(\.id).joined(separator: ",")
        return headers
    }

    func createImage(_ request: Request, _ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        let body = try await request.jsonObject(context: context)
        let now = Date().timeIntervalSince1970
        var id = UUID().uuidString.lowercased()
        if let given = body["id"] {
            guard let text = given.stringValue, UUID(uuidString: text) != nil else {
                throw APIError.badRequest("Provided object does not match schema 'image': \(given.serialized()) is not a 'uuid'")
            }
            id = text.lowercased()
        }
        var image = ImageRecord(id: id, owner: auth.projectID, now: now)
        for (name, value) in body.sorted(by: { $0.key < $1.key }) where name != "id" {
            if name == "locations" { throw APIError.badRequest("Setting locations on create is not supported.") }
            try checkWritable(name)
            try setAttribute(name, value, on: &image, context: context)
        }
        try checkQuotas(image)
        try policy.enforce("add_image", auth: auth, target: image.policyTarget())
        try enforceVisibilityChange(to: image.visibility, auth: auth, image: image)
        let created = image
        try await db.transaction { db in
            if try await repository.exists(created.id, in: db) { throw APIError.conflict("Image with identifier \(created.id) already exists!") }
            try await repository.insert(created, in: db)
        }
        var headers = importHeaders
        headers[.location] = "\(request.baseURL)/v2/images/\(image.id)"
        return Response.json(view(image), status: .created, headers: headers)
    }

    func listImages(_ request: Request, _ context: StratusContext) async throws -> Response {
        // `/v2/images/` is an image with an empty id, not the list.
        if request.uri.path.hasSuffix("/") { throw APIError.notFound("No image found with ID ") }
        let auth = try context.requireAuth()
        try policy.enforce("get_images", auth: auth, target: ["project_id": auth.projectID ?? ""])
        let items = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        var query = try ImageListQuery(items: items, maxLimit: limits.pageMax)
        if !items.contains(where: { $0.0 == "limit" }) { query.limit = min(limits.pageDefault, limits.pageMax) }
        let viewer = context.viewer
        let images = try await db.read { [query] db in try await repository.list(query, viewer: viewer, in: db) }
        let others = items.filter { $0.0 != "marker" }
        let first = Self.link("/v2/images", others)
        let next =
            images.count == query.limit && query.limit > 0
            ? images.last.map { Self.link("/v2/images", others + [("marker", $0.id)]) } : nil
        return Response.jsonList(
            "images", images, element: { image, list in write(image, to: &list) },
            after: { body in
                body.field("schema", "/v2/schemas/images")
                body.field("first", first)
                if let next { body.field("next", next) }
            })
    }

    static func link(_ path: String, _ items: [(String, String)]) -> String {
        guard !items.isEmpty else { return path }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let query = items.map { key, value in
            "\(key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }
        return path + "?" + query.joined(separator: "&")
    }

    func deleteImage(_ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        let image = try await db.transaction { db in
            let (image, membership) = try await visibleImage(context, in: db)
            try policy.enforce("delete_image", auth: auth, target: image.policyTarget(memberID: membership?.member))
            if image.protected { throw APIError.forbidden("Image \(image.id) is protected and cannot be deleted.") }
            try await repository.markDeleted(image.id, at: Date().timeIntervalSince1970, in: db)
            try await db.update("tasks").set("status", to: SQLBind("failure")).set("message", to: SQLBind("Image deleted"))
                .where("image_id", .equal, SQLBind(image.id)).where("status", .in, SQLBind.group(["pending", "processing"])).run()
            return image
        }
        await removeData(of: image)
        return .noContent()
    }

    /// `DELETE /v2/stores/{store}/{image}`: drops one copy of an image's data.
    func deleteFromStore(_ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        let storeID = context.parameters.get("store_id") ?? ""
        guard let store = stores[storeID] else { throw APIError.notFound("Unknown store '\(storeID)'") }
        let path = try await db.transaction { db in
            var (image, membership) = try await visibleImage(context, in: db)
            try policy.enforce("delete_image_location", auth: auth, target: image.policyTarget(memberID: membership?.member))
            guard image.status == .active else { throw APIError.conflict("Image \(image.id) is not active.") }
            guard let path = image.location(in: storeID)?.path else { throw APIError.notFound("Image \(image.id) is not in store \(storeID).") }
            guard image.storeIDs.count > 1 else {
                throw APIError.conflict("Image \(image.id) has its only copy in store \(storeID); delete the image instead.")
            }
            let previous = image
            image.locations.removeAll { $0.store == storeID }
            image.updatedAt = Date().timeIntervalSince1970
            try await repository.save(image, previous: previous, in: db)
            return path
        }
        await discard(path, from: store)
        return Response.noContent()
    }

    /// Deletes every copy of an image's data, staged and cached data included.
    func removeData(of image: ImageRecord) async {
        for location in image.locations {
            await discard(location.path, from: stores[location.store])
        }
        await discard("\(staging.directory)/\(image.id)", from: staging)
        await logger.bestEffort("dropping the cached copy of \(image.id)") { try await dropCached(image.id) }
    }

    /// Removes data nothing points at any more; a failure leaves an orphan file, logged.
    func discard(_ path: String, from store: (any DataStore)?) async {
        guard let store else { return }
        await logger.bestEffort("removing \(path) from store \(store.id)") { try await store.delete(path: path) }
    }

    func changeActivation(_ context: StratusContext, rule: String, from: ImageStatus, to: ImageStatus) async throws -> Response {
        let auth = try context.requireAuth()
        try await db.transaction { db in
            var (image, membership) = try await visibleImage(context, in: db)
            try policy.enforce(rule, auth: auth, target: image.policyTarget(memberID: membership?.member))
            guard image.status != to else { return }
            guard image.status == from else {
                throw APIError.forbidden("Not allowed to \(rule) image in status '\(image.status.rawValue)'")
            }
            let previous = image
            image.status = to
            image.updatedAt = Date().timeIntervalSince1970
            try await repository.save(image, previous: previous, in: db)
        }
        return .noContent()
    }

    // MARK: Attributes

    func checkWritable(_ name: String) throws {
        if ImageAttributes.readOnly.contains(name) { throw APIError.forbidden("Attribute '\(name)' is read-only.") }
        if ImageAttributes.isReserved(name) { throw APIError.forbidden("Attribute '\(name)' is reserved.") }
    }

    /// Validates `value` for attribute `name` and sets it; anything not core is an extra property.
    func setAttribute(_ name: String, _ value: JSON, on image: inout ImageRecord, context: StratusContext) throws {
        func mismatch(_ reason: String) -> APIError {
            APIError.badRequest("Provided object does not match schema 'image': \(reason)\n\nFailed validating '\(name)'")
        }
        func enumValue(_ allowed: [String]) throws -> String? {
            if value.isNull { return nil }
            guard let text = value.stringValue, allowed.contains(text) else {
                throw mismatch("\(value.serialized()) is not one of \(allowed)")
            }
            return text
        }
        func nonNegative() throws -> Int64 {
            guard let n = value.intValue else { throw mismatch("\(value.serialized()) is not of type 'integer'") }
            guard n >= 0 else { throw mismatch("\(n) is less than the minimum of 0") }
            return Int64(n)
        }
        func boolean() throws -> Bool {
            guard let b = value.boolValue else { throw mismatch("\(value.serialized()) is not of type 'boolean'") }
            return b
        }
        switch name {
        case "name":
            guard value.isNull || value.stringValue != nil else { throw mismatch("\(value.serialized()) is not of type 'string', 'null'") }
            if let text = value.stringValue, text.count > 255 { throw mismatch("'\(text.prefix(20))...' is too long") }
            image.name = value.stringValue
        case "visibility":
            guard let text = value.stringValue, let visibility = Visibility(rawValue: text) else {
                throw mismatch("\(value.serialized()) is not one of ['community', 'public', 'private', 'shared']")
            }
            image.visibility = visibility
        case "protected": image.protected = try boolean()
        case "os_hidden": image.osHidden = try boolean()
        case "min_ram": image.minRAM = try nonNegative()
        case "min_disk": image.minDisk = try nonNegative()
        case "disk_format": image.diskFormat = try enumValue(ImageAttributes.diskFormats)
        case "container_format": image.containerFormat = try enumValue(ImageAttributes.containerFormats)
        case "tags":
            guard let items = value.arrayValue else { throw mismatch("\(value.serialized()) is not of type 'array'") }
            var tags: [String] = []
            for item in items {
                guard let tag = item.stringValue else { throw mismatch("\(item.serialized()) is not of type 'string'") }
                guard tag.count <= 255 else { throw mismatch("'\(tag.prefix(20))...' is too long") }
                if !tags.contains(tag) { tags.append(tag) }
            }
            image.tags = tags
        case "owner":
            guard value.isNull || value.stringValue != nil else { throw mismatch("\(value.serialized()) is not of type 'string', 'null'") }
            let owner = value.stringValue
            if owner != image.owner && !context.viewer.isAdmin {
                throw APIError.forbidden("You are not permitted to modify 'owner' on this image.")
            }
            image.owner = owner
        default:
            guard let text = value.stringValue else {
                throw mismatch("\(value.serialized()) is not of type 'string'")
            }
            guard name.count <= 255 else { throw APIError.badRequest("Property names are limited to 255 characters.") }
            image.properties[name] = text
        }
    }

    func checkQuotas(_ image: ImageRecord) throws {
        if image.properties.count > limits.properties {
            throw APIError(.contentTooLarge, "Attempted: \(image.properties.count), Maximum: \(limits.properties)")
        }
        if image.tags.count > limits.tags {
            throw APIError(.contentTooLarge, "Attempted: \(image.tags.count), Maximum: \(limits.tags)")
        }
    }

    /// Making an image public needs `publicize_image`, community needs `communitize_image`.
    func enforceVisibilityChange(to visibility: Visibility, auth: AuthContext, image: ImageRecord) throws {
        switch visibility {
        case .public:
            guard policy.check("publicize_image", creds: auth.policyCredentials, target: image.policyTarget()) else {
                throw APIError.forbidden("You are not authorized to complete publicize_image action.")
            }
        case .community:
            guard policy.check("communitize_image", creds: auth.policyCredentials, target: image.policyTarget()) else {
                throw APIError.forbidden("You are not authorized to complete communitize_image action.")
            }
        default: break
        }
    }
}
