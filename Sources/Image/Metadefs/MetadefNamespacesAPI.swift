import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `GET /v2/metadefs/namespaces` parameters.
struct MetadefNamespaceQuery: Sendable {
    var limit: Int
    var marker: String?
    var sortKey = "created_at"
    var ascending = false
    var visibility: String?
    var resourceTypes: Set<String> = []

    static let sortKeys: Set = ["created_at", "updated_at", "namespace", "display_name"]

    init(request: Request, maxLimit: Int) throws {
        limit = maxLimit
        if let text = request.query("limit") {
            guard let n = Int(text) else { throw APIError.badRequest("limit param must be an integer") }
            guard n >= 0 else { throw APIError.badRequest("limit param must be positive") }
            limit = min(n, maxLimit)
        }
        marker = request.query("marker")
        if let key = request.query("sort_key") {
            guard Self.sortKeys.contains(key) else { throw APIError.badRequest("Invalid sort key: \(key)") }
            sortKey = key
        }
        if let dir = request.query("sort_dir") {
            guard dir == "asc" || dir == "desc" else { throw APIError.badRequest("Invalid sort direction: \(dir)") }
            ascending = dir == "asc"
        }
        if let visibility = request.query("visibility") {
            guard visibility == "public" || visibility == "private" else {
                throw APIError.badRequest("Invalid visibility value: \(visibility)")
            }
            self.visibility = visibility
        }
        if let types = request.query("resource_types") {
            resourceTypes = Set(types.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
    }

    /// Sort order: the sort key in the asked direction, ties by namespace name.
    func precedes(_ a: MetadefNamespace, _ b: MetadefNamespace) -> Bool {
        let order: Bool?
        switch sortKey {
        case "namespace": order = a.namespace == b.namespace ? nil : a.namespace < b.namespace
        case "display_name":
            let (x, y) = (a.displayName ?? "", b.displayName ?? "")
            order = x == y ? nil : x < y
        case "updated_at": order = a.updatedAt == b.updatedAt ? nil : a.updatedAt < b.updatedAt
        default: order = a.createdAt == b.createdAt ? nil : a.createdAt < b.createdAt
        }
        guard let order else { return a.namespace < b.namespace }
        return ascending ? order : !order
    }
}

extension ImageAPI {
    func registerMetadefNamespaces(on router: Router<StratusContext>) {
        router.get("/v2/metadefs/namespaces") { request, context in try await listNamespaces(request, context) }
        router.post("/v2/metadefs/namespaces") { request, context in try await createNamespace(request, context) }
        router.get("/v2/metadefs/namespaces/:namespace") { request, context in
            let auth = try context.requireAuth()
            let resourceType = request.query("resource_type")
            let body = try await db.read { db in
                let namespace = try await readableNamespace(context, auth: auth, rule: "get_metadef_namespace", in: db)
                return try await namespaceDetail(namespace, resourceType: resourceType, in: db)
            }
            return Response.json(body)
        }
        router.put("/v2/metadefs/namespaces/:namespace") { request, context in try await updateNamespace(request, context) }
        router.delete("/v2/metadefs/namespaces/:namespace") { _, context in
            let auth = try context.requireAuth()
            try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "delete_metadef_namespace", in: db)
                guard !namespace.protected else { throw MetadefErrors.protected(namespace.namespace) }
                try await metadefs.deleteNamespace(namespace.namespace, in: db)
            }
            return Response.noContent()
        }
        router.delete("/v2/metadefs/namespaces/:namespace/objects") { _, context in
            try await deleteContents(context, table: "metadef_objects", rule: "delete_metadef_namespace")
        }
        router.delete("/v2/metadefs/namespaces/:namespace/properties") { _, context in
            try await deleteContents(context, table: "metadef_properties", rule: "delete_metadef_namespace")
        }
        router.delete("/v2/metadefs/namespaces/:namespace/tags") { _, context in
            try await deleteContents(context, table: "metadef_tags", rule: "delete_metadef_tags")
        }
    }

    func registerMetadefResourceTypes(on router: Router<StratusContext>) {
        router.get("/v2/metadefs/resource_types") { _, context in
            let auth = try context.requireAuth()
            try policy.enforce("list_metadef_resource_types", auth: auth, target: ["project_id": auth.projectID ?? "", "visibility": "public"])
            let types = try await db.read { db in try await metadefs.resourceTypes(in: db) }
            return Response.json(["resource_types": .array(types.map { $0.rendered() })])
        }
        router.get("/v2/metadefs/namespaces/:namespace/resource_types") { _, context in
            let auth = try context.requireAuth()
            let associations = try await db.read { db in
                let namespace = try await readableNamespace(context, auth: auth, rule: "get_metadef_resource_type", in: db)
                return try await metadefs.associations(namespace: namespace.namespace, in: db)
            }
            return Response.json(["resource_type_associations": .array(associations.map { $0.rendered() })])
        }
        router.post("/v2/metadefs/namespaces/:namespace/resource_types") { request, context in
            let auth = try context.requireAuth()
            let body = try await request.jsonObject(context: context)
            let association = try MetadefInput.association(body, now: Date().timeIntervalSince1970)
            try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "add_metadef_resource_type_association", in: db)
                if try await metadefs.association(namespace: namespace.namespace, name: association.name, in: db) != nil {
                    throw APIError.conflict(
                        "The metadata definition resource-type association of resource-type=\(association.name) to namespace=\(namespace.namespace) already exists.")
                }
                try await metadefs.insertAssociation(association, namespace: namespace.namespace, in: db)
            }
            return Response.json(association.rendered(), status: .created)
        }
        router.delete("/v2/metadefs/namespaces/:namespace/resource_types/:resource_type") { _, context in
            let auth = try context.requireAuth()
            let name = metadefParameter(context, "resource_type")
            try await db.transaction { db in
                let namespace = try await writableNamespace(context, auth: auth, rule: "remove_metadef_resource_type_association", in: db)
                guard try await metadefs.association(namespace: namespace.namespace, name: name, in: db) != nil else {
                    throw APIError.notFound(
                        "The metadata definition resource-type association of resource-type=\(name) to namespace=\(namespace.namespace), was not found.")
                }
                try await metadefs.deleteItem(
                    from: "metadef_namespace_resource_types", keyColumn: "resource_type", namespace: namespace.namespace, name: name, in: db)
            }
            return Response.noContent()
        }
    }

    private func listNamespaces(_ request: Request, _ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        try policy.enforce("get_metadef_namespaces", auth: auth, target: ["project_id": auth.projectID ?? "", "visibility": "public"])
        let query = try MetadefNamespaceQuery(request: request, maxLimit: limits.pageMax)
        let viewer = context.viewer
        let all = try await db.read { db in try await metadefs.namespaces(in: db) }
        let associations = try await db.read { db in try await metadefs.allAssociations(in: db) }
        var namespaces = all.filter {
            $0.isVisible(to: viewer) && policy.check("get_metadef_namespace", creds: auth.policyCredentials, target: $0.policyTarget)
        }
        if let visibility = query.visibility { namespaces = namespaces.filter { $0.visibility == visibility } }
        if !query.resourceTypes.isEmpty {
            namespaces = namespaces.filter { ns in (associations[ns.namespace] ?? []).contains { query.resourceTypes.contains($0.name) } }
        }
        namespaces.sort(by: query.precedes)
        if let marker = query.marker {
            guard let index = namespaces.firstIndex(where: { $0.namespace == marker }) else { throw MetadefErrors.namespaceNotFound(marker) }
            namespaces = Array(namespaces[(index + 1)...])
        }
        let page = Array(namespaces.prefix(query.limit))
        let items: [JSON] = page.map { ns in
            var out = ns.rendered()
            if let list = associations[ns.namespace], !list.isEmpty { out["resource_type_associations"] = .array(list.map { $0.rendered() }) }
            return .object(out)
        }
        var body: [String: JSON] = [
            "namespaces": .array(items), "schema": "/v2/schemas/metadefs/namespaces", "first": "/v2/metadefs/namespaces",
        ]
        if namespaces.count > page.count, let last = page.last {
            let marker = last.namespace.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? last.namespace
            body["next"] = .string("/v2/metadefs/namespaces?marker=\(marker)&limit=\(query.limit)")
        }
        return Response.json(.object(body))
    }

    private func createNamespace(_ request: Request, _ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        let body = try await request.jsonObject(context: context)
        let input = try MetadefInput.namespace(body)
        let now = Date().timeIntervalSince1970
        let contents = try MetadefInput.contents(body, now: now)
        let namespace = MetadefNamespace(
            namespace: input.namespace, displayName: input.displayName, description: input.description,
            visibility: input.visibility ?? "private", protected: input.protected ?? false, owner: input.owner ?? auth.projectID,
            createdAt: now, updatedAt: now)
        try policy.enforce("add_metadef_namespace", auth: auth, target: namespace.policyTarget)
        if !contents.associations.isEmpty {
            try policy.enforce("add_metadef_resource_type_association", auth: auth, target: namespace.policyTarget)
        }
        if !contents.properties.isEmpty { try policy.enforce("add_metadef_property", auth: auth, target: namespace.policyTarget) }
        if !contents.objects.isEmpty { try policy.enforce("add_metadef_object", auth: auth, target: namespace.policyTarget) }
        if !contents.tags.isEmpty { try policy.enforce("add_metadef_tags", auth: auth, target: namespace.policyTarget) }
        let rendered = try await db.transaction { db in
            if try await metadefs.namespace(namespace.namespace, in: db) != nil {
                throw APIError.conflict("The metadata definition namespace=\(namespace.namespace) already exists.")
            }
            try await metadefs.insertNamespace(namespace, in: db)
            let name = namespace.namespace
            for association in contents.associations { try await metadefs.insertAssociation(association, namespace: name, in: db) }
            for property in contents.properties { try await metadefs.insertProperty(property, namespace: name, in: db) }
            for object in contents.objects { try await metadefs.insertObject(object, namespace: name, in: db) }
            for tag in contents.tags {
                try await metadefs.insertTag(MetadefTag(name: tag, createdAt: now, updatedAt: now), namespace: name, in: db)
            }
            return try await namespaceDetail(namespace, resourceType: nil, in: db)
        }
        return Response.json(rendered, status: .created)
    }

    private func updateNamespace(_ request: Request, _ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        let body = try await request.jsonObject(context: context)
        let input = try MetadefInput.namespace(body)
        let rendered = try await db.transaction { db in
            let current = try await writableNamespace(context, auth: auth, rule: "modify_metadef_namespace", in: db)
            var updated = current
            updated.namespace = input.namespace
            updated.displayName = input.displayName
            updated.description = input.description
            updated.visibility = input.visibility ?? "private"
            updated.protected = input.protected ?? false
            updated.owner = input.owner ?? current.owner
            updated.updatedAt = Date().timeIntervalSince1970
            if updated.namespace != current.namespace, try await metadefs.namespace(updated.namespace, in: db) != nil {
                throw APIError.conflict("The metadata definition namespace=\(updated.namespace) already exists.")
            }
            try await metadefs.updateNamespace(updated, oldName: current.namespace, in: db)
            return JSON.object(updated.rendered())
        }
        return Response.json(rendered)
    }

    /// DELETE of all objects, properties or tags of a namespace; refused for protected namespaces.
    private func deleteContents(_ context: StratusContext, table: String, rule: String) async throws -> Response {
        let auth = try context.requireAuth()
        try await db.transaction { db in
            let namespace = try await writableNamespace(context, auth: auth, rule: rule, in: db)
            guard !namespace.protected else { throw MetadefErrors.protected(namespace.namespace) }
            try await metadefs.deleteAll(from: table, namespace: namespace.namespace, in: db)
        }
        return Response.noContent()
    }

    /// A namespace with its associations, properties, objects and tags (each left out when
    /// empty, as Glance does). With `resourceType`, property names carry that association's prefix.
    func namespaceDetail(_ namespace: MetadefNamespace, resourceType: String?, in db: any SQLDatabase) async throws -> JSON {
        let name = namespace.namespace
        var out = namespace.rendered()
        let associations = try await metadefs.associations(namespace: name, in: db)
        if !associations.isEmpty { out["resource_type_associations"] = .array(associations.map { $0.rendered() }) }
        let prefix = resourceType.flatMap { type in associations.first(where: { $0.name == type })?.prefix } ?? ""
        let properties = try await metadefs.properties(namespace: name, in: db)
        if !properties.isEmpty {
            out["properties"] = .object(Dictionary(properties.map { (prefix + $0.name, JSON.object($0.schema)) }, uniquingKeysWith: { first, _ in first }))
        }
        let objects = try await metadefs.objects(namespace: name, in: db)
        if !objects.isEmpty { out["objects"] = .array(objects.map { $0.rendered(namespace: name) }) }
        let tags = try await metadefs.tags(namespace: name, in: db)
        if !tags.isEmpty { out["tags"] = .array(tags.map { JSON.object(["name": .string($0.name)]) }) }
        return .object(out)
    }
}
