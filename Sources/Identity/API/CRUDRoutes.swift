import Hummingbird
import SQLKit
import StratusCore

/// The five routes of a plain identity resource (create, list, show, update, delete), with
/// hooks for what differs between kinds. Policy rule names follow Keystone:
/// `identity:create_region`, `identity:list_regions`, ...
struct CRUDRoutes: Sendable {
    typealias Hook = @Sendable (_ record: inout Record, _ auth: AuthContext, _ db: any SQLDatabase) async throws -> Void
    typealias Check = @Sendable (_ record: Record, _ db: any SQLDatabase) async throws -> Void

    let kind: ResourceKind
    let policyName: String
    /// Extra filters for the list query (for example `is_domain = true` for domains).
    var fixedFilters: [(String, JSON)] = []
    /// Fills defaults and checks references before insert.
    var beforeCreate: Hook = { _, _, _ in }
    /// Checks an update; the record holds the old values merged with the changes.
    var beforeUpdate: Hook = { _, _, _ in }
    var beforeDelete: Check = { _, _ in }
    /// Runs after delete, in the same transaction (cascades, revocations).
    var afterDelete: Check = { _, _ in }
    var afterUpdate: @Sendable (_ old: Record, _ new: Record, _ db: any SQLDatabase) async throws -> Void = { _, _, _ in }
    var allowUserSuppliedID = false
    /// Actions a kind registers itself ("create", "list", "show", "update", "delete").
    var skip: Set<String> = []
    /// Fields whose change is refused with 403, as Keystone refuses moving a project (`parent_id`).
    var forbiddenUpdates: Set<String> = []

    /// The attributes policy rules see as `%(target.<kind>.<attr>)s`.
    func target(_ record: Record) -> [String: String] {
        var target: [String: String] = [:]
        for (key, value) in record {
            if let s = value.stringValue {
                target["target.\(kind.singular).\(key)"] = s
                target[key] = s
            }
        }
        return target
    }

    func register(on router: Router<StratusContext>, path: String, api: IdentityAPI) {
        let store = api.store
        let policy = api.policy
        if !skip.contains("create") { router.post(RouterPath(path)) { request, context in
            let auth = try context.requireAuth()
            let body = try await request.resourceBody(kind.singular, context: context)
            var record = try kind.record(from: body, creating: true)
            try policy.enforce("identity:create_\(policyName)", auth: auth, target: target(record))
            if !allowUserSuppliedID || record["id"]?.stringValue == nil { record["id"] = .string(newID()) }
            let prepared = record
            let created = try await store.write { db in
                var record = prepared
                try await beforeCreate(&record, auth, db)
                try await kind.insert(record, into: db)
                return try await kind.require(id: record["id"]?.stringValue ?? "", from: db)
            }
            let view = kind.render(created, base: baseURL(request))
            return Response.json([kind.singular: .object(view)], status: .created)
        } }
        if !skip.contains("list") { router.get(RouterPath(path)) { request, context in
            let auth = try context.requireAuth()
            var filters = fixedFilters
            for name in kind.filters {
                guard let value = request.query(name), let column = kind.column(name) else { continue }
                switch column.kind {
                case .bool: filters.append((name, .bool(try request.boolQuery(name) ?? true)))
                case .int: filters.append((name, Int(value).map { .int($0) } ?? .string(value)))
                default: filters.append((name, .string(value)))
                }
            }
            let query = filters
            try policy.enforce("identity:list_\(kind.plural)", auth: auth, target: Dictionary(query.compactMap { f in f.1.stringValue.map { ("target.\(kind.singular).\(f.0)", $0) } }, uniquingKeysWith: { a, _ in a }))
            let records = try await store.read { db in try await kind.list(from: db, filters: query) }
            return kind.collection(records, request: request)
        } }
        if !skip.contains("show") { router.get(RouterPath(path + "/:id")) { request, context in
            let auth = try context.requireAuth()
            let id = try context.param("id")
            let record = try await store.read { db in try await fetchScoped(id: id, db: db) }
            try policy.enforce("identity:get_\(policyName)", auth: auth, target: target(record))
            return Response.json([kind.singular: .object(kind.render(record, base: baseURL(request)))])
        } }
        router.patch(RouterPath(path + "/:id")) { request, context in
            let auth = try context.requireAuth()
            let id = try context.param("id")
            let body = try await request.resourceBody(kind.singular, context: context)
            if let bodyID = body["id"]?.stringValue, bodyID != id {
                throw APIError.badRequest("Cannot change the id of a \(kind.singular).")
            }
            for field in forbiddenUpdates where body[field] != nil {
                throw APIError.forbidden("Update of `\(field)` is not allowed.")
            }
            var requested = try kind.record(from: body, creating: false)
            requested["id"] = nil
            let updated = try await store.write { [requested] db in
                var changes = requested
                let old = try await fetchScoped(id: id, db: db)
                try policy.enforce("identity:update_\(policyName)", auth: auth, target: target(old))
                if let extra = changes["extra"]?.objectValue {
                    changes["extra"] = .object((old["extra"]?.objectValue ?? [:]).merging(extra) { _, new in new })
                }
                var merged = old.merging(changes) { _, new in new }
                try await beforeUpdate(&merged, auth, db)
                let finalChanges = merged.filter { key, value in old[key] != value }
                try await kind.update(id: id, changes: finalChanges, in: db)
                let new = try await kind.require(id: id, from: db)
                try await afterUpdate(old, new, db)
                return new
            }
            return Response.json([kind.singular: .object(kind.render(updated, base: baseURL(request)))])
        }
        router.delete(RouterPath(path + "/:id")) { request, context in
            let auth = try context.requireAuth()
            let id = try context.param("id")
            try await store.write { db in
                let record = try await fetchScoped(id: id, db: db)
                try policy.enforce("identity:delete_\(policyName)", auth: auth, target: target(record))
                try await beforeDelete(record, db)
                try await kind.delete(id: id, from: db)
                try await afterDelete(record, db)
            }
            return Response.noContent()
        }
    }

    /// Fetches by id, treating a row that fails the fixed filters (a project asked for as a domain) as absent.
    func fetchScoped(id: String, db: any SQLDatabase) async throws -> Record {
        let record = try await kind.require(id: id, from: db)
        for (name, value) in fixedFilters where record[name] != value {
            throw APIError.notFound("Could not find \(kind.singular): \(id).")
        }
        return record
    }
}
