import Foundation
import HTTPTypes
import Hummingbird
import SQLKit
import StratusCore

/// The generic REST handlers every resource kind gets: list, show, create (one or bulk),
/// update, delete, and the tags sub-resource.
extension NetworkAPI {
    func registerResource(_ kind: ResourceKind, on router: Router<StratusContext>) {
        // Hummingbird wants one parameter name per position: a nested collection's parent
        // is `:id` (as in the parent's own routes) and its items are `:sub`.
        let base = "/v2.0/" + kind.path.replacingOccurrences(of: "{parent}", with: ":id")
        let item = base + (kind.parentKind == nil ? "/:id" : "/:sub")
        router.get(RouterPath(base)) { request, context in try await self.list(kind, request, context) }
        router.post(RouterPath(base)) { request, context in try await self.create(kind, request, context) }
        router.get(RouterPath(item)) { request, context in try await self.show(kind, request, context) }
        router.put(RouterPath(item)) { request, context in try await self.update(kind, request, context) }
        router.delete(RouterPath(item)) { request, context in try await self.delete(kind, request, context) }
        if kind.hasTags { registerTags(kind, base: base, on: router) }
    }

    func caller(_ context: StratusContext) throws -> Caller {
        let auth = try context.requireAuth()
        return Caller(
            auth: auth, isAdmin: policy.check("context_is_admin", creds: auth.policyCredentials, target: [:]))
    }

    // MARK: read

    func list(_ kind: ResourceKind, _ request: Request, _ context: StratusContext) async throws -> Response {
        let caller = try caller(context)
        try await checkParent(kind, request, context, caller: caller)
        let items = Self.queryItems(request)
        let query = try ListQuery(items: items, kind: kind, maxLimit: settings.paginationMax)
        try await kind.hooks.beforeRead(caller, api: self)
        var filters = query.conditions
        if let parent = parentCondition(kind, context) { filters.append(parent) }
        if let visible = visibility(kind, caller) { filters.append(visible) }
        let conditions = filters
        let reversed = query.pageReverse
        let page: [Record] = try await db.read { db in
            var conds = conditions
            if let marker = query.marker {
                guard let markerRecord = try await RecordStore.get(kind, id: marker, db: db) else {
                    throw NeutronError.notFound("MarkerNotFound", "Marker \(marker) could not be found.")
                }
                conds.append(query.keyset(after: markerRecord, reversed: reversed))
            }
            var rows = try await RecordStore.select(
                kind, where: ListQuery.join(conds, " AND "), order: query.order(reversed: reversed),
                limit: query.limit.map { $0 + 1 }, db: db)
            try await self.expand(kind, &rows, caller: caller, db: db)
            return rows
        }
        var records = page
        let more = query.limit.map { records.count > $0 } ?? false
        if let limit = query.limit, more { records.removeLast(records.count - limit) }
        if reversed { records.reverse() }
        let pages: [JSON]? =
            query.limit == nil
            ? nil : links(request, query: query, first: records.first?.id, last: records.last?.id, more: more)
        return .jsonList(
            kind.collection, records,
            element: { record, list in
                let target = Self.target(record)
                guard policy.check("get_\(kind.member)", creds: caller.auth.policyCredentials, target: target)
                else { return }
                list.object { item in
                    forEachMember(kind, record, caller: caller, fields: query.fields, target: target) {
                        item.field($0, $1)
                    }
                }
            },
            after: { body in
                if let pages { body.field(kind.collection + "_links", JSON.array(pages)) }
            })
    }

    func links(_ request: Request, query: ListQuery, first: String?, last: String?, more: Bool) -> [JSON] {
        func href(marker: String, reverse: Bool) -> JSON {
            var items = query.passThrough
            if let limit = query.limit { items.append(("limit", String(limit))) }
            items.append(("marker", marker))
            if reverse { items.append(("page_reverse", "True")) }
            let text = items.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
            return .string(request.baseURL + request.uri.path + "?" + text)
        }
        var links: [JSON] = []
        if query.pageReverse {
            if more, let first { links.append(["href": href(marker: first, reverse: true), "rel": "previous"]) }
            if query.marker != nil, let last {
                links.append(["href": href(marker: last, reverse: false), "rel": "next"])
            }
        } else {
            if more, let last { links.append(["href": href(marker: last, reverse: false), "rel": "next"]) }
            if query.marker != nil, let first {
                links.append(["href": href(marker: first, reverse: true), "rel": "previous"])
            }
        }
        return links
    }

    /// The query as clients encode it (see `Request.formQueryItems`).
    static func queryItems(_ request: Request) -> [(String, String)] { request.formQueryItems }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+")))
            ?? s
    }

    func show(_ kind: ResourceKind, _ request: Request, _ context: StratusContext) async throws -> Response {
        let caller = try caller(context)
        try await checkParent(kind, request, context, caller: caller)
        let id = itemID(kind, context)
        try await kind.hooks.beforeRead(caller, api: self)
        let record = try await db.read { db in
            try await self.load(kind, id: id, caller: caller, context: context, db: db)
        }
        let fields = Self.queryItems(request).filter { $0.0 == "fields" }.flatMap {
            $0.1.split(separator: ",").map(String.init)
        }
        return .json([kind.member: .object(render(kind, record, caller: caller, fields: fields))])
    }

    /// The record `id` as `caller` may see it (computed attributes filled), or 404.
    func load(_ kind: ResourceKind, id: String, caller: Caller, context: StratusContext? = nil, db: any SQLDatabase)
        async throws -> Record
    {
        var condition: SQLQueryString = "id = \(bind: id)"
        if let context, let parent = parentCondition(kind, context) { condition = condition + " AND " + parent }
        if let visible = visibility(kind, caller) { condition = condition + " AND " + visible }
        var rows = try await RecordStore.select(kind, where: condition, db: db)
        try await expand(kind, &rows, caller: caller, db: db)
        guard let record = rows.first, try await canSee(kind, record, caller) else {
            throw NeutronError.notFound(kind, id: id)
        }
        return record
    }

    /// The parent a create names (a subnet's or port's network): 404 when there is none, 403
    /// when it is another project's, as Neutron's policy hook answers a denied POST.
    func loadParent(
        _ kind: ResourceKind, id: String, caller: Caller, action: String, db: any SQLDatabase
    ) async throws -> Record {
        do {
            return try await load(kind, id: id, caller: caller, db: db)
        } catch let error as APIError where error.status == .notFound {
            guard try await RecordStore.get(kind, id: id, db: db) != nil else { throw error }
            throw NeutronError.policy(action)
        }
    }

    func expand(_ kind: ResourceKind, _ records: inout [Record], caller: Caller?, db: any SQLDatabase) async throws {
        guard !records.isEmpty else { return }
        try await kind.hooks.expand(&records, caller: caller, db: db, api: self)
        if kind.hasTags {
            let tags = try await RecordStore.tags(member: kind.member, ids: records.map(\.id), db: db)
            for i in records.indices { records[i]["tags"] = JSON(tags[records[i].id] ?? []) }
        }
    }

    func visibility(_ kind: ResourceKind, _ caller: Caller) -> SQLQueryString? {
        if caller.isAdmin || !kind.projectScoped { return nil }
        return kind.hooks.visibility(caller) ?? "project_id = \(bind: caller.projectID)"
    }

    func canSee(_ kind: ResourceKind, _ record: Record, _ caller: Caller) async throws -> Bool {
        policy.check("get_\(kind.member)", creds: caller.auth.policyCredentials, target: Self.target(record))
    }

    /// The record as the caller may see it: attributes guarded by a read rule the caller
    /// fails are left out, `tenant_id` mirrors `project_id`, and `fields` selects keys.
    func render(
        _ kind: ResourceKind, _ record: Record, caller: Caller, fields: [String] = [], target: [String: String]? = nil
    ) -> Record {
        var out: Record = [:]
        forEachMember(kind, record, caller: caller, fields: fields, target: target ?? Self.target(record)) {
            out[$0] = $1
        }
        return out
    }

    /// The members of `render`'s view in attribute order, for lists to write as they go.
    private func forEachMember(
        _ kind: ResourceKind, _ record: Record, caller: Caller, fields: [String], target: [String: String],
        _ body: (String, JSON) -> Void
    ) {
        var projectID: JSON?
        for attribute in kind.attributes {
            if attribute.readRule != nil,
                !policy.check(
                    "get_\(kind.member):\(attribute.name)", creds: caller.auth.policyCredentials, target: target)
            {
                continue
            }
            let value = record[attribute.name] ?? .null
            if attribute.name == "project_id" { projectID = value }
            if fields.isEmpty || fields.contains(attribute.name) { body(attribute.name, value) }
        }
        if kind.projectScoped, let projectID, fields.isEmpty || fields.contains("tenant_id") {
            body("tenant_id", projectID)
        }
    }

    /// Policy target: the record's scalar attributes as strings (booleans as Python prints them).
    static func target(_ record: Record) -> [String: String] {
        var target: [String: String] = [:]
        for (key, value) in record {
            switch value {
            case .string(let s): target[key] = s
            case .bool(let b): target[key] = b ? "True" : "False"
            case .int(let i): target[key] = String(i)
            default: break
            }
        }
        target["tenant_id"] = target["project_id"]
        return target
    }

    func enforce(_ action: String, caller: Caller, target: [String: String]) throws {
        guard policy.check(action, creds: caller.auth.policyCredentials, target: target) else {
            throw NeutronError.policy(action)
        }
    }

    // MARK: nested collections

    /// The id of the addressed item (`:sub` in nested collections).
    func itemID(_ kind: ResourceKind, _ context: StratusContext) -> String {
        context.parameters.get(kind.parentKind == nil ? "id" : "sub") ?? ""
    }

    func parentID(_ kind: ResourceKind, _ context: StratusContext) -> String? {
        kind.parentKind == nil ? nil : context.parameters.get("id")
    }

    func parentCondition(_ kind: ResourceKind, _ context: StratusContext) -> SQLQueryString? {
        guard let attribute = kind.parentAttribute, let parent = parentID(kind, context) else { return nil }
        return "\(ident: Attribute.columnName(attribute)) = \(bind: parent)"
    }

    func checkParent(_ kind: ResourceKind, _ request: Request, _ context: StratusContext, caller: Caller) async throws
    {
        guard let parentName = kind.parentKind, let parentKind = kinds[parentName], let id = parentID(kind, context)
        else { return }
        _ = try await db.read { db in try await self.load(parentKind, id: id, caller: caller, db: db) }
    }

    // MARK: write

    func create(_ kind: ResourceKind, _ request: Request, _ context: StratusContext) async throws -> Response {
        let caller = try caller(context)
        try await checkParent(kind, request, context, caller: caller)
        let body = try await request.jsonObject(context: context)
        let bulk: Bool
        let inputs: [JSON]
        if let items = body[kind.collection]?.arrayValue, body[kind.member] == nil {
            bulk = true
            inputs = items
        } else if let item = body[kind.member] {
            bulk = false
            inputs = [item]
        } else {
            throw NeutronError.badRequest("Unable to find '\(kind.member)' in request body")
        }
        var items: [(record: Record, given: Set<String>)] = []
        for input in inputs {
            guard case .object(let object) = input else {
                throw NeutronError.badRequest("Invalid format: \(input.serialized())")
            }
            var item = try prepareCreate(kind, object, caller: caller)
            if let parent = kind.parentAttribute, let id = parentID(kind, context) {
                item.record[parent] = .string(id)
            }
            items.append(item)
        }
        let prepared = items
        let (created, actions): ([Record], [@Sendable () async -> Void]) = try await db.transactionRetryingConflicts {
            db in
            let ctx = HookContext(db: db, caller: caller, api: self)
            var out: [Record] = []
            for (record, given) in prepared {
                out.append(try await self.insert(kind, record, given: given, ctx: ctx))
            }
            try await self.expand(kind, &out, caller: caller, db: db)
            return (out, ctx.afterCommit)
        }
        for action in actions { await action() }
        let rendered = created.map { JSON.object(render(kind, $0, caller: caller)) }
        if bulk { return .json([kind.collection: .array(rendered)], status: .created) }
        return .json([kind.member: rendered.first ?? [:]], status: .created)
    }

    /// Validates one create body against the attribute map and fills defaults.
    func prepareCreate(_ kind: ResourceKind, _ input: Record, caller: Caller) throws -> (
        record: Record, given: Set<String>
    ) {
        var input = input
        if let tenant = input.removeValue(forKey: "tenant_id") {
            if let project = input["project_id"], project != tenant {
                throw NeutronError.badRequest("'project_id' and 'tenant_id' do not match")
            }
            input["project_id"] = tenant
        }
        let unknown = input.keys.filter { kind.attribute($0) == nil }.sorted()
        if !unknown.isEmpty {
            throw NeutronError.badRequest("Unrecognized attribute(s) '\(unknown.joined(separator: ", "))'")
        }
        var record: Record = [:]
        for attribute in kind.attributes {
            if let value = input[attribute.name] {
                guard attribute.allowPost else {
                    throw NeutronError.badRequest("Attribute '\(attribute.name)' not allowed in POST")
                }
                do {
                    record[attribute.name] = try attribute.convert(value)
                } catch let invalid as InvalidValue {
                    throw NeutronError.badRequest("Invalid input for \(attribute.name). Reason: \(invalid.reason).")
                }
            } else if attribute.required {
                throw NeutronError.badRequest(
                    "Failed to parse request. Required attribute '\(attribute.name)' not specified")
            } else if let value = attribute.defaultValue {
                record[attribute.name] = value
            }
        }
        if kind.projectScoped, record["project_id"] == nil || record["project_id"] == .null {
            record["project_id"] = .string(caller.projectID)
        }
        let now = Timestamp.iso8601(Date())
        record["id"] = .string(UUID().uuidString.lowercased())
        if kind.attribute("created_at") != nil {
            record["created_at"] = .string(now)
            record["updated_at"] = .string(now)
        }
        if kind.attribute("revision_number") != nil { record["revision_number"] = 0 }
        return (record, Set(input.keys))
    }

    /// Inserts one prepared record inside the request's transaction, with its hooks and quota.
    func insert(_ kind: ResourceKind, _ record: Record, given: Set<String>, ctx: HookContext, checkPolicy: Bool = true)
        async throws -> Record
    {
        var record = record
        if checkPolicy, let resource = kind.quotaResource {
            try await Quotas.check(
                resource: resource, kind: kind, project: record.projectID, adding: 1, db: ctx.db, api: self)
        }
        try await kind.hooks.willCreate(&record, ctx: ctx)
        if checkPolicy {
            let target = Self.target(record)
            try enforce("create_\(kind.member)", caller: ctx.caller, target: target)
            // As Neutron: an attribute's create rule applies when it is given with other than its default.
            for name in given {
                guard let attribute = kind.attribute(name), attribute.writeRule != nil else { continue }
                if let fallback = attribute.defaultValue, record[name] == fallback { continue }
                try enforce("create_\(kind.member):\(name)", caller: ctx.caller, target: target)
            }
        }
        try await RecordStore.insert(kind, record, db: ctx.db)
        if kind.hasTags, let tags = record["tags"]?.arrayValue?.compactMap(\.stringValue), !tags.isEmpty {
            try await RecordStore.setTags(member: kind.member, id: record.id, tags: tags, db: ctx.db)
        }
        try await kind.hooks.didCreate(&record, ctx: ctx)
        return record
    }

    func update(_ kind: ResourceKind, _ request: Request, _ context: StratusContext) async throws -> Response {
        let caller = try caller(context)
        try await checkParent(kind, request, context, caller: caller)
        let id = itemID(kind, context)
        let body = try await request.jsonObject(context: context)
        guard case .object(var changes)? = body[kind.member] else {
            throw NeutronError.badRequest("Unable to find '\(kind.member)' in request body")
        }
        if let tenant = changes.removeValue(forKey: "tenant_id") { changes["project_id"] = tenant }
        let unknown = changes.keys.filter { kind.attribute($0) == nil }.sorted()
        if !unknown.isEmpty {
            throw NeutronError.badRequest("Unrecognized attribute(s) '\(unknown.joined(separator: ", "))'")
        }
        for key in changes.keys.sorted() {
            guard let attribute = kind.attribute(key) else { continue }
            guard attribute.allowPut else { throw NeutronError.badRequest("Cannot update read-only attribute \(key)") }
            do {
                changes[key] = try attribute.convert(changes[key] ?? .null)
            } catch let invalid as InvalidValue {
                throw NeutronError.badRequest("Invalid input for \(key). Reason: \(invalid.reason).")
            }
        }
        let revision = request.headers[.ifMatch]
        let frozen = changes
        let (record, actions): (Record, [@Sendable () async -> Void]) = try await db.transactionRetryingConflicts {
            db in
            let ctx = HookContext(db: db, caller: caller, api: self)
            let old = try await self.load(kind, id: id, caller: caller, context: context, db: db)
            try Self.checkRevision(revision, record: old)
            let target = Self.target(old)
            try self.enforce("update_\(kind.member)", caller: caller, target: target)
            for key in frozen.keys where kind.attribute(key)?.writeRule != nil {
                try self.enforce("update_\(kind.member):\(key)", caller: caller, target: target)
            }
            var record = old.merging(frozen) { _, new in new }
            try await kind.hooks.willUpdate(&record, old: old, changes: frozen, ctx: ctx)
            if kind.attribute("revision_number") != nil {
                record["revision_number"] = .int((old.int("revision_number") ?? 0) + 1)
                record["updated_at"] = .string(Timestamp.iso8601(Date()))
            }
            try await RecordStore.update(kind, id: id, values: record, db: db)
            try await kind.hooks.didUpdate(&record, old: old, ctx: ctx)
            var rows = [record]
            try await self.expand(kind, &rows, caller: caller, db: db)
            return (rows[0], ctx.afterCommit)
        }
        for action in actions { await action() }
        return .json([kind.member: .object(render(kind, record, caller: caller))])
    }

    func delete(_ kind: ResourceKind, _ request: Request, _ context: StratusContext) async throws -> Response {
        let caller = try caller(context)
        try await checkParent(kind, request, context, caller: caller)
        let id = itemID(kind, context)
        let revision = request.headers[.ifMatch]
        let actions = try await db.transactionRetryingConflicts { db in
            let ctx = HookContext(db: db, caller: caller, api: self)
            let record = try await self.load(kind, id: id, caller: caller, context: context, db: db)
            try Self.checkRevision(revision, record: record)
            try self.enforce("delete_\(kind.member)", caller: caller, target: Self.target(record))
            try await kind.hooks.willDeleteByUser(record, ctx: ctx)
            try await self.deleteRecord(kind, record, ctx: ctx)
            return ctx.afterCommit
        }
        for action in actions { await action() }
        return .noContent()
    }

    /// Deletes one record with its hooks, inside the caller's transaction.
    func deleteRecord(_ kind: ResourceKind, _ record: Record, ctx: HookContext) async throws {
        try await kind.hooks.willDelete(record, ctx: ctx)
        try await RecordStore.delete(kind, id: record.id, db: ctx.db)
        try await kind.hooks.didDelete(record, ctx: ctx)
    }

    /// `If-Match: revision_number=N` (several comma-separated): 412 unless one matches.
    static func checkRevision(_ header: String?, record: Record) throws {
        guard let header, !header.isEmpty, let current = record.int("revision_number") else { return }
        let wanted = header.split(separator: ",").compactMap { part -> Int? in
            let p = part.trimmingCharacters(in: .whitespaces)
            guard p.hasPrefix("revision_number=") else { return nil }
            return Int(p.dropFirst("revision_number=".count))
        }
        guard !wanted.isEmpty else { return }
        if !wanted.contains(current) {
            throw NeutronError.make(
                .preconditionFailed, "RevisionNumberConstraintFailed",
                "Constrained to \(wanted.map(String.init).joined(separator: ",")), but current revision is \(current)")
        }
    }
}
