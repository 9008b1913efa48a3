import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ComputeAPI {
    func registerFlavors(on router: RouterGroup<StratusContext>) {
        router.get("/flavors") { request, context in try await self.listFlavors(request, context, detail: false) }
        router.get("/flavors/detail") { request, context in try await self.listFlavors(request, context, detail: true) }
        router.get("/flavors/:id") { request, context -> Response in
            let auth = try self.caller(context)
            let flavor = try await self.visibleFlavor(context.parameters.get("id") ?? "", auth)
            return .json(["flavor": self.flavorView(flavor, request, context, detail: true)])
        }
        router.post("/flavors") { request, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:os-flavor-manage:create", auth)
            let body = try await request.computeBody("flavor", context: context)
            let flavor = try Self.parseFlavor(body, allowDescription: context.version(atLeast: 2, 55))
            try await self.db.transaction { db in
                if try await Flavor.get(flavor.id, in: db) != nil {
                    throw APIError.conflict("Flavor with ID \(flavor.id) already exists.")
                }
                let named = try await db.select().column("flavorid").from("flavors").where("name", .equal, SQLBind(flavor.name)).first()
                if named != nil { throw APIError.conflict("Flavor with name \(flavor.name) already exists.") }
                try await flavor.insert(in: db)
            }
            return .json(["flavor": self.flavorView(flavor, request, context, detail: true)])
        }
        router.put("/flavors/:id") { request, context -> Response in
            let auth = try self.caller(context)
            guard context.version(atLeast: 2, 55) else { throw APIError.methodNotAllowed() }
            try self.enforce("os_compute_api:os-flavor-manage:update", auth)
            let body = try await request.computeBody("flavor", context: context)
            guard body.keys.sorted() == ["description"], let value = body["description"], value.isNull || value.stringValue != nil else {
                throw APIError.badRequest("Invalid input for field/attribute flavor. Only 'description' can be updated.")
            }
            let description = value.stringValue
            if let description, description.count > 65535 { throw APIError.badRequest("Invalid input for field/attribute description.") }
            let id = context.parameters.get("id") ?? ""
            let flavor: Flavor = try await self.db.transaction { db in
                guard var flavor = try await Flavor.get(id, in: db) else { throw ComputeError.flavorNotFound(id) }
                flavor.description = description
                try await db.update("flavors").set("description", to: SQLBind(description)).where("flavorid", .equal, SQLBind(id)).run()
                return flavor
            }
            return .json(["flavor": self.flavorView(flavor, request, context, detail: true)])
        }
        router.delete("/flavors/:id") { _, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:os-flavor-manage:delete", auth)
            let id = context.parameters.get("id") ?? ""
            try await self.db.transaction { db in
                guard try await Flavor.get(id, in: db) != nil else { throw ComputeError.flavorNotFound(id) }
                try await db.delete(from: "flavors").where("flavorid", .equal, SQLBind(id)).run()
                try await db.delete(from: "flavor_projects").where("flavorid", .equal, SQLBind(id)).run()
            }
            return Response(status: .accepted)
        }
        registerFlavorExtraSpecs(on: router)
        registerFlavorAccess(on: router)
    }

    /// A flavor the caller may use: public, granted to the project, or any for admins.
    func visibleFlavor(_ id: String, _ auth: AuthContext) async throws -> Flavor {
        guard let found = try await findFlavor(id, auth) else { throw ComputeError.flavorNotFound(id) }
        return found
    }

    /// The flavor if the caller may see it (public, granted to its project, or an admin), else nil.
    func findFlavor(_ id: String, _ auth: AuthContext) async throws -> Flavor? {
        let admin = isAdmin(auth)
        return try await db.read { db in
            guard let flavor = try await Flavor.get(id, in: db) else { return nil }
            if flavor.isPublic || admin { return flavor }
            let granted = try await db.select().column("flavorid").from("flavor_projects")
                .where("flavorid", .equal, SQLBind(id)).where("project_id", .equal, SQLBind(auth.projectID ?? "")).first()
            return granted == nil ? nil : flavor
        }
    }

    func listFlavors(_ request: Request, _ context: StratusContext, detail: Bool) async throws -> Response {
        let auth = try caller(context)
        let admin = isAdmin(auth)
        var conditions: [SQLQueryString] = []
        // Nova: `is_public` defaults to true; admins may ask for `none` (all) or false.
        let isPublic = request.query("is_public")?.lowercased() ?? "true"
        switch isPublic {
        case "none" where admin: break
        case "true", "1", "t", "yes", "y", "none":
            conditions.append(admin ? "is_public = \(bind: true)" : "(is_public = \(bind: true) OR flavorid IN (SELECT flavorid FROM flavor_projects WHERE project_id = \(bind: auth.projectID ?? "")))")
        case "false", "0", "f", "no", "n":
            conditions.append(admin ? "is_public = \(bind: false)" : "flavorid IN (SELECT flavorid FROM flavor_projects WHERE project_id = \(bind: auth.projectID ?? ""))")
        default:
            throw APIError.badRequest("Invalid is_public filter [\(isPublic)]")
        }
        for (name, column) in [("minRam", "memory_mb"), ("minDisk", "root_gb")] {
            guard let text = request.query(name) else { continue }
            guard let value = Int(text) else { throw APIError.badRequest("Invalid \(name) filter [\(text)]") }
            conditions.append("\(ident: column) >= \(bind: value)")
        }
        let sortKeys = ["flavorid", "name", "memory_mb", "vcpus", "root_gb", "swap", "ephemeral_gb", "rxtx_factor", "id", "created_at", "description", "disabled", "is_public"]
        var sortKey = request.query("sort_key") ?? "flavorid"
        guard sortKeys.contains(sortKey) else { throw APIError.badRequest("Invalid input received: Invalid sort_key \(sortKey)") }
        if ["id", "disabled"].contains(sortKey) { sortKey = "created_at" }
        let sortDir = request.query("sort_dir") ?? "asc"
        guard ["asc", "desc"].contains(sortDir) else { throw APIError.badRequest("Invalid input received: Invalid sort_dir \(sortDir)") }
        let limit = min(try request.intQuery("limit") ?? settings.maxLimit, settings.maxLimit)
        let marker = request.query("marker")
        let frozen = conditions
        var flavors: [Flavor] = try await db.read { db in
            let sql: SQLQueryString = "SELECT \(unsafeRaw: Flavor.columns.joined(separator: ", ")) FROM flavors WHERE " + SQLQueryString.all(frozen)
            return try await db.raw(sql).all().map(Flavor.init(row:))
        }
        flavors.sort { a, b in
            let order = Self.compare(a, b, key: sortKey)
            return sortDir == "asc" ? order : !order && Self.compare(b, a, key: sortKey)
        }
        if let marker {
            guard let index = flavors.firstIndex(where: { $0.id == marker }) else { throw APIError.badRequest("marker [\(marker)] not found") }
            flavors.removeFirst(index + 1)
        }
        let page = Array(flavors.prefix(limit))
        var body: [String: JSON] = ["flavors": .array(page.map { flavorView($0, request, context, detail: detail) })]
        if page.count == limit, flavors.count > limit, let last = page.last {
            body["flavors_links"] = [["rel": "next", "href": .string(Self.nextLink(request, marker: last.id, limit: limit))]]
        }
        return .json(.object(body))
    }

    static func compare(_ a: Flavor, _ b: Flavor, key: String) -> Bool {
        switch key {
        case "name": return a.name < b.name
        case "memory_mb": return (a.memoryMB, a.id) < (b.memoryMB, b.id)
        case "vcpus": return (a.vcpus, a.id) < (b.vcpus, b.id)
        case "root_gb": return (a.rootGB, a.id) < (b.rootGB, b.id)
        case "swap": return (a.swap, a.id) < (b.swap, b.id)
        case "ephemeral_gb": return (a.ephemeralGB, a.id) < (b.ephemeralGB, b.id)
        case "description": return (a.description ?? "", a.id) < (b.description ?? "", b.id)
        default: return a.id < b.id
        }
    }

    /// `next` link: this request's URL with `marker` (and `limit`) replaced.
    static func nextLink(_ request: Request, marker: String, limit: Int) -> String {
        var items = request.uri.queryParameters.filter { $0.key != "marker" && $0.key != "limit" }
            .map { "\($0.key)=\(String($0.value).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
        items.append("limit=\(limit)")
        items.append("marker=\(marker)")
        return request.baseURL + request.uri.path + "?" + items.joined(separator: "&")
    }

    func flavorView(_ flavor: Flavor, _ request: Request, _ context: StratusContext, detail: Bool) -> JSON {
        var view: [String: JSON] = ["id": .string(flavor.id), "name": .string(flavor.name), "links": Self.links(request, "flavors", flavor.id)]
        if context.version(atLeast: 2, 55) { view["description"] = JSON(flavor.description) }
        guard detail else { return .object(view) }
        view["ram"] = .int(flavor.memoryMB)
        view["disk"] = .int(flavor.rootGB)
        view["vcpus"] = .int(flavor.vcpus)
        view["OS-FLV-EXT-DATA:ephemeral"] = .int(flavor.ephemeralGB)
        view["OS-FLV-DISABLED:disabled"] = false
        view["os-flavor-access:is_public"] = .bool(flavor.isPublic)
        view["swap"] = flavor.swap == 0 && !context.version(atLeast: 2, 75) ? "" : .int(flavor.swap)
        view["rxtx_factor"] = .double(flavor.rxtxFactor)
        if context.version(atLeast: 2, 61) { view["extra_specs"] = .object(flavor.extraSpecs.mapValues { .string($0) }) }
        return .object(view)
    }

    /// `POST /flavors` body, with Nova's validation.
    static func parseFlavor(_ body: [String: JSON], allowDescription: Bool) throws -> Flavor {
        func integer(_ key: String, min: Int, required: Bool, default value: Int = 0) throws -> Int {
            guard let raw = body[key], !raw.isNull else {
                if required { throw APIError.badRequest("Invalid input for field/attribute flavor. '\(key)' is a required property") }
                return value
            }
            let number: Int? = raw.intValue ?? raw.stringValue.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard let number, number >= min, number <= Int(Int32.max) else {
                throw APIError.badRequest("Invalid input for field/attribute \(key). Value: \(raw.serialized()). must be an integer of at least \(min)")
            }
            return number
        }
        guard let name = body["name"]?.stringValue else {
            throw APIError.badRequest("Invalid input for field/attribute name. 'name' is a required property and must be a string")
        }
        guard !name.isEmpty, name.count <= 255, name.trimmingCharacters(in: .whitespaces) == name else {
            throw APIError.badRequest("Invalid input for field/attribute name. Value: \(name). must be 1 to 255 characters without leading or trailing spaces")
        }
        var id = UUID().uuidString.lowercased()
        if let given = body["id"], !given.isNull {
            guard let text = given.stringValue ?? given.intValue.map(String.init), !text.isEmpty, text.count <= 255,
                text.trimmingCharacters(in: .whitespaces) == text
            else { throw APIError.badRequest("Invalid input for field/attribute id. Value: \(given.serialized()).") }
            id = text
        }
        var rxtx = 1.0
        if let raw = body["rxtx_factor"], !raw.isNull {
            guard case let value? = raw.numberValue ?? raw.stringValue.flatMap(Double.init), value > 0 else {
                throw APIError.badRequest("Invalid input for field/attribute rxtx_factor. Value: \(raw.serialized()).")
            }
            rxtx = value
        }
        var isPublic = true
        if let raw = body["os-flavor-access:is_public"], !raw.isNull {
            guard let value = raw.boolValue ?? raw.stringValue.flatMap({ ["true": true, "false": false][$0.lowercased()] }) else {
                throw APIError.badRequest("Invalid input for field/attribute os-flavor-access:is_public. Value: \(raw.serialized()).")
            }
            isPublic = value
        }
        var description: String?
        if let raw = body["description"], !raw.isNull {
            guard allowDescription else { throw APIError.badRequest("Invalid input for field/attribute flavor. Additional properties are not allowed ('description' was unexpected)") }
            guard let text = raw.stringValue, text.count <= 65535 else { throw APIError.badRequest("Invalid input for field/attribute description.") }
            description = text
        }
        return Flavor(
            id: id, name: name, memoryMB: try integer("ram", min: 1, required: true), vcpus: try integer("vcpus", min: 1, required: true),
            rootGB: try integer("disk", min: 0, required: true), ephemeralGB: try integer("OS-FLV-EXT-DATA:ephemeral", min: 0, required: false),
            swap: try integer("swap", min: 0, required: false), rxtxFactor: rxtx, isPublic: isPublic, description: description)
    }
}
