import Hummingbird
import SQLKit
import StratusCore

extension IdentityAPI {
    func registerCatalog(on router: Router<StratusContext>) {
        var regions = CRUDRoutes(kind: Kinds.region, policyName: "region")
        regions.allowUserSuppliedID = true
        regions.beforeCreate = { record, _, db in
            try checkRegionID(record)
            try await checkParentRegion(record, db: db)
        }
        regions.beforeUpdate = { record, _, db in try await checkParentRegion(record, db: db) }
        regions.beforeDelete = { record, db in
            let id = record["id"]?.stringValue ?? ""
            if !(try await Kinds.region.list(from: db, filters: [("parent_region_id", .string(id))])).isEmpty {
                throw APIError.forbidden("Cannot delete region \(id): it has child regions.")
            }
        }
        regions.register(on: router, path: "/v3/regions", api: self)
        // PUT /v3/regions/{id} creates a region with a chosen id.
        router.put("/v3/regions/:id") { request, context in
            let auth = try context.requireAuth()
            try policy.enforce("identity:create_region", auth: auth)
            let body = try await request.resourceBody("region", context: context)
            var record = try Kinds.region.record(from: body, creating: true)
            record["id"] = .string(try context.param("id"))
            let prepared = record
            let created = try await store.write { db in
                let record = prepared
                try checkRegionID(record)
                try await checkParentRegion(record, db: db)
                try await Kinds.region.insert(record, into: db)
                return try await Kinds.region.require(id: record["id"]?.stringValue ?? "", from: db)
            }
            return Response.json(
                ["region": .object(Kinds.region.render(created, base: baseURL(request)))], status: .created)
        }

        var services = CRUDRoutes(kind: Kinds.service, policyName: "service")
        services.afterDelete = { record, db in
            try await db.delete(from: "endpoints").where(
                "service_id", .equal, SQLBind(record["id"]?.stringValue ?? "")
            ).run()
        }
        services.register(on: router, path: "/v3/services", api: self)

        var endpoints = CRUDRoutes(kind: Kinds.endpoint, policyName: "endpoint")
        endpoints.beforeCreate = { record, _, db in try await prepareEndpoint(&record, db: db) }
        endpoints.beforeUpdate = { record, _, db in try await prepareEndpoint(&record, db: db) }
        endpoints.register(on: router, path: "/v3/endpoints", api: self)

        let policies = CRUDRoutes(kind: Kinds.policy, policyName: "policy")
        policies.register(on: router, path: "/v3/policies", api: self)
    }

    /// A region id must be usable in a URL again: 1 to 255 characters, no `/` or control characters.
    private func checkRegionID(_ record: Record) throws {
        guard let id = record["id"]?.stringValue else { return }
        let usable =
            !id.isEmpty && id.count <= 255
            && !id.unicodeScalars.contains { $0 == "/" || $0 == "%" || $0.properties.generalCategory == .control }
        guard usable else {
            throw APIError.badRequest("Invalid input for field 'id': '\(id)' is not a valid region id.")
        }
    }

    private func checkParentRegion(_ record: Record, db: any SQLDatabase) async throws {
        guard let parent = record["parent_region_id"]?.stringValue else { return }
        if parent == record["id"]?.stringValue { throw APIError.badRequest("A region cannot be its own parent.") }
        guard try await Kinds.region.fetch(id: parent, from: db) != nil else {
            throw APIError.notFound("Could not find region: \(parent).")
        }
        var cursor: String? = parent
        var hops = 0
        while let current = cursor, hops < 64 {
            if current == record["id"]?.stringValue {
                throw APIError.badRequest("Region hierarchy would contain a cycle.")
            }
            cursor = try await Kinds.region.fetch(id: current, from: db)?["parent_region_id"]?.stringValue
            hops += 1
        }
    }

    /// Validates interface and service, and accepts the legacy `region` attribute, creating the
    /// region when it does not exist yet (as Keystone does for v2-era clients).
    private func prepareEndpoint(_ record: inout Record, db: any SQLDatabase) async throws {
        var extra = record["extra"]?.objectValue ?? [:]
        var createRegion = false
        if let legacy = extra.removeValue(forKey: "region"), let name = legacy.stringValue {
            // The v2-era `region` attribute names a region that is created on demand.
            record["region_id"] = .string(name)
            createRegion = true
        }
        record["extra"] = .object(extra)
        guard let interface = record["interface"]?.stringValue, ["public", "internal", "admin"].contains(interface)
        else {
            throw APIError.badRequest("Invalid input for field 'interface': must be one of public, internal or admin.")
        }
        guard let url = record["url"]?.stringValue, url.contains("://") else {
            throw APIError.badRequest("Invalid input for field 'url': not a valid URL.")
        }
        let serviceID = record["service_id"]?.stringValue ?? ""
        guard try await Kinds.service.fetch(id: serviceID, from: db) != nil else {
            throw APIError.badRequest("Could not find service: \(serviceID).")
        }
        if let regionID = record["region_id"]?.stringValue, try await Kinds.region.fetch(id: regionID, from: db) == nil
        {
            guard createRegion else {
                throw APIError.badRequest("Expecting to find endpoint region_id in region table: \(regionID).")
            }
            try await Kinds.region.insert(["id": .string(regionID), "description": ""], into: db)
        }
    }

    func registerCredentials(on router: Router<StratusContext>) {
        var credentialRoutes = CRUDRoutes(kind: Kinds.credential, policyName: "credential")
        credentialRoutes.skip = ["list"]
        credentialRoutes.beforeCreate = { record, auth, db in
            let userID = record["user_id"]?.stringValue ?? ""
            _ = try await Kinds.user.require(id: userID, from: db)
            if record["type"]?.stringValue == "ec2" {
                guard record["project_id"]?.stringValue != nil else {
                    throw APIError.badRequest(
                        "Invalid input for field 'project_id': EC2 credentials require a project_id.")
                }
                guard let blob = record["blob"]?.stringValue.flatMap({ try? JSON.parse($0) }),
                    blob["access"]?.stringValue != nil
                else {
                    throw APIError.badRequest(
                        "Invalid input for field 'blob': EC2 credentials need a JSON blob with 'access'.")
                }
            }
        }
        let credentialTarget = credentialRoutes
        router.get("/v3/credentials") { request, context in
            let auth = try context.requireAuth()
            var filters: [(String, JSON)] = []
            if let userID = request.query("user_id") { filters.append(("user_id", .string(userID))) }
            if let type = request.query("type") { filters.append(("type", .string(type))) }
            let query = filters
            let all = try await store.read { db in try await Kinds.credential.list(from: db, filters: query) }
            let visible = all.filter {
                policy.check(
                    "identity:list_credentials", creds: auth.policyCredentials, target: credentialTarget.target($0))
            }
            return Kinds.credential.collection(visible, request: request)
        }
        let routes = credentialRoutes
        routes.register(on: router, path: "/v3/credentials", api: self)
    }

    func registerLimits(on router: Router<StratusContext>) {
        for kind in [Kinds.registeredLimit, Kinds.limit] {
            var routes = CRUDRoutes(kind: kind, policyName: kind.singular)
            routes.skip = ["create"]
            routes.register(on: router, path: "/v3/\(kind.plural)", api: self)
            router.post(RouterPath("/v3/\(kind.plural)")) { request, context in
                let auth = try context.requireAuth()
                try policy.enforce("identity:create_\(kind.singular)", auth: auth)
                let body = try await request.jsonObject(context: context)
                guard let items = body[kind.plural]?.arrayValue, !items.isEmpty else {
                    throw APIError.badRequest(
                        "Invalid input for field '\(kind.plural)': a non-empty list is required.")
                }
                let created = try await store.write { db -> [Record] in
                    var out: [Record] = []
                    for item in items {
                        guard let object = item.objectValue else {
                            throw APIError.badRequest(
                                "Invalid input for field '\(kind.plural)': items must be objects.")
                        }
                        var record = try kind.record(from: object, creating: true)
                        record["id"] = .string(newID())
                        try await checkLimit(record, kind: kind, db: db)
                        try await kind.insert(record, into: db)
                        out.append(try await kind.require(id: record["id"]?.stringValue ?? "", from: db))
                    }
                    return out
                }
                let base = baseURL(request)
                return Response.json(
                    [kind.plural: .array(created.map { .object(kind.render($0, base: base)) })], status: .created)
            }
        }
        router.get("/v3/limits/model") { _, context in
            _ = try context.requireAuth()
            return Response.json([
                "model": [
                    "name": "flat",
                    "description":
                        "Limit enforcement and validation does not take project hierarchy into consideration.",
                ]
            ])
        }
    }

    /// References must exist, and a limit needs a registered limit for its service, region and resource.
    private func checkLimit(_ record: Record, kind: ResourceKind, db: any SQLDatabase) async throws {
        let serviceID = record["service_id"]?.stringValue ?? ""
        guard try await Kinds.service.fetch(id: serviceID, from: db) != nil else {
            throw APIError.badRequest("Could not find service: \(serviceID).")
        }
        if let regionID = record["region_id"]?.stringValue, try await Kinds.region.fetch(id: regionID, from: db) == nil
        {
            throw APIError.badRequest("Could not find region: \(regionID).")
        }
        if let limit = record["default_limit"]?.intValue ?? record["resource_limit"]?.intValue, limit < -1 {
            throw APIError.badRequest("Limits must be -1 (unlimited) or greater.")
        }
        var unique: [(String, JSON)] = [
            ("service_id", .string(serviceID)), ("resource_name", record["resource_name"] ?? .null),
            ("region_id", record["region_id"] ?? .null),
        ]
        if kind.table == "limits" {
            let projectID = record["project_id"]?.stringValue
            let domainID = record["domain_id"]?.stringValue
            guard (projectID == nil) != (domainID == nil) else {
                throw APIError.badRequest("A limit needs exactly one of project_id or domain_id.")
            }
            if let projectID { _ = try await Kinds.project.require(id: projectID, from: db) }
            if let domainID { _ = try await Kinds.domain.require(id: domainID, from: db) }
            if try await Kinds.registeredLimit.list(from: db, filters: unique).isEmpty {
                throw APIError.forbidden("No registered limit exists for this service, region and resource.")
            }
            unique.append(("project_id", JSON(projectID)))
            unique.append(("domain_id", JSON(domainID)))
        }
        if !(try await kind.list(from: db, filters: unique)).isEmpty {
            throw APIError.conflict("Conflict occurred attempting to store \(kind.singular) - Duplicate entry.")
        }
    }
}
